"""Markup in a source: the recipe's rewrites inside lines, verse set with line breaks, and Markdown's own blocks.

A web page's Markdown or HTML carries wrappers, attributes and `<br>` tags; a removal must match a whole block,
so what stands inside a paragraph is rewritten line by line (`rules.rewrite`). The fidelity check reads the raw
source through `prepare_raw`, the same rewrites with line-break tags taken out, so markup never counts as words.
"""

from __future__ import annotations

import re

from anthology.ingest.blocks import split_blocks
from anthology.ingest.model import Block, Document
from anthology.ingest.recipe import Rules

BREAK_TAG = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HARD_BREAK = "\\"  # pandoc Markdown's line break: a backslash ending the line
_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)(?:\s+#+)?\s*$")
_QUOTE_LINE = re.compile(r"^\s*>\s?")
_TABLE_LINE = re.compile(r"^\s*[|+]")
_CAPTION = re.compile(r"^\s*(?::|Table:)\s")


def rewrite(line: str, rules: Rules) -> str:
    """One line through the recipe's rewrites, in their order."""
    for entry in rules.rewrite:
        line = re.sub(entry.pattern, entry.replace, line)
    return line


def prepare_raw(line: str, rules: Rules) -> str:
    """A raw line as the fidelity check reads it: rewritten, line-break tags as spaces."""
    return BREAK_TAG.sub(" ", rewrite(line, rules)) if rules.rewrite or "<" in line else line


def rewrite_lines(doc: Document, rules: Rules) -> None:
    """Apply the rewrites; a line they leave blank (a wrapper's own line) separates blocks as a blank line does."""
    if not rules.rewrite:
        return
    out: list[Block] = []
    for block in doc.blocks:
        lines = [rewrite(line, rules) for line in block.lines]
        for part in split_blocks("\n".join(lines)):
            out.append(Block(part.lines, block.first + part.first - 1, block.first + part.last - 1))
    doc.blocks = out


def _verse_lines(block: Block, markdown: bool) -> list[str] | None:
    """The block's verse lines when it is set with line breaks (`<br>`, or Markdown's `\\` at a line's end), else
    None; a line without a break at its end runs on into the next, as in the rendered page."""
    text = "\n".join(block.lines)
    if markdown:
        text = text.replace(_HARD_BREAK + "\n", "<br>\n")
        text = text[:-1] + "<br>" if text.endswith(_HARD_BREAK) else text
    if not BREAK_TAG.search(text):
        return None
    verse = [" ".join(part.split()) for part in BREAK_TAG.split(text.replace("\n", " "))]
    return [line for line in verse if line] or None


def mark_verse(doc: Document, rules: Rules) -> None:
    """A paragraph set with line breaks becomes a poem (a line block), each break a new line."""
    for block in doc.blocks:
        if block.kind != "para":
            continue
        verse = _verse_lines(block, doc.markdown)
        if verse is not None:
            block.lines, block.kind = verse, "poem"


def _is_caption(block: Block) -> bool:
    return block.kind == "para" and len(block.lines) == 1 and bool(_CAPTION.match(block.lines[0]))


def mark_markdown_blocks(doc: Document, rules: Rules) -> None:
    """In a Markdown source, `#` headings, `>` quotations and tables (pipe or grid, with a caption) are what they
    say. A chapter's sections start at level 2, as the heading rules' own default (the chapter's title is the front
    matter's)."""
    if not doc.markdown:
        return
    previous: Block | None = None
    for block in doc.blocks:
        heading = _ATX_HEADING.match(block.lines[0])
        table = block.kind == "para" and all(_TABLE_LINE.match(line) for line in block.lines)
        if table or (previous is not None and previous.kind == "markdown-table" and _is_caption(block)):
            block.kind = "markdown-table"
        elif block.kind == "para" and len(block.lines) == 1 and heading:
            block.kind, block.level, block.lines = "heading", max(2, len(heading[1])), [heading[2]]
        elif block.kind == "para" and all(_QUOTE_LINE.match(line) for line in block.lines):
            block.kind, block.lines = "quote", [_QUOTE_LINE.sub("", line) for line in block.lines]
        previous = block
