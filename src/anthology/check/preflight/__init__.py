"""Preflight: check a built print PDF as a printer's preflight would, for the PDF/X variant book.yaml names.

Each check reads the PDF itself (pikepdf for PDF/X's rules and colour, pypdf and pdfminer for trim, fonts and
where each character lands), never the HTML it came from, so a file edited or produced some other way is judged the
same. A failed check carries one diagnostic per problem, naming its pages and a fix.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
from pypdf import PdfReader

from anthology.check.preflight import layout, pdfx
from anthology.check.preflight.colour import colour_findings
from anthology.check.preflight.report import Check, Finding, PreflightReport, checked, variant_name
from anthology.config import minimum_gutter_in
from anthology.diagnostics import Diagnostic

__all__ = ["Check", "PreflightReport", "minimum_gutter_in", "preflight"]

DEFAULT_VARIANT = "pdf/x-4"
DEFAULT_INK_LIMIT = 300
LAYOUT_CODES = {  # the measured checks' codes, by check name
    "trim size": "E121",
    "fonts embedded": "E122",
    "even page count": "E138",
    "margins": "E135",
    "text size": "E136",
    "blank pages": "E139",
    "image resolution": "E137",
}


def coded(check: Check, path: Path) -> Check:
    """A measured check with its failure as a diagnostic (its detail names the pages)."""
    if check.ok:
        return check
    diagnostic = Diagnostic(LAYOUT_CODES[check.name], check.detail, file=path)
    return Check(check.name, check.ok, check.detail, (diagnostic,))


def pdfx_checks(path: Path, variant: str, ink_limit: int) -> list[Check]:
    """The PDF/X rules of the variant: boxes, colour, transparency, version, output intent, identification, nothing
    active, and black text within the ink limit."""
    with pikepdf.open(path) as pdf:
        colours = colour_findings(pdf, variant, ink_limit)

        def of(*codes: str) -> list[Finding]:
            return [finding for finding in colours if finding.code in codes]

        return [
            checked("page boxes", path, pdfx.box_findings(pdf), "every page has a TrimBox inside its BleedBox"),
            checked("colour", path, of("E123", "E124", "E132"), f"only the colour {variant_name(variant)} allows"),
            checked("transparency", path, of("E125"), f"none that {variant_name(variant)} forbids"),
            checked("PDF version", path, pdfx.version_findings(pdf, variant), f"PDF {pdf.pdf_version}"),
            checked("output intent", path, pdfx.intent_findings(pdf), "a CMYK or grey ICC profile"),
            checked("PDF/X version", path, pdfx.claim_findings(pdf, variant), f"as book.yaml: {variant}"),
            checked("nothing active", path, pdfx.active_findings(pdf), "no JavaScript, actions or embedded files"),
            checked("no annotations", path, pdfx.annotation_findings(pdf), "no annotations, no bookmarks"),
            checked("black text", path, of("E133"), "all text black only (K)"),
            checked("ink coverage", path, of("E134"), f"at most {ink_limit} % everywhere"),
        ]


def preflight(
    path: Path,
    trim: tuple[float, float],
    variant: str = DEFAULT_VARIANT,
    ink_limit: int = DEFAULT_INK_LIMIT,
) -> PreflightReport:
    """Run every check on a print PDF; the report says which failed and where."""
    reader = PdfReader(path)
    report = PreflightReport(path)
    report.checks += [
        coded(layout.check_trim(reader, trim), path),
        coded(layout.check_fonts(reader), path),
        *pdfx_checks(path, variant, ink_limit),
        coded(layout.check_even(reader), path),
    ]
    first = reader.pages[0] if reader.pages else None
    offset = (0.0, 0.0)
    if first is not None:
        offset = (float(first.trimbox.left) - float(first.mediabox.left), float(first.trimbox.bottom))
    pages = layout.page_layouts(path)
    report.checks += [
        coded(layout.check_margins(pages, offset), path),
        coded(layout.check_text_size(pages), path),
        coded(layout.check_blank_runs(pages), path),
        coded(layout.check_images(pages), path),
    ]
    return report
