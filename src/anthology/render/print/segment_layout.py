"""One segment laid out until its footnotes stay with their calls, measured, and written as the
printer's PDF with the links its screen PDF is derived with. Shared by the whole layout (`worker.py`) and the
resumed one (`resume.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anthology.render.print import screen, segments
from anthology.render.print.measure import (
    anchor_pages,
    has_folio,
    number_stamps,
    page_bookmarks,
    page_lines,
    parent_map,
    screen_links,
)
from anthology.render.print.patches import fix_document_id, marking_links
from anthology.render.print.typeset import footnote_breaks, short_pages, strip_interactive, write_options

if TYPE_CHECKING:  # WeasyPrint is imported by the workers alone: a second of every build's main process otherwise
    from weasyprint.document import Document


# Layouts of one segment to keep its footnotes with their calls (each pass mends the first separation of each text).
MAX_PASSES = 6


def segment_body(elements: list[Any]) -> str:
    """The segment's body as laid out (its footnote breaks in style attributes), without the end marker."""
    from xml.etree import ElementTree

    body = next(element for element in elements if element.tag == "body")
    parts = [
        ElementTree.tostring(child, encoding="unicode", method="html")
        for child in body
        if "segment-end" not in (child.get("class") or "")
    ]
    return "".join(parts)


Lay = Callable[[frozenset[int]], tuple["Document", list[Any]]]


def lay_out_segment(
    lay: Lay,
    max_passes: Callable[[], int] = lambda: MAX_PASSES,
    watch: Callable[[Document, list[Any]], None] | None = None,
    last_page: int | None = None,
) -> tuple[Document, list[Any], frozenset[int], int]:
    """Lay the segment out until its footnotes stay with their calls (or `max_passes()`, asked after the first
    pass); the breaks depend only on the segment's HTML, so a cached layout is the one a clean build would make.
    Each pass mends the first page of each text where a note is separated from its call (before `last_page`, if
    given). `watch` sees every pass's layout."""
    breaks: frozenset[int] = frozenset()
    passes = 0
    while True:
        passes += 1
        document, elements = lay(breaks)
        if watch is not None:
            watch(document, elements)
        anchors = {name: page - 1 for name, page in anchor_pages(document).items()}
        separated, _totals = segments.measure(anchors)
        first = {}
        for slug, _number, call, _text in separated:
            if last_page is None or call < last_page:
                first.setdefault(slug, call + 1)
        new = breaks | footnote_breaks(document, elements, set(first.values()))
        if new == breaks or passes >= max_passes():
            return document, elements, breaks, passes
        breaks = frozenset(new)


def measure_segment(
    name: str, document: Document, elements: list[Any], breaks: frozenset[int], passes: int, count: int
) -> tuple[segments.Result, set[int]]:
    """What a layout of `count` pages measured (segments.Result, its body left for the caller), and the links the
    screen PDF colours."""
    anchors = {anchor: page - 1 for anchor, page in anchor_pages(document).items()}
    separated, totals = segments.measure(anchors)
    result = segments.Result(
        name=name,
        pages=count,
        anchors=anchors,
        folios=[has_folio(page) for page in document.pages[:count]],
        bookmarks=page_bookmarks(document, count),
        breaks=sorted(breaks),
        separated=separated,
        footnotes=totals,
        short_pages=sorted(n - 1 for n in short_pages(document, elements, breaks)),
        passes=passes,
        body="",
        elements=len(elements),
    )
    parents = parent_map(elements)
    links = screen_links(elements, parents)
    result.stamps = number_stamps(document, count, links, parents)
    result.lines = [page_lines(page) for page in document.pages[:count]]
    return result, links


def write_segment(document: Document, job: segments.Job, folder: Path, links: set[int], prefix: str = "") -> None:
    """The printer's PDF (nothing interactive, the links' text marked) and the links and destinations the reader's
    is derived with (segments.derive_screen): WeasyPrint writes one PDF per layout. `prefix` names the files of a
    resumed layout's pages."""
    interactive = screen.interactive_parts(document)
    strip_interactive(document)
    fix_document_id(document, job.options["print"]["document_id"])
    with marking_links(screen.link_text_boxes(document, links)):
        document.write_pdf(folder / f"{prefix}print.pdf", **write_options(job.options["print"]))
    if "screen" in job.variants:
        segments.save_links(folder, prefix, interactive)
