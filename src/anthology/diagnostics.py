"""Diagnostics: every problem names its file, line and a hint, and all problems of a run are reported together.

Every code the pipeline emits is in `CATALOGUE` with its one meaning (a short title) and, where one hint fits
every use, a default hint. A code's number says which stage finds the problem:

    E001-E009   input       files every stage reads: YAML, UTF-8, a missing file
    E010-E019   config      book.yaml
    E020-E039   load        the texts: front matter, body, pandoc's reading of them
    E040-E049   render      the print edition and its cover (WeasyPrint)
    E050-E059   load        what a text may contain: images, raw HTML, notes
    E060-E069   build       the output folder and its caches (W06x: warnings)
    E070-E089   resolve     citations, bibliography, cross-references (W07x: warnings), the index
    E090-E099   render      the HTML site
    W100-W149   check       what the editors must still supply
    E150-E199   render      the EPUB and its page list
    E200-E299   ingest      sources, recipes and the cleaned texts

A `Diagnostic` with a code not in the catalogue, or a warning code (W) given as an error, is a programming error
and raises at once: a code means one thing, so a new problem gets a new code, entered here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# (first, last, stage, what): the number ranges of the module docstring.
RANGES: tuple[tuple[int, int, str, str], ...] = (
    (1, 9, "input", "files every stage reads"),
    (10, 19, "config", "book.yaml"),
    (20, 39, "load", "the texts"),
    (40, 49, "render", "the print edition and its cover"),
    (50, 59, "load", "what a text may contain"),
    (60, 69, "build", "the output folder and its caches"),
    (70, 89, "resolve", "citations, cross-references, the index"),
    (90, 99, "render", "the HTML site"),
    (100, 149, "check", "what the editors must still supply"),
    (150, 199, "render", "the EPUB and its page list"),
    (200, 299, "ingest", "sources, recipes and the cleaned texts"),
)


@dataclass(frozen=True)
class Code:
    """One diagnostic code and its one meaning; its stage follows from its number."""

    code: str
    title: str
    hint: str | None = None

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    @property
    def stage(self) -> str:
        number = int(self.code[1:])
        return next(stage for first, last, stage, _ in RANGES if first <= number <= last)


def catalogue(*codes: Code) -> dict[str, Code]:
    """The codes by name; a code entered twice or outside every range stops the import, not a build."""
    table: dict[str, Code] = {}
    for code in codes:
        if code.code in table:
            raise ValueError(f"diagnostic code {code.code} is catalogued twice")
        if not (len(code.code) == 4 and code.code[0] in "EW" and code.code[1:].isdigit()):
            raise ValueError(f"diagnostic code {code.code!r} is not a letter E or W and three digits")
        if not any(first <= int(code.code[1:]) <= last for first, last, _, _ in RANGES):
            raise ValueError(f"diagnostic code {code.code} is in no stage's range")
        table[code.code] = code
    return table


INGEST_RECIPE_HINT = "README's 'How to add an essay' and src/anthology/ingest/recipe.py describe a recipe's keys"

CATALOGUE: dict[str, Code] = catalogue(
    # input
    Code("E001", "malformed YAML"),
    Code("E002", "file not found", "check the file's name and folder"),
    Code("E003", "not valid UTF-8", "save the file as UTF-8 (e.g. iconv -f cp1252 -t utf-8)"),
    Code("E004", "a YAML key is given twice in one mapping"),
    Code("E005", "a YAML document too large once its aliases are expanded, or nested too deep"),
    # config
    Code("E010", "book.yaml does not match its schema", "see README, section 'book.yaml', for the expected form"),
    Code("E011", "a chapter is listed twice in book.yaml", "list each chapter once"),
    Code("E012", "the trim is not a page size a printer takes"),
    Code("E013", "book.yaml's date is not a day of the calendar"),
    Code("E014", "an ISBN's check digit is wrong"),
    Code("E015", "book.yaml gives both or neither of 'parts' and 'chapters'", "list the chapters in one of them"),
    Code("E016", "`invoke new` was given a folder that is not empty", "name a new or empty folder"),
    Code("E017", "a file of the book's styles/ leads outside the book folder", "copy the file into the book's styles/"),
    # load: texts
    Code("E020", "a text has no front matter"),
    Code("E021", "a text's front matter is not closed"),
    Code("E022", "a text's front matter does not match its schema", "every text's front matter needs 'title:'"),
    Code("E023", "a text has no body"),
    Code("E024", "book.yaml names a text file that does not exist"),
    Code("E025", "a file of the book leads outside the book folder"),
    Code("E026", "a text is larger than one text may be"),
    Code("E027", "a paragraph is longer than one paragraph may be"),
    Code("E028", "a control character in a text"),
    Code("E030", "pandoc rejected a text"),
    Code("E031", "raw content in a format no edition shows"),
    Code("E032", "raw HTML tags that do not open and close in order"),
    Code("E033", "a raw HTML block element inside a paragraph"),
    Code("E034", "a style that loads or runs something"),
    # render: print
    Code("E040", "WeasyPrint reported a problem"),
    Code("E041", "the cover has no print PDF to size its spine from", "run `invoke pdf` (or `invoke build`) first"),
    Code("E042", "the gutter does not reach the printer's minimum"),
    Code("E043", "a text's layout went past the layout's memory budget"),
    Code("E044", "a text's layout went past the layout's time budget"),
    Code("E045", "a layout worker process ended abruptly"),
    # load: what a text may contain
    Code("E050", "a remote resource: the build never downloads"),
    Code("E051", "a local image is not found"),
    Code("E052", "a footnote is called but has no text"),
    Code("E053", "raw HTML that is not allowed in a text"),
    Code("E054", "too many notes in one text"),
    Code("E055", "a footnote is opened but never closed"),
    Code("E056", "an image outside the book folder", "keep images inside book/"),
    Code("E057", "a link or image URL whose scheme is not allowed in a text"),
    Code("E058", "raw HTML that embeds or plays another document"),
    Code("E059", "a pandoc attribute that is an event handler or loads something"),
    # build
    Code("E060", "another build is writing to the output folder"),
    Code("W061", "a damaged pandoc cache entry was discarded and pandoc run again"),
    Code("E062", "ANTHOLOGY_DISABLE names no speed mechanism of the build"),
    Code("E063", "the disk holding the output folder is full"),
    Code("W064", "a damaged cache entry was discarded and made again"),
    Code("E065", "the output folder cannot be written"),
    Code("E066", "a layout budget's setting is not a whole number above 0"),
    # resolve: citations and cross-references
    Code("E070", "unknown citation key"),
    Code("E071", "unknown citation style"),
    Code("E072", "a work is cited but the book has no bibliography"),
    Code("W073", "a bibliography entry is cited nowhere"),
    Code("W074", "two bibliography entries look like the same work"),
    Code("W075", "a citation prints a locator with no work (invoke check --citations)"),
    Code("W076", "a citation's work rests on an assumption not recorded as x-assumed (invoke check --citations)"),
    Code("W077", "a date, volume or number of a citation's source words is lost in print (invoke check --citations)"),
    Code("W078", "an Ibid., op. cit. or 'as above' resolved by a guess (invoke check --citations)"),
    Code("W079", "a cited bibliography entry has no title"),
    Code("E075", "a cross-reference to no chapter, text or id"),
    Code("E076", "a citation mixed with cross-references in one bracket"),
    # resolve: the index
    Code("E080", "index.yaml does not match its form", "README, section 'Index', describes book/index.yaml"),
    Code("E081", "an index mark names no entry of index.yaml"),
    Code("E082", "an index mark inside a heading"),
    Code("E083", "the book has an index but no index.yaml"),
    # render: site
    Code("E090", "two pages of the site would have one name"),
    # check
    Code("W101", "the editor credit is a placeholder"),
    Code("W102", "a text's rights are not recorded as cleared"),
    Code("W103", "raw HTML left in a cleaned text (an element marking a language aside)"),
    Code("W104", "an HTML entity left in a cleaned text"),
    Code("W105", "a note call left in a cleaned text, not converted to a note"),
    Code("W106", "a short paragraph repeated through a text: a page header or footer"),
    # check: preflight of the printer's PDF (check/preflight/)
    Code("E120", "a page's TrimBox is missing or outside its BleedBox or MediaBox"),
    Code("E121", "a page's trimmed size is not the book's trim", "rebuild with `invoke pdf`"),
    Code("E122", "a font is not embedded", "embed every font"),
    Code("E123", "RGB colour in the printer's PDF", "use CMYK or grey: device-cmyk() in CSS, CMYK images"),
    Code("E124", "device-independent colour where PDF/X-1a allows only device colour"),
    Code("E125", "transparency where the PDF/X variant forbids it"),
    Code("E126", "a PDF version newer than the PDF/X variant allows"),
    Code("E127", "no PDF/X output intent with a CMYK or grey ICC profile"),
    Code("E128", "no PDF/X version, or one that does not exist", "rebuild with `invoke pdf`"),
    Code("E129", "the PDF/X version is not book.yaml's pdf_variant"),
    Code("E130", "JavaScript, actions or embedded files in the printer's PDF"),
    Code("E131", "annotations or bookmarks in the printer's PDF"),
    Code("E132", "a spot colour in a black-and-white interior", "use black or grey instead of the named ink"),
    Code("E133", "text that is not black only (K)", "set text in device-cmyk(0 0 0 1), not a rich black"),
    Code("E134", "total ink coverage above the limit"),
    Code("E135", "text inside the printer's minimum margins", "widen the margins in styles/print.css"),
    Code("E136", "text below the smallest size a printer prints", "set no text below 7 pt"),
    Code("E137", "an image below 300 ppi at its printed size", "use a larger image, or print it smaller"),
    Code("E138", "an odd page count", "a bound book has an even number of pages"),
    Code("E139", "more than two blank pages in a row", "printers query a longer run as a mistake"),
    Code("E140", "a typesetting figure measured in the PDF is over its target"),
    Code("E141", "pdftotext could not read the PDF for the typesetting report", "install poppler-utils (pdftotext)"),
    Code("E142", "book.yaml's typesetting_limits names no typesetting figure"),
    # render: EPUB and its page list
    Code("E150", "a print page's text is not in the e-book"),
    Code("E151", "no print PDF for the EPUB's page numbers"),
    Code("E152", "no page of the print PDF begins with the book's first text"),
    Code("E153", "the EPUB fails an accessibility check"),
    Code("E154", "pdftotext is not installed"),
    Code("E155", "pdftotext could not read the PDF", "rebuild the print PDF (`invoke pdf`)"),
    Code("E156", "an EPUB font has no licence file beside it", "put the font's licence (OFL-<family>.txt) beside it"),
    Code("E157", "the print PDF's pages are not of the e-book's texts", "build the PDF and the EPUB together"),
    # ingest
    Code("E200", "the book has no source texts", "put each raw source in book/sources/<slug>.txt"),
    Code("E201", "a source has no recipe", "write book/sources/<slug>.yaml beside it; " + INGEST_RECIPE_HINT),
    Code("E202", "a recipe's source text does not exist", "add the raw source, or remove the recipe"),
    Code("E203", "a recipe does not match its schema", INGEST_RECIPE_HINT),
    Code("E204", "rules.citations names a file that does not exist", "the paths are relative to the recipe's folder"),
    Code("E205", "an alias table cannot be used", "every key of an alias table must be an id of the bibliography"),
    Code("E206", "the bibliography cannot be read for ingest", "a CSL-YAML file: a 'references:' list of entries"),
    Code("E207", "an emendation's original is not once at its line", "correct the entry's line or original"),
    Code("E208", "an insertion's anchor is not once in the cleaned text", "make 'after' a longer, unique phrase"),
    Code("E209", "a recipe rule does not fit the source", "correct the rule's lines or pattern"),
    Code("E210", "note text before the first numbered note", "correct rules.notes.start_line"),
    Code("E211", "a note is called but its text is missing", "list it in rules.notes.expect_missing if so"),
    Code("E212", "a note has a text but no call", "check the note's number and its call in the source"),
    Code("E213", "a note number is called more than once", "check the calls' numbers in the source"),
    Code(
        "E214",
        "a citation-like span is neither converted nor explained",
        "add it to the alias table's aliases, or to left_as_text with the reason",
    ),
    Code(
        "E215",
        "the cleaned text's words differ from the source's",
        "record the change (an emendation, a removal) in the recipe, or fix the rule that made it",
    ),
    Code("E216", "a converted citation does not match its record", "fix the alias table entry that converted it"),
    Code("E217", "a committed text is not what ingest makes", "run `invoke ingest` and commit the texts"),
    Code("E218", "a source's bytes are not those its recipe recorded", "if intended, record `sha256sum <file>`"),
    Code("E219", "a source is not valid in its recipe's encoding", "declare the file's encoding: in its recipe"),
    Code("E220", "two sources share a name", "keep one source per name: each becomes texts/<name>.md"),
    Code("E221", "`invoke ingest --explain` names no source of the book", "name a source by its file name or slug"),
    Code("E222", "a recipe's source: is not the file beside it", "name the source file as it is, suffix included"),
)


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the book's input, located precisely enough for an editor to fix it."""

    code: str
    message: str
    file: Path | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        entry = CATALOGUE.get(self.code)
        if entry is None:
            raise ValueError(f"diagnostic code {self.code} is not in the catalogue (anthology.diagnostics)")
        if entry.severity is not self.severity:
            raise ValueError(f"diagnostic code {self.code} is a {entry.severity.value} code, given as {self.severity}")
        if self.hint is None and entry.hint is not None:
            object.__setattr__(self, "hint", entry.hint)

    @property
    def title(self) -> str:
        """The code's meaning, from the catalogue."""
        return CATALOGUE[self.code].title

    def location(self) -> str:
        if self.file is None:
            return "<book>"
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def format(self) -> str:
        text = f"{self.location()}: {self.severity.value} {self.code}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class BuildError(Exception):
    """Raised when input problems stop the build; carries every diagnostic found, not just the first."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


@dataclass
class Collector:
    """Gathers diagnostics across a stage so that one run reports all of them."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def error(self, code: str, message: str, **where: object) -> None:
        self.items.append(Diagnostic(code, message, severity=Severity.ERROR, **where))  # type: ignore[arg-type]

    def warning(self, code: str, message: str, **where: object) -> None:
        self.items.append(Diagnostic(code, message, severity=Severity.WARNING, **where))  # type: ignore[arg-type]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def raise_if_errors(self, strict: bool = False) -> None:
        """Stop the build when there are errors (or, in strict mode, warnings)."""
        if self.errors or (strict and self.warnings):
            raise BuildError(self.items)
