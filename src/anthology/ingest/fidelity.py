"""The fidelity check: the author's words in the raw source equal the words of the cleaned text.

Words are runs of letters or of digits, so quotation marks, dashes, ellipses and Markdown markup do not
count; what may differ is only what a rule or the recipe records: a word rejoined across a break hyphen,
an ALL-CAPS head set in title case, a recorded emendation.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import yaml

from .notes import MISSING_NOTE, SUPERSCRIPTS

_WORD = re.compile(r"[^\W\d_]+|\d+")
_SUPER = re.compile(f"[{SUPERSCRIPTS}]+")
_SUPER_DIGITS = str.maketrans(SUPERSCRIPTS, "0123456789")
_DEF = re.compile(r"^\[\^(\d+)\]:\s?", re.M)
_CALL = re.compile(r"\[\^(\d+)\]")


def words(text: str) -> list[str]:
    """The comparable words of a text (superscript note numbers count as numbers)."""
    text = _SUPER.sub(lambda m: f" {m.group().translate(_SUPER_DIGITS)} ", text)
    return _WORD.findall(text)


@dataclass
class Fidelity:
    """Words compared and words differing (not explained by a rejoined break hyphen)."""

    compared: int
    differing: int
    differences: list[str]


def split_markdown(markdown: str) -> tuple[str, str, str]:
    """Split a cleaned text into (standfirst, body, notes) with markup removed."""
    _, front, body = markdown.split("---\n", 2)
    standfirst = yaml.safe_load(front).get("standfirst") or ""
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
    differences: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before, after = a[i1:i2], b[j1:j2]
        if _same_letters(before, after):
            continue
        differing += max(len(before), len(after))
        differences.append(f"raw word {head + i1}: {' '.join(before)[:200]!r} -> {' '.join(after)[:200]!r}")
    return Fidelity(len(raw_words), differing, differences)
