"""Running a task as its Invoke task runs it, in the test's own process: the same entry point (anthology.cli), the
same messages and exit status, without a new interpreter's start-up and imports for every case (a second or more
each). Tests that need a process of their own (a kill, a changed environment for pandoc) start one themselves."""

from __future__ import annotations

import faulthandler
import io
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

from invoke.exceptions import Exit

from anthology import cli
from conftest import ROOT


@contextmanager
def hang_guard(seconds: float | None) -> Iterator[None]:
    """After `seconds` a build still running is taken to hang (it loops or waits forever): every thread's stack is
    printed and the test process ends, failing the run and showing where it hung. A bound far above any build's
    time, not a measure of speed."""
    if seconds is None:
        yield
        return
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def build_here(book: Path, out: Path, *extra: str, guard: float | None = None) -> subprocess.CompletedProcess[str]:
    """`invoke build --book BOOK --out OUT [--strict]` through cli.run_build: its exit status and what it printed
    (stdout; stderr with the Exit's message last, as invoke prints it)."""
    unknown = set(extra) - {"--strict"}
    assert not unknown, f"build_here does not take {sorted(unknown)}"
    stdout, stderr = io.StringIO(), io.StringIO()
    status = 0
    with hang_guard(guard), redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            cli.run_build(str(book), ROOT, out=str(out), strict="--strict" in extra)
        except Exit as stopped:
            status = stopped.code
            if stopped.message:
                print(stopped.message, file=sys.stderr)
    command = ["invoke", "build", "--book", str(book), "--out", str(out), *extra]
    return subprocess.CompletedProcess(command, status, stdout.getvalue(), stderr.getvalue())
