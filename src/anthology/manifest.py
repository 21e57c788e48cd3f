"""The build manifest: what each edition was last built from, so that a build of unchanged sources does nothing.

The key of a build is a hash of everything that can change an output: every file of the book folder and of the
styles folder, every file of the pipeline's package, the pinned tools' versions and SOURCE_DATE_EPOCH. An edition is
skipped when its recorded key is the current one and its output is still the file (or folder) that build wrote.
Several books may share an output folder: each book's editions are recorded apart, under the book folder's resolved
path. Finer-grained reuse (one chapter edited) is the print segments' cache (render/print/segments.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from importlib import metadata
from pathlib import Path

from anthology.atomic import Damaged, read_sealed, remove, write_sealed
from anthology.diagnostics import Diagnostic, Severity

# The tools whose versions decide the outputs' bytes (Pillow writes the cover's and the EPUB's images; fontTools
# and brotli cut the EPUB's and the site's fonts).
TOOLS = ("weasyprint", "pydyf", "pikepdf", "pillow", "pypandoc_binary", "fonttools", "brotli")
PACKAGE = Path(__file__).resolve().parent  # the pipeline's own code: every file of it is part of every key


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def tool_versions() -> list[str]:
    """`name=version` of each pinned tool ("none" when it is not installed)."""
    versions = []
    for tool in TOOLS:
        try:
            versions.append(f"{tool}={metadata.version(tool)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{tool}=none")
    return versions


def digest_files(digest: hashlib._Hash, root: Path) -> None:
    """Add every file under `root` (its path relative to the root and its bytes) to the digest."""
    for path in _files(root):
        digest.update(f"{path.relative_to(root)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def code_key() -> str:
    """The pipeline's code and the pinned tools: derived from the package folder, so a module added, moved or
    renamed changes it."""
    digest = hashlib.sha256()
    digest_files(digest, PACKAGE)
    digest.update("\0".join(tool_versions()).encode())
    return digest.hexdigest()


def inputs_key(book_dir: Path, styles_dir: Path) -> str:
    digest = hashlib.sha256()
    for root in (book_dir, styles_dir):
        digest_files(digest, root)
    digest.update(code_key().encode())
    digest.update(f"SOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH', '')}".encode())
    return digest.hexdigest()


def output_hash(path: Path) -> str | None:
    """The hash of an output file, or of every file of an output folder; None if it is missing."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        digest_files(digest, path)
        return digest.hexdigest()
    return None


def manifest_path(build_dir: Path) -> Path:
    return build_dir / ".cache" / "manifest.json"


def book_id(book_dir: Path) -> str:
    """Whose records these are: the book folder's resolved path."""
    return str(book_dir.resolve())


def discarded(entry: Path, what: str, reason: str) -> None:
    """A cache entry found damaged is removed, and the build says so (W064) and makes it again: it is never used.
    Absent entries are not reported: only one that is there and not as it was written."""
    with contextlib.suppress(OSError):
        remove(entry)
    warning = Diagnostic(
        "W064",
        f"{what} was discarded, as {reason}; it is made again",
        file=entry,
        hint="nothing to fix in the book; if this recurs, check the disk holding the output folder",
        severity=Severity.WARNING,
    )
    print(warning.format(), file=sys.stderr, flush=True)


def read(build_dir: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Each book's records (by book_id): each edition's key and output hash. A manifest that is damaged or not of
    this form is no record at all (discarded with a warning: the editions are built)."""
    path = manifest_path(build_dir)
    try:
        data = read_sealed(path)
    except FileNotFoundError:
        return {}
    except Damaged as error:
        discarded(path, "the build manifest", str(error))
        return {}
    books = data.get("books") if isinstance(data, dict) else None
    if not isinstance(books, dict):
        discarded(path, "the build manifest", "it is not of the form this build writes")
        return {}
    return {
        book: {
            name: entry
            for name, entry in editions.items()
            if isinstance(entry, dict) and all(isinstance(entry.get(field), str) for field in ("key", "output"))
        }
        for book, editions in books.items()
        if isinstance(editions, dict)
    }


def up_to_date(build_dir: Path, book_dir: Path, key: str, outputs: dict[str, Path]) -> bool:
    """Whether every edition asked for was built from these inputs and its output is untouched since."""
    recorded = read(build_dir).get(book_id(book_dir), {})
    return all(
        recorded.get(name, {}).get("key") == key and recorded[name].get("output") == output_hash(path)
        for name, path in outputs.items()
    )


def record(build_dir: Path, book_dir: Path, key: str, outputs: dict[str, Path]) -> None:
    books = read(build_dir)
    recorded = books.setdefault(book_id(book_dir), {})
    for name, path in outputs.items():
        recorded[name] = {"key": key, "output": output_hash(path) or ""}
    write_sealed(manifest_path(build_dir), {"books": books})
