"""The typesetting targets a press would sign off (issue 31) and the preflight's verdict on them: each figure the
typesetting report measures in the PDF (render/print/composition.py) against its target, which book.yaml's
`typesetting_limits` may relax.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from anthology.config import BookConfig
from anthology.diagnostics import Diagnostic
from anthology.render.print.book_html import geometry_for
from anthology.render.print.composition import Composition, Unreadable, measure

# The figures a press would sign off (issue 31), book.yaml's `typesetting_limits` may relax any of them.
TARGETS: dict[str, float] = {
    "loose_lines": 0,
    "hyphenated_percent": 8.0,
    "ladders": 0,  # runs of three or more hyphenated line ends
    "page_turn_hyphens": 0,
    "short_pages": 0,  # text pages two or more lines short, other than a chapter's last page
    "uneven_spreads": 0,
    "stranded_captions": 0,
    "lone_lines": 0,  # a line holding a lone word fragment or a lone note call
    "runts": float("inf"),  # reported, no target: the issue sets none
}


def over_targets(report: Composition, limits: Mapping[str, float]) -> list[tuple[str, float, float]]:
    """The figures over their targets (book.yaml's `typesetting_limits` replacing any): (name, figure, target)."""
    targets = {**TARGETS, **limits}
    return [(key, value, targets[key]) for key, value in report.figures().items() if value > targets[key]]


def unknown_limits(limits: Mapping[str, float]) -> list[str]:
    return sorted(set(limits) - set(TARGETS))


def diagnostics(report: Composition, limits: Mapping[str, float], pdf: Path) -> list[Diagnostic]:
    """E140 for each figure over its target, naming the pages; E142 for a limit book.yaml names that is none."""
    found = [
        Diagnostic(
            "E142",
            f"typesetting_limits names {name!r}, which is not a typesetting figure",
            file=pdf,
            hint="the figures are: " + ", ".join(TARGETS),
        )
        for name in unknown_limits(limits)
    ]
    faults = report.as_json()["faults"]
    assert isinstance(faults, dict)
    for name, value, target in over_targets(report, limits):
        pages = sorted({page for page, _ in faults.get(name, [])})
        where = f" (pp. {', '.join(map(str, pages[:20]))})" if pages else ""
        found.append(
            Diagnostic(
                "E140",
                f"typesetting: {name.replace('_', ' ')} {value} over the target {target}{where}",
                file=pdf,
                hint=f"fix the pages named, or relax the target in book.yaml: typesetting_limits: {{{name}: N}}",
            )
        )
    return found


def check_pdf(pdf: Path, config: BookConfig, pages: int) -> list[Diagnostic]:
    """`invoke preflight`'s typesetting verdict: the PDF measured as printed, its figures against the targets."""
    geometry = geometry_for(config, pages)
    try:
        report = measure(pdf, geometry.top, geometry.height - geometry.bottom)
    except Unreadable as error:
        return [Diagnostic("E141", str(error), file=pdf)]
    return diagnostics(report, config.typesetting_limits, pdf)
