"""What the three writers share: where things are, atomic output files, Jinja2, and note handling on the AST."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from anthology.ast import Node

if TYPE_CHECKING:
    from anthology.resolve.book import ResolvedBook


@dataclass(frozen=True)
class Project:
    """The three folders a build reads and writes."""

    book_dir: Path
    styles_dir: Path
    build_dir: Path

    @property
    def templates_dir(self) -> Path:
        return self.styles_dir / "templates"

    @property
    def fonts_dir(self) -> Path:
        return self.styles_dir / "fonts"


FONT_FILES = (
    "EBGaramond12-Regular.ttf",
    "EBGaramond12-Italic.ttf",
    "EBGaramond-Bold.ttf",
    "EBGaramond-BoldItalic.ttf",
)


def source_date_epoch(book: ResolvedBook) -> int:
    """A fixed timestamp for reproducible outputs: SOURCE_DATE_EPOCH if set, else the book's date at midnight UTC."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    parts = [int(piece) for piece in book.book.config.date.split("-")] + [1, 1]
    return int(datetime(parts[0], parts[1], parts[2], tzinfo=UTC).timestamp())


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


def jinja_environment(project: Project) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(project.templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def flatten_blocks(blocks: list[Node]) -> list[Node]:
    """Inline content of blocks, paragraphs separated by line breaks: a print footnote must be one inline box."""
    inlines: list[Node] = []
    for block in blocks:
        kind, content = block["t"], block.get("c")
        if kind in ("Para", "Plain"):
            piece = content
        elif kind == "LineBlock":
            piece = [item for line in content for item in [*line, {"t": "LineBreak"}]][:-1]
        elif kind in ("BlockQuote", "Div"):
            piece = flatten_blocks(content if kind == "BlockQuote" else content[1])
        elif kind in ("BulletList", "OrderedList"):
            items = content if kind == "BulletList" else content[1]
            piece = flatten_blocks([b for item in items for b in item])
        else:
            continue
        if inlines and piece:
            inlines.append({"t": "LineBreak"})
        inlines.extend(piece)
    return inlines
