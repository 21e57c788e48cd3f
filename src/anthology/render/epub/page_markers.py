"""Page-break markers put into the XHTML pandoc's EPUB writer made, rather than into its input: pandoc then runs
while the print edition is still being laid out (it takes seconds), and the markers go in once the pages are known.

The e-book's running text (pagemap.WordStream: the letters of its words, notes, code and the title page left out)
is read again from pandoc's XHTML, with the same parts left out. Where the two agree letter for letter, each marker
goes before the word its page begins in, where pandoc writes a marker placed before that word in its input. Where
they do not (markup this reading does not expect, such as raw HTML in a text), nothing is placed: the caller then
places the markers in pandoc's input and runs it again.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from anthology.render.epub.package import EPUB_TYPE, q
from anthology.render.print.pagemap import PageBreak, WordStream, letters, marker_ids

MATHML = "http://www.w3.org/1998/Math/MathML"
# What the running text leaves out: notes (set at the page foot in print), code, math and the document's head.
LEFT_OUT = {q(name) for name in ("head", "aside", "code", "pre")} | {f"{{{MATHML}}}math"}


@dataclass(frozen=True)
class Run:
    """One text node of the XHTML that holds letters: `element`'s text, or with `tail` the text after it."""

    element: etree._Element
    tail: bool
    start: int  # letters of the running text before it

    @property
    def text(self) -> str:
        return (self.element.tail if self.tail else self.element.text) or ""


def left_out(element: etree._Element, title_page: str) -> bool:
    return (
        element.tag in LEFT_OUT
        or element.get(EPUB_TYPE) == "footnotes"
        or element.get("id") == title_page
        or "math" in (element.get("class") or "").split()
    )


def text_runs(bodies: Iterable[etree._Element], title_page: str) -> tuple[list[Run], str]:
    """The text nodes in reading order, and their letters joined: the e-book's running text as pandoc wrote it."""
    runs: list[Run] = []
    parts: list[str] = []
    count = 0

    def add(element: etree._Element, tail: bool, text: str | None) -> None:
        nonlocal count
        found = letters(text or "")
        if found:
            runs.append(Run(element, tail, count))
            parts.append(found)
            count += len(found)

    def visit(element: etree._Element) -> None:
        add(element, False, element.text)
        for child in element:
            if isinstance(child.tag, str) and not left_out(child, title_page):
                visit(child)
            add(child, True, child.tail)

    for body in bodies:
        visit(body)
    return runs, "".join(parts)


def char_of_letter(text: str, letter: int) -> int:
    """Where in `text` its `letter`-th letter (0-based, as `letters` counts them) stands."""
    seen = -1
    for index, char in enumerate(text):
        if letters(char):
            seen += 1
            if seen == letter:
                return index
    raise ValueError(f"no letter {letter} in {text!r}")


def new_marker(parent: etree._Element, label: str, ident: str) -> etree._Element:
    """pandoc's span for a marker, attributes in its order, made inside `parent` so that it takes the document's
    namespace prefixes (the caller moves it into place)."""
    span = etree.SubElement(parent, q("span"))
    span.set("id", ident)
    span.set("class", "pagebreak")
    span.set(EPUB_TYPE, "pagebreak")
    span.set("role", "doc-pagebreak")
    span.set("aria-label", label)
    return span


def insert_at(run: Run, char: int, markers: list[tuple[str, str]]) -> None:
    """The markers, in order, at `char` of the run's text node."""
    text = run.text
    parent = run.element.getparent() if run.tail else run.element
    assert parent is not None
    position = parent.index(run.element) + 1 if run.tail else 0
    if run.tail:
        run.element.tail = text[:char]
    else:
        run.element.text = text[:char]
    for offset, (label, ident) in enumerate(markers):
        span = new_marker(parent, label, ident)
        parent.insert(position + offset, span)
    span.tail = text[char:]


def last_section(body: etree._Element) -> etree._Element:
    """Where pandoc puts blocks that follow the book's last one: its innermost open section (not the notes)."""
    element = body
    while True:
        sections = [child for child in element if child.tag == q("section") and child.get(EPUB_TYPE) != "footnotes"]
        if not sections or sections[-1] is not element[-1]:
            return element
        element = sections[-1]


def append_at_end(body: etree._Element, markers: list[tuple[str, str]]) -> None:
    """Markers past the last word (blank pages at the book's end), as pandoc writes a final plain block of them."""
    section = last_section(body)
    for label, ident in markers:
        span = new_marker(section, label, ident)
    span.tail = "\n"


def place(
    bodies: list[etree._Element], stream: WordStream, breaks: list[PageBreak], title_page: str
) -> list[str] | None:
    """Put a marker where each print page begins, into the XHTML bodies (in reading order); the markers' ids in
    page order, or None (nothing changed) when the XHTML's running text is not the stream's."""
    runs, text = text_runs(bodies, title_page)
    if text != stream.text:
        return None
    ids = marker_ids(breaks)
    at_word: dict[int, list[tuple[str, str]]] = {}
    for item, ident in zip(breaks, ids, strict=True):
        assert item.at is not None
        word = bisect.bisect_right(stream.starts, item.at) - 1 if item.at < len(text) else len(stream.starts)
        at_word.setdefault(word, []).append((item.label, ident))
    run_starts = [run.start for run in runs]
    places = []
    for word, markers in sorted(at_word.items()):
        if word == len(stream.starts):
            continue
        start = stream.starts[word]
        run = runs[bisect.bisect_right(run_starts, start) - 1]
        prefix = stream.prefixes.get(word, "")
        char = char_of_letter(run.text, start - run.start) - len(prefix)
        if char < 0 or run.text[char : char + len(prefix)] != prefix:
            return None
        places.append((run, char, markers))
    for run, char, markers in reversed(places):  # from the end: a split text node keeps its earlier offsets
        insert_at(run, char, markers)
    if len(stream.starts) in at_word:
        append_at_end(bodies[-1], at_word[len(stream.starts)])
    return ids
