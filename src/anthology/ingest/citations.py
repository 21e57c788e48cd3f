"""Turn the essays' own citation forms into pandoc citations keyed to ``book/references.yaml`` (issue 4).

The five essays cite in four ways: parenthetical titles with pages (``(From Lenin to Stalin, page 40)``), numbered
notes full of ``Ibid.`` and ``op. cit.``, footnotes with ``as above``, and author-date (``(Smith 2002)``, bare
``(2007)`` after a named author). This module rewrites each recognised citation as a pandoc citation
(``[Quoted in @serge-from-lenin-to-stalin, 40]``) and leaves every other character of the text alone, so the
ingest's word-fidelity check can account for each change: a converted citation's words are those of its
:class:`Conversion` record, everything else is the author's text untouched.

What a string means is data, not code: ``book/sources/<slug>.works.yaml`` (the essay's alias table) says which
strings of that essay name which bibliography key; the general patterns here (prefixes, publication details,
locators, ``Ibid.``, ``op. cit.``, ``as above``, author-date) do the rest. Nothing is resolved by guessing: a span
that looks like a citation but does not resolve is left as it is and reported in :attr:`ChunkResult.unresolved`.

API (used by the ingest pipeline; no I/O: the alias table is read by ``ingest/works.py``):

``CitationState()``
    What ``Ibid.``, ``op. cit.``, ``as above`` and bare pages refer back to. Make one per essay and pass it to
    every chunk *in reading order* (body paragraphs and notes of one sequence share it).
``convert_chunk(text, table, state, *, kind="body", note=None) -> ChunkResult``
    Convert one chunk: a body paragraph (``kind="body"``: parenthetical and author-date forms, as the table's
    ``styles`` allow) or the text of one note (``kind="note"``: note forms; ``note`` is its number, used by the
    table's per-note ``resolve`` entries). Returns the new text, one :class:`Conversion` per replaced span
    (original, replacement, keys, locator, rule, offsets in the input) and the unresolved candidate spans.
``convert_chunks(chunks, table) -> list[ChunkResult]``
    Convenience: a fresh state, then ``convert_chunk`` on each ``(kind, note, text)`` in order.
``citation_candidates(text, kind) -> list[tuple[int, int, str]]``
    Citation-like spans of a raw chunk, converted or not: the denominator of the coverage report.

Output forms: ``[@key, 40]`` (the locator without its ``p.``/``page`` label: pandoc takes a bare number as a page;
chapters become ``chap. 13``), ``[Quoted in @key, 40]`` (prefix words kept verbatim), ``[@a; @b]`` for several
author-date items, ``[-@key]`` for a year after a named author (the author's name stays in the prose). A bare
``Ibid.`` repeats the previous citation's locator, as it means "the same place".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from anthology.ingest.works import WorksTable

__all__ = [
    "ChunkResult",
    "CitationState",
    "Conversion",
    "citation_candidates",
    "convert_chunk",
    "convert_chunks",
    "format_locator",
]

# --------------------------------------------------------------------------------------------- data structures


@dataclass(frozen=True)
class Conversion:
    """One replaced span, so that the ingest can account for every word it removes."""

    start: int
    end: int
    original: str
    replacement: str
    keys: tuple[str, ...]
    locator: str | None
    rule: str  # parenthetical | note | ibid | op-cit | as-above | author-date | bare-year
    # How each key was found, one per key: named (an alias or author-date item in the span), decided (the alias
    # table's per-note `resolve`), author-only (the author's one work here), author-cited (the one work of theirs
    # cited before), author-last (the last of the author's works cited: a guess, several were), previous (the
    # citation or mention read before), and after it ":" what makes it doubtful (`several` works in the note
    # before, a `gap` of notes without citation between).
    basis: tuple[str, ...] = ()


@dataclass
class ChunkResult:
    """The converted chunk, what changed, and what looked like a citation but could not be resolved."""

    text: str
    conversions: list[Conversion]
    unresolved: list[str]


@dataclass
class CitationState:
    """What backward references point to: the last work cited, and the last one cited per author."""

    last_key: str | None = None
    last_locator: str | None = None
    last_note: str | None = None  # the note of the last citation (None: the body)
    note_keys: dict[str | None, set[str]] = field(default_factory=dict)  # the works each note cites
    author_cited: dict[str, set[str]] = field(default_factory=dict)  # every work cited so far per author
    by_author: dict[str, str] = field(default_factory=dict)
    tail: str = ""  # the end of the previous chunks, where a bare year's author may be named


# --------------------------------------------------------------------------------------------- general patterns

_NUM = r"(?:\d+|[xvi]+\b)"
_RANGE = rf"{_NUM}(?:\s*[-\u2013]\s*\d+)?"
# A locator: a page label (``p.``, ``pp.``, ``pg.``, ``page(s)``, glued ``pp392-3``) or a chapter label, then
# numbers; further numbers only after a comma (``pp. 196, 198``).
_LOC = rf"(?P<label>pp?\.?|pg\.|pages?|Ch\.|ch\.)\s*(?P<num>{_RANGE}(?:\s*,\s*\d+(?:\s*[-\u2013]\s*\d+)?)*)(?![\w-])"
_LOC_RE = re.compile(_LOC)
# Publication details after a title: capitalised words, years and "(n.d)", separated by commas, colons or spaces,
# never a lower-case word (that is the author's prose again) and never a locator label.
_PUB_WORD = r"(?!(?:pp?|pg|Ch)\.|pp?\d|op\.|[Aa]s\s+above|Ibid)[A-Z0-9(&][^\s,;:<>\[\]]*"
_PUB_RE = re.compile(rf"(?:\s*[,:]?\s*{_PUB_WORD}(?:\s+{_PUB_WORD})*)+")
_PREFIX_RE = re.compile(
    r"(?P<prefix>(?:(?:[Ss]ee\s+also|[Ss]ee|[Aa]lso|[Qq]uoted\s+(?:in|by)|[Cc]ited\s+in)\s*:?\s*)"
    r"|(?:[A-Z][\w.\u2019'-]*\s+){1,2}[A-Z][\w\u2019'-]+,\s+in\s+)$"
)
# One word of a person's name before the surname: an initial ("E.", "H.", "Wm.") or a capitalised given name,
# never a word that starts a prefix ("See Tony Cliff": "See" is the prefix, not a name).
_NAME_WORD = r"(?!(?:See|Also|Quoted|Cited|For|In|Then|This)\b)(?:[A-Z][a-z]?\.\s*|[A-Z][\w\u2019'-]+\s+)"
_OPCIT_RE = re.compile(r"\s*[.,]?\s*op\.?\s*cit\.?")
_ASABOVE_RE = re.compile(r"\s*,?\s*[Aa]s\s+above\s*")
_BACKREF_RE = re.compile(r"\b(?:Ibid\.?|[Aa]s\s+above|[Ss]ee\s+above)")
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|Spring|Summer|Autumn|Winter"
)
_YEAR_ITEM_RE = re.compile(
    rf"\s*(?!(?:{_MONTHS})\b)(?P<name>[A-Z][\w\u2019'-]+(?:\s+(?:and|&)\s+[A-Z][\w\u2019'-]+|\s+et\s+al\.?)?)\s+(?P<year>1[5-9]\d\d|20\d\d)[a-z]?"
    r"(?:\s*[:,]\s*(?:pp?\.\s*)?(?P<loc>\d+(?:\s*[-\u2013]\s*\d+)?(?:,\s*\d+)*))?\s*"
)
_BARE_YEAR_RE = re.compile(r"\((?P<year>1[5-9]\d\d|20\d\d)(?:\s*[:,]\s*(?:pp?\.\s*)?(?P<loc>\d+(?:[-\u2013]\d+)?))?\)")
# "London 1993", "Oxford, 1980": a place and a year, the tail of a full citation (a month and a year is a date).
_PLACE_YEAR_RE = re.compile(rf"\b(?!(?:{_MONTHS})\b)[A-Z][a-z]+,?\s+(?:1[5-9]\d\d|20\d\d)\b")
_PAREN_RE = re.compile(r"\((?P<inner>[^()]*)\)")


def format_locator(label: str | None, num: str) -> str:
    """Pandoc's locator: pages bare (its default label), chapters as ``chap. N``; spacing normalised."""
    num = re.sub(r"\s*,\s*", ", ", re.sub(r"\s*([-\u2013])\s*", r"\1", num.strip()))
    if label and label.lower().startswith("ch"):
        return f"chap. {num}"
    return num


