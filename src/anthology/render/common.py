"""What the three writers share: the fonts, the build's timestamp, Jinja2, and note handling on the AST."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import jinja2

from anthology.ast import Node
from anthology.model import Project, ResolvedBook

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


def jinja_environment(project: Project) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(project.template_dirs),  # the book's own templates first
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
