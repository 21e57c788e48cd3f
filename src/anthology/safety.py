"""Safety checks on every resolved text: the build never downloads, never reads outside the book, never passes on
active content from a text, and refuses inputs beyond what it can lay out in bounded time."""

from __future__ import annotations

import re
from pathlib import Path

from anthology.ast import walk
from anthology.diagnostics import Collector
from anthology.model import Text
from anthology.policy import enforce, line_in

MAX_NOTES_PER_TEXT = 5000  # far above any real essay (the largest here has 164); WeasyPrint slows sharply beyond


UNRESOLVED_NOTE = re.compile(r"\[\^([^\]\s]+)\]")
# What pandoc leaves as text when a note's bracket never closes: an inline note `^[…` or a call `[^label`; and
# what it also leaves when either character is escaped on purpose (`\^\[`, `\[\^`).
NOTE_OPENING = re.compile(r"\^\[|\[\^")
UNESCAPED_OPENING = re.compile(r"(?<!\\)(?:\^\[|\[\^)")
ESCAPED_OPENING = re.compile(r"\\\^\\\[|\\\^\[|\^\\\[|\\\[\\\^|\\\[\^|\[\\\^")


def check_unresolved_note(token: str, text: Text, collector: Collector) -> bool:
    """A note call left as text because no note has its label (E052); whether there was one."""
    match = UNRESOLVED_NOTE.search(token)
    if match:
        collector.error(
            "E052",
            f"footnote [^{match[1]}] is called but has no text",
            file=text.path,
            line=line_in(text, match[0]),
            hint=f"add a line '[^{match[1]}]: …' with the note's text (after a blank line)",
        )
    return match is not None


def unclosed_opening(tokens: list[str], text: Text) -> tuple[str, int | None]:
    """The first note opening in the source with no closing bracket after it in its paragraph, and its line; else
    the first opening left as text, and the line of its word."""
    for opening in UNESCAPED_OPENING.finditer(text.body):
        paragraph_end = text.body.find("\n\n", opening.end())
        if "]" not in text.body[opening.end() : paragraph_end if paragraph_end >= 0 else None]:
            return opening[0], text.body_line + text.body.count("\n", 0, opening.start())
    for token in tokens:
        if match := NOTE_OPENING.search(token):
            return match[0], line_in(text, token)
    return "", None


def check_unclosed_notes(tokens: list[str], text: Text, collector: Collector) -> None:
    """Openings left as text beyond those escaped in the source are notes never closed (E055)."""
    left = sum(len(NOTE_OPENING.findall(token)) for token in tokens)
    if left > len(ESCAPED_OPENING.findall(text.body)):
        opening, line = unclosed_opening(tokens, text)
        collector.error(
            "E055",
            f"footnote '{opening}' is opened but never closed",
            file=text.path,
            line=line,
            hint="close it with ']' in the same paragraph (^[inline note], [^label]); a literal bracket is written \\[",
        )


def check_text(ast: dict, text: Text, book_dir: Path) -> Collector:
    """Every check on a parsed text: the policy for untrusted text (policy.py: raw HTML, attributes, links,
    images; it also writes the raw HTML back well-formed), then the notes."""
    collector = Collector()
    enforce(ast, text, book_dir, collector)
    notes = 0
    openings: list[str] = []  # text tokens holding a note opening
    for node in walk(ast["blocks"]):
        kind = node["t"]
        if kind == "Note":
            notes += 1
        elif kind == "Str" and NOTE_OPENING.search(node["c"]) and not check_unresolved_note(node["c"], text, collector):
            openings.append(node["c"])
    check_unclosed_notes(openings, text, collector)
    check_note_count(notes, text, collector)
    return collector


def check_note_count(notes: int, text: Text, collector: Collector) -> None:
    if notes > MAX_NOTES_PER_TEXT:
        collector.error(
            "E054",
            f"{notes} notes in one text; the limit is {MAX_NOTES_PER_TEXT}",
            file=text.path,
            line=text.body_line,
            hint="split the text, or check that its notes were converted correctly",
        )


NOTE_DEFINITION = re.compile(r"^\[\^[^\]\s]+\]:", re.MULTILINE)


def check_source(text: Text) -> Collector:
    """Checks on the Markdown before pandoc parses it: a text with far too many notes stops at once (pandoc takes
    20 s to parse 50,000); the parsed text's own count (check_text) also sees inline notes."""
    collector = Collector()
    check_note_count(len(NOTE_DEFINITION.findall(text.body)), text, collector)
    return collector
