"""The book's print HTML: page geometry, running heads, footnotes as WeasyPrint footnotes, and the whole
document made from the resolved book for a given page map (`print_html`), its texts' fragments kept between calls.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jinja2

from anthology import pandoc
from anthology.ast import Node, replace_lists, span
from anthology.config import POINTS_PER_INCH, BookConfig, minimum_gutter_in
from anthology.model import Chapter, PartModel, Project, ResolvedBook, ResolvedText, Text, book_id
from anthology.render.common import flatten_blocks, jinja_environment, source_date_epoch
from anthology.resolve import editorial

# The page design's margins in inches; the gutter grows to the printer's minimum when the page count needs it.
DESIGN_MARGINS_IN = {"top": 0.8, "bottom": 0.8, "inner": 0.75, "outer": 0.6}


FOOTNOTE_CALL = "fncall"


FOOTNOTE_TEXT = "fn"


@dataclass(frozen=True)
class PageGeometry:
    """Trim size and mirrored margins in points; `inner` is the gutter."""

    width: float
    height: float
    top: float
    bottom: float
    inner: float
    outer: float


def geometry_for(config: BookConfig, page_count: int) -> PageGeometry:
    """The design margins, with the gutter widened to the minimum for this many pages."""
    width, height = config.trim_size
    margins = {key: value * POINTS_PER_INCH for key, value in DESIGN_MARGINS_IN.items()}
    margins["inner"] = max(margins["inner"], minimum_gutter_in(page_count) * POINTS_PER_INCH)
    return PageGeometry(width, height, **{key: round(value, 2) for key, value in margins.items()})


class RunningHeads:
    """The running heads: verso and recto text for each kind of section, by book.yaml's `running_heads`.

    `author-title` (default): verso the chapter's author, recto its title; `book-title`: verso the book's title,
    recto the chapter's title; `none`: no running heads (folios only).
    """

    def __init__(self, config: BookConfig):
        self.config = config
        self.mode = config.running_heads

    def _pair(self, verso: str, recto: str) -> tuple[str, str]:
        return ("", "") if self.mode == "none" else (verso, recto)

    def chapter_verso(self, chapter: Chapter) -> str:
        authors = chapter.chapter_meta.authors
        verso = chapter.chapter_meta.byline if self.mode == "author-title" and authors else self.config.title
        return self._pair(verso, chapter.title)[0]

    def chapter_recto(self, chapter: Chapter) -> str:
        return self._pair("", chapter.title)[1]

    def matter_verso(self, text: Text) -> str:
        return self._pair(self.config.title, text.title)[0]

    def matter_recto(self, text: Text) -> str:
        return self._pair("", text.title)[1]

    def part_verso(self, part: PartModel) -> str:
        return self._pair(self.config.title, "")[0]

    def part_recto(self, part: PartModel) -> str:
        return self._pair("", part.title)[1]


def footnote_ids(slug: str, number: int) -> tuple[str, str]:
    """Ids of a footnote's call (an empty marker where the note is called) and of its text."""
    return book_id(slug, f"{FOOTNOTE_CALL}-{number}"), book_id(slug, f"{FOOTNOTE_TEXT}-{number}")


def notes_to_print_footnotes(blocks: list[Node], slug: str) -> list[Node]:
    """Each pandoc Note becomes a footnote span (CSS float: footnote) preceded by a marker of its call, so that
    the layout can tell on which page each lands."""
    counter = 0

    def convert(items: list[Any]) -> list[Any]:
        nonlocal counter
        if not any(item["t"] == "Note" for item in items):
            return items
        result: list[Any] = []
        for item in items:
            if item["t"] == "Note":
                counter += 1
                call, text = footnote_ids(slug, counter)
                result += [span([], ident=call), span(flatten_blocks(item["c"]), ident=text, classes=["footnote"])]
            else:
                result.append(item)
        return result

    return replace_lists(blocks, convert)  # the blocks given are left as they were (they share what is unchanged)


def text_fragment(item: ResolvedText, blocks: list[Node] | None = None) -> str:
    content = item.blocks if blocks is None else blocks
    ast = dict(item.ast, blocks=notes_to_print_footnotes(content, item.text.slug))
    return pandoc.ast_to_html(ast, source=item.text.path)