def _cite(prefix: str, keys: Sequence[str], locator: str | None, *, suppress: bool = False) -> str:
    prefix = " ".join(prefix.split())
    body = ("-" if suppress else "") + "@" + keys[0]
    if locator:
        body += f", {locator}"
    return "[" + (prefix + " " if prefix else "") + body + "]"


def _remember(state: CitationState, table: WorksTable, key: str, locator: str | None, note: str | None = None) -> None:
    state.last_key, state.last_locator, state.last_note = key, locator, note
    state.note_keys.setdefault(note, set()).add(key)
    for surname, keys in table.author_keys.items():
        if key in keys:
            state.by_author[surname] = key
            state.author_cited.setdefault(surname, set()).add(key)


def _match_locator(text: str, pos: int) -> tuple[int, str | None]:
    """A locator at ``pos`` (after an optional comma or full stop), or none."""
    m = re.compile(r"\s*[,.]{0,2}\s*" + _LOC).match(text, pos)
    if not m:
        return pos, None
    return m.end(), format_locator(m.group("label"), m.group("num"))


# --------------------------------------------------------------------------------------------- candidates


def citation_candidates(text: str, kind: str = "body") -> list[tuple[int, int, str]]:
    """Spans that look like citations whether or not they resolve: the denominator of the coverage report.

    Body: parentheses holding a page locator, a ``Quoted in``/``Quoted by``, or a year as an author-date item or
    on its own. Notes: every locator, ``Ibid.``, ``op. cit.``, ``as above`` and year-with-place (``London 1993``).
    """
    spans: list[tuple[int, int, str]] = []
    if kind == "body":
        for m in _PAREN_RE.finditer(text):
            inner = m.group("inner")
            if (
                _LOC_RE.search(inner)
                or re.search(r"[Qq]uoted (?:in|by)", inner)
                or re.fullmatch(r"(?:" + _YEAR_ITEM_RE.pattern + r";?)+", inner)
                or _BARE_YEAR_RE.fullmatch(m.group(0))
                or re.fullmatch(r"[A-Z][^,]*,\s.*\b(?:1[5-9]\d\d|20\d\d)", inner)
            ):
                spans.append((m.start(), m.end(), m.group(0)))
        return spans
    for rx in (_LOC_RE, _BACKREF_RE, _OPCIT_RE, _PLACE_YEAR_RE):
        for m in rx.finditer(text):
            if m.group(0).strip():
                spans.append((m.start(), m.end(), m.group(0).strip()))
    spans.sort()
    return spans


