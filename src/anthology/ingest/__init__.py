"""Ingest: regenerate `book/texts/<slug>.md` from `book/sources/<slug>.<format>` and its recipe `<slug>.yaml`.

`run_ingest(book_dir, check)` does the work and returns a report holding every problem of every source as a
diagnostic (file, line, hint); `main(book_dir, check)` prints the report and raises `BuildError` with those
diagnostics, which the CLI prints as it prints the build's.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from rich.console import Console

from anthology.atomic import atomic_file
from anthology.diagnostics import BuildError, Diagnostic
from anthology.ingest.fidelity import Fidelity, split_markdown, words
from anthology.ingest.model import IngestProblem, Problem
from anthology.ingest.pipeline import Result, clean, fidelity
from anthology.ingest.recipe import Recipe, load_recipe
from anthology.ingest.report import EssayReport, IngestReport, editor_report, print_report, source_record
from anthology.ingest.sources import MARKDOWN_SOURCES, find_one, find_sources, has_source, read_as, read_source
from anthology.ingest.typography import CITATION_KEY
from anthology.ingest.works import WorksTable, load_references, load_works
from anthology.yamlfile import YamlDocument, load_yaml

__all__ = ["EssayReport", "IngestReport", "explain", "main", "run_ingest"]

# What a broken alias table or bibliography raises when read (a missing key, a wrong type, bad YAML or bytes).
TABLE_ERRORS = (ValueError, KeyError, TypeError, yaml.YAMLError)


def citation_table(recipe: Recipe, document: YamlDocument) -> WorksTable | None:
    """The essay's alias table joined with the bibliography, when the recipe converts citations."""
    if recipe.rules.citations is None:
        return None
    folder = document.path.parent
    works = folder / recipe.rules.citations.works
    bibliography = folder / recipe.rules.citations.bibliography
    missing = [
        Diagnostic(
            "E204",
            f"rules.citations.{key}: {path} does not exist",
            file=document.path,
            line=document.line_of(("rules", "citations", key)),
        )
        for key, path in (("works", works), ("bibliography", bibliography))
        if not path.is_file()
    ]
    if missing:
        raise BuildError(missing)
    try:
        references = load_references(bibliography)
    except TABLE_ERRORS as exc:
        message = f"cannot be read: {type(exc).__name__}: {exc}"
        raise BuildError([Diagnostic("E206", message, file=bibliography)]) from None
    try:
        return load_works(works, references)
    except TABLE_ERRORS as exc:
        message = str(exc).removeprefix(f"{works}: ")
        unknown = re.search(r"key '([^']+)' is not in the bibliography", message)
        line = first_line_with(works, unknown[1]) if unknown else None
        raise BuildError([Diagnostic("E205", message, file=works, line=line)]) from None


def first_line_with(path: Path, text: str) -> int | None:
    """The 1-based number of the first line of `path` holding `text`, outside comments."""
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    return next((number for number, line in enumerate(lines, 1) if text in line.split("#")[0]), None)


def located(problem: Problem, source: Path, recipe: YamlDocument) -> Diagnostic:
    """A problem as a diagnostic: at its recipe key's line when it has one, else at its line of the source."""
    if problem.key is not None:
        return Diagnostic(problem.code, problem.message, file=recipe.path, line=recipe.line_of(problem.key))
    return Diagnostic(problem.code, problem.message, file=source, line=problem.line)


def load_inputs(source: Path) -> tuple[Recipe, YamlDocument, str]:
    """The source's recipe (with its document) and the text the rules read (see sources.read_source)."""
    recipe_path = source.with_suffix(".yaml")
    if not recipe_path.exists():
        message = f"no recipe for {source.name}: {recipe_path.name} is missing"
        raise BuildError([Diagnostic("E201", message, file=source)])
    recipe, document = load_recipe(recipe_path)  # the source is read by the recipe's encoding and digest
    return recipe, document, read_source(source, recipe, document)


def essay_report(source: Path, raw: str, result: Result, recipe: Recipe, status: str) -> EssayReport:
    """The essay's figures for the table, and its problems: the cleaning's and the fidelity check's."""
    doc = result.doc
    fid: Fidelity = fidelity(raw, result, recipe)
    return EssayReport(
        slug=source.stem,
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
        fidelity_differing_unemended=fidelity(raw, result, recipe, emended=False).differing,
        citations_converted=len(doc.citations),
        citation_keys=[k for r in doc.citations for k in r.conversion.keys],
        citations_left=[f"line {line}: {span}" for line, span in doc.unresolved],
        problems=[
            Diagnostic("E215" if d.word is not None else "E216", d.text, file=source, line=d.line)
            for d in fid.differences
        ],
        status=status,
    )


