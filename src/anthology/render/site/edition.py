"""HTML edition: a multi-page site from Jinja2 templates, one page per text, with offline search.

Every page lives in one folder, so links between pages are plain file names and the site works from `file://` as
well as from a server. Each text's HTML fragment comes from pandoc (the only markup the templates mark safe);
everything else is written by the templates with autoescape on.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from xml.sax.saxutils import escape

import jinja2
import orjson
from lxml import html as lxml_html

from anthology import pandoc
from anthology.ast import Node, div, header, para, str_inlines, stringify, walk_structure
from anthology.atomic import atomic_dir
from anthology.config import BookConfig
from anthology.diagnostics import BuildError, Diagnostic
from anthology.model import Chapter, PartModel, Project, ResolvedBook, ResolvedText, Section, Text, book_id
from anthology.render.common import FONT_FILES, jinja_environment
from anthology.render.epub.cover import CoverText
from anthology.render.epub.package import editors_line
from anthology.render.site import meta as sitemeta
from anthology.render.site.fonts import write_fonts
from anthology.render.site.icons import SHARE_IMAGE, share_size, write_icons
from anthology.render.site.passages import Passage, mark_passages
from anthology.render.site.search import INDEX_FILE, SearchIndex, SearchText

# MiniSearch (minisearch.js, MIT: its licence ships beside it) is vendored: the build runs offline.
SCRIPTS = ("site.js", "search.js", "minisearch.js", "minisearch-LICENSE.txt")
LIVE_RELOAD = "live-reload.js"  # the preview's (serve.py): never in a built site
FONT_LICENCES = ("OFL-EBGaramond12.txt", "OFL-fontsource-EBGaramond.txt")
DESCRIPTIVE = 80  # characters: a paragraph shorter than this (a label, a heading, a date) describes nothing
LONG_HEADNOTE = 1200  # characters: about one phone screen of text at 18 px; a longer headnote folds on a phone
# A part without an introduction, a chapter without a headnote: the template sees None.
NO_TEXTS: dict[str, str | None] = {"body": None, "headnote": None}


@dataclass(frozen=True)
class Page:
    """One page of the site: its file name, the title shown in navigation, and what it holds."""

    href: str
    title: str
    kind: str = "matter"  # home | matter | part | chapter | search


HOME = Page("index.html", "Contents", "home")
SEARCH = Page("search.html", "Search", "search")
NOT_FOUND = Page("404.html", "Page not found", "not-found")  # only with site_url: a server shows it for any path
SITEMAP = "sitemap.xml"
RESERVED = {"index", "search"}  # page names the site itself uses: a text named so (the index!) is renamed


def page_href(slug: str) -> str:
    """A text's (or part's) page: `<slug>.html`, or `book-<slug>.html` where the site needs the name itself."""
    return f"book-{slug}.html" if slug in RESERVED else f"{slug}.html"


# --------------------------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class SiteNote:
    """A note moved to the end of its text: the block that shows it, and its plain text for search."""

    block: Node
    ident: str
    text: str


def note_id(slug: str, number: int) -> str:
    return book_id(slug, f"fn{number}")


def note_ref_id(slug: str, number: int) -> str:
    return book_id(slug, f"fnref{number}")


def note_block(slug: str, number: int, body: list[Node]) -> Node:
    """The note as shown at the end of the text: its number, its text and a link back to its call. The body's last
    paragraph is changed in place: it is the note's own, in the private copy notes_to_links works on (copying each
    note again took most of a text's preparation)."""
    backlink = {
        "t": "Link",
        "c": [
            ["", ["footnote-back"], [("role", "doc-backlink"), ("aria-label", f"Back to the call of note {number}")]],
            [{"t": "Str", "c": "↩︎"}],
            ["#" + note_ref_id(slug, number), ""],
        ],
    }
    body = list(body) or [para([])]
    last = body[-1]
    if last["t"] in ("Para", "Plain"):
        last["c"] = [*last["c"], {"t": "Space"}, backlink]
    else:
        body.append(para([backlink]))
    number_para = {
        "t": "Plain",
        "c": [{"t": "Span", "c": [["", ["footnote-number"], []], [{"t": "Str", "c": f"{number}."}]]}],
    }
    return {"t": "Div", "c": [[note_id(slug, number), ["footnote"], [("role", "doc-footnote")]], [number_para, *body]]}


