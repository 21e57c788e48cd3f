"""Giving blocks their structure: headings, lists, block quotations, epigraphs, poems, tables, end matter."""

from __future__ import annotations

import re

from anthology.ingest.model import Block, Document, IngestProblem, KeyPath, Problem
from anthology.ingest.recipe import Rules

LIST_ITEM = re.compile(r"^\s*(\d+)\.\s+\S")
BULLET_ITEM = re.compile(r"^\s*-\s+\S")
_SMALL_WORDS = {
    "a",
    "an",
    "and",
    "as",
    "at",
    "but",
    "by",
    "for",
    "from",
    "in",
    "into",
    "nor",
    "of",
    "on",
    "or",
    "the",
    "to",
    "with",
    "vs",
}
_NO_END_PUNCT = re.compile(r"[^.!?:;,…”\"'’)\]]$")


def title_case(text: str) -> str:
    """Title case for ALL-CAPS heads: capitalise words except short function words (not the first)."""
    words = text.lower().split(" ")
    out = []
    for i, word in enumerate(words):
        if i and word in _SMALL_WORDS:
            out.append(word)
        else:
            out.append(re.sub(r"[a-z]", lambda m: m.group().upper(), word, count=1))
    return " ".join(out)


def _in_ranges(block: Block, ranges: list[tuple[int, int]]) -> bool:
    return any(first <= block.first <= last for first, last in ranges)


def mark_endmatter(doc: Document, rules: Rules) -> None:
    """Blocks from `endmatter.from_line` on are the chapter's end matter: headings and item lists."""
    if rules.endmatter is None:
        return
    heads = {h.strip() for h in rules.endmatter.headings}
    for block in doc.blocks:
        if block.first < rules.endmatter.from_line:
            continue
        block.attrs["endmatter"] = "yes"
        if block.text in heads:
            block.kind, block.level = "heading", 2
        elif LIST_ITEM.match(block.lines[0]):
            block.kind = "olist"
        else:
            block.kind = "ulist"
            block.lines = ["- " + block.text]
    merged: list[Block] = []
    for block in doc.blocks:
        prev = merged[-1] if merged else None
        if prev is not None and block.kind in ("olist", "ulist") and block.kind == prev.kind:
            prev.lines.extend(block.lines)
            prev.last = block.last
        else:
            merged.append(block)
    doc.blocks = merged


def mismatch(key: KeyPath, message: str) -> IngestProblem:
    """A recipe rule the source does not bear out, located at the rule (`rules.<key>`)."""
    return IngestProblem(Problem("E209", f"rules.{key[0]}: {message}", key=("rules", *key)))


def mark_epigraphs(doc: Document, rules: Rules) -> None:
    """Epigraphs: the quotation and its attribution, split at the padding (or separator) before it."""
    for index, epigraph in enumerate(rules.epigraphs):
        for block in doc.blocks:
            if epigraph.lines[0] <= block.first <= epigraph.lines[1]:
                parts = re.split(epigraph.attribution_split, block.text.rstrip(), maxsplit=1)
                if len(parts) != 2:
                    message = f"the epigraph at line {block.first} has no attribution to split off"
                    raise mismatch(("epigraphs", index), message)
                block.kind = "epigraph"
                block.lines = [parts[0].rstrip()]
                block.attrs["attribution"] = parts[1].strip()


def mark_poems(doc: Document, rules: Rules) -> None:
    """Each recipe poem range becomes one line block.

    Sources set verse either one line per paragraph (then every block is a verse line) or as runs of
    lines (then every block is a stanza, and stanzas are kept apart by an empty line).
    """
    for index, (first, last) in enumerate(rules.poems):
        members = [b for b in doc.blocks if first <= b.first <= last]
        if not members:
            raise mismatch(("poems", index), f"no text at lines {first}-{last} for the poem")
        stanzas = any(len(b.lines) > 1 for b in members)
        lines: list[str] = []
        for block in members:
            if stanzas and lines:
                lines.append("")
            lines.extend(block.lines)
        poem = Block(lines, members[0].first, members[-1].last, kind="poem")
        ids = {id(b) for b in members[1:]}
        doc.blocks = [poem if b is members[0] else b for b in doc.blocks if id(b) not in ids]


def mark_tables(doc: Document, rules: Rules) -> None:
    """A caption line (recipe pattern) followed by tab-separated rows becomes a table with its caption."""
    if rules.table_caption is None:
        return
    caption = re.compile(rules.table_caption)
    out: list[Block] = []
    for block in doc.blocks:
        if out and out[-1].kind == "caption" and all("\t" in line for line in block.lines):
            cap = out.pop()
            block.kind = "table"
            block.attrs["caption"] = cap.text.strip()
            block.first = cap.first
        elif caption.match(block.text) and len(block.lines) == 1:
            block.kind = "caption"
        out.append(block)
    for block in out:
        if block.kind == "caption":
            message = f"the table caption at line {block.first} has no tab-separated table after it"
            raise mismatch(("table_caption",), message)
    doc.blocks = out


def _open_end(text: str) -> bool:
    """A head may end in an ellipsis or a closing quote, not in sentence punctuation."""
    text = re.sub(r"(\.\.\.|…)$", "", text.rstrip())
    return bool(text) and text[-1] not in ".!?:;,"


def is_short_heading(text: str, max_words: int) -> bool:
    """A title-like line: few words, starts with a capital or digit, no closing punctuation."""
    words = text.split()
    return (
        0 < len(words) <= max_words and (text[:1].isupper() or text[:1].isdigit()) and bool(_NO_END_PUNCT.search(text))
    )


