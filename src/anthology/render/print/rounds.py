"""The rounds that settle the page numbers: the book laid out until the page numbers it prints are those it
has and the gutter fits the page count, starting from the last build's pages (pages.json) or from a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from anthology import manifest
from anthology.atomic import Damaged, read_sealed, write_sealed
from anthology.config import POINTS_PER_INCH, minimum_gutter_in
from anthology.model import Project, ResolvedBook
from anthology.render.print import segments
from anthology.render.print.book_html import exact_page_texts, geometry_for, print_html
from anthology.render.print.page_plan import Guess, Layout, compose, guess_segments
from anthology.render.print.renderer import SegmentRenderer

# Rounds of the whole book until printed page numbers agree with the layout.
MAX_ROUNDS = 5


@dataclass
class Pages:
    """Where every anchor fell (1-based pages), the book's page count, and the count the gutter was set for."""

    anchors: dict[str, int]
    total: int
    page_count: int = 0
    fingerprint: str = ""  # of the style and code the segments were laid out with
    segments: dict[str, str] = field(default_factory=dict)  # each segment's cache entry, by name


def state_path(renderer: SegmentRenderer) -> Path:
    return renderer.cache.parent / "pages.json"


def previous_pages(renderer: SegmentRenderer) -> Pages | None:
    """The page numbers the last build of this folder settled on: the starting point of the next build, so that
    a segment whose text did not change has the HTML it had, and is not laid out again."""
    try:
        data = read_sealed(state_path(renderer))
        pages = Pages(data["anchors"], data["total"], data["page_count"], data["fingerprint"], data["segments"])
    except FileNotFoundError:
        return None
    except (Damaged, ValueError, KeyError, TypeError) as error:
        reason = str(error) if isinstance(error, Damaged) else "it is not of the form this build writes"
        manifest.discarded(state_path(renderer), "the last build's pages", reason)
        return None
    if not valid_pages(pages):
        manifest.discarded(state_path(renderer), "the last build's pages", "it is not of the form this build writes")
        return None
    return pages


def valid_pages(pages: Pages) -> bool:
    """Whether a pages.json read back has the form this code writes (a file edited or cut short is not used)."""
    return (
        all(isinstance(value, int) and not isinstance(value, bool) for value in (pages.total, pages.page_count))
        and isinstance(pages.fingerprint, str)
        and isinstance(pages.anchors, dict)
        and all(isinstance(page, int) and not isinstance(page, bool) for page in pages.anchors.values())
        and isinstance(pages.segments, dict)
        and all(isinstance(key, str) and re.fullmatch("[0-9a-f]{32}", key) for key in pages.segments.values())
    )


def first_pages(resolved: ResolvedBook, project: Project, renderer: SegmentRenderer) -> Pages:
    """The page numbers a book never built here starts from: every segment's pages guessed, then every segment
    laid out whose HTML does not depend on the numbers beyond their length, and their pages measured. The others
    (the index, whose ranges depend on the exact pages; the bibliography's page lists) wait for the measured pages,
    so that they are laid out once."""
    guesses = guess_book(resolved, project)
    guessed = compose(guesses)
    page_count = guessed.total
    # The index and the bibliography wait for the measured pages: not given the guessed ones (pandoc runs).
    parts = segments.split(print_html(resolved, project, guessed.pages, page_count, exact=False))
    exact = exact_page_texts(resolved)
    waits = [bool(part.ids & exact) for part in parts]

    ready = iter(renderer.run([renderer.job(part) for part, wait in zip(parts, waits, strict=True) if not wait]))
    measured = compose([guess if wait else next(ready) for guess, wait in zip(guesses, waits, strict=True)])
    return Pages(measured.pages, measured.total, page_count)


def guess_book(resolved: ResolvedBook, project: Project) -> list[Guess]:
    """Every segment's pages guessed from the book with no page numbers known: where every build's page numbers
    start (first_pages), and the page count every build's gutter is first set for."""
    return guess_segments(segments.split(print_html(resolved, project, {})))


def settle(resolved: ResolvedBook, project: Project, renderer: SegmentRenderer) -> tuple[Layout, list, int, bool]:
    """Lay the book out until the page numbers it prints are those it has, and the gutter fits the page count.

    It starts from the page numbers of the last build in this folder (or, for the first, from first_pages) and
    lays out again only the segments whose masked HTML changed (a number with more or fewer digits, an index
    range), until the book's HTML no longer changes. A segment whose numbers changed but kept their length is not
    laid out again: its numbers are printed at the merge."""
    start = None if "pages-kept" in renderer.off else previous_pages(renderer)
    if start is None:
        start = first_pages(resolved, project, renderer)
    else:
        if start.fingerprint == renderer.fingerprint:  # else the previous layouts are not this style's or code's
            renderer.previous = {name: renderer.cache / key for name, key in start.segments.items()}
        # The gutter is first set as a build of these sources in an empty folder sets it: it only ever widens
        # (below), so a page count kept from the last build could leave it wider than that build's.
        start.page_count = compose(guess_book(resolved, project)).total
        # An anchor new since the last build gets a page number of the right length until it is measured.
        parts = segments.split(print_html(resolved, project, start.anchors, start.page_count))
        if any(anchor not in start.anchors for part in parts for anchor in part.ids):
            start.anchors = compose(guess_segments(parts)).pages | start.anchors
    pages, total, page_count = start.anchors, start.total, start.page_count
    html = None
    settled = False
    for _round in range(MAX_ROUNDS):
        needed = minimum_gutter_in(total)
        if geometry_for(resolved.book.config, page_count).inner < needed * POINTS_PER_INCH - 0.01:
            page_count = total
        new_html = print_html(resolved, project, pages, page_count)
        if new_html == html:
            settled = True
            break
        html = new_html

        parts = segments.split(html)
        layout = compose(renderer.run([renderer.job(seg) for seg in parts], book=True))
        pages, total = layout.pages, layout.total
    if settled:
        state = {
            "anchors": pages,
            "total": total,
            "page_count": page_count,
            "fingerprint": renderer.fingerprint,
            "segments": {name: folder.name for name, folder in renderer.folder_of.items()},
        }
        write_sealed(state_path(renderer), state)
    return layout, parts, page_count, settled
