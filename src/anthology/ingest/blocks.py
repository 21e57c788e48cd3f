"""Splitting the raw text into blocks and taking out what is not the author's body text."""

from __future__ import annotations

import re

from anthology.ingest.model import Block, Document, Removal
from anthology.ingest.recipe import Rules


def split_blocks(raw: str) -> list[Block]:
    """Group consecutive non-blank lines into blocks; lines of only (no-break) spaces count as blank.

    Why: every source separates paragraphs by blank lines, while lists, poems and tables are runs of
    consecutive lines; keeping line numbers lets recipes and diagnostics point at the raw file.
    """
    blocks: list[Block] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(raw.split("\n"), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append(Block(lines=current, first=start, last=number - 1))
            current = []
    if current:
        blocks.append(Block(lines=current, first=start, last=start + len(current) - 1))
    return blocks


def _take(doc: Document, first: int, last: int, reason: str, boilerplate: bool = True) -> None:
    """Remove the lines first..last from the blocks, recording the removed text with its reason."""
    kept: list[Block] = []
    for block in doc.blocks:
        if block.last < first or block.first > last:
            kept.append(block)
            continue
        before = [ln for i, ln in enumerate(block.lines, block.first) if i < first]
        inside = [ln for i, ln in enumerate(block.lines, block.first) if first <= i <= last]
        after = [ln for i, ln in enumerate(block.lines, block.first) if i > last]
        start = max(block.first, first)
        doc.removals.append(Removal(start, start + len(inside) - 1, "\n".join(inside), reason, boilerplate))
        if before:
            kept.append(Block(before, block.first, block.first + len(before) - 1))
        if after:
            kept.append(Block(after, last + 1, block.last))
    doc.blocks = kept


def remove_listed(doc: Document, rules: Rules) -> None:
    """Drop title and byline lines (they live in the front matter) and every recipe removal.

    Why: the removals are data with reasons, so the fidelity check can subtract exactly these words.
    """
    for line in rules.title_lines:
        _take(doc, line, line, "title line (the title is in the front matter)", boilerplate=False)
    for line in rules.byline_lines:
        _take(doc, line, line, "byline (the author is in the front matter)", boilerplate=False)
    for removal in rules.remove:
        if removal.lines is not None:
            _take(doc, removal.lines[0], removal.lines[1], removal.reason)
        if removal.pattern is not None:
            pattern = re.compile(removal.pattern)
            for block in list(doc.blocks):
                if pattern.fullmatch(block.text):
                    _take(doc, block.first, block.last, removal.reason)


def remove_page_headers(doc: Document, rules: Rules) -> None:
    """Drop running heads that fell into the text, wherever a line consists of exactly the header."""
    headers = {h.strip() for h in rules.page_headers}
    for block in list(doc.blocks):
        for number, line in enumerate(block.lines, block.first):
            if line.strip() in headers:
                _take(doc, number, number, "running page header that fell into the text")


def take_standfirst(doc: Document, rules: Rules) -> None:
    """Move the publisher's standfirst out of the body; it goes to the front matter, not the essay."""
    parts: list[str] = []
    for first, last in rules.standfirst_lines:
        for block in [b for b in doc.blocks if first <= b.first and b.last <= last]:
            parts.append(block.text)
            doc.blocks.remove(block)
    if parts:
        doc.standfirst = "\n\n".join(parts)