def ingest_one(source: Path, texts_dir: Path, check: bool) -> tuple[EssayReport, str]:
    """Clean one source; its report (with every problem found in it) and text. With `check`, the report compares
    the text with the committed one. A problem that stops the source's cleaning raises `BuildError`."""
    recipe, document, raw = load_inputs(source)
    table = citation_table(recipe, document)
    try:
        result = clean(source.stem, raw, recipe, table, markdown=source.suffix.lower() in MARKDOWN_SOURCES)
    except IngestProblem as exc:
        raise BuildError([located(exc.problem, source, document)]) from None
    target = texts_dir / f"{source.stem}.md"
    status = "written"
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else None
        status = "ok" if current == result.markdown else "differs"
    essay = essay_report(source, raw, result, recipe, status)
    essay.read_as, essay.record = read_as(source), source_record(source, result.doc, recipe)
    essay.problems[:0] = [located(problem, source, document) for problem in result.problems]
    if status == "differs":
        message = f"{target.name} is not what {source.name} and its recipe produce"
        essay.problems.append(Diagnostic("E217", message, file=target))
    return essay, result.markdown


def orphan_recipes(sources_dir: Path) -> list[Diagnostic]:
    """Recipes whose raw source is missing, each at its `source:` line. A recipe is a YAML file with a `source:`
    key: alias tables and a bibliography may stand beside the recipes."""
    problems = []
    for path in sorted(sources_dir.glob("*.yaml")):
        if has_source(path):
            continue
        try:
            document = load_yaml(path)
        except BuildError:  # not readable as YAML: not known to be a recipe
            continue
        if isinstance(document.data, dict) and "source" in document.data:
            message = f"the recipe's source {document.data['source']} does not exist (nor any {path.stem}.<format>)"
            problems.append(Diagnostic("E202", message, file=path, line=document.line_of(("source",))))
    return problems


def write_texts(texts: dict[Path, str]) -> None:
    """Each text replaces its file only when complete (a temporary file moved into place)."""
    for target, markdown in texts.items():
        with atomic_file(target) as temporary:
            temporary.write_text(markdown, encoding="utf-8")


def run_ingest(book_dir: Path, check: bool = False) -> IngestReport:
    """Ingest every source of the book (`sources/*.txt`, `.md`, `.html`, `.docx`, `.odt`; sorted, so output and
    report are deterministic), reporting the problems of every source. Texts are written only when no source has
    a problem: otherwise all the texts are left as they were."""
    sources_dir = Path(book_dir) / "sources"
    texts_dir = Path(book_dir) / "texts"
    sources, clashes = find_sources(sources_dir)
    report = IngestReport(diagnostics=orphan_recipes(sources_dir) + clashes)
    if not sources and not clashes:
        message = "no source texts (*.txt, *.md, *.html, *.docx, *.odt) found"
        report.diagnostics.append(Diagnostic("E200", message, file=sources_dir))
    texts: dict[Path, str] = {}
    for source in sources:
        try:
            essay, markdown = ingest_one(source, texts_dir, check)
        except BuildError as error:
            report.diagnostics += error.diagnostics
            continue
        texts[texts_dir / f"{source.stem}.md"] = markdown
        report.essays.append(essay)
        report.diagnostics += essay.problems
        if essay.status == "differs":
            report.differs.append(texts_dir / f"{source.stem}.md")
    if not check and report.ok:
        write_texts(texts)
    return report


def main(book_dir: Path, check: bool = False, editors: Path | None = None) -> int:
    """Entry point for `invoke ingest [--check]`: print the report and the editor's report, written to `editors`
    when the texts were (it describes them); every problem found raises `BuildError`."""
    report = run_ingest(Path(book_dir), check)
    console = Console(width=160)
    print_report(report, console)
    text = editor_report(report, Path(book_dir))
    console.print(text, highlight=False, markup=False)
    if editors is not None and report.ok and not check:
        editors.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(editors) as temporary:
            temporary.write_text(text, encoding="utf-8")
        console.print(f"editor's report: {editors}", highlight=False, markup=False)
    if report.diagnostics:
        raise BuildError(report.diagnostics)
    return 0


def explain(book_dir: Path, name: str) -> int:
    """Entry point for `invoke ingest --explain SOURCE`: print the text the rules read from one source, each line
    with the number its recipe uses (for a Word or web file, lines of pandoc's Markdown of it, which no editor
    could otherwise count)."""
    source = find_one(Path(book_dir) / "sources", name)
    _recipe, _document, text = load_inputs(source)
    how = read_as(source) or "read as it stands"
    print(f"{source}: {how}; the recipe's line numbers are these:")
    for number, line in enumerate(text.split("\n"), 1):
        print(f"{number:5}  {line}")
    return 0
