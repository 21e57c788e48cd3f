"""The processes a build starts and the temporary files it makes: each child dies with the process that started it,
and every temporary file is made in the build's scratch folder.

A build killed with `kill -9` runs none of its own cleanup. Its layout workers watch it and end (render/print/
worker.die_with); the programs it runs (pandoc, pdftotext) are started here with a parent-death signal, so that they
end with it rather than running on to the end of their work (issue 26); and the temporary files of Python, of the
programs, and of multiprocessing (the fork server's socket, which it keeps in a `pymp-*` folder of /tmp) are made in
the build's scratch folder, which the next build removes.
"""

from __future__ import annotations

import ctypes
import multiprocessing.forkserver
import multiprocessing.process
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h


@cache
def prctl() -> Callable[..., int] | None:
    """libc's prctl, or None where there is none (not Linux): there the children are not tied to the build."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def dying_with_this_process() -> Callable[[], None] | None:
    """What a child runs between fork and exec (a `preexec_fn`): it is sent SIGKILL when the thread that started it
    ends, which is when this process ends, however it ends (the thread waits for the child). A child whose parent
    ended before the signal was set ends at once."""
    set_signal = prctl()
    if set_signal is None:
        return None
    parent = os.getpid()

    def arrange() -> None:
        set_signal(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return arrange


def run(command: list[str], **options: Any) -> subprocess.CompletedProcess:
    """subprocess.run, the child dying with this process."""
    return subprocess.run(command, preexec_fn=dying_with_this_process(), **options)


def popen(command: list[str], **options: Any) -> subprocess.Popen:
    """subprocess.Popen, the child dying with this process."""
    return subprocess.Popen(command, preexec_fn=dying_with_this_process(), **options)


@contextmanager
def temporaries_in(scratch: Path) -> Iterator[None]:
    """Every temporary file made while the build runs goes to `scratch`: Python's (tempfile), the programs' it runs
    (TMPDIR) and multiprocessing's (its temporary folder, where the fork server's socket is made). The fork server
    started meanwhile is stopped at the end, its socket removed with the scratch folder: the next build in this
    process starts its own."""
    config = multiprocessing.process.current_process()._config  # where multiprocessing.util.get_temp_dir looks
    before = tempfile.tempdir, os.environ.get("TMPDIR"), config.get("tempdir")
    tempfile.tempdir = os.environ["TMPDIR"] = config["tempdir"] = str(scratch)
    try:
        yield
    finally:
        stop_fork_server_in(scratch)
        tempfile.tempdir, config["tempdir"] = before[0], before[2]
        if before[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before[1]


def stop_fork_server_in(scratch: Path) -> None:
    """Stop multiprocessing's fork server if its socket is in `scratch` (it was started by this build), once its
    workers have ended."""
    # multiprocessing has no public way to stop its fork server: its own tests use _stop().
    server = multiprocessing.forkserver._forkserver
    address = server._forkserver_address
    if isinstance(address, str) and Path(address).parent == scratch:
        with suppress(OSError):  # ended already, or its socket gone with the folder
            server._stop()


def kill_fork_server_in(scratch: Path) -> None:
    """Kill the fork server this build started (its socket is in `scratch`) at once, when the build has failed:
    stopped politely, it ends only once it has imported WeasyPrint, and a build refused in its resolve stage
    waited for that (1.5 s of a 1.8 s refusal)."""
    server = multiprocessing.forkserver._forkserver
    address, pid = server._forkserver_address, server._forkserver_pid
    if isinstance(address, str) and Path(address).parent == scratch and pid:
        with suppress(OSError):  # ended already
            os.kill(pid, signal.SIGKILL)
