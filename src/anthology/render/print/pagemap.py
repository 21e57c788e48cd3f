"""Where the print edition's pages begin, read back from the built PDF, for the EPUB's page-break markers.

The print pipeline lays the same resolved texts out with WeasyPrint; the PDF is written before the EPUB. We read
each page's lines of text (poppler's pdftotext) and its printed folio, then find where each page's first words fall in
the e-book's own text. Comparison is on lowercase letters only (no digits, spaces or punctuation), so line breaks,
hyphenation, note calls, list numbers and folios do not disturb it.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from subprocess import PIPE
from typing import Any

from lxml import etree

from anthology import processes
from anthology.ast import Node
from anthology.atomic import Damaged, read_sealed, write_sealed
from anthology.diagnostics import BuildError, Diagnostic
from anthology.manifest import discarded, output_hash

FOLIO = re.compile(r"^(\d+|[ivxlcdm]+)$")
FOLIO_BAND = 0.1  # a folio sits in the outer tenth of the page height, above or below the text block
XHTML = "http://www.w3.org/1999/xhtml"
PROBE_LETTERS = 60  # letters of a page's opening compared with the book's text
MIN_PROBE = 12  # fewer letters than this cannot place a page reliably
MIN_LINE = 20  # a line looked for on its own must be at least this long
LINE_WINDOW = 400  # how far past the page's last matched line its next line may be found, in letters
SEARCH_WINDOW = 20000  # how far past the previous page a page may begin, in letters


NOT_LETTER = re.compile(r"[^a-z]")


def letters(text: str) -> str:
    """Lowercase ASCII letters only: the common ground of the PDF's extracted text and the AST's words."""
    return NOT_LETTER.sub("", text.lower())


@dataclass(frozen=True)
class PrintPage:
    """One page of the print PDF: its 0-based index, its printed folio (None if it prints none), its text."""

    index: int
    folio: str | None
    chunks: tuple[str, ...]  # text runs in drawing order, the folio left out

    @cached_property
    def letters(self) -> tuple[str, ...]:
        """Each line's letters, worked out once: a page is looked for from each of its lines in turn."""
        return tuple(letters(chunk) for chunk in self.chunks)


def _folio_of(lines: list[tuple[str, float]], height: float) -> str | None:
    """The page's folio: a bare number (arabic or roman) in the outer band of the page, nearest the edge."""
    candidates = [
        (_edge_distance(y, height), text.strip())
        for text, y in lines
        if FOLIO.match(text.strip()) and _edge_distance(y, height) < FOLIO_BAND * height
    ]
    return min(candidates)[1] if candidates else None


def _edge_distance(y: float, height: float) -> float:
    return min(y, height - y)


def page_count(pdf: Path) -> int:
    import pikepdf

    try:
        with pikepdf.open(pdf) as document:
            return len(document.pages)
    except pikepdf.PdfError as error:
        raise BuildError([Diagnostic("E155", f"pdftotext could not read the PDF: {error}", file=pdf)]) from None


