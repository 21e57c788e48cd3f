"""Passages of the site: every paragraph gets a stable id, so search results (and readers) can link to it.

A passage id is derived from the section it is in and its position there, prefixed by the text's slug through the
section's own id: `hampton-bureaucracy--party--p3` is the third paragraph of the section `Party`; paragraphs before
the first heading are `hampton-bureaucracy--p1`, …. Editing one section leaves the ids of the others unchanged.
The id sits on an empty span at the start of the paragraph (pandoc's Para has no attributes), so the paragraph's
own markup and styles are untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from anthology.ast import Node, clone, span, stringify
from anthology.model import book_id

PASSAGE_CLASS = "passage"
TEXT_BLOCKS = ("Para", "Plain", "LineBlock")


@dataclass(frozen=True)
class Passage:
    """One searchable unit: where it is (its id), the section it is in, and its plain text."""

    ident: str
    section: str  # the heading it follows, "" before the first heading
    text: str


class _Marker:
    """Walks a text's blocks in reading order, numbering paragraphs within each section."""

    def __init__(self, slug: str, taken: set[str], collided: set[str] | None = None):
        self.slug = slug
        self.taken = taken
        self.collided = collided if collided is not None else set()
        self.section_id = ""
        self.section_title = ""
        self.count = 0
        self.passages: list[Passage] = []

    def new_id(self) -> str:
        self.count += 1
        local = f"p{self.count}"
        ident = f"{self.section_id}--{local}" if self.section_id else book_id(self.slug, local)
        candidate, suffix = ident, 1
        while candidate in self.taken:  # an author's own id may already look like a passage id
            self.collided.add(candidate)
            suffix += 1
            candidate = f"{ident}-{suffix}"
        self.taken.add(candidate)
        return candidate

    def blocks(self, blocks: list[Node]) -> None:
        for block in blocks:
            kind = block["t"]
            if kind == "Header":
                self.section_id = block["c"][1][0]
                self.section_title = stringify(block["c"][2])
                self.count = 0
            elif kind in TEXT_BLOCKS:
                self.mark(block)
            elif kind == "Div":
                self.blocks(block["c"][1])
            elif kind == "BlockQuote":
                self.blocks(block["c"])
            elif kind in ("BulletList", "OrderedList"):
                for item in block["c"] if kind == "BulletList" else block["c"][1]:
                    self.blocks(item)

    def mark(self, block: Node) -> None:
        text = stringify(block)
        if not text:
            return
        ident = self.new_id()
        anchor = span([], ident, [PASSAGE_CLASS])
        if block["t"] == "LineBlock":
            block["c"][0] = [anchor, *block["c"][0]] if block["c"] else [anchor]
        else:
            block["c"] = [anchor, *block["c"]]
        self.passages.append(Passage(ident, self.section_title, text))


def mark_passages(
    slug: str, blocks: list[Node], taken: set[str], collided: set[str] | None = None
) -> tuple[list[Node], list[Passage]]:
    """A copy of the blocks with an id at the start of every paragraph, and the passages in reading order.

    `taken` holds every id already used in the book; new ids are added to it. The ids tried and found taken go into
    `collided`: with the ids added, they are all the marking asked of `taken` (the preview reuses a text's marking
    while `taken` answers the same). Notes are left alone: they become passages of their own under the note's id
    (see notes_to_links).
    """
    marked = clone(blocks)
    marker = _Marker(slug, taken, collided)
    marker.blocks(marked)
    return marked, marker.passages
