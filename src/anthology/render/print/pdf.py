"""Print edition, the entry: `render_pdfs` lays the book out (`rounds.settle`), measures it, lays out the folio
documents (`renderer.lay_out_folios`) and merges each variant's segments with the folios stamped on (`merge.py`).

`<slug>.pdf` is for the printer (PDF/X with a CMYK output intent, black text, no links, annotations or
bookmarks); `<slug>-screen.pdf` is for reading (sRGB, live links, bookmarks, metadata). The document is cut
into segments, one per text (`segments.py`), laid out in parallel worker processes, each once (`worker.py`): the
worker writes the printer's PDF and the reader's is derived from it (`screen.py`). WeasyPrint is imported by the
workers only (`engine.py`). The layout is measured as it is made: the gutter must meet the printer's minimum for the
final page count, and footnotes that land on another page than their call are counted.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console

from anthology.atomic import atomic_file
from anthology.model import Project, ResolvedBook
from anthology.render.print import pagemap, segments
from anthology.render.print.page_plan import Layout, book_pages
from anthology.render.print.renderer import SegmentRenderer, lay_out_folios
from anthology.render.print.rounds import settle
from anthology.render.print.typeset import (
    PRINT,
    SCREEN,
    check_gutter,
    typesetting_report,
    write_reports,
)


def write_book(
    renderer: SegmentRenderer,
    parts: list[segments.Segment],
    book: Layout,
    overlays: dict[str, list[Path]],
    targets: dict[str, Path],
) -> None:
    """Each variant's segments merged, with the folios stamped on, the result moved into place only when complete.
    Both are merged here, the screen PDF first once its pieces are derived, the workers ended (in the workers,
    beside what WeasyPrint leaves in them, the merges would take a large book's build to several GB)."""
    from anthology.render.print import merge

    drawn = [carries for result in book.results for carries in result.folios]  # pages the overlay draws on
    for start, result in zip(book.starts, book.results, strict=True):
        for stamp in result.stamps:
            drawn[start - 1 + stamp[1]] = True
    with ExitStack() as files_in_place:
        beside = []
        for variant in [variant for variant in (SCREEN, PRINT) if variant.name in targets]:
            files = [
                merge.Part(renderer.folder_of[seg.name] / f"{prefix}{variant.name}.pdf", start, stop)
                for seg, result in zip(parts, book.results, strict=True)
                for prefix, start, stop in result.pieces()
            ]
            temporary = files_in_place.enter_context(atomic_file(targets[variant.name]))
            if variant.interactive:
                renderer.screens_derived()  # by the workers
                bookmarks = [
                    [start - 1 + page, level, label, x, y]
                    for start, result in zip(book.starts, book.results, strict=True)
                    for page, level, label, x, y in result.bookmarks
                ]
                beside.append(renderer.pool.merge(files, overlays[variant.name], drawn, temporary, bookmarks))
            else:
                merge.merge(files, overlays[variant.name], drawn, temporary)
        for job in beside:
            job.result()


def render_pdfs(
    resolved: ResolvedBook,
    project: Project,
    targets: dict[str, Path],
    pool: Any,
    progress: Any = None,
    console: Console | None = None,
    on_pages: Callable[[list[pagemap.PrintPage]], None] | None = None,
    off: frozenset[str] = frozenset(),
) -> dict[str, Path]:
    """The print and screen PDFs (`targets` by variant name: "print", "screen") from one layout of the book.
    `on_pages` receives the book's pages (folios and lines of text) as soon as the layout is final, before the PDFs
    are written: the EPUB's page list is made from them meanwhile. `off`: the layout's speed mechanisms
    (renderer.SWITCHES) the build switched off."""
    progress = progress or (lambda done, total: None)
    renderer = SegmentRenderer(resolved, project, pool, progress, off)

    book, parts, page_count, settled = settle(resolved, project, renderer)
    report = typesetting_report(book, project, page_count, resolved.book.config)
    report.settled = settled
    report.segments_laid_out = renderer.laid_out
    check_gutter(report, project)
    pages = book_pages(book)
    if on_pages is not None:
        on_pages(pages)
    overlays, report.folio_documents_laid_out, report.folio_documents_ahead = lay_out_folios(
        renderer, parts, book, project
    )
    pool.retire()  # the last layout is done: the workers' memory goes back before the merges and the EPUB's pandoc
    write_book(renderer, parts, book, overlays, targets)
    renderer.screens_derived()  # for a build without the screen PDF too: its cache entries complete
    whole = renderer.cache.parent / "book-print.html"
    whole.write_text(segments.whole_book(parts, [r.body for r in book.results]), encoding="utf-8")
    if PRINT.name in targets:
        pagemap.save_print_pages(targets[PRINT.name], pages)
    segments.prune(renderer.cache, renderer.used)
    write_reports(report, targets, resolved, console)
    return targets
