"""Resolve stage: every text parsed to a pandoc AST, ids made unique across the whole book, sections collected.

Nothing is rendered before the whole book is resolved, so all three editions are built from the same trees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anthology import pandoc
from anthology.ast import Node, attr_of, stringify, walk_structure
from anthology.diagnostics import BuildError, Collector
from anthology.load import Book, Chapter, Text
from anthology.resolve import crossref, indexing
from anthology.resolve.bibliography import CitationIndex, process_citations
from anthology.resolve.generated import GENERATORS, PrintOverride
from anthology.safety import check_source, check_text

if TYPE_CHECKING:
    from anthology.resolve.indexing import BookIndex

ID_SEPARATOR = "--"
PANDOC_API_VERSION = [1, 23, 1, 1]  # pandoc 3.9's AST version, for generated texts


@dataclass(frozen=True)
class Section:
    level: int  # 2 for a text's top-level sections (the text's title is level 1)
    ident: str
    title: str


@dataclass
class ResolvedText:
    text: Text
    ast: dict[str, Any]
    sections: list[Section]

    @property
    def anchor(self) -> str:
        """The text's own id: its slug, which no prefixed id can equal."""
        return self.text.slug

    @property
    def blocks(self) -> list[Node]:
        return self.ast["blocks"]

    @property
    def chapter(self) -> Chapter:
        assert isinstance(self.text, Chapter)
        return self.text


@dataclass
class ResolvedBook:
    book: Book
    texts: dict[str, ResolvedText]  # by slug, in reading order
    # Print-only replacements of generated texts, computed from the page of every anchor after a first layout.
    print_overrides: dict[str, PrintOverride] = field(default_factory=dict)
    # Where each bibliography key is cited (anthology.bibliography), for the bibliography's back-references.
    citations: CitationIndex = field(default_factory=CitationIndex)
    styles_dir: Path = Path("styles")
    # The index's terms and markers (anthology.indexing), when the book has an index.
    index: BookIndex | None = None

    @property
    def chapters(self) -> list[ResolvedText]:
        return [self.texts[chapter.slug] for chapter in self.book.chapters]

    @property
    def front(self) -> list[ResolvedText]:
        return [self.texts[text.slug] for text in self.book.front]

    @property
    def back(self) -> list[ResolvedText]:
        return [self.texts[text.slug] for text in self.book.back]

    def chapter(self, slug: str) -> ResolvedText:
        return self.texts[slug]

    def get(self, text: Text | None) -> ResolvedText | None:
        return self.texts[text.slug] if text is not None else None

    def owner_of(self) -> dict[str, str]:
        """Which text (slug) holds each id: the HTML site needs it to link across pages."""
        owners: dict[str, str] = {}
        for slug, item in self.texts.items():
            owners[item.anchor] = slug
            for node in walk_structure(item.blocks):
                attr = attr_of(node)
                if attr is not None and attr[0]:
                    owners[attr[0]] = slug
        return owners


def book_id(slug: str, local: str) -> str:
    """A text-prefixed id, unique across the book, so merged print HTML, EPUB and site never collide."""
    return f"{slug}{ID_SEPARATOR}{local}"


def prefix_ids(ast: dict[str, Any], slug: str) -> None:
    """Prefix every id and every in-text link target with the text's slug."""
    for node in walk_structure(ast["blocks"]):
        attr = attr_of(node)
        if attr is not None and attr[0]:
            attr[0] = book_id(slug, attr[0])
        if node["t"] == "Link":
            target = node["c"][2]
            if target[0].startswith("#") and len(target[0]) > 1:
                target[0] = "#" + book_id(slug, target[0][1:])


def collect_sections(ast: dict[str, Any]) -> list[Section]:
    return [
        Section(node["c"][0], node["c"][1][0], stringify(node["c"][2]))
        for node in walk_structure(ast["blocks"])
        if node["t"] == "Header"
    ]


DUPLICATE_ID = re.compile(r"Duplicate identifier '([^']+)'")


def relocate_duplicate_ids(error: BuildError, text: Text) -> BuildError:
    """pandoc places a duplicate id after the element; point instead at the line that repeats the explicit id."""
    fixed = []
    for diagnostic in error.diagnostics:
        match = DUPLICATE_ID.search(diagnostic.message)
        lines = [n for n, line in enumerate(text.body.split("\n")) if match and f"#{match[1]}" in line]
        if match and len(lines) > 1:
            diagnostic = replace(diagnostic, line=text.body_line + lines[1], column=None)
        fixed.append(diagnostic)
    return BuildError(fixed)


def resolve_text(text: Text, book_dir: Path) -> ResolvedText:
    check_source(text).raise_if_errors()
    try:
        ast = pandoc.markdown_to_ast(text.body, source=text.path, line_offset=text.body_line - 1)
    except BuildError as error:
        raise relocate_duplicate_ids(error, text) from None
    check_text(ast, text, book_dir).raise_if_errors()
    prefix_ids(ast, text.slug)
    return ResolvedText(text, ast, collect_sections(ast))


def resolve_book(book: Book, styles_dir: Path) -> ResolvedBook:
    """Parse all texts (in parallel: each is a pandoc process) and report every text's problems together."""
    collector = Collector()
    resolved: dict[str, ResolvedText] = {}
    texts = [text for text in book.texts if text.kind != "generated"]
    # The longest texts first: an edited essay's parse (half a second of pandoc) starts at once, and the other
    # texts, read from the cache, are done while it runs.
    longest_first = sorted(texts, key=lambda text: -len(text.body))
    calls = pandoc.each_at_once(lambda t: resolve_text(t, book.root), longest_first)
    parsed = {text.slug: call for text, call in zip(longest_first, calls, strict=True)}
    for text in texts:
        try:
            resolved[text.slug] = parsed[text.slug].result()
        except BuildError as error:
            collector.items.extend(error.diagnostics)
    collector.raise_if_errors()
    result = ResolvedBook(book, resolved, styles_dir=styles_dir)
    # Cross-references before any citeproc step (which must never see an xref key), and before the index is marked
    # (so an index marker never lands inside a cross-reference's link text).
    crossref.resolve_xrefs(result, collector)
    collector.raise_if_errors()
    # Citations after cross-references (citeproc must never see an xref key) and before the index is marked: each
    # text is marked as soon as its citations are rendered, while the other texts' citeproc runs go on.
    marker = indexing.book_marker(result, collector)
    items = [(item.text, item.ast) for item in result.texts.values()]
    result.citations = process_citations(items, book, styles_dir, then=marker.mark if marker else lambda *_: None)
    # Notes are named by their printed numbers, which citeproc may have changed. (Marking left alone the words of
    # the references it relabels: they are a link's.)
    crossref.number_notes(result)
    if marker is not None:
        marker.finish(result)
    collector.raise_if_errors()
    generate_texts(result)
    result.texts = {text.slug: result.texts[text.slug] for text in book.texts}  # reading order
    return result


def generate_texts(resolved: ResolvedBook) -> None:
    """Generated matter is made last, from the whole resolved book."""
    for text in resolved.book.texts:
        if text.kind != "generated":
            continue
        generated = GENERATORS[text.slug].make(resolved, text.slug)
        ast = {"pandoc-api-version": PANDOC_API_VERSION, "meta": {}, "blocks": generated.blocks}
        resolved.texts[text.slug] = ResolvedText(text, ast, collect_sections(ast))
        if generated.print_override is not None:
            resolved.print_overrides[text.slug] = generated.print_override
