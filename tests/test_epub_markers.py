"""The EPUB's page markers for texts whose pages give little to look for: a text of one short sentence with a note, a
text of only a heading, a text of only a note, a first text of two words. Each book is a copy of the fixture book
with such texts added, built in full; every marker must stand before the first word its print page begins with,
read from the PDF by pdftotext and from the EPUB's XHTML."""

from __future__ import annotations

import random
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from anthology.diagnostics import BuildError
from anthology.render.print import pagemap
from conftest import MINIBOOK, build_into
from outputs import pdf_pages_text

NS = {"opf": "http://www.idpf.org/2007/opf", "h": "http://www.w3.org/1999/xhtml"}
FOLIO = re.compile(r"^\d+$")
HYPHEN_AT_END = re.compile("[-\u2010]\n")  # print's hyphenation (U+2010) or a hyphen at a line's end


def word_letters(text: str) -> list[str]:
    """The text's words as lowercase letters (words without a letter, such as note calls and folios, left out); a
    word hyphenated at a line's end is joined again."""
    words = (re.sub(r"[^a-z]", "", word.lower()) for word in HYPHEN_AT_END.sub("", text).split())
    return [word for word in words if word]


TEXT_CONSONANTS = "bcdfghklmnprsv"  # made-up words of the running text: none is a title, byline or running head
NOTE_CONSONANTS = "jqwxy"  # nor any word of the notes, which print sets on the same page


def nonsense(rng: random.Random, count: int, consonants: str = TEXT_CONSONANTS) -> str:
    """Made-up words of one to four syllables (so that a word on the wrong page cannot pass for the right one)."""
    syllables = [rng.choice(consonants) + rng.choice("aeiou") for _ in range(4 * count)]
    return " ".join("".join(syllables[4 * i : 4 * i + rng.randint(1, 4)]) for i in range(count))


def add_text(book: Path, slug: str, title: str, body: str) -> None:
    """A chapter with the front matter the fixture's texts have, at the end of the book's only part."""
    front = f"---\ntitle: {title}\nauthors: [Ada Writer]\nsource: {slug}.txt\nrights: cleared\n---\n"
    (book / "texts" / f"{slug}.md").write_text(front + body, encoding="utf-8")
    config = book / "book.yaml"
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    last = max(number for number, line in enumerate(lines) if line.startswith("      - "))
    config.write_text("".join([*lines[: last + 1], f"      - {slug}\n", *lines[last + 1 :]]), encoding="utf-8")


