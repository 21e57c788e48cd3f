"""What `invoke ingest` reports: a table of figures per essay, its emendations, and every problem found; and the
editor's report (`ingest-report.md` in the book's build folder): per source, the file received, its digest and
where each removal, emendation and insertion stands in it, which the book itself never prints (issue 27)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from anthology.diagnostics import Diagnostic

if TYPE_CHECKING:
    from anthology.ingest.model import Document
    from anthology.ingest.recipe import Recipe

REPORT_NAME = "ingest-report.md"


@dataclass
class SourceRecord:
    """What traces a text to the file received, for its editors: raw-file line numbers (for a Word or web source,
    lines of pandoc's Markdown of it, as its recipe counts them)."""

    file: Path
    sha256: str
    removals: list[tuple[int, int, str]]  # first line, last line, the recipe's reason
    emendations: list[tuple[int, str, str, str]]  # line, original, corrected, reason
    insertions: list[tuple[int, str, str, str]]  # line, after, the inserted text, reason


def source_record(source: Path, doc: Document, recipe: Recipe) -> SourceRecord:
    return SourceRecord(
        file=source,
        sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        removals=sorted((r.first, r.last, r.reason) for r in doc.removals),
        emendations=sorted((e.line, e.original, e.corrected, e.reason) for e in recipe.rules.emendations),
        insertions=sorted((i.line, i.after, i.text, i.reason) for i in recipe.rules.insertions),
    )


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
    record: SourceRecord | None = None  # for the editor's report


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


def editor_report(report: IngestReport, book_dir: Path) -> str:
    """The editor's report as Markdown: one section per source, in the order ingested."""
    out = [
        "# Ingest report",
        "",
        "For the editors, not the book: each source as received, its SHA-256, and the lines of it (as its recipe",
        "counts them) that were removed, emended or followed by an insertion.",
    ]
    for essay in report.essays:
        record = essay.record
        if record is None:
            continue
        shown = record.file.relative_to(book_dir) if record.file.is_relative_to(book_dir) else record.file
        out += ["", f"## {essay.slug}", "", f"- file: `{shown}`" + (f" ({essay.read_as})" if essay.read_as else "")]
        out.append(f"- sha256: `{record.sha256}`")
        out.append(f"- removed: {len(record.removals)}")
        out += [f"  - {lines(first, last)}: {reason}" for first, last, reason in record.removals]
        out.append(f"- emendations: {len(record.emendations)}")
        out += [
            f"  - line {n}: {shown_text(old)} → {shown_text(new)} ({why})" for n, old, new, why in record.emendations
        ]
        out.append(f"- insertions: {len(record.insertions)}")
        out += [
            f"  - line {n}: after {shown_text(after)}, {shown_text(text)} ({why})"
            for n, after, text, why in record.insertions
        ]
    return "\n".join(out) + "\n"


def lines(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def shown_text(text: str) -> str:
    """Quoted, with its no-break spaces visible (several emendations restore lost dashes)."""
    return "“" + text.replace("\u00a0", "⍽") + "”"
