"""What the Invoke tasks call: each entry point turns diagnostics into a clear message and an exit status."""

from __future__ import annotations

import re
import shlex
import shutil
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

from invoke.exceptions import Exit
from rich.console import Console

from anthology.build import EDITIONS, book_slug, build, build_lock, in_place
from anthology.diagnostics import BuildError
from anthology.model import Project

EXIT_INPUT_ERROR = 2
EXIT_INTERNAL_ERROR = 3


BUILD = "build"
DEFAULT_BOOK = "book"  # the tasks' --book
# config.SLUG_PATTERN, repeated (a test checks they agree): importing config loads pydantic for every task.
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


def book_folder(book: str, root: Path) -> Path:
    """The book's own output folder, build/<slug>/: books never share outputs or caches. The slug is read cheaply
    from book.yaml; when it cannot be read (the build then reports why), the book folder's name stands in."""
    slug = book_slug(Path(book))
    if slug is None or not SLUG.fullmatch(slug):
        slug = Path(book).resolve().name or "book"
    return root / BUILD / slug


def project_for(book: str, root: Path, out: str | None = None) -> Project:
    """The folders of a task on `book`: its outputs go to `out` when given, else to its own folder under build/."""
    build_dir = Path(out) if out else book_folder(book, root)
    return Project(book_dir=Path(book), styles_dir=root / "styles", build_dir=build_dir)


def task_command(task: str, book: str, out: str | None = None) -> str:
    """The command that runs `task` on this book and output folder, for a message that asks for it."""
    command = f"invoke {task}"
    if book != DEFAULT_BOOK:
        command += f" --book {shlex.quote(book)}"
    return command + (f" --out {shlex.quote(out)}" if out else "")


def guarded(
    action: Callable[[], int | None], debug: bool = False, left: Callable[[], str] = lambda: "nothing was written"
) -> None:
    """Run an action; input problems exit with their diagnostics, never a traceback (unless --debug). `left` says
    what a failed action left in place, for its last message."""
    console = Console(stderr=True)
    try:
        status = action()
    except BuildError as error:
        for diagnostic in error.diagnostics:
            console.print(diagnostic.format(), markup=False, highlight=False, soft_wrap=True)
        if debug:
            traceback.print_exc()
        raise Exit(f"build stopped: fix the problems above ({left()})", code=EXIT_INPUT_ERROR) from None
    except Exception as error:
        if debug:
            raise
        raise Exit(
            f"internal error: {type(error).__name__}: {error} (run again with --debug for the traceback; {left()})",
            code=EXIT_INTERNAL_ERROR,
        ) from None
    if status:
        raise Exit(code=status)


def run_build(
    book: str,
    root: Path,
    editions: Iterable[str] = EDITIONS,
    out: str | None = None,
    debug: bool = False,
    strict: bool = False,
) -> None:
    def action() -> None:
        project = project_for(book, root, out)
        if strict:  # every warning `invoke check` would give stops the build, before anything is written
            from anthology.check.book import check_book

            check_book(project).raise_if_errors(strict=True)
        outputs = build(project, editions)
        for name, path in outputs.items():
            print(f"{name}: {path}")

    guarded(action, debug, lambda: in_place(project_for(book, root, out)))


def run_check(
    book: str, root: Path, strict: bool = False, debug: bool = False, citations: bool = False, out: str | None = None
) -> None:
    def action() -> int:
        from anthology.check.book import check_book

        if citations:
            return run_citation_audit(project_for(book, root, out), strict)
        collector = check_book(project_for(book, root))
        for diagnostic in collector.items:
            print(diagnostic.format())
        print(f"check: {len(collector.errors)} errors, {len(collector.warnings)} warnings")
        collector.raise_if_errors(strict)
        return 0

    guarded(action, debug)


