"""The book's data types, which every stage imports and none defines.

The load stage makes a `Book` of `Text`s; the resolve stage makes a `ResolvedBook` of `ResolvedText`s (each text's
pandoc AST, its sections, where each work is cited, the index's marks, the generated texts); the renderers read
only these. This module imports no stage, so a stage can use any of the types without importing another stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from anthology import styles
from anthology.ast import Node, attr_of, walk_structure
from anthology.config import BookConfig
from anthology.yamlfile import YamlDocument

# --------------------------------------------------------------------------------------------- the folders


@dataclass(frozen=True)
class Project:
    """The three folders a build reads and writes."""

    book_dir: Path
    styles_dir: Path
    build_dir: Path

    @property
    def templates_dir(self) -> Path:
        return self.styles_dir / "templates"

    @property
    def fonts_dir(self) -> Path:
        return self.styles_dir / "fonts"

    @property
    def own_styles_dir(self) -> Path:
        """The book's own styles/ folder: a book carries its design, file by file over the project's."""
        return self.book_dir / styles.OWN_STYLES

    @property
    def template_dirs(self) -> list[Path]:
        """Where templates are looked up, the book's own first."""
        return [self.own_styles_dir / "templates", self.templates_dir]

    def style_file(self, relative: str | Path) -> Path:
        """The style file the build reads for `relative` (e.g. "print.css", "fonts/X.ttf"): the book's own copy
        when it has one, else the project's."""
        return styles.style_file(self.book_dir, self.styles_dir, relative)

    def restyled(self, path: Path) -> Path:
        """A file path into either styles folder, as the file the build reads for it (WeasyPrint's URLs)."""
        return styles.restyled(self.book_dir, self.styles_dir, path)


# --------------------------------------------------------------------------------------------- the loaded book


class TextMeta(BaseModel):
    """Front matter every text has. An unknown key is an error: a misspelt one (`author:` for `authors:`) would
    otherwise be dropped without a word, and the book print what it says when the key is missing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    subtitle: str | None = None


def _as_text(value: Any) -> Any:
    """A date or a number where the front matter records a statement (`date: 1989`) is that statement's text."""
    return str(value) if isinstance(value, int | float | date) and not isinstance(value, bool) else value


Statement = Annotated[str, BeforeValidator(_as_text)]


class HeadnoteMeta(TextMeta):
    """Front matter of an editors' headnote: the chapter it introduces (it is found by its file name)."""

    chapter: str | None = None


class PartIntroMeta(TextMeta):
    """Front matter of a part's introduction: the part's number (its place is set by book.yaml)."""

    part: int | None = None


class ChapterMeta(TextMeta):
    """Front matter of an essay: who wrote it (as far as the source says), where it comes from, its rights; the
    recipe's `meta:` keys, which ingest copies here, are these."""

    authors: list[str] = Field(default_factory=list)
    author_statement: str | None = None
    title_source: str | None = None
    source: str | None = None  # the raw file's name, for the pipeline to find its recipe: never printed
    kind: str | None = None
    # Where the text was published, as a reader can find it: the book, journal or site, and its address.
    publication: Statement | None = None
    url: str | None = None
    standfirst: str | None = None
    publisher: Statement | None = None
    date: Statement | None = None
    rights: Statement = "not stated"

    @property
    def byline(self) -> str:
        """The author credit as printed; an unnamed author is said to be not stated, never guessed."""
        if not self.authors:
            return "Author not stated in the source"
        if len(self.authors) == 1:
            return self.authors[0]
        return ", ".join(self.authors[:-1]) + " and " + self.authors[-1]


@dataclass
class Text:
    """One Markdown file of the book. `slug` is unique across the book and prefixes all of the text's ids."""

    slug: str
    kind: str  # chapter, headnote, part-intro, front, back, generated
    path: Path
    meta: TextMeta
    body: str
    body_line: int  # 1-based line of the body's first line in the file, for diagnostics

    @property
    def title(self) -> str:
        return self.meta.title


@dataclass
class Chapter(Text):
    number: int = 0
    part_number: int = 0
    headnote: Text | None = None

    @property
    def chapter_meta(self) -> ChapterMeta:
        assert isinstance(self.meta, ChapterMeta)
        return self.meta


@dataclass
class PartModel:
    number: int
    title: str | None  # None: the book has no parts, and this one holds its chapters without a part page
    intro: Text | None
    chapters: list[Chapter] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"part-{self.number}"


