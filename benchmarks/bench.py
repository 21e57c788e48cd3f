"""Benchmark of the build (issue 11): how long the editions take, cold and after an edit, against two baselines.

Run `python benchmarks/bench.py --help` (or `invoke bench`). Every figure is measured in this run: each command is a
subprocess (`python -m invoke TASK --book B --out O` from the project's root, with this checkout's `src/` first on
PYTHONPATH), timed from start to exit, with the peak of the summed RSS of its whole process tree sampled every
50 ms (a child that has not yet started its own program is left out: it maps its parent's pages; see tree_rss),
and the CPU time of that whole tree (user + system, every process reaped: see adopt_orphans).
Times are medians of `--runs` runs; memory is the highest peak of those runs. Nothing here imports the pipeline, so
the benchmark measures the code of the checkout it lives in, whatever is installed.

`--mechanisms` (issue 25) measures instead what each speed mechanism saves: the cold and the one-word edit build of
all editions with each name of `anthology.build.MECHANISMS` switched off (ANTHOLOGY_DISABLE), with the plain path
(ANTHOLOGY_PLAIN) and with all off, against the build with every mechanism on (see configurations, verdict).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml
from pypdf import PdfReader
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
STYLES = ROOT / "styles"
SAMPLE_SECONDS = 0.05
PRINT_HTML_NAME = "book-print.html"  # the final print HTML a print build leaves in its book's print cache folder
# Same-length word swaps, the first one the chapter allows: the line lengths, and nearly the layout, stay. The first
# is the one the anthology's figures use; the second serves a book without "the" in its prose (the fixture book).
EDITS = ((" the ", " thy "), (" of ", " on "))
REPEATS = 10  # the synthetic anthology: every chapter of the book ten times (5 essays -> 50 chapters)
GB = 10**9
MB = 10**6

# Targets of issue 11, checked against the figures of this run (never hard-coded results).
TARGET_COLD_PER_FLOOR = 1.0
TARGET_NOOP_S = 1.0
TARGET_EDIT_SCREEN_S = 5.0
TARGET_EDIT_PDF_RATIO = 0.40
TARGET_SCALE_RATIO = 11.0
TARGET_SCALE_PEAK_GB = 2.5

PROGRESS = Console(stderr=True, highlight=False)


# ---- Measuring one command --------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One timed command: wall time, peak memory of its process tree, and why it failed (None if it did not);
    `peak_rss_forks` also counts children caught before they exec'd (for comparison)."""

    seconds: float
    peak_rss: int
    error: str | None = None
    peak_rss_forks: int = 0
    cpu: float = 0.0  # seconds of CPU, user and system, of the whole process tree


def tree_rss(root: psutil.Process) -> tuple[int, int]:
    """Summed RSS of a process and all its descendants (the build fans out to workers and pandoc), without and
    with the children that have not yet started a program of their own.

    Such a child, between fork and exec (every pandoc run starts so; Python uses vfork, whose child shares its
    parent's memory outright), still runs its parent's command line and maps all its parent's pages: one sample of
    a 50-chapter build caught one and added the main process's 1.1 GB a second time."""
    total = with_forks = 0
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    commands: dict[int, list[str]] = {}
    for member in members:
        try:
            rss = member.memory_info().rss
            commands[member.pid] = command = member.cmdline()
            parent = member.ppid()
        except psutil.Error:  # a worker that exited between listing and reading
            continue
        with_forks += rss
        # The build's workers are forked by multiprocessing's fork server and never exec: they run its command line
        # for good, and are counted (their pages shared with the server are then counted twice: an overestimate).
        forked_worker = "multiprocessing.forkserver" in " ".join(commands.get(parent, []))
        if member is root or forked_worker or commands.get(parent) != command:
            total += rss
    return total, with_forks


PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> None:
    """Make this process the reaper of its descendants' orphans (Linux): the build's fork server outlives the
    build's main process by a moment, and its CPU time (with its workers') reaches this process's
    RUSAGE_CHILDREN only if this process reaps it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_descendants() -> None:
    """Wait for every process the measured command left behind (its fork server, adopted by adopt_orphans)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PeakSampler(threading.Thread):
    """Samples the tree's RSS every 50 ms in the background and keeps the maxima (without and with forks)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = self.peak_forks = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            total, with_forks = tree_rss(self.process)
            self.peak, self.peak_forks = max(self.peak, total), max(self.peak_forks, with_forks)
            self.stopped.wait(SAMPLE_SECONDS)

    def stop(self) -> tuple[int, int]:
        self.stopped.set()
        self.join()
        return self.peak, self.peak_forks


def kill_tree(process: subprocess.Popen) -> None:
    """Stop a measured command and its workers (it runs in its own session, so its group is only its tree)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def failure_text(log: Path, status: int) -> str:
    """The last lines the command printed: a failed build names its problem there."""
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    return f"exit {status}: " + " | ".join(lines[-3:])