# --------------------------------------------------------------------------------------------- conversion


def convert_chunks(chunks: Iterable[tuple[str, str | None, str]], table: WorksTable) -> list[ChunkResult]:
    """Convert an essay's chunks ``(kind, note, text)`` in reading order with one shared state."""
    state = CitationState()
    return [convert_chunk(text, table, state, kind=kind, note=note) for kind, note, text in chunks]


def convert_chunk(
    text: str, table: WorksTable, state: CitationState, *, kind: str = "body", note: str | int | None = None
) -> ChunkResult:
    """Convert one body paragraph or one note; ``state`` carries back-references from chunk to chunk."""
    if kind == "note":
        result = _convert_note(text, table, state, None if note is None else str(note))
    else:
        result = _convert_body(text, table, state)
    state.tail = (state.tail + "\n" + text)[-3000:]
    return result


def _apply(text: str, conversions: list[Conversion]) -> str:
    out, pos = [], 0
    for c in sorted(conversions, key=lambda c: c.start):
        out.append(text[pos : c.start])
        out.append(c.replacement)
        pos = c.end
    out.append(text[pos:])
    return "".join(out)


# ---- body: parenthetical titles and author-date


def _convert_body(text: str, table: WorksTable, state: CitationState) -> ChunkResult:
    conversions: list[Conversion] = []
    unresolved: list[str] = []
    # Prose mentions of a work ("in his book The State and Revolution") make it the current work for bare pages.
    events: list[tuple[int, str, Any]] = []
    for mention in table.mentions:
        for m in mention.pattern.finditer(text):
            if not _inside_parens(text, m.start()):
                events.append((m.start(), "mention", mention.key))
    for m in _PAREN_RE.finditer(text):
        events.append((m.start(), "paren", m))
    events.sort(key=lambda e: e[0])
    for _, what, payload in events:
        if what == "mention":
            state.last_key, state.last_locator = payload, None
            continue
        m = payload
        conv = None
        if "parenthetical" in table.styles:
            conv = _parenthetical(m, table, state)
        if conv is None and "author-date" in table.styles:
            conv = _author_date(m, text, table, state)
        if conv is not None:
            conversions.append(conv)
        elif citation_candidates(m.group(0), "body"):
            unresolved.append(m.group(0))
    return ChunkResult(_apply(text, conversions), conversions, unresolved)


