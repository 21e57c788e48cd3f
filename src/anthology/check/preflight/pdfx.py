"""The file-level rules of PDF/X a printer's preflight applies: page boxes, the PDF version, the output intent, the
PDF/X identification, and nothing active (scripts, actions, attachments, annotations, bookmarks)."""

from __future__ import annotations

import re
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name

from anthology.check.preflight.report import Finding, variant_name

BOX_TOLERANCE_PT = 0.01
# The PDF/X versions there are (ISO 15930), and the highest PDF version each allows.
PDFX_VERSIONS = {
    "PDF/X-1:2001": "1.3",
    "PDF/X-1a:2001": "1.3",
    "PDF/X-1a:2003": "1.4",
    "PDF/X-2:2003": "1.4",
    "PDF/X-3:2002": "1.3",
    "PDF/X-3:2003": "1.4",
    "PDF/X-4": "1.6",
    "PDF/X-4p": "1.6",
    "PDF/X-5g": "1.6",
    "PDF/X-5n": "1.6",
    "PDF/X-5pg": "1.6",
    "PDF/X-6": "2.0",
    "PDF/X-6n": "2.0",
    "PDF/X-6p": "2.0",
}
VARIANT_VERSIONS = {
    "pdf/x-1a": ("PDF/X-1a:2001", "PDF/X-1a:2003"),
    "pdf/x-3": ("PDF/X-3:2002", "PDF/X-3:2003"),
    "pdf/x-4": ("PDF/X-4", "PDF/X-4p"),
}
XMP_VERSION = re.compile(r"pdfxid:GTS_PDFXVersion(?:>|=[\"'])\s*([^<\"']*)")
PROFILE_SPACES = {4: b"CMYK", 1: b"GRAY"}  # the ICC header's data colour space for each allowed N
ALLOWED_ANNOTATIONS = {"/PrinterMark", "/TrapNet"}
ACTIVE_HINT = "a print file carries no scripts, actions or attachments: send the file `invoke pdf` writes"
ANNOTATION_HINT = "send the printer the print PDF (<slug>.pdf), not the screen PDF: no links, comments or bookmarks"


def box(page: pikepdf.Page, key: str) -> tuple[float, float, float, float] | None:
    value = page.obj.get(key)
    if not isinstance(value, Array) or len(value) != 4:
        return None
    x0, y0, x1, y1 = (float(v) for v in value)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    return (
        inner[0] >= outer[0] - BOX_TOLERANCE_PT
        and inner[1] >= outer[1] - BOX_TOLERANCE_PT
        and inner[2] <= outer[2] + BOX_TOLERANCE_PT
        and inner[3] <= outer[3] + BOX_TOLERANCE_PT
    )


def box_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    """Every page has a TrimBox (or an ArtBox), inside its BleedBox, inside its MediaBox."""
    found = []
    for number, page in enumerate(pdf.pages, start=1):
        media = tuple(float(v) for v in page.mediabox)
        media = (min(media[0], media[2]), min(media[1], media[3]), max(media[0], media[2]), max(media[1], media[3]))
        trim = box(page, "/TrimBox") or box(page, "/ArtBox")
        bleed = box(page, "/BleedBox") or media
        if trim is None:
            found.append(Finding("E120", number, "no TrimBox or ArtBox", "rebuild with `invoke pdf`"))
        elif not inside(trim, bleed) or not inside(bleed, media):
            shown = " ".join(f"{v:g}" for v in trim)
            message = f"TrimBox [{shown}] is not inside the BleedBox and MediaBox"
            found.append(Finding("E120", number, message, "the TrimBox is the page as cut: keep it inside the others"))
    return found


def xmp(pdf: pikepdf.Pdf) -> str:
    metadata = pdf.Root.get("/Metadata")
    return metadata.read_bytes().decode("utf-8", "replace") if isinstance(metadata, pikepdf.Stream) else ""


def claimed_versions(pdf: pikepdf.Pdf) -> tuple[str | None, str | None]:
    """The PDF/X version the document information (X-1a, X-3) and the XMP metadata (X-4) claim."""
    info = pdf.trailer.get("/Info")
    claimed = info.get("/GTS_PDFXVersion") if isinstance(info, Dictionary) else None
    info_version = str(claimed) if claimed is not None else None
    match = XMP_VERSION.search(xmp(pdf))
    return info_version, match.group(1).strip() if match else None


def claim_findings(pdf: pikepdf.Pdf, variant: str) -> list[Finding]:
    """A GTS_PDFXVersion that is a real PDF/X version, where that version puts it, and the one book.yaml asks for."""
    info_version, xmp_version = claimed_versions(pdf)
    claims = [version for version in (info_version, xmp_version) if version is not None]
    if not claims:
        return [Finding("E128", 0, "no GTS_PDFXVersion in the document information or the XMP metadata")]
    unknown = [version for version in claims if version not in PDFX_VERSIONS]
    if unknown:
        return [Finding("E128", 0, f"GTS_PDFXVersion {unknown[0]!r} is not a PDF/X version")]
    found = []
    wanted = VARIANT_VERSIONS[variant]
    for version in dict.fromkeys(claims):
        if version not in wanted:
            hint = f"rebuild with `invoke pdf`, or set book.yaml's pdf_variant to the printer's ({' or '.join(wanted)})"
            found.append(Finding("E129", 0, f"the file claims {version}; book.yaml's pdf_variant is {variant}", hint))
    if variant == "pdf/x-4" and xmp_version is None:
        found.append(Finding("E128", 0, "PDF/X-4 is claimed in the XMP metadata (pdfxid), which has no claim"))
    if variant != "pdf/x-4" and info_version is None:
        found.append(Finding("E128", 0, f"{wanted[0]} is claimed in the document information, which has no claim"))
    return found


