"""The HTML edition's machinery on the two-chapter minibook (fast): passage ids, notes without script, schema.org
metadata, canonical links, icons and link previews, escaping, the search index and reproducible pages."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html
from PIL import Image

from anthology.diagnostics import BuildError
from anthology.load import load_book
from anthology.model import Project
from anthology.pandoc import markdown_to_ast
from anthology.render.site.edition import DESCRIPTIVE, page_href, render_site
from anthology.render.site.passages import mark_passages
from anthology.resolve.book import prefix_ids, resolve_book
from conftest import MINIBOOK, STYLES
from test_site import axe_failures, node

SEARCH_INDEX_PREFIX = "window.anthologySearchIndex = "


def render_html(book_dir: Path, out: Path) -> Path:
    """Only the HTML edition of a book (a few seconds for the minibook)."""
    project = Project(book_dir=book_dir, styles_dir=STYLES, build_dir=out)
    render_site(resolve_book(load_book(book_dir), STYLES), project, out / "html")
    return out / "html"


@pytest.fixture(scope="module")
def minisite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The minibook's site alone: these tests need no other edition."""
    return render_html(MINIBOOK, tmp_path_factory.mktemp("minisite"))


def parse(page: Path) -> lxml_html.HtmlElement:
    return lxml_html.parse(str(page)).getroot()


def jsonld(page: Path) -> dict:
    scripts = parse(page).xpath("//script[@type='application/ld+json']/text()")
    assert len(scripts) == 1
    return json.loads(scripts[0])


def passage_ids(markdown: str) -> list[str]:
    ast = markdown_to_ast(markdown)
    prefix_ids(ast, "t")
    _, passages = mark_passages("t", ast["blocks"], set())
    return [passage.ident for passage in passages]


# --------------------------------------------------------------------------------------------- passages


def test_passage_ids_are_numbered_within_their_section():
    text = "One.\n\nTwo.\n\n## First\n\nThree.\n\n> Quoted.\n\n- item\n\n## Second\n\nFour.\n"
    assert passage_ids(text) == ["t--p1", "t--p2", "t--first--p1", "t--first--p2", "t--first--p3", "t--second--p1"]


def test_a_new_paragraph_leaves_the_other_sections_ids_alone():
    before = passage_ids("## First\n\nAlpha.\n\n## Second\n\nBeta.\n\nGamma.\n")
    after = passage_ids("## First\n\nAlpha.\n\nNew.\n\n## Second\n\nBeta.\n\nGamma.\n")
    assert (
        [i for i in before if "second" in i]
        == [i for i in after if "second" in i]
        == ["t--second--p1", "t--second--p2"]
    )


def test_a_passage_id_never_takes_an_id_the_author_gave():
    ast = markdown_to_ast("[x]{#p1} One.\n")
    prefix_ids(ast, "t")
    _, passages = mark_passages("t", ast["blocks"], {"t--p1"})
    assert [passage.ident for passage in passages] == ["t--p1-2"]


# --------------------------------------------------------------------------------------------- pages


def test_notes_are_links_with_back_links_without_any_script(minisite):
    """Calls numbered in reading order (citeproc's notes included), each a link to its note, which links back."""
    root = parse(minisite / "alpha.html")
    calls = root.xpath("//a[contains(@class, 'footnote-ref')]")
    assert [call.text_content() for call in calls] == [str(n) for n in range(1, len(calls) + 1)]
    assert len(calls) >= 2
    for number, call in enumerate(calls, 1):
        note = root.get_element_by_id(call.get("href")[1:])
        assert "footnote" in note.get("class")
        back = note.xpath(".//a[contains(@class, 'footnote-back')]")
        assert [link.get("href") for link in back] == [f"#{call.get('id')}"]
        assert note.xpath(".//*[@class='footnote-number']")[0].text == f"{number}."
    first = root.get_element_by_id(calls[0].get("href")[1:])
    assert "The first note." in first.text_content()
    assert "Its second paragraph." in root.get_element_by_id(calls[-1].get("href")[1:]).text_content()


