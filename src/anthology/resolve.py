"""Resolve stage: every chapter parsed to a pandoc AST, ids made unique across the whole book, sections collected.

Nothing is rendered before the whole book is resolved, so all three editions are built from the same trees.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import pandoc
from .ast import Node, attr_of, stringify, walk
from .diagnostics import BuildError, Collector
from .load import Book, Chapter

ID_SEPARATOR = "--"


@dataclass(frozen=True)
class Section:
    level: int  # 2 for the essay's top-level sections (the chapter title is level 1)
    ident: str
    title: str


@dataclass
class ResolvedChapter:
    chapter: Chapter
    ast: dict[str, Any]
    sections: list[Section]

    @property
    def anchor(self) -> str:
        """The chapter's own id: its slug, which no prefixed id can equal."""
        return self.chapter.slug

    @property
    def blocks(self) -> list[Node]:
        return self.ast["blocks"]


@dataclass
class ResolvedBook:
    book: Book
    chapters: list[ResolvedChapter]

    def chapter(self, slug: str) -> ResolvedChapter:
        return next(item for item in self.chapters if item.chapter.slug == slug)


def book_id(slug: str, local: str) -> str:
    """A chapter-prefixed id, unique across the book, so merged print HTML, EPUB and site never collide."""
    return f"{slug}{ID_SEPARATOR}{local}"


def prefix_ids(ast: dict[str, Any], slug: str) -> None:
    """Prefix every id and every in-chapter link target with the chapter's slug."""
    for node in walk(ast["blocks"]):
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
        for node in walk(ast["blocks"])
        if node["t"] == "Header"
    ]


def resolve_chapter(chapter: Chapter) -> ResolvedChapter:
    ast = pandoc.markdown_to_ast(chapter.body, source=chapter.path)
    prefix_ids(ast, chapter.slug)
    return ResolvedChapter(chapter, ast, collect_sections(ast))


def resolve_book(book: Book) -> ResolvedBook:
    """Parse all chapters (in parallel: each is a pandoc process) and report every chapter's problems together."""
    collector = Collector()
    resolved: list[ResolvedChapter] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(resolve_chapter, chapter) for chapter in book.chapters]
        for future in futures:
            try:
                resolved.append(future.result())
            except BuildError as error:
                collector.items.extend(error.diagnostics)
    collector.raise_if_errors()
    return ResolvedBook(book, resolved)