def measure(command: list[str], log: Path, env: dict[str, str], cwd: Path = ROOT, timeout: float = 0) -> Sample:
    """Run a command to completion, timing it and sampling its memory; its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    cpu_before = children_cpu()
    with open(log, "wb") as handle:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler = PeakSampler(process.pid)
        sampler.start()
        try:
            status = process.wait(timeout=timeout or None)
        except subprocess.TimeoutExpired:
            kill_tree(process)
            peak, with_forks = sampler.stop()
            return Sample(time.perf_counter() - started, peak, f"timed out after {timeout:.0f} s", with_forks)
        except BaseException:  # Ctrl-C: leave no build running behind us
            kill_tree(process)
            sampler.stop()
            raise
        seconds = time.perf_counter() - started
    peak, with_forks = sampler.stop()
    reap_descendants()
    cpu = children_cpu() - cpu_before
    return Sample(seconds, peak, failure_text(log, status) if status else None, with_forks, cpu)


# ---- What is measured ------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: every run's sample of one measure, and what the reader must know about it."""

    label: str
    note: str = ""
    samples: list[Sample] = field(default_factory=list)
    pages: int | None = None

    @property
    def good(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.error is None]

    @property
    def median(self) -> float | None:
        """Median time of the runs that succeeded; None when every run failed."""
        return statistics.median(sample.seconds for sample in self.good) if self.good else None

    @property
    def peak(self) -> int | None:
        return max(sample.peak_rss for sample in self.samples) if self.samples else None

    @property
    def peak_forks(self) -> int | None:
        return max(sample.peak_rss_forks for sample in self.samples) if self.samples else None

    @property
    def cpu(self) -> float | None:
        """Median CPU time of the runs that succeeded (user + system, the whole process tree)."""
        return statistics.median(sample.cpu for sample in self.good) if self.good else None

    @property
    def errors(self) -> list[str]:
        return [sample.error for sample in self.samples if sample.error]

    @property
    def pages_per_second(self) -> float | None:
        return self.pages / self.median if self.pages and self.median else None


@dataclass
class Bench:
    """Everything one benchmark run needs: where the book is, where to work, and how to call the project."""

    book: Path
    work: Path
    env: dict[str, str]
    timeout: float
    rows: dict[str, Row] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)

    def row(self, key: str, label: str, note: str = "") -> Row:
        return self.rows.setdefault(key, Row(label, note))

    def run(
        self,
        key: str,
        command: list[str],
        log: Path,
        pdf: Path | None = None,
        cwd: Path = ROOT,
        env: dict[str, str] | None = None,
    ) -> Sample:
        """Measure a command into the row `key`, with the page count of the PDF it makes (`pdf`), and say on stderr
        how it went (a full run takes a long time)."""
        sample = measure(command, log, env or self.env, cwd, self.timeout)
        self.rows[key].samples.append(sample)
        if pdf is not None:
            self.rows[key].pages = pdf_pages(pdf, sample) or self.rows[key].pages
        state = f"FAILED ({sample.error})" if sample.error else f"{sample.seconds:.1f} s"
        PROGRESS.print(f"  {self.rows[key].label}: {state}, peak {sample.peak_rss / MB:.0f} MB", soft_wrap=True)
        return sample


def project_env() -> dict[str, str]:
    """The environment of every measured command: unchanged (SOURCE_DATE_EPOCH included), except that this
    checkout's sources come first, so that the benchmark times this checkout's code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def invoke(task: str, book: Path, out: Path) -> list[str]:
    """`invoke TASK --book B --out O`, with this Python, from the project's root (where tasks.py is)."""
    return [sys.executable, "-m", "invoke", task, "--book", str(book), "--out", str(out)]


def book_slug(book: Path) -> str:
    return str(yaml.safe_load((book / "book.yaml").read_text(encoding="utf-8"))["slug"])


def pdf_pages(path: Path, sample: Sample) -> int | None:
    """Page count of a PDF the measured command built (None if it failed: a stopped build may leave one)."""
    return len(PdfReader(path).pages) if sample.error is None and path.is_file() else None


def copy_tree(source: Path, target: Path) -> None:
    """Replace `target` by a copy of `source`, keeping modification times (a cache may look at them)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)


# ---- The one-word edit ------------------------------------------------------------------------------------------


def body_start(lines: list[str]) -> int:
    """Index of the first body line: after the front matter's closing fence."""
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return index + 1
    raise ValueError("no closing front matter fence")


def is_prose(line: str) -> bool:
    """A line of running text: not a heading, note definition, quotation, list, table or div fence."""
    return bool(line.strip()) and not line.lstrip().startswith(("#", "[^", ">", ":::", "|", "-", "*", "+"))


