"""Build stage: load, resolve and render the requested editions, reporting progress per stage."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from .diagnostics import BuildError, Diagnostic
from .load import load_book
from .render.common import Project
from .render.epub import render_epub
from .render.html import render_site
from .render.pdf import render_pdf, render_screen_pdf
from .resolve import ResolvedBook, resolve_book

EDITIONS = ("pdf", "screen", "epub", "html")


@dataclass(frozen=True)
class Edition:
    name: str
    output: Callable[[Project, str], Path]
    render: Callable[[ResolvedBook, Project, Path], Path]


EDITION_TABLE = {
    "pdf": Edition("pdf", lambda project, slug: project.build_dir / f"{slug}.pdf", render_pdf),
    "screen": Edition("screen", lambda project, slug: project.build_dir / f"{slug}-screen.pdf", render_screen_pdf),
    "epub": Edition("epub", lambda project, slug: project.build_dir / f"{slug}.epub", render_epub),
    "html": Edition("html", lambda project, slug: project.build_dir / "html", render_site),
}


def output_path(project: Project, slug: str, edition: str) -> Path:
    return EDITION_TABLE[edition].output(project, slug)


@contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """One build at a time per output folder: a second one stops with a clear message instead of interleaving."""
    build_dir.mkdir(parents=True, exist_ok=True)
    lock_path = build_dir / ".build.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            raise BuildError(
                [
                    Diagnostic(
                        "E060",
                        f"another build is writing to {build_dir} (process {owner})",
                        file=build_dir,
                        hint="wait for it to finish, or build into another folder with --out",
                    )
                ]
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(project: Project, editions: Iterable[str] = EDITIONS, console: Console | None = None) -> dict[str, Path]:
    """Build the editions under the output folder's lock; raises BuildError (with every diagnostic) before any
    output is replaced."""
    with build_lock(project.build_dir):
        return _build(project, editions, console)


def _build(project: Project, editions: Iterable[str], console: Console | None) -> dict[str, Path]:
    console = console or Console(stderr=True)
    started = time.perf_counter()

    def stage(name: str) -> None:
        console.print(f"[dim]{time.perf_counter() - started:6.1f}s[/dim] {name}")

    stage(f"load {project.book_dir}")
    book = load_book(project.book_dir)
    stage(f"resolve {len(book.chapters)} chapters")
    resolved = resolve_book(book, project.styles_dir)
    outputs: dict[str, Path] = {}
    for name in editions:
        edition = EDITION_TABLE[name]
        stage(f"render {name}")
        outputs[name] = edition.render(resolved, project, edition.output(project, book.config.slug))
    stage("done")
    return outputs
