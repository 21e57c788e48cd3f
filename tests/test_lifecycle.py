"""A build killed with `kill -9` leaves nothing running and nothing in the system's temporary folder (issue 26): the
programs it started (pandoc, pdftotext) die with it, every temporary file it made is in `<out>/.scratch`, which the
next build removes, and that build gives the clean build's outputs. The fixture book (tests/fixtures/minibook)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from anthology import atomic, pandoc
from anthology.build import build
from anthology.model import Project
from conftest import MINIBOOK, ROOT, STYLES

SRC = ROOT / "src"
HANG_GUARD = 20  # seconds to wait for what must end at once (a parent-death signal); the slow programs take 600


def slow_program(folder: Path, name: str, real: str) -> Path:
    """A stand-in for a program that takes ten minutes before it does its work: it sleeps, then becomes the real
    program (exec), as the same process. `--version` runs at once."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        f"#!{sys.executable}\nimport os, sys, time\n"
        "if '--version' not in sys.argv:\n    time.sleep(600)\n"
        f"os.execv({real!r}, [{real!r}, *sys.argv[1:]])\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def still_alive(processes: list[psutil.Process]) -> list[str]:
    """The processes among these not ended within the hang guard (a parent-death signal ends them at once)."""
    deadline = time.monotonic() + HANG_GUARD
    while (left := [p for p in processes if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    found = []
    for process in left:
        try:
            found.append(f"{process.pid}: {' '.join(process.cmdline())}")
            process.kill()
        except psutil.Error:
            continue
    return found


Ready = Callable[[list[str], list[psutil.Process]], bool]


def kill_build_when(
    book: Path, out: Path, tmp: Path, ready: Ready, task: str = "build", **environment: str
) -> list[psutil.Process]:
    """`invoke TASK` (a build) in a process of its own (TMPDIR: `tmp`), killed with SIGKILL once `ready` says so,
    from what it printed and the processes under it: the processes it had started by then."""
    env = os.environ | {"TMPDIR": str(tmp), "PYTHONPATH": str(SRC)} | environment
    command = [sys.executable, "-m", "invoke", task, "--book", str(book), "--out", str(out)]
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        printed: list[str] = []
        started = watch_and_kill(process, ready, printed)
    assert process.returncode == -signal.SIGKILL, "the build ended before it was killed:\n" + "".join(printed)
    return started


def watch_and_kill(process: subprocess.Popen, ready: Ready, printed: list[str]) -> list[psutil.Process]:
    """Read what the build prints; kill it with SIGKILL once `ready`: the processes it started by then."""

    def read() -> None:
        for line in iter(process.stderr.readline if process.stderr else bytes, b""):
            printed.append(line.decode("utf-8", "replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    build_process = psutil.Process(process.pid)
    seen: dict[int, psutil.Process] = {}
    while process.poll() is None:
        try:
            seen |= {child.pid: child for child in build_process.children(recursive=True)}
        except psutil.NoSuchProcess:
            break
        if ready(printed, [child for child in seen.values() if alive(child)]):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()
    reader.join(HANG_GUARD)  # the fork server, should it outlive the build a moment, holds the pipe
    return list(seen.values())


def running(name: str) -> Ready:
    """Ready once a process the build started runs the program `name` on its work (not `--version`)."""

    def ready(_printed: list[str], processes: list[psutil.Process]) -> bool:
        for process in processes:
            try:
                command = process.cmdline()
                if any(Path(part).name == name for part in command[:2]) and "--version" not in command:
                    return True
            except psutil.Error:
                continue
        return False

    return ready


def printed(pattern: str) -> Ready:
    return lambda lines, _processes: any(pattern in line for line in lines)


def every_output(out: Path) -> dict[str, bytes]:
    """Every file of an output folder but its caches, lock, staging and scratch (the names starting with a dot)."""
    return {
        str(path.relative_to(out)): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(out).parts)
    }


def folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    book, out, tmp = tmp_path / "book", tmp_path / "out", tmp_path / "tmp"
    shutil.copytree(MINIBOOK, book)
    tmp.mkdir()
    return book, out, tmp


def test_a_program_started_through_processes_dies_with_its_parent(tmp_path):
    """A Python process starts `sleep` through processes.popen and is killed with SIGKILL: the sleep ends too."""
    script = "import sys, time\nfrom anthology import processes\n"
    script += "print(processes.popen(['sleep', '600']).pid, flush=True)\ntime.sleep(600)\n"
    env = os.environ | {"PYTHONPATH": str(SRC)}
    with subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE) as parent:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        parent.kill()
    assert still_alive([child]) == []


def test_a_build_killed_during_a_pandoc_run_leaves_no_pandoc(tmp_path):
    """The build's pandoc takes ten minutes on every text: the build killed while one runs, no process it
    started is left (pandoc, the layout's workers and their server), and its system temporary folder is empty."""
    book, out, tmp = folders(tmp_path)
    wrapper = slow_program(tmp_path / "bin", "pandoc", pandoc.pandoc_binary())
    started = kill_build_when(book, out, tmp, running("pandoc"), PYPANDOC_PANDOC=str(wrapper))
    assert still_alive(started) == []
    assert sorted(tmp.rglob("*")) == []


def test_pdftotext_killed_with_the_process_that_reads_the_pages(tmp_path):
    """pdftotext, which reads the print PDF's pages when the EPUB is built without the PDF, takes ten minutes: the
    process reading the pages (pagemap.pdftotext_pages, as the build calls it) killed while it runs, no pdftotext
    is left. (A whole `invoke epub` would rebuild the PDF, and not run pdftotext, whenever a file of the pipeline
    changed since the PDF was built.)"""
    import pikepdf

    pdf = tmp_path / "book.pdf"
    with pikepdf.new() as document:
        document.add_blank_page()
        document.save(pdf)
    real = shutil.which("pdftotext")
    assert real is not None
    folder = slow_program(tmp_path / "bin", "pdftotext", real).parent
    env = os.environ | {"PYTHONPATH": str(SRC), "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}
    script = "from pathlib import Path\nfrom anthology.render.print import pagemap\n"
    script += f"pagemap.pdftotext_pages(Path({str(pdf)!r}))\n"
    with subprocess.Popen([sys.executable, "-c", script], env=env) as reader:
        started = watch_and_kill(reader, running("pdftotext"), [])
    assert reader.returncode == -signal.SIGKILL
    assert still_alive(started) == []


def test_a_build_killed_during_its_layout_leaves_its_scratch_only_in_the_output_folder(tmp_path, built_minibook):
    """The build killed while its layout runs (its workers and their fork server started): nothing of it is left in
    its system temporary folder (not even multiprocessing's `pymp-*` folder); its scratch folder is in the output
    folder, and the next build removes it and gives the clean build's outputs, byte for byte."""
    book, out, tmp = folders(tmp_path)
    started = kill_build_when(book, out, tmp, printed("render pdf and screen"))
    assert still_alive(started) == []
    assert sorted(tmp.rglob("*")) == []
    assert (out / atomic.SCRATCH).is_dir()

    build(Project(book_dir=book, styles_dir=STYLES, build_dir=out))

    assert not (out / atomic.SCRATCH).exists() and not (out / atomic.STAGING).exists()
    assert every_output(out) == every_output(built_minibook.project.build_dir)


def test_an_output_folder_too_deep_for_a_socket_path_builds_and_leaves_nothing_behind(tmp_path, monkeypatch):
    """The fork server's socket is made in the build's scratch folder, but a socket's path holds at most 107 bytes:
    into an output folder deeper than that allows (`AF_UNIX path too long` stopped the build), the build lays out
    in its worker processes all the same, and leaves nothing in the system's temporary folder."""
    from anthology.processes import SOCKET_NAME, SOCKET_PATH_MAX

    system_tmp = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))  # short, as /tmp is
    monkeypatch.setattr("tempfile.tempdir", str(system_tmp))
    try:
        out = tmp_path / ("deep-" * 12) / "out"
        assert len(os.fsencode(out / atomic.SCRATCH)) + SOCKET_NAME > SOCKET_PATH_MAX
        built = build(Project(book_dir=MINIBOOK, styles_dir=STYLES, build_dir=out), ["pdf"])
        assert built["pdf"].stat().st_size > 0
        assert list(system_tmp.iterdir()) == []
        assert not (out / atomic.SCRATCH).exists()
    finally:
        shutil.rmtree(system_tmp, ignore_errors=True)