def edit_one_word(text: Path) -> str:
    """Swap 'the' for 'thy' once (else 'of' for 'on'), in the middle one of the prose lines holding it: a one-word
    edit of one chapter that leaves front matter, notes and headings alone. Returns what was changed, for the table."""
    lines = text.read_text(encoding="utf-8").split("\n")
    prose = [i for i in range(body_start(lines), len(lines)) if is_prose(lines[i])]
    for before, after in EDITS:
        candidates = [i for i in prose if before in lines[i]]
        if candidates:
            index = candidates[len(candidates) // 2]
            lines[index] = lines[index].replace(before, after, 1)
            text.write_text("\n".join(lines), encoding="utf-8")
            return f"texts/{text.name}, line {index + 1}: “{before.strip()}” → “{after.strip()}”"
    words = " or ".join(repr(before.strip()) for before, _ in EDITS)
    raise ValueError(f"{text}: no prose line contains {words} to edit")


def edited_chapter(book: Path) -> Path:
    """The chapter to edit: the middle one in reading order (the third of five), an essay, not editorial matter."""
    config = yaml.safe_load((book / "book.yaml").read_text(encoding="utf-8"))
    slugs = [slug for part in config["parts"] for slug in part["chapters"]]
    return book / "texts" / f"{slugs[len(slugs) // 2]}.md"


# ---- The synthetic anthology ------------------------------------------------------------------------------------


def repeat_chapter(book: Path, slug: str, copy: int) -> str:
    """The slug of a chapter's `copy`-th appearance: the original first, then `<slug>-r<k>` copies of its text and
    headnote. The recipe is found through the text's `source:` front matter, so copies share the original's."""
    if copy == 1:
        return slug
    new = f"{slug}-r{copy}"
    shutil.copyfile(book / "texts" / f"{slug}.md", book / "texts" / f"{new}.md")
    headnote = book / "headnotes" / f"{slug}.md"
    if headnote.is_file():
        shutil.copyfile(headnote, book / "headnotes" / f"{new}.md")
    return new


def make_synthetic_book(source: Path, target: Path, repeats: int = REPEATS) -> Path:
    """A copy of the book whose parts, with their chapters, are repeated `repeats` times (50 chapters for five
    essays): the scaling benchmark's ten-times-larger anthology. Slugs stay unique; titles repeat. The original
    chapters stay in the first repetition, so cross-references to them still resolve."""
    shutil.copytree(source, target)
    config_path = target / "book.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    parts = []
    for copy in range(1, repeats + 1):
        for part in config["parts"]:
            parts.append({**part, "chapters": [repeat_chapter(target, slug, copy) for slug in part["chapters"]]})
    config["parts"] = parts
    header = (
        f"# Synthetic anthology for benchmarks/bench.py: {source}/book.yaml with its parts repeated {repeats} times.\n"
    )
    config_path.write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


# ---- Baselines ----------------------------------------------------------------------------------------------------

FLOOR_CODE = (
    "import sys, weasyprint; weasyprint.HTML(filename=sys.argv[1], base_url=sys.argv[2]).write_pdf(sys.argv[3])"
)
# The same render with WeasyPrint's fontTools fallback for font subsetting, as on a machine without Debian's
# libharfbuzz-subset0 (issue 11: does installing it speed the build up?).
FONTTOOLS_CODE = (
    "import logging, sys, weasyprint; import weasyprint.pdf.fonts as fonts; fonts.harfbuzz_subset = None; "
    "logging.getLogger('weasyprint').setLevel(logging.ERROR); "
    "weasyprint.HTML(filename=sys.argv[1], base_url=sys.argv[2]).write_pdf(sys.argv[3])"
)

# The same render with Python's cycle collector at the thresholds the build's own processes use
# (build.COLLECTION_THRESHOLDS): how much of the build's lead over the floor is that setting alone.
COLLECT_LESS_CODE = (
    "import sys, weasyprint; from anthology.build import collect_less; collect_less(); "
    "weasyprint.HTML(filename=sys.argv[1], base_url=sys.argv[2]).write_pdf(sys.argv[3])"
)


def print_html_for(bench: Bench, built: Path, slug: str) -> Path | None:
    """The final print HTML for the engine floor: the whole book as one document, with its final page numbers as
    text, which every print build leaves in its book's print cache, `O/.cache/print/<slug>-<digest>/` (the digest
    names the book's folder). Found by its name, so a change of the folder's naming does not lose it; of several,
    the newest. None (and a fact saying why) if missing."""
    found = sorted(
        (built / ".cache").rglob(PRINT_HTML_NAME),
        key=lambda path: (path.parent.name.startswith(f"{slug}-"), path.stat().st_mtime),
    )
    if found:
        bench.facts["print_html"] = f"the build's {found[-1].relative_to(built)}"
        kept = bench.work / PRINT_HTML_NAME
        shutil.copyfile(found[-1], kept)
        return kept
    bench.facts["print_html"] = f"unavailable: the build left no {PRINT_HTML_NAME} under {built / '.cache'}"
    return None


def naive_env() -> dict[str, str]:
    """pandoc finds `weasyprint` on PATH: this Python environment's own executable."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def naive_pandoc(book: Path, target: Path) -> list[str]:
    """What a user would do by hand: the cleaned texts concatenated by pandoc and printed through WeasyPrint."""
    import pypandoc

    texts = sorted(str(path) for path in (book / "texts").glob("*.md"))
    return [pypandoc.get_pandoc_path(), *texts, "--pdf-engine=weasyprint", "-o", str(target)]


# ---- One run ------------------------------------------------------------------------------------------------------

LABELS = {
    "cold_all": ("cold build, all editions (invoke build)", "fresh, empty O"),
    "cold_pdf": ("cold print PDF (invoke pdf)", "fresh, empty O"),
    "cold_html": ("cold HTML site (invoke html)", "fresh, empty O"),
    "cold_epub": ("cold EPUB (invoke epub)", "a copy of the O `invoke pdf` built (the EPUB reads the PDF's pages)"),
    "noop": ("no-op rebuild (invoke build)", "same O, nothing changed"),
    "edit_pdf": ("one-word edit: invoke pdf", "O holds the previous full build"),
    "edit_epub": ("one-word edit: invoke epub", "O holds the previous full build"),
    "edit_html": ("one-word edit: invoke html", "O holds the previous full build"),
    "edit_all": ("one-word edit: invoke build", "O holds the previous full build"),
    "floor": ("baseline: engine floor (WeasyPrint alone)", "final print HTML → PDF, one subprocess"),
    "naive": ("baseline: naive pandoc --pdf-engine=weasyprint", "book/texts/*.md concatenated"),
    "floor_fonttools": (
        "engine floor, fonts subset by fontTools",
        "as the engine floor, with HarfBuzz-Subset switched off (as without libharfbuzz-subset0)",
    ),
    "floor_collect": (
        "engine floor, the build's collector thresholds",
        "as the engine floor, with Python's cycle collector set as the build's processes set it",
    ),
}


def cold_editions(bench: Bench, book: Path, run_dir: Path, slug: str) -> None:
    """Each edition alone into a fresh folder; the EPUB's folder first receives the print PDF it reads."""
    pdf = run_dir / "out-pdf" / f"{slug}.pdf"
    bench.run("cold_pdf", invoke("pdf", book, pdf.parent), run_dir / "logs" / "cold_pdf.log", pdf)
    bench.run("cold_html", invoke("html", book, run_dir / "out-html"), run_dir / "logs" / "cold_html.log")
    epub_out = run_dir / "out-epub"
    if pdf.parent.is_dir():  # the EPUB reads the print PDF of the same sources: the folder `invoke pdf` built
        shutil.copytree(pdf.parent, epub_out)
    else:
        epub_out.mkdir()
    bench.run("cold_epub", invoke("epub", book, epub_out), run_dir / "logs" / "cold_epub.log")


def baselines(bench: Bench, book: Path, run_dir: Path, built: Path) -> None:
    """The engine floor and the naive pandoc render, in the same run as the builds they are compared with."""
    html = print_html_for(bench, built, book_slug(book))
    floor_pdf = run_dir / "floor.pdf"
    if html is None:
        bench.rows["floor"].samples.append(Sample(0.0, 0, bench.facts["print_html"]))
    else:
        command = [sys.executable, "-c", FLOOR_CODE, str(html), str(STYLES) + "/", str(floor_pdf)]
        bench.run("floor", command, run_dir / "logs" / "floor.log", floor_pdf)
        fonttools_pdf = run_dir / "floor-fonttools.pdf"
        command = [sys.executable, "-c", FONTTOOLS_CODE, str(html), str(STYLES) + "/", str(fonttools_pdf)]
        bench.run("floor_fonttools", command, run_dir / "logs" / "floor-fonttools.log", fonttools_pdf)
        collect_pdf = run_dir / "floor-collect.pdf"
        command = [sys.executable, "-c", COLLECT_LESS_CODE, str(html), str(STYLES) + "/", str(collect_pdf)]
        bench.run("floor_collect", command, run_dir / "logs" / "floor-collect.log", collect_pdf)
    naive_pdf = run_dir / "naive.pdf"
    bench.run("naive", naive_pandoc(book, naive_pdf), run_dir / "logs" / "naive.log", naive_pdf, run_dir, naive_env())


def edits(bench: Bench, book: Path, run_dir: Path, built: Path) -> None:
    """Edit one word of one essay, then rebuild each edition from a copy of the full build made before the edit."""
    snapshot = run_dir / "snapshot"
    copy_tree(built, snapshot)
    try:
        bench.facts["edit"] = edit_one_word(edited_chapter(book))
    except (OSError, ValueError) as error:
        for key in ("edit_pdf", "edit_epub", "edit_html", "edit_all"):
            bench.rows[key].samples.append(Sample(0.0, 0, f"no edit made: {error}"))
        return
    for key, task in (("edit_pdf", "pdf"), ("edit_epub", "epub"), ("edit_html", "html"), ("edit_all", "build")):
        copy_tree(snapshot, built)
        bench.run(key, invoke(task, book, built), run_dir / "logs" / f"{key}.log")


def one_run(bench: Bench, number: int) -> None:
    """Every measure once, in a folder of its own: cold, no-op, each edition, baselines, then the edit."""
    run_dir = bench.work / f"run-{number}"
    book = run_dir / "book"
    shutil.copytree(bench.book, book)
    built = run_dir / "out-all"
    slug = book_slug(book)
    bench.run("cold_all", invoke("build", book, built), run_dir / "logs" / "cold_all.log", built / f"{slug}.pdf")
    bench.run("noop", invoke("build", book, built), run_dir / "logs" / "noop.log")
    cold_editions(bench, book, run_dir, slug)
    baselines(bench, book, run_dir, built)
    edits(bench, book, run_dir, built)


# ---- Scaling ------------------------------------------------------------------------------------------------------


def scaling(bench: Bench) -> None:
    """Cold builds of the book and of its ten-times-larger synthetic version, one run each (unless the main runs
    already measured the book's cold build, whose median is then reused)."""
    scale_dir = bench.work / "scale"
    scale_dir.mkdir()
    small = bench.row("scale_small", "scaling: cold build of the book", "")
    if bench.rows.get("cold_all") and bench.rows["cold_all"].samples:
        small.samples, small.pages = bench.rows["cold_all"].samples, bench.rows["cold_all"].pages
        small.note = "the cold build above (median of its runs)"
    else:
        small.note = "one run"
        book = scale_dir / "book-small"
        shutil.copytree(bench.book, book)
        out = scale_dir / "out-small"
        bench.run(
            "scale_small", invoke("build", book, out), scale_dir / "logs" / "small.log", out / f"{book_slug(book)}.pdf"
        )
    large = bench.row("scale_large", f"scaling: cold build, chapters x{REPEATS} (synthetic)", "one run")
    try:
        book = make_synthetic_book(bench.book, scale_dir / "book")
    except (OSError, ValueError, KeyError, yaml.YAMLError) as error:
        large.samples.append(Sample(0.0, 0, f"could not generate the synthetic book: {error}"))
        return
    out = scale_dir / "out-large"
    bench.run(
        "scale_large", invoke("build", book, out), scale_dir / "logs" / "large.log", out / f"{book_slug(book)}.pdf"
    )
    chapters = sum(len(part["chapters"]) for part in yaml.safe_load((book / "book.yaml").read_text())["parts"])
    large.note = f"one run; {chapters} chapters"


# ---- Ratios and targets -------------------------------------------------------------------------------------------


@dataclass
class Check:
    """A ratio or figure, and its target when issue 11 sets one."""

    name: str
    value: float | None
    unit: str = ""
    target: str = ""
    passed: bool | None = None
    note: str = ""


def ratio(rows: dict[str, Row], top: str, bottom: str) -> float | None:
    """Ratio of two medians, or None if either is missing (a failed command)."""
    a, b = rows.get(top), rows.get(bottom)
    if a is None or b is None or a.median is None or not b.median:
        return None
    return a.median / b.median


def cpu_bound(rows: dict[str, Row], top: str, bottom: str) -> float | None:
    """The shortest time `top` could take with its CPU time spread evenly over every core, over `bottom`'s time."""
    a, b = rows.get(top), rows.get(bottom)
    if a is None or b is None or a.cpu is None or not b.median:
        return None
    return a.cpu / (os.cpu_count() or 1) / b.median


def judged(name: str, value: float | None, limit: float, unit: str = "", strict: bool = False, note: str = "") -> Check:
    """A figure against its target: `≤ limit` (`< limit` when strict); a missing figure (a failed command) fails."""
    target = f"{'<' if strict else '≤'} {limit:g}{unit}"
    if value is None:
        return Check(name, None, unit, target, False, note or "not measured: a command failed")
    return Check(name, value, unit, target, value < limit if strict else value <= limit, note)


def build_checks(rows: dict[str, Row]) -> list[Check]:
    """Ratios to the baselines and the build targets of issue 11, from this run's medians."""
    return [
        judged("cold build, all editions ÷ engine floor", ratio(rows, "cold_all", "floor"), TARGET_COLD_PER_FLOOR),
        Check("cold print PDF ÷ engine floor", ratio(rows, "cold_pdf", "floor")),
        Check(
            "cold build, all editions: CPU time ÷ cores ÷ engine floor",
            cpu_bound(rows, "cold_all", "floor"),
            note="the first ratio's lower bound on this machine, however well the work is spread over the cores",
        ),
        Check(
            "cold build, all editions ÷ engine floor at the build's collector thresholds",
            ratio(rows, "cold_all", "floor_collect"),
            note="the floor given the collector setting the build's processes use (not the target's floor)",
        ),
        Check("cold build, all editions ÷ naive pandoc", ratio(rows, "cold_all", "naive")),
        Check("engine floor: fontTools ÷ HarfBuzz-Subset subsetting", ratio(rows, "floor_fonttools", "floor")),
        judged("one-word edit, PDF ÷ cold PDF", ratio(rows, "edit_pdf", "cold_pdf"), TARGET_EDIT_PDF_RATIO),
        judged("no-op rebuild", rows["noop"].median, TARGET_NOOP_S, " s", strict=True),
        judged("one-word edit, HTML", rows["edit_html"].median, TARGET_EDIT_SCREEN_S, " s", strict=True),
        judged("one-word edit, EPUB", rows["edit_epub"].median, TARGET_EDIT_SCREEN_S, " s", strict=True),
    ]


def scale_checks(rows: dict[str, Row]) -> list[Check]:
    """The scaling targets: time ratio of the ten-times-larger book, and its peak memory."""
    large = rows["scale_large"]
    note = "; ".join(large.errors)
    peak = large.peak / GB if large.peak and not note else None
    return [
        judged(
            f"scaling: x{REPEATS} chapters ÷ book, cold build",
            ratio(rows, "scale_large", "scale_small"),
            TARGET_SCALE_RATIO,
            note=note,
        ),
        judged(f"scaling: peak memory, x{REPEATS} chapters", peak, TARGET_SCALE_PEAK_GB, " GB", strict=True, note=note),
    ]


def checks(rows: dict[str, Row]) -> list[Check]:
    return (build_checks(rows) if "cold_all" in rows else []) + (scale_checks(rows) if "scale_large" in rows else [])


# ---- Report -------------------------------------------------------------------------------------------------------


def seconds_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def measures_table(bench: Bench) -> Table:
    """One line per measure: median time, every run's time, peak memory, pages per second, conditions."""
    table = Table(title="anthology build benchmark", title_justify="left")
    for column in ("measure", "median s", "runs (s)", "CPU s", "peak RSS MB", "with forks MB", "pages", "pages/s"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_column("conditions", overflow="fold")
    for row in bench.rows.values():
        runs = ", ".join("failed" if s.error else f"{s.seconds:.1f}" for s in row.samples)
        note = "; ".join([row.note, *[f"[red]FAILED: {error}[/red]" for error in dict.fromkeys(row.errors)]])
        table.add_row(
            row.label,
            seconds_text(row.median),
            runs or "—",
            seconds_text(row.cpu),
            f"{row.peak / MB:.0f}" if row.peak else "—",
            f"{row.peak_forks / MB:.0f}" if row.peak_forks else "—",
            str(row.pages or "—"),
            f"{row.pages_per_second:.1f}" if row.pages_per_second else "—",
            note.strip("; "),
        )
    return table


def checks_table(results: list[Check]) -> Table:
    """Ratios to the baselines, and each target of issue 11 with PASS or FAIL beside the measured figure."""
    table = Table(title="ratios and targets (issue 11)", title_justify="left")
    for column in ("figure", "measured", "target", "result"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    table.add_column("note", overflow="fold")
    for check in results:
        measured = "—" if check.value is None else f"{check.value:.2f}{check.unit}"
        result = "" if check.passed is None else ("[green]PASS[/green]" if check.passed else "[red]FAIL[/red]")
        table.add_row(check.name, measured, check.target or "—", result, check.note)
    return table


def facts_text(bench: Bench, runs: int) -> list[str]:
    """What the figures depend on: book, runs, the edit, which print HTML the floor used, the machine."""
    facts = {
        "book": str(bench.book),
        "runs": f"{runs} (medians of times and of CPU times; memory: highest peak of the runs, summed RSS of the "
        "process tree, children not yet exec'd left out, workers forked by the fork server counted)",
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}",
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "not set"),
        **bench.facts,
    }
    return [f"{key}: {value}" for key, value in facts.items()]


def figures_json(bench: Bench, runs: int, results: list[Check]) -> dict[str, Any]:
    """Every figure of the run, for --out-json."""
    rows = {
        key: {
            "label": row.label,
            "conditions": row.note,
            "runs": [asdict(sample) for sample in row.samples],
            "median_s": row.median,
            "median_cpu_s": row.cpu,
            "peak_rss_bytes": row.peak,
            "peak_rss_with_forks_bytes": row.peak_forks,
            "pages": row.pages,
            "pages_per_s": row.pages_per_second,
        }
        for key, row in bench.rows.items()
    }
    return {
        "runs": runs,
        "facts": dict(line.split(": ", 1) for line in facts_text(bench, runs)),
        "measures": rows,
        "checks": [asdict(check) for check in results],
    }


def report(bench: Bench, runs: int, out_json: str | None) -> None:
    console = Console(width=None if sys.stdout.isatty() else 200)  # a log file gets the table unwrapped
    results = checks(bench.rows)
    console.print(measures_table(bench))
    if results:
        console.print(checks_table(results))
    for line in facts_text(bench, runs):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if out_json:
        Path(out_json).write_text(json.dumps(figures_json(bench, runs, results), indent=2) + "\n", encoding="utf-8")


# ---- What each speed mechanism saves (issue 25) -------------------------------------------------------------------

# A mechanism pays for its complexity (issue 25) if the build without it is slower by at least this share of the
# build with every mechanism on: the cold build of all editions, or the one-word edit build of all editions.
KEEP_COLD = 0.10
KEEP_EDIT = 0.30
DISABLE_VARIABLE = "ANTHOLOGY_DISABLE"  # build.DISABLE_VARIABLE: names of mechanisms to switch off, comma-separated
PLAIN_VARIABLE = "ANTHOLOGY_PLAIN"  # build.PLAIN_VARIABLE: the print edition by the plain path
REFERENCE = "all-on"
MECHANISMS_CODE = (
    "import json; from anthology.build import MECHANISMS as m; "
    "d = {str(k): str(v) for k, v in m.items()} if isinstance(m, dict) else dict.fromkeys(map(str, m), ''); "
    "print(json.dumps(d))"
)


def mechanism_names(env: dict[str, str]) -> dict[str, str]:
    """build.MECHANISMS of this checkout, name → what it does, read by a subprocess (nothing of the pipeline is
    imported here), so that a mechanism added there is measured with no change here."""
    done = subprocess.run(
        [sys.executable, "-c", MECHANISMS_CODE], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"could not read anthology.build.MECHANISMS from {ROOT / 'src'}: {last}")
    return dict(json.loads(done.stdout))


@dataclass
class Configuration:
    """One way of building the book: its name, what it is, what it sets in the build's environment, and the
    samples of its cold builds and of its one-word edit builds."""

    key: str
    label: str
    settings: dict[str, str]
    cold: list[Sample] = field(default_factory=list)
    edit: list[Sample] = field(default_factory=list)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """`base` with this configuration's settings, and none of the two variables inherited from outside."""
        env = {key: value for key, value in base.items() if key not in (DISABLE_VARIABLE, PLAIN_VARIABLE)}
        return env | self.settings


def configurations(mechanisms: dict[str, str]) -> list[Configuration]:
    """The reference (every mechanism on), then each mechanism switched off alone, the plain path, and the plain
    path with every mechanism off."""
    return [
        Configuration(REFERENCE, "every mechanism on: the build as it is", {}),
        *(
            Configuration(name, f"without it: {text}" if text else "without it", {DISABLE_VARIABLE: name})
            for name, text in mechanisms.items()
        ),
        Configuration("plain", "the plain path: the print edition laid out as one document", {PLAIN_VARIABLE: "1"}),
        Configuration(
            "all-off",
            "the plain path with every mechanism above off",
            {DISABLE_VARIABLE: ",".join(mechanisms), PLAIN_VARIABLE: "1"},
        ),
    ]


def mechanism_plan(configs: list[Configuration], runs: int) -> list[tuple[int, Configuration]]:
    """(round, configuration) in the order measured: each configuration once a round, the order turned by one place
    each round, so that a slow spell of the shared machine does not always fall on the same configurations."""
    return [(number, configs[(number + i) % len(configs)]) for number in range(runs) for i in range(len(configs))]


def cold_and_edit(bench: Bench, config: Configuration, folder: Path) -> tuple[Sample, Sample]:
    """A cold build of all editions of a fresh copy of the book into a fresh folder, then the one-word edit and a
    build of all editions into the same folder, both in the configuration's environment."""
    book, out, env = folder / "book", folder / "out", config.env(bench.env)
    shutil.copytree(bench.book, book)
    cold = measure(invoke("build", book, out), folder / "logs" / "cold.log", env, ROOT, bench.timeout)
    if cold.error:
        return cold, Sample(0.0, 0, "not measured: the cold build before it failed")
    try:
        bench.facts["edit"] = edit_one_word(edited_chapter(book))
    except (OSError, ValueError) as error:
        return cold, Sample(0.0, 0, f"no edit made: {error}")
    return cold, measure(invoke("build", book, out), folder / "logs" / "edit.log", env, ROOT, bench.timeout)


Measurer = Callable[[Bench, Configuration, Path], tuple[Sample, Sample]]


def run_mechanisms(
    bench: Bench, configs: list[Configuration], runs: int, keep: bool, measurer: Measurer = cold_and_edit
) -> None:
    """Measure every configuration `runs` times in the plan's order; each one's folder goes once measured (disk)."""
    plan = mechanism_plan(configs, runs)
    for step, (number, config) in enumerate(plan, 1):
        folder = bench.work / f"round-{number + 1}" / config.key
        PROGRESS.print(f"{step}/{len(plan)} round {number + 1}: {config.key}", end="")
        cold, edit = measurer(bench, config, folder)
        config.cold.append(cold)
        config.edit.append(edit)
        PROGRESS.print("".join(f", {name} " + sample_text(s) for name, s in (("cold", cold), ("edit", edit))))
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def sample_text(sample: Sample) -> str:
    return f"FAILED ({sample.error})" if sample.error else f"{sample.seconds:.1f} s"


def median_seconds(samples: list[Sample]) -> float | None:
    """Median time of the runs that succeeded; None if any failed (a failure is no figure to compare)."""
    if not samples or any(sample.error for sample in samples):
        return None
    return statistics.median(sample.seconds for sample in samples)


def slower(value: float | None, reference: float | None) -> float | None:
    """How much slower than the reference, as a share of the reference's time (0.1: 10 % slower)."""
    return None if value is None or not reference else (value - reference) / reference


def verdict(cold_slower: float | None, edit_slower: float | None) -> str:
    """Keep a mechanism whose absence slows the cold build by ≥ KEEP_COLD or the edit build by ≥ KEEP_EDIT; drop
    it if both were measured and neither does; else it was not measured."""
    if (cold_slower is not None and cold_slower >= KEEP_COLD) or (edit_slower is not None and edit_slower >= KEEP_EDIT):
        return "keep"
    return "not measured" if cold_slower is None or edit_slower is None else "drop"


@dataclass
class Saving:
    """One line of the mechanisms table: a configuration's medians, against the reference's, and the verdict."""

    key: str
    label: str
    settings: dict[str, str]
    cold_s: float | None
    cold_slower: float | None
    edit_s: float | None
    edit_slower: float | None
    verdict: str
    errors: list[str]


def savings(configs: list[Configuration]) -> list[Saving]:
    """Each configuration's line; the reference's verdict is that it is the reference."""
    reference = next(config for config in configs if config.key == REFERENCE)
    cold_ref, edit_ref = median_seconds(reference.cold), median_seconds(reference.edit)
    lines = []
    for config in configs:
        cold, edit = median_seconds(config.cold), median_seconds(config.edit)
        cold_slower, edit_slower = slower(cold, cold_ref), slower(edit, edit_ref)
        errors = list(dict.fromkeys(sample.error for sample in config.cold + config.edit if sample.error))
        judged = "reference" if config is reference else verdict(cold_slower, edit_slower)
        line = Saving(config.key, config.label, config.settings, cold, cold_slower, edit, edit_slower, judged, errors)
        lines.append(line)
    return lines


def share_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f} %"


