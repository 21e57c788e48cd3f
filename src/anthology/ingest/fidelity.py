"""The fidelity check: the author's words in the raw source equal the words of the cleaned text.

Words are runs of letters or of digits, so quotation marks, dashes, ellipses and Markdown markup do not
count; what may differ is only what a rule or the recipe records: a word rejoined across a break hyphen,
an ALL-CAPS head set in title case, a recorded emendation, a citation turned into a pandoc key.

A converted citation is accounted for by its `Conversion` record: the cleaned text's citation must carry
exactly the record's keys and locator, the record's prefix and locator words must come from its original
words (a bare `Ibid.` may repeat the locator of the citation before it), and the original's words stand
in for the citation when the word sequences are compared, so they must be the raw words at that place.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anthology import yamlfile
from anthology.ingest.notes import MISSING_NOTE, SUPERSCRIPTS

if TYPE_CHECKING:
    from anthology.ingest.citations import Conversion

_WORD = re.compile(r"[^\W\d_]+|\d+")
_SUPER = re.compile(f"[{SUPERSCRIPTS}]+")
_SUPER_DIGITS = str.maketrans(SUPERSCRIPTS, "0123456789")
_DEF = re.compile(r"^\[\^(\d+)\]:\s?", re.M)
_CALL = re.compile(r"\[\^(\d+)\]")


def words(text: str) -> list[str]:
    """The comparable words of a text (superscript note numbers count as numbers)."""
    text = _SUPER.sub(lambda m: f" {m.group().translate(_SUPER_DIGITS)} ", text)
    return _WORD.findall(text)


@dataclass(frozen=True)
class Difference:
    """One difference the fidelity check found: a run of differing words (`word`: the index of its first raw
    word in the part compared) or a citation its record does not account for (`record`: the index of the
    record in the list checked, when there is one); `line` is the raw source's line, once the caller knows it."""

    text: str
    word: int | None = None
    line: int | None = None
    record: int | None = None

    def __str__(self) -> str:
        return self.text


@dataclass
class Fidelity:
    """Words compared and words differing (not explained by a rejoined break hyphen)."""

    compared: int
    differing: int
    differences: list[Difference]


# A recorded editorial insertion (`rules.insertions`): the editors' words, not the author's.
EDITORIAL_INSERTION = re.compile(r" ?\[\\\[.*?\\\]\]\{\.editorial\}")


def split_markdown(markdown: str) -> tuple[str, str, str]:
    """Split a cleaned text into (standfirst, body, notes) with markup and editorial insertions removed."""
    _, front, body = markdown.split("---\n", 2)
    body = EDITORIAL_INSERTION.sub("", body)
    standfirst = yamlfile.safe_load(front).get("standfirst") or ""
    match = _DEF.search(body)
    notes = body[match.start() :] if match else ""
    body = body[: match.start()] if match else body
    notes = re.sub(rf"^\[\^\d+\]: {re.escape(MISSING_NOTE)}$", "", notes, flags=re.M)
    notes = _DEF.sub(lambda m: f"{m.group(1)} ", notes)
    lines = [ln for ln in body.split("\n") if not ln.startswith(":::")]
    body = "\n".join(re.sub(r"^(#+ |> |\| |Table: )", "", ln) for ln in lines)
    return standfirst, _CALL.sub(r" \1 ", body), _CALL.sub(r" \1 ", notes)


def _common_ends(a: list[str], b: list[str]) -> tuple[int, int]:
    """Lengths of the common prefix and (non-overlapping) common suffix of two sequences."""
    limit = min(len(a), len(b))
    head = 0
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail


def _same_letters(before: list[str], after: list[str]) -> bool:
    """Forgivable: the same letters rejoined (`empiri cal` / `empirical`), or an ALL-CAPS word re-cased."""
    joined_before, joined_after = "".join(before), "".join(after)
    if joined_before == joined_after:
        return True
    return joined_before.isupper() and joined_before.casefold() == joined_after.casefold()