def sentence(text: str) -> str:
    """A front-matter phrase printed as a sentence: capitalised, ending with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…’”)" else text + "."


def iso_timestamp(resolved: ResolvedBook) -> str:
    return datetime.fromtimestamp(source_date_epoch(resolved), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def print_html(
    resolved: ResolvedBook, project: Project, pages: dict[str, int], page_count: int = 0, exact: bool = True
) -> str:
    """The whole book as one HTML document for WeasyPrint. Page numbers are text, from `pages` (the page of every
    anchor): the contents, cross-references, bibliography and index print them, and generated texts take their
    print form. Made once for each page map: settling the page numbers asks for the same one more than once.
    `exact`: False leaves the texts that print exact page numbers (the index, the bibliography) without them, for
    a layout that does not lay them out (first_pages)."""
    key = hashlib.sha256(json.dumps([pages, page_count, exact], sort_keys=True).encode()).hexdigest()
    documents = fragments_of(resolved).documents
    if key not in documents:
        documents[key] = compose_print_html(resolved, project, pages, page_count, exact)
    return documents[key]


@cache
def print_environment(project: Project) -> jinja2.Environment:
    """The print template's environment, made once: a new one compiled the template again for every page map."""
    environment = jinja_environment(project)
    environment.filters["sentence"] = sentence
    environment.filters["provenance"] = editorial.provenance
    return environment


def compose_print_html(
    resolved: ResolvedBook, project: Project, pages: dict[str, int], page_count: int, exact: bool = True
) -> str:
    config = resolved.book.config
    fragments = dict(base_fragments(resolved))

    def converted(slug: str) -> str:
        override = resolved.print_overrides[slug]
        fragment = positional_fragment(resolved, slug, override, pages)
        if fragment is None:
            fragment = overridden_fragment(resolved, slug, override(pages if exact or positional(override) else {}))
        return fragment

    overrides = list(resolved.print_overrides)  # each a pandoc run, the first time
    fragments.update(zip(overrides, pandoc.map_at_once(converted, overrides), strict=True))
    environment = print_environment(project)
    authors = sorted({a for chapter in resolved.book.chapters for a in chapter.chapter_meta.authors})
    return set_text(
        environment.get_template("print.html.j2").render(
            book=resolved.book,
            config=config,
            hyphenation_lang=hyphenation_lang(config.lang),
            fragments=fragments,
            pages=pages,
            page=geometry_for(config, page_count),
            heads=RunningHeads(config),
            editors=", ".join(editor.name for editor in config.editors),
            description=config.subtitle or config.title,
            keywords=", ".join(authors),
            timestamp=iso_timestamp(resolved),
        )
    )


# A language's variant where its hyphenation patterns differ and the book names none: CLDR's likely subtags.
LIKELY_VARIANT = {"en": "en-US"}
TEXT = re.compile(r">([^<]+)<")
CAPITALISED = re.compile(r"(?<![&#\w])([^\W\d_][^\W\d_]{5,})(?!\w)")  # a word that hyphenation could break
LIST_START = re.compile(r'<ol start="(-?\d+)"')
XREF = re.compile(r'(<a [^>]*class="xref-print[^"]*"[^>]*>)(.*?)(</a>)', re.DOTALL)
TIED = re.compile(r" (?=\d|<span class=\"pnum\">)")  # "Chapter 1", "p. 17": never broken apart


def hyphenation_lang(lang: str) -> str:
    """The language whose hyphenation patterns the print edition uses: `lang`, or its likely variant when it
    names none (`en` is written en-US unless book.yaml says en-GB)."""
    return LIKELY_VARIANT.get(lang.lower(), lang)


def set_text(document: str) -> str:
    """What WeasyPrint 70 does not do from the HTML alone: an ordered list's `start` (it numbers every list from 1),
    and no hyphen in a capitalised word (a name: Len-in, Trot-sky), whose words are marked `hyphens: manual`
    (class `name` in print.css); and what a press does: a printed cross-reference's number tied to the word before
    it. Only the body's text is touched, never a tag or its attributes."""
    head, marker, body = document.partition("<body")
    if not marker:
        return document
    body = LIST_START.sub(lambda m: f'{m[0]} style="counter-reset: list-item {int(m[1]) - 1}"', body)
    body = XREF.sub(lambda m: m[1] + TIED.sub("\u00a0", m[2]) + m[3], body)
    return head + marker + TEXT.sub(lambda m: ">" + CAPITALISED.sub(name_span, m[1]) + "<", body)


