"""What `invoke ingest` reports: a table of figures per essay, its emendations, and every problem found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from anthology.diagnostics import Diagnostic


@dataclass
class EssayReport:
    """The per-essay figures `invoke ingest` prints, and the problems found in the essay."""

    slug: str
    words_in: int
    words_out: int  # citation keys not counted (their locators and prefix words are)
    words_removed: int
    notes_called: int
    notes_defined: int
    notes_missing: list[int]
    emendations: list[str]
    rejoined_words: int
    fidelity_compared: int
    fidelity_differing: int
    fidelity_differing_unemended: int
    citations_converted: int
    citation_keys: list[str]
    citations_left: list[str]
    problems: list[Diagnostic]
    status: str
    read_as: str = ""  # how a converted source was read ("docx, read by pandoc"): its recipe's lines are pandoc's


@dataclass
class IngestReport:
    """All essays; `differs` lists texts that `--check` found out of date; `diagnostics` every problem of every
    source (a source that could not be ingested has no essay, only its diagnostics)."""

    essays: list[EssayReport] = field(default_factory=list)
    differs: list[Path] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diagnostics


COLUMNS = (
    "essay",
    "words in",
    "out",
    "boilerplate",
    "notes called",
    "defined",
    "missing",
    "emend.",
    "rejoined",
    "citations",
    "left",
    "fidelity compared",
    "differing",
    "status",
)


def print_report(report: IngestReport, console: Console) -> None:
    """The per-essay table, then every emendation applied (the problems are printed as diagnostics)."""
    table = Table(title="ingest")
    for column in COLUMNS:
        table.add_column(column)
    for e in report.essays:
        table.add_row(
            e.slug,
            str(e.words_in),
            str(e.words_out),
            str(e.words_removed),
            str(e.notes_called),
            str(e.notes_defined),
            ",".join(map(str, e.notes_missing)) or "-",
            str(len(e.emendations)),
            str(e.rejoined_words),
            str(e.citations_converted),
            str(len(e.citations_left)),
            str(e.fidelity_compared),
            str(e.fidelity_differing),
            e.status,
        )
    console.print(table)
    for e in report.essays:
        if e.read_as:
            line = f"{e.slug}: {e.read_as}; the recipe's line numbers are lines of pandoc's Markdown of it"
            console.print(f"{line} (`invoke ingest --explain {e.slug}` prints it numbered)", highlight=False)
        for emendation in e.emendations:
            console.print(f"{e.slug}: emendation {emendation}", highlight=False, markup=False)
