"""The build manifest: what each edition was last built from, so that a build of unchanged sources does nothing.

The key of a build is a hash of everything that can change an output: every file of the book folder and of the
styles folder, the pipeline's own code, the pinned tools' versions and SOURCE_DATE_EPOCH. An edition is skipped
when its recorded key is the current one and its output is still the file (or folder) that build wrote.
Finer-grained reuse (one chapter edited) is the print segments' cache (render/print/segments.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

TOOLS = ("weasyprint", "pypandoc_binary", "pikepdf", "pydyf")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def inputs_key(book_dir: Path, styles_dir: Path) -> str:
    digest = hashlib.sha256()
    code = Path(__file__).parent
    for root in (book_dir, styles_dir, code):
        for path in _files(root):
            digest.update(f"{path.relative_to(root)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for tool in TOOLS:
        try:
            digest.update(f"{tool}={metadata.version(tool)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{tool}=none\0".encode())
    digest.update(f"SOURCE_DATE_EPOCH={os.environ.get('SOURCE_DATE_EPOCH', '')}".encode())
    return digest.hexdigest()


def output_hash(path: Path) -> str | None:
    """The hash of an output file, or of every file of an output folder; None if it is missing."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        digest = hashlib.sha256()
        for item in _files(path):
            digest.update(f"{item.relative_to(path)}\0".encode())
            digest.update(hashlib.sha256(item.read_bytes()).digest())
        return digest.hexdigest()
    return None


def manifest_path(build_dir: Path) -> Path:
    return build_dir / ".cache" / "manifest.json"


def read(build_dir: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads(manifest_path(build_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def up_to_date(build_dir: Path, key: str, outputs: dict[str, Path]) -> bool:
    """Whether every edition asked for was built from these inputs and its output is untouched since."""
    recorded = read(build_dir)
    return all(
        recorded.get(name, {}).get("key") == key and recorded[name].get("output") == output_hash(path)
        for name, path in outputs.items()
    )


def record(build_dir: Path, key: str, outputs: dict[str, Path]) -> None:
    recorded = read(build_dir)
    for name, path in outputs.items():
        recorded[name] = {"key": key, "output": output_hash(path) or ""}
    target = manifest_path(build_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(recorded, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, target)