def test_chapter_metadata_names_the_author_only_when_stated(minisite):
    home = jsonld(minisite / "index.html")
    alpha = jsonld(minisite / "alpha.html")
    beta = jsonld(minisite / "beta.html")
    assert home["@type"] == "Book" and home["name"] == "A Small Test Book"
    assert [part["url"] for part in home["hasPart"]] == ["alpha.html", "beta.html"]
    assert home["editor"] == [{"@type": "Person", "name": "Test Editor"}]
    assert "Chapter" in alpha["@type"] and alpha["position"] == 1
    assert alpha["author"] == [{"@type": "Person", "name": "Ada Writer"}]
    assert "author" not in beta  # the source does not state one
    assert alpha["isPartOf"]["@id"] == beta["isPartOf"]["@id"] == home["@id"] == "index.html#book"


def test_placeholder_editors_are_not_published_as_people(book_copy, tmp_path):
    config = book_copy / "book.yaml"
    editor = "  - name: Test Editor\n"
    config.write_text(config.read_text().replace(editor, editor + "    placeholder: true\n"))
    assert load_book(book_copy).config.editors[0].placeholder
    assert "editor" not in jsonld(render_html(book_copy, tmp_path / "out") / "index.html")


def test_canonical_links_only_when_the_book_gives_site_url(minisite, book_copy, tmp_path):
    for page in ("index.html", "alpha.html"):
        assert parse(minisite / page).xpath("//link[@rel='canonical']/@href") == []
    config = book_copy / "book.yaml"
    config.write_text(config.read_text() + "site_url: https://example.org/mini/\n")
    site = render_html(book_copy, tmp_path / "out")
    assert parse(site / "alpha.html").xpath("//link[@rel='canonical']/@href") == ["https://example.org/mini/alpha.html"]
    assert jsonld(site / "alpha.html")["isPartOf"]["@id"] == "https://example.org/mini/index.html#book"


def test_a_site_url_that_is_not_a_folder_address_is_reported_at_its_line(book_copy):
    config = book_copy / "book.yaml"
    lines = config.read_text().count("\n")
    config.write_text(config.read_text() + "site_url: example.org/mini\n")
    with pytest.raises(BuildError) as error:
        load_book(book_copy)
    [diagnostic] = error.value.diagnostics
    assert diagnostic.code == "E010" and "site_url" in diagnostic.message
    assert diagnostic.file == config and diagnostic.line == lines + 1


def test_titles_are_escaped_not_interpreted(book_copy, tmp_path):
    alpha = book_copy / "texts" / "alpha.md"
    alpha.write_text(alpha.read_text().replace("title: The First Chapter", 'title: "Bread & <b>Peace</b>"'))
    site = render_html(book_copy, tmp_path / "out")
    root = parse(site / "alpha.html")
    assert root.xpath("//h1")[0].text_content() == "Bread & <b>Peace</b>"
    assert not root.xpath("//h1//b") and not parse(site / "index.html").xpath("//nav//b")
    assert "Bread &amp; &lt;b&gt;Peace&lt;/b&gt;" in (site / "alpha.html").read_text()


def test_every_page_has_the_contents_drawer_marking_itself(minisite):
    book = load_book(MINIBOOK)
    texts = [*book.front, *book.chapters, *book.back]
    hrefs = {"index.html", *(page_href(part.anchor) for part in book.parts), *(page_href(t.slug) for t in texts)}
    pages = sorted(minisite.glob("*.html"))
    assert {page.name for page in pages} == hrefs | {"search.html"}
    for page in pages:
        drawer = parse(page).xpath("//details[@class='drawer']//nav")[0]
        assert set(drawer.xpath(".//a/@href")) == hrefs
        current = drawer.xpath(".//a[@aria-current='page']/@href")
        assert current == ([page.name] if page.name in hrefs else [])


def test_search_index_names_text_and_section_of_every_passage(minisite):
    script = (minisite / "assets" / "search-index.js").read_text()
    data = json.loads(script[len(SEARCH_INDEX_PREFIX) : -2])
    texts = [label for label, _href in data["texts"]]
    assert texts[:3] == ["Introduction", "Chapter 1: The First Chapter", "Chapter 2: The Second Chapter"]
    rows = {(texts[n], section, words) for n, _ident, section, words in data["passages"]}
    assert ("Chapter 1: The First Chapter", "Headnote", "A headnote on alpha.") in rows
    assert ("Chapter 1: The First Chapter", "1. A Numbered Section", "Closing sentence of alpha.") in rows
    assert ("Chapter 1: The First Chapter", "Note 1", "The first note.") in rows
    assert ("Chapter 2: The Second Chapter", "Note 1", "Beta’s only note.") in rows
    assert ("Introduction", "Why", "Because.") in rows