def note_call(slug: str, number: int) -> Node:
    return {
        "t": "Link",
        "c": [
            [note_ref_id(slug, number), ["footnote-ref"], [("role", "doc-noteref"), ("aria-label", f"Note {number}")]],
            [{"t": "Superscript", "c": [{"t": "Str", "c": str(number)}]}],
            ["#" + note_id(slug, number), ""],
        ],
    }


def notes_to_links(slug: str, blocks: list[Node]) -> tuple[list[Node], list[SiteNote]]:
    """Replace notes by numbered calls and return the notes, each with a back-link to its call. The blocks are
    changed in place: they are the private copy mark_passages made (copying the book's trees again took half a
    second of every site build).

    Notes are numbered in document order (a pre-order walk, as the cross-references count them), so a note that
    citeproc makes inside a citation gets its number where the citation stands, and a note inside a note after
    the note that holds it.
    """
    notes: list[SiteNote | None] = []

    def visit(items: list[Any]) -> None:
        for index, child in enumerate(items):
            if type(child) is list:
                visit(child)
            elif type(child) is not dict:
                continue
            elif child.get("t") == "Note":
                number = len(notes) + 1
                notes.append(None)  # the number is taken before the notes inside this one are numbered
                visit(child["c"])
                text = stringify(child["c"])  # before note_block adds the back-link to the note's own blocks
                notes[number - 1] = SiteNote(note_block(slug, number, child["c"]), note_id(slug, number), text)
                items[index] = note_call(slug, number)
            elif "t" in child:
                content = child.get("c")
                if type(content) is list:  # a Str's content is text: most elements end here
                    visit(content)
            else:  # not an element: a Cite's citation (its prefix and suffix are inlines), its values in order
                values = list(child.values())
                visit(values)
                child.update(zip(child, values, strict=True))

    visit(blocks)
    return blocks, [note for note in notes if note is not None]


def notes_section(slug: str, notes: list[SiteNote], heading: str) -> Node:
    """The notes of a text under a heading of their own, so they are a labelled part of the page."""
    heading_id = book_id(slug, "footnotes-heading")
    title = header(2, str_inlines(heading), heading_id, ["footnotes-heading"])
    section = div([title, *[note.block for note in notes]], book_id(slug, "footnotes"), ["footnotes"])
    section["c"][0][2] = [("role", "doc-endnotes"), ("aria-labelledby", heading_id)]
    return section


# --------------------------------------------------------------------------------------------- links


def retarget_links(blocks: list[Node], links: dict[str, str]) -> list[Node]:
    """'#id' becomes 'page.html#id' when the id lives on another page of the site."""
    for node in walk_structure(blocks):
        if node["t"] == "Link" and node["c"][2][0].startswith("#"):
            ident = node["c"][2][0][1:]
            if ident in links:
                node["c"][2][0] = links[ident]
    return blocks


@dataclass
class SitePlan:
    """Every page of the site in reading order, and where each id of the book lives."""

    pages: list[Page]
    page_of_text: dict[str, str]  # text slug (or part anchor) -> page href

    def links(self, resolved: ResolvedBook, current: str, owners: dict[str, str] | None = None) -> dict[str, str]:
        """Where each id lives, for the ids that live on another page than `current`."""
        result = {}
        for ident, slug in (owners if owners is not None else resolved.owner_of()).items():
            page = self.page_of_text.get(slug)
            if page and page != current:
                result[ident] = f"{page}#{ident}"
        for part in resolved.book.parts:
            if part.anchor in self.page_of_text and self.page_of_text[part.anchor] != current:
                result[part.anchor] = self.page_of_text[part.anchor]
        return result

    def neighbours(self, page: Page) -> tuple[Page | None, Page | None]:
        """The previous and next page in reading order (none for pages outside it, like search)."""
        if page not in self.pages:
            return None, None
        index = self.pages.index(page)
        return (
            self.pages[index - 1] if index else None,
            self.pages[index + 1] if index + 1 < len(self.pages) else None,
        )


