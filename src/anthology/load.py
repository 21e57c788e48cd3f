"""Load stage: book.yaml and every chapter text become one typed model of the whole book, or one report of problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import BookConfig, load_config
from .diagnostics import BuildError, Collector, Diagnostic
from .yamlfile import YamlDocument, parse_yaml, read_text

FRONT_MATTER_FENCE = "---"


class ChapterMeta(BaseModel):
    """Front matter of a cleaned text; extra keys are kept for later stages (headnotes, rights, permissions)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    title: str = Field(min_length=1)
    subtitle: str | None = None
    authors: list[str] = Field(default_factory=list)
    author_statement: str | None = None
    source: str | None = None
    kind: str | None = None
    standfirst: str | None = None
    rights: str = "not stated"

    @property
    def byline(self) -> str:
        """The author credit as printed; an unnamed author is said to be not stated, never guessed."""
        if not self.authors:
            return "Author not stated in the source"
        if len(self.authors) == 1:
            return self.authors[0]
        return ", ".join(self.authors[:-1]) + " and " + self.authors[-1]


@dataclass
class Chapter:
    slug: str
    number: int
    part_number: int
    path: Path
    meta: ChapterMeta
    body: str
    body_line: int  # 1-based line of the body's first line in the file, for diagnostics

    @property
    def title(self) -> str:
        return self.meta.title


@dataclass
class PartModel:
    number: int
    title: str
    intro: str | None
    chapters: list[Chapter] = field(default_factory=list)


@dataclass
class Book:
    root: Path
    config: BookConfig
    config_document: YamlDocument
    parts: list[PartModel]

    @property
    def chapters(self) -> list[Chapter]:
        return [chapter for part in self.parts for chapter in part.chapters]


def split_front_matter(text: str, path: Path) -> tuple[YamlDocument, str, int]:
    """Separate the YAML front matter from the Markdown body, keeping line numbers for both."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        raise BuildError(
            [
                Diagnostic(
                    "E020",
                    "no front matter",
                    file=path,
                    line=1,
                    hint="start the file with a '---' line, "
                    "the YAML keys (title, authors, ...), and a closing '---' line",
                )
            ]
        )
    for index in range(1, len(lines)):
        if lines[index].strip() in (FRONT_MATTER_FENCE, "..."):
            header = "\n".join(lines[1:index])
            document = parse_yaml(header, path, line_offset=1)
            return document, "\n".join(lines[index + 1 :]), index + 2
    raise BuildError(
        [
            Diagnostic(
                "E021",
                "front matter is not closed",
                file=path,
                line=1,
                hint="add a '---' line after the keys",
            )
        ]
    )


def load_chapter(path: Path, slug: str, number: int, part_number: int) -> Chapter:
    document, body, body_line = split_front_matter(read_text(path), path)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise BuildError([Diagnostic("E022", "front matter must be a mapping of keys", file=path, line=2)])
    try:
        meta = ChapterMeta.model_validate(data)
    except ValidationError as exc:
        raise BuildError(
            [
                Diagnostic(
                    "E022",
                    f"front matter key '{'.'.join(map(str, err['loc']))}': {err['msg']}",
                    file=path,
                    line=document.line_of(tuple(err["loc"])),
                    hint="a chapter's front matter needs at least 'title:'",
                )
                for err in exc.errors()
            ]
        ) from None
    if not body.strip():
        raise BuildError(
            [
                Diagnostic(
                    "E023",
                    "chapter has no text",
                    file=path,
                    line=body_line,
                    hint="run `invoke ingest`, or remove the chapter from book.yaml",
                )
            ]
        )
    return Chapter(slug, number, part_number, path, meta, body, body_line)


def load_book(book_dir: Path) -> Book:
    """Load the whole book; every problem of every chapter is reported together."""
    config, document = load_config(book_dir)
    collector = Collector()
    parts: list[PartModel] = []
    number = 0
    for p, part in enumerate(config.parts):
        model = PartModel(p + 1, part.title, part.intro)
        for c, slug in enumerate(part.chapters):
            number += 1
            path = book_dir / "texts" / f"{slug}.md"
            if not path.exists():
                collector.error(
                    "E024",
                    f"chapter '{slug}' has no text file {path}",
                    file=document.path,
                    line=document.line_of(("parts", p, "chapters", c)),
                    hint=f"create {path} (run `invoke ingest` if it comes from a source), or remove it from book.yaml",
                )
                continue
            try:
                model.chapters.append(load_chapter(path, slug, number, p + 1))
            except BuildError as error:
                collector.items.extend(error.diagnostics)
        parts.append(model)
    collector.raise_if_errors()
    return Book(book_dir, config, document, parts)
