"""The print edition by the plainest route: the whole book's print HTML laid out by WeasyPrint as one document.

No segments, no cache, no worker processes, no resumed layouts: each round lays the book out whole, its page
numbers printed as text (contents, cross-references, bibliography, index) are set from that layout's anchors, and
the rounds stop when the book's HTML no longer changes. The printer's PDF is written from the last layout and the
screen PDF derived from it (screen.py), as the segmented path (worker.py) does per segment. It is the reference the
segmented path is tested equal to (tests/test_print_plain.py), and a build chosen with ANTHOLOGY_PLAIN=1 or
`invoke build --plain`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pikepdf
from rich.console import Console

from anthology.atomic import atomic_file
from anthology.config import POINTS_PER_INCH, minimum_gutter_in
from anthology.diagnostics import BuildError
from anthology.model import Project, ResolvedBook
from anthology.render.print import merge, pagemap, screen, segments
from anthology.render.print.book_html import geometry_for, print_html
from anthology.render.print.measure import anchor_pages
from anthology.render.print.page_plan import book_pages, compose
from anthology.render.print.patches import fix_document_id, marking_links
from anthology.render.print.rounds import MAX_ROUNDS
from anthology.render.print.segment_layout import Lay, lay_out_segment, measure_segment
from anthology.render.print.typeset import (
    IGNORED_WARNINGS,
    PRINT,
    SCREEN,
    check_gutter,
    font_configuration,
    layout,
    strip_interactive,
    typesetting_report,
    variant_options,
    weasyprint_diagnostic,
    write_reports,
)

if TYPE_CHECKING:
    from weasyprint.document import Document


@dataclass
class BookLayout:
    """One round's layout of the whole book: the document, its parsed elements in document order, the elements
    that start a page to keep footnotes with their calls, and how many layouts that took."""

    document: Document
    elements: list[Any]
    breaks: frozenset[int]
    passes: int


def lay_out_book(html: str, project: Project) -> BookLayout:
    """The book laid out until its footnotes stay with their calls: the segmented path's passes, on one document."""
    lay: Lay = lambda breaks: layout(html, project, PRINT, breaks)  # noqa: E731
    return BookLayout(*lay_out_segment(lay))


def settle(resolved: ResolvedBook, project: Project) -> tuple[BookLayout, int, bool]:
    """Lay the book out until the page numbers it prints are those it has and the gutter fits its page count.
    Returns the last layout, the page count the gutter was set for, and whether the numbers settled (False:
    rounds.MAX_ROUNDS ran out)."""
    config = resolved.book.config
    pages: dict[str, int] = {}
    total = page_count = 0
    html, laid = None, None
    for _round in range(MAX_ROUNDS):
        if geometry_for(config, page_count).inner < minimum_gutter_in(total) * POINTS_PER_INCH - 0.01:
            page_count = total
        new_html = print_html(resolved, project, pages, page_count)
        if new_html == html and laid is not None:
            return laid, page_count, True
        html = new_html
        laid = lay_out_book(html, project)
        pages, total = anchor_pages(laid.document), len(laid.document.pages)
    assert laid is not None  # MAX_ROUNDS is at least one
    return laid, page_count, False


def drop_folios(result: segments.Result) -> None:
    """Each page's lines without its folio, as pagemap keeps them: the folio is the last line equal to the page's
    number (its margin box comes last in measure.page_lines), on a page that carries one."""
    for index, (carries, lines) in enumerate(zip(result.folios, result.lines, strict=True)):
        folio = str(index + 1)
        if carries and folio in lines:
            del lines[len(lines) - 1 - lines[::-1].index(folio)]


def weasyprint_problems(messages: list[str], project: Project, source: Path) -> None:
    """WeasyPrint's warnings stop the build, as they do on the segmented path (a missing font, a refused URL):
    blamed on the style sheet's line they name, else on `source` (the book: one document holds every text)."""
    problems = dict.fromkeys(m for m in messages if not m.startswith(IGNORED_WARNINGS))
    if problems:
        raise BuildError([weasyprint_diagnostic(m, project.style_file("print.css").parent, source) for m in problems])


def write_pdfs(
    laid: BookLayout,
    result: segments.Result,
    links: set[int],
    options: dict[str, Any],
    targets: dict[str, Path],
    scratch: Path,
) -> None:
    """The printer's PDF from the layout (nothing interactive, the links' text marked) and the screen PDF derived
    from it, with the links, destinations and bookmarks the layout found. Each replaces its target only when both
    are complete; the printer's PDF is written to `scratch` when only the screen PDF is asked for."""
    document = laid.document
    interactive = screen.interactive_parts(document)
    strip_interactive(document)
    fix_document_id(document, options["document_id"])
    print_target = targets.get(PRINT.name, scratch)
    with atomic_file(print_target) as printed:
        with marking_links(screen.link_text_boxes(document, links)):
            document.write_pdf(printed, pdf_variant=options["pdf_variant"])
        if SCREEN.name in targets:
            with atomic_file(targets[SCREEN.name]) as derived:
                screen.derive(printed, derived, interactive)
                with pikepdf.open(derived, allow_overwriting_input=True) as reader:
                    merge.outline(reader, result.bookmarks)
                    reader.save(derived, deterministic_id=True)
    if PRINT.name not in targets:
        print_target.unlink(missing_ok=True)


def render_pdfs(
    resolved: ResolvedBook,
    project: Project,
    targets: dict[str, Path],
    pool: Any = None,
    progress: Callable[[int, int], None] | None = None,
    console: Console | None = None,
    on_pages: Callable[[list[pagemap.PrintPage]], None] | None = None,
) -> dict[str, Path]:
    """pdf.render_pdfs by the plain path: the same arguments, outputs and report. The pool is not used (its
    workers are ended at once)."""
    from anthology.render.print.engine import weasyprint_warnings

    if pool is not None:
        pool.retire()
    if progress is not None:
        progress(0, 1)  # the book is one document: the build's other editions go ahead while it is laid out
    with weasyprint_warnings() as warnings:
        laid, page_count, settled = settle(resolved, project)
    weasyprint_problems(warnings, project, resolved.book.config_document.path)
    count = len(laid.document.pages)
    result, links = measure_segment("book", laid.document, laid.elements, laid.breaks, laid.passes, count)
    drop_folios(result)
    book = compose([result])
    report = typesetting_report(book, project, page_count, resolved.book.config)
    report.settled = settled
    check_gutter(report, project)
    pages = book_pages(book)
    if on_pages is not None:
        on_pages(pages)
    options = variant_options(resolved.book.config, PRINT)
    write_pdfs(laid, result, links, options, targets, project.build_dir / ".cache" / "plain-print.pdf")
    font_configuration.cache_clear()  # the fonts go with the layout, as a worker's do when it ends
    if progress is not None:
        progress(1, 1)
    if PRINT.name in targets:
        pagemap.save_print_pages(targets[PRINT.name], pages)
    write_reports(report, targets, resolved, console)
    return targets
