"""Load stage: book.yaml and every Markdown text become one typed model of the whole book, or one report of problems.

A book is made of texts: chapters (the essays), each chapter's headnote, part introductions, and front and back
matter. All are pandoc Markdown files with YAML front matter, loaded and checked the same way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from anthology import limits
from anthology.config import load_config
from anthology.diagnostics import BuildError, Collector, Diagnostic
from anthology.model import (
    GENERATED_TITLES,
    Book,
    Chapter,
    ChapterMeta,
    HeadnoteMeta,
    PartIntroMeta,
    PartModel,
    Text,
    TextMeta,
)
from anthology.yamlfile import YamlDocument, parse_yaml, read_text

FRONT_MATTER_FENCE = "---"
# The files a book has by convention, beside book.yaml: the bibliography and the index.
BOOK_FILES = ("references.yaml", "index.yaml")
# A citation style named by its name (a file of styles/csl/); anything else is a path relative to the book folder.
STYLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
T = TypeVar("T")
# What to do about a control character in a text (limits.CONTROL), by the character.
CONTROL_HINTS = {
    "\x0c": "delete it: a form feed is a page break that pdftotext left (a recipe's rules can drop it at ingest)",
    "": "delete it: no text holds it (is the file damaged, or not text?)",
}


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


def _meta_diagnostic(error: dict, document: YamlDocument, schema: type[TextMeta]) -> Diagnostic:
    """One schema error of the front matter; an unknown key with the known key it most resembles."""
    key = ".".join(map(str, error["loc"]))
    message, hint = error["msg"], "every text's front matter needs at least 'title:'"
    if error["type"] == "extra_forbidden":
        known = list(schema.model_fields)
        close = difflib.get_close_matches(str(error["loc"][0]), known, n=1)
        message = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
        hint = f"the keys of this text's front matter: {', '.join(known)}"
    return Diagnostic(
        "E022",
        f"front matter key '{key}': {message}",
        file=document.path,
        line=document.line_of(tuple(error["loc"])),
        hint=hint,
    )


def read_meta(document: YamlDocument, schema: type[TextMeta]) -> TextMeta:
    path = document.path
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise BuildError([Diagnostic("E022", "front matter must be a mapping of keys", file=path, line=2)])
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise BuildError([_meta_diagnostic(err, document, schema) for err in exc.errors()]) from None


def read_bounded(path: Path) -> str:
    """The text, if it is within the limits (limits.py): not too large, no paragraph too long, no control
    character. Checked before the text is parsed, so a text that would take the machine's memory is refused at
    once; every paragraph and character beyond them is reported together."""
    line = limits.oversize_line(path)
    if line is not None:
        message = f"the text passes {limits.MAX_TEXT_BYTES:,} bytes, the limit for one text, on this line"
        hint = "split it into several texts (chapters), or check that the file is the text meant"
        raise BuildError([Diagnostic("E026", message, file=path, line=line, hint=hint)])
    text = read_text(path)
    problems = [
        Diagnostic(
            "E027",
            finding.message,
            file=path,
            line=finding.line,
            hint="separate its paragraphs with blank lines; a paragraph this long is usually lost line breaks",
        )
        for finding in limits.long_paragraphs(text)
    ]
    problems += [
        Diagnostic(
            "E028",
            f"{finding.message}: a control character a text may not hold",
            file=path,
            line=finding.line,
            hint=CONTROL_HINTS.get(finding.character, CONTROL_HINTS[""]),
        )
        for finding in limits.control_characters(text)
    ]
    if problems:
        raise BuildError(problems)
    return text


def load_text(path: Path, slug: str, kind: str, schema: type[TextMeta] = TextMeta) -> tuple[TextMeta, str, int]:
    document, body, body_line = split_front_matter(read_bounded(path), path)
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


def load_plain(path: Path, slug: str, kind: str, schema: type[TextMeta] = TextMeta) -> Text:
    meta, body, body_line = load_text(path, slug, kind, schema)
    return Text(slug, kind, path, meta, body, body_line)


def load_chapter(path: Path, slug: str, number: int, part_number: int) -> Chapter:
    meta, body, body_line = load_text(path, slug, "chapter", ChapterMeta)
    headnote_path = path.parent.parent / "headnotes" / f"{slug}.md"
    headnote = None
    found = headnote_path.is_file() or headnote_path.is_symlink()
    if found and not limits.inside(headnote_path, path.parent.parent):
        raise BuildError([outside_diagnostic(f"the headnote of '{slug}'", headnote_path, headnote_path, None)])
    if headnote_path.is_file():
        headnote = load_plain(headnote_path, f"{slug}-headnote", "headnote", HeadnoteMeta)
    return Chapter(slug, "chapter", path, meta, body, body_line, number, part_number, headnote)


def outside_diagnostic(what: str, path: Path, file: Path, line: int | None) -> Diagnostic:
    return Diagnostic(
        "E025",
        f"{what}: {limits.where_it_leads(path)} is outside the book folder",
        file=file,
        line=line,
        hint="keep every file of the book inside its folder: copy the file in rather than linking or pointing to it",
    )


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

    def outside(self, what: str, path: Path, key: tuple[str | int, ...]) -> bool:
        """Whether a file book.yaml names leads outside the book folder (then reported at its line)."""
        if limits.inside(path, self.book_dir):
            return False
        self.collector.add(outside_diagnostic(what, path, self.document.path, self.document.line_of(key)))
        return True

    def attempt(self, load: Callable[..., T], *args: object) -> T | None:
        try:
            return load(*args)
        except BuildError as error:
            self.collector.items.extend(error.diagnostics)
            return None

    def book_files(self, citation_style: str, chapters: list[Chapter]) -> bool:
        """The files the book has by convention (its bibliography, its index, the recipes of its chapters' sources,
        which the note on the texts reads) and a style named by its path: each must lead to a file inside the book
        folder. A style named by its name is one of styles/csl/. Whether all do (else the resolve stage, which reads
        them, must not run)."""
        inside = True
        sources = [Path(c.chapter_meta.source).stem for c in chapters if c.chapter_meta.source]
        for name in [*BOOK_FILES, *(f"sources/{stem}.yaml" for stem in sources)]:
            path = self.book_dir / name
            if (path.is_file() or path.is_symlink()) and not limits.inside(path, self.book_dir):
                self.collector.add(outside_diagnostic(f"the book's {name}", path, path, None))
                inside = False
        style = self.book_dir / citation_style
        if not STYLE_NAME.fullmatch(citation_style) or style.exists() or style.is_symlink():
            inside = not self.outside("citation_style", style, ("citation_style",)) and inside
        return inside

    def intro(self, name: str, p: int) -> Text | None:
        """The introduction of part p + 1 (0-based p), named by its path relative to the book folder."""
        path, what, key = self.book_dir / name, f"the introduction of part {p + 1}", ("parts", p, "intro")
        if self.outside(what, path, key):
            return None
        if not path.is_file():
            self.missing(what, path, key)
            return None
        return self.attempt(load_plain, path, f"part-{p + 1}-intro", "part-intro", PartIntroMeta)

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
            if self.outside(f"{key} matter '{name}'", path, (key, index)):
                continue
            if not path.is_file():
                self.missing(f"{key} matter '{name}'", path, (key, index))
                continue
            text = self.attempt(load_plain, path, name, key)
            texts.extend([text] if text else [])
        return texts


def load_book(book_dir: Path) -> Book:
    """Load the whole book; every problem of every text is reported together."""
    book, problems = load_book_partly(book_dir)
    problems.raise_if_errors()
    return book


def load_book_partly(book_dir: Path) -> tuple[Book, Collector]:
    """The book as far as it loads (the texts that failed are left out) and the problems of those that did not,
    so that the resolve stage can report its own problems in the same run (resolve_book's `loaded`). Raises when
    nothing can be resolved: book.yaml does not load, or a file the resolve stage reads leads outside the book."""
    config, document = load_config(book_dir)
    loader = _Loader(book_dir, document)
    parts: list[PartModel] = []
    number = 0
    for p, group in enumerate(config.groups):
        model = PartModel(p + 1, group.title, loader.intro(group.intro, p) if group.intro else None)
        for c, slug in enumerate(group.chapters):
            number += 1
            path = book_dir / "texts" / f"{slug}.md"
            if loader.outside(f"chapter '{slug}'", path, (*group.key, c)):
                continue
            if not path.is_file():
                loader.missing(f"chapter '{slug}'", path, (*group.key, c))
                continue
            chapter = loader.attempt(load_chapter, path, slug, number, p + 1)
            model.chapters.extend([chapter] if chapter else [])
        parts.append(model)
    front = loader.matter(config.front, "front", "front")
    back = loader.matter(config.back, "back", "back")
    if not loader.book_files(config.citation_style, [chapter for part in parts for chapter in part.chapters]):
        loader.collector.raise_if_errors()
    return Book(book_dir, config, document, parts, front, back), loader.collector
