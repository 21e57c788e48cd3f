"""The segment renderer: hands segments to the worker processes, each laid out once (a segment whose job
was done before is read from the cache), and lays out the folio documents, some ahead of the book's final layout.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from anthology import manifest, pandoc
from anthology.diagnostics import BuildError, Diagnostic
from anthology.model import Project, ResolvedBook
from anthology.render.print import resume, segments, worker
from anthology.render.print.book_html import exact_page_texts
from anthology.render.print.folios import (
    folio_regions,
    numbers_known,
    overlay_chunks,
    overlay_html,
    record_folios,
    recorded_folios,
)
from anthology.render.print.page_plan import Layout, compose
from anthology.render.print.typeset import PRINT, SCREEN, variant_options, weasyprint_diagnostic

# The speed mechanisms of the layout a build can switch off (build.MECHANISMS describes them): the outputs are the
# same without each, only slower.
SWITCHES = ("segment-cache", "pages-kept", "resume", "split", "speculation")


def fingerprint(resolved: ResolvedBook, project: Project) -> str:
    """What a segment's or folio document's layout depends on besides its HTML: the style files (CSS, fonts, ICC
    profile), the book's files that are not text (images), the book's configuration, every file of the pipeline's
    package and the pinned tools (manifest.code_key: derived, so no module can be left out), and pandoc."""
    digest = hashlib.sha256(manifest.code_key().encode())
    digest.update(pandoc.pandoc_identity().encode())
    files = sorted(p for p in project.styles_dir.rglob("*") if p.is_file() and "templates" not in p.parts)
    files += sorted(p for p in project.book_dir.rglob("*") if p.is_file() and p.suffix not in (".md", ".yaml", ".txt"))
    for path in files:
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps(resolved.book.config.model_dump(mode="json"), sort_keys=True).encode())
    return digest.hexdigest()


def cache_folder(project: Project, slug: str) -> Path:
    """The print layout's cache of one book in its output folder (pages.json, segments/, the folio documents,
    book-print.html): named by the book's slug and its folder's resolved path, so that books sharing an output
    folder never read each other's layouts."""
    where = hashlib.sha256(str(project.book_dir.resolve()).encode()).hexdigest()[:12]
    return project.build_dir / ".cache" / "print" / f"{slug}-{where}"