def savings_table(lines: list[Saving]) -> Table:
    """mechanism | cold s | cold vs all-on | edit s | edit vs all-on | verdict | what it is."""
    title = (
        f"what each speed mechanism saves (issue 25): keep if the build without it is ≥ {KEEP_COLD:.0%} slower cold "
        f"or ≥ {KEEP_EDIT:.0%} slower after a one-word edit"
    )
    table = Table(title=title, title_justify="left")
    for column in ("mechanism", "cold s", f"cold vs {REFERENCE}", "edit s", f"edit vs {REFERENCE}", "verdict"):
        table.add_column(column, justify="left" if column == "mechanism" else "right")
    table.add_column("switched off / conditions", overflow="fold")
    colours = {"keep": "green", "drop": "red", "not measured": "yellow"}
    for line in lines:
        colour = colours.get(line.verdict)
        shown = f"[{colour}]{line.verdict}[/{colour}]" if colour else line.verdict
        note = "; ".join([line.label, *[f"[red]FAILED: {error}[/red]" for error in line.errors]])
        table.add_row(
            line.key,
            seconds_text(line.cold_s),
            share_text(line.cold_slower),
            seconds_text(line.edit_s),
            share_text(line.edit_slower),
            shown,
            note,
        )
    return table


def mechanisms_facts(bench: Bench, runs: int) -> dict[str, str]:
    return {
        "book": str(bench.book),
        "runs": f"{runs} (medians; each round measures every configuration once, its order turned by one place)",
        "cold": "invoke build of a fresh copy of the book into a fresh, empty O",
        "edit": f"the one-word edit, then invoke build into the same O ({bench.facts.get('edit', 'not made')})",
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}",
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "not set"),
    }


