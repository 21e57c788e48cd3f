"""Output files and folders written atomically, the build's staging and scratch folders, and sealed cache files.

A failed or interrupted run leaves the previous output untouched: each edition is written into the output folder's
staging folder and the whole set is moved into place only when every edition asked for is made (`Staging`).
Scratch files (the EPUB's pandoc run, pdftotext's pages) go to the output folder's scratch folder, never to /tmp,
so that a build killed halfway leaves nothing behind that the next build does not remove.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from anthology.diagnostics import BuildError, Diagnostic

STAGING = ".staging"  # the editions of a build in progress, as they will stand in the output folder
SCRATCH = ".scratch"  # a build's temporary files
SWAP = "swap-in"  # in the staging folder once its set is complete: what is moved into place, one path a line


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside target; only a complete file replaces the previous output."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside target; it replaces the previous folder only when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield temporary
        os.chmod(temporary, 0o755)
        previous = target.with_name(f".{target.name}.old")
        shutil.rmtree(previous, ignore_errors=True)
        if target.exists():
            os.replace(target, previous)
        os.replace(temporary, target)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


# An OSError's errno, for the output folder's problems that are the machine's, not the book's.
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}


@contextmanager
def output_errors(build_dir: Path) -> Iterator[None]:
    """A full disk, and an output folder that cannot be written (read-only, not a folder), reported as what they
    are, with the path, rather than as an internal error."""
    try:
        yield
    except OSError as error:
        diagnostic = output_diagnostic(error, build_dir)
        if diagnostic is None:
            raise
        raise BuildError([diagnostic]) from error


def output_diagnostic(error: OSError, build_dir: Path) -> Diagnostic | None:
    where = Path(error.filename) if isinstance(error.filename, str | os.PathLike) else build_dir
    reason = error.strerror or str(error)
    if error.errno in DISK_FULL:
        return Diagnostic(
            "E063",
            f"the disk is full: {reason} (writing {where})",
            file=where,
            hint=f"free space on the disk holding {build_dir} (`df -h {build_dir}`), or build elsewhere with --out",
        )
    inside = where == build_dir or build_dir.resolve() in where.resolve().parents or where in build_dir.parents
    if error.errno in NOT_WRITABLE and inside:
        return Diagnostic(
            "E065",
            f"the output folder cannot be written: {reason} ({where})",
            file=where,
            hint=f"{build_dir} and the folders above it must be writable folders (not files, not a read-only "
            "disk): fix their permissions, or build elsewhere with --out",
        )
    return None


def scratch_folder(build_dir: Path) -> Path:
    """The build's scratch folder inside its output folder (made if missing): removed when the build ends, and at
    the next build's start if the build was killed."""
    folder = build_dir / SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Staging:
    """The editions of one build, written into `<out>/.staging/` as they will stand in `<out>` (files, the site's
    folder, and what goes into `<out>/.cache/` beside them), and moved into place together (`swap_in`) once all
    are made. The swap first records what it moves (the file `swap-in`): a build killed during the swap is
    completed by the next build's start (`recover`), so the output folder never keeps a mix of two builds."""

    def __init__(self, build_dir: Path):
        self.build_dir = build_dir
        self.folder = build_dir / STAGING

    def path(self, target: Path) -> Path:
        """Where an output of the output folder is staged."""
        return self.folder / target.relative_to(self.build_dir)

    def recover(self) -> None:
        """At a build's start, under the build's lock: a swap that was under way is completed (its set was
        whole), anything else staged is removed, and so is the scratch folder of a build that was killed."""
        if (self.folder / SWAP).is_file():
            self.move_in()
        self.discard()
        shutil.rmtree(self.build_dir / SCRATCH, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def staged(self) -> list[str]:
        """Every staged output, relative to the output folder: the staging folder's entries and those of its
        .cache folder."""
        names = [entry.name for entry in self.folder.iterdir() if entry.name not in (SWAP, ".cache")]
        cache = self.folder / ".cache"
        if cache.is_dir():
            names += [f".cache/{entry.name}" for entry in cache.iterdir()]
        return sorted(names)

    def swap_in(self) -> None:
        """Move every staged output into place: the list first (the point after which the set counts as
        built), then each output, then the staging folder goes."""
        if not self.folder.is_dir():
            return
        with atomic_file(self.folder / SWAP) as temporary:
            temporary.write_text("".join(f"{name}\n" for name in self.staged()), encoding="utf-8")
        self.move_in()
        self.discard()

    def move_in(self) -> None:
        """Each output named in the list moved into place (a folder: the old one moved aside, then removed); an
        output already moved is skipped, so that a swap cut short can be run again."""
        for name in (self.folder / SWAP).read_text(encoding="utf-8").splitlines():
            staged, target = self.folder / name, self.build_dir / name
            if not staged.exists() and not staged.is_symlink():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if staged.is_dir() and (target.exists() or target.is_symlink()):
                aside = self.folder / f".old-{name.replace('/', '-')}"
                remove(aside)
                os.replace(target, aside)
            elif target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # a folder where a file is now written
            os.replace(staged, target)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# ---- Sealed files: a cache file that carries the digest of its own content ----------------------------------------

SEAL = "sha256"  # the key of a sealed JSON object that holds the digest of the rest of it


class Damaged(Exception):
    """A sealed file that is not what was written: cut short, altered, or of another form."""


def seal_of(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def write_sealed(target: Path, data: dict[str, Any]) -> None:
    """A JSON object written with the digest of its content (under SEAL): a file cut short or altered since is
    recognised as such when read (read_sealed). Still plain JSON, for anyone who reads it."""
    with atomic_file(target) as temporary:
        temporary.write_text(json.dumps({**data, SEAL: seal_of(data)}, sort_keys=True), encoding="utf-8")


def read_sealed(path: Path) -> dict[str, Any]:
    """The object of a sealed file, without its seal. FileNotFoundError if there is none; Damaged if it is not the
    whole, unaltered object that was written (or a folder, or unreadable)."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise Damaged(f"it cannot be read ({error.strerror or error})") from None
    try:
        data = json.loads(text)
    except ValueError:  # UnicodeDecodeError included
        raise Damaged("it is not JSON (a file cut short or altered)") from None
    if not isinstance(data, dict) or not isinstance(data.get(SEAL), str):
        raise Damaged("it carries no digest (written by other code, or altered)")
    recorded = data.pop(SEAL)
    if recorded != seal_of(data):
        raise Damaged("its digest does not match its content (a file altered)")
    return data
