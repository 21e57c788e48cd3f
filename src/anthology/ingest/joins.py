"""Rejoining what page breaks split: paragraphs cut mid-sentence and words hyphenated at a break."""

from __future__ import annotations

import re

from anthology.ingest.model import Block, Change, Document
from anthology.ingest.recipe import Rules

_TERMINAL = ".!?:…"
_CLOSING = "”’\"')]*"
_CALL_TAIL = re.compile(r"(\[\^\d+\])+$")


def ends_sentence(text: str) -> bool:
    """Does the text end like a finished paragraph (terminal punctuation, maybe quoted or with a call)?"""
    text = _CALL_TAIL.sub("", text.rstrip()).rstrip()
    stripped = text.rstrip(_CLOSING)
    return bool(stripped) and stripped[-1] in _TERMINAL


def _open_quotation(text: str) -> bool:
    """Does the text leave a double quotation open (so a colon at its end is mid-quotation)?"""
    return text.count('"') % 2 == 1 or text.count("“") > text.count("”")


def continues(prev: Block, nxt: Block, short_words: int) -> bool:
    """Is `nxt` the rest of `prev`, cut off by a page break?

    A block that does not end a sentence (or ends in a colon inside an open quotation) continues into
    the next one when that starts in lower case; or, for a long block (not a possible heading), when it
    starts otherwise (`1918. Hyperinflation…`).
    """
    if prev.kind not in ("para", "quote") or nxt.kind != "para":
        return False
    last = prev.lines[-1].rstrip()
    if last.endswith(":") and _open_quotation(prev.text):
        return True
    if ends_sentence(last):
        return False
    start = nxt.lines[0].lstrip()[:1]
    if start.islower():
        return True
    return last.endswith(("-", ",")) or len(prev.text.split()) > max(short_words, 12)


def join_words(left: str, right: str, keep_hyphens: list[str]) -> tuple[str, str | None]:
    """Join two line fragments; returns the joined text and the rejoined word if a hyphen was removed.

    A break hyphen before a lower-case letter is removed (`empiri-` + `cal`) unless the recipe lists the
    hyphenated word as real; before a capital it stays (`non-` + `Bolshevik`).
    """
    left = left.rstrip()
    right = right.lstrip()
    if not (left.endswith("-") and left[-2:-1].isalpha()):
        return f"{left} {right}", None
    head = re.search(r"[\w’']+-$", left)
    tail = re.match(r"[\w’']+", right)
    hyphenated = (head.group() if head else "") + (tail.group() if tail else "")
    if right[:1].isupper() or hyphenated in keep_hyphens:
        return left + right, None
    return left[:-1] + right, hyphenated


def join_page_breaks(doc: Document, rules: Rules) -> None:
    """Merge every block into the previous one when it continues it across a page break."""
    out: list[Block] = []
    for block in doc.blocks:
        blocked = out and any(out[-1].covers(n) for n in rules.no_join_after_lines)
        if out and not blocked and continues(out[-1], block, rules.headings.short_lines_max_words):
            prev = out[-1]
            joined, word = join_words(prev.lines[-1], block.lines[0], rules.keep_hyphens)
            if word is not None:
                doc.changes.append(Change("rejoin-hyphenated-word", block.first, word, word.replace("-", "")))
            prev.lines[-1] = joined
            prev.lines.extend(block.lines[1:])
            prev.last = block.last
        else:
            out.append(block)
    doc.blocks = out
