"""The jobs a worker process runs: the warm-up, a segment's layout (whole, or resumed where its text changed:
`resume.py`) and one part of a split resumed layout. WeasyPrint is imported here, in the worker.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anthology.model import Project
from anthology.render.print import resume, segments
from anthology.render.print.openings import OpeningWatch
from anthology.render.print.patches import keep_footnotes_with_calls
from anthology.render.print.segment_layout import Lay, lay_out_segment, measure_segment, segment_body, write_segment
from anthology.render.print.typeset import IGNORED_WARNINGS, PRINT, layout


def render_segment(job: segments.Job, reuse: bool = True) -> segments.Result:
    """A worker's job: lay out one segment, measure it, and write its PDFs (screen and print) from that layout.
    A segment laid out before with the same style and code resumes where its text first changed (resume.py), and
    with `reuse` takes the previous layout's pages after the change when they are the same."""
    if job.previous:
        resumed = resume.render_resumed(job, reuse)
        if resumed is not None:
            return resumed
    project = Project(Path(job.book_dir), Path(job.styles_dir), Path(job.folder))
    folder = Path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    from anthology.render.print.engine import weasyprint_warnings

    watch = OpeningWatch()
    with weasyprint_warnings() as warnings:
        lay: Lay = lambda breaks: layout(job.segment.html, project, PRINT, breaks)  # noqa: E731
        document, elements, breaks, passes = lay_out_segment(lay, watch=watch)
        count = len(document.pages) - (0 if job.segment.last else 1)
        result, links = measure_segment(job.segment.name, document, elements, breaks, passes, count)
        result.body = segment_body(elements)
        result.openings = watch.openings(breaks, count)
        write_segment(document, job, folder, links)
        result.warnings = list(dict.fromkeys(m for m in warnings if not m.startswith(IGNORED_WARNINGS)))
    result.save(folder)
    return result


# A page in the book's style sheet, laid out by each worker before the book's first segment comes: a paragraph too
# narrow for its words, so that they are hyphenated (the book's language's dictionary is read once in a process).
WARM_UP_HTML = (
    '<!DOCTYPE html>\n<html lang="{lang}"><head><link rel="stylesheet" href="print.css"></head><body>'
    '<section class="chapter"><h1>Chapter</h1><p style="width: 3em">A <em>paragraph</em> of <strong>text'
    "</strong> hyphenated internationally.</p></section></body></html>"
)


def warm_up(book_dir: str, styles_dir: str, lang: str) -> None:
    """A worker's first job, while the main process reads the book: WeasyPrint patched (patches.py), and a page laid
    out in the book's style sheet and language, which does what WeasyPrint does once in a process (its fonts, its
    own style sheet, the hyphenation dictionary) before the first segment, off the layout's path."""
    from anthology.render.print.engine import weasyprint_warnings

    keep_footnotes_with_calls()
    project = Project(Path(book_dir), Path(styles_dir), Path(styles_dir))
    with weasyprint_warnings():  # the book's segments report the style sheet's problems, once each
        layout(WARM_UP_HTML.format(lang=lang), project, PRINT)


def run(job: segments.Job, reuse: bool = True) -> segments.Result:
    """Lay out one segment (in a worker process), mend its footnotes, write its PDFs into its cache folder.
    `reuse`: a resumed layout may take the previous layout's pages after the edit (resume.py)."""
    with bounded(job.segment.name):
        return render_segment(job, reuse)


def run_part(job: segments.Job, role: str) -> resume.Part | None:
    """Lay out one part of a segment resumed and split in two (resume.py), in a worker process."""
    with bounded(job.segment.name):
        return resume.render_part(job, role)


def run_folios(html: str, project: Project, targets: dict[str, str], name: str) -> list[str]:
    """Lay out a folio document (folios.overlay_job), in a worker process."""
    from anthology.render.print.folios import overlay_job

    with bounded(name):
        return overlay_job(html, project, targets)


# ---- The layout's budgets ----------------------------------------------------------------------------------------


class OverBudget(Exception):
    """A layout stopped at one of its budgets: which ("memory" or "time"), the segment's name, and the limit (MB or
    seconds). Raised in the worker, reported by the build as E043 or E044."""

    def __init__(self, kind: str, name: str, limit: int):
        super().__init__(kind, name, limit)
        self.kind, self.name, self.limit = kind, name, limit


BUDGET = {"memory": 0, "time": 0}  # this worker's budgets (set_budget): MB resident, seconds per layout
LAYING_OUT: list[str] = []  # the layout under way in this worker (its segment's name), for the memory watch
MEMORY_WATCH_SECONDS = 0.25  # how often the worker's resident memory is read
# Beyond the resident budget, the worker's address space is limited too, as a backstop: an allocation past it fails
# (MemoryError, or a worker that dies: E045). The workers' address space is larger than their resident memory by
# the libraries and fonts they map (469 MB against 192 MB resident on the five-essay anthology).
ADDRESS_SPACE_MARGIN_MB = 4096


def set_budget(memory_mb: int, seconds: int) -> None:
    """The worker's budgets, from the build: its resident memory is watched while it lays out (a thread reads it;
    past the budget the layout is stopped by a signal), its address space limited beyond that, and each layout's
    time is (bounded)."""
    BUDGET.update(memory=memory_mb, time=seconds)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = (memory_mb + ADDRESS_SPACE_MARGIN_MB) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    signal.signal(signal.SIGUSR1, over_memory)
    threading.Thread(target=watch_memory, name="anthology-memory-watch", daemon=True).start()


def resident_mb() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 2**20


def watch_memory() -> None:
    """While a layout is under way, its resident memory past the budget sends the worker SIGUSR1 (again each
    second, should WeasyPrint catch the first): over_memory stops the layout in the worker's main thread."""
    while True:
        time.sleep(MEMORY_WATCH_SECONDS)
        if LAYING_OUT and resident_mb() > BUDGET["memory"]:
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(1)


def over_memory(_signal: int, _frame: object) -> None:
    if LAYING_OUT:
        raise OverBudget("memory", LAYING_OUT[-1], BUDGET["memory"])


@contextmanager
def bounded(name: str) -> Iterator[None]:
    """One layout within the worker's budgets: past its time, an alarm stops it (and again each second, should
    WeasyPrint catch the first); past its memory, the memory watch does (or the allocation that fails)."""
    seconds = BUDGET["time"]

    def expired(_signal: int, _frame: object) -> None:
        signal.alarm(1)
        raise OverBudget("time", name, seconds)

    previous = signal.signal(signal.SIGALRM, expired) if seconds else None
    signal.alarm(seconds)
    LAYING_OUT.append(name)
    try:
        yield
    except MemoryError:
        raise OverBudget("memory", name, BUDGET["memory"]) from None
    finally:
        LAYING_OUT.pop()
        signal.alarm(0)
        if previous is not None:
            signal.signal(signal.SIGALRM, previous)


# ---- Dying with the build ----------------------------------------------------------------------------------------


def die_with(build: int) -> None:
    """End this process as soon as the build's process ends, even by `kill -9`: a thread waits on the build's pid
    (a pidfd; else it looks every second), then kills this process. A worker's parent is the fork server, which
    stays while any worker holds its pipe, and a worker waits for jobs from the build that is gone: left alone,
    they stayed for minutes after a killed build (issue 26)."""
    try:
        handle: int | None = os.pidfd_open(build)
    except ProcessLookupError:  # the build has ended already
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3 or later)
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while alive(build):
                time.sleep(1)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="anthology-dies-with-the-build", daemon=True).start()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
