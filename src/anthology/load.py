"""Load stage: book.yaml and every Markdown text become one typed model of the whole book, or one report of problems.

A book is made of texts: chapters (the essays), each chapter's headnote, part introductions, and front and back
matter. All are pandoc Markdown files with YAML front matter, loaded and checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from anthology.config import load_config
from anthology.diagnostics import BuildError, Collector, Diagnostic
from anthology.model import GENERATED_TITLES, Book, Chapter, ChapterMeta, PartModel, Text, TextMeta
from anthology.yamlfile import YamlDocument, parse_yaml, read_text

FRONT_MATTER_FENCE = "---"
T = TypeVar("T")


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
                    hint="start the file with a '---' line, the YAML keys (title, ...), and a closing '---' line",
                )
            ]
        )
    for index in range(1, len(lines)):
        if lines[index].strip() in (FRONT_MATTER_FENCE, "..."):
            document = parse_yaml("\n".join(lines[1:index]), path, line_offset=1)
            return document, "\n".join(lines[index + 1 :]), index + 2
    raise BuildError(
        [Diagnostic("E021", "front matter is not closed", file=path, line=1, hint="add a '---' line after the keys")]
    )


def read_meta(document: YamlDocument, schema: type[TextMeta]) -> TextMeta:
    path = document.path
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise BuildError([Diagnostic("E022", "front matter must be a mapping of keys", file=path, line=2)])
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise BuildError(
            [
                Diagnostic(
                    "E022",
                    f"front matter key '{'.'.join(map(str, err['loc']))}': {err['msg']}",
                    file=path,
                    line=document.line_of(tuple(err["loc"])),
                    hint="every text's front matter needs at least 'title:'",
                )
                for err in exc.errors()
            ]
        ) from None


def load_text(path: Path, slug: str, kind: str, schema: type[TextMeta] = TextMeta) -> tuple[TextMeta, str, int]:
    document, body, body_line = split_front_matter(read_text(path), path)
    meta = read_meta(document, schema)
    if not body.strip():
        raise BuildError(
            [
                Diagnostic(
                    "E023",
                    f"{kind} '{slug}' has no text",
                    file=path,
                    line=body_line,
                    hint="run `invoke ingest` if it comes from a source, or remove it from book.yaml",
                )
            ]
        )
    return meta, body, body_line


def load_plain(path: Path, slug: str, kind: str) -> Text:
    meta, body, body_line = load_text(path, slug, kind)
    return Text(slug, kind, path, meta, body, body_line)


def load_chapter(path: Path, slug: str, number: int, part_number: int) -> Chapter:
    meta, body, body_line = load_text(path, slug, "chapter", ChapterMeta)
    headnote_path = path.parent.parent / "headnotes" / f"{slug}.md"
    headnote = load_plain(headnote_path, f"{slug}-headnote", "headnote") if headnote_path.exists() else None
    return Chapter(slug, "chapter", path, meta, body, body_line, number, part_number, headnote)


class _Loader:
    """Loads each listed file, turning a missing file or a bad one into a diagnostic located in book.yaml."""

    def __init__(self, book_dir: Path, document: YamlDocument):
        self.book_dir = book_dir
        self.document = document
        self.collector = Collector()

    def missing(self, what: str, path: Path, key: tuple[str | int, ...]) -> None:
        self.collector.error(
            "E024",
            f"{what} has no file {path}",
            file=self.document.path,
            line=self.document.line_of(key),
            hint=f"create {path} (run `invoke ingest` if it comes from a source), or remove it from book.yaml",
        )

    def attempt(self, load: Callable[..., T], *args: object) -> T | None:
        try:
            return load(*args)
        except BuildError as error:
            self.collector.items.extend(error.diagnostics)
            return None

    def matter(self, names: list[str], folder: str, key: str) -> list[Text]:
        texts = []
        for index, name in enumerate(names):
            if name in GENERATED_TITLES:
                meta = TextMeta(title=GENERATED_TITLES[name])
                texts.append(
                    Text(name, "generated", self.document.path, meta, "", self.document.line_of((key, index)) or 1)
                )
                continue
            path = self.book_dir / folder / f"{name}.md"
            if not path.exists():
                self.missing(f"{key} matter '{name}'", path, (key, index))
                continue
            text = self.attempt(load_plain, path, name, key)
            texts.extend([text] if text else [])
        return texts


def load_book(book_dir: Path) -> Book:
    """Load the whole book; every problem of every text is reported together."""
    config, document = load_config(book_dir)
    loader = _Loader(book_dir, document)
    parts: list[PartModel] = []
    number = 0
    for p, part in enumerate(config.parts):
        intro = None
        if part.intro:
            intro_path = book_dir / part.intro
            if intro_path.exists():
                intro = loader.attempt(load_plain, intro_path, f"part-{p + 1}-intro", "part-intro")
            else:
                loader.missing(f"the introduction of part {p + 1}", intro_path, ("parts", p, "intro"))
        model = PartModel(p + 1, part.title, intro)
        for c, slug in enumerate(part.chapters):
            number += 1
            path = book_dir / "texts" / f"{slug}.md"
            if not path.exists():
                loader.missing(f"chapter '{slug}'", path, ("parts", p, "chapters", c))
                continue
            chapter = loader.attempt(load_chapter, path, slug, number, p + 1)
            model.chapters.extend([chapter] if chapter else [])
        parts.append(model)
    front = loader.matter(config.front, "front", "front")
    back = loader.matter(config.back, "back", "back")
    loader.collector.raise_if_errors()
    return Book(book_dir, config, document, parts, front, back)