def mechanisms_json(configs: list[Configuration], lines: list[Saving], facts: dict[str, str]) -> dict[str, Any]:
    """Every figure of the mechanisms run, for --out-json."""
    samples = {
        config.key: {"cold": [asdict(s) for s in config.cold], "edit": [asdict(s) for s in config.edit]}
        for config in configs
    }
    return {
        "thresholds": {"cold": KEEP_COLD, "edit": KEEP_EDIT},
        "facts": facts,
        "configurations": [asdict(line) | {"runs": samples[line.key]} for line in lines],
    }


def report_mechanisms(bench: Bench, configs: list[Configuration], runs: int, out_json: str | None) -> list[Saving]:
    console = Console(width=None if sys.stdout.isatty() else 200)
    lines = savings(configs)
    facts = mechanisms_facts(bench, runs)
    console.print(savings_table(lines))
    for key, value in facts.items():
        console.print(f"{key}: {value}", highlight=False, markup=False, soft_wrap=True)
    if out_json:
        Path(out_json).write_text(json.dumps(mechanisms_json(configs, lines, facts), indent=2) + "\n", encoding="utf-8")
    return lines


def mechanisms_main(bench: Bench, runs: int, keep: bool, out_json: str | None) -> int:
    """The --mechanisms mode: exit status 1 if a build failed or the mechanisms could not be read."""
    try:
        names = mechanism_names(bench.env)
    except (RuntimeError, ValueError) as error:
        PROGRESS.print(f"error: {error}", markup=False)
        return 1
    configs = configurations(names)
    run_mechanisms(bench, configs, runs, keep)
    lines = report_mechanisms(bench, configs, runs, out_json)
    return 1 if any(line.errors for line in lines) else 0


