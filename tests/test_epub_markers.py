"""The EPUB's page markers for texts whose pages give little to look for: a text of one short sentence with a note, a
text of only a heading, a text of only a note, a first text of two words. Each book is a copy of the fixture book
with such texts added, built in full; every marker must stand before the first word its print page begins with,
read from the PDF by pdftotext and from the EPUB's XHTML."""

from __future__ import annotations

import html
import random
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from anthology.diagnostics import BuildError
from anthology.render.epub import page_markers
from anthology.render.print import pagemap
from conftest import MINIBOOK, build_into
from outputs import pdf_pages_text

NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "h": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
}
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


# --------------------------------------------------------------------------------------------- every marker, exactly

PDF_WORD = re.compile(r"[a-z]+|[0-9]+")
TABLE = " table"  # with a marker's label: where the header row of the table just after it begins
RUNNING_BAND = 0.075  # running heads and folios sit in the page's outer margins: their lines' middles are this near


def folded_words(text: str) -> list[str]:
    """Words of lowercase letters, or of digits, accents taken off; a word hyphenated at a line's end joined."""
    text = unicodedata.normalize("NFKD", HYPHEN_AT_END.sub("", text).lower())
    return PDF_WORD.findall("".join(char for char in text if not unicodedata.combining(char)))


def pdf_page_words(pdf: Path, number: int) -> list[str]:
    """The words of PDF page `number` (1-based) as pdftotext -f N -l N reads them, running heads and folios left out
    (lines whose middle is in the outer band of the page)."""
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", "-f", str(number), "-l", str(number), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    width, height = (float(v) for v in re.search(r'<page width="([\d.]+)" height="([\d.]+)"', out).groups())
    pattern = r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>'
    lines = []
    for left, top, right, bottom, inner in re.findall(pattern, out, re.S):
        middle = (float(top) + float(bottom)) / 2
        if min(middle, height - middle) >= RUNNING_BAND * height:
            text = " ".join(html.unescape(word) for word in re.findall(r">([^<]*)</word>", inner))
            lines.append((float(left), float(top), float(right), text))
    return folded_words("\n".join(text for *_, text in in_columns(lines, width)))


def in_columns(lines: list[tuple[float, float, float, str]], width: float) -> list[tuple[float, float, float, str]]:
    """A page set in two columns (the index) read as a reader reads it, the left column first: pdftotext's own
    order may put the right column's first line (an entry carried over) first. Other pages as pdftotext reads
    them."""
    left = [line for line in lines if line[2] < width / 2]
    right = [line for line in lines if line[0] > width / 2]
    if len(left) < 5 or len(right) < 5:
        return lines
    top = min(line[1] for line in left + right)
    above = [line for line in lines if line not in left and line not in right and line[1] < top]
    rest = [line for line in lines if line not in left and line not in right and line[1] >= top]

    def by_height(group: list[tuple[float, float, float, str]]) -> list[tuple[float, float, float, str]]:
        return sorted(group, key=lambda line: line[1])

    return [*by_height(above), *by_height(left), *by_height(right), *rest]


def words_after_markers(epub: Path) -> tuple[list[str], dict[str, int]]:
    """The e-book's words in reading order (notes left out), and where each page marker stands among them."""
    pieces: list[str] = []
    at: dict[str, int] = {}
    with zipfile.ZipFile(epub) as archive:
        opf_name = etree.fromstring(archive.read("META-INF/container.xml")).find(".//{*}rootfile").get("full-path")
        opf = etree.fromstring(archive.read(opf_name))
        folder = opf_name.rsplit("/", 1)[0] + "/" if "/" in opf_name else ""
        hrefs = {item.get("id"): item.get("href") for item in opf.iterfind(".//opf:item", NS)}
        for ref in opf.iterfind(".//opf:itemref", NS):
            body = etree.fromstring(archive.read(folder + hrefs[ref.get("idref")])).find("h:body", NS)
            if body is not None:
                visit_running_text(body, pieces, at)
    text = "".join(pieces)
    words = folded_words(text)
    found = {label: len(folded_words(text[:offset])) for label, offset in at.items() if not label.endswith(TABLE)}
    tables = {label: found[label[: -len(TABLE)]] - skipped for label, skipped in at.items() if label.endswith(TABLE)}
    return words, {**found, **tables}