def _inside_parens(text: str, pos: int) -> bool:
    return text.rfind("(", 0, pos) > text.rfind(")", 0, pos)


def _resolve_head(head: str, locator: str | None, table: WorksTable, state: CitationState) -> tuple[str | None, str]:
    """A parenthetical's head and how it was resolved: an alias; an author's name with a page (their last work
    cited here); or nothing before a page (the current work: the last one cited or named in the prose). A name
    without a page, such as "(Stalin)", is the author's prose, never a citation."""
    head = head.strip().rstrip(",").strip()
    if not head:
        return (state.last_key, "previous") if locator else (None, "")
    for alias in table.aliases:
        if alias.pattern.fullmatch(head):
            return alias.key, "named"
    if locator and table.author_keys.get(head):
        return _author_work(head, table, state)
    return None, ""


def _parenthetical(m: re.Match[str], table: WorksTable, state: CitationState) -> Conversion | None:
    """``(Title, page N)``, ``(Quoted in Title, page N)``, ``(Quoted by Author, pages N-M)``, ``(page N)``."""
    inner = m.group("inner")
    pm = re.match(r"\s*(?P<prefix>(?:[Qq]uoted\s+(?:in|by)|[Ss]ee(?:\s+also)?|[Cc]ited\s+in)\s*:?\s+)?", inner)
    assert pm is not None  # the pattern can match the empty string
    prefix = pm.group("prefix") or ""
    rest = inner[pm.end() :]
    lm = re.search(r"(?:^|[,\s])\s*" + _LOC + r"\s*\.?\s*$", rest)
    locator = format_locator(lm.group("label"), lm.group("num")) if lm else None
    key, basis = _resolve_head(rest[: lm.start()] if lm else rest, locator, table, state)
    if key is None:
        return None
    _remember(state, table, key, locator)
    replacement = _cite(prefix, [key], locator)
    return Conversion(m.start(), m.end(), m.group(0), replacement, (key,), locator, "parenthetical", (basis,))


def _author_date(m: re.Match[str], text: str, table: WorksTable, state: CitationState) -> Conversion | None:
    inner = m.group("inner")
    bare = _BARE_YEAR_RE.fullmatch(m.group(0))
    if bare:
        key = _bare_year_key(bare.group("year"), text[: m.start()], table, state)
        if key is None:
            return None
        loc = format_locator(None, bare.group("loc")) if bare.group("loc") else None
        _remember(state, table, key, loc)
        return Conversion(
            m.start(), m.end(), m.group(0), _cite("", [key], loc, suppress=True), (key,), loc, "bare-year", ("named",)
        )
    items = inner.split(";")
    parsed = []
    for item in items:
        im = _YEAR_ITEM_RE.fullmatch(item)
        if not im:
            return None
        name = im.group("name").split(" and ")[0].split(" & ")[0].split(" et al")[0]
        key = table.author_year.get((name, im.group("year")))
        if key is None:
            return None
        loc = format_locator(None, im.group("loc")) if im.group("loc") else None
        parsed.append((key, loc))
    for key, loc in parsed:
        _remember(state, table, key, loc)
    body = "; ".join("@" + k + (f", {loc}" if loc else "") for k, loc in parsed)
    keys = tuple(k for k, _ in parsed)
    basis = ("named",) * len(keys)
    return Conversion(m.start(), m.end(), m.group(0), f"[{body}]", keys, parsed[0][1], "author-date", basis)


def _bare_year_key(year: str, before: str, table: WorksTable, state: CitationState) -> str | None:
    """The work of the nearest author named before a bare ``(2007)`` who has a work of that year in the table."""
    if not table.surnames:
        return None
    context = state.tail + "\n" + before
    rx = re.compile(r"\b(" + "|".join(re.escape(n) for n in table.surnames) + r")\b")
    best: tuple[int, str] | None = None
    for sm in rx.finditer(context):
        key = table.author_year.get((sm.group(1), year))
        if key is not None and (best is None or sm.start() >= best[0]):
            best = (sm.start(), key)
    return best[1] if best else None


# ---- notes: full citations, Ibid., op. cit., as above

_ABBREV_RE = re.compile(r"^(?:[A-Z]\.)+$|^(?:Inc|Co|Ltd|Bros)\.,?$|^\(?n\.d\)?\.?$")
_PUB_WORD_RE = re.compile(r"(?P<sep>\s*[,:]?\s*)(?P<word>" + _PUB_WORD + ")")