def run_citation_audit(project: Project, strict: bool) -> int:
    """`invoke check --citations`: the audit's report written to the output folder, its summary and flags printed."""
    from anthology.atomic import atomic_file
    from anthology.check.citations import REPORT_NAME, audit_book, report_markdown, summary_lines

    result, collector = audit_book(project)
    report = project.build_dir / REPORT_NAME
    report.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(report) as temporary:
        temporary.write_text(report_markdown(result), encoding="utf-8")
    for diagnostic in collector.items:
        print(diagnostic.format())
    for line in summary_lines(result, report):
        print(line)
    collector.raise_if_errors(strict)
    return 0


def run_ingest(book: str, root: Path, check: bool = False, debug: bool = False) -> None:
    """`invoke ingest`: the texts, and the editor's report in the book's build folder (build/<slug>/)."""
    from anthology.ingest import main as ingest_main
    from anthology.ingest.report import REPORT_NAME

    guarded(lambda: ingest_main(Path(book), check=check, editors=book_folder(book, root) / REPORT_NAME), debug)


def run_new(path: str, debug: bool = False) -> None:
    """`invoke new PATH`: the scaffold of a book, and the commands that build it."""
    from anthology.scaffold import create_book

    def action() -> None:
        written = create_book(Path(path))
        print(f"new book in {path}: {len(written)} files")
        print(f"build it: {task_command('build', path)}")
        print(f"after changing a source or its recipe: {task_command('ingest', path)}")

    guarded(action, debug)


def run_clean(book: str, root: Path, everything: bool = False, debug: bool = False) -> None:
    """Remove the book's output folder (build/<slug>/), or with `everything` all of build/. A build writing to the
    folder stops the clean (the folder's lock), rather than losing its outputs halfway."""

    def action() -> None:
        folder = root / BUILD if everything else book_folder(book, root)
        if not folder.exists():
            print(f"nothing to remove: {folder} does not exist")
            return
        if everything:
            shutil.rmtree(folder)
        else:
            with build_lock(folder):
                shutil.rmtree(folder)
        print(f"removed {folder}")

    guarded(action, debug)


def run_preflight(book: str, root: Path, pdf: str | None = None, out: str | None = None, debug: bool = False) -> None:
    """`invoke preflight`: check the built print PDF against the configured trim; exit 1 on any failure."""
    from pypdf import PdfReader

    from anthology.check.preflight import preflight
    from anthology.check.typesetting import check_pdf
    from anthology.config import load_config

    def action() -> int:
        project = project_for(book, root, out)
        config, _ = load_config(project.book_dir)
        path = Path(pdf) if pdf else project.build_dir / f"{config.slug}.pdf"
        if not path.exists():
            print(f"preflight: no PDF at {path}: run `{task_command('pdf', book, out)}` first")
            return 1
        report = preflight(path, config.trim_size, config.pdf_variant, config.ink_limit)
        typesetting = check_pdf(path, config, len(PdfReader(path).pages))  # the pages as printed (issue 31)
        print("\n".join(d.format() for d in typesetting) or "typesetting: every figure within its target")
        print("\n".join(report.lines()))
        return 0 if report.ok and not typesetting else 1

    guarded(action, debug)


def run_cover(book: str, root: Path, pdf: str | None = None, out: str | None = None, debug: bool = False) -> None:
    """`invoke cover`: the full-wrap cover for the built print PDF, with its measurements."""
    from anthology.config import POINTS_PER_INCH
    from anthology.load import load_book
    from anthology.render.print.cover import BLEED_IN, cover_path, render_cover

    def action() -> None:
        project = project_for(book, root, out)
        slug = load_book(project.book_dir).config.slug
        interior = Path(pdf) if pdf else project.build_dir / f"{slug}.pdf"
        target = cover_path(project, slug)
        g = render_cover(project, interior, target)
        inches = POINTS_PER_INCH
        print(
            f"cover: {target}\n  interior {g.pages} pages on {load_book(project.book_dir).config.paper} paper: "
            f"spine {g.spine / inches:.4f} in; wrap {g.width / inches:.4f} x {g.height / inches:.4f} in "
            f"with {BLEED_IN} in bleed; spine text: {'yes' if g.spine_text else 'no (under 79 pages)'}"
        )

    guarded(action, debug)