def plan_site(resolved: ResolvedBook) -> SitePlan:
    pages = [HOME]
    page_of: dict[str, str] = {}

    def add(slug: str, title: str, kind: str, *embedded: str) -> None:
        href = page_href(slug)
        if any(page.href == href for page in pages):
            raise BuildError(
                [
                    Diagnostic(
                        "E090",
                        f"two pages of the site would be named {href}",
                        file=resolved.book.config_document.path,
                        hint=f"rename the text '{slug}': the site names book-index.html and book-search.html itself",
                    )
                ]
            )
        pages.append(Page(href, title, kind))
        for owner in (slug, *embedded):
            page_of[owner] = href

    for text in resolved.book.front:
        add(text.slug, text.title, "matter")
    for part in resolved.book.parts:
        if part.title:  # a book without parts has no part pages
            add(part.anchor, part_label(part), "part", *([part.intro.slug] if part.intro else []))
        for chapter in part.chapters:
            add(chapter.slug, chapter.title, "chapter", *([chapter.headnote.slug] if chapter.headnote else []))
    for text in resolved.book.back:
        add(text.slug, text.title, "matter")
    return SitePlan(pages, page_of)


def part_label(part: PartModel) -> str:
    return f"Part {part.number}: {part.title}"


def chapter_label(chapter: Chapter) -> str:
    return f"Chapter {chapter.number}: {chapter.title}"


# --------------------------------------------------------------------------------------------- text fragments


@dataclass
class Fragment:
    """One text made ready for pandoc: its AST with passage ids, note calls and page-correct links."""

    item: ResolvedText
    ast: dict[str, Any]
    passages: list[Passage]  # the text's paragraphs, then its notes
    html: str = ""
    notes: int = 0  # how many of the passages are notes

    @cached_property
    def key(self) -> str:
        """The fragment's content hash: the live preview converts a text again only when this changes."""
        return digest(self.ast)


def digest(value: object) -> str:
    """A content hash of pure JSON (orjson with sorted keys: a tenth of the json module's time on a long text)."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def prepare(
    item: ResolvedText, links: dict[str, str], taken: set[str], notes_heading: str, collided: set[str] | None = None
) -> Fragment:
    """Passage ids, notes gathered under a heading, links retargeted: everything but the HTML itself."""
    slug = item.text.slug
    blocks, passages = mark_passages(slug, item.blocks, taken, collided)
    blocks, notes = notes_to_links(slug, blocks)
    if notes:
        blocks = [*blocks, notes_section(slug, notes, notes_heading)]
    blocks = retarget_links(blocks, links)
    note_passages = [Passage(note.ident, f"Note {n}", note.text) for n, note in enumerate(notes, 1) if note.text]
    return Fragment(item, dict(item.ast, blocks=blocks), passages + note_passages, notes=len(note_passages))


def convert_all(fragments: list[Fragment], cache: dict[str, str] | None) -> None:
    """HTML for every fragment, pandoc runs in parallel; unchanged texts come from the cache (live preview). A
    build without one hashes nothing here: pandoc's own cache (pandoc.run) keeps conversions between builds."""
    todo = fragments if cache is None else [fragment for fragment in fragments if fragment.key not in cache]

    def convert(fragment: Fragment) -> str:
        return pandoc.ast_to_html(fragment.ast, source=fragment.item.text.path)

    for fragment, html in zip(todo, pandoc.map_at_once(convert, todo), strict=True):
        fragment.html = html
    if cache is None:
        return
    for fragment in todo:
        cache[fragment.key] = fragment.html
    for fragment in fragments:
        fragment.html = cache[fragment.key]
    for stale in cache.keys() - {fragment.key for fragment in fragments}:  # texts since edited
        del cache[stale]