def _match_pub(text: str, pos: int) -> int:
    """Publication details after a title ("Baltimore, Maryland: Penguin Books, 1950"); where they end.

    Words are capitalised or numbers; a word ending in a full stop ends the details unless it is an
    abbreviation (``Inc.``, ``G.P.``), and that full stop stays outside (it ends the author's sentence).
    """
    end = pos
    p = pos
    while True:
        m = _PUB_WORD_RE.match(text, p)
        if not m or not m.group("sep"):
            break
        word = m.group("word")
        if word.endswith(".") and not _ABBREV_RE.match(word):
            end = m.end() - 1
            break
        end = p = m.end()
    return end


def _names_before(text: str, start: int, surnames: Sequence[str]) -> int:
    """Where the author's names written just before a title begin ("E.H. Carr, ", "Daniel and Gabriel
    Cohn-Bendit, ", "Paul Le Blanc et al, "); ``start`` itself when there are none."""
    if not surnames:
        return start
    names = "|".join(re.escape(s) for s in sorted(surnames, key=len, reverse=True))
    rx = re.compile(r"(?:" + _NAME_WORD + r"(?:and\s+)?)*(?:" + names + r")(?:\s+et\s+al\.?)?\s*,?\s*$")
    m = rx.search(text[max(0, start - 80) : start])
    return start - (len(text[max(0, start - 80) : start]) - m.start()) if m else start


def _convert_note(text: str, table: WorksTable, state: CitationState, note: str | None) -> ChunkResult:
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    heads: list[tuple[int, int, str, str]] = []  # start, end, kind (alias|author|back), key or surname
    for alias in table.aliases:
        for m in alias.pattern.finditer(text):
            if free(m.start(), m.end()):
                heads.append((m.start(), m.end(), "alias", alias.key))
                taken.append((m.start(), m.end()))
    if table.surnames:
        names = "|".join(re.escape(s) for s in table.surnames)
        author_back = re.compile(
            r"(?:" + _NAME_WORD + r")*(?P<surname>" + names + r")\b"
            r"(?=\s*[.,]?\s*(?:op\.?\s*cit|[Aa]s\s+above))"
        )
        for m in author_back.finditer(text):
            if free(m.start(), m.end()):
                heads.append((m.start(), m.end(), "author", m.group("surname")))
                taken.append((m.start(), m.end()))
    for m in _BACKREF_RE.finditer(text):
        if free(m.start(), m.end()):
            heads.append((m.start(), m.end(), "back", m.group(0)))
            taken.append((m.start(), m.end()))
    heads.sort()

    conversions: list[Conversion] = []
    unresolved: list[str] = []
    for start, end, what, payload in heads:
        if conversions and start < conversions[-1].end:
            continue  # already inside the previous citation ("Victor Serge, as above": "as above" is its tail)
        pos = end
        rule = "note"
        key: str | None
        if what in ("alias", "author"):
            om = _OPCIT_RE.match(text, pos) or _ASABOVE_RE.match(text, pos)
            if om:
                rule = "op-cit" if "cit" in om.group(0) else "as-above"
                pos = om.end()
            if what == "alias":
                key, basis = payload, "named"
            else:
                key, basis = _author_work(payload, table, state)
        else:
            rule = "ibid" if payload.startswith("Ibid") else "as-above"
            key, basis = state.last_key, _previous_basis(state, note)
        override = table.resolve.get((note, rule)) if note is not None else None
        if override:
            key, basis = override, "decided"
        if key is None:
            unresolved.append(" ".join(text[start:end].split()))
            continue
        if what == "alias" and rule == "note":
            after = _match_pub(text, pos)
            pub = text[pos:after]
            if after > pos and (
                re.search(r"\b(?:1[5-9]\d\d|20\d\d)\b|\(n\.d\)", pub) or _match_locator(text, after)[1]
            ):
                pos = after
        pos2, locator = _match_locator(text, pos)
        if locator is None and rule == "ibid":
            locator = state.last_locator
        pos = pos2
        # Left: the author's names before a title, then a prefix ("See also:", "Quoted in", "Sarah Lovell, in").
        prefix = ""
        floor = conversions[-1].end if conversions else 0
        if what == "alias":
            start = max(floor, _names_before(text, start, table.key_surnames.get(key, [])))
        if payload.lower().startswith("see"):
            prefix = payload.split()[0]
        else:
            pm = _PREFIX_RE.search(text[floor:start]) or (_SPEAKER_RE.fullmatch(text[:start]) if not floor else None)
            if pm:
                prefix = pm.group("prefix")
                start = floor + pm.start("prefix")
        _remember(state, table, key, locator, note)
        replacement = _cite(prefix, [key], locator)
        conversions.append(Conversion(start, pos, text[start:pos], replacement, (key,), locator, rule, (basis,)))
    conversions = _opening_stop(text, _groups(text, conversions))
    return ChunkResult(_apply(text, conversions), conversions, unresolved)