@pytest.fixture
def short_texts_book(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    rng = random.Random(9)
    (book / "front" / "introduction.md").write_text(
        "---\ntitle: Introduction\n---\nHi there.[^1]\n\n[^1]: A note on the introduction.\n", encoding="utf-8"
    )
    beta = book / "texts" / "beta.md"  # its last line then has a page number in print that the e-book has not
    beta.write_text(beta.read_text(encoding="utf-8").replace("Closing sentence of beta.", "See [@{xref:#a-section}]."))
    add_text(book, "gamma", "Gamma", "Yes.[^1]\n\n[^1]: A note.\n")
    add_text(book, "third", "The Third Chapter", "The third chapter.[^1]\n\n[^1]: A note.\n")
    add_text(book, "delta", "Delta", "## Only a Heading\n")
    add_text(book, "epsilon", "Epsilon", f"^[{nonsense(rng, 30, NOTE_CONSONANTS)}.]\n")
    paragraphs = [f"{nonsense(rng, 70).capitalize()}.[^{n}]" for n in range(1, 16)]
    notes = [f"[^{n}]: {nonsense(rng, 20 if n % 3 else 120, NOTE_CONSONANTS)}." for n in range(1, 16)]
    add_text(book, "zeta", "Zeta", "\n\n".join(paragraphs) + "\n\n" + "\n".join(notes) + "\n")
    return book


def epub_pieces(epub: Path) -> list[str | tuple[str]]:
    """The EPUB's running text in reading order, word by word, a marker as a 1-tuple of its label: notes and note
    calls (set at the page foot in print) left out, and the contents (which lists titles)."""
    with zipfile.ZipFile(epub) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
        items = {item.get("id"): item for item in opf.iterfind(".//opf:item", NS)}
        pieces: list[str | tuple[str]] = []
        for ref in opf.iterfind(".//opf:itemref", NS):
            item = items[ref.get("idref")]
            if "nav" not in (item.get("properties") or "").split():
                body = etree.fromstring(archive.read(f"EPUB/{item.get('href')}")).find("h:body", NS)
                running_pieces(body, pieces)
    return pieces


def running_pieces(element: etree._Element, pieces: list[str | tuple[str]]) -> None:
    if not isinstance(element.tag, str):
        return
    classes = (element.get("class") or "").split()
    if element.get("role") == "doc-pagebreak":
        pieces.append((element.get("aria-label"),))
    elif "footnotes" not in classes and "footnote-ref" not in classes:
        pieces += word_letters(f" {element.text or ''} ")
        for child in element:
            running_pieces(child, pieces)
    pieces += word_letters(f" {element.tail or ''} ")


def between_markers(pieces: list[str | tuple[str]]) -> list[tuple[str, list[str]]]:
    """Each marker's label with the words from it up to the next marker."""
    found: list[tuple[str, list[str]]] = []
    for piece in pieces:
        if isinstance(piece, tuple):
            found.append((piece[0], []))
        elif found:
            found[-1][1].append(piece)
    return found


def is_subsequence(words: list[str], of: list[str]) -> bool:
    remaining = iter(of)
    return all(word in remaining for word in words)


def assert_markers_stand_where_pages_begin(pdf: Path, epub: Path) -> None:
    """One marker per page of the body, in page order, each before the first word its print page begins with: the
    e-book's words from a marker to the next are all on the marker's print page, in order (a marker placed a word
    late leaves that word to the page before, one placed early takes a word of the page before)."""
    pages = pdf_pages_text(pdf)
    segments = between_markers(epub_pieces(epub))
    assert segments, "the EPUB has no page markers"
    indices = [int(label) - 1 for label, _ in segments]
    assert indices == list(range(indices[0], len(pages))), "one marker per body page, in order"
    for (label, words), index in zip(segments, indices, strict=True):
        last_line = pages[index].strip().splitlines()[-1:]  # where pdftotext reads a folio: at the page's foot
        if last_line and FOLIO.match(last_line[0].strip()):
            assert last_line[0].strip() == label, f"page {label} prints folio {last_line[0]}"
        on_page = word_letters(pages[index])
        assert is_subsequence(words, on_page), f"page {label}: e-book {words[:12]}, print {on_page[:12]}"
    assert sum(len(words) for _, words in segments) > 1000  # the long chapter's words too: the check is not empty


def test_short_texts_and_texts_of_a_heading_or_a_note_get_their_page_markers(short_texts_book, tmp_path):
    built = build_into(short_texts_book, tmp_path / "build")
    assert_markers_stand_where_pages_begin(built.pdf, built.epub)


def test_a_page_holding_only_a_note_begins_where_the_next_page_does():
    """A note carried over to a page with no running text, between pages and at the book's end."""
    stream = pagemap.letters("Short text. The next chapter begins here and goes on.")
    pages = [
        pagemap.PrintPage(0, "1", ("Short text.1", "1. The beginning of a long note that")),
        pagemap.PrintPage(1, "2", ("goes on to the next page, which holds nothing else.",)),
        pagemap.PrintPage(2, "3", ("The next chapter begins here and goes on.1",)),
        pagemap.PrintPage(3, "4", ("1. A note whose whole text is on the last page.",)),
    ]
    breaks = pagemap.locate_pages(stream, pages, {page.index: page.folio for page in pages}, Path("book.pdf"))
    after_short = stream.index("thenext")
    assert [(b.label, b.at) for b in breaks] == [("1", 0), ("2", after_short), ("3", after_short), ("4", len(stream))]


def test_a_page_is_placed_by_a_short_line_where_the_page_before_ends():
    """A page that begins with the rest of a note, then a few words of its own, is placed by those words."""
    stream = pagemap.letters("One. Two. Three.")
    pages = [
        pagemap.PrintPage(0, "1", ("One.1",)),
        pagemap.PrintPage(1, "2", ("of a note begun on the page before", "Two.", "Three.")),
    ]
    breaks = pagemap.locate_pages(stream, pages, {0: "1", 1: "2"}, Path("book.pdf"))
    assert [(b.label, b.at) for b in breaks] == [("1", 0), ("2", stream.index("two"))]


def test_a_short_page_after_a_line_that_print_sets_longer_begins_where_that_line_ends():
    """A page's last line with more letters in print than in the e-book (a cross-reference's page number) agrees
    only in part; the next page, too short to be looked for, begins where that line's agreeing part ends."""
    stream = pagemap.letters("Opening words of the text. See A Section. Gamma. Yes.")
    pages = [
        pagemap.PrintPage(0, "1", ("Opening words of the text.", "See “A Section”, p. 1.", "1. A note.")),
        pagemap.PrintPage(1, "2", ()),
        pagemap.PrintPage(2, "3", ("Gamma", "Yes.1", "1. A note.")),
    ]
    breaks = pagemap.locate_pages(stream, pages, {page.index: page.folio for page in pages}, Path("book.pdf"))
    assert [(b.label, b.at) for b in breaks] == [("1", 0), ("2", stream.index("gamma")), ("3", stream.index("gamma"))]


def test_a_page_not_in_the_text_with_text_of_the_ebook_unplaced_is_reported():
    """A page found nowhere is taken for a page of notes only when no text of the e-book is left between the pages
    around it: otherwise the PDF is not the texts' (a stale PDF), and the page is reported."""
    stream = pagemap.letters("Short text. Words that the print edition does not have. The end of the book.")
    pages = [
        pagemap.PrintPage(0, "1", ("Short text.",)),
        pagemap.PrintPage(1, "2", ("Other words that the e-book does not have anywhere.",)),
        pagemap.PrintPage(2, "3", ("The end of the book.",)),
    ]
    with pytest.raises(BuildError) as caught:
        pagemap.locate_pages(stream, pages, {page.index: page.folio for page in pages}, Path("b.pdf"))
    assert "E150" in str(caught.value) and "page 2" in str(caught.value) and "b.pdf" in str(caught.value)


def test_a_first_text_of_two_words_and_a_note_opens_the_body():
    """The page where the book's text begins, when its opening is too short to be looked for alone: a contents
    page listing the same title is passed over."""
    stream = pagemap.letters("Introduction Hi there. Part One")
    pages = [
        pagemap.PrintPage(0, None, ("Contents", "Introduction 1", "Part One 3")),
        pagemap.PrintPage(1, None, ("Introduction", "Hi there.1", "1. A note on the introduction.")),
        pagemap.PrintPage(2, None, ("Part", "One")),
    ]
    assert pagemap.first_body_page(stream, pages) == 1