@dataclass
class Book:
    root: Path
    config: BookConfig
    config_document: YamlDocument
    parts: list[PartModel]
    front: list[Text] = field(default_factory=list)
    back: list[Text] = field(default_factory=list)

    @property
    def chapters(self) -> list[Chapter]:
        return [chapter for part in self.parts for chapter in part.chapters]

    @property
    def texts(self) -> list[Text]:
        """Every text in reading order."""
        ordered: list[Text] = list(self.front)
        for part in self.parts:
            ordered.extend([part.intro] if part.intro else [])
            for chapter in part.chapters:
                ordered.extend([chapter.headnote, chapter] if chapter.headnote else [chapter])
        return ordered + self.back


# Texts the pipeline writes itself, by the name book.yaml's `front`/`back` lists give them, with their titles. The
# load stage makes a placeholder text (kind "generated") for each name listed; resolve/generated.py has the
# generator that writes each one's content.
GENERATED_TITLES: dict[str, str] = {
    "bibliography": "Bibliography",
    "index": "Index",
    "note-on-the-texts": "A Note on the Texts",
    "permissions": "Permissions",
}


# --------------------------------------------------------------------------------------------- the resolved book

ID_SEPARATOR = "--"


def book_id(slug: str, local: str) -> str:
    """A text-prefixed id, unique across the book, so merged print HTML, EPUB and site never collide."""
    return f"{slug}{ID_SEPARATOR}{local}"


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
class CitationIndex:
    """Where each bibliography key is cited: (text slug, citation id) in reading order."""

    places: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # The bibliography's entries for the keys the texts cite (citeproc's JSON), rendered beside their citations.
    references: tuple[list[str], Future[str]] | None = None

    def add(self, key: str, slug: str, ident: str) -> None:
        self.places.setdefault(key, []).append((slug, ident))

    def extend(self, other: CitationIndex) -> None:
        """The places of `other` after these (one text's, after those of the texts before it)."""
        for key, places in other.places.items():
            self.places.setdefault(key, []).extend(places)


@dataclass
class Entry:
    """One index heading (or sub-heading) and what it matches."""

    term: str
    aliases: list[str]
    see: str | None = None
    see_also: list[str] = field(default_factory=list)
    parent: Entry | None = None
    sub: list[Entry] = field(default_factory=list)
    line: int | None = None

    @property
    def key(self) -> str:
        return f"{self.parent.term}!{self.term}" if self.parent else self.term


@dataclass
class IndexSpec:
    """book/index.yaml: the index's headings and the sections never marked."""

    path: Path
    entries: list[Entry]
    skip_sections: set[str]

    def all_entries(self) -> Iterator[Entry]:
        for entry in self.entries:
            yield entry
            yield from entry.sub

    def by_term(self) -> dict[str, Entry]:
        return {entry.term: entry for entry in self.entries}


@dataclass(frozen=True)
class Occurrence:
    entry: str  # Entry.key
    marker: str  # the marker's book-wide id
    slug: str
    section: int  # ordinal of the level-2 section it is in (0: before the first)
    section_title: str
    words: str  # the words marked


@dataclass
class Marks:
    """Every marker of the book, in reading order."""

    occurrences: list[Occurrence] = field(default_factory=list)


@dataclass
class BookIndex:
    spec: IndexSpec
    marks: Marks


# A print-only replacement of a generated text's blocks, given the page number of every anchor after a first layout.
PrintOverride = Callable[[dict[str, int]], list[Node]]


@dataclass(frozen=True)
class Generated:
    """A generated text's content: its blocks (a pandoc AST block list), and what print shows instead, if anything."""

    blocks: list[Node]
    print_override: PrintOverride | None = None


@dataclass
class ResolvedBook:
    book: Book
    texts: dict[str, ResolvedText]  # by slug, in reading order
    # Print-only replacements of generated texts, computed from the page of every anchor after a first layout.
    print_overrides: dict[str, PrintOverride] = field(default_factory=dict)
    # Where each bibliography key is cited (resolve/bibliography.py), for the bibliography's back-references.
    citations: CitationIndex = field(default_factory=CitationIndex)
    styles_dir: Path = Path("styles")
    # The index's terms and markers (resolve/indexing.py), when the book has an index.
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


# Writes a generated text's content from the whole resolved book: (book, the text's slug) -> its content.
Generator = Callable[[ResolvedBook, str], Generated]