@dataclass(frozen=True)
class Prepared:
    """A fragment kept by the preview, with what its passage marking asked of the book's taken ids: the ids it found
    taken and the ids it added. While the same ids are taken and the others free, marking again gives the same."""

    fragment: Fragment
    collided: frozenset[str]
    added: frozenset[str]

    def still_valid(self, taken: set[str]) -> bool:
        return self.collided <= taken and self.added.isdisjoint(taken)


@dataclass
class SiteCache:
    """What the live preview keeps from one rendering of the site to the next: each text's fragment by everything
    it is made from (its resolved tree, its page's links, its notes' heading), and pandoc's HTML by fragment. A
    one-word edit then prepares and converts one text again, not the book's eighteen (0.9 s of a 3 s rebuild)."""

    fragments: dict[str, Prepared] = field(default_factory=dict)
    html: dict[str, str] = field(default_factory=dict)
    # The templates, compiled once: Jinja2 checks each template's modification time and compiles an edited one again.
    environment: jinja2.Environment | None = None

    def prepare(
        self, item: ResolvedText, links: dict[str, str], taken: set[str], notes_heading: str, used: set[str]
    ) -> Fragment:
        """The text's fragment, kept or made (and kept); its ids are added to `taken` either way."""
        key = digest([item.text.slug, str(item.text.path), notes_heading, item.ast, links])
        used.add(key)
        kept = self.fragments.get(key)
        if kept is not None and kept.still_valid(taken):
            taken |= kept.added
            return kept.fragment
        before, collided = set(taken), set[str]()
        fragment = prepare(item, links, taken, notes_heading, collided)
        added = taken - before  # the ids a marking finds taken include its own earlier ones: not asked of `taken`
        self.fragments[key] = Prepared(fragment, frozenset(collided - added), frozenset(added))
        return fragment

    def keep_only(self, used: set[str]) -> None:
        """Forget the fragments this rendering did not use (texts since edited)."""
        for stale in self.fragments.keys() - used:
            del self.fragments[stale]


# --------------------------------------------------------------------------------------------- pages


@dataclass
class PageJob:
    """A page to write: its template, its texts (in page order) and the rest of its template context."""

    page: Page
    template: str
    texts: dict[str, Fragment] = field(default_factory=dict)  # role in the template -> fragment
    context: dict[str, Any] = field(default_factory=dict)


def section_tree(sections: list[Section]) -> list[tuple[Section, list[Section]]]:
    """Level-2 sections with their level-3 sub-sections, for a page's own contents."""
    tree: list[tuple[Section, list[Section]]] = []
    for section in sections:
        if section.level == 2:
            tree.append((section, []))
        elif section.level == 3 and tree:
            tree[-1][1].append(section)
    return tree


