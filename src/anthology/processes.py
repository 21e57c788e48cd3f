"""The processes a build starts and the temporary files it makes: each child dies with the process that started it,
and every temporary file is made in the build's scratch folder.

A build killed with `kill -9` runs none of its own cleanup. Its layout workers watch it and end (render/print/
worker.die_with); the programs it runs (pandoc, pdftotext) are started here with a parent-death signal, so that they
end with it rather than running on to the end of their work (issue 26); and the temporary files of Python, of the
programs, and of multiprocessing (the fork server's socket, which it keeps in a `pymp-*` folder of /tmp) are made in
the build's scratch folder (or, for the socket, a short folder named after it), which the next build removes.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing.forkserver
import multiprocessing.process
import os
import shutil
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


# A socket's path on Linux holds at most 107 bytes; multiprocessing names the fork server's `listener-` and eight
# random characters, in its temporary folder.
SOCKET_PATH_MAX = 107
SOCKET_NAME = len("/listener-") + 8


def socket_folder(scratch: Path) -> Path:
    """Where multiprocessing makes the fork server's socket: the scratch folder, or, when its path is too long for
    a socket (an output folder deep in the tree: `AF_UNIX path too long`), a short folder of the system's temporary
    folder named after it, removed with the scratch folder (at the build's end, or by the next build into the
    same output folder after a kill)."""
    digest = hashlib.sha256(os.fsencode(scratch.resolve())).hexdigest()[:16]
    for folder in (scratch, Path(tempfile.gettempdir()) / f"anthology-{digest}"):
        if len(os.fsencode(folder)) + SOCKET_NAME <= SOCKET_PATH_MAX:
            return folder
    return Path("/tmp") / f"anthology-{digest}"  # a system temporary folder itself too deep


@contextmanager
def temporaries_in(scratch: Path) -> Iterator[None]:
    """Every temporary file made while the build runs goes to `scratch`: Python's (tempfile), the programs' it runs
    (TMPDIR) and multiprocessing's (its temporary folder, where the fork server's socket is made; see
    socket_folder). The fork server started meanwhile is stopped at the end, its socket removed with the scratch
    folder: the next build in this process starts its own."""
    config = multiprocessing.process.current_process()._config  # where multiprocessing.util.get_temp_dir looks
    before = tempfile.tempdir, os.environ.get("TMPDIR"), config.get("tempdir")
    sockets = socket_folder(scratch)
    if sockets != scratch:  # a killed build's, or none
        shutil.rmtree(sockets, ignore_errors=True)
        sockets.mkdir(mode=0o700)
    tempfile.tempdir = os.environ["TMPDIR"] = str(scratch)
    config["tempdir"] = str(sockets)
    try:
        yield
    finally:
        stop_fork_server()
        tempfile.tempdir, config["tempdir"] = before[0], before[2]
        if before[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before[1]
        if sockets != scratch:
            shutil.rmtree(sockets, ignore_errors=True)


def started_here() -> bool:
    """Whether the running fork server is this build's: its socket is in the build's folder for sockets."""
    server = multiprocessing.forkserver._forkserver
    address = server._forkserver_address
    tempdir = multiprocessing.process.current_process()._config.get("tempdir")
    return isinstance(address, str) and tempdir is not None and Path(address).parent == Path(tempdir)


def stop_fork_server() -> None:
    """Stop multiprocessing's fork server if this build started it, once its workers have ended."""
    # multiprocessing has no public way to stop its fork server: its own tests use _stop().
    if started_here():
        with suppress(OSError):  # ended already, or its socket gone with the folder
            multiprocessing.forkserver._forkserver._stop()


def kill_fork_server() -> None:
    """Kill the fork server this build started at once, when the build has failed: stopped politely, it ends only
    once it has imported WeasyPrint, and a build refused in its resolve stage waited for that (1.5 s of a 1.8 s
    refusal)."""
    pid = multiprocessing.forkserver._forkserver._forkserver_pid
    if started_here() and pid:
        with suppress(OSError):  # ended already
            os.kill(pid, signal.SIGKILL)
