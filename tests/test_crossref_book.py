"""The real book's cross-references and links, read back from the three built editions (the session's one build):
every internal link resolves, no id is duplicated, every cross-reference is a link in the EPUB and the site and has
its target's true page in the PDF."""

from __future__ import annotations

import collections
import posixpath
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from lxml import etree
from lxml import html as lxml_html
from pypdf import PdfReader

from anthology.ast import stringify, walk
from outputs import letters, pdf_body_text

Documents = dict[str, etree._Element]


def epub_documents(path: Path) -> Documents:
    with zipfile.ZipFile(path) as archive:
        return {name: etree.fromstring(archive.read(name)) for name in archive.namelist() if name.endswith(".xhtml")}


def site_documents(folder: Path) -> Documents:
    return {str(page.relative_to(folder)): lxml_html.parse(str(page)).getroot() for page in folder.rglob("*.html")}


def ids_of(root: etree._Element) -> collections.Counter[str]:
    return collections.Counter(el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id"))


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def internal_links(documents: Documents) -> list[tuple[str, str, str, str]]:
    """(document, href, target document, fragment) for every link that stays inside the edition."""
    links = []
    for name, root in documents.items():
        for element in root.iter():
            href = element.get("href") if local_name(element) == "a" else None
            if href is None or urlsplit(href).scheme:
                continue
            parts = urlsplit(href)
            path = unquote(parts.path)
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), path)) if path else name
            links.append((name, href, target, unquote(parts.fragment)))
    return links


def broken_links(documents: Documents) -> list[tuple[str, str]]:
    ids = {name: set(ids_of(root)) for name, root in documents.items()}
    return [
        (name, href)
        for name, href, target, fragment in internal_links(documents)
        if target not in ids or (fragment and fragment not in ids[target])
    ]


def duplicate_ids(documents: Documents) -> list[tuple[str, str]]:
    return [(name, ident) for name, root in documents.items() for ident, n in ids_of(root).items() if n > 1]


@pytest.fixture(scope="module")
def epub(built) -> Documents:
    return epub_documents(built.epub)


@pytest.fixture(scope="module")
def site(built) -> Documents:
    return site_documents(built.html)


def test_every_internal_link_of_the_epub_resolves_and_no_id_repeats(epub):
    links = internal_links(epub)
    assert len(links) > 1000  # cross-references, index locators, notes, contents
    assert broken_links(epub) == []
    assert duplicate_ids(epub) == []


def test_every_internal_link_of_the_site_resolves_and_no_id_repeats(site):
    links = internal_links(site)
    assert len(links) > 1000
    assert broken_links(site) == []
    assert duplicate_ids(site) == []


def test_no_id_repeats_in_the_print_document(built):
    # The whole book as one document, as the build finally laid it out (segments joined).
    from anthology.render.print.renderer import cache_folder

    root = lxml_html.fromstring((cache_folder(built.project, built.book.config.slug) / "book-print.html").read_text())
    assert [ident for ident, n in ids_of(root).items() if n > 1] == []


def book_xrefs(resolved) -> list[tuple[str, str, str]]:
    """(text slug, label, target id) of every cross-reference in the resolved book."""
    return [
        (slug, stringify(node["c"][1]), node["c"][2][0][1:])
        for slug, item in resolved.texts.items()
        for node in walk(item.blocks)
        if node["t"] == "Link" and "xref" in node["c"][0][1]
    ]


def test_editorial_matter_uses_cross_references(resolved_real_book):
    xrefs = book_xrefs(resolved_real_book)
    kinds = {resolved_real_book.texts[slug].text.kind for slug, _, _ in xrefs}
    assert {"front", "headnote", "part-intro"} <= kinds, kinds
    assert len(xrefs) >= 50


def xref_anchors(documents: Documents) -> list[tuple[str, str]]:
    """(link text, target fragment) of every `a.xref` of an edition."""
    return [
        (" ".join("".join(element.itertext()).split()), unquote(urlsplit(element.get("href")).fragment))
        for root in documents.values()
        for element in root.iter()
        if local_name(element) == "a" and "xref" in (element.get("class") or "").split()
    ]


@pytest.mark.parametrize("edition", ["epub", "site"])
def test_every_cross_reference_is_a_link_to_its_target(edition, request, resolved_real_book):
    documents = request.getfixturevalue(edition)
    expected = sorted((" ".join(label.split()), target) for _, label, target in book_xrefs(resolved_real_book))
    assert sorted(xref_anchors(documents)) == expected
    assert broken_links(documents) == []  # ... and each target exists where the link points


def anchor_pages(built) -> dict[str, int]:
    """The page of every anchor, from the PDF that keeps named destinations: the printer's PDF may have none (PDF/X),
    in which case the screen variant, laid out identically, has them."""
    printed = PdfReader(built.pdf)
    for path in (built.pdf, built.pdf.with_name(f"{built.pdf.stem}-screen.pdf")):
        reader = PdfReader(path) if path.exists() else None
        if reader is not None and reader.named_destinations:
            assert len(reader.pages) == len(printed.pages), path
            return {
                name: reader.get_destination_page_number(destination) + 1
                for name, destination in reader.named_destinations.items()
            }
    raise AssertionError("no PDF of the build has named destinations")


def test_every_cross_reference_prints_its_targets_true_page(resolved_real_book, built):
    pages = anchor_pages(built)
    # Text at body size (headnotes are 10 pt): no folio or running head interrupts a reference across a page break.
    text = letters(pdf_body_text(built.pdf, min_size=9.8))
    wording = resolved_real_book.book.config.crossref.page
    missing = []
    for slug, label, target in book_xrefs(resolved_real_book):
        page = pages[target]
        printed = letters(label + wording.format(page=page))
        if not re.search(re.escape(printed) + r"(?!\d)", text):  # p. 11 must not pass for p. 114
            missing.append((slug, label, page))
    assert missing == []


LINK_BLUE = (0.121569, 0.227451, 0.431373)  # #1f3a6e, as the screen PDF writes it


def coloured_text(path: Path) -> tuple[str, str]:
    """(letters drawn in the link colour, all letters) of a PDF, in reading order of its content streams."""
    blue: list[str] = []
    every: list[str] = []
    for page in PdfReader(path).pages:
        state = {"fill": None}

        def before(operator: bytes, args: list, cm: list, tm: list, state=state) -> None:
            if operator == b"rg":
                state["fill"] = tuple(round(float(a), 6) for a in args)
            elif operator in (b"k", b"g", b"sc", b"scn", b"cs"):
                state["fill"] = None

        def text(value: str, cm: list, tm: list, font: object, size: float, state=state) -> None:
            every.append(value)
            if state["fill"] == LINK_BLUE:
                blue.append(value)

        page.extract_text(visitor_operand_before=before, visitor_text=text)
    return letters("".join(blue)), letters("".join(every))


def test_the_screen_pdf_prints_links_in_the_link_colour_and_the_printers_pdf_in_black(resolved_real_book, built):
    blue, every = coloured_text(built.pdf.with_name(f"{built.pdf.stem}-screen.pdf"))
    missing = [label for _, label, _ in book_xrefs(resolved_real_book) if letters(label) not in blue]
    assert missing == []
    assert 0 < len(blue) < len(every) / 10  # links, not running text
    assert coloured_text(built.pdf)[0] == ""
