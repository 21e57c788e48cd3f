"""Ingest: regenerate `book/texts/<slug>.md` from `book/sources/<slug>.txt` and its recipe.

`run_ingest(book_dir, check)` does the work and returns a report; `main(book_dir, check)` prints the
report and returns an exit status (non-zero when `check` finds a text that differs, or on errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from anthology.atomic import atomic_file
from anthology.ingest.emend import EmendationError
from anthology.ingest.fidelity import split_markdown, words
from anthology.ingest.notes import NoteError
from anthology.ingest.pipeline import clean, fidelity
from anthology.ingest.recipe import Recipe, RecipeError, load_recipe
from anthology.ingest.typography import CITATION_KEY
from anthology.ingest.works import WorksTable, load_references, load_works
from anthology.yamlfile import read_text

__all__ = ["EssayReport", "IngestError", "IngestReport", "main", "run_ingest"]


class IngestError(Exception):
    """A source or recipe that cannot be ingested; the message names the file."""


@dataclass
class EssayReport:
    """The per-essay figures `invoke ingest` prints."""

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
    problems: list[str]
    status: str


@dataclass
class IngestReport:
    """All essays; `differs` lists texts that `--check` found out of date."""

    essays: list[EssayReport] = field(default_factory=list)
    differs: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differs and not any(e.problems for e in self.essays)


def load_citation_table(recipe: Recipe, recipe_path: Path) -> WorksTable | None:
    """The essay's alias table joined with the bibliography, when the recipe converts citations."""
    if recipe.rules.citations is None:
        return None
    folder = recipe_path.parent
    works = folder / recipe.rules.citations.works
    bibliography = folder / recipe.rules.citations.bibliography
    for path in (works, bibliography):
        if not path.is_file():
            raise IngestError(f"{recipe_path}: rules.citations: {path} does not exist")
    try:
        return load_works(works, load_references(bibliography))
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise IngestError(f"{works}: {exc}") from exc


def ingest_one(source: Path, texts_dir: Path, check: bool) -> tuple[EssayReport, str]:
    """Clean one source; its report and text (with `check`, the report compares it with the committed one)."""
    slug = source.stem
    recipe_path = source.with_suffix(".yaml")
    if not recipe_path.exists():
        raise IngestError(f"{recipe_path}: missing recipe for {source.name}")
    recipe = load_recipe(recipe_path)
    raw = read_text(source)  # a source in another encoding: a diagnostic with the file and line, not a crash
    try:
        result = clean(slug, raw, recipe, load_citation_table(recipe, recipe_path))
    except (EmendationError, NoteError, ValueError) as exc:
        raise IngestError(f"{recipe_path}: {exc}") from exc
    target = texts_dir / f"{slug}.md"
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else None
        status = "ok" if current == result.markdown else "differs"
    else:
        status = "written"
    doc = result.doc
    fid = fidelity(raw, result, recipe)
    unemended = fidelity(raw, result, recipe, emended=False)
    essay = EssayReport(
        slug=slug,
        words_in=len(words(raw)),
        words_out=sum(len(words(CITATION_KEY.sub(" ", part))) for part in split_markdown(result.markdown)),
        words_removed=sum(len(words(r.text)) for r in doc.removals if r.boilerplate),
        notes_called=len(doc.calls),
        notes_defined=sum(1 for n in doc.notes.values() if n.text is not None),
        notes_missing=sorted(n for n, note in doc.notes.items() if note.text is None),
        emendations=doc.applied_emendations,
        rejoined_words=sum(1 for c in doc.changes if c.rule == "rejoin-hyphenated-word"),
        fidelity_compared=fid.compared,
        fidelity_differing=fid.differing,
        fidelity_differing_unemended=unemended.differing,
        citations_converted=len(doc.citations),
        citation_keys=[k for r in doc.citations for k in r.conversion.keys],
        citations_left=[f"line {line}: {span}" for line, span in doc.unresolved],
        problems=result.problems + [f"fidelity: {d}" for d in fid.differences],
        status=status,
    )
    return essay, result.markdown


def write_texts(texts: dict[Path, str]) -> None:
    """Each text replaces its file only when complete (a temporary file moved into place)."""
    for target, markdown in texts.items():
        with atomic_file(target) as temporary:
            temporary.write_text(markdown, encoding="utf-8")


def run_ingest(book_dir: Path, check: bool = False) -> IngestReport:
    """Ingest every `sources/*.txt` of the book (sorted, so output and report are deterministic). Texts are
    written only once every source is cleaned: a source that fails leaves all the texts as they were."""
    sources_dir = Path(book_dir) / "sources"
    texts_dir = Path(book_dir) / "texts"
    sources = sorted(sources_dir.glob("*.txt"))
    if not sources:
        raise IngestError(f"{sources_dir}: no source texts (*.txt) found")
    report = IngestReport()
    texts: dict[Path, str] = {}
    for source in sources:
        essay, markdown = ingest_one(source, texts_dir, check)
        texts[texts_dir / f"{source.stem}.md"] = markdown
        report.essays.append(essay)
        if essay.status == "differs":
            report.differs.append(texts_dir / f"{source.stem}.md")
    if not check:
        write_texts(texts)
    return report


def print_report(report: IngestReport, console: Console) -> None:
    """The per-essay table, then every problem and every out-of-date file."""
    table = Table(title="ingest")
    for column in (
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
    ):
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
        for emendation in e.emendations:
            console.print(f"{e.slug}: emendation {emendation}", highlight=False, markup=False)
    for e in report.essays:
        for problem in e.problems:
            console.print(f"[yellow]{e.slug}[/]: {problem}", markup=True, highlight=False)
    for path in report.differs:
        console.print(
            f"[red]differs[/]: {path} is not what the sources and recipes produce (run `invoke ingest` and commit)",
            highlight=False,
        )


def main(book_dir: Path, check: bool = False) -> int:
    """Entry point for `invoke ingest [--check]`: print the report, return the exit status."""
    console = Console(width=160)
    try:
        report = run_ingest(Path(book_dir), check)
    except (IngestError, RecipeError) as exc:
        console.print(f"[red]error[/]: {exc}", highlight=False)
        return 2
    print_report(report, console)
    return 0 if report.ok else 1