def name_span(match: re.Match[str]) -> str:
    word = match[1]
    return f'<span class="name">{word}</span>' if word[0].isupper() else word


@dataclass
class Fragments:
    """One resolved book's print HTML, kept between the calls of print_html (pandoc is slow, and settling the page
    numbers asks for the book's HTML several times)."""

    book: ResolvedBook
    plain: dict[str, str]  # texts that print no page numbers
    overridden: dict[tuple[str, str], str] = field(default_factory=dict)  # (slug, hash of its blocks) -> HTML
    positional: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # slug -> (HTML, placeholder anchors)
    documents: dict[str, str] = field(default_factory=dict)  # digest of (page map, page count) -> the book's HTML


_FRAGMENTS: dict[int, Fragments] = {}


def fragments_of(resolved: ResolvedBook) -> Fragments:
    entry = _FRAGMENTS.get(id(resolved))
    if entry is None or entry.book is not resolved:
        _FRAGMENTS.clear()
        items = {s: i for s, i in resolved.texts.items() if s not in resolved.print_overrides}
        plain = dict(zip(items, pandoc.map_at_once(text_fragment, list(items.values())), strict=True))
        entry = _FRAGMENTS[id(resolved)] = Fragments(resolved, plain)
    return entry


def base_fragments(resolved: ResolvedBook) -> dict[str, str]:
    """Every text's print HTML that does not depend on page numbers, made once per resolved book."""
    return fragments_of(resolved).plain


class Placeholders(dict):
    """A page map that has every anchor: each anchor asked for gets a number of its own (PLACEHOLDER + n), which
    positional_fragment replaces by the anchor's page."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[str] = []

    def __contains__(self, anchor: object) -> bool:
        return True

    def __missing__(self, anchor: str) -> int:
        self.anchors.append(anchor)
        self[anchor] = PLACEHOLDER + len(self.anchors) - 1
        return self[anchor]


PLACEHOLDER = 10_000_000


PLACEHOLDER_NUMBER = re.compile(r'<span class="pnum">(1\d{7})</span>')


def positional(override: Any) -> bool:
    """Whether a print override's page numbers change nothing but themselves (crossref.paged_override says so)."""
    return bool(getattr(override, "positional", False))


def positional_fragment(resolved: ResolvedBook, slug: str, override: Any, pages: dict[str, int]) -> str | None:
    """The print HTML of a text whose page numbers change nothing but themselves (a cross-reference's ", p. 151"):
    made once with placeholder numbers, then given the numbers, instead of converted again for every page map.
    None for the others (the index's ranges), and when an anchor it refers to has no page yet."""
    if not positional(override):
        return None
    cache = fragments_of(resolved).positional
    if slug not in cache:
        placeholders = Placeholders()
        cache[slug] = (text_fragment(resolved.texts[slug], override(placeholders)), placeholders.anchors)
    html, anchors = cache[slug]
    if any(anchor not in pages for anchor in anchors):
        return None
    return PLACEHOLDER_NUMBER.sub(
        lambda match: f'<span class="pnum">{pages[anchors[int(match[1]) - PLACEHOLDER]]}</span>', html
    )


def overridden_fragment(resolved: ResolvedBook, slug: str, blocks: list[Node]) -> str:
    """A text's print HTML with its page numbers, made once for each distinct form: settling the page numbers asks
    for the book's HTML several times, and most texts' numbers do not change between two of those."""
    key = (slug, hashlib.sha256(json.dumps(blocks, separators=(",", ":")).encode()).hexdigest())
    cache = fragments_of(resolved).overridden
    if key not in cache:
        cache[key] = text_fragment(resolved.texts[slug], blocks)
    return cache[key]


def exact_page_texts(resolved: ResolvedBook) -> set[str]:
    """The anchors of the texts whose print form depends on the exact page numbers, not only on their length: a
    generated text whose print override is not positional (the index's ranges, the bibliography's page lists). A
    segment that holds one, laid out on guessed numbers, would only be laid out again."""
    return {
        resolved.texts[slug].anchor for slug, override in resolved.print_overrides.items() if not positional(override)
    }