def _author_work(surname: str, table: WorksTable, state: CitationState) -> tuple[str | None, str]:
    """The work "<Author>, op. cit." or "as above" means: the author's one work in the table, or else the last of
    theirs cited (a guess the audit reports: the note does not say which)."""
    keys = set(table.author_keys.get(surname, []))
    if len(keys) == 1:
        return next(iter(keys)), "author-only"
    if len(state.author_cited.get(surname, ())) == 1:  # "the work cited before": only one of theirs has been
        return state.by_author[surname], "author-cited"
    return state.by_author.get(surname), "author-last"


def _previous_basis(state: CitationState, note: str | None) -> str:
    """How sure a bare Ibid./"as above" is: it means the one work of the note before; doubtful when that note cites
    several works, or notes without a citation stand between."""
    if len(state.note_keys.get(state.last_note, ())) > 1:
        return "previous:several"
    last = state.last_note
    if note is not None and last is not None and note.isdigit() and last.isdigit() and int(note) - int(last) > 1:
        return "previous:gap"
    return "previous"


# "Sarah Lovell, Trotsky Speaks, op. cit., p. 174.": a speaker's name and a comma, all that stands before a
# note's first citation, belongs to it as prefix text (rendered bare, not in parentheses after the name).
_SPEAKER_RE = re.compile(r"\s*(?P<prefix>(?:[A-Z][\w.\u2019'-]*\s+){1,2}[A-Z][\w\u2019'-]+,\s*)")
_GROUP_GAP = re.compile(r"\s*;\s*")
# What closes a note's opening citation in the source: a full stop before more text, or any stray
# punctuation at the note's end ("pp. 195, 202,").
_CLOSING_STOP = re.compile(r"\.(?=\s)|[.,;:]+\s*$")


def _groups(text: str, conversions: list[Conversion]) -> list[Conversion]:
    """Citations separated only by a semicolon become one citation group (``[@a, 4; See also @b, 132]``).

    Why: in a note, pandoc renders only the note's first citation bare and sets later ones in parentheses
    with the style's closing stop in between ("2:4.; (See also ...)"); a group is one citation.
    """
    out: list[Conversion] = []
    for c in conversions:
        prev = out[-1] if out else None
        if prev is not None and _GROUP_GAP.fullmatch(text[prev.end : c.start]):
            rule = prev.rule if prev.rule.split("+")[-1] == c.rule else f"{prev.rule}+{c.rule}"
            out[-1] = Conversion(
                prev.start,
                c.end,
                text[prev.start : c.end],
                prev.replacement[:-1] + "; " + c.replacement[1:],
                prev.keys + c.keys,
                prev.locator,
                rule,
                prev.basis + c.basis,
            )
        else:
            out.append(c)
    return out


def _opening_stop(text: str, conversions: list[Conversion]) -> list[Conversion]:
    """A citation that opens its note owns the punctuation closing it in the source.

    Why: pandoc renders a note's opening citation with the style's own closing full stop, so the source's
    stop after it would double ("Anti-Semitism.”." after a quoted title, "202.," after a stray comma).
    """
    if not conversions or text[: conversions[0].start].strip():
        return conversions
    first = conversions[0]
    m = _CLOSING_STOP.match(text, first.end)
    if m is None or (len(conversions) > 1 and conversions[1].start < m.end()):
        return conversions
    grown = Conversion(
        first.start,
        m.end(),
        text[first.start : m.end()],
        first.replacement,
        first.keys,
        first.locator,
        first.rule,
        first.basis,
    )
    if m.group().endswith((" ", "\n", "\t")):
        grown = Conversion(
            first.start,
            first.end + len(m.group().rstrip()),
            text[first.start : first.end + len(m.group().rstrip())],
            first.replacement,
            first.keys,
            first.locator,
            first.rule,
            first.basis,
        )
    return [grown, *conversions[1:]]
