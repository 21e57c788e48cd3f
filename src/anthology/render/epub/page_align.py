"""Where each print page begins in the e-book: the print pages' words aligned with the e-book's words, in order.

Both editions are cut into words of lowercase letters, or of digits ("1941," is the word "1941"). The whole body of
the print edition (its pages' lines, running heads and notes included) is aligned with the e-book's running text
at once, as two sequences in the same order: anchors first (runs of three words found once in each), then the
stretches between them compared word for word. A repeated phrase (a chapter's title on its part page and on its
opener) is then matched where its neighbours are, not where it first occurs, and what print has and the e-book has
not (running heads, notes, the page numbers of cross-references) is left unmatched. A page begins at the first of
its words that is matched, or before the e-book's words between the page before and it when they are few (a word
print hyphenates across the page turn).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

WORD = re.compile(r"[^\W\d_]+|\d+")  # letters, or digits: print sets a note's number against its word
HYPHENATED = re.compile(r"[\u2010\u00ad]\s*$")  # print's hyphenation at a line's end (U+2010, or a soft hyphen)
GRAM = 3  # words in an anchor
DIRECT = 4_000_000  # stretches smaller than this (words by words) are compared word for word at once
TRUSTED = 3  # a run of fewer words in common may be chance
CLOSE = 3  # words between a short run and the run next to it, at most, in each edition
UNMATCHED_BEFORE = 2  # at most this many unmatched e-book words before a page's first match go on that page


def fold(word: str) -> str:
    """A word as both editions are compared: lowercase, accents taken off."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words_of(text: str) -> list[tuple[int, str]]:
    """The words in `text`: where each starts and its folded form."""
    return [(match.start(), fold(match.group())) for match in WORD.finditer(text)]


def page_words(lines: Sequence[str]) -> list[str]:
    """A print page's words; a word hyphenated at a line's end (the next line going on in lowercase) is joined."""
    joined: list[str] = []
    for line in lines:
        if joined and HYPHENATED.search(joined[-1]) and line[:1].islower():
            joined[-1] = HYPHENATED.sub("", joined[-1]) + line
        else:
            joined.append(line)
    return [word for line in joined for _, word in words_of(line)]


def align(ebook: Sequence[str], printed: Sequence[str]) -> dict[int, int]:
    """Which e-book word each matched print word is (print index -> e-book index), strictly increasing."""
    blocks = kept(sorted(matching_blocks(ebook, printed)))
    return {p_start + k: e_start + k for e_start, p_start, size in blocks for k in range(size)}


def matching_blocks(ebook: Sequence[str], printed: Sequence[str]) -> list[tuple[int, int, int]]:
    """Runs of words the two have in common, in the same order (e-book start, print start, length)."""
    found: list[tuple[int, int, int]] = []
    stack = [(0, len(ebook), 0, len(printed))]
    while stack:
        e_lo, e_hi, p_lo, p_hi = stack.pop()
        if e_lo >= e_hi or p_lo >= p_hi:
            continue
        if (e_hi - e_lo) * (p_hi - p_lo) <= DIRECT:
            matcher = SequenceMatcher(None, ebook[e_lo:e_hi], printed[p_lo:p_hi], autojunk=False)
            found += [(e_lo + e, p_lo + p, size) for e, p, size in matcher.get_matching_blocks() if size]
            continue
        runs = anchor_runs(ebook, printed, e_lo, e_hi, p_lo, p_hi)
        if not runs:  # too long to compare word for word, and no word found once in each: words in order
            found += in_order(ebook, printed, e_lo, e_hi, p_lo, p_hi)
            continue
        e_at, p_at = e_lo, p_lo
        for e_start, p_start, size in runs:
            stack.append((e_at, e_start, p_at, p_start))
            e_at, p_at = e_start + size, p_start + size
        found += runs
        if runs:
            stack.append((e_at, e_hi, p_at, p_hi))
    return found


def in_order(
    ebook: Sequence[str], printed: Sequence[str], e_lo: int, e_hi: int, p_lo: int, p_hi: int
) -> list[tuple[int, int, int]]:
    """Runs of a long stretch in which no word or run of words is found once in each (a text of few words, repeated
    through pages): each print word matched with the e-book's next word when they are the same, the others (running
    heads, page numbers, notes) passed over. Linear, where comparing the stretch word for word is not."""
    runs: list[tuple[int, int, int]] = []
    e = e_lo
    for p in range(p_lo, p_hi):
        if e >= e_hi:
            break
        if printed[p] != ebook[e]:
            continue
        if runs and runs[-1][0] + runs[-1][2] == e and runs[-1][1] + runs[-1][2] == p:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((e, p, 1))
        e += 1
    return runs


