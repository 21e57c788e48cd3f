"""Page-break markers put into the XHTML pandoc's EPUB writer made, rather than into its input: pandoc then runs
while the print edition is still being laid out (it takes seconds), and the markers go in once the pages are known.

The e-book's words are read from pandoc's XHTML (its notes, the document heads, math and the title page left out)
and aligned with the print pages' words (page_align.py). Each marker goes before the whole word its page begins
with (an opening quotation mark or bracket included), and never inside a heading, a link or a table's header cell,
where its label would become part of that element's name: it goes just before that element instead, so a page that
opens a chapter has its marker at the chapter's opening.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from anthology.diagnostics import BuildError, Diagnostic
from anthology.render.epub import page_align
from anthology.render.epub.package import EPUB_TYPE, q
from anthology.render.print.pagemap import PageBreak, PrintPage, marker_ids

MATHML = "http://www.w3.org/1998/Math/MathML"
# What is not the e-book's running text: notes (set at the page foot in print), math and the document's head.
LEFT_OUT = {q("head"), q("aside"), f"{{{MATHML}}}math"}
# Elements a marker must not stand in (its label would become their name): it goes before them.
NOT_INSIDE = {q(name) for name in ("h1", "h2", "h3", "h4", "h5", "h6", "a", "th", "caption", "figcaption")}
IN_TABLE = {q("th"), q("caption")}
INLINE = {
    q(name) for name in ("span", "em", "strong", "i", "b", "cite", "q", "small", "mark", "dfn", "sup", "sub", "s", "u")
}
MATCHED_AT_LEAST = 0.5  # of the e-book's words: fewer matched means the PDF is not of these texts


@dataclass(frozen=True)
class Run:
    """One text node of the XHTML: `element`'s text, or with `tail` the text after it."""

    element: etree._Element
    tail: bool

    @property
    def text(self) -> str:
        return (self.element.tail if self.tail else self.element.text) or ""

    @property
    def holder(self) -> etree._Element:
        """The element the text node is in."""
        parent = self.element.getparent() if self.tail else self.element
        assert parent is not None
        return parent


@dataclass(frozen=True)
class Word:
    run: Run
    run_index: int  # the run's place in reading order
    char: int  # where the word starts in the run's text, its opening punctuation included
    folded: str


def left_out(element: etree._Element, title_page: str) -> bool:
    return (
        element.tag in LEFT_OUT
        or element.get(EPUB_TYPE) in ("footnotes", "endnotes")
        or element.get("id") == title_page
        or "math" in (element.get("class") or "").split()
    )


def text_runs(bodies: Iterable[etree._Element], title_page: str, ids: dict[str, int] | None = None) -> list[Run]:
    """The text nodes in reading order; into `ids`, if given, where each element with an id begins among them."""
    runs: list[Run] = []

    def visit(element: etree._Element) -> None:
        if ids is not None and element.get("id"):
            ids.setdefault(str(element.get("id")), len(runs))
        runs.append(Run(element, False))
        for child in element:
            if isinstance(child.tag, str) and not left_out(child, title_page):
                visit(child)
            runs.append(Run(child, True))

    for body in bodies:
        visit(body)
    return runs


def ebook_words(runs: Iterable[Run]) -> list[Word]:
    """The e-book's words in reading order, each with where its whole word (punctuation before it too) begins."""
    words: list[Word] = []
    for index, run in enumerate(runs):
        text = run.text
        for start, folded in page_align.words_of(text):
            begin = start
            while begin > 0 and not text[begin - 1].isspace() and not page_align.WORD.match(text[begin - 1]):
                begin -= 1
            words.append(Word(run, index, begin, folded))
    return words


def pages_of_ids(ids: dict[str, int], words: list[Word], breaks: list[PageBreak]) -> dict[str, str]:
    """The print page each element with an id is on: the page its first word is on."""
    run_indices = [word.run_index for word in words]
    starts = [item.at if item.at is not None else len(words) for item in breaks]
    pages: dict[str, str] = {}
    for ident, run in ids.items():
        word = bisect.bisect_left(run_indices, run)
        page = bisect.bisect_right(starts, word) - 1
        if page >= 0 and word < len(words):
            pages[ident] = breaks[page].label
    return pages


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