class SegmentRenderer:
    """Lays segments out in worker processes, each once: a segment whose job was done before (same HTML, same
    style and code) is read from the cache."""

    def __init__(
        self, resolved: ResolvedBook, project: Project, pool: Any, progress: Any, off: frozenset[str] = frozenset()
    ):
        config = resolved.book.config
        # Both PDFs are made from every final layout, whichever the build asked for: the cache then serves
        # `invoke pdf` and `invoke build` alike (the screen PDF is derived from the printer's, in a moment).
        self.project, self.variants, self.pool, self.progress = project, ("print", "screen"), pool, progress
        self.off = off  # the SWITCHES of this module the build switched off (build.MECHANISMS)
        self.made: set[str] = set()  # the segments' keys this build laid out
        self.cache = cache_folder(project, config.slug) / "segments"
        self.fingerprint = fingerprint(resolved, project)
        self.options = {PRINT.name: variant_options(config, PRINT)}  # the screen PDF is derived, not written
        self.used: set[str] = set()
        self.folder_of: dict[str, Path] = {}
        # Each segment's last layout in this folder, by name (pages.json, when made with this style and code):
        # a segment laid out again resumes where its text changed (resume.py).
        self.previous: dict[str, Path] = {}
        self.laid_out = 0
        self.deriving: dict[Path, Any] = {}  # each screen PDF being derived: the future of its job
        self.exact = exact_page_texts(resolved)
        self.folio_jobs: dict[str, Any] = {}  # each folio document being laid out, by its key: its job's future
        self.ahead: set[str] = set()  # the keys of those laid out before the book's layout was final
        # The folio documents' files as the last build left them: one changed since is laid out again.
        self.folio_digests = recorded_folios(self.cache.parent)
        self.sources = {slug: item.text.path for slug, item in resolved.texts.items()}
        self.config_path = resolved.book.config_document.path

    def outcome(self, future: Any, name: str) -> Any:
        """A worker's job's result; a layout stopped at a budget, or a worker that died, stops the build with a
        diagnostic naming the text (its file; book.yaml for the pages the book makes itself)."""
        from concurrent.futures.process import BrokenProcessPool

        source = self.sources.get(name, self.config_path)
        try:
            return future.result()
        except worker.OverBudget as over:
            raise BuildError([budget_diagnostic(over, source)]) from None
        except BrokenProcessPool:
            message = f"a layout worker process ended abruptly while {name} was being laid out (or another text)"
            hint = (
                "the system may have stopped it for lack of memory (see `dmesg`), or its memory budget is too small "
                "for it to start (ANTHOLOGY_LAYOUT_MEMORY_MB); run the build again"
            )
            raise BuildError([Diagnostic("E045", message, file=source, hint=hint)]) from None

    def derive_screens(self, job: segments.Job, result: segments.Result) -> None:
        """A layout's screen PDFs, derived by the pool's workers where they are not yet (once each)."""
        folder = Path(job.folder)
        for prefix in segments.underived(folder, result):
            if folder / f"{prefix}screen.pdf" not in self.deriving:
                self.deriving[folder / f"{prefix}screen.pdf"] = self.pool.derive(job.folder, prefix)

    def screens_derived(self) -> None:
        for future in self.deriving.values():
            future.result()

    def job(self, segment: segments.Segment) -> segments.Job:
        key = segments.job_key(segment, self.fingerprint)
        previous = None if "resume" in self.off else self.previous.get(segment.name)
        if previous is not None and previous != self.cache / key and segments.cached(previous, self.variants) is None:
            previous = None  # no entry (or a damaged one, discarded here with its warning): laid out whole
        return segments.Job(
            key,
            segment,
            str(self.cache / key),
            str(self.project.styles_dir.resolve()),
            str(self.project.book_dir.resolve()),
            self.variants,
            self.options,
            str(previous) if previous is not None and previous != self.cache / key else "",
        )

    def folio(self, html: str) -> tuple[str, dict[str, Path]]:
        """A folio document's key and files by variant, its layout given to the workers unless the files were made
        before (it is laid out again only when what it prints, the page design or this code change) or it is being
        laid out (ahead: speculate_folios)."""
        key = hashlib.sha256(f"{html}/{self.fingerprint}".encode()).hexdigest()[:16]
        paths = {variant: self.cache.parent / f"folios-{variant}-{key}.pdf" for variant in (PRINT.name, SCREEN.name)}
        cached = "segment-cache" not in self.off and all(self.folio_intact(path) for path in paths.values())
        if key not in self.folio_jobs and not cached:
            targets = {variant: str(path) for variant, path in paths.items()}
            self.folio_jobs[key] = self.pool.submit(worker.run_folios, html, self.project, targets, FOLIOS)
        return key, paths

    def folio_intact(self, path: Path) -> bool:
        """Whether a folio document's file is the one a build wrote. One changed or cut short since is discarded
        with a warning (W064) and laid out again; one never written is laid out."""
        recorded = self.folio_digests.get(path.name)
        if recorded is None or not path.exists():
            return False
        try:
            if recorded == segments.file_digest(path):
                return True
        except OSError:
            pass
        manifest.discarded(path, "a folio document", "it is not the file its layout wrote (cut short or altered)")
        del self.folio_digests[path.name]
        return False

    def may_take(self, job: segments.Job) -> bool:
        """Whether the job's cache entry may be taken: always, unless the segment cache is switched off; then only
        an entry this build made."""
        return "segment-cache" not in self.off or job.key in self.made

    def run(self, jobs: list[segments.Job], book: bool = False) -> list[segments.Result]:
        """The jobs' results, laid out or from the cache. `book`: the jobs are the whole book's segments, and the
        folio documents of those before the first laid out are laid out once the workers are free."""
        from concurrent.futures import FIRST_COMPLETED, Future, wait

        results: dict[int, segments.Result] = {}
        pending: list[tuple[int, segments.Job]] = []
        # Longest first: the workers then finish together, not one waiting while the other lays out a long chapter.
        for index, job in sorted(enumerate(jobs), key=lambda item: -len(item[1].segment.html)):
            self.used.add(job.key)
            self.folder_of[job.segment.name] = Path(job.folder)
            found = segments.cached(Path(job.folder), job.variants) if self.may_take(job) else None
            if found is not None:
                results[index] = found
                self.derive_screens(job, found)
            else:
                pending.append((index, job))
        self.progress(len(results), len(jobs))
        waiting: dict[Future, tuple[int, str]] = {}
        idle = len(pending) < self.pool.workers  # an edit: one segment, and a worker with nothing to do
        for index, job in pending:
            if idle and "split" not in self.off and splittable(job):
                for role in ("head", "rest"):
                    waiting[self.pool.submit(worker.run_part, job, role)] = (index, role)
            else:
                waiting[self.pool.submit(worker.run, job)] = (index, "")
        if book and "speculation" not in self.off:
            speculate_folios(self, [job.segment for job in jobs], results)
        parts: dict[int, dict[str, Any]] = {}
        while waiting:
            done, _ = wait(waiting, return_when=FIRST_COMPLETED)
            for future in done:
                index, role = waiting.pop(future)
                if role:
                    parts.setdefault(index, {})[role] = self.outcome(future, jobs[index].segment.name)
                    if len(parts[index]) < 2:
                        continue
                    head, rest = parts[index]["head"], parts[index]["rest"]
                    joined = resume.join(jobs[index], head, rest)
                    if joined is None:  # the split's guess failed (or the pages after the edit moved, which a
                        # split's guess then rarely survives): the rest in one piece (no page to resume at: whole)
                        resume.discard(jobs[index], rest)
                        again = jobs[index] if head is not None else replace(jobs[index], previous="")
                        waiting[self.pool.submit(worker.run, again, False)] = (index, "")
                        continue
                    results[index] = joined
                else:
                    results[index] = self.outcome(future, jobs[index].segment.name)
                self.derive_screens(jobs[index], results[index])
                self.made.add(jobs[index].key)
                self.laid_out += 1
                self.progress(len(results), len(jobs))
        ordered = [results[i] for i in range(len(jobs))]
        self.previous.update((job.segment.name, Path(job.folder)) for job in jobs)
        problems = {(m, result.name): None for result in ordered for m in result.warnings}
        if problems:
            styles, sources = self.project.style_file("print.css").parent, self.sources
            raise BuildError(
                [
                    weasyprint_diagnostic(message, styles, sources.get(name, self.config_path))
                    for message, name in problems
                ]
            )
        return ordered