# ---- Command line -------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measure; times are medians (default: 3)")
    parser.add_argument("--quick", action="store_true", help="one run, no scaling (unless --scale)")
    parser.add_argument("--scale", action="store_true", help="also the scaling benchmark (the default unless --quick)")
    parser.add_argument("--scale-only", action="store_true", help="only the scaling benchmark")
    parser.add_argument(
        "--mechanisms",
        action="store_true",
        help="only what each speed mechanism saves: cold and one-word edit builds with each switched off (issue 25)",
    )
    parser.add_argument("--out-json", metavar="FILE", help="also write every figure to FILE as JSON")
    parser.add_argument("--book", default=str(ROOT / "book"), help="the book folder (default: book/)")
    parser.add_argument("--work", metavar="DIR", help="make the temporary folder in DIR (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (outputs, logs) afterwards")
    parser.add_argument("--timeout", type=float, default=0, help="stop a command after this many seconds (0: never)")
    return parser.parse_args(argv)


def measure_all(bench: Bench, runs: int, builds: bool, scale: bool, keep: bool) -> None:
    """The runs, then the scaling benchmark; each run's folder is removed as soon as it is done (disk)."""
    if builds:
        for key, (label, note) in LABELS.items():
            bench.row(key, label, note)
        for number in range(1, runs + 1):
            PROGRESS.print(f"run {number} of {runs} (work folder {bench.work})")
            one_run(bench, number)
            if not keep:
                shutil.rmtree(bench.work / f"run-{number}", ignore_errors=True)
    if scale:
        PROGRESS.print("scaling")
        scaling(bench)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables; exit status 1 if a measured command failed (targets missed are not errors)."""
    args = parse_args(argv)
    adopt_orphans()
    runs = 1 if args.quick or args.scale_only else max(1, args.runs)
    scale = args.scale_only or args.scale or not args.quick
    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="anthology-bench-", dir=args.work))
    bench = Bench(book=Path(args.book).resolve(), work=work, env=project_env(), timeout=args.timeout)
    if args.mechanisms:
        try:
            return mechanisms_main(bench, 1 if args.quick else max(1, args.runs), args.keep, args.out_json)
        finally:
            if args.keep:
                PROGRESS.print(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    try:
        measure_all(bench, runs, not args.scale_only, scale, args.keep)
    finally:
        if args.keep:
            PROGRESS.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(bench, runs, args.out_json)
    return 1 if any(row.errors for row in bench.rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
