"""The ingest recipe: the `rules:` block of `book/sources/<slug>.yaml`, validated with file and key in errors.

Everything specific to one source lives here as data (line ranges, patterns, recorded removals and
emendations); the rules in code are general, so a new essay in a known form needs only a recipe.
Line numbers are 1-based lines of the source as the rules read it: the raw `.txt` or `.md` itself, or, for a
`.html`, `.docx` or `.odt`, the Markdown pandoc makes of it (`invoke ingest --explain SOURCE` prints it numbered);
a range is `12` or `"12-30"`.

Top-level keys besides `meta` and `rules`: `source`, `received_as`, `sha256` (the digest of the raw bytes, verified
at every ingest) and `encoding` (how the raw bytes are decoded; default `utf-8`).

Keys of `rules:` (all optional):
  title_lines, byline_lines      lines dropped because the front matter holds them
  standfirst_lines               a publisher's standfirst, moved to the front matter
  remove                         [{lines | pattern, reason}] boilerplate, captions: dropped and recorded
  rewrite                        [{pattern, replace, reason}] markup rewritten inside every line (HTML wrappers,
                                 attributes); the fidelity check reads the source through the same rewrites
  page_headers                   running heads dropped wherever a line is exactly one of them
  notes                          {style, first, start_line, expect_missing}; style is one of NOTE_FORMS:
                                 endnotes `N. text` / endnotes-paren `N) text` after the essay (calls glued),
                                 superscript `¹`, bracketed `[N]`, caret `^N`, pandoc `[^N]` (calls with
                                 definitions wherever they stand); `first`: the first note's number
  join_page_breaks               rejoin paragraphs and hyphenated words cut by page breaks
  no_join_after_lines, keep_hyphens   exceptions to the joins
  headings                       {numbered, all_caps, short_lines_max_words, lines: {line: level}, ...}
  epigraphs                      [{lines, attribution_split}]
  blockquotes                    line ranges of quotations that lost their indentation
  quoted_paragraph_blockquotes   paragraphs that are one quotation (with their source) become block quotes
  quote_after_colon              a quotation introduced by a colon becomes a block quote
  poems                          line ranges set as line blocks
  lists                          `1. ` and `- ` runs become lists (default on)
  table_caption                  pattern of a caption line followed by tab-separated rows
  endmatter                      {from_line, headings}: the chapter's own end matter
  lost_dash                      pattern of what remains of a lost dash (restored as a spaced em dash)
  slash_insertions(_except)      `/I/n`-style insertions set in square brackets
  emendations                    [{line, original, corrected, reason}] recorded corrections
  citations                      {works, bibliography, skip}: citations become pandoc keys (issue 4); the
                                 alias table (`works`, beside the recipe) says which forms the essay uses
"""

from __future__ import annotations

import codecs
import difflib
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from anthology.diagnostics import BuildError, Diagnostic
from anthology.limits import inside, where_it_leads
from anthology.model import ChapterMeta
from anthology.yamlfile import KeyPath, YamlDocument, load_yaml


def _parse_range(value: Any) -> tuple[int, int]:
    """Accept `12`, `"12"` or `"12-30"` (1-based, inclusive) so recipes stay short and readable."""
    if isinstance(value, int):
        return (value, value)
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", str(value))
    if not match:
        raise ValueError(f"not a line or line range: {value!r} (use 12 or '12-30')")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise ValueError(f"line range runs backwards: {value!r}")
    return (first, last)


LineRange = Annotated[tuple[int, int], BeforeValidator(_parse_range)]


def _compiles(value: str) -> str:
    """A recipe's pattern must be a valid regular expression: checked with the recipe, not when a rule runs."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


Pattern = Annotated[str, AfterValidator(_compiles)]


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt rule must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Removal(_Strict):
    """Raw text that is not the author's (boilerplate, captions, headers), with the reason for dropping it."""

    lines: LineRange | None = None
    pattern: Pattern | None = None
    reason: str


class Rewrite(_Strict):
    """Markup rewritten inside each line (an HTML wrapper or attribute, a `<br>`), with the reason: a removal
    pattern must match a whole block, so markup inside a paragraph needs a rule of its own."""

    pattern: Pattern
    replace: str = ""
    reason: str


class Headings(_Strict):
    """How headings are recognised: numbered lines, ALL-CAPS lines, short title-like lines, or listed lines."""

    numbered: Pattern | None = None
    numbered_level: int = 2
    all_caps: bool = False
    all_caps_level: int = 2
    short_lines_max_words: int = 0
    short_lines_level: int = 2
    lines: dict[int, int] = Field(default_factory=dict)
    not_lines: list[int] = Field(default_factory=list)


# The note forms a recipe may name (see the module docstring); a new form is one more entry and its rule in notes.py.
NOTE_FORMS = ("none", "endnotes", "endnotes-paren", "superscript", "bracketed", "caret", "pandoc")


def _note_form(value: Any) -> Any:
    """An unknown note form is named with the forms that exist (pydantic's own message lists them less plainly)."""
    if value not in NOTE_FORMS:
        raise ValueError(f"unknown note form {value!r}; the forms: {', '.join(NOTE_FORMS)}")
    return value


class Notes(_Strict):
    """Which note form the source uses, the first note's number (a book numbered across its chapters starts a
    later chapter past 1) and where an endnote list stands."""

    style: Annotated[str, AfterValidator(_note_form)] = "none"
    first: int = Field(default=1, ge=0)
    start_line: int | None = None
    expect_missing: list[int] = Field(default_factory=list)


class Epigraph(_Strict):
    """An epigraph paragraph whose attribution follows a run of padding spaces or a separator."""

    lines: LineRange
    attribution_split: Pattern = r"\s{3,}"


