"""Build stage: load, resolve and render the requested editions, reporting progress per stage."""

from __future__ import annotations

import ctypes
import fcntl
import gc
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from anthology import manifest
from anthology.atomic import STAGING, SWAP, Staging, output_errors, scratch_folder
from anthology.diagnostics import BuildError, Diagnostic
from anthology.processes import kill_fork_server, temporaries_in

if TYPE_CHECKING:
    from anthology.model import Project

EDITIONS = ("pdf", "screen", "epub", "html")


@dataclass(frozen=True)
class Edition:
    name: str
    output: Callable[[Project, str], Path]


EDITION_TABLE = {
    "pdf": Edition("pdf", lambda project, slug: project.build_dir / f"{slug}.pdf"),
    "screen": Edition("screen", lambda project, slug: project.build_dir / f"{slug}-screen.pdf"),
    "epub": Edition("epub", lambda project, slug: project.build_dir / f"{slug}.epub"),
    "html": Edition("html", lambda project, slug: project.build_dir / "html"),
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


# How often Python's cycle collector runs (allocations between collections of each generation), in the build's
# processes: far less often than Python's default (700, 10, 10). The trees the build makes are freed by reference
# counting; few are cycles (docs/performance.md).
COLLECTION_THRESHOLDS = (20_000, 50, 100)


def collect_less() -> None:
    """The build's collector thresholds, in a worker process (its pool's initializer)."""
    if not disabled("gc"):
        gc.set_threshold(*COLLECTION_THRESHOLDS)


# The speed mechanisms a build can be made without, by name: ANTHOLOGY_DISABLE=name,name switches them off, for
# `invoke bench` to measure what each saves and for tests that the outputs are the same without it. The print
# edition without any of its mechanisms is the plain path (ANTHOLOGY_PLAIN=1, render/print/plain.py).
MECHANISMS = {
    "parallel": "segments laid out by one worker process per core (else by one)",
    "forkserver": "workers forked from a server that imported WeasyPrint once (else each started afresh)",
    "gc": "the build's collector thresholds (else Python's default)",
    "manifest": "a build of the last build's sources does nothing (else it builds again)",
    "pandoc-cache": "pandoc's results kept by their input (else pandoc runs for every text)",
    "segment-cache": "a segment or folio document laid out by an earlier build is taken from the cache (else laid out)",
    "pages-kept": "the first round of page numbers is the last build's pages.json (else guessed, as in a cold build)",
    "resume": "an edited segment's layout resumes where its text changed (else it is laid out whole)",
    "split": "a resumed layout is split in two for an idle worker (else laid out in one piece)",
    "speculation": "folio documents laid out ahead, while the last segments are (else once the layout is final)",
}
DISABLE_VARIABLE = "ANTHOLOGY_DISABLE"


def disabled_mechanisms() -> set[str]:
    """The mechanisms ANTHOLOGY_DISABLE switches off; a name that is none of them stops the build."""
    names = {name.strip() for name in os.environ.get(DISABLE_VARIABLE, "").split(",") if name.strip()}
    unknown = sorted(names - MECHANISMS.keys())
    if unknown:
        message = f"{DISABLE_VARIABLE} names {', '.join(unknown)}, which is no speed mechanism of the build"
        raise BuildError([Diagnostic("E062", message, hint=f"the mechanisms: {', '.join(MECHANISMS)}")])
    return names


def disabled(mechanism: str) -> bool:
    return mechanism in disabled_mechanisms()


PLAIN_VARIABLE = "ANTHOLOGY_PLAIN"


def plain_requested() -> bool:
    """Whether the environment asks for the plain path (ANTHOLOGY_PLAIN set to anything but empty or 0): it makes
    the print edition even when the last build's outputs are those of these sources, as a reference."""
    return os.environ.get(PLAIN_VARIABLE, "") not in ("", "0")


def layout_worker(main: int, scratch: str, memory_mb: int, seconds: int) -> None:
    """A layout worker: it dies with the build, keeps its temporary files in the build's scratch folder (WeasyPrint
    copies the fonts into a folder of its own, which a worker never removed: thousands were left in /tmp), and lays
    out within the layout's budgets (worker.set_budget)."""
    from anthology.render.print import worker

    worker.die_with(main)
    tempfile.tempdir = scratch
    collect_less()
    worker.set_budget(memory_mb, seconds)


# The layout's budgets, per worker process: its resident memory (worker.set_budget), and the time one text's layout
# may take. Far above what the five-essay anthology needs (a worker's resident memory peaked at 192 MB, its whole
# layout took 9 s); a text that reaches one stops the build with E043 or E044, naming the setting that raises it.
LAYOUT_MEMORY_VARIABLE, LAYOUT_MEMORY_MB = "ANTHOLOGY_LAYOUT_MEMORY_MB", 4096
LAYOUT_SECONDS_VARIABLE, LAYOUT_SECONDS = "ANTHOLOGY_LAYOUT_SECONDS", 900


def layout_budget() -> tuple[int, int]:
    """The layout's memory budget (MB) and time budget (seconds), from the environment or the defaults."""
    budget = []
    for variable, default in ((LAYOUT_MEMORY_VARIABLE, LAYOUT_MEMORY_MB), (LAYOUT_SECONDS_VARIABLE, LAYOUT_SECONDS)):
        value = os.environ.get(variable, "").strip() or str(default)
        if not value.isdigit() or int(value) == 0:
            message = f"{variable} is {value!r}: a whole number above 0 was expected"
            raise BuildError([Diagnostic("E066", message, hint=f"unset it for the default, {default}")])
        budget.append(int(value))
    return budget[0], budget[1]


@contextmanager
def collecting_less() -> Iterator[None]:
    """The build's collector thresholds in this process for the build (a caller such as `serve` gets its own back):
    0.4 of the 2.5 CPU-s this process spent on a cold build went to the collector at Python's default."""
    before = gc.get_threshold()
    collect_less()
    try:
        yield
    finally:
        gc.set_threshold(*before)


def build(project: Project, editions: Iterable[str] = EDITIONS, console: Console | None = None) -> dict[str, Path]:
    """Build the editions under the output folder's lock; raises BuildError (with every diagnostic) before any
    output is replaced. The editions are made in the staging folder and moved into place together."""
    disabled_mechanisms()  # ANTHOLOGY_DISABLE is read, and a wrong name reported, before anything is done
    with (
        output_errors(project.build_dir),
        build_lock(project.build_dir),
        collecting_less(),
        staged(project.build_dir) as staging,
    ):
        return _build(project, editions, console, staging)


@contextmanager
def staged(build_dir: Path) -> Iterator[Staging]:
    """The build's staging and scratch folders, inside its output folder: what a killed build left there is
    removed first (or its swap completed), and this build's scratch goes when it ends. Every temporary file of the
    build (Python's, pandoc's, pdftotext's pages, the fork server's socket) goes to the scratch folder too, not to
    /tmp (processes.temporaries_in)."""
    staging = Staging(build_dir)
    staging.recover()
    scratch = scratch_folder(build_dir)
    try:
        with temporaries_in(scratch):
            yield staging
    finally:
        if not (staging.folder / SWAP).is_file():  # a swap cut short is completed by the next build
            staging.discard()
        shutil.rmtree(scratch, ignore_errors=True)


def in_place(project: Project) -> str:
    """What a failed build left in the output folder, said truthfully for its last message."""
    folder = project.build_dir
    if (folder / STAGING / SWAP).is_file():
        return (
            f"the new outputs were being moved into {folder}/ when the build stopped: the next build completes "
            "the move first"
        )
    slug = book_slug(project.book_dir)
    present = [name for name in EDITIONS if slug and output_path(project, slug, name).exists()]
    if present:
        return f"nothing was replaced: {folder}/ holds the last good build ({', '.join(present)})"
    return f"nothing was written: {folder}/ holds no earlier build"


def _build(project: Project, editions: Iterable[str], console: Console | None, staging: Staging) -> dict[str, Path]:
    console = console or Console(stderr=True)
    started = time.perf_counter()
    wanted = [name for name in EDITIONS if name in set(editions)]

    def stage(name: str) -> None:  # one line each, however long its paths: a log is read (and grepped) by line
        console.print(f"[dim]{time.perf_counter() - started:6.1f}s[/dim] {name}", highlight=False, soft_wrap=True)

    key = manifest.inputs_key(project.book_dir, project.styles_dir)
    slug = book_slug(project.book_dir)
    targets = {name: output_path(project, slug, name) for name in wanted} if slug else {}
    shortcut = not (disabled("manifest") or plain_requested())
    if targets and shortcut and manifest.up_to_date(project.build_dir, project.book_dir, key, targets):
        stage("nothing to do: the sources, styles and pipeline are those of the last build")
        return {name: path / "index.html" if name == "html" else path for name, path in targets.items()}
    # The EPUB's page list is read from the print PDF: it must be the PDF of these sources.
    pdf_target = {"pdf": output_path(project, slug, "pdf")}
    current_pdf = not disabled("manifest") and manifest.up_to_date(project.build_dir, project.book_dir, key, pdf_target)
    stale_pdf = slug and not current_pdf
    if "epub" in wanted and "pdf" not in wanted and stale_pdf:
        stage("the EPUB carries the print edition's page numbers: building the print PDF of these sources first")
        wanted = [name for name in EDITIONS if name in {*wanted, "pdf"}]
    # The pipeline's stages, imported only when there is work (WeasyPrint takes seconds to import).
    from anthology import pandoc
    from anthology.load import load_book_partly
    from anthology.render.print import plain
    from anthology.resolve.book import resolve_book

    pandoc.CACHE_DIR = None if disabled("pandoc-cache") else project.build_dir / ".cache" / "pandoc"
    pandoc.USED_KEYS.clear()
    with worker_pool() as pool:
        stage(f"load {project.book_dir}")
        book, loaded = load_book_partly(project.book_dir)  # its problems are reported with the resolve stage's
        laid_out = any(name in VARIANT_OF for name in wanted) and not plain_requested()  # the plain path: no workers
        if laid_out and not loaded.errors:
            pool.warm_up(project, book.config.lang)  # the workers start, and set WeasyPrint up, while it is read
        stage(f"resolve {len(book.chapters)} chapters")
        resolved = resolve_book(book, project.styles_dir, loaded)
        slug = book.config.slug
        final = {name: output_path(project, slug, name) for name in wanted}
        pdfs = {VARIANT_OF[name]: staging.path(final[name]) for name in wanted if name in VARIANT_OF}
        pending = None
        pages_known: Future = Future()
        if pdfs:
            from anthology.render.print import pdf as segmented
            from anthology.render.print.renderer import SWITCHES

            render_pdfs = plain.render_pdfs if plain_requested() else segmented.render_pdfs

            how = "the whole book as one document" if plain_requested() else f"segments in {pool.workers} processes"
            stage(f"render {' and '.join(n for n in wanted if n in VARIANT_OF)} ({how})")
            laying_out = threading.Event()
            report = progress_line(console, started)

            def progress(done: int, total: int) -> None:
                laying_out.set()
                report(done, total)

            switches = {} if plain_requested() else {"off": frozenset(disabled_mechanisms() & set(SWITCHES))}
            pending = pool.submit_thread(
                render_pdfs, resolved, project, pdfs, pool, progress, on_pages=pages_known.set_result, **switches
            )
        with ExitStack() as epub_scratch:
            epub = start_epub(resolved, project, pool, pending, stage, epub_scratch) if "epub" in wanted else None
            # The EPUB's pandoc run, a process of its own and the EPUB's longest path, is started first. The PDF's
            # page numbers are worked out in this process before any layout starts, and they are on the build's
            # longest path: the HTML edition waits until the workers have their segments.
            while pending is not None and not laying_out.wait(0.05) and not pending.done():
                pass
            if "html" in wanted:
                from anthology.render.site.edition import render_site

                stage("render html")
                render_site(resolved, project, staging.path(final["html"]))
                stage("html done")
            if epub is not None:
                finish_epub(epub, project, staging.path(final["epub"]), pending, pages_known)
        if pending is not None:
            pending.result()
    stage("swap: every edition asked for is made, and moved into place")
    staging.swap_in()
    if set(wanted) == set(EDITIONS):
        pandoc.prune_cache()
    manifest.record(project.build_dir, project.book_dir, key, final)
    stage("done")
    return {name: path / "index.html" if name == "html" else path for name, path in final.items()}


@dataclass
class EpubStarted:
    """The EPUB as far as it goes before the print layout is final: pandoc's writer running in a thread."""

    run: Any  # render.epub.EpubRun
    written: Future
    stage: Callable[[str], None]


def start_epub(
    resolved: Any, project: Project, pool: WorkerPool, pdf: Future | None, stage: Callable, scratch: ExitStack
) -> EpubStarted:
    """The EPUB's body made here, and pandoc's EPUB writer started on it in a thread: it runs while the print
    edition is laid out (and the HTML edition written), and the page markers go in at the end."""
    from anthology.render.epub.edition import EpubRun

    stage("render epub")
    run = scratch.enter_context(EpubRun(resolved, project))

    def workers_ended(size: int) -> None:
        # The folios are still being laid out in a worker: a large book's EPUB run waits for the workers to end,
        # as pandoc's EPUB writer beside them would take the build's memory past its peak. The merges, in this
        # process, run beside it. A smaller book's EPUB runs beside the layout.
        if size < EPUB_BESIDE_WORKERS:
            return
        while pdf is not None and not pool.retired.wait(0.05) and not pdf.done():
            pass
        return_freed_memory()

    writing = scratch.enter_context(ThreadPoolExecutor(1))
    return EpubStarted(run, writing.submit(run.write, workers_ended), stage)


def finish_epub(epub: EpubStarted, project: Project, target: Path, pdf: Future | None, pages_known: Future) -> Path:
    """The EPUB, into the staging folder (moved into place with the PDFs it is paginated by), its page markers
    placed by the final layout's pages (or, with no PDF in this build, the print PDF's)."""
    from anthology.render.epub.edition import print_pdf
    from anthology.render.print import pagemap

    epub.written.result()
    if pdf is None:
        pages = pagemap.read_print_pages(print_pdf(epub.run.resolved, project))
    else:
        wait([pages_known, pdf], return_when=FIRST_COMPLETED)
        if not pages_known.done():
            pdf.result()  # the PDF failed before its layout was final: its error
        pages = pages_known.result()
    epub.stage("epub: page markers")
    return epub.run.finish(target, pages)


# pandoc's EPUB writer's memory grows with its JSON input (docs/performance.md). Below this input it runs beside
# the PDF's workers instead of after them.
EPUB_BESIDE_WORKERS = 8_000_000


def glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: its memory settings do not apply
        return None


def return_freed_memory() -> None:
    """Give the system back what this process freed (the HTML edition's work, the EPUB's draft) before pandoc's
    EPUB run. glibc keeps freed memory for reuse (malloc_trim; nothing to do where there is no glibc)."""
    gc.collect()
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)