def test_the_site_is_reproducible(book_copy, tmp_path):
    """Two builds of the same book give the same files, byte for byte (search index included)."""
    first = render_html(book_copy, tmp_path / "one")
    second = render_html(book_copy, tmp_path / "two")
    files = sorted(path.relative_to(first) for path in first.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(second) for path in second.rglob("*") if path.is_file())
    assert [name for name in files if (first / name).read_bytes() != (second / name).read_bytes()] == []
    assert Path("assets/search-index.js") in files


def test_fonts_are_woff2_subsets_holding_every_character_the_pages_show(minisite):
    """The site's faces keep every glyph its pages need (that the full face has), and besides them only Latin."""
    from fontTools.ttLib import TTFont

    from anthology.render.common import FONT_FILES
    from anthology.render.site.fonts import LATIN

    shown = {ord(char) for page in minisite.glob("*.html") for char in parse(page).text_content() if char.isprintable()}
    for name in FONT_FILES:
        subset = TTFont(minisite / "assets" / "fonts" / name.replace(".ttf", ".woff2"))
        assert subset.flavor == "woff2"
        full = set(TTFont(STYLES / "fonts" / name).getBestCmap())
        kept = set(subset.getBestCmap())
        assert (shown & full) - kept == set()
        assert kept - shown <= LATIN
        assert len(kept) < len(full)


# Porter's own examples (M. F. Porter, "An algorithm for suffix stripping", 1980): word -> stem.
PORTER_EXAMPLES = {
    "caresses": "caress", "ponies": "poni", "ties": "ti", "cats": "cat", "feed": "feed", "agreed": "agre",
    "plastered": "plaster", "motoring": "motor", "sing": "sing", "conflated": "conflat", "troubled": "troubl",
    "sized": "size", "hopping": "hop", "tanned": "tan", "falling": "fall", "hissing": "hiss", "fizzed": "fizz",
    "failing": "fail", "filing": "file", "happy": "happi", "relational": "relat", "conditional": "condit",
    "rational": "ration", "valenci": "valenc", "digitizer": "digit", "conformabli": "conform", "radicalli": "radic",
    "differentli": "differ", "vileli": "vile", "analogousli": "analog", "vietnamization": "vietnam",
    "predication": "predic", "operator": "oper", "feudalism": "feudal", "decisiveness": "decis",
    "hopefulness": "hope", "callousness": "callous", "formaliti": "formal", "sensitiviti": "sensit",
    "sensibiliti": "sensibl", "triplicate": "triplic", "formative": "form", "formalize": "formal",
    "electriciti": "electr", "electrical": "electr", "hopeful": "hope", "goodness": "good", "revival": "reviv",
    "allowance": "allow", "inference": "infer", "airliner": "airlin", "gyroscopic": "gyroscop",
    "adjustable": "adjust", "defensible": "defens", "irritant": "irrit", "replacement": "replac",
    "adjustment": "adjust", "dependent": "depend", "adoption": "adopt", "homologou": "homolog",
    "communism": "commun", "activate": "activ", "angulariti": "angular", "homologous": "homolog",
    "effective": "effect", "bowdlerize": "bowdler", "probate": "probat", "rate": "rate", "cease": "ceas",
    "controll": "control", "roll": "roll",
}  # fmt: skip


def test_the_search_stemmer_gives_porters_stems():
    """The site search's stemmer (styles/site/search.js) on the examples of Porter's paper."""
    script = Path(__file__).parent / "site" / "stemmer.js"
    process = subprocess.run(["node", str(script), *PORTER_EXAMPLES], capture_output=True, text=True, check=True)
    stems = json.loads(process.stdout)
    assert {word: stem for word, stem in stems.items() if stem != PORTER_EXAMPLES[word]} == {}
    assert len(stems) == len(PORTER_EXAMPLES)