class Endmatter(_Strict):
    """The chapter's own end matter (questions, reading lists) from a line on, with its headings."""

    from_line: int
    headings: list[str]


class Emendation(_Strict):
    """A recorded correction of an obvious error in the source; the list is data the book can print."""

    line: int
    original: str
    corrected: str
    reason: str


class Insertion(_Strict):
    """A recorded editorial addition to an essay (e.g. a cross-reference); printed in square brackets, marked as
    the editors' (class `editorial`), and left out of the word-fidelity comparison because it is not the author's."""

    line: int
    after: str
    text: str
    reason: str


class Citations(_Strict):
    """Where the essay's alias table and the bibliography are (paths relative to the recipe's folder).

    The table's `styles` say which citation forms the essay uses (parenthetical, author-date, notes);
    `skip` lists lines whose blocks hold no citations, such as a chapter's own reference list.
    """

    works: str
    bibliography: str = "../references.yaml"
    skip: list[LineRange] = Field(default_factory=list)


class Rules(_Strict):
    """All ingest rules for one source."""

    title_lines: list[int] = Field(default_factory=list)
    byline_lines: list[int] = Field(default_factory=list)
    standfirst_lines: list[LineRange] = Field(default_factory=list)
    remove: list[Removal] = Field(default_factory=list)
    rewrite: list[Rewrite] = Field(default_factory=list)
    page_headers: list[str] = Field(default_factory=list)
    notes: Notes = Notes()
    join_page_breaks: bool = False
    no_join_after_lines: list[int] = Field(default_factory=list)
    keep_hyphens: list[str] = Field(default_factory=list)
    headings: Headings = Headings()
    epigraphs: list[Epigraph] = Field(default_factory=list)
    blockquotes: list[LineRange] = Field(default_factory=list)
    quoted_paragraph_blockquotes: bool = False
    quote_after_colon: bool = False
    poems: list[LineRange] = Field(default_factory=list)
    lists: bool = True
    table_caption: Pattern | None = None
    endmatter: Endmatter | None = None
    lost_dash: Pattern | None = None
    slash_insertions: bool = False
    slash_insertions_except: list[str] = Field(default_factory=list)
    emendations: list[Emendation] = Field(default_factory=list)
    insertions: list[Insertion] = Field(default_factory=list)
    citations: Citations | None = None


def _known_encoding(value: str) -> str:
    """The raw bytes are decoded by the recipe's `encoding`: a name Python does not know is the recipe's error."""
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, latin-1, cp1252)") from None
    return value


class Recipe(BaseModel):
    """A whole recipe file: provenance, metadata (copied to the text's front matter) and rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    received_as: str
    sha256: str
    encoding: Annotated[str, AfterValidator(_known_encoding)] = "utf-8"
    meta: dict[str, Any]
    rules: Rules = Rules()


def _location(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a dotted recipe key, e.g. `rules.remove[2].reason`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def outside_the_book(path: Path, recipe: Recipe | None, document: YamlDocument | None) -> list[Diagnostic]:
    """The recipe, its source and the files it names must be files of the book folder (recipes live in
    <book>/sources/), symbolic links followed: ingest copies what it reads into the book."""
    book, folder = path.parent.parent, path.parent
    named: list[tuple[KeyPath, Path]] = [((), path), ((), path.with_suffix(".txt"))]
    if recipe is not None:
        named.append((("source",), folder / recipe.source))
        if recipe.rules.citations is not None:
            for key in ("works", "bibliography"):
                named.append((("rules", "citations", key), folder / getattr(recipe.rules.citations, key)))
    return [
        Diagnostic(
            "E203",
            f"{_location(key) + ': ' if key else ''}{where_it_leads(file)} is outside the book folder",
            file=path,
            line=document.line_of(key) if document is not None and key else None,
            hint="keep the sources, recipes and alias tables inside the book folder: copy a file in, never link it",
        )
        for key, file in named
        if (file.exists() or file.is_symlink()) and not inside(file, book)
    ]


def load_recipe(path: Path) -> tuple[Recipe, YamlDocument]:
    """Read and validate one recipe, with its YAML document (the line of every key, for later diagnostics);
    every problem is a diagnostic at the line of its key, all reported together."""
    if outside := outside_the_book(path, None, None):
        raise BuildError(outside)
    document = load_yaml(path)  # malformed YAML or another encoding: a diagnostic with the line
    if not isinstance(document.data, dict):
        raise BuildError([Diagnostic("E203", "a recipe must be a mapping of keys", file=path, line=1)])
    try:
        recipe = Recipe.model_validate(document.data)
    except ValidationError as exc:
        raise BuildError(
            [
                Diagnostic(
                    "E203",
                    f"{_location(err['loc'])}: {err['msg']}",
                    file=path,
                    line=document.line_of(tuple(err["loc"])),
                )
                for err in exc.errors()
            ]
        ) from None
    problems = outside_the_book(path, recipe, document) + unknown_meta_keys(recipe, document)
    if problems:
        raise BuildError(problems)
    return recipe, document


def unknown_meta_keys(recipe: Recipe, document: YamlDocument) -> list[Diagnostic]:
    """`meta:` becomes the text's front matter: a key its schema does not know would stop the book's load later,
    so it is named here, at the recipe's line, with the known key it most resembles."""
    known = list(ChapterMeta.model_fields)
    problems = []
    for key in recipe.meta:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            message = f"meta.{key}: unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
            hint = f"the keys of a chapter's front matter: {', '.join(known)}"
            problems.append(
                Diagnostic("E203", message, file=document.path, line=document.line_of(("meta", key)), hint=hint)
            )
    return problems
