"""The book's configuration (book.yaml): a typed schema, so every mistake is reported with its file, key and line."""

from __future__ import annotations

import datetime
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from anthology.diagnostics import BuildError, Diagnostic
from anthology.yamlfile import YamlDocument, load_yaml

POINTS_PER_INCH = 72.0
POINTS_PER_MM = 72.0 / 25.4
NAMED_TRIMS = {"A5": (148 * POINTS_PER_MM, 210 * POINTS_PER_MM)}
TRIM_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*(\d+(?:\.\d+)?)\s*(in|mm)\s*$")
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
# The sides a print-on-demand printer takes, in inches: from its smallest trim (4 in) to an A4 page's height.
TRIM_SIDE_IN = (4.0, 11.75)
# KDP's minimum inside margin (gutter) by page count, in inches: (up to this many pages, gutter).
KDP_GUTTER_IN = ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75), (828, 0.875))


def minimum_gutter_in(page_count: int) -> float:
    """KDP's minimum gutter for a book of this many pages (the largest figure beyond its table): the page design
    (render/print/pdf.py) widens its inner margin to it, and preflight checks it."""
    for pages, gutter in KDP_GUTTER_IN:
        if page_count <= pages:
            return gutter
    return KDP_GUTTER_IN[-1][1]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Editor(Strict):
    name: str = Field(min_length=1)
    role: str = "editor"
    placeholder: bool = False


class Part(Strict):
    title: str = Field(min_length=1)
    intro: str | None = Field(default=None, description="Markdown file of the part's introduction, relative to book/")
    chapters: list[str] = Field(min_length=1)

    @field_validator("chapters")
    @classmethod
    def _slugs(cls, value: list[str]) -> list[str]:
        for slug in value:
            if not re.match(SLUG_PATTERN, slug):
                raise ValueError(f"chapter {slug!r} is not a slug (lowercase letters, digits, hyphens)")
        return value


@dataclass(frozen=True)
class ChapterGroup:
    """The chapters of one part in reading order, or of a whole book without parts (its `title` is then None and
    no part page is printed); `key` is where its chapter list stands in book.yaml, for diagnostics."""

    title: str | None
    intro: str | None
    chapters: list[str]
    key: tuple[str | int, ...]


class CrossrefWording(Strict):
    """How cross-references read (issue 5): each template's {fields} are filled in by anthology.crossref."""

    chapter: str = "Chapter {number}, “{title}”"  # a whole chapter
    part: str = "Part {number}, “{title}”"
    matter: str = "“{title}”"  # front and back matter, headnotes, part introductions
    in_chapter: str = "Chapter {number}"  # a chapter named before a place in it
    place: str = "{text}, {place}"  # a place inside a text: "Chapter 1, § The Kronstadt Uprising"
    section: str = "§ {title}"
    note: str = "note {number}"
    table: str = "table {number}"
    page: str = ", p.\u00a0{page}"  # print only: appended by the print stylesheet (target-counter)

    @model_validator(mode="after")
    def _fields(self) -> CrossrefWording:
        """A misspelt {field} would only fail mid-build: name the key now."""
        allowed = {"number", "title", "text", "place", "page"}
        for key, template in self.model_dump().items():
            unknown = {name for _, name, _, _ in string.Formatter().parse(template) if name} - allowed
            if unknown:
                raise ValueError(f"crossref.{key}: unknown field {{{sorted(unknown)[0]}}}; fields: {sorted(allowed)}")
        return self