class SiteBuilder:
    """Plans, prepares and writes the pages of one resolved book."""

    def __init__(
        self, resolved: ResolvedBook, project: Project, live_reload: bool = False, cache: SiteCache | None = None
    ):
        self.resolved = resolved
        self.cache = cache
        self.used: set[str] = set()  # the cache's fragments this rendering uses
        self.project = project
        self.book = resolved.book
        self.plan = plan_site(resolved)
        self.live_reload = live_reload
        self.owners = resolved.owner_of()  # walked once: every page needs it
        self.taken: set[str] = set(self.owners)
        self.search = SearchIndex()

    def fragment(self, text: Text | None, page: Page, notes_heading: str = "Notes") -> Fragment | None:
        item = self.resolved.get(text)
        if item is None:
            return None
        links = self.plan.links(self.resolved, page.href, self.owners)
        if self.cache is not None:
            return self.cache.prepare(item, links, self.taken, notes_heading, self.used)
        return prepare(item, links, self.taken, notes_heading)

    def page(self, href: str) -> Page:
        return next(page for page in self.plan.pages if page.href == href)

    def jobs(self) -> Iterator[PageJob]:
        """Every page of the site with its texts, in reading order (the search index is filled in this order)."""
        yield PageJob(
            HOME, "site/index.html.j2", context={"jsonld": sitemeta.book_jsonld(self.book, self.plan.page_of_text)}
        )
        for text in self.book.front:
            yield self.matter_job(text)
        for part in self.book.parts:
            if part.title:
                yield self.part_job(part)
            for chapter in part.chapters:
                yield self.chapter_job(chapter)
        for text in self.book.back:
            yield self.matter_job(text)
        yield PageJob(SEARCH, "site/search.html.j2", context={"jsonld": None})

    def part_job(self, part: PartModel) -> PageJob:
        page = self.page(self.plan.page_of_text[part.anchor])
        job = PageJob(page, "site/part.html.j2", context={"part": part})
        intro = self.fragment(part.intro, page)
        if intro:
            job.texts["body"] = intro
            self.search.add(SearchText(part_label(part), page.href), relabel(intro.passages, "Introduction"))
        job.context["jsonld"] = sitemeta.matter_jsonld(self.book, part_label(part), page.href)
        return job

    def matter_job(self, text: Text) -> PageJob:
        page = self.page(self.plan.page_of_text[text.slug])
        job = PageJob(page, "site/matter.html.j2", context={"text": text})
        body = self.fragment(text, page)
        if body:
            job.texts["body"] = body
            self.search.add(SearchText(text.title, page.href), body.passages)
        job.context["sections"] = section_tree(self.resolved.texts[text.slug].sections)
        job.context["jsonld"] = sitemeta.matter_jsonld(self.book, text.title, page.href)
        return job

    def chapter_job(self, chapter: Chapter) -> PageJob:
        page = self.page(self.plan.page_of_text[chapter.slug])
        job = PageJob(page, "site/chapter.html.j2", context={"chapter": chapter})
        label = SearchText(chapter_label(chapter), page.href)
        headnote = self.fragment(chapter.headnote, page, "Notes to the headnote")
        if headnote:
            job.texts["headnote"] = headnote
            self.search.add(label, relabel(headnote.passages, "Headnote"))
        # Folded on a phone by a line of script in the page, before it is first drawn (nothing moves once shown).
        job.context["fold_headnote"] = bool(headnote) and sum(len(p.text) for p in headnote.passages) > LONG_HEADNOTE
        body = self.fragment(chapter, page)
        assert body is not None
        job.texts["body"] = body
        self.search.add(label, body.passages)
        job.context["sections"] = section_tree(self.resolved.texts[chapter.slug].sections)
        job.context["jsonld"] = sitemeta.chapter_jsonld(self.book, chapter, page.href)
        return job

    def write(self, folder: Path) -> None:
        if self.cache is None:
            environment = jinja_environment(self.project)
        else:
            environment = self.cache.environment = self.cache.environment or jinja_environment(self.project)
        jobs = list(self.jobs())
        convert_all(
            [fragment for job in jobs for fragment in job.texts.values()],
            None if self.cache is None else self.cache.html,
        )
        if self.cache is not None:
            self.cache.keep_only(self.used)
        config = self.book.config
        cover = CoverText(config.title, config.subtitle, editors_line(self.resolved))
        common = {
            "book": self.book,
            "config": config,
            "plan": self.plan,
            "live_reload": self.live_reload,
            "share": share_tags(config, cover, self.project.fonts_dir),
        }
        if config.site_url:
            jobs.append(PageJob(NOT_FOUND, "site/404.html.j2", context={"jsonld": None}))
        pages = []
        for job in jobs:
            previous, following = self.plan.neighbours(job.page)
            html = environment.get_template(job.template).render(
                **common,
                **job.context,
                **(NO_TEXTS | {role: fragment.html for role, fragment in job.texts.items()}),
                page=job.page,
                previous=previous,
                next=following,
                canonical=None if job.page == NOT_FOUND else sitemeta.canonical(config, job.page.href),
                description=sitemeta.description(self.opening(job)),
            )
            if job.page == NOT_FOUND and config.site_url:
                html = absolute_links(html, config.site_url)
            (folder / job.page.href).write_text(html, encoding="utf-8")
            pages.append(html)
        self.write_assets(folder / "assets", pages)
        write_icons(cover, self.project.fonts_dir, folder / "assets", share=bool(config.site_url))
        if config.site_url:
            hrefs = [job.page.href for job in jobs if job.page not in (SEARCH, NOT_FOUND)]
            (folder / SITEMAP).write_text(sitemap(config.site_url, hrefs), encoding="utf-8")

    def opening(self, job: PageJob) -> str:
        """What a page is about, for its meta description: the first paragraph of some length of its headnote or
        text (a label such as "Author." says nothing); for a generated list (bibliography, index) and pages without
        one, the page's and the book's titles."""
        text = job.context.get("text")
        if not (text and text.kind == "generated"):
            for fragment in job.texts.values():  # headnote first, where there is one
                for passage in fragment.passages[: len(fragment.passages) - fragment.notes]:
                    if len(passage.text) >= DESCRIPTIVE:
                        return passage.text
        config = self.book.config
        book = ": ".join(part for part in (config.title, config.subtitle) if part)
        return book + f". {config.edition}, {config.date}." if job.page == HOME else f"{job.page.title}. {book}."

    def write_assets(self, assets: Path, pages: list[str]) -> None:
        """Stylesheet, scripts, the search index, and the fonts cut down to the characters of `pages`."""
        copy_assets(self.project, assets, self.live_reload)
        write_fonts(self.project.fonts_dir, FONT_FILES, [*pages, self.search.script()], assets / "fonts")
        (assets / INDEX_FILE).write_text(self.search.script(), encoding="utf-8")