def number(version: str) -> tuple[int, ...]:
    """A PDF version as a tuple to compare ('1.10' after '1.9')."""
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def version_findings(pdf: pikepdf.Pdf, variant: str) -> list[Finding]:
    """The PDF version (the header's, or the catalogue's /Version if later) is one the claimed PDF/X allows."""
    version = pdf.pdf_version
    declared = pdf.Root.get("/Version")
    if isinstance(declared, Name) and number(str(declared)[1:]) > number(version):
        version = str(declared)[1:]
    claims = [c for c in claimed_versions(pdf) if c in VARIANT_VERSIONS[variant]]
    allowed = max((PDFX_VERSIONS[c] for c in claims or VARIANT_VERSIONS[variant]), key=number)
    if number(version) <= number(allowed):
        return []
    named = claims[0] if claims else variant_name(variant)
    hint = f"{named} allows PDF {allowed} at most: rebuild with `invoke pdf`, or set book.yaml's pdf_variant"
    return [Finding("E126", 0, f"PDF {version} under {named}", hint)]


def intent_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    """A PDF/X output intent whose embedded ICC profile describes a CMYK or grey press (N 4 or 1)."""
    intents = [i for i in pdf.Root.get("/OutputIntents", Array()) if i.get("/S") == Name.GTS_PDFX]
    hint = "the output intent names the press: a CMYK (N 4) or grey (N 1) ICC output profile, as `invoke pdf` embeds"
    if not intents:
        return [Finding("E127", 0, "no PDF/X output intent (OutputIntents with /S /GTS_PDFX)", hint)]
    found = []
    for intent in intents:
        profile = intent.get("/DestOutputProfile")
        if not isinstance(profile, pikepdf.Stream):
            found.append(Finding("E127", 0, "the output intent has no ICC profile (DestOutputProfile)", hint))
            continue
        channels = int(profile.get("/N", 0))
        header_space = profile.read_bytes()[16:20]
        if channels not in PROFILE_SPACES or header_space != PROFILE_SPACES[channels]:
            space = header_space.decode("ascii", "replace").strip()
            message = f"the output intent's profile is {space or 'unknown'} with N {channels}, not CMYK or grey"
            found.append(Finding("E127", 0, message, hint))
    return found


def is_javascript(obj: Any) -> bool:
    """An action, or a dictionary of actions (/AA), that runs JavaScript."""
    if not isinstance(obj, Dictionary):
        return False
    if "/JS" in obj or obj.get("/S") == Name.JavaScript:
        return True
    return any(is_javascript(value) for value in obj.values() if isinstance(value, Dictionary))


def is_action(obj: Any) -> bool:
    if not isinstance(obj, Dictionary):
        return False
    return "/JS" in obj or ("/S" in obj and obj.get("/Type", Name.Action) == Name.Action)


def active_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    """No JavaScript, actions (opening, page, annotation) or embedded files anywhere."""
    found = []
    root = pdf.Root
    for key, what in (("/OpenAction", "an action on opening"), ("/AA", "document actions"), ("/AcroForm", "a form")):
        if key in root:
            kind = "JavaScript" if is_javascript(root[key]) else what
            found.append(Finding("E130", 0, f"{kind} ({key})", ACTIVE_HINT))
    names = root.get("/Names", Dictionary())
    for key, what in (("/JavaScript", "document JavaScript"), ("/EmbeddedFiles", "embedded files")):
        if key in names:
            found.append(Finding("E130", 0, f"{what} ({key})", ACTIVE_HINT))
    for number, page in enumerate(pdf.pages, start=1):
        if "/AA" in page.obj:
            found.append(Finding("E130", number, "page actions (/AA)", ACTIVE_HINT))
        for annotation in page.obj.get("/Annots", Array()):
            if is_action(annotation.get("/A")) or "/AA" in annotation:
                kind = "JavaScript" if is_javascript(annotation) else "an action"
                found.append(Finding("E130", number, f"an annotation with {kind}", ACTIVE_HINT))
            if annotation.get("/Subtype") == Name.FileAttachment:
                found.append(Finding("E130", number, "an embedded file (file attachment annotation)", ACTIVE_HINT))
    if not found:
        found += sweep_findings(pdf)
    return found


def sweep_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    """Scripts and attached files the catalogue and pages do not lead to directly, anywhere in the file."""
    kinds = set()
    for obj in pdf.objects:
        if isinstance(obj, (Dictionary, pikepdf.Stream)):
            if "/JS" in obj or obj.get("/S") == Name.JavaScript:
                kinds.add("JavaScript")
            if obj.get("/Type") == Name.EmbeddedFile or "/EF" in obj:
                kinds.add("an embedded file")
    return [Finding("E130", 0, f"{kind} in the file", ACTIVE_HINT) for kind in sorted(kinds)]


def annotation_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    """No annotations but printer's marks, and no bookmarks: a printer's file is not read on screen."""
    found = []
    for number, page in enumerate(pdf.pages, start=1):
        kinds = [str(a.get("/Subtype", "?"))[1:] for a in page.obj.get("/Annots", Array())]
        kinds = [kind for kind in kinds if f"/{kind}" not in ALLOWED_ANNOTATIONS]
        for kind in sorted(set(kinds)):
            found.append(Finding("E131", number, f"{kind} annotation", ANNOTATION_HINT))
    if "/Outlines" in pdf.Root:
        found.append(Finding("E131", 0, "bookmarks (an outline)", ANNOTATION_HINT))
    return found