def visit_running_text(element: etree._Element, pieces: list[str], at: dict[str, int]) -> None:
    if element.get(f"{{{NS['epub']}}}type") == "pagebreak":
        at[element.get("aria-label")] = sum(len(piece) for piece in pieces)
        following = element.getnext()
        if following is not None and following.tag == f"{{{NS['h']}}}table" and not (element.tail or "").strip():
            # A page that begins in a table's header row has its marker before the table: it stands for the first
            # header cell (the caption before it may be on the page before). Its place: after the caption's words.
            header = following.find(".//h:th", NS)
            caption = following.find("h:caption", NS)
            if header is not None:
                skipped = len(folded_words("".join(caption.itertext()))) if caption is not None else 0
                at[element.get("aria-label") + TABLE] = -skipped
    pieces.append(element.text or "")
    for child in element:
        if isinstance(child.tag, str) and child.tag != f"{{{NS['h']}}}aside":
            visit_running_text(child, pieces, at)
        pieces.append(child.tail or " ")


def opens_page(ebook: list[str], printed: list[str], count: int = 5) -> bool:
    """The e-book's words from a marker on begin as the page does; a page beginning with the end of a word print
    hyphenated across the turn may have that word whole (the one or two words of it the e-book has) before it."""
    printed = printed[:count]
    if ebook[:count] == printed:
        return True
    return any(
        "".join(ebook[:joined]).endswith(printed[0]) and ebook[joined : joined + count - 1] == printed[1:]
        for joined in (1, 2)
    )


def marker_report(pdf: Path, epub: Path) -> tuple[list[str], list[str]]:
    """Every marker's label, and those whose following words are not the first words of their print page (a page
    with no words begins where the next page with words does)."""
    words, at = words_after_markers(epub)
    count = len(PdfReader(pdf).pages)
    wrong = []
    for label, position in at.items():
        if label.endswith(TABLE):
            continue
        number = int(label)
        printed = pdf_page_words(pdf, number)
        while not printed and number < count:
            number += 1
            printed = pdf_page_words(pdf, number)
        header = at.get(label + TABLE)
        if not opens_page(words[position : position + 40], printed) and not (
            header is not None and opens_page(words[header : header + 40], printed)
        ):
            wrong.append(f"page {label}: e-book {words[position : position + 6]}, print {printed[:6]}")
    return [label for label in at if not label.endswith(TABLE)], wrong


def test_every_page_marker_of_the_book_stands_before_its_print_pages_first_words(built):
    """All of the real book's markers (front and back matter too): the e-book's words after marker N are the first
    words of PDF page N as pdftotext reads them."""
    labels, wrong = marker_report(built.pdf, built.epub)
    assert len(labels) > 100 and labels == sorted(labels, key=int)
    assert not wrong, f"{len(labels) - len(wrong)} right / {len(labels)}:\n" + "\n".join(wrong)


def test_every_page_marker_of_the_fixture_book_stands_before_its_print_pages_first_words(built_minibook):
    labels, wrong = marker_report(built_minibook.pdf, built_minibook.epub)
    assert labels and not wrong, "\n".join(wrong)


# ------------------------------------------------------------------------------------ placement, on made-up pages

XHTML_BODY = '<body xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">{}</body>'