def kept(blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The blocks that are not chance: a run shorter than TRUSTED words is kept only close after or before
    another run in both editions (a word print sets differently between them), not amid what only print has
    (a "the" of a note matched with the e-book's next page)."""

    def close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
        return 0 <= b[0] - a[0] - a[2] <= CLOSE and 0 <= b[1] - a[1] - a[2] <= CLOSE

    return [
        block
        for index, block in enumerate(blocks)
        if block[2] >= TRUSTED
        or (index > 0 and close(blocks[index - 1], block))
        or (index + 1 < len(blocks) and close(block, blocks[index + 1]))
    ]


def unique_grams(words: Sequence[str], lo: int, hi: int, size: int) -> dict[tuple[str, ...], int]:
    """The runs of `size` words found once in words[lo:hi], with where they start."""
    seen: dict[tuple[str, ...], int] = {}
    repeated: set[tuple[str, ...]] = set()
    for start in range(lo, hi - size + 1):
        gram = tuple(words[start : start + size])
        if gram in seen:
            repeated.add(gram)
        seen[gram] = start
    return {gram: start for gram, start in seen.items() if gram not in repeated}


def anchor_runs(
    ebook: Sequence[str], printed: Sequence[str], e_lo: int, e_hi: int, p_lo: int, p_hi: int
) -> list[tuple[int, int, int]]:
    """Runs of words both stretches share, in the same order in each (e-book start, print start, length): the
    longest chain of runs of GRAM words found once in each (one word, where no such run is)."""
    for size in (GRAM, 1):
        in_ebook = unique_grams(ebook, e_lo, e_hi, size)
        in_print = unique_grams(printed, p_lo, p_hi, size)
        pairs = sorted((start, in_print[gram]) for gram, start in in_ebook.items() if gram in in_print)
        chain = increasing_chain(pairs)
        if chain:
            return merged(chain, size)
    return []


def increasing_chain(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of pairs (sorted by their first) whose seconds increase too (patience sorting)."""
    tails: list[int] = []  # the second of the last pair of the best chain of each length
    ends: list[int] = []  # that pair's index
    before: list[int] = [-1] * len(pairs)
    for index, (_, second) in enumerate(pairs):
        length = bisect.bisect_left(tails, second)
        if length == len(tails):
            tails.append(second)
            ends.append(index)
        else:
            tails[length] = second
            ends[length] = index
        before[index] = ends[length - 1] if length else -1
    chain = []
    index = ends[-1] if ends else -1
    while index >= 0:
        chain.append(pairs[index])
        index = before[index]
    return chain[::-1]


def merged(chain: Iterable[tuple[int, int]], size: int) -> list[tuple[int, int, int]]:
    """Anchors of `size` words as runs that do not overlap, each at least one word long."""
    runs: list[tuple[int, int, int]] = []
    e_end = p_end = 0
    for e_start, p_start in chain:
        skip = max(0, e_end - e_start, p_end - p_start)
        if skip >= size:
            continue
        e_start, p_start, length = e_start + skip, p_start + skip, size - skip
        if runs and runs[-1][0] + runs[-1][2] == e_start and runs[-1][1] + runs[-1][2] == p_start:
            last = runs.pop()
            runs.append((last[0], last[1], last[2] + length))
        else:
            runs.append((e_start, p_start, length))
        e_end, p_end = e_start + length, p_start + length
    return runs


def page_starts(ebook: Sequence[str], pages: Sequence[Sequence[str]]) -> tuple[list[int | None], int]:
    """Where each page's words begin among the e-book's (an index into `ebook`; len(ebook) past its end), or None
    for a page none of whose words is matched (a blank page, a page of notes); and how many e-book words are
    matched in all."""
    printed = [word for page in pages for word in page]
    page_of = [index for index, page in enumerate(pages) for _ in page]
    matched = align(ebook, printed)
    firsts: list[int | None] = [None] * len(pages)
    lasts: list[int | None] = [None] * len(pages)
    for p_index in sorted(matched):
        page = page_of[p_index]
        if firsts[page] is None:
            firsts[page] = matched[p_index]
        lasts[page] = matched[p_index]
    starts: list[int | None] = []
    end_before = -1  # the last e-book word matched on the pages so far
    for first, last in zip(firsts, lasts, strict=True):
        if first is None:
            starts.append(None)
            continue
        unmatched = first - end_before - 1
        starts.append(end_before + 1 if 0 < unmatched <= UNMATCHED_BEFORE else first)
        end_before = last if last is not None else end_before
    return starts, len(matched)