def test_every_page_describes_itself_from_its_opening(minisite):
    """A meta description on every page, at most 160 characters, each its own: a chapter's is the first paragraph of
    its headnote, else of its text, that says something (notes aside)."""
    descriptions = {}
    for page in minisite.glob("*.html"):
        found = parse(page).xpath("//meta[@name='description']/@content")
        assert len(found) == 1 and 0 < len(found[0]) <= 160, (page.name, found)
        descriptions[page.name] = found[0]
    assert len(set(descriptions.values())) == len(descriptions)
    for name in ("alpha.html", "beta.html"):
        paragraphs = parse(minisite / name).xpath(
            "(//aside[@class='headnote'] | //div[@class='chapter-text'])//p[not(ancestor::div[@class='footnotes'])]"
        )
        said = [" ".join(p.text_content().split()) for p in paragraphs]
        said = [text for text in said if len(text) >= DESCRIPTIVE]
        if said:
            assert descriptions[name] in (said[0], said[0][:159].rsplit(" ", 1)[0] + "…"), (descriptions[name], said)
        else:  # nothing long enough to describe it (the minibook's short lines): the chapter's and the book's titles
            title = parse(minisite / name).xpath("//h1")[0].text_content()
            assert descriptions[name].startswith(f"{title}. ") and descriptions[name] != descriptions["index.html"]


def test_a_chapters_description_is_its_headnotes_first_long_paragraph(book_copy, tmp_path):
    headnote = book_copy / "headnotes" / "alpha.md"
    opening = "This headnote speaks at some length of where the essay comes from " * 3
    headnote.write_text(headnote.read_text().replace("A headnote on alpha.", "Author.\n\n" + opening))
    site = render_html(book_copy, tmp_path / "out")
    [description] = parse(site / "alpha.html").xpath("//meta[@name='description']/@content")
    assert len(description) <= 160 and description.endswith("…")
    assert " ".join(opening.split()).startswith(description[:-1])


def test_icons_and_link_previews_come_from_the_cover_and_name_absolute_addresses_only_with_site_url(
    minisite, book_copy, tmp_path
):
    """Every page links a favicon and a home-screen icon, square PNGs of the sizes they say; Open Graph's title and
    description are always given; its address and image, a sitemap and a 404 page only with site_url, and then
    each names a file the site has."""
    for page in sorted(minisite.glob("*.html")):
        tree = parse(page)
        for rel, side in (("icon", 64), ("apple-touch-icon", 180)):
            (href,) = tree.xpath(f"//link[@rel='{rel}']/@href")
            with Image.open(page.parent / href) as icon:
                assert icon.format == "PNG" and icon.size == (side, side), (page.name, rel)
        assert tree.xpath("//meta[@property='og:title']/@content"), page.name
        assert tree.xpath("//meta[@property='og:url'] | //meta[@property='og:image']") == [], page.name
    assert not (minisite / "sitemap.xml").exists() and not (minisite / "404.html").exists()
    assert not (minisite / "assets" / "cover.png").exists()

    site_url = "https://example.org/mini/"
    config = book_copy / "book.yaml"
    config.write_text(config.read_text() + f"site_url: {site_url}\n")
    site = render_html(book_copy, tmp_path / "out")
    alpha = parse(site / "alpha.html")
    assert alpha.xpath("//meta[@property='og:url']/@content") == [f"{site_url}alpha.html"]
    (image,) = alpha.xpath("//meta[@property='og:image']/@content")
    assert image.startswith(site_url)
    with Image.open(site / image.removeprefix(site_url)) as shared:
        size = [int(alpha.xpath(f"//meta[@property='og:image:{side}']/@content")[0]) for side in ("width", "height")]
        assert list(shared.size) == size and size[0] >= 600

    listed = re.findall(r"<loc>([^<]+)</loc>", (site / "sitemap.xml").read_text())
    pages = {path.name for path in site.glob("*.html")} - {"search.html", "404.html"}
    assert all(url.startswith(site_url) for url in listed)
    assert sorted(url.removeprefix(site_url) for url in listed) == sorted(pages)
    lost = parse(site / "404.html")
    assert lost.xpath("//link[@rel='canonical']") == []
    for href in lost.xpath("//a/@href | //link/@href | //script/@src"):  # shown at any address: none relative
        if href.startswith("#"):
            assert lost.xpath(f"//*[@id='{href[1:]}']"), href
        else:
            assert href.startswith(site_url) and (site / href.removeprefix(site_url).split("#")[0]).is_file(), href


