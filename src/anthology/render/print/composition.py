"""The typesetting report's composition figures, measured from the PDF itself: what a press's make-up editor looks
for on the pages as printed (loose lines, hyphenation, short pages and spreads, stranded captions, lone fragments),
each with its page.

The build's own measurements say what it intended; this reads the words' boxes that poppler's `pdftotext
-bbox-layout` finds in the PDF, so a fault the layout engine made without telling anyone is seen too. Nothing here
knows the book: sizes, the face's word space and the leading are all measured from the pages.
"""

from __future__ import annotations

import itertools
import re
import statistics
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from anthology import processes


class Unreadable(RuntimeError):
    """pdftotext is missing or could not read the PDF."""


XHTML = "{http://www.w3.org/1999/xhtml}"
HYPHENS = ("-", "\u2010", "\u00ad")  # hyphen-minus, hyphen, a soft hyphen shown
NOTE_MARKER = re.compile(r"\d+\.")
LOOSE_FACTOR = 2.0  # a justified line's word space over twice the face's own space is loose


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def size(self) -> float:
        return self.y1 - self.y0


@dataclass
class Line:
    page: int
    words: list[Word]
    block: int  # lines of one block are consecutive lines of one column

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y1 for w in self.words)

    @property
    def size(self) -> float:
        """The size of most of the line's letters (a note call or a superscript is smaller)."""
        sizes = Counter(round(w.size, 1) for w in self.words for _ in w.text)
        return sizes.most_common(1)[0][0]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def gaps(self) -> list[float]:
        return [b.x0 - a.x1 for a, b in itertools.pairwise(self.words)]

    def hyphenated(self) -> bool:
        last = self.words[-1].text
        return last.endswith(HYPHENS) and len(last.rstrip("".join(HYPHENS))) > 0


@dataclass
class Page:
    number: int
    text: list[Line] = field(default_factory=list)  # the page's text area, in pdftotext's reading order
    notes: list[Line] = field(default_factory=list)  # the footnote area at the foot of the text area
    folio: bool = False  # a running page: a folio (or a running head) in the margins


@dataclass(frozen=True)
class Finding:
    page: int
    text: str


@dataclass
class Composition:
    """The figures of one PDF, each fault with its page; `figures()` is what the targets are compared with."""

    pages: int = 0
    text_lines: int = 0
    hyphenated: int = 0
    space_em: float = 0.0  # the face's own word space, measured, in ems
    leading: float = 0.0
    loose: list[Finding] = field(default_factory=list)
    ladders: list[Finding] = field(default_factory=list)
    page_turns: list[Finding] = field(default_factory=list)
    short: list[Finding] = field(default_factory=list)
    spreads: list[Finding] = field(default_factory=list)
    captions: list[Finding] = field(default_factory=list)
    lone: list[Finding] = field(default_factory=list)
    runts: list[Finding] = field(default_factory=list)  # a broken word's end alone on a paragraph's last line

    def figures(self) -> dict[str, float]:
        percent = round(100 * self.hyphenated / self.text_lines, 1) if self.text_lines else 0.0
        return {
            "loose_lines": len(self.loose),
            "hyphenated_percent": percent,
            "ladders": len(self.ladders),
            "page_turn_hyphens": len(self.page_turns),
            "short_pages": len(self.short),
            "uneven_spreads": len(self.spreads),
            "stranded_captions": len(self.captions),
            "lone_lines": len(self.lone),
            "runts": len(self.runts),
        }

    def as_json(self) -> dict[str, object]:
        """The report's `composition` entry: figures, then each fault as [page, what]."""
        faults = {
            "loose_lines": self.loose,
            "ladders": self.ladders,
            "page_turn_hyphens": self.page_turns,
            "short_pages": self.short,
            "uneven_spreads": self.spreads,
            "stranded_captions": self.captions,
            "lone_lines": self.lone,
            "runts": self.runts,
        }
        return {
            "figures": self.figures(),
            "text_lines": self.text_lines,
            "hyphenated_lines": self.hyphenated,
            "word_space_em": round(self.space_em, 3),
            "leading_pt": round(self.leading, 2),
            "faults": {key: [[f.page, f.text] for f in found] for key, found in faults.items()},
        }

    def summary(self) -> str:
        f = self.figures()
        pages = {
            key: ", ".join(str(x.page) for x in found[:8]) + ("…" if len(found) > 8 else "")
            for key, found in (
                ("loose", self.loose),
                ("ladders", self.ladders),
                ("turns", self.page_turns),
                ("short", self.short),
                ("spreads", self.spreads),
                ("captions", self.captions),
                ("lone", self.lone),
            )
        }
        parts = [
            f"hyphenated line ends {f['hyphenated_percent']} % ({self.hyphenated} of {self.text_lines})",
            f"loose lines {f['loose_lines']}",
            f"ladders {f['ladders']}",
            f"page-turn hyphens {f['page_turn_hyphens']}",
            f"short pages {f['short_pages']}",
            f"uneven spreads {f['uneven_spreads']}",
            f"stranded captions {f['stranded_captions']}",
            f"lone fragments/calls {f['lone_lines']}",
            f"broken words ending a paragraph alone {f['runts']}",
        ]
        where = "; ".join(f"{key} pp. {value}" for key, value in pages.items() if value)
        return ", ".join(parts) + (f" ({where})" if where else "")