def outermost_not_inside(element: etree._Element) -> etree._Element | None:
    """The outermost heading, link or header cell `element` is in (itself included), if any; for a header cell or
    a caption, its table (a marker may not stand between a table's rows or cells)."""
    found = None
    while element is not None and element.tag != q("body"):
        if element.tag in NOT_INSIDE:
            found = element
        element = element.getparent()
    if found is not None and found.tag in IN_TABLE:
        table = next(found.iterancestors(q("table")), None)
        return table if table is not None else found
    return found


def opened_by(element: etree._Element) -> etree._Element:
    """The outermost inline element that `element` opens (nothing before it in its parent), itself included."""
    while True:
        parent = element.getparent()
        if (
            parent is None
            or parent.tag not in INLINE
            or element.getprevious() is not None
            or (parent.text or "").strip()
        ):
            return element
        element = parent


def insert_before_word(word: Word, markers: list[tuple[str, str]]) -> None:
    """The markers, in order, before the word; before the heading, link or header cell it is in, if any."""
    run = word.run
    around = outermost_not_inside(run.holder)
    if around is not None:
        parent = around.getparent()
        assert parent is not None
        for label, ident in markers:
            around.addprevious(new_marker(parent, label, ident))
        return
    text, parent = run.text, run.holder
    if not run.tail and not text[: word.char].strip() and parent.tag in INLINE:
        wrapper = opened_by(parent)  # the word opens an inline element (an index marker, an emphasis): before it
        holder = wrapper.getparent()
        assert holder is not None
        for label, ident in markers:
            wrapper.addprevious(new_marker(holder, label, ident))
        return
    position = parent.index(run.element) + 1 if run.tail else 0
    if run.tail:
        run.element.tail = text[: word.char]
    else:
        run.element.text = text[: word.char]
    for offset, (label, ident) in enumerate(markers):
        span = new_marker(parent, label, ident)
        parent.insert(position + offset, span)
    span.tail = text[word.char :]


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


def page_breaks(words: Sequence[str], pages: list[PrintPage], labels: dict[int, str], pdf: Path) -> list[PageBreak]:
    """Where each labelled page begins among the e-book's words; a page none of whose words is in the e-book (a
    blank page, a page of notes carried over) begins where the next page does. E157 when the print pages and the
    e-book have too little in common to be of the same texts."""
    laid = [page for page in pages if page.index >= min(labels, default=len(pages))]
    starts, matched = page_align.page_starts(words, [page_align.page_words(page.chunks) for page in laid])
    if words and matched < MATCHED_AT_LEAST * len(words):
        raise BuildError(
            [
                Diagnostic(
                    "E157",
                    f"the print PDF's pages hold only {matched} of the e-book's {len(words)} words in order: "
                    "it is not a PDF of these texts",
                    file=pdf,
                    hint="the PDF is older than the texts: build the PDF and the EPUB together (`invoke build`)",
                )
            ]
        )
    breaks: list[PageBreak] = []
    following = len(words)
    for page, start in reversed(list(zip(laid, starts, strict=True))):
        following = start if start is not None else following
        if page.index in labels:
            breaks.append(PageBreak(labels[page.index], page.index, following))
    return breaks[::-1]


def place(
    bodies: list[etree._Element],
    pages: list[PrintPage],
    labels: dict[int, str],
    title_page: str,
    pdf: Path,
    rewrite: Callable[[dict[str, str]], bool] | None = None,
) -> list[str]:
    """Put a marker where each labelled print page begins into the XHTML bodies (in reading order); the markers'
    ids in page order. `rewrite` is first given the print page of every element with an id, to write what depends
    on them (the index's page numbers); if it changed the text, the pages are placed in the new text."""
    ids: dict[str, int] = {}
    words = ebook_words(text_runs(bodies, title_page, ids))
    breaks = page_breaks([word.folded for word in words], pages, labels, pdf)
    if rewrite is not None and rewrite(pages_of_ids(ids, words, breaks)):
        words = ebook_words(text_runs(bodies, title_page))
        breaks = page_breaks([word.folded for word in words], pages, labels, pdf)
    ids_in_order = marker_ids(breaks)
    at_word: dict[int, list[tuple[str, str]]] = {}
    for item, ident in zip(breaks, ids_in_order, strict=True):
        assert item.at is not None
        at_word.setdefault(item.at, []).append((item.label, ident))
    for index in sorted(at_word, reverse=True):  # from the end: a split text node keeps its earlier offsets
        if index < len(words):
            insert_before_word(words[index], at_word[index])
    if len(words) in at_word:
        append_at_end(bodies[-1], at_word[len(words)])
    return ids_in_order