def test_the_preview_script_is_only_in_the_preview(minisite, tmp_path):
    """serve's live-reload script is neither shipped nor loaded by a built site; the preview's pages load it."""
    assert not (minisite / "assets" / "live-reload.js").exists()
    assert not any("live-reload" in page.read_text() for page in minisite.glob("*.html"))
    project = Project(book_dir=MINIBOOK, styles_dir=STYLES, build_dir=tmp_path)
    render_site(resolve_book(load_book(MINIBOOK), STYLES), project, tmp_path / "html", live_reload=True)
    assert (tmp_path / "html" / "assets" / "live-reload.js").is_file()
    assert parse(tmp_path / "html" / "alpha.html").xpath("//script[@src='assets/live-reload.js']")


def test_a_reader_sets_theme_and_size_uses_the_sidebar_permalinks_arrows_and_keeps_focus(book_copy, tmp_path):
    """In headless Chromium (tests/site/comfort.js), on a chapter with sections and notes: the system's dark theme
    is followed, the reader's theme and text size hold on the next page and go back to the defaults; the open drawer
    keeps the focus and Escape closes it; → and ← turn the page; every heading of the text has its permalink; Tab
    goes through an open note and on to what follows its call; from 1200 px the contents are open beside the text,
    not over it, with the page's sections under its entry, and Escape leaves them open; a note that says only
    "Ibid." pops up with the work it means."""
    alpha = book_copy / "texts" / "alpha.md"
    alpha.write_text(alpha.read_text() + "\n## A Second Section\n\nMore text, so that the page lists its sections.\n")
    site = render_html(book_copy, tmp_path / "out")
    found = node("comfort.js", (site / "alpha.html").as_uri())
    assert found["errors"] == [] and found["settingsShown"]
    dark = [found["systemDark"], found["chosenDark"], found["nextPage"]["background"]]
    assert sum(found["light"]) > 600 and all(sum(colour) < 150 for colour in dark), found
    assert found["sizeLarger"] > found["sizeBefore"] and found["nextPage"]["size"] == found["sizeLarger"]
    assert found["reset"] == {"background": found["light"], "size": found["sizeBefore"]}
    assert found["drawerKeepsFocus"] and found["drawerClosedByEscape"]
    pages = (site / "beta.html").as_uri(), (site / "alpha.html").as_uri()
    assert (found["arrowRightTo"], found["arrowLeftTo"]) == pages
    headings = found["headings"]
    assert len(headings) >= 2 and all(heading["permalink"] == f"#{heading['id']}" for heading in headings)
    path = found["noteTabPath"]
    assert path[0]["inNote"] and not path[-1]["inNote"] and path[-1]["text"] == found["afterCall"], path
    assert found["noteClosedAfter"]
    wide = found["wide"]
    assert wide["open"] and wide["openAfterEscape"] and wide["panelRight"] <= wide["textLeft"], wide
    assert wide["settingsOverflow"] == [], wide
    assert len(wide["sections"]) >= 2 and wide["sections"] == wide["pageSections"], wide
    ibid = found["ibid"]  # alpha cites Serge twice in a row: the second note is "Ibid., 41."
    assert ibid and ibid["work"] and f"[that is, {ibid['work'].rstrip(', ')}" in " ".join(ibid["popup"].split()), ibid


def test_axe_with_wcag_2_2_rules_finds_no_violation_on_the_minibooks_pages(minisite):
    """axe-core (WCAG 2.0-2.2 A/AA, best practices) on every page, and on a chapter with a note open, in the dark
    theme, at a phone's width and a desktop's: no violation of any impact."""
    urls = [page.as_uri() for page in sorted(minisite.glob("*.html"))]
    chapter = (minisite / "alpha.html").as_uri()
    urls += [f"{chapter}!note", f"{chapter}!note!dark", f"{chapter}!note!phone", f"{chapter}!dark!phone"]
    results = node("axe.js", *urls)
    assert set(results) == set(urls)
    failures = axe_failures(results)
    assert not failures, "\n".join(failures)
