"""Whole-book tests of the HTML edition (issue 8): links, validity, accessibility, search and layout, checked on
the real anthology built once per session (the `built` fixture), in headless Chromium where a browser is needed.

The browser tests run small Node scripts (tests/site/*.js: playwright-core driving Debian's /usr/bin/chromium,
axe-core); the Nu HTML Checker is the vnu-jar package run with Java. .ci/run installs all of them (`npm ci`).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from lxml import html as lxml_html

from anthology.render.site.edition import page_href

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "site"
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SEARCH_INDEX_PREFIX = "window.anthologySearchIndex = "


def node(script: str, *args: str, timeout: int = 240) -> object:
    """Run one of tests/site/*.js and return the JSON it prints."""
    process = subprocess.run(
        ["node", str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    assert process.returncode == 0, f"{script} failed:\n{process.stderr[-3000:]}"
    return json.loads(process.stdout)


def pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.html"))


@functools.cache
def ids_of(page: Path) -> frozenset[str]:
    return frozenset(lxml_html.parse(str(page)).getroot().xpath("//@id"))


def references(page: Path) -> Iterator[tuple[str, str]]:
    """(element, URL) for every link and resource a page refers to."""
    root = lxml_html.parse(str(page)).getroot()
    for element in root.xpath("//a[@href] | //link[@href]"):
        yield element.tag, element.get("href")
    for element in root.xpath("//script[@src] | //img[@src]"):
        yield element.tag, element.get("src")


def unresolved(folder: Path, page: Path, url: str) -> str | None:
    """Why a site-relative URL does not resolve (its file or its fragment is missing), or None."""
    parts = urlsplit(url)
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if not target.is_file() or folder.resolve() not in target.parents:
        return f"no file {parts.path}"
    if parts.fragment and (target.suffix != ".html" or unquote(parts.fragment) not in ids_of(target)):
        return f"no id #{parts.fragment} in {target.name}"
    return None


def search_index(folder: Path) -> dict:
    script = (folder / "assets" / "search-index.js").read_text(encoding="utf-8")
    assert script.startswith(SEARCH_INDEX_PREFIX) and script.endswith(";\n")
    return json.loads(script[len(SEARCH_INDEX_PREFIX) : -2])


def chapter_pages(built) -> list[str]:
    return [page_href(chapter.slug) for chapter in built.book.chapters]


# --------------------------------------------------------------------------------------------- links, validity


def test_one_page_per_text_and_part_and_the_home_page_is_the_books(built):
    """No page overwrites another (a back matter named `index` must not replace the home page)."""
    book = built.book
    texts = [*book.front, *book.chapters, *book.back]
    expected = {"index.html", "search.html", *(page_href(t.slug) for t in texts)}
    expected |= {page_href(part.anchor) for part in book.parts}
    assert {page.name for page in pages(built.html)} == expected
    assert len(expected) == 2 + len(texts) + len(book.parts)
    home = lxml_html.parse(str(built.html / "index.html")).getroot()
    assert home.xpath("//h1[@class='book-title']")[0].text_content() == book.config.title


def test_every_internal_link_and_resource_resolves(built):
    folder = built.html
    broken, checked, across = [], 0, 0
    for page in pages(folder):
        for tag, url in references(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", url):  # an outside address: only as a link in the text
                assert tag == "a", f"{page.name}: {tag} loads {url} from outside the site"
                continue
            checked += 1
            across += bool(urlsplit(url).path and urlsplit(url).fragment)
            problem = unresolved(folder, page, url)
            if problem:
                broken.append(f"{page.name}: {url}: {problem}")
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:40])
    assert checked > 500 and across > 20, (checked, across)  # notes, sections, cross-references across pages


def test_stylesheet_fonts_are_bundled(built):
    assets = built.html / "assets"
    urls = re.findall(r"url\(([^)]+)\)", (assets / "screen.css").read_text())
    assert len(urls) == 4
    missing = [url for url in urls if not (assets / url.strip("\"'")).is_file()]
    assert not missing


def test_every_search_result_links_to_its_passage(built):
    index = search_index(built.html)
    texts = index["texts"]
    broken = [
        f"{texts[number][1]}#{ident}"
        for number, ident, _section, _words in index["passages"]
        if unresolved(built.html, built.html / "index.html", f"{texts[number][1]}#{ident}")
    ]
    assert not broken, broken[:20]
    chapters = {href for _label, href in texts} & set(chapter_pages(built))
    assert chapters == set(chapter_pages(built))
    assert len(index["passages"]) > 1000


def test_passage_ids_follow_their_section(built):
    """`<section id>--p<n>`: the n-th paragraph after that heading, numbered from 1 in each section."""
    page = built.html / f"{built.book.chapters[0].slug}.html"
    root = lxml_html.parse(str(page)).getroot()
    headings = root.xpath("//div[@class='chapter-text']//*[self::h2 or self::h3][@id]")
    assert headings
    for heading in headings:
        following = heading.xpath("following::span[@class='passage'][1]/@id")
        if following and following[0].startswith(heading.get("id") + "--p"):
            assert following[0] == heading.get("id") + "--p1"
    ids = root.xpath("//span[@class='passage']/@id")
    assert len(ids) == len(set(ids)) > 20


def test_nu_html_checker_reports_no_errors(built):
    files = [str(page) for page in pages(built.html)]
    stylesheet = str(built.html / "assets" / "screen.css")
    process = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--also-check-css", "--format", "json", *files, stylesheet],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    messages = json.loads(process.stderr or process.stdout)["messages"]
    errors = [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}" for m in messages]
    assert errors == []
    assert len(files) >= len(built.book.chapters) + 3


# --------------------------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def server(built) -> Iterator[str]:
    """The site served over HTTP on localhost (the site must work from a server as well as from file://)."""
    handler = functools.partial(QuietHandler, directory=str(built.html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def axe_pages(built) -> list[str]:
    """Home, a chapter, a chapter with a note opened in place, a part, the search results, and every generated back
    matter (bibliography, index) the book has: data-driven, so the pages appear here as soon as book.yaml lists
    them."""
    noted = next(page for page in chapter_pages(built) if "footnote-ref" in (built.html / page).read_text())
    chosen = ["index.html", chapter_pages(built)[0], f"{noted}!note", "part-1.html", "search.html?q=Kronstadt"]
    chosen += [page_href(text.slug) for text in built.book.back if text.kind == "generated"]
    chosen += [page_href(text.slug) for text in built.book.back if text.kind != "generated"][:1]
    return chosen


def test_axe_finds_no_serious_or_critical_violations(built, server):
    urls = [server + page for page in axe_pages(built)]
    results = node("axe.js", *urls)
    problems = [
        f"{url}: {v['impact']} {v['id']}: {v['help']} ({'; '.join(v['nodes'])})"
        for url, result in results.items()
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    errors = [f"{url}: {error}" for url, result in results.items() for error in result["errors"]]
    assert not problems and not errors, "\n".join(problems + errors)
    assert set(results) == set(urls)


@pytest.mark.parametrize("where", ["file", "server"])
def test_searching_kronstadt_lists_passages_from_three_chapters(built, server, where):
    home = (built.html / "index.html").as_uri() if where == "file" else server + "index.html"
    result = node("search.js", home, "Kronstadt")
    results = result["results"]
    assert result["errors"] == [] and result["outside"] == []
    assert re.match(r"^\d+ passages in \d+ texts contain “Kronstadt”", result["status"]), result["status"]
    chapters = {r["href"].split("#")[0] for r in results} & set(chapter_pages(built))
    assert len(chapters) >= 3, results
    labels = {page_href(c.slug): f"Chapter {c.number}: {c.title}" for c in built.book.chapters}
    for item in results:
        page = item["href"].split("#")[0]
        if page in chapters:
            assert item["text"] == labels[page]
        assert item["section"].strip()
        assert item["marked"] and all(word.lower() == "kronstadt" for word in item["marked"])
    landed = result["landed"]
    assert landed["found"] and "kronstadt" in landed["text"].lower()
    assert landed["url"].split("#")[0].endswith(results[0]["href"].split("#")[0])


@pytest.fixture(scope="module")
def screenshots(built, tmp_path_factory) -> dict[int, list[dict]]:
    """Home, a chapter with notes and the search results at 390 px (a phone) and 1280 px (a wide screen)."""
    folder = tmp_path_factory.mktemp("screenshots")
    noted = next(page for page in chapter_pages(built) if "footnote-ref" in (built.html / page).read_text())
    urls = [(built.html / name).as_uri() for name in ("index.html", noted)]
    urls.append((built.html / "search.html").as_uri() + "?q=Kronstadt")
    return {width: node("screenshots.js", str(folder), str(width), *urls) for width in (390, 1280)}


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_the_screen_in_the_bundled_font(screenshots, width):
    for shot in screenshots[width]:
        assert shot["errors"] == []
        assert shot["scrollWidth"] <= shot["clientWidth"] == width, f"{shot['url']} scrolls sideways"
        assert shot["fontFamily"].startswith('"EB Garamond"')
        assert any(face.startswith("EB Garamond") for face in shot["fontsLoaded"])
        assert 17 <= shot["bodyFontPx"] <= 26
        assert shot["column"]["width"] <= 720  # a readable measure on a wide screen
        assert Path(shot["file"]).stat().st_size > 10_000


@pytest.mark.parametrize("width", [390, 1280])
def test_a_note_opens_in_place(screenshots, width):
    """A click on a note call shows the note beside (wide) or under (phone) the call; the page stays."""
    shot = screenshots[width][1]
    note = shot["note"]
    assert note and note["url"] == shot["url"], "the note call navigated away"
    assert "".join(note["text"].split()) == "".join(note["expected"].split()) and len(note["text"]) > 20
    assert 0 <= note["left"] < note["right"] <= width
    call = note["call"]
    beside = note["left"] >= call["right"] and note["top"] <= call["bottom"]
    under = note["top"] >= call["bottom"] - 1
    assert beside if width >= 1280 else under, (note, call)


def test_the_print_stylesheet_leaves_only_the_text(screenshots):
    for shot in screenshots[1280]:
        assert shot["print"]["header"] is False and shot["print"]["main"] is True, shot["url"]
        assert shot["print"]["pager"] in (False, None)  # the search page has no pager
        assert shot["print"]["fontSize"] == "14.6667px"  # 11 pt