def compare(raw_words: list[str], out_words: list[str]) -> Fidelity:
    """Diff two word sequences; a change is forgiven only when both sides spell the same letters.

    Equal ends are trimmed first; the middle is diffed with difflib's autojunk, which keeps long
    nearly-equal texts fast and can only over-report differences (never hide one).
    """
    head, tail = _common_ends(raw_words, out_words)
    a = raw_words[head : len(raw_words) - tail]
    b = out_words[head : len(out_words) - tail]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=len(a) + len(b) > 4000)
    differing = 0
    differences: list[Difference] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before, after = a[i1:i2], b[j1:j2]
        if _same_letters(before, after):
            continue
        differing += max(len(before), len(after))
        text = f"{' '.join(before)[:200]!r} in the source is {' '.join(after)[:200]!r} in the text"
        differences.append(Difference(text, word=head + i1))
    return Fidelity(len(raw_words), differing, differences)


# A bracketed pandoc citation (`[Quoted in @key, 40]`, `[@a; @b, 45]`, `[-@key]`), not a link.
CITATION = re.compile(r"\[(?P<inner>[^\[\]]*?-?@[^\[\]]*)\](?![(\[])")
_ITEM = re.compile(r"^(?P<prefix>.*?)\s*-?@(?P<key>[\w:.#$%&+?<>~/-]*\w)\s*(?:,\s*(?P<locator>.*?))?\s*$", re.S)


def citation_items(inner: str) -> list[tuple[str, str, str | None]]:
    """The (prefix, key, locator) of each item of a citation's bracketed text; ranges with hyphens."""
    items = []
    for part in inner.split(";"):
        m = _ITEM.match(part.strip())
        if m is None:
            return []
        locator = m.group("locator")
        items.append((m.group("prefix").strip(), m.group("key"), locator.replace("\u2013", "-") if locator else None))
    return items


def _norm(locator: str | None) -> str | None:
    return locator.replace("\u2013", "-") if locator else None


def check_records(conversions: Sequence[Conversion]) -> list[Difference]:
    """Problems with conversion records, in reading order: each must carry its own words.

    The replacement's keys and locator are the record's; its prefix and locator words are words of the
    original, except that a bare `Ibid.` repeats the locator of the item cited just before it (same work).
    """
    problems: list[Difference] = []
    previous: tuple[str, str | None] | None = None  # (key, locator) of the last item cited
    for number, c in enumerate(conversions):
        items = citation_items(c.replacement[1:-1])
        if not items or tuple(k for _, k, _ in items) != c.keys or items[0][2] != _norm(c.locator):
            message = f"citation {c.original!r}: replacement {c.replacement!r} is not its keys and locator"
            problems.append(Difference(message, record=number))
        available = Counter(words(c.original))
        for index, (prefix, key, locator) in enumerate(items):
            needed = Counter(words(prefix))
            located = Counter(w for w in words(locator or "") if w != "chap")  # `Ch.` is written `chap.`
            inherited = index == 0 and c.rule.startswith("ibid") and previous == (key, locator)
            if not inherited:
                needed += located
            if not needed <= available:
                message = f"citation {c.original!r}: {c.replacement!r} has words its original lacks"
                problems.append(Difference(message, record=number))
        if items:
            previous = (items[-1][1], items[-1][2])
    return problems


def account_citations(text: str, conversions: Sequence[Conversion]) -> tuple[str, list[Difference]]:
    """Put each record's original words in place of the citation it became, in order.

    A citation whose keys or locator differ from its record's, a citation without a record and a record
    without a citation are left as they are (their words then differ) and returned as problems.
    """
    problems: list[Difference] = []
    pending = list(conversions)
    out: list[str] = []
    pos = 0
    for m in CITATION.finditer(text):
        items = citation_items(m.group("inner"))
        if not pending:
            problems.append(Difference(f"citation {m.group()!r} has no conversion record"))
            continue
        c = pending[0]
        if tuple(k for _, k, _ in items) != c.keys or (items and items[0][2] != _norm(c.locator)):
            message = f"citation {m.group()!r} is not the one recorded next ({c.replacement!r})"
            problems.append(Difference(message, record=len(conversions) - len(pending)))
            continue
        pending.pop(0)
        out.append(text[pos : m.start()] + f" {c.original} ")
        pos = m.end()
    out.append(text[pos:])
    first = len(conversions) - len(pending)
    problems += [
        Difference(f"conversion {c.replacement!r} of {c.original!r} is not in the text", record=first + i)
        for i, c in enumerate(pending)
    ]
    return "".join(out), problems
