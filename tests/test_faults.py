"""Faults (issue 26): damaged caches, a build killed at several points, a full disk, an output folder that cannot
be written, and the layout's budgets.

Every kind of cache entry, cut short by half or altered in its middle, is discarded with a warning naming it and
made again: the build exits 0 and gives the clean build's outputs. A build killed with SIGKILL (during load, the
layout, the EPUB's writing, the swap into place) leaves no worker process behind, no scratch outside its output
folder, the previous outputs as they were, and the next build gives what a clean build gives. The fixture book
(tests/fixtures/minibook) throughout.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from anthology import atomic, build, cli
from anthology.build import output_path
from anthology.model import Project
from anthology.render.print import renderer
from conftest import MINIBOOK, ROOT, STYLES, Built, build_into
from runs import build_here
from test_incremental import differences

# ---- Helpers -------------------------------------------------------------------------------------------------------


def editions(out: Path, slug: str = "minibook") -> dict[str, Path]:
    project = Project(book_dir=MINIBOOK, styles_dir=STYLES, build_dir=out)
    found = {name: output_path(project, slug, name) for name in ("pdf", "screen", "epub")}
    return found | {"html": output_path(project, slug, "html") / "index.html"}


def output_bytes(out: Path, reports: bool = True) -> dict[str, bytes]:
    """Every output of the minibook in `out`, file by file: the PDFs, the EPUB, the site and (with `reports`) the
    typesetting reports beside the PDFs, which count the layouts a build made."""
    names = ("minibook.pdf", "minibook-screen.pdf", "minibook.epub")
    names += ("minibook.pdf.json", "minibook-screen.pdf.json") if reports else ()
    found = {name: (out / name).read_bytes() for name in names if (out / name).is_file()}
    for path in sorted((out / "html").rglob("*")):
        if path.is_file():
            found[str(path.relative_to(out))] = path.read_bytes()
    return found


def run_build(book: Path, out: Path) -> tuple[int, str]:
    """`invoke build --book BOOK --out OUT` as its task runs it, in this process (tests/runs.py): its exit status
    and what it printed to stderr (the Exit's message included)."""
    done = build_here(book, out)
    return done.returncode, done.stderr


def edited_copy(folder: Path) -> Path:
    """A copy of the fixture book whose first chapter's closing sentence is changed."""
    shutil.copytree(MINIBOOK, folder)
    alpha = folder / "texts" / "alpha.md"
    text = alpha.read_text(encoding="utf-8")
    assert "Closing sentence of alpha." in text
    alpha.write_text(text.replace("Closing sentence of alpha.", "Alpha now closes otherwise."), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The edited fixture book, built clean: what every build of it must give."""
    book = edited_copy(tmp_path_factory.mktemp("edited") / "book")
    return build_into(book, tmp_path_factory.mktemp("edited-clean"))


# ---- Damaged caches ------------------------------------------------------------------------------------------------


def print_cache(out: Path) -> Path:
    (folder,) = (out / ".cache" / "print").iterdir()
    return folder


# Each kind of cache entry: where its files are in an output folder, and the warning its damage gives.
KINDS: dict[str, tuple[Callable[[Path], list[Path]], str]] = {
    "pandoc-result": (lambda out: sorted((out / ".cache" / "pandoc").glob("*/*")), "W061"),
    "segment-result": (lambda out: sorted(print_cache(out).glob("segments/*/result.json")), "W064"),
    "segment-pdf": (lambda out: sorted(print_cache(out).glob("segments/*/print.pdf")), "W064"),
    "segment-links": (lambda out: sorted(print_cache(out).glob("segments/*/links.json")), "W064"),
    "screen-pdf": (lambda out: sorted(print_cache(out).glob("segments/*/screen.pdf")), "W064"),
    "folio-document": (lambda out: sorted(print_cache(out).glob("folios-*.pdf")), "W064"),
    "folio-record": (lambda out: [print_cache(out) / "folios.json"], "W064"),
    "pages": (lambda out: [print_cache(out) / "pages.json"], "W064"),
    "manifest": (lambda out: [out / ".cache" / "manifest.json"], "W064"),
}


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    assert len(data) > 64, path
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # altered: the same length, 32 bytes in the middle inverted
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 32]) + data[middle + 32 :])


def warned_entries(printed: str, code: str) -> set[str]:
    return set(re.findall(rf"^(\S+): warning {code}: ", printed, re.MULTILINE))


@pytest.mark.parametrize("how", ["truncated", "altered"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_damaged_cache_entry_is_discarded_with_a_warning_and_made_again(built_minibook, tmp_path, capsys, kind, how):
    """The fixture book's build folder with every entry of one kind damaged, built again (the manifest removed, so
    that the build reads its caches; for the manifest's own case, damaged): exit 0, a warning naming a damaged
    entry, the clean build's outputs, and the kind's entries sound again (the next build does nothing)."""
    out = tmp_path / "out"
    shutil.copytree(built_minibook.project.build_dir, out)
    entries, code = KINDS[kind]
    found = entries(out)
    assert found and all(path.is_file() for path in found), kind
    if kind != "manifest":
        (out / ".cache" / "manifest.json").unlink()
    for path in found:
        damage(path, how)
    status, printed = run_build(MINIBOOK, out)
    assert status == 0, printed
    warned = warned_entries(printed, code)
    damaged = {str(path) for path in found} | {str(path.parent) for path in found}
    assert warned and warned <= damaged, printed
    clean = editions(built_minibook.project.build_dir)
    assert differences(editions(out), clean, tmp_path / "pages") == []
    assert output_bytes(out, reports=False) == output_bytes(built_minibook.project.build_dir, reports=False)
    status, again = run_build(MINIBOOK, out)
    assert status == 0 and "nothing to do" in again, again
    assert "warning" not in again, again


@pytest.mark.parametrize("how", ["truncated", "altered"])
def test_damaged_print_pages_are_discarded_and_the_pdf_read_instead(built_minibook, tmp_path, capsys, how):
    """An EPUB built alone, its PDF current, takes the print pages' text saved beside the PDF: damaged, it is
    discarded with a warning and the PDF itself is read; the EPUB is the clean build's."""
    from invoke.exceptions import Exit

    out = tmp_path / "out"
    shutil.copytree(built_minibook.project.build_dir, out)
    saved = out / ".cache" / "minibook.pdf.pages.json"
    damage(saved, how)
    (out / "minibook.epub").unlink()
    capsys.readouterr()
    try:
        cli.run_build(str(MINIBOOK), ROOT, ["epub"], out=str(out))
    except Exit as stopped:
        pytest.fail(f"the build stopped: {capsys.readouterr().err}{stopped.message}", pytrace=False)
    printed = capsys.readouterr().err
    assert warned_entries(printed, "W064") == {str(saved)}, printed
    assert (out / "minibook.epub").read_bytes() == built_minibook.epub.read_bytes()


def test_a_sealed_file_is_read_only_as_written(tmp_path):
    """The seal's digest covers every value: a file cut short, altered (even into other valid JSON), or without a
    seal is refused; it stays plain JSON."""
    path = tmp_path / "entry.json"
    atomic.write_sealed(path, {"a": [1, 2, 3], "b": "text"})
    assert atomic.read_sealed(path) == {"a": [1, 2, 3], "b": "text"}
    assert json.loads(path.read_text(encoding="utf-8"))["a"] == [1, 2, 3]
    whole = path.read_bytes()
    for damaged in (whole[:-3], whole.replace(b"2", b"7"), b'{"a": [1, 2, 3], "b": "text"}', b"", b"[1]"):
        path.write_bytes(damaged)
        with pytest.raises(atomic.Damaged):
            atomic.read_sealed(path)
    path.unlink()
    with pytest.raises(FileNotFoundError):
        atomic.read_sealed(path)


# ---- A build killed ------------------------------------------------------------------------------------------------

MARK = "ANTHOLOGY_FAULT_TEST_MARK"


def marked_processes(mark: str) -> list[str]:
    """The processes (pid and command line) whose environment carries this mark: the build and what it started."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"{MARK}={mark}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                found.append(f"{proc.name}: {command.strip()}")
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def gone_within(mark: str, seconds: float) -> list[str]:
    """The marked processes still there after waiting up to `seconds` for them to end (a hang guard, not a timing:
    a parent-death signal ends them at once)."""
    deadline = time.monotonic() + seconds
    while (left := marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def kill_build_at(book: Path, out: Path, pattern: str, tmp: Path) -> tuple[str, str]:
    """`invoke build` in a process of its own, killed with SIGKILL as soon as its progress shows `pattern`: what
    it printed, and its mark (in its environment and its children's)."""
    mark = uuid.uuid4().hex
    environment = os.environ | {MARK: mark, "TMPDIR": str(tmp)}
    command = [sys.executable, "-m", "invoke", "build", "--book", str(book), "--out", str(out)]
    printed = []
    with subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        assert process.stderr is not None
        for line in iter(process.stderr.readline, b""):
            printed.append(line.decode("utf-8", "replace"))
            if re.search(pattern, printed[-1]):
                process.send_signal(signal.SIGKILL)
                break
    assert process.returncode == -signal.SIGKILL, f"the build ended before {pattern!r}:\n{''.join(printed)}"
    return "".join(printed), mark


KILL_POINTS = {
    "load": r"\bload /",
    "layout": r"\brender pdf and screen\b",
    "epub-writing": r"\bepub: page markers\b",
    "swap": r"\bswap: ",
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_build_killed_leaves_no_process_no_scratch_and_the_previous_outputs(built_minibook, edited, tmp_path, point):
    """The fixture book's outputs in place, then a build of the edited book into the same folder killed at a point:
    no process of the build outlives it, no file was left in its temporary folder (TMPDIR) but Python's
    multiprocessing socket folder, the previous outputs are as they were (killed during the swap: the swap is
    completed by the next build), and the next build gives the edited book's clean build."""
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    shutil.copytree(built_minibook.project.build_dir, out)
    before = output_bytes(out)
    book = edited_copy(tmp_path / "book")
    printed, mark = kill_build_at(book, out, KILL_POINTS[point], tmp)
    assert gone_within(mark, 10) == [], printed
    left = [path.name for path in tmp.iterdir()]  # not even multiprocessing's pymp-* folder: it is in the scratch
    assert left == [], f"scratch left outside the output folder: {left}"
    if point != "swap":  # killed in the swap, the outputs may be the new ones already (or be by the next build)
        assert output_bytes(out) == before, "a killed build changed the outputs"
    build.build(Project(book_dir=book, styles_dir=STYLES, build_dir=out))
    assert not (out / atomic.STAGING).exists() and not (out / atomic.SCRATCH).exists()
    assert differences(editions(out), editions(edited.project.build_dir), tmp_path / "pages") == []


def every_output(out: Path) -> dict[str, bytes]:
    """Every file of an output folder but its caches, lock, staging and scratch (the names starting with a dot)."""
    return {
        str(path.relative_to(out)): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(out).parts)
    }


def test_the_anthology_killed_during_its_layout_leaves_no_process_and_its_outputs(built, tmp_path):
    """The anthology's build folder, then a copy of the book with a sentence added to an essay built there and
    killed as its layout starts: no process of the build outlives it, no scratch is left outside the output folder,
    the outputs are as they were; the next build succeeds with the sentence in every edition."""
    from outputs import epub_text, letters, pdf_body_text, site_text

    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    shutil.copytree(built.project.build_dir, out)
    before = every_output(out)
    book = tmp_path / "book"
    shutil.copytree(built.project.book_dir, book)
    essay = book / "texts" / f"{built.book.chapters[-1].slug}.md"
    added = "Plenipotentiaries convened after the anthology was last built."
    essay.write_text(essay.read_text(encoding="utf-8") + f"\n{added}\n", encoding="utf-8")
    printed, mark = kill_build_at(book, out, KILL_POINTS["layout"], tmp)
    assert gone_within(mark, 10) == [], printed
    assert [path.name for path in tmp.iterdir()] == []
    assert every_output(out) == before, "a killed build changed the outputs"
    made = build.build(Project(book_dir=book, styles_dir=STYLES, build_dir=out))
    for text in (pdf_body_text(made["pdf"]), epub_text(made["epub"]), site_text(made["html"].parent)):
        assert letters(added) in letters(text)


def test_a_swap_cut_short_is_completed_by_the_next_build(built_minibook, edited, tmp_path, monkeypatch, capsys):
    """The swap into place stopped after its first move (as by a kill): the failed build says so, and the next build
    first completes the move, then gives the clean build."""
    out = tmp_path / "out"
    shutil.copytree(built_minibook.project.build_dir, out)
    book = edited_copy(tmp_path / "book")
    moves: list[str] = []
    real_replace = os.replace

    def stop_after_one(source: os.PathLike[str] | str, target: os.PathLike[str] | str) -> None:
        if atomic.STAGING in str(source) and Path(target).parent == out and moves:
            raise OSError(errno.EIO, "input/output error (stopped by the test)", str(target))
        real_replace(source, target)
        if atomic.STAGING in str(source) and Path(target).parent == out:
            moves.append(str(target))

    monkeypatch.setattr(atomic.os, "replace", stop_after_one)
    status, printed = run_build(book, out)
    monkeypatch.undo()
    assert status == cli.EXIT_INTERNAL_ERROR and len(moves) == 1, printed
    assert "were being moved into" in printed and "the next build completes the move" in printed, printed
    assert (out / atomic.STAGING / atomic.SWAP).is_file()
    status, printed = run_build(book, out)
    assert status == 0, printed
    assert differences(editions(out), editions(edited.project.build_dir), tmp_path / "pages") == []


def test_a_failed_build_says_that_nothing_was_replaced(built_minibook, tmp_path, capsys):
    """A book that fails (an unknown citation) into a folder holding a build: the outputs stay, and the message
    says so; into an empty folder: it says that nothing was written."""
    out = tmp_path / "out"
    shutil.copytree(built_minibook.project.build_dir, out)
    before = output_bytes(out)
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    beta = book / "texts" / "beta.md"
    beta.write_text(beta.read_text(encoding="utf-8") + "\nA claim [@no-such-work-anywhere].\n", encoding="utf-8")
    status, printed = run_build(book, out)
    assert status == cli.EXIT_INPUT_ERROR, printed
    assert f"nothing was replaced: {out}/ holds the last good build (pdf, screen, epub, html)" in printed
    assert output_bytes(out) == before
    status, printed = run_build(book, tmp_path / "empty")
    assert status == cli.EXIT_INPUT_ERROR and f"nothing was written: {tmp_path / 'empty'}/ holds no earlier" in printed


# ---- The machine's faults: a full disk, an output folder that cannot be written --------------------------------


def test_a_full_disk_is_reported_with_its_path_and_the_outputs_stay(built_minibook, tmp_path, monkeypatch, capsys):
    """ENOSPC, simulated in this process (no small disk can be mounted here): the site's assets fail to copy into
    the staging folder. The build stops with E063 naming the file and a hint, and the previous outputs stay."""
    from anthology.render.site import edition

    out = tmp_path / "out"
    shutil.copytree(built_minibook.project.build_dir, out)
    before = output_bytes(out)
    book = edited_copy(tmp_path / "book")
    real_copy = shutil.copy

    def full_disk(source: str | Path, target: str | Path) -> object:
        if atomic.STAGING in str(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        return real_copy(source, target)

    monkeypatch.setattr(edition.shutil, "copy", full_disk)
    status, printed = run_build(book, out)
    assert status == cli.EXIT_INPUT_ERROR, printed
    assert re.search(rf"^{re.escape(str(out))}/\S+: error E063: the disk is full", printed, re.MULTILINE), printed
    assert "hint: free space on the disk holding" in printed
    assert "nothing was replaced" in printed
    assert output_bytes(out) == before
    assert not (out / atomic.STAGING).exists() and not (out / atomic.SCRATCH).exists()


@pytest.mark.parametrize("where", ["out-is-a-file", "a-parent-is-a-file"])
def test_an_output_folder_that_cannot_be_written_is_reported(tmp_path, capsys, where):
    """A file where the output folder (or a folder above it) should be: E065 with the path and a hint (the tests
    run as root, so a read-only folder cannot be made: a file in its place fails the same way)."""
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder\n", encoding="utf-8")
    out = blocker if where == "out-is-a-file" else blocker / "out"
    status, printed = run_build(MINIBOOK, out)
    assert status == cli.EXIT_INPUT_ERROR, printed
    assert re.search(rf"^{re.escape(str(out))}: error E065: the output folder cannot be written", printed, re.M)
    assert "hint: " in printed and "internal error" not in printed
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder\n"


# ---- The layout's budgets ------------------------------------------------------------------------------------------


def long_chapter(book: Path, paragraphs: int) -> Path:
    """A copy of the minibook at `book` whose first chapter has `paragraphs` more paragraphs; the chapter's file."""
    shutil.copytree(MINIBOOK, book)
    alpha = book / "texts" / "alpha.md"
    paragraph = "A sentence of the long chapter, to be set and hyphenated like any other in the book. " * 6
    alpha.write_text(alpha.read_text(encoding="utf-8") + f"\n{paragraph}\n" * paragraphs, encoding="utf-8")
    return alpha


def test_a_layout_past_its_time_budget_stops_with_the_text_and_the_setting(tmp_path, monkeypatch, capsys):
    """A chapter of thousands of paragraphs laid out with a one-second budget: E044 names the chapter's file, the
    limit and the setting that raises it; no output is written and no worker is left laying it out."""
    book = tmp_path / "book"
    alpha = long_chapter(book, 600)
    monkeypatch.setenv("ANTHOLOGY_LAYOUT_SECONDS", "1")
    status, printed = run_build(book, tmp_path / "out")
    assert status == cli.EXIT_INPUT_ERROR, printed
    assert f"{alpha}: error E044: laying out alpha went past the layout's time budget (1 seconds" in printed
    assert "ANTHOLOGY_LAYOUT_SECONDS=2" in printed
    assert not (tmp_path / "out" / "minibook.pdf").exists()


def test_a_layout_past_its_memory_budget_stops_with_the_text_and_the_setting(tmp_path, monkeypatch, capsys):
    """A chapter of thousands of paragraphs laid out with a memory budget above what the fixture book's layouts
    take (under 90 MB resident a worker, warmed up) and below what this chapter's takes: E043 names the chapter's
    file, the limit and the setting that raises it."""
    book = tmp_path / "book"
    alpha = long_chapter(book, 2500)
    monkeypatch.setenv("ANTHOLOGY_LAYOUT_MEMORY_MB", "150")
    status, printed = run_build(book, tmp_path / "out")
    assert status == cli.EXIT_INPUT_ERROR, printed
    assert f"{alpha}: error E043: laying out alpha went past the layout's memory budget (150 MB" in printed
    assert "ANTHOLOGY_LAYOUT_MEMORY_MB=300" in printed
    assert not (tmp_path / "out" / "minibook.pdf").exists()


def test_the_memory_watch_stops_a_layout_in_the_worker(tmp_path):
    """The memory budget as a worker sets it, in a process of its own: memory taken past it during a layout stops
    the layout with OverBudget naming the text and the limit; outside a layout it stops nothing."""
    script = (
        "import time\n"
        "from anthology.render.print import worker\n"
        "limit = worker.resident_mb() + 100\n"
        "worker.set_budget(limit, 0)\n"
        "hoard = b'x' * (200 * 2**20)\n"
        "time.sleep(1)\n"
        "print('outside a layout: not stopped')\n"
        "try:\n"
        "    with worker.bounded('alpha'):\n"
        "        time.sleep(5)\n"
        "except worker.OverBudget as over:\n"
        "    print(over.kind, over.name, over.limit == limit)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout.splitlines() == ["outside a layout: not stopped", "memory alpha True"], done.stderr


def test_the_budget_diagnostics_name_the_text_the_limit_and_the_setting(tmp_path):
    from anthology.render.print.worker import OverBudget

    text = tmp_path / "alpha.md"
    memory = renderer.budget_diagnostic(OverBudget("memory", "alpha", 6144), text).format()
    assert memory.startswith(f"{text}: error E043: laying out alpha went past the layout's memory budget (6144 MB")
    assert "ANTHOLOGY_LAYOUT_MEMORY_MB=12288" in memory


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5"])
def test_a_layout_budget_that_is_no_number_stops_the_build(monkeypatch, value):
    monkeypatch.setenv("ANTHOLOGY_LAYOUT_MEMORY_MB", value)
    with pytest.raises(build.BuildError, match="E066"):
        build.layout_budget()


# ---- WeasyPrint's refusals, blamed on their source -----------------------------------------------------------------


def test_a_style_attribute_weasyprint_refuses_is_blamed_on_its_text(tmp_path, capsys):
    """A span whose style WeasyPrint ignores: E040 names the text's file, not the style sheet."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    beta = book / "texts" / "beta.md"
    beta.write_text(beta.read_text(encoding="utf-8") + '\n[Odd words]{style="colr: red"} here.\n', encoding="utf-8")
    status, printed = run_build(book, tmp_path / "out")
    assert status == cli.EXIT_INPUT_ERROR, printed
    assert re.search(rf"^{re.escape(str(beta))}: error E040: WeasyPrint: .*colr", printed, re.MULTILINE), printed
    assert "print.css: error E040" not in printed


def test_a_style_sheet_rule_weasyprint_refuses_is_blamed_on_its_line(tmp_path):
    """WeasyPrint's own message for a bad rule, laid out here: E040 names the style sheet's line and column."""
    from anthology.render.print.engine import weasyprint_warnings
    from anthology.render.print.typeset import font_configuration, layout, weasyprint_diagnostic

    styles = tmp_path / "styles"
    shutil.copytree(STYLES, styles)
    sheet = styles / "print.css"
    lines = sheet.read_text(encoding="utf-8").splitlines()
    sheet.write_text("\n".join([*lines, "p { colr: red; }"]) + "\n", encoding="utf-8")
    project = Project(book_dir=MINIBOOK, styles_dir=styles, build_dir=tmp_path / "out")
    html = '<!DOCTYPE html><html><head><link rel="stylesheet" href="print.css"></head><body><p>x</p></body></html>'
    with weasyprint_warnings() as messages:
        layout(html, project)
    font_configuration.cache_clear()  # its fonts' folder goes with it, now rather than at the interpreter's exit
    refused = [m for m in messages if "colr" in m]
    assert refused, messages
    diagnostic = weasyprint_diagnostic(refused[0], styles, MINIBOOK / "texts" / "alpha.md")
    assert (diagnostic.file, diagnostic.line) == (sheet, len(lines) + 1)