def relabel(passages: list[Passage], where: str) -> list[Passage]:
    """Passages of a headnote or introduction: their section is named after what they are part of."""
    return [Passage(p.ident, f"{where}: {p.section}" if p.section else where, p.text) for p in passages]


def copy_assets(project: Project, assets: Path, live_reload: bool = False) -> None:
    """Stylesheet, scripts and the fonts' licences: with the fonts (write_fonts) everything the pages load, so the
    site needs no network. The preview's script only in the preview."""
    (assets / "fonts").mkdir(parents=True, exist_ok=True)
    shutil.copy(project.style_file("screen.css"), assets / "screen.css")
    for name in (*SCRIPTS, LIVE_RELOAD) if live_reload else SCRIPTS:
        shutil.copy(project.style_file(f"site/{name}"), assets / name)
    for name in FONT_LICENCES:
        if (project.fonts_dir / name).is_file():
            shutil.copy(project.fonts_dir / name, assets / "fonts" / name)


def share_tags(config: BookConfig, cover: CoverText, fonts_dir: Path) -> dict[str, Any] | None:
    """The sharing image's address and size for the Open Graph tags: only with site_url, since a link preview
    needs an absolute address."""
    if not config.site_url:
        return None
    width, height = share_size(cover, fonts_dir)
    return {"image": f"{config.site_url}assets/{SHARE_IMAGE}", "width": width, "height": height}


def absolute_links(html: str, site_url: str) -> str:
    """The 404 page's links made absolute: a server shows it at whatever address was asked for, where a relative
    link would lead nowhere. Links within the page (`#main`) stay as they are (a <base> would send them home)."""
    tree = lxml_html.document_fromstring(html)
    tree.rewrite_links(lambda link: link if link.startswith("#") else urljoin(site_url, link))
    return lxml_html.tostring(tree, doctype="<!DOCTYPE html>", encoding="unicode") + "\n"


def sitemap(site_url: str, hrefs: list[str]) -> str:
    """sitemap.xml (sitemaps.org 0.9): every page a reader may land on from a search engine, in reading order."""
    urls = "".join(f"  <url><loc>{escape(site_url + href)}</loc></url>\n" for href in hrefs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"
    )


def render_site(
    resolved: ResolvedBook,
    project: Project,
    target: Path,
    live_reload: bool = False,
    cache: SiteCache | None = None,
) -> Path:
    """Write the whole site into a temporary folder, then swap it in: a failed build leaves the old site. The
    preview passes the cache it keeps between renderings."""
    builder = SiteBuilder(resolved, project, live_reload, cache)
    with atomic_dir(target) as folder:
        builder.write(folder)
    return target / "index.html"