def placed(body_xhtml: str, pages: list[tuple[str, ...]]) -> str:
    """The body with a marker for each made-up print page (labelled from 1), as serialised XHTML, markers shown as
    [N] and the rest of the markup kept."""
    body = etree.fromstring(XHTML_BODY.format(body_xhtml))
    prints = [pagemap.PrintPage(index, str(index + 1), lines) for index, lines in enumerate(pages)]
    page_markers.place([body], prints, {page.index: page.folio for page in prints}, "title-page", Path("b.pdf"))
    text = etree.tostring(body, encoding="unicode")
    text = re.sub(r'<span id="page-(\d+)" class="pagebreak"[^>]*/>', r"[\1]", text)
    return re.sub(r"<body[^>]*>|</body>", "", text)


def test_a_title_repeated_on_a_part_page_places_the_opener_at_the_chapter():
    body = (
        "<section><h1>Part One</h1><p>It holds <a href='#c'>The Long Road</a> and more.</p></section>"
        "<section id='c'><h2>The Long Road</h2><p>Once there was a road that ran a long way.</p></section>"
    )
    pages = [("Part One", "It holds The Long Road and more."), (), ("The Long Road", "Once there was a road that")]
    result = placed(body, [*pages, ("ran a long way.",)])
    assert result.startswith("<section>[1]<h1>")
    assert '<section id="c">[2][3]<h2>The Long Road</h2>' in result
    assert "that [4]ran" in result


def test_a_page_beginning_with_a_number_gets_its_marker_before_the_number():
    body = "<p>They were deported in 1941, the Kalmyks in 1943, and others in 1946.</p>"
    result = placed(body, [("They were deported in",), ("1941, the Kalmyks in 1943, and others in 1946.",)])
    assert "deported in [2]1941, the" in result


def test_a_word_hyphenated_across_the_page_turn_is_left_whole_to_the_next_page():
    body = "<p>The leaders were exhausted and the revolution had occurred to serve their interests.</p>"
    pages = [("The leaders were exhausted and the re\u2010", "3. A note on the page foot."), ("volution had occurred",)]
    result = placed(body, [*pages, ("to serve their interests.",)])
    assert "and the [2]revolution had" in result


def test_a_word_of_a_note_does_not_take_the_next_pages_first_word():
    body = "<p>The threat of restoration became real.<a href='#n1'>8</a> The bureaucracy reacted in panic.</p>"
    pages = [("The threat of restoration became real.8", "8. Trotsky, The Class Nature of the State."), ()]
    result = placed(body, [*pages, ("The bureaucracy reacted in panic.",)])
    assert "</a> [2][3]The bureaucracy" in result


def test_a_marker_never_stands_inside_a_heading_a_link_or_a_tables_header():
    body = (
        "<p>Before the heading comes this line.</p><h3>20. Rivers of blood</h3><p>Inside the union it grew.</p>"
        "<p>See <a href='#x'>the long chapter on it</a> here.</p>"
        "<table><tr><th>Year and month</th></tr><tr><td>1921</td></tr></table>"
    )
    pages = [
        ("Before the heading comes this line.",),
        ("20. Rivers of blood", "Inside the union it grew.", "See the long"),
        ("chapter on it here.",),
        ("Year and month", "1921"),
    ]
    result = placed(body, pages)
    assert "[2]<h3>20. Rivers of blood</h3>" in result
    assert "See [3]<a href" in result
    assert "[4]<table>" in result


def test_print_pages_of_other_texts_are_refused_with_the_pdf():
    with pytest.raises(BuildError) as caught:
        placed("<p>Quite other words entirely, and a good many of them here.</p>", [("Words the e-book lacks.",)])
    assert "E157" in str(caught.value) and "b.pdf" in str(caught.value)


def test_a_page_opening_with_a_marked_or_emphasised_word_has_its_marker_before_that_element():
    """The marker stands before an inline element the page's first word opens (an index marker, an emphasis), so
    that the element, and the link to it, is on the page its first word is on."""
    body = '<p>The end of a page.</p><p><span id="ix1" class="index-marker"><em>Lenin</em></span> wrote it.</p>'
    result = placed(body, [("The end of a page.",), ("Lenin wrote it.",)])
    assert '[2]<span id="ix1" class="index-marker"><em>Lenin</em></span> wrote' in result
