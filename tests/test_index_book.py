"""The real book's index, read back from the built editions: enough headings, drawn from all five essays, linked
locators on screen, and printed page numbers whose pages really contain the term."""

from __future__ import annotations

import random
import re
import unicodedata
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from anthology.resolve.indexing import page_ranges
from outputs import letters, pdf_pages_text
from test_crossref_book import anchor_pages

SAMPLE = 30
LOCATOR = r"\d+(?:\s*–\s*\d+)?"


def site_index_entries(built) -> dict[str, list[str]]:
    """The site's index page: each heading's id -> the hrefs of its locators."""
    page = next(p for p in built.html.glob("*.html") if 'class="index"' in p.read_text())
    entries = {}
    for element in lxml_html.parse(str(page)).getroot().find_class("index-entry"):
        entries[element.get("id")] = [a.get("href") for a in element.find_class("index-locator")]
    return entries


@pytest.fixture(scope="module")
def site_index(built) -> dict[str, list[str]]:
    return site_index_entries(built)


def test_index_has_150_headings_with_locators_from_all_five_essays(site_index, built):
    located = {term: hrefs for term, hrefs in site_index.items() if hrefs}
    assert len(located) >= 150, len(located)
    per_chapter = {
        chapter.slug: sum(any(urlsplit(h).path == f"{chapter.slug}.html" for h in hrefs) for hrefs in located.values())
        for chapter in built.book.chapters
    }
    assert len(per_chapter) == 5 and min(per_chapter.values()) >= 40, per_chapter


def test_screen_locators_land_on_marked_occurrences(built):
    page = next(p for p in built.html.glob("*.html") if 'class="index"' in p.read_text())
    hrefs = [a.get("href") for a in lxml_html.parse(str(page)).getroot().find_class("index-locator")]
    assert len(hrefs) > 500
    pages: dict[str, object] = {}
    for href in hrefs:
        path, fragment = urlsplit(href).path, urlsplit(href).fragment
        root = pages.setdefault(path, lxml_html.parse(str(built.html / path)).getroot())
        [element] = root.xpath(f'//*[@id="{fragment}"]')
        assert "index-marker" in element.get("class").split()


def normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).replace("\u2010", "-").split())


def pdf_index(pages: list[str], start: int) -> str:
    """The printed index's text, from its first page (1-based) to the end."""
    return normalised(" ".join(pages[start - 1 :]))


def printed_locators(index_text: str, term: str) -> list[tuple[int, int]]:
    """The page ranges printed after a heading, e.g. 'Kronstadt, 30–31, 42' -> [(30, 31), (42, 42)]."""
    words = r"\s*".join(re.escape(word) for word in normalised(term).split())
    match = re.search(rf"(?:^|\s){words}((?:\s*,\s*{LOCATOR})+)", index_text)
    assert match, f"heading {term!r} not found in the printed index"
    ranges = []
    for locator in re.findall(LOCATOR, match.group(1)):
        first, _, last = locator.replace(" ", "").partition("–")
        ranges.append((int(first), int(last or first)))
    return ranges


def test_printed_locators_are_sorted_ranges_and_their_pages_contain_the_term(resolved_real_book, built):
    raw = [text.strip() for text in pdf_pages_text(built.pdf)]  # in reading order: numbers are drawn at the merge
    index_text = pdf_index(raw, anchor_pages(built)["index"])
    page_text = [letters(text) for text in raw]
    folios = [text.splitlines()[-1].strip() if text else "" for text in raw]
    index = resolved_real_book.index
    located = {occurrence.entry for occurrence in index.marks.occurrences}
    headings = [entry for entry in index.spec.entries if entry.key in located]
    pairs = [(entry, span) for entry in headings for span in printed_locators(index_text, entry.term)]
    for entry in headings[:40]:  # well formed: ascending, no page twice, consecutive pages joined
        spans = printed_locators(index_text, entry.term)
        pages = [page for first, last in spans for page in range(first, last + 1)]
        assert page_ranges(pages) == spans, entry.term
    problems = []
    for entry, (first, last) in random.Random(5).sample(pairs, SAMPLE):
        for number in range(first, last + 1):
            if folios[number - 1].isdigit() and folios[number - 1] != str(number):  # opening pages show none
                problems.append((entry.term, number, f"that page is numbered {folios[number - 1]}"))
            elif not any(letters(alias) in page_text[number - 1] for alias in entry.aliases):
                problems.append((entry.term, number, "term not on the page"))
    assert problems == []