def book_slug(book_dir: Path) -> str | None:
    """The book's slug, read cheaply for the manifest check (None if book.yaml cannot be read: the build then
    reports why)."""
    import yaml

    from anthology.yamlfile import safe_load

    try:
        data = safe_load((book_dir / "book.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    slug = data.get("slug") if isinstance(data, dict) else None
    return slug if isinstance(slug, str) else None


VARIANT_OF = {"pdf": "print", "screen": "screen"}


def progress_line(console: Console, started: float) -> Callable[[int, int], None]:
    """Per-edition progress for the PDFs: segments done of segments asked for, in each layout round."""

    def report(done: int, total: int) -> None:
        if done == total or done % 4 == 0:
            console.print(
                f"[dim]{time.perf_counter() - started:6.1f}s[/dim]   pdf: {done}/{total} segments laid out",
                highlight=False,
            )

    return report


class WorkerPool:
    """Worker processes for the print segments (one per core), and a thread that drives the PDF while the main
    thread renders the HTML edition."""

    def __init__(self) -> None:
        self.workers = 1 if disabled("parallel") else max(1, min(os.cpu_count() or 1, MAX_WORKERS))
        self.processes = ProcessPoolExecutor(
            self.workers,
            mp_context=worker_context(),
            initializer=layout_worker,
            initargs=(os.getpid(), tempfile.gettempdir(), *layout_budget()),  # the build's scratch (staged)
        )
        self.threads = ThreadPoolExecutor(1)
        self.retired = threading.Event()
        self.starter: threading.Thread | None = None
        self.retiring: threading.Thread | None = None
        self.failed = False

    def warm_up(self, project: Project, lang: str) -> None:
        """Start the workers while the book is read, so that the first segment finds one ready. Starting a worker
        waits until the fork server has imported WeasyPrint (about a second, the first time): a thread of its own
        does it, not the thread that reads the book."""
        from anthology.render.print import worker

        arguments = (str(project.book_dir.resolve()), str(project.styles_dir.resolve()), lang)

        def start() -> None:
            for _ in range(self.workers):
                try:
                    self.processes.submit(worker.warm_up, *arguments)
                except RuntimeError:  # the build ended first: the pool is shut down
                    return
                except Exception:
                    if self.failed:  # the build failed meanwhile: its fork server was killed
                        return
                    raise

        self.starter = threading.Thread(target=start, name="anthology-workers", daemon=True)
        self.starter.start()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        return self.processes.submit(function, *args)

    def derive(self, folder: str, prefix: str) -> Future:
        """A segment's screen PDF derived from its printer's PDF (segments.derive_screen) by a worker, as its next
        job after the layouts queued before it."""
        from anthology.render.print import segments

        return self.processes.submit(segments.derive_screen, folder, prefix)

    def merge(self, *arguments: Any) -> Future:
        """A PDF merged (merge.merge) here, before the printer's PDF: done when returned."""
        from anthology.render.print import merge

        done: Future = Future()
        done.set_result(merge.merge(*arguments))
        return done

    def submit_thread(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        return self.threads.submit(function, *args, **kwargs)

    def retire(self) -> None:
        """End the worker processes once no layout is left: WeasyPrint's leftovers in them would otherwise sit
        beside the merges and the EPUB's pandoc run. They exit while the merges start, not waited for; `retired`
        says when they are gone."""

        def wait_for_exit() -> None:
            self.processes.shutdown(wait=True)
            self.retired.set()

        self.retiring = threading.Thread(target=wait_for_exit, name="anthology-retire", daemon=True)
        self.retiring.start()

    def terminate(self) -> None:
        """End the worker processes at once (the build failed): a layout still running would hold the build's
        end, and its memory, for as long as it takes; so would a fork server still setting WeasyPrint up."""
        self.failed = True
        kill_fork_server()
        for process in list((getattr(self.processes, "_processes", None) or {}).values()):
            process.kill()

    def close(self) -> None:
        for thread in (self.starter, self.retiring):
            if thread is not None:
                thread.join()
        self.threads.shutdown(wait=True)
        self.processes.shutdown(wait=True, cancel_futures=True)


MAX_WORKERS = int(os.environ.get("ANTHOLOGY_WORKERS", "8"))


def worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a server process that has imported WeasyPrint and the layout code once: each worker
    started afresh (spawn) imported them again, a core-second in all on a cold build (which is CPU-bound on two
    cores: issue 11). The server is a process of its own, with no threads, so forking it is safe where forking this
    process (which runs pandoc from threads) is not."""
    from anthology.render.print import segments

    if disabled("forkserver"):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(segments.PRELOAD))
    return context


@contextmanager
def worker_pool() -> Iterator[WorkerPool]:
    pool = WorkerPool()
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.close()