FOLIOS = "the folio documents (folios and page numbers stamped on the pages)"
BUDGETS = {
    "memory": ("memory", "MB", "ANTHOLOGY_LAYOUT_MEMORY_MB"),
    "time": ("time", "seconds", "ANTHOLOGY_LAYOUT_SECONDS"),
}


def budget_diagnostic(over: worker.OverBudget, source: Path) -> Diagnostic:
    """E043 (memory) or E044 (time): the limit, the text, and how to go on."""
    what, unit, variable = BUDGETS[over.kind]
    return Diagnostic(
        "E043" if over.kind == "memory" else "E044",
        f"laying out {over.name} went past the layout's {what} budget ({over.limit} {unit} per worker)",
        file=source,
        hint=f"a text this long is best split into several texts; or raise the budget: {variable}={over.limit * 2}",
    )


def splittable(job: segments.Job) -> bool:
    """Whether a segment's layout may resume, and split in two for two workers (resume.py): its previous layout
    is at hand with two pages to resume at."""
    previous = segments.cached(Path(job.previous), job.variants) if job.previous else None
    return previous is not None and len(previous.openings) >= 2


def speculate_folios(renderer: SegmentRenderer, parts: list[segments.Segment], known: dict[int, Any]) -> None:
    """The folio documents of the segments before the first being laid out (the segments `known` come from the
    cache), given to the workers after the round's segments: they take them as they come free. Only a document
    whose every number is already the page of its anchor is laid out ahead; it is used when the book's final
    layout asks for that very document (lay_out_folios), as it then does unless a page count changed."""
    settled = next((index for index in range(len(parts)) if index not in known), len(parts))
    if settled == len(parts):
        return
    book = compose([known[index] for index in range(settled)])
    regions = [region for region in folio_regions(parts, renderer.exact) if region[1] <= settled]
    for chunk in overlay_chunks(book, regions):
        if all(numbers_known(part, book.pages) for part in parts[chunk[0] : chunk[1]]):
            key, _paths = renderer.folio(overlay_html(parts, book, renderer.project, chunk))
            if key in renderer.folio_jobs:
                renderer.ahead.add(key)


def lay_out_folios(
    renderer: SegmentRenderer, parts: list[segments.Segment], book: Layout, project: Project
) -> tuple[dict[str, list[Path]], int, int]:
    """The folio documents by variant, in page order, laid out by the workers where they are not cached: the
    build's last layout. Also how many were laid out, and how many of those ahead (speculate_folios)."""
    overlays: dict[str, list[Path]] = {PRINT.name: [], SCREEN.name: []}
    used: set[str] = set()
    for chunk in overlay_chunks(book, folio_regions(parts, renderer.exact)):
        key, paths = renderer.folio(overlay_html(parts, book, project, chunk))
        used.add(key)
        for variant, path in paths.items():
            overlays[variant].append(path)
    for key, job in renderer.folio_jobs.items():
        if key not in used:
            job.cancel()  # laid out ahead for pages that have changed since: unless it has started
    problems: list[str] = []
    for job in renderer.folio_jobs.values():
        if not job.cancelled():  # before the folder is pruned: a job still running would write into it
            problems += renderer.outcome(job, FOLIOS)
    if problems:
        config = renderer.config_path
        raise BuildError(
            [weasyprint_diagnostic(m, project.style_file("print.css").parent, config) for m in dict.fromkeys(problems)]
        )
    kept = {path for paths in overlays.values() for path in paths}
    for old in renderer.cache.parent.glob("folios-*.pdf"):
        if old not in kept:
            old.unlink()
    record_folios(renderer.cache.parent, kept)
    laid_out = used & renderer.folio_jobs.keys()
    return overlays, len(laid_out), len(laid_out & renderer.ahead)
