"""Where the book's pages fall: each segment's pages guessed before any layout, and the book composed from
its segments' results (each segment's first page, every anchor's page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anthology.render.print import pagemap, segments

# Characters of print HTML text per page of this design (notes and markup's spaces included; docs/performance.md),
# to estimate the page of every anchor before the first layout.
CHARACTERS_PER_PAGE = 2500


@dataclass
class Guess:
    """A segment's pages before it is laid out: its page count and the (0-based) page of each anchor in it."""

    pages: int
    anchors: dict[str, int]


def guess_segments(parts: list[segments.Segment]) -> list[Guess]:
    """Each segment's pages estimated from its text: CHARACTERS_PER_PAGE, each top-level element starting a page,
    and every segment (but the last) an even number of pages, since the next starts on a recto. It need only get
    a page number's digits right and the first layout's page counts close."""
    from lxml import html as lxml_html

    guesses = []
    for part in parts:
        body = lxml_html.document_fromstring(part.html).find("body")
        anchors: dict[str, int] = {}
        page = 0
        for block in body:
            characters = 0
            for element in block.iter():
                if element.get("id"):
                    anchors.setdefault(element.get("id"), page + characters // CHARACTERS_PER_PAGE)
                characters += len(element.text or "") + len(element.tail or "")
            page += max(1, -(-characters // CHARACTERS_PER_PAGE))
        pages = page if part.last else page + page % 2
        guesses.append(Guess(pages, anchors))
    return guesses


@dataclass
class Layout:
    """The book as laid out: each segment's result, where it starts, and every anchor's page (1-based)."""

    results: list[segments.Result]
    starts: list[int]
    pages: dict[str, int]
    total: int


def compose(results: list[Any]) -> Layout:
    """The book's pages from its segments' (results as laid out, or guesses)."""
    starts, pages, page = [], {}, 1
    for result in results:
        starts.append(page)
        for anchor, local in result.anchors.items():
            pages.setdefault(anchor, page + local)
        page += result.pages
    return Layout(results, starts, pages, page - 1)


def book_pages(book: Layout) -> list[pagemap.PrintPage]:
    """Every page of the book with its folio (the overlay prints the page counter, from 1 on the first page, on the
    pages that carry one) and its lines of text. Every segment's result has them: a cached one was made by this
    code, which is part of its key."""
    pages: list[pagemap.PrintPage] = []
    for result in book.results:
        for carries, lines in zip(result.folios, result.lines, strict=True):
            index = len(pages)
            pages.append(pagemap.PrintPage(index, str(index + 1) if carries else None, tuple(lines)))
    return pages
