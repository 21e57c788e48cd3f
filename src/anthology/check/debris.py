"""What a cleaned text still holds that looks like the source's debris: raw HTML tags, unconverted note calls,
page headers repeated through the text, HTML entities. Warnings only: each may be meant, but each usually means a
recipe rule is missing, and the hint names the rule that would clean it."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from anthology.diagnostics import Collector
from anthology.model import Text

# A raw HTML tag: an element name after < or </. Autolinks (<https://…>, <mailto:…>) and e-mail addresses have
# a colon or @ before any space or >, so they do not match.
TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)(\s[^<>]*)?/?>")
MEANT = re.compile(r"\b(?:lang|xml:lang|dir)\s*=")
ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
# A note call left in the text: [12] (not a link's [12](…) nor a reference [12][…]), digits glued to a word
# ("word12"), or superscript digits after a word or a punctuation mark.
BRACKETED_CALL = re.compile(r"(?<![\^\w])\[(\d{1,3})\](?![(\[:])")
GLUED_CALL = re.compile(r"\b[A-Za-z]*[a-z]{2}(\d{1,3})\b")
SUPERSCRIPT_CALL = re.compile(r"(?:[A-Za-z]{2}|[.,;:!?\"”’)])([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
# What is blanked before looking: addresses and citation keys hold digits and entities that are not debris.
URL = re.compile(
    r"<[a-z][a-z0-9+.-]*:[^>\s]*>|\]\([^)]*\)|\b(?:https?|ftp)://\S+|\S+@\S+\.\w+|(?<!\w)@\w[\w:.#$%&+?~/-]*"
)
# A page header or footer: a short paragraph of its own, found this many times in one text (its page number
# aside).
HEADER_REPEATS = 3
HEADER_MAX_WORDS = 10
NOT_PARAGRAPHS = ("#", "[^", "|", ">", ":::", "- ", "* ", "!", "<")


def debris_warnings(texts: list[Text]) -> Collector:
    collector = Collector()
    for text in texts:
        lines = list(body_lines(text))
        raw_html(text, lines, collector)
        entities(text, lines, collector)
        note_calls(text, lines, collector)
        page_headers(text, lines, collector)
    return collector


def recipe(text: Text) -> str:
    """Where the rule goes: the recipe of the source the text was ingested from (texts/<slug>.md comes from
    sources/<slug>.<format>), then what to run."""
    return f"in sources/{text.path.stem}.yaml (the source's recipe), then run `invoke ingest`"


def body_lines(text: Text) -> Iterator[tuple[int, str]]:
    """The body's lines with their line numbers in the file, addresses and citation keys blanked (URL)."""
    for offset, line in enumerate(text.body.split("\n")):
        yield text.body_line + offset, URL.sub(lambda m: " " * len(m[0]), line)


def raw_html(text: Text, lines: list[tuple[int, str]], collector: Collector) -> None:
    """Every raw HTML tag but an element marking a language or a direction (<span lang="ru">…</span>), which
    someone meant: Markdown has no other way to say it."""
    meant: dict[str, int] = defaultdict(int)  # open elements marking a language, by name
    for number, line in lines:
        for match in TAG.finditer(line):
            name = match[1].lower()
            if MEANT.search(match[2] or ""):
                meant[name] += 1
                continue
            if match[0].startswith("</") and meant[name]:
                meant[name] -= 1
                continue
            rule = r"pattern: '<br\s*/?>', replace: '\n'" if name == "br" else rf"pattern: '</?{name}[^>]*>'"
            collector.warning(
                "W103",
                f"raw HTML {match[0][:60]!r} left in the text",
                file=text.path,
                line=number,
                hint=f"add a rules.rewrite entry ({rule}, reason: …) {recipe(text)}",
            )


def entities(text: Text, lines: list[tuple[int, str]], collector: Collector) -> None:
    for number, line in lines:
        for match in ENTITY.finditer(line):
            collector.warning(
                "W104",
                f"HTML entity {match[0]} left in the text",
                file=text.path,
                line=number,
                hint=f"add a rules.rewrite entry (pattern: '{match[0]}', replace: its character) {recipe(text)}",
            )


def note_calls(text: Text, lines: list[tuple[int, str]], collector: Collector) -> None:
    forms = ((BRACKETED_CALL, "bracketed"), (GLUED_CALL, "endnotes"), (SUPERSCRIPT_CALL, "superscript"))
    for number, line in lines:
        for pattern, form in forms:
            for match in pattern.finditer(line):
                collector.warning(
                    "W105",
                    f"{match[0]!r} looks like a note call that was not converted to a note",
                    file=text.path,
                    line=number,
                    hint=f"set rules.notes (style: {form}, first: the source's first note number) {recipe(text)}; "
                    "a number that is not a note can be kept with a rules.rewrite entry",
                )


def page_headers(text: Text, lines: list[tuple[int, str]], collector: Collector) -> None:
    """Short paragraphs of their own repeated through the text, page numbers aside: a running head or footer the
    ingest kept. Headings, footnote definitions, verse and separators are not paragraphs of this kind."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for number, paragraph in paragraphs(lines):
        if paragraph.startswith(NOT_PARAGRAPHS) or not re.search(r"[A-Za-z]{2}", paragraph):
            continue
        if len(paragraph.split()) <= HEADER_MAX_WORDS:
            found[re.sub(r"\d+", "#", paragraph.casefold())].append((number, paragraph))
    for seen in found.values():
        if len(seen) < HEADER_REPEATS:
            continue
        numbers, shown = [number for number, _ in seen], seen[0][1]
        if len({paragraph for _, paragraph in seen}) == 1:
            rule = f"add {shown!r} to rules.page_headers"
        else:  # the page number changes: a pattern
            pattern = re.sub(r"\d+", r"\\d+", re.escape(shown).replace("\\ ", " "))
            rule = f"add a rules.remove entry (pattern: '{pattern}', reason: running head)"
        collector.warning(
            "W106",
            f"{shown[:60]!r} stands alone {len(seen)} times in the text (lines "
            f"{', '.join(map(str, numbers[:6]))}{', …' if len(numbers) > 6 else ''}): a page header or footer?",
            file=text.path,
            line=numbers[0],
            hint=f"{rule} {recipe(text)}",
        )


def paragraphs(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """The one-line paragraphs (a blank line before and after, not indented) with their line numbers."""
    padded = [(0, ""), *lines, (0, "")]
    for before, (number, line), after in zip(padded, padded[1:], padded[2:], strict=False):
        if line.strip() and line == line.lstrip() and not before[1].strip() and not after[1].strip():
            yield number, line.strip()