def read_pages(pdf: Path, top: float, bottom: float) -> list[Page]:
    """The PDF's lines by page; `top` and `bottom` are the text area's edges from the page's top, in points:
    lines outside it are running heads and folios."""
    try:
        result = processes.run(  # it dies with the build (issue 26)
            ["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True, timeout=600
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise Unreadable(f"pdftotext could not read {pdf}: {error}") from error
    root = ET.fromstring(result.stdout.decode("utf-8", errors="replace"))
    pages: list[Page] = []
    block = 0
    for number, element in enumerate(root.iter(f"{XHTML}page"), start=1):
        page = Page(number)
        for block_element in element.iter(f"{XHTML}block"):
            block += 1
            for line_element in block_element.iter(f"{XHTML}line"):
                words = [word_of(w) for w in line_element.iter(f"{XHTML}word") if (w.text or "").strip()]
                if not words:
                    continue
                line = Line(number, words, block)
                if line.y1 <= top + 0.5 or line.y0 >= bottom - 0.5:
                    page.folio = True
                else:
                    page.text.append(line)
        pages.append(page)
    return pages


def word_of(element: ET.Element) -> Word:
    box = [float(element.get(key, "0")) for key in ("xMin", "yMin", "xMax", "yMax")]
    return Word(element.text or "", *box)


def body_size(pages: list[Page]) -> float:
    """The running text's size: the size most letters are set in."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.text:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def split_notes(page: Page, size: float) -> None:
    """The footnote area: from the page's foot upwards, the lines smaller than the running text that follow one
    another at their own leading, at least one opening a note ("12."); a table's rows are spaced wider."""
    run: list[Line] = []
    for line in sorted(page.text, key=lambda line: line.y0, reverse=True):
        if line.size >= size - 0.6 or (run and run[-1].y0 - line.y1 > 0.5 * line.size):
            break
        run.append(line)
    if not any(NOTE_MARKER.fullmatch(line.words[0].text) for line in run):
        return
    page.notes = sorted(run, key=lambda line: line.y0)
    page.text = [line for line in page.text if line not in run]


def measure_leading(pages: list[Page], size: float) -> float:
    steps: Counter[float] = Counter()
    for page in pages:
        lines = [line for line in page.text if abs(line.size - size) < 0.2]
        for a, b in itertools.pairwise(lines):
            if a.block == b.block:
                steps[round(b.y0 - a.y0, 1)] += 1
    return steps.most_common(1)[0][0] if steps else size * 1.2


def right_edge(page: Page) -> float:
    """The text area's right edge on this page: the furthest place two lines or more end (justified lines all end
    there; a word too long for the measure may run past it)."""
    ends = Counter(round(line.x1) for line in page.text if len(line.words) > 1)
    shared = [end for end, count in ends.items() if count > 1]
    return float(max(shared or ends or [0]))


def word_space(pages: list[Page]) -> float:
    """The face's own word space in ems: the median space of lines set at their natural width (lines that end
    well short of the right edge: a paragraph's last line, ragged text)."""
    ratios: list[float] = []
    for page in pages:
        edge = right_edge(page)
        for line in page.text:
            if line.x1 < edge - 3 * line.size:
                ratios += [g / line.size for g in line.gaps() if g > 0.05 * line.size]
    return statistics.median(ratios) if ratios else 0.25


def is_call(word: Word, size: float) -> bool:
    return word.text.strip(".,;:)").isdigit() and word.size < size * 0.8


def measure(pdf: Path, top: float, bottom: float) -> Composition:
    """Read the PDF and find every fault the report names, with its page."""
    pages = read_pages(pdf, top, bottom)
    size = body_size(pages)
    for page in pages:
        split_notes(page, size)
    report = Composition(pages=len(pages), space_em=word_space(pages), leading=measure_leading(pages, size))
    for page in pages:
        lines_of(page, report, size)
    make_up(pages, report, size)
    return report


def lines_of(page: Page, report: Composition, size: float) -> None:
    """Hyphenation, loose lines, lone fragments and calls: line by line, in reading order."""
    edge = right_edge(page)
    for row in rows(page, edge):
        if row.size > 0.85 * size:  # running text and quotations; a table's smaller type is not justified
            loose_line(row, edge, report)
    run: list[Line] = []
    for column in (page.text, page.notes):
        previous: Line | None = None
        for line in column:
            report.text_lines += 1
            if not line.hyphenated():
                run = []
            else:
                report.hyphenated += 1
                run = [*run, line] if run and run[-1].block == line.block else [line]
            if len(run) == 3:
                report.ladders.append(Finding(page.number, " / ".join(x.words[-1].text for x in run)))
            lone_line(line, previous, size, report)
            previous = line
        run = []


def rows(page: Page, edge: float) -> list[Line]:
    """The lines that end at the right edge, whole: poppler splits a line whose word space is very wide into two
    (a column each), so a line ending at the edge takes in the pieces on its baseline to its left. Not on a page
    set in columns (an index), whose columns would be taken for one line."""
    lines = page.text
    if in_columns(page, edge):
        return [line for line in lines if line.x1 >= edge - 1.0]
    whole = []
    for line in (line for line in lines if line.x1 >= edge - 1.0):
        pieces = [p for p in lines if abs(p.y0 - line.y0) < 0.3 and p.x1 <= line.x0 + 0.1 and p.size == line.size]
        words = [word for piece in sorted(pieces, key=lambda p: p.x0) for word in piece.words]
        whole.append(Line(line.page, words + line.words, line.block))
    return whole


def in_columns(page: Page, edge: float) -> bool:
    """A page set in columns (an index): several lines of words start right of the measure's middle (a table's
    cells, also there, are mostly a word or a figure each)."""
    left = min((line.x0 for line in page.text), default=0.0)
    return sum(line.x0 > left + 0.4 * (edge - left) and len(line.words) > 1 for line in page.text) > 3


def loose_line(line: Line, edge: float, report: Composition) -> None:
    """A justified line whose word spaces, stretched alike, are over twice the face's own (a table's row, whose
    cells stand apart unevenly, is none)."""
    if line.x1 < edge - 1.0 or len(line.words) < 2:
        return
    natural = report.space_em * line.size
    spaces = [g for g in line.gaps() if g > 0.5 * natural]
    if spaces and statistics.median(spaces) > LOOSE_FACTOR * natural and max(spaces) - min(spaces) < natural:
        report.loose.append(Finding(line.page, f"{line.text} (space {statistics.median(spaces):.1f} pt)"))


def lone_line(line: Line, previous: Line | None, size: float, report: Composition) -> None:
    words = line.words
    if all(is_call(w, size) for w in words):
        report.lone.append(Finding(line.page, f"note call {line.text} alone on a line"))
    elif len(words) == 1 and line.hyphenated():
        report.lone.append(Finding(line.page, f"fragment {line.text} alone on a line"))
    elif len(words) == 1 and previous is not None and previous.block == line.block and previous.hyphenated():
        report.runts.append(Finding(line.page, f"{previous.words[-1].text}{line.text}: its end alone on a line"))


def make_up(pages: list[Page], report: Composition, size: float) -> None:
    """Page by page: hyphens across a page turn, short pages, unequal spreads, captions left at a page foot."""
    running = [p for p in pages if p.folio and p.text]
    last_of_chapter = {p.number for p in running if not next_runs_on(pages, p.number)}
    slack = slack_of(running)
    for page in running:
        ends = [foot_line(page.text)] + ([page.notes[-1]] if page.notes else [])
        for line in ends:
            if line.hyphenated() and page.number < len(pages):
                report.page_turns.append(Finding(page.number, line.words[-1].text))
        if page.number in last_of_chapter:
            continue
        if slack[page.number] >= 2 * report.leading - 1.0:
            report.short.append(Finding(page.number, f"{slack[page.number] / report.leading:.1f} lines short"))
        stranded_caption(page, report, size)
    for left in running:
        right = next((p for p in running if p.number == left.number + 1), None)
        if left.number % 2 or right is None or {left.number, right.number} & last_of_chapter:
            continue
        difference = abs(slack[left.number] - slack[right.number])
        if difference >= report.leading - 1.0:
            lines = difference / report.leading
            report.spreads.append(Finding(left.number, f"pp. {left.number}–{right.number} differ by {lines:.1f} lines"))


def slack_of(running: list[Page]) -> dict[int, float]:
    """The space each page's running text leaves unused above the foot of the text area (or above its notes), in
    points: measured against the fullest pages, with and without notes."""
    full = deepest(running)
    note_gaps = sorted(p.notes[0].y0 - bottom_of(p) for p in running if p.notes)
    note_gap = note_gaps[len(note_gaps) // 20] if note_gaps else 0.0  # the tightest, bar a stray page or two
    return {
        p.number: max(0.0, (p.notes[0].y0 - bottom_of(p) - note_gap) if p.notes else full - bottom_of(p))
        for p in running
    }


def foot_line(lines: list[Line]) -> Line:
    """The last line at the foot of the page (of the right-hand column where there are two)."""
    return max(lines, key=lambda line: (round(line.y1), line.x0))


def next_runs_on(pages: list[Page], number: int) -> bool:
    """Whether the text runs on to the next page: it is a running page (not blank, not an opening)."""
    return number < len(pages) and pages[number].folio and bool(pages[number].text)


def bottom_of(page: Page) -> float:
    return max(line.y1 for line in page.text)


def deepest(pages: Iterable[Page]) -> float:
    """How deep a full page's text goes: the depth most pages without notes reach, at its lowest."""
    bottoms = Counter(round(bottom_of(p)) for p in pages if not p.notes)
    if not bottoms:
        return 0.0
    common = [value for value, count in bottoms.items() if count >= max(2, bottoms.most_common(1)[0][1] // 4)]
    return float(max(common or bottoms))  # too few pages to agree: the deepest


def stranded_caption(page: Page, report: Composition, size: float) -> None:
    """A caption left at the foot of the running text, its table or figure on the next page: a line in a table's
    smaller type, set in from both sides of the measure by more than a block quotation is, and not a table's row
    (whose cells stand apart by more than a word space)."""
    last = foot_line(page.text)
    lines = [line for line in page.text if len(line.words) > 1]
    if not lines or not any(ch.isalpha() for ch in last.text) or last.size >= size - 0.6:
        return
    if in_columns(page, right_edge(page)):
        return
    left, right = min(line.x0 for line in lines), right_edge(page)
    inset = min(last.x0 - left, right - last.x1)
    if inset > 2 * size and all(gap < LOOSE_FACTOR * report.space_em * last.size for gap in last.gaps()):
        report.captions.append(Finding(page.number, last.text))