class BookConfig(Strict):
    slug: str = Field(pattern=SLUG_PATTERN)
    title: str = Field(min_length=1)
    subtitle: str | None = None
    lang: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
    identifier: str = Field(pattern=r"^(urn:uuid:[0-9a-f-]{36}|urn:isbn:[0-9X-]+)$")
    isbn: str | None = None
    editors: list[Editor] = Field(min_length=1)
    publisher: str = "not stated"
    edition: str = "First edition"
    date: str = Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    trim: str = "6x9in"
    paper: Literal["white", "cream"] = "white"
    # Print: running heads (verso author / recto chapter title by default) and the printer's PDF flavour.
    running_heads: Literal["author-title", "book-title", "none"] = "author-title"
    pdf_variant: Literal["pdf/x-4", "pdf/x-3", "pdf/x-1a"] = "pdf/x-4"
    ink_limit: int = Field(default=300, ge=100, le=400, description="total ink coverage allowed, in %")
    typesetting_limits: dict[str, float] = Field(default_factory=dict, description="check/typesetting.py TARGETS")
    citation_style: str = "chicago-note-bibliography-with-ibid"
    # A book's order: titled parts, or its chapters listed directly (no part pages); exactly one of the two.
    parts: list[Part] = Field(default_factory=list)
    chapters: list[str] = Field(default_factory=list, description="a book without parts: its chapters in order")
    front: list[str] = Field(default_factory=list, description="editorial matter before Part 1: book/front/<name>.md")
    back: list[str] = Field(default_factory=list, description="matter after the last chapter: book/back/<name>.md")
    crossref: CrossrefWording = Field(default_factory=CrossrefWording, description="wording of cross-references")
    site_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+/$",
        description="where the HTML edition will be published (ends with '/'): absolute canonical links; else relative",
    )
    # Retail metadata (the EPUB's package; issue 28): each is left out of the e-book when not given.
    description: str | None = Field(default=None, min_length=1, description="the book's description for retailers")
    subjects: list[str] = Field(default_factory=list, description="subject headings or BISAC/THEMA codes")
    print_isbn: str | None = Field(default=None, description="ISBN of the print edition the page numbers follow")
    accessibility_certifier: str | None = Field(
        default=None,
        min_length=1,
        description="who has reviewed the EPUB's accessibility: without one it claims no conformance",
    )
    title_sort: str | None = Field(default=None, min_length=1, description="the title's sort key (file-as)")
    name_sort: dict[str, str] = Field(
        default_factory=dict,
        description="people's sort keys: 'Forename Surname': 'Surname, Forename'",
    )

    @field_validator("front", "back")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(SLUG_PATTERN, name):
                raise ValueError(f"{name!r} is not a file name without extension (lowercase letters, digits, hyphens)")
        return value

    @field_validator("chapters")
    @classmethod
    def _chapter_slugs(cls, value: list[str]) -> list[str]:
        return Part._slugs(value)

    @model_validator(mode="after")
    def _order(self) -> BookConfig:
        """The chapters' order comes from one place: two would leave unclear where a chapter stands."""
        if self.parts and self.chapters:
            raise PydanticCustomError("E015", "both 'parts' and 'chapters' are given")
        if not self.parts and not self.chapters:
            raise PydanticCustomError("E015", "neither 'parts' nor 'chapters' is given")
        return self

    @field_validator("trim")
    @classmethod
    def _trim(cls, value: str) -> str:
        try:
            width, height = trim_points(value)
        except ValueError as exc:
            raise PydanticCustomError("E012", str(exc)) from None
        low, high = TRIM_SIDE_IN
        if not all(low * POINTS_PER_INCH - 0.01 <= side <= high * POINTS_PER_INCH + 0.01 for side in (width, height)):
            sides = f"{width / POINTS_PER_INCH:g} x {height / POINTS_PER_INCH:g} in"
            raise PydanticCustomError("E012", f"trim {value!r} ({sides}) is not a page a printer takes")
        return value

    @field_validator("date")
    @classmethod
    def _date(cls, value: str) -> str:
        """`YYYY-MM-DD` (or `YYYY-MM`) must be a day of the calendar: it fixes the outputs' timestamps."""
        parts = [int(piece) for piece in value.split("-")] + [1, 1]
        try:
            datetime.date(parts[0], parts[1], parts[2])
        except ValueError as exc:
            raise PydanticCustomError("E013", f"{value!r} is not a date of the calendar: {exc}") from None
        return value

    @field_validator("isbn", "print_isbn")
    @classmethod
    def _isbn(cls, value: str | None) -> str | None:
        if value is not None and not isbn_valid(value):
            raise PydanticCustomError("E014", f"ISBN {value!r} is not a valid ISBN-10 or ISBN-13 (its check digit)")
        return value

    @field_validator("identifier")
    @classmethod
    def _identifier(cls, value: str) -> str:
        isbn = value.removeprefix("urn:isbn:")
        if isbn != value and not isbn_valid(isbn):
            raise PydanticCustomError(
                "E014", f"identifier {value!r} is not a valid ISBN-10 or ISBN-13 (its check digit)"
            )
        return value

    @property
    def trim_size(self) -> tuple[float, float]:
        return trim_points(self.trim)

    @property
    def groups(self) -> list[ChapterGroup]:
        """The book's order as chapter groups: one per part, or one untitled group for a book without parts."""
        if not self.parts:
            return [ChapterGroup(None, None, list(self.chapters), ("chapters",))]
        return [
            ChapterGroup(p.title, p.intro, list(p.chapters), ("parts", i, "chapters")) for i, p in enumerate(self.parts)
        ]

    @property
    def chapter_slugs(self) -> list[str]:
        return [slug for group in self.groups for slug in group.chapters]

    @property
    def editors_incomplete(self) -> bool:
        return any(editor.placeholder for editor in self.editors)


