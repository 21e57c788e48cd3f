"""What the build accepts before any expensive stage runs: files inside the book folder, texts of bounded size, and
no control characters. The stages that read files (load, ingest, resolve) turn these findings into diagnostics.

The limits are generous on purpose: each is over ten times the largest found in a real anthology of long essays
when it was set (its longest text, its longest paragraph), and far below what exhausts a build machine (a text some
two hundred times its longest took over ten gigabytes and minutes of pandoc and layout before anything was
reported). A paragraph has a limit of its own because the layout takes each paragraph as one piece.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MAX_TEXT_BYTES = 2_000_000
MAX_PARAGRAPH_CHARS = 100_000

# C0 controls but tab, line feed and carriage return; DEL; C1 controls. XML (the EPUB) cannot carry most of them: a
# form feed (pdftotext's page break) stopped the EPUB writer, and a NUL is never text. They are refused rather than
# removed: each is damage to mend where it came from (a page break's form feed often splits a paragraph the recipe
# should join), which a silent removal would hide.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def inside(path: Path, root: Path) -> bool:
    """Whether path, with every symbolic link followed, is root or in it (root's links followed too)."""
    return path.resolve().is_relative_to(root.resolve())


def where_it_leads(path: Path) -> str:
    """The path (without `..`) and, through a symbolic link, where it leads: for a message about a file outside
    the book."""
    plain, resolved = Path(os.path.normpath(path.absolute())), path.resolve()
    return str(plain) if plain == resolved else f"{path} (a link to {resolved})"


@dataclass(frozen=True)
class Finding:
    """One bound a text goes beyond: its line (1-based) and what is wrong."""

    kind: str  # "paragraph" or "control"
    line: int
    message: str
    character: str = ""  # the control character found


def oversize_line(path: Path) -> int | None:
    """The line on which the file passes MAX_TEXT_BYTES, or None when it does not; reads at most that many bytes."""
    if path.stat().st_size <= MAX_TEXT_BYTES:
        return None
    with path.open("rb") as handle:
        head = handle.read(MAX_TEXT_BYTES)
    return head.count(b"\n") + 1


# A line that starts a block of its own even without a blank line before it: a note's text, a list item, a table
# row or a line of a line block. Such blocks are laid out one by one, so each is measured apart.
BLOCK_START = re.compile(r"\s{0,3}(\[\^[^\]]+\]:|[-*+]\s|\d+[.)]\s|\|)")


def long_paragraphs(text: str) -> list[Finding]:
    """Every paragraph (a run of non-blank lines, or a block that BLOCK_START begins) longer than
    MAX_PARAGRAPH_CHARS, at its first line."""
    found = []
    start, length = 0, 0
    for number, line in enumerate([*text.split("\n"), ""], 1):
        if line.strip() and not (start and BLOCK_START.match(line)):
            start, length = (start or number), length + len(line) + 1
            continue
        if length - 1 > MAX_PARAGRAPH_CHARS:
            message = f"a paragraph of {length - 1:,} characters; the limit is {MAX_PARAGRAPH_CHARS:,}"
            found.append(Finding("paragraph", start, message))
        start, length = (number, len(line) + 1) if line.strip() else (0, 0)
    return found


def control_characters(text: str) -> list[Finding]:
    """The first line holding each control character, with how many lines hold it."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.split("\n"), 1):
        for character in set(CONTROL.findall(line)):
            lines.setdefault(character, []).append(number)
    found = []
    for character, numbers in sorted(lines.items(), key=lambda item: (item[1][0], item[0])):
        name = unicodedata.name(character, "") or CONTROL_NAMES.get(character, "control character")
        more = f" (and on {len(numbers) - 1} more lines)" if len(numbers) > 1 else ""
        found.append(Finding("control", numbers[0], f"a {name.lower()} (U+{ord(character):04X}){more}", character))
    return found


# unicodedata names no C0 or C1 control; the common ones by their usual names.
CONTROL_NAMES = {
    "\x00": "null character",
    "\x0b": "vertical tab",
    "\x0c": "form feed",
    "\x1b": "escape",
    "\x7f": "delete",
}