@contextmanager
def pdftotext_in_parallel(tool: str, pdf: Path) -> Iterator[list[Path]]:
    """pdftotext's word boxes of the whole PDF, one file per range of pages, read one range per core at once (it
    takes seconds on a book, and the EPUB waits for it). The files are kept until the pages are read from them."""
    count = page_count(pdf)
    share = max(1, -(-count // max(1, os.cpu_count() or 1)))
    ranges = [(first, min(count, first + share - 1)) for first in range(1, count + 1, share)]
    with tempfile.TemporaryDirectory() as scratch:
        # Into files, not pipes: a pipe left unread while another run is read would stall its run.
        targets = [Path(scratch) / f"{first}.html" for first, _ in ranges]
        runs = [
            processes.popen([tool, "-bbox-layout", "-f", str(a), "-l", str(b), str(pdf), str(target)], stderr=PIPE)
            for (a, b), target in zip(ranges, targets, strict=True)
        ]
        for run in runs:
            _, err = run.communicate()
            if run.returncode != 0:
                message = err.decode("utf-8", "replace").strip()
                raise BuildError([Diagnostic("E155", f"pdftotext could not read the PDF: {message}", file=pdf)])
        yield targets


def page_elements(output: Path) -> Iterator[Any]:
    """pdftotext's pages one at a time, each freed once read: a whole range's word boxes as one tree took a
    gigabyte on a 50-chapter book."""
    for _, page in etree.iterparse(
        str(output),
        events=("end",),
        tag=f"{{{XHTML}}}page",
        resolve_entities=False,
        no_network=True,
        recover=True,
        huge_tree=True,
    ):
        yield page
        page.clear()
        while page.getprevious() is not None:
            del page.getparent()[0]


def print_page(index: int, page: Any) -> PrintPage:
    """One page's folio and its lines of text, the folio left out."""
    height = float(page.get("height", "0"))
    lines = [
        (" ".join(word.text or "" for word in line), (float(line.get("yMin", 0)) + float(line.get("yMax", 0))) / 2)
        for line in page.iter(f"{{{XHTML}}}line")
    ]
    lines = [(text, y) for text, y in lines if text.strip()]
    folio = _folio_of(lines, height)
    chunks = [
        text
        for text, y in lines
        if not (folio and text.strip() == folio and _edge_distance(y, height) < FOLIO_BAND * height)
    ]
    return PrintPage(index, folio, tuple(chunks))


def read_print_pages(pdf: Path) -> list[PrintPage]:
    """Every page of the PDF with its folio and lines of text: as the print build laid them out (saved beside the
    PDF), or else read by poppler's pdftotext (pypdf takes ten times as long on a book)."""
    saved = saved_print_pages(pdf)
    return saved if saved is not None else pdftotext_pages(pdf)


def pdftotext_pages(pdf: Path) -> list[PrintPage]:
    """Every page of the PDF with its folio and lines of text, as poppler's pdftotext reads them."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise BuildError(
            [
                Diagnostic(
                    "E154",
                    "pdftotext is not installed: the EPUB's page list is read from the print PDF with it",
                    file=pdf,
                    hint="install poppler-utils (see README, System packages)",
                )
            ]
        )
    with pdftotext_in_parallel(tool, pdf) as outputs:
        read = (page for output in outputs for page in page_elements(output))
        return [print_page(index, page) for index, page in enumerate(read)]


def pages_path(pdf: Path) -> Path:
    """Where the print build leaves the pages' text it laid out: in the output folder's cache."""
    return pdf.parent / ".cache" / f"{pdf.name}.pages.json"


def save_print_pages(pdf: Path, pages: list[PrintPage]) -> None:
    """The pages' folios and lines as the layout made them, with the digest of the PDF they belong to."""
    data = {"pdf_sha256": output_hash(pdf), "pages": [[page.folio, list(page.chunks)] for page in pages]}
    write_sealed(pages_path(pdf), data)


def saved_print_pages(pdf: Path) -> list[PrintPage] | None:
    """The pages the print build saved for this very PDF (None if there are none, or they are another PDF's; a
    damaged file is discarded with a warning, W064, and the PDF is read instead)."""
    try:
        data = read_sealed(pages_path(pdf))
        if data["pdf_sha256"] != output_hash(pdf):
            return None
        return [PrintPage(index, folio, tuple(lines)) for index, (folio, lines) in enumerate(data["pages"])]
    except FileNotFoundError:
        return None
    except (Damaged, ValueError, KeyError, TypeError) as error:
        reason = str(error) if isinstance(error, Damaged) else "it is not of the form this build writes"
        discarded(pages_path(pdf), "the print pages' text", reason)
        return None


def first_body_page(stream: str, pages: list[PrintPage]) -> int | None:
    """The page on which the book's text itself begins (its first words open the page's text): the pages before
    it (half-title, title, imprint, contents) carry no marker. The page's first line must be the one that begins
    the text (a Note on the Texts has a line naming the first chapter, further down). The last such page wins, as a
    contents page can open with the same words as the text (a part title followed by its first chapter's title)."""
    starts = [page.index for page in pages if locate_page(stream, page, 0, 0) == (0, opening_line(page))]
    if starts:
        return starts[-1]
    # A first text too short for its page's opening to be looked for (its notes follow its few words): the page
    # whose lines, from its first, follow the text furthest.
    agreed = [(opening_agreement(stream, page), page.index) for page in pages]
    best = max(agreed, default=(0, 0))
    return best[1] if best[0] else None


def opening_line(page: PrintPage) -> int | None:
    """The index of the page's first line with letters."""
    return next((index for index, line in enumerate(page.letters) if line), None)


def opening_agreement(stream: str, page: PrintPage) -> int:
    """How many letters of the stream's beginning the page's lines give, each in turn from its first, up to the
    first line that does not continue it."""
    position = 0
    for line in page.letters:
        agreed = _common_prefix(stream, position, line)
        if agreed < len(line) and agreed < MIN_LINE:
            break
        position += agreed
    return position


def page_labels(pages: list[PrintPage], first: int) -> dict[int, str]:
    """Labels of the pages from `first` on: the printed folio, or for a page printed without one (a part title,
    a blank page) the number the page counter gives it, when the folios around it follow the page sequence. A
    book so short that no page of it prints a folio (every text opens a page, and openers print none) is numbered
    as the print's page counter runs, from 1 on the first page of the PDF."""
    offsets = {int(p.folio) - p.index for p in pages[first:] if p.folio and p.folio.isdigit()}
    if not any(p.folio for p in pages[first:]):
        offsets = {1}
    labels: dict[int, str] = {}
    for page in pages[first:]:
        if page.folio:
            labels[page.index] = page.folio
        elif len(offsets) == 1:
            labels[page.index] = str(page.index + next(iter(offsets)))
    return labels


@dataclass
class WordStream:
    """The e-book's running text as letters, with the word (a Str node and the list holding it) each letter is in."""

    text: str
    starts: list[int]  # where each word's letters begin in `text`
    words: list[tuple[list[Node], Node]]
    # What a word has before its first letter (an opening quotation mark, a bracket), for the words that have any:
    # a marker goes before the whole word.
    prefixes: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, blocks: list[Node]) -> WordStream:
        parts: list[str] = []
        starts: list[int] = []
        words: list[tuple[list[Node], Node]] = []
        prefixes: dict[int, str] = {}
        length = 0
        for container, node in _words(blocks):
            word = letters(node["c"])
            if word:
                prefix = _before_letters(node["c"])
                if prefix:
                    prefixes[len(words)] = prefix
                parts.append(word)
                starts.append(length)
                words.append((container, node))
                length += len(word)
        return cls("".join(parts), starts, words, prefixes)

    def without_words(self) -> WordStream:
        """The letters and where the words begin, without the trees they come from (which may then be freed)."""
        return WordStream(self.text, self.starts, [], self.prefixes)

    def word_at(self, offset: int) -> tuple[list[Node], Node] | None:
        """The word holding the letter at `offset` (None past the end)."""
        if offset >= len(self.text):
            return None
        return self.words[bisect.bisect_right(self.starts, offset) - 1]


def _before_letters(text: str) -> str:
    if text[:1].isascii() and text[:1].isalpha():  # most words: a letter first
        return ""
    for index, char in enumerate(text):
        if letters(char):
            return text[:index]
    return text


_WORD = object()  # on _words' stack, above a word and its list (the AST may hold tuples: attributes' pairs)
NOT_RUNNING_TEXT = frozenset({"Note", "Image", "RawBlock", "RawInline", "Math", "Code", "CodeBlock"})


def _words(value: Any) -> list[tuple[list[Node], Node]]:
    """Every Str in reading order with the list that holds it; notes (set at the page foot in print), images and
    raw markup are not part of the running text. With an explicit stack: nested generators took most of the
    e-book draft's word stream."""
    found: list[tuple[list[Node], Node]] = []
    stack: list[Any] = [value]
    while stack:
        value = stack.pop()
        if value is _WORD:  # a word, in its turn: below the marker, with its list
            found.append(stack.pop())
        elif type(value) is list:
            for item in reversed(value):
                if type(item) is dict and item.get("t") == "Str":
                    stack.append((value, item))
                    stack.append(_WORD)
                else:
                    stack.append(item)
        elif type(value) is dict and "t" in value:
            kind = value["t"]
            if kind not in NOT_RUNNING_TEXT:
                content = value.get("c")
                stack.append(content[1] if kind == "Cite" else content)
    return found


@dataclass(frozen=True)
class PageBreak:
    """Where a print page begins in the e-book: before `node` in `container` (None for a page found nowhere)."""

    label: str
    index: int
    at: int | None  # letter offset in the stream


def _probes(lines: tuple[str, ...], start: int) -> list[str]:
    """What a page's text from line `start` on is looked for by (`lines`: the page's lines as letters): its
    opening letters; the line alone (print may set words the e-book has not, such as a chapter number, right after
    it); and the line's first letters (print may add to a line, such as the page numbers of a bibliography's
    back-references)."""
    opening = ""
    for following in lines[start:]:
        opening += following
        if len(opening) >= PROBE_LETTERS:
            break
    opening = opening[:PROBE_LETTERS]
    line = lines[start][:PROBE_LETTERS]
    probes = [opening] if len(opening) >= MIN_PROBE or start == 0 else []
    if len(line) >= MIN_LINE:
        probes += [line, line[:MIN_LINE]]
    return list(dict.fromkeys(probe for probe in probes if probe))


def locate_page(stream: str, page: PrintPage, cursor: int, window: int) -> tuple[int, int] | None:
    """The earliest place at or after `cursor` where one of the page's lines begins the same way as the stream.
    Returns (offset, index of that line) or None."""
    best: tuple[int, int] | None = None
    for start in range(len(page.letters)):
        for probe in _probes(page.letters, start):
            found = stream.find(probe, cursor, cursor + window + len(probe))
            if found >= 0 and (best is None or found < best[0]):
                best = (found, start)
        if best is not None and best[0] == cursor:
            break
    return best


def page_ends(stream: str, page: PrintPage, at: int, start: int) -> list[int]:
    """How far the page's text reaches in the stream, line by line from `at`: a line whose opening continues the
    stream, or a long enough line found close after (lines print has and the e-book has not, such as notes,
    labels and running heads, are passed over). A line counts as far as it agrees, and only when it agrees for a
    whole line or MIN_LINE letters: letters matching by chance past the page's last line must not carry the end
    into the next page. After that end come the ends the page has if a line past it that agrees only in part is
    the text's, set in print with more (a cross-reference's page number): which, the next page tells."""
    position = at
    partly: list[int] = []
    for line in page.letters[start:]:
        if not line:
            continue
        agreed = _common_prefix(stream, position, line)
        if agreed == len(line) or agreed >= MIN_LINE:
            position += agreed
            partly = []
            continue
        if agreed:
            partly.append(position + agreed)
        if len(line) >= MIN_LINE:
            found = stream.find(line, position, position + LINE_WINDOW + len(line))
            if found >= 0:
                position = found + len(line)
                partly = []
    return [position, *partly]


def _common_prefix(stream: str, at: int, text: str) -> int:
    """How many letters of `text` the stream has from `at` on."""
    count = 0
    limit = min(len(text), len(stream) - at)
    while count < limit and stream[at + count] == text[count]:
        count += 1
    return count


def continues_at(stream: str, page: PrintPage, cursor: int) -> tuple[int, int] | None:
    """The page begins right where the text before it ends, at `cursor`, when one of its lines continues the stream
    there (a whole line, or MIN_LINE letters of it): then a line of any length places it, as its position is not
    guessed but known. Returns (cursor, index of that line) or None."""
    for start, line in enumerate(page.letters):
        agreed = _common_prefix(stream, cursor, line) if line else 0
        if agreed and (agreed == len(line) or agreed >= MIN_LINE):
            return cursor, start
    return None


def unplaced(page: PrintPage, label: str, pdf: Path) -> Diagnostic:
    opening = " ".join("".join(page.chunks).split())[:60]
    return Diagnostic(
        "E150",
        f"print page {label} (PDF page {page.index + 1}) begins “{opening}”, which is not in the e-book's text",
        file=pdf,
        hint="the PDF is older than the texts: build the PDF and the EPUB together (`invoke build`)",
    )


def locate_pages(stream: str, pages: list[PrintPage], labels: dict[int, str], pdf: Path) -> list[PageBreak]:
    """Place every labelled page: where the text before it ends, when the page's text continues it there, or else
    where its opening is found further on. A page with no text (a blank verso) begins where the next page begins;
    so does a page whose text is not in the e-book at all (a note carried over, or moved, to the page after its
    call) when nothing of the e-book's text lies between the pages around it. Any other page whose text is not
    found means the PDF does not match the texts."""
    breaks: list[PageBreak] = []
    ends = [0]  # where the text before the page may end, the likeliest first (page_ends)
    missing: list[Diagnostic] = []
    notes_only: list[PrintPage] = []  # pages since the last one placed whose text was found nowhere
    for page in pages:
        if page.index not in labels:
            continue
        if not "".join(page.letters):
            breaks.append(PageBreak(labels[page.index], page.index, None))
            continue
        found = next(filter(None, (continues_at(stream, page, end) for end in ends)), None)
        found = found or locate_page(stream, page, ends[0], SEARCH_WINDOW)
        if found is None:
            notes_only.append(page)
            breaks.append(PageBreak(labels[page.index], page.index, None))
            continue
        at, start = found
        if at not in ends:  # text of the e-book lies before this page that no page between holds
            missing += [unplaced(other, labels[other.index], pdf) for other in notes_only]
        notes_only = []
        breaks.append(PageBreak(labels[page.index], page.index, at))
        ends = page_ends(stream, page, at, start)
        ends[0] = max(ends[0], at + 1)
    if len(stream) not in ends:
        missing += [unplaced(other, labels[other.index], pdf) for other in notes_only]
    if missing:
        raise BuildError(missing)
    return _fill_blanks(breaks, len(stream))


def _fill_blanks(breaks: list[PageBreak], end: int) -> list[PageBreak]:
    """A blank page's marker goes where the next page with text begins (or at the end of the text)."""
    filled: list[PageBreak] = []
    following = end
    for item in reversed(breaks):
        if item.at is None:
            item = PageBreak(item.label, item.index, following)
        following = item.at if item.at is not None else following
        filled.append(item)
    return list(reversed(filled))


def marker(label: str, ident: str) -> Node:
    """An empty page-break marker: the print page `label` begins here (EPUB 3 and DPUB-ARIA semantics)."""
    keyvals = [["epub:type", "pagebreak"], ["role", "doc-pagebreak"], ["aria-label", label]]
    return {"t": "Span", "c": [[ident, ["pagebreak"], keyvals], []]}


def marker_id(label: str) -> str:
    return f"page-{label}"


def marker_ids(breaks: list[PageBreak]) -> list[str]:
    """Each marker's id: its page's label, with the PDF page's index too where a label comes twice."""
    used: set[str] = set()
    ids: list[str] = []
    for item in breaks:
        ident = marker_id(item.label)
        ids.append(ident if ident not in used else f"page-{item.label}-{item.index}")
        used.add(ids[-1])
    return ids


def insert_markers(blocks: list[Node], stream: WordStream, breaks: list[PageBreak]) -> list[str]:
    """Put a marker before the word where each page begins (the whole word, when print hyphenates it across the
    page turn); returns the marker ids in page order."""
    ids = marker_ids(breaks)
    pending: dict[int, list[Node]] = {}
    for item, ident in zip(breaks, ids, strict=True):
        assert item.at is not None
        pending.setdefault(item.at, []).append(marker(item.label, ident))
    # Markers go before the word holding the letter. Each container (a list of inlines) is rebuilt once with all
    # its markers: finding each word by a scan of its container took seconds on a paragraph of a megabyte.
    # id(container) -> (container, id(word) -> markers)
    before: dict[int, tuple[list[Node], dict[int, list[Node]]]] = {}
    for at in sorted(pending):
        word = stream.word_at(at)
        if word is None:
            blocks.append({"t": "Plain", "c": pending[at]})
            continue
        container, node = word
        before.setdefault(id(container), (container, {}))[1].setdefault(id(node), []).extend(pending[at])
    for container, markers in before.values():
        container[:] = [new for item in container for new in (*markers.get(id(item), ()), item)]
    return ids