def trim_points(value: str) -> tuple[float, float]:
    """Width and height in PostScript points for '6x9in', '148x210mm' or a named size ('A5')."""
    if value in NAMED_TRIMS:
        return NAMED_TRIMS[value]
    match = TRIM_PATTERN.match(value)
    if not match:
        raise ValueError(f"trim {value!r} is not a size like '6x9in', '5.5x8.5in', '148x210mm' or 'A5'")
    width, height, unit = float(match[1]), float(match[2]), match[3]
    scale = POINTS_PER_INCH if unit == "in" else POINTS_PER_MM
    return round(width * scale, 3), round(height * scale, 3)


def isbn_valid(value: str) -> bool:
    """An ISBN-13 (its EAN check digit) or an ISBN-10 (modulus 11, X for 10), hyphens and spaces aside."""
    digits = value.replace("-", "").replace(" ", "").upper()
    if re.fullmatch(r"\d{13}", digits):
        return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    if re.fullmatch(r"\d{9}[\dX]", digits):
        return sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits)) % 11 == 0
    return False


# The hint of each value book.yaml's schema checks beyond its type, by its code.
VALUE_HINTS = {
    "E012": f"a size like '6x9in', '5.5x8.5in', '148x210mm' or 'A5', each side {TRIM_SIDE_IN[0]:g} to "
    f"{TRIM_SIDE_IN[1]:g} in",
    "E013": "write the date as YYYY, YYYY-MM or YYYY-MM-DD, a real day (month 1-12, a day the month has)",
    "E014": "copy the ISBN from the agency's record: its last digit checks the others",
    "E015": "list the chapters under 'parts:' (each part with a title) or, for a book without parts, under "
    "'chapters:', not both",
}


def _diagnostic_for(error: dict, document: YamlDocument) -> Diagnostic:
    location = tuple(error["loc"])
    key = ".".join(str(part) for part in location) or "<top level>"
    message = error["msg"]
    if error["type"] in VALUE_HINTS:
        code = error["type"]
        if code == "E015":  # the book's order: at its `chapters:` when given, else where `parts:` is missing
            key = "chapters" if "chapters" in document.data else "parts"
            location = (key,)
        where = {"file": document.path, "line": document.line_of(location)}
        return Diagnostic(code, f"key '{key}': {message}", hint=VALUE_HINTS[code], **where)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
        hint = "remove it or correct its spelling; README lists the keys of book.yaml"
    elif error["type"] == "missing":
        message = "required key is missing"
        hint = f"add '{location[-1]}:' to {document.path.name}"
    else:
        hint = "see README, section 'book.yaml', for the expected form"
    return Diagnostic("E010", f"key '{key}': {message}", file=document.path, line=document.line_of(location), hint=hint)


def parse_config(document: YamlDocument) -> BookConfig:
    """Validate a parsed book.yaml; all schema errors are reported together."""
    if not isinstance(document.data, dict):
        raise BuildError(
            [Diagnostic("E010", "book.yaml must be a mapping of keys to values", file=document.path, line=1)]
        )
    try:
        config = BookConfig.model_validate(document.data)
    except ValidationError as exc:
        raise BuildError([_diagnostic_for(error, document) for error in exc.errors()]) from None
    _check_unique_chapters(config, document)
    return config


def _check_unique_chapters(config: BookConfig, document: YamlDocument) -> None:
    seen: set[str] = set()
    problems = []
    for group in config.groups:
        for c, slug in enumerate(group.chapters):
            if slug in seen:
                line = document.line_of((*group.key, c))
                problems.append(Diagnostic("E011", f"chapter '{slug}' is listed twice", file=document.path, line=line))
            seen.add(slug)
    if problems:
        raise BuildError(problems)


def load_config(book_dir: Path) -> tuple[BookConfig, YamlDocument]:
    document = load_yaml(book_dir / "book.yaml")
    return parse_config(document), document
