"""Data passed between the ingest rules: source blocks, notes and the record of every change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anthology.ingest.citations import Conversion
    from anthology.ingest.works import WorksTable

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """An ingest problem with its diagnostic code, located where an editor fixes it: at a recipe key (`key`,
    the rule to correct) or else at a line of the raw source (`line`)."""

    code: str
    message: str
    line: int | None = None
    key: KeyPath | None = None


class IngestProblem(Exception):
    """A problem that stops one source's ingest; the other sources are still ingested and reported."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class Block:
    """A run of source lines treated as one unit (paragraph, heading, list, poem, table...).

    `lines` keeps the raw lines (without line breaks) so that multi-line structures (lists, poems,
    tables) survive until rendering; `first`/`last` are 1-based source line numbers for diagnostics.
    """

    lines: list[str]
    first: int
    last: int
    kind: str = "para"
    level: int = 0
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The block as one line of prose (lines joined by spaces)."""
        return " ".join(line.strip() for line in self.lines)

    def covers(self, line: int) -> bool:
        """True when the 1-based source line belongs to this block."""
        return self.first <= line <= self.last


@dataclass
class Removal:
    """Raw text left out of the cleaned text, with the recipe's reason (the book can print the list)."""

    first: int
    last: int
    text: str
    reason: str
    boilerplate: bool = True  # False for a title or byline, whose words live on in the front matter


@dataclass
class Note:
    """A footnote: its number, its text (None when the source lacks it) and where it was defined."""

    number: int
    text: str | None
    first: int = 0
    last: int = 0


@dataclass
class Change:
    """A recorded, rule-made change whose words differ from the raw text (e.g. a rejoined word)."""

    rule: str
    line: int
    before: str
    after: str


@dataclass
class CitationRecord:
    """A converted citation and where it stands: the body (`note` None) or the text of note `note`.

    Why: the fidelity check finds each citation of the cleaned text by its place and order, and counts
    the record's original words in place of the key and locator.
    """

    line: int
    note: int | None
    conversion: Conversion


@dataclass
class Document:
    """The state of one essay as it passes through the rules."""

    slug: str
    blocks: list[Block]
    notes: dict[int, Note] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    standfirst: str | None = None
    applied_emendations: list[str] = field(default_factory=list)
    works: WorksTable | None = None  # the essay's alias table, when its recipe converts citations
    citations: list[CitationRecord] = field(default_factory=list)
    unresolved: list[tuple[int, str]] = field(default_factory=list)  # (line, span) left as the author wrote it
    markdown: bool = False  # the source is Markdown (a `.md`, or pandoc's reading of a Word or web file)