def mark_headings(doc: Document, rules: Rules) -> None:
    """Headings: listed lines, numbered heads (keep their numbers), ALL-CAPS heads, short title lines."""
    h = rules.headings
    numbered = re.compile(h.numbered) if h.numbered else None
    for block in doc.blocks:
        if block.kind != "para" or len(block.lines) != 1 or block.first in h.not_lines:
            continue
        text = block.text
        if block.first in h.lines:
            block.kind, block.level = "heading", h.lines[block.first]
        elif numbered and numbered.match(text) and len(text.split()) <= 14 and _open_end(text):
            block.kind, block.level = "heading", h.numbered_level
        elif h.all_caps and text.upper() == text and re.search(r"[A-Z]{2}", text):
            block.kind, block.level = "heading", h.all_caps_level
            block.lines = [title_case(text)]
        elif h.short_lines_max_words and is_short_heading(text, h.short_lines_max_words):
            block.kind, block.level = "heading", h.short_lines_level


def mark_lists(doc: Document, rules: Rules) -> None:
    """Runs of `N. item` lines (or `- item`) become ordered (or bullet) lists."""
    if not rules.lists:
        return
    for block in doc.blocks:
        if block.kind not in ("para", "quote"):
            continue
        if LIST_ITEM.match(block.lines[0]) and (len(block.lines) > 1 or block.kind == "quote"):
            block.attrs["list"] = "ordered"
        elif all(BULLET_ITEM.match(line) for line in block.lines):
            block.attrs["list"] = "bullet"


def mark_blockquotes(doc: Document, rules: Rules) -> None:
    """Block quotations listed in the recipe by line (they lost their indentation in the source).

    A range covering several paragraphs is one quotation of several paragraphs.
    """
    for block in doc.blocks:
        for first, last in rules.blockquotes:
            if block.kind == "para" and first <= block.first <= last:
                block.kind = "quote"
                if last > first:
                    block.attrs["quotation"] = f"{first}-{last}"


def _closing_index(text: str) -> int | None:
    """Where the quotation opened by the first character of `text` closes (None if it does not)."""
    if text[:1] == '"':
        index = text.find('"', 1)
        return index if index > 0 else None
    if text[:1] != "“":
        return None
    depth = 0
    for i, char in enumerate(text):
        depth += (char == "“") - (char == "”")
        if depth == 0:
            return i
    return None


_SOURCE_TAIL = re.compile(r"^[\s.,;]*(\([^()]*(\([^()]*\)[^()]*)*\))?[\s.,;]*(\[\^\d+\])*[\s.]*$")


def is_whole_quotation(text: str) -> bool:
    """Is the paragraph one quotation, followed at most by its parenthetical source or a note call?"""
    close = _closing_index(text)
    return close is not None and bool(_SOURCE_TAIL.match(text[close + 1 :]))


def opens_unclosed(text: str) -> bool:
    """Does the paragraph open a quotation that runs on into the next paragraph(s)?"""
    return text[:1] in '“"' and _closing_index(text) is None


def has_lost_opening(text: str) -> bool:
    """Does the paragraph close more double quotations than it opens (its opening mark was lost)?"""
    return text.count("“") < text.count("”") and bool(re.search(r"”[.,]?\s?(\[\^\d+\])*$", text))


def _quotation_run(blocks: list[Block], i: int) -> int:
    """If blocks[i] opens a quotation continued by paragraphs that each reopen it (the English
    convention) until one closes it, return the index of that last paragraph, else -1."""
    for j in range(i + 1, len(blocks)):
        text = blocks[j].text.strip()
        if blocks[j].kind != "para" or text[:1] not in '“"':
            return -1
        if _ends_quotation(text):
            return j
    return -1


_ENDS_WITH_SOURCE = re.compile(r"\([^()]*\)[.,]?$")


def mark_quotations(doc: Document, rules: Rules) -> None:
    """Block quotations found by rule.

    `quoted_paragraph_blockquotes`: a paragraph that is one quotation (ending at most with its source in
    parentheses), a quotation paragraph ending with its source, or a run of paragraphs inside one
    quotation (each reopening it), is set as a block quotation.
    `quote_after_colon`: a paragraph introduced by a colon that is a quotation (whole, or whose opening
    mark was lost) is one.
    """
    blocks = doc.blocks
    i = 0
    while i < len(blocks):
        block, prev = blocks[i], blocks[i - 1] if i else None
        text = block.text.strip()
        if block.kind == "para" and rules.quoted_paragraph_blockquotes:
            starts = text[:1] in '“"'
            if starts and (is_whole_quotation(text) or _ENDS_WITH_SOURCE.search(text)):
                block.kind = "quote"
            elif opens_unclosed(text) or (starts and not _ends_quotation(text)):
                last = _quotation_run(blocks, i)
                for member in blocks[i : last + 1] if last > 0 else []:
                    member.kind = "quote"
                    member.attrs["quotation"] = f"{block.first}-{blocks[last].last}"
                i = max(i, last)
        if (
            block.kind == "para"
            and rules.quote_after_colon
            and prev is not None
            and prev.kind == "para"
            and prev.text.rstrip().endswith(":")
            and (is_whole_quotation(text) or has_lost_opening(text))
        ):
            block.kind = "quote"
        i += 1


def _ends_quotation(text: str) -> bool:
    """Are a paragraph's quotation marks balanced (so a quotation it opens also closes in it)?"""
    if '"' in text:
        return text.count('"') % 2 == 0
    return text.count("”") >= text.count("“")
