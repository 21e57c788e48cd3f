"""Print edition: the book's print HTML, laid out by WeasyPrint into two PDFs with the same pages.

`build/<slug>.pdf` is for the printer (PDF/X with a CMYK output intent, black text, no links, annotations or
bookmarks); `build/<slug>-screen.pdf` is for reading (sRGB, live links, bookmarks, metadata). The document is cut
into segments, one per text (`segments.py`), laid out in parallel worker processes, each once: the worker writes
the printer's PDF and derives the reader's from it (`screen.py`); the segments are joined with the folios stamped
on (`merge.py`). WeasyPrint is imported by the workers only (`engine.py`). Page numbers printed as text (contents,
cross-references, bibliography, index) are settled in rounds. The layout is measured as it is made: the gutter must
meet the printer's minimum for the final page count, and footnotes that land on another page than their call are
counted.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from rich.console import Console

from anthology import manifest, pandoc
from anthology.ast import Node, replace_lists, span
from anthology.config import POINTS_PER_INCH, BookConfig, minimum_gutter_in
from anthology.diagnostics import BuildError, Diagnostic
from anthology.load import Chapter, PartModel, Text
from anthology.render.common import Project, atomic_file, flatten_blocks, jinja_environment, source_date_epoch
from anthology.render.print import pagemap, screen, segments
from anthology.resolve.book import ResolvedBook, ResolvedText, book_id

if TYPE_CHECKING:  # WeasyPrint is imported by the workers alone: a second of every build's main process otherwise
    from weasyprint import CSS
    from weasyprint.document import Document
    from weasyprint.urls import URLFetcher

# The page design's margins in inches; the gutter grows to the printer's minimum when the page count needs it.
DESIGN_MARGINS_IN = {"top": 0.8, "bottom": 0.8, "inner": 0.75, "outer": 0.6}
ICC_PROFILE = "icc/GRACoL_TR006_coated.icc"
FOOTNOTE_CALL = "fncall"
FOOTNOTE_TEXT = "fn"
# Layouts of one segment to keep its footnotes with their calls (each pass mends the first separation of each text).
MAX_PASSES = 6
# Rounds of the whole book until printed page numbers agree with the layout.
MAX_ROUNDS = 5
# Bytes of print HTML per page of this design (measured: 927 kB for the 190 pages of the anthology), to estimate
# the page of every anchor before the first layout.
CHARACTERS_PER_PAGE = 2500  # of text (notes and markup's spaces included), as measured on this design


# ---- Variants ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """What differs between the printer's PDF and the reader's: colour, links and bookmarks, PDF flavour."""

    name: str
    css: str
    interactive: bool  # links, bookmarks and named destinations


PRINT = Variant(
    "print",
    f'@color-profile device-cmyk {{ src: url("{ICC_PROFILE}"); components: cyan, magenta, yellow, black; }}\n'
    "html, a, a:link, a:visited { color: device-cmyk(0 0 0 1); }\n",
    interactive=False,
)
SCREEN = Variant("screen", "", interactive=True)  # derived from the printer's PDF (screen.py), never laid out


def pdf_variant(config: BookConfig) -> str:
    """The PDF/X flavour of the print PDF (book.yaml `pdf_variant`, PDF/X-4 unless set)."""
    return config.pdf_variant


# ---- Page geometry and running heads -----------------------------------------------------------------------------


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


# ---- The print HTML ----------------------------------------------------------------------------------------------


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
    return environment.get_template("print.html.j2").render(
        book=resolved.book,
        config=config,
        fragments=fragments,
        pages=pages,
        page=geometry_for(config, page_count),
        heads=RunningHeads(config),
        editors=", ".join(editor.name for editor in config.editors),
        description=config.subtitle or config.title,
        keywords=", ".join(authors),
        timestamp=iso_timestamp(resolved),
    )


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


@dataclass
class Guess:
    """A segment's pages before it is laid out: its page count and the (0-based) page of each anchor in it."""

    pages: int
    anchors: dict[str, int]


def guess_segments(parts: list[segments.Segment]) -> list[Guess]:
    """Each segment's pages estimated from its text: CHARACTERS_PER_PAGE, each top-level element starting a page,
    and every segment (but the last) an even number of pages, since the next starts on a recto. It need only get
    a page number's digits right and the first layout's page counts close."""
    from lxml import html as lxml_html

    guesses = []
    for part in parts:
        body = lxml_html.document_fromstring(part.html).find("body")
        anchors: dict[str, int] = {}
        page = 0
        for block in body:
            characters = 0
            for element in block.iter():
                if element.get("id"):
                    anchors.setdefault(element.get("id"), page + characters // CHARACTERS_PER_PAGE)
                characters += len(element.text or "") + len(element.tail or "")
            page += max(1, -(-characters // CHARACTERS_PER_PAGE))
        pages = page if part.last else page + page % 2
        guesses.append(Guess(pages, anchors))
    return guesses


# ---- Layout ------------------------------------------------------------------------------------------------------


def anchor_pages(document: Document) -> dict[str, int]:
    """The 1-based page number of every anchor (id) in a laid-out document."""
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    return pages


# WeasyPrint messages that are expected and harmless for our documents.
IGNORED_WARNINGS = ("Ignored `text-align-last",)


def layout_css(variant: Variant, base: str, fetcher: URLFetcher) -> tuple[CSS, dict[str, Any]]:
    """The variant's style sheet and the colour profiles it declares (which the document must be given)."""
    from weasyprint import CSS

    profiles: dict[str, Any] = {}
    return CSS(string=variant.css, base_url=base, url_fetcher=fetcher, color_profiles=profiles), profiles


# WeasyPrint 70, layout/block.py: when a paragraph's first line does not fit at the foot of a page and its orphans
# would force the paragraph to the next page, WeasyPrint instead moves footnotes already called higher on the page to
# the next page, to make room for the line. Those notes then print a page after their calls. The book wants the
# other choice: the paragraph goes to the next page (the page runs a line or two short), every note stays with its
# call. This switches that one decision off, in the pinned release, and fails loudly if the code is not the one it
# was written for.
REPORT_DECISION = "report = not context.in_column and can_break_now and not could_break_before"


def keep_footnotes_with_calls() -> None:
    import inspect
    import textwrap

    from weasyprint.layout import block

    if getattr(block, "_anthology_patched", False):
        return
    source = textwrap.dedent(inspect.getsource(block._linebox_layout))
    if source.count(REPORT_DECISION) != 1:
        raise RuntimeError("WeasyPrint's _linebox_layout is not the one anthology patches: check the pinned version")
    namespace: dict[str, Any] = {}
    exec(compile(source.replace(REPORT_DECISION, "report = False"), block.__file__, "exec"), block.__dict__, namespace)
    block._linebox_layout = namespace["_linebox_layout"]
    block._anthology_patched = True


@cache
def font_configuration() -> Any:
    """One FontConfiguration for every layout a process makes: fonts found and loaded once, not once per segment."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def layout(
    html: str,
    project: Project,
    variant: Variant = PRINT,
    breaks: frozenset[int] = frozenset(),
    prepare: Callable[[list[Any]], None] | None = None,
) -> tuple[Document, list[Any]]:
    """Lay out the HTML; `breaks` are elements (by document order) that must start a new page; `prepare` may
    change the parsed tree first (resume.py hides what an earlier layout already set). Returns the document and
    the parsed elements in document order, which the layout's boxes point to."""
    from weasyprint import HTML

    from anthology.render.print.engine import ConfinedFetcher

    keep_footnotes_with_calls()
    fetcher = ConfinedFetcher([project.styles_dir, project.book_dir])
    base = str(project.styles_dir.resolve()) + "/"
    stylesheet, profiles = layout_css(variant, base, fetcher)
    parsed = HTML(string=html, base_url=base, url_fetcher=fetcher)
    elements = list(parsed.etree_element.iter())
    if prepare is not None:
        prepare(elements)
    force_breaks(elements, breaks)
    return parsed.render(stylesheets=[stylesheet], color_profiles=profiles, font_config=font_configuration()), elements


def force_breaks(elements: list[Any], breaks: Iterable[int]) -> None:
    """Start a page at each of these elements (by document order), as their style attribute says."""
    for index in breaks:
        style = elements[index].get("style")
        elements[index].set("style", f"{style}; break-before: page" if style else "break-before: page")


@dataclass
class Typesetting:
    """What the layout measured: reported by the build and written beside the PDF as JSON."""

    variant: str
    pages: int
    gutter_in: float
    minimum_gutter_in: float
    passes: int = 1
    # Per text (slug): footnotes whose text lands on another page than their call, as [number, call page, text
    # page] (text page 0: the footnote's text is missing from the PDF); and the number of footnotes.
    footnotes_separated: dict[str, list[list[int]]] = field(default_factory=dict)
    footnotes_total: dict[str, int] = field(default_factory=dict)
    # Pages ended early (a forced break) to keep a footnote with its call.
    short_pages: list[int] = field(default_factory=list)
    # Whether the page numbers printed agree with the layout (False: MAX_ROUNDS ran out), and how many segments
    # were laid out by this build (the others came from the cache).
    settled: bool = True
    segments_laid_out: int = 0
    # Folio documents this build laid out, and how many of those while the last segments were being laid out.
    folio_documents_laid_out: int = 0
    folio_documents_ahead: int = 0

    @property
    def separated_count(self) -> int:
        return sum(len(numbers) for numbers in self.footnotes_separated.values())


def flow_lines(page: Any) -> Iterator[Any]:
    """The line boxes of a page's main flow (not its footnote area or margin boxes), in order."""
    from weasyprint.formatting_structure import boxes

    for child in page._page_box.children:  # the footnote area and the margin boxes are the page's own children
        if not isinstance(child, (boxes.FootnoteAreaBox, boxes.MarginBox)):
            yield from line_boxes(child)


KEEP_WITH_NEXT = {"h1", "h2", "h3", "h4", "h5", "h6"}


def footnote_breaks(document: Document, elements: list[Any], call_pages: set[int]) -> set[int]:
    """Where to force a page break so that footnotes stay with their calls.

    WeasyPrint 70 keeps the first lines of a paragraph that starts at the foot of a page (its orphans) by moving
    the page's footnotes, already called above, to the next page. Starting that paragraph (with a heading just
    before it) on the next page instead leaves the page a few lines short but keeps every note with its call.
    """
    index = {id(element): number for number, element in enumerate(elements)}
    parents = {id(child): parent for parent in elements for child in parent}
    seen: set[int] = set()
    breaks: set[int] = set()
    for number, page in enumerate(document.pages, start=1):
        lines = list(flow_lines(page))
        on_page = {id(line.element) for line in lines if line.element is not None}
        last = lines[-1].element if lines else None
        if number in call_pages and last is not None and id(last) not in seen and id(last) in index:
            target = keep_with_previous(last, elements, index, parents, on_page)
            if starts_low(page, lines, target) and not inside_table(target, parents):
                breaks.add(index[id(target)])
        seen |= on_page
    return breaks


# A break only where the moved text starts in the lower part of the page: the page then runs a few lines short.
LOWEST_BREAK = 0.6


def starts_low(page: Any, lines: list[Any], element: Any) -> bool:
    """Whether the element's first line on the page lies in its lower part (moving it leaves a small gap)."""
    box = page._page_box
    own = {id(node) for node in element.iter()}
    first = next((line for line in lines if id(line.element) in own), None)
    return first is not None and first.position_y - box.content_box_y() >= LOWEST_BREAK * box.height


def inside_table(element: Any, parents: dict[int, Any]) -> bool:
    while element is not None:
        if element.tag in ("table", "figure"):
            return True
        element = parents.get(id(element))
    return False


def heading_of(element: Any, parents: dict[int, Any]) -> Any | None:
    """The heading an element is, or is inside."""
    while element is not None:
        if element.tag in KEEP_WITH_NEXT:
            return element
        element = parents.get(id(element))
    return None


def keep_with_previous(
    element: Any, elements: list[Any], index: dict[int, int], parents: dict[int, Any], on_page: set[int]
) -> Any:
    """The element to break before: a heading on the same page just before it goes to the next page with it."""
    position = index[id(element)]
    while position > 0:
        previous = elements[position - 1]
        ancestors = []
        node = parents.get(id(element))
        while node is not None:
            ancestors.append(node)
            node = parents.get(id(node))
        if any(previous is ancestor for ancestor in ancestors):
            position -= 1  # a container this element opens: the break passes through it
            continue
        heading = heading_of(previous, parents)
        if heading is None or id(heading) not in on_page:
            break
        element, position = heading, index[id(heading)]
    return element


def short_pages(document: Document, elements: list[Any], breaks: frozenset[int]) -> set[int]:
    """Pages that end before a forced footnote break (they run short)."""
    targets = {id(elements[index]) for index in breaks}
    result: set[int] = set()
    for number, page in enumerate(document.pages, start=1):
        if any(id(line.element) in targets for line in flow_lines(page)) and number > 1:
            result.add(number - 1)
    return result


def strip_interactive(document: Document) -> None:
    """The printer's PDF has no links (annotations), bookmarks or named destinations."""
    for page in document.pages:
        page.links.clear()
        page.bookmarks.clear()
        page.anchors.clear()


def variant_options(config: BookConfig, variant: Variant) -> dict[str, Any]:
    """What a worker needs to write a variant: a fixed XMP DocumentID (reproducible output) and the PDF/X flavour
    for the printer."""
    return {
        "document_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{config.identifier}/{variant.name}")),
        "pdf_variant": None if variant.interactive else pdf_variant(config),
    }


def write_options(options: dict[str, Any]) -> dict[str, Any]:
    """No file identifier in a segment's PDF: the merge gives the book one derived from its content (merge.py).
    With one, WeasyPrint 70 (pydyf 0.13) compresses every stream a second time to hash the file: a fifth of the
    time a segment takes."""
    return {"pdf_identifier": False, "pdf_variant": options["pdf_variant"]}


RANDOM_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")


def fix_document_id(document: Document, stable: str) -> None:
    """A reproducible XMP DocumentID: WeasyPrint writes a random UUID into PDF/X-4 metadata (uuid4 in
    pdf/metadata.py), so two builds of the same sources would differ; ours is derived from the book's identifier."""
    generate = getattr(document.metadata, "_original_rdf", document.metadata.generate_rdf_metadata)
    document.metadata._original_rdf = generate

    def generate_fixed(*args: Any) -> bytes:
        return RANDOM_DOCUMENT_ID.sub(f"xmp.did:{stable}".encode(), generate(*args))

    document.metadata.generate_rdf_metadata = generate_fixed


def report_typesetting(report: Typesetting, resolved: ResolvedBook, console: Console | None = None) -> None:
    """Print what the layout measured: pages, gutter, and footnotes separated from their calls per chapter."""
    console = console or Console(stderr=True)
    console.print(
        f"       {report.variant} PDF: {report.pages} pages, gutter {report.gutter_in:.3f} in "
        f"(minimum {report.minimum_gutter_in} in); footnotes on another page than their call: "
        f"{report.separated_count} of {sum(report.footnotes_total.values())} (most layout passes of a segment: "
        f"{report.passes}; segments laid out by this build: {report.segments_laid_out})"
        + ("" if report.settled else "; the page numbers did not settle"),
        highlight=False,
        soft_wrap=True,
    )
    for slug, total in report.footnotes_total.items():
        separated = report.footnotes_separated.get(slug, [])
        numbers = ", ".join(f"note {n}: call p. {c}, text p. {t}" for n, c, t in separated) or "none"
        console.print(f"         {slug}: {len(separated)} of {total} ({numbers})", highlight=False, soft_wrap=True)


def report_path(target: Path) -> Path:
    """The JSON report written beside a PDF: build/<slug>.pdf → build/<slug>.pdf.json."""
    return target.with_name(target.name + ".json")


# ---- A segment, laid out in a worker ---------------------------------------------------------------------------


def parent_map(elements: list[Any]) -> dict[int, Any]:
    """Each element's parent, by id (the parsed tree's elements do not know their parents)."""
    return {id(child): parent for parent in elements for child in parent}


def screen_links(elements: list[Any], parents: dict[int, Any]) -> set[int]:
    """The links the screen PDF shows in colour (screen.py): cross-references, every link in editorial matter,
    and a chapter's links within the book."""
    chosen: set[int] = set()
    for element in elements:
        href = element.get("href") if element.tag == "a" else None
        if not href:
            continue
        internal = href.startswith(("#", segments.DEST_SCHEME))
        ancestors: list[str] = []
        node = parents.get(id(element))
        while node is not None:
            ancestors += (node.get("class") or "").split()
            node = parents.get(id(node))
        is_xref = "xref" in (element.get("class") or "").split()
        if is_xref or "matter-body" in ancestors or (internal and "chapter-body" in ancestors):
            chosen.add(id(element))
    return chosen


def descendants(box: Any) -> Iterator[Any]:
    stack = [box]
    while stack:
        box = stack.pop()
        yield box
        stack.extend(reversed(getattr(box, "children", [])))


def number_stamps(document: Document, count: int, links: set[int], parents: dict[int, Any]) -> list[list[Any]]:
    """Where each masked page number fell (segments.Result.stamps): the merge prints the real number there, in the
    same type, so the page is the one the whole book laid out at once would have."""
    from weasyprint.formatting_structure import boxes

    stamps = []
    for number, page in enumerate(document.pages[:count]):
        x, y = page._page_box.content_box_x(), page._page_box.content_box_y()
        for box in descendants(page._page_box):
            index = box.element.get("data-n") if isinstance(box, boxes.TextBox) and box.element_tag == "span" else None
            if index is not None:
                where = [round(box.position_x - x, 4), round(box.position_y - y, 4), round(box.width, 4)]
                stamps.append([int(index), number, *where, stamp_css(box.style), linked(box.element, parents, links)])
    return stamps


def linked(element: Any, parents: dict[int, Any], links: set[int]) -> bool:
    while element is not None:
        if id(element) in links:
            return True
        element = parents.get(id(element))
    return False


def css_length(value: Any, number_unit: str = "") -> str:
    """A computed length (WeasyPrint's Dimension, 'normal', or a number) as CSS. A number is a factor (line-height)
    or, with `number_unit`, a length WeasyPrint computed in that unit (letter-spacing, in px)."""
    if hasattr(value, "unit"):
        return f"{value.value}{value.unit}"
    if isinstance(value, (int, float)):
        return f"{value}{number_unit}"
    return str(value)


def stamp_css(style: Any) -> str:
    """The type a page number was laid out in, as CSS for the folio document."""
    family = ", ".join(f"'{name}'" for name in style["font_family"])
    numeric = style["font_variant_numeric"]
    features = style["font_feature_settings"]
    declarations = {
        "font-family": family,
        "font-size": f"{style['font_size']}px",
        "font-style": style["font_style"],
        "font-weight": str(style["font_weight"]),
        "font-stretch": style["font_stretch"],
        "font-variant-caps": style["font_variant_caps"],
        "font-variant-numeric": numeric if isinstance(numeric, str) else " ".join(numeric),
        "font-feature-settings": (
            features if isinstance(features, str) else ", ".join(f"'{tag}' {value}" for tag, value in features)
        ),
        "font-kerning": style["font_kerning"],
        "letter-spacing": css_length(style["letter_spacing"], "px"),
        "line-height": css_length(style["line_height"]),
    }
    return "; ".join(f"{key}: {value}" for key, value in declarations.items())


def has_folio(page: Any) -> bool:
    """Whether the page has a box where the folio goes (SEGMENT_CSS): openers, blank and front pages have none."""
    from weasyprint.formatting_structure import boxes

    return any(
        isinstance(box, boxes.MarginBox) and box.at_keyword == "@bottom-center" for box in page._page_box.children
    )


def line_boxes(box: Any) -> Iterator[Any]:
    """The line boxes in a box, in order; a line's text includes the lines of an inline block inside it."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.LineBox):
        yield box
        return
    for child in getattr(box, "children", []):
        yield from line_boxes(child)


def page_lines(page: Any) -> list[str]:
    """A page's lines of text in the order pdftotext reads them from the PDF (running heads, the text, its
    footnotes, then the other margins), for the EPUB's page list (pagemap.py). Read from the layout: reading them
    back from the book's PDF took pdftotext 15 ms a page, on the EPUB's path. Hidden text (a masked page number)
    is not drawn, so not read."""
    from weasyprint.formatting_structure import boxes

    children = page._page_box.children
    top = [box for box in children if isinstance(box, boxes.MarginBox) and box.at_keyword.startswith("@top")]
    margins = [box for box in children if isinstance(box, boxes.MarginBox) and box not in top]
    notes = [box for box in children if isinstance(box, boxes.FootnoteAreaBox)]
    flow = [box for box in children if not isinstance(box, (boxes.MarginBox, boxes.FootnoteAreaBox))]
    lines = []
    for area in (*top, *flow, *notes, *margins):
        for line in line_boxes(area):
            text = "".join(
                box.text
                for box in descendants(line)
                if isinstance(box, boxes.TextBox) and box.style["visibility"] == "visible"
            )
            if text.strip():
                lines.append(text)
    return lines


def page_bookmarks(document: Document, count: int) -> list[list[Any]]:
    """[page, level, label, x, y] of every bookmark, in PDF points (as WeasyPrint writes them)."""
    found = []
    for number, page in enumerate(document.pages[:count]):
        for level, label, (x, y), _state in page.bookmarks:
            found.append([number, level, label, round(x * 0.75, 3), round((page.height - y) * 0.75, 3)])
    return found


def segment_body(elements: list[Any]) -> str:
    """The segment's body as laid out (its footnote breaks in style attributes), without the end marker."""
    from xml.etree import ElementTree

    body = next(element for element in elements if element.tag == "body")
    parts = [
        ElementTree.tostring(child, encoding="unicode", method="html")
        for child in body
        if "segment-end" not in (child.get("class") or "")
    ]
    return "".join(parts)


Lay = Callable[[frozenset[int]], tuple["Document", list[Any]]]


def lay_out_segment(
    lay: Lay,
    max_passes: Callable[[], int] = lambda: MAX_PASSES,
    watch: Callable[[Document, list[Any]], None] | None = None,
    last_page: int | None = None,
) -> tuple[Document, list[Any], frozenset[int], int]:
    """Lay the segment out until its footnotes stay with their calls (or `max_passes()`, asked after the first
    pass); the breaks depend only on the segment's HTML, so a cached layout is the one a clean build would make.
    Each pass mends the first page of each text where a note is separated from its call (before `last_page`, if
    given). `watch` sees every pass's layout."""
    breaks: frozenset[int] = frozenset()
    passes = 0
    while True:
        passes += 1
        document, elements = lay(breaks)
        if watch is not None:
            watch(document, elements)
        anchors = {name: page - 1 for name, page in anchor_pages(document).items()}
        separated, _totals = segments.measure(anchors)
        first = {}
        for slug, _number, call, _text in separated:
            if last_page is None or call < last_page:
                first.setdefault(slug, call + 1)
        new = breaks | footnote_breaks(document, elements, set(first.values()))
        if new == breaks or passes >= max_passes():
            return document, elements, breaks, passes
        breaks = frozenset(new)


def measure_segment(
    name: str, document: Document, elements: list[Any], breaks: frozenset[int], passes: int, count: int
) -> tuple[segments.Result, set[int]]:
    """What a layout of `count` pages measured (segments.Result, its body left for the caller), and the links the
    screen PDF colours."""
    anchors = {anchor: page - 1 for anchor, page in anchor_pages(document).items()}
    separated, totals = segments.measure(anchors)
    result = segments.Result(
        name=name,
        pages=count,
        anchors=anchors,
        folios=[has_folio(page) for page in document.pages[:count]],
        bookmarks=page_bookmarks(document, count),
        breaks=sorted(breaks),
        separated=separated,
        footnotes=totals,
        short_pages=sorted(n - 1 for n in short_pages(document, elements, breaks)),
        passes=passes,
        body="",
        elements=len(elements),
    )
    parents = parent_map(elements)
    links = screen_links(elements, parents)
    result.stamps = number_stamps(document, count, links, parents)
    result.lines = [page_lines(page) for page in document.pages[:count]]
    return result, links


def render_segment(job: segments.Job, reuse: bool = True) -> segments.Result:
    """A worker's job: lay out one segment, measure it, and write its PDFs (screen and print) from that layout.
    A segment laid out before with the same style and code resumes where its text first changed (resume.py), and
    with `reuse` takes the previous layout's pages after the change when they are the same."""
    from anthology.render.print import resume

    if job.previous:
        resumed = resume.render_resumed(job, reuse)
        if resumed is not None:
            return resumed
    project = Project(Path(job.book_dir), Path(job.styles_dir), Path(job.folder))
    folder = Path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    from anthology.render.print.engine import weasyprint_warnings

    watch = resume.OpeningWatch()
    with weasyprint_warnings() as warnings:
        lay: Lay = lambda breaks: layout(job.segment.html, project, PRINT, breaks)  # noqa: E731
        document, elements, breaks, passes = lay_out_segment(lay, watch=watch)
        count = len(document.pages) - (0 if job.segment.last else 1)
        result, links = measure_segment(job.segment.name, document, elements, breaks, passes, count)
        result.body = segment_body(elements)
        result.openings = watch.openings(breaks, count)
        write_segment(document, job, folder, links)
        result.warnings = list(dict.fromkeys(m for m in warnings if not m.startswith(IGNORED_WARNINGS)))
    result.save(folder)
    return result


def write_segment(document: Document, job: segments.Job, folder: Path, links: set[int], prefix: str = "") -> None:
    """The printer's PDF (nothing interactive, the links' text marked) and the links and destinations the reader's
    is derived with (segments.derive_screen): WeasyPrint writes one PDF per layout. `prefix` names the files of a
    resumed layout's pages."""
    interactive = screen.interactive_parts(document)
    strip_interactive(document)
    fix_document_id(document, job.options["print"]["document_id"])
    with screen.marking_links(screen.link_text_boxes(document, links)):
        document.write_pdf(folder / f"{prefix}print.pdf", **write_options(job.options["print"]))
    if "screen" in job.variants:
        segments.save_links(folder, prefix, interactive)


# ---- The book: segments laid out in parallel, page numbers settled, PDFs merged ---------------------------------

FOLIO_CSS = """
@page { @bottom-center { content: counter(page); } }
html, body { margin: 0; padding: 0; }
.folio-page { break-before: page; height: 1pt; }
.folio-page:first-child { break-before: auto; }
.no-folio { page: no-folio; }
.folio-page { position: relative; }
.folio-page span { white-space: pre; margin: 0; padding: 0; text-indent: 0; }
@page no-folio { @bottom-center { content: none; } }
"""


def fingerprint(resolved: ResolvedBook, project: Project) -> str:
    """What a segment's or folio document's layout depends on besides its HTML: the style files (CSS, fonts, ICC
    profile), the book's files that are not text (images), the book's configuration, every file of the pipeline's
    package and the pinned tools (manifest.code_key: derived, so no module can be left out), and pandoc."""
    digest = hashlib.sha256(manifest.code_key().encode())
    digest.update(pandoc.pandoc_identity().encode())
    files = sorted(p for p in project.styles_dir.rglob("*") if p.is_file() and "templates" not in p.parts)
    files += sorted(p for p in project.book_dir.rglob("*") if p.is_file() and p.suffix not in (".md", ".yaml", ".txt"))
    for path in files:
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps(resolved.book.config.model_dump(mode="json"), sort_keys=True).encode())
    return digest.hexdigest()


def cache_folder(project: Project, slug: str) -> Path:
    """The print layout's cache of one book in its output folder (pages.json, segments/, the folio documents,
    book-print.html): named by the book's slug and its folder's resolved path, so that books sharing an output
    folder never read each other's layouts."""
    where = hashlib.sha256(str(project.book_dir.resolve()).encode()).hexdigest()[:12]
    return project.build_dir / ".cache" / "print" / f"{slug}-{where}"


@dataclass
class Layout:
    """The book as laid out: each segment's result, where it starts, and every anchor's page (1-based)."""

    results: list[segments.Result]
    starts: list[int]
    pages: dict[str, int]
    total: int


def compose(results: list[Any]) -> Layout:
    """The book's pages from its segments' (results as laid out, or guesses)."""
    starts, pages, page = [], {}, 1
    for result in results:
        starts.append(page)
        for anchor, local in result.anchors.items():
            pages.setdefault(anchor, page + local)
        page += result.pages
    return Layout(results, starts, pages, page - 1)


class SegmentRenderer:
    """Lays segments out in worker processes, each once: a segment whose job was done before (same HTML, same
    style and code) is read from the cache."""

    def __init__(self, resolved: ResolvedBook, project: Project, pool: Any, progress: Any):
        config = resolved.book.config
        # Both PDFs are made from every final layout, whichever the build asked for: the cache then serves
        # `invoke pdf` and `invoke build` alike (the screen PDF is derived from the printer's, in a moment).
        self.project, self.variants, self.pool, self.progress = project, ("print", "screen"), pool, progress
        self.cache = cache_folder(project, config.slug) / "segments"
        self.fingerprint = fingerprint(resolved, project)
        self.options = {PRINT.name: variant_options(config, PRINT)}  # the screen PDF is derived, not written
        self.used: set[str] = set()
        self.folder_of: dict[str, Path] = {}
        # Each segment's last layout in this folder, by name (pages.json, when made with this style and code):
        # a segment laid out again resumes where its text changed (resume.py).
        self.previous: dict[str, Path] = {}
        self.laid_out = 0
        self.deriving: dict[Path, Any] = {}  # each screen PDF being derived: the future of its job
        self.exact = exact_page_texts(resolved)
        self.folio_jobs: dict[str, Any] = {}  # each folio document being laid out, by its key: its job's future
        self.ahead: set[str] = set()  # the keys of those laid out before the book's layout was final
        # The folio documents' files as the last build left them: one changed since is laid out again.
        self.folio_digests = recorded_folios(self.cache.parent)

    def derive_screens(self, job: segments.Job, result: segments.Result) -> None:
        """A layout's screen PDFs, derived by the pool's screen process where they are not yet (once each)."""
        folder = Path(job.folder)
        for prefix in segments.underived(folder, result):
            if folder / f"{prefix}screen.pdf" not in self.deriving:
                self.deriving[folder / f"{prefix}screen.pdf"] = self.pool.derive(job.folder, prefix)

    def screens_derived(self) -> None:
        for future in self.deriving.values():
            future.result()

    def share_derivations(self) -> None:
        """The screen PDFs still waiting for the screen process, given to the workers too once they have their last
        layouts: the screen process, which yields the cores to the layout, is left with a queue at its end, and the
        screen PDF's merge waits for it."""
        for path, future in self.deriving.items():
            if future.cancel():  # not started
                prefix = path.name.removesuffix("screen.pdf")
                self.deriving[path] = self.pool.submit(segments.derive_screen, str(path.parent), prefix)

    def job(self, segment: segments.Segment) -> segments.Job:
        key = segments.job_key(segment, self.fingerprint)
        previous = self.previous.get(segment.name)
        return segments.Job(
            key,
            segment,
            str(self.cache / key),
            str(self.project.styles_dir.resolve()),
            str(self.project.book_dir.resolve()),
            self.variants,
            self.options,
            str(previous) if previous is not None and previous != self.cache / key else "",
        )

    def folio(self, html: str) -> tuple[str, dict[str, Path]]:
        """A folio document's key and files by variant, its layout given to the workers unless the files were made
        before (it is laid out again only when what it prints, the page design or this code change) or it is being
        laid out (ahead: speculate_folios)."""
        key = hashlib.sha256(f"{html}/{self.fingerprint}".encode()).hexdigest()[:16]
        paths = {variant: self.cache.parent / f"folios-{variant}-{key}.pdf" for variant in (PRINT.name, SCREEN.name)}
        if key not in self.folio_jobs and not all(self.folio_intact(path) for path in paths.values()):
            targets = {variant: str(path) for variant, path in paths.items()}
            self.folio_jobs[key] = self.pool.submit(overlay_job, html, self.project, targets)
        return key, paths

    def folio_intact(self, path: Path) -> bool:
        """Whether a folio document's file is the one a build wrote (a file changed or cut short since is made
        again)."""
        try:
            return self.folio_digests.get(path.name) == segments.file_digest(path)
        except OSError:
            return False

    def run(self, jobs: list[segments.Job], book: bool = False) -> list[segments.Result]:
        """The jobs' results, laid out or from the cache. `book`: the jobs are the whole book's segments, and the
        folio documents of those before the first laid out are laid out once the workers are free."""
        from concurrent.futures import FIRST_COMPLETED, Future, wait

        from anthology.render.print import resume  # it builds on this module

        results: dict[int, segments.Result] = {}
        pending: list[tuple[int, segments.Job]] = []
        # Longest first: the workers then finish together, not one waiting while the other lays out a long chapter.
        for index, job in sorted(enumerate(jobs), key=lambda item: -len(item[1].segment.html)):
            self.used.add(job.key)
            self.folder_of[job.segment.name] = Path(job.folder)
            found = segments.cached(Path(job.folder), job.variants)
            if found is not None:
                results[index] = found
                self.derive_screens(job, found)
            else:
                pending.append((index, job))
        self.progress(len(results), len(jobs))
        waiting: dict[Future, tuple[int, str]] = {}
        idle = len(pending) < self.pool.workers  # an edit: one segment, and a worker with nothing to do
        for index, job in pending:
            if idle and splittable(job):
                for role in ("head", "rest"):
                    waiting[self.pool.submit(segments.run_part, job, role)] = (index, role)
            else:
                waiting[self.pool.submit(segments.run, job)] = (index, "")
        if book:
            speculate_folios(self, [job.segment for job in jobs], results)
        parts: dict[int, dict[str, Any]] = {}
        while waiting:
            done, _ = wait(waiting, return_when=FIRST_COMPLETED)
            for future in done:
                index, role = waiting.pop(future)
                if role:
                    parts.setdefault(index, {})[role] = future.result()
                    if len(parts[index]) < 2:
                        continue
                    head, rest = parts[index]["head"], parts[index]["rest"]
                    joined = resume.join(jobs[index], head, rest)
                    if joined is None:  # the split's guess failed (or the pages after the edit moved, which a
                        # split's guess then rarely survives): the rest in one piece (no page to resume at: whole)
                        resume.discard(jobs[index], rest)
                        again = jobs[index] if head is not None else replace(jobs[index], previous="")
                        waiting[self.pool.submit(segments.run, again, False)] = (index, "")
                        continue
                    results[index] = joined
                else:
                    results[index] = future.result()
                self.derive_screens(jobs[index], results[index])
                self.laid_out += 1
                self.progress(len(results), len(jobs))
        ordered = [results[i] for i in range(len(jobs))]
        self.previous.update((job.segment.name, Path(job.folder)) for job in jobs)
        problems = [m for result in ordered for m in result.warnings]
        if problems:
            raise BuildError(
                [
                    Diagnostic("E040", f"WeasyPrint: {message}", file=self.project.styles_dir / "print.css")
                    for message in dict.fromkeys(problems)
                ]
            )
        return ordered


def splittable(job: segments.Job) -> bool:
    """Whether a segment's layout may resume, and split in two for two workers (resume.py): its previous layout
    is at hand with two pages to resume at."""
    previous = segments.cached(Path(job.previous), job.variants) if job.previous else None
    return previous is not None and len(previous.openings) >= 2


@dataclass
class Pages:
    """Where every anchor fell (1-based pages), the book's page count, and the count the gutter was set for."""

    anchors: dict[str, int]
    total: int
    page_count: int = 0
    fingerprint: str = ""  # of the style and code the segments were laid out with
    segments: dict[str, str] = field(default_factory=dict)  # each segment's cache entry, by name


def state_path(renderer: SegmentRenderer) -> Path:
    return renderer.cache.parent / "pages.json"


def previous_pages(renderer: SegmentRenderer) -> Pages | None:
    """The page numbers the last build of this folder settled on: the starting point of the next build, so that
    a segment whose text did not change has the HTML it had, and is not laid out again."""
    try:
        data = json.loads(state_path(renderer).read_text(encoding="utf-8"))
        pages = Pages(data["anchors"], data["total"], data["page_count"], data["fingerprint"], data["segments"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pages if valid_pages(pages) else None


def valid_pages(pages: Pages) -> bool:
    """Whether a pages.json read back has the form this code writes (a file edited or cut short is not used)."""
    return (
        all(isinstance(value, int) and not isinstance(value, bool) for value in (pages.total, pages.page_count))
        and isinstance(pages.fingerprint, str)
        and isinstance(pages.anchors, dict)
        and all(isinstance(page, int) and not isinstance(page, bool) for page in pages.anchors.values())
        and isinstance(pages.segments, dict)
        and all(isinstance(key, str) and re.fullmatch("[0-9a-f]{32}", key) for key in pages.segments.values())
    )


def first_pages(resolved: ResolvedBook, project: Project, renderer: SegmentRenderer) -> Pages:
    """The page numbers a book never built here starts from: every segment's pages guessed, then every segment
    laid out whose HTML does not depend on the numbers beyond their length, and their pages measured. The others
    (the index, whose ranges depend on the exact pages; the bibliography's page lists) wait for the measured pages,
    so that they are laid out once."""
    guesses = guess_book(resolved, project)
    guessed = compose(guesses)
    page_count = guessed.total
    # The index and the bibliography wait for the measured pages: not given the guessed ones (pandoc runs).
    parts = segments.split(print_html(resolved, project, guessed.pages, page_count, exact=False))
    exact = exact_page_texts(resolved)
    waits = [bool(part.ids & exact) for part in parts]

    ready = iter(renderer.run([renderer.job(part) for part, wait in zip(parts, waits, strict=True) if not wait]))
    measured = compose([guess if wait else next(ready) for guess, wait in zip(guesses, waits, strict=True)])
    return Pages(measured.pages, measured.total, page_count)


def guess_book(resolved: ResolvedBook, project: Project) -> list[Guess]:
    """Every segment's pages guessed from the book with no page numbers known: where every build's page numbers
    start (first_pages), and the page count every build's gutter is first set for."""
    return guess_segments(segments.split(print_html(resolved, project, {})))


def exact_page_texts(resolved: ResolvedBook) -> set[str]:
    """The anchors of the texts whose print form depends on the exact page numbers, not only on their length: a
    generated text whose print override is not positional (the index's ranges, the bibliography's page lists). A
    segment that holds one, laid out on guessed numbers, would only be laid out again."""
    return {
        resolved.texts[slug].anchor for slug, override in resolved.print_overrides.items() if not positional(override)
    }


def settle(resolved: ResolvedBook, project: Project, renderer: SegmentRenderer) -> tuple[Layout, list, int, bool]:
    """Lay the book out until the page numbers it prints are those it has, and the gutter fits the page count.

    It starts from the page numbers of the last build in this folder (or, for the first, from first_pages) and
    lays out again only the segments whose masked HTML changed (a number with more or fewer digits, an index
    range), until the book's HTML no longer changes. A segment whose numbers changed but kept their length is not
    laid out again: its numbers are printed at the merge."""
    start = previous_pages(renderer)
    if start is None:
        start = first_pages(resolved, project, renderer)
    else:
        if start.fingerprint == renderer.fingerprint:  # else the previous layouts are not this style's or code's
            renderer.previous = {name: renderer.cache / key for name, key in start.segments.items()}
        # The gutter is first set as a build of these sources in an empty folder sets it: it only ever widens
        # (below), so a page count kept from the last build could leave it wider than that build's.
        start.page_count = compose(guess_book(resolved, project)).total
        # An anchor new since the last build gets a page number of the right length until it is measured.
        parts = segments.split(print_html(resolved, project, start.anchors, start.page_count))
        if any(anchor not in start.anchors for part in parts for anchor in part.ids):
            start.anchors = compose(guess_segments(parts)).pages | start.anchors
    pages, total, page_count = start.anchors, start.total, start.page_count
    html = None
    settled = False
    for _round in range(MAX_ROUNDS):
        needed = minimum_gutter_in(total)
        if geometry_for(resolved.book.config, page_count).inner < needed * POINTS_PER_INCH - 0.01:
            page_count = total
        new_html = print_html(resolved, project, pages, page_count)
        if new_html == html:
            settled = True
            break
        html = new_html

        parts = segments.split(html)
        layout = compose(renderer.run([renderer.job(seg) for seg in parts], book=True))
        pages, total = layout.pages, layout.total
    if settled:
        state = {
            "anchors": pages,
            "total": total,
            "page_count": page_count,
            "fingerprint": renderer.fingerprint,
            "segments": {name: folder.name for name, folder in renderer.folder_of.items()},
        }
        state_path(renderer).write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    return layout, parts, page_count, settled


def page_rules(project: Project, sheet: str) -> str:
    """Only the style sheet's pages and fonts: the folio document has no text of the book to style, and matching
    every rule against each of its thousands of numbers made it as slow to lay out as a chapter."""
    import tinycss2

    rules = tinycss2.parse_stylesheet((project.styles_dir / sheet).read_text(encoding="utf-8"))
    kept = [r for r in rules if r.type == "at-rule" and r.lower_at_keyword in ("font-face", "page", "color-profile")]
    return tinycss2.serialize(kept)


# Pages of a folio document: the book's are cut into documents of about this many, laid out at once by the
# workers (a 190-page folio document took 2.3 s on one core, a 1,900-page one 27 s). Fixed, not the number of
# cores, so that the PDFs are the same on every machine.
OVERLAY_PAGES = 100


def folio_regions(parts: list[segments.Segment], exact: set[str]) -> list[tuple[int, int]]:
    """The segments (first, past the last) in up to three runs, which no folio document straddles: the last texts
    laid out (from the first that prints exact page numbers: the bibliography, the index), the segments before
    them that print a page of theirs (the contents), and the rest. The rest's folio documents can then be laid out
    while the last texts are (speculate_folios), the index alone at the end of a cold build."""
    late = next((i for i, part in enumerate(parts) if part.ids & exact), len(parts))
    later = {anchor for part in parts[late:] for anchor in part.ids}
    front = max((i + 1 for i, part in enumerate(parts[:late]) if later.intersection(part.targets)), default=0)
    return [(first, last) for first, last in ((0, front), (front, late), (late, len(parts))) if first < last]


def overlay_chunks(book: Layout, regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The segments (first, past the last) of each folio document: each region, segments of `book`, cut into
    documents of about OVERLAY_PAGES pages (no region, no document). A document starts where a segment does, on a
    recto with an odd page number, as the first page of a WeasyPrint document is a right-hand page."""
    ends = [*book.starts[1:], book.total + 1]  # the page after each segment
    chunks: list[tuple[int, int]] = []
    for first, last in regions:
        if not 0 <= first < last <= len(book.starts):
            raise ValueError(f"folio region {first}-{last} is not within the {len(book.starts)} segments laid out")
        opening, pages = book.starts[first], ends[last - 1] - book.starts[first]
        count = max(1, round(pages / OVERLAY_PAGES))
        cuts = [first]
        for number in range(1, count):
            wanted = opening + pages * number / count
            rectos = [i for i in range(cuts[-1] + 1, last) if book.starts[i] % 2 == 1]
            if rectos:
                cuts.append(min(rectos, key=lambda i: abs(book.starts[i] - wanted)))
        cuts.append(last)
        chunks += itertools.pairwise(cuts)
    return chunks


def overlay_html(parts: list[segments.Segment], book: Layout, project: Project, chunk: tuple[int, int]) -> str:
    """A document of the pages of the segments in `chunk` with nothing but the folios and the page numbers the
    segments left room for (segments.py): the same page rules, font and margins (mirrored on versos), the page
    counter counting from the chunk's first page, each number where its segment's layout put it, in the type it
    was laid out in; the numbers that are links are marked `data-link` (blue in the screen PDF)."""
    first, last = chunk
    opening = book.starts[first]  # the page counter's value on the document's first page
    head = parts[0].html.split("<body>")[0].replace("</head>", f"<style>{FOLIO_CSS}</style></head>")
    head = re.sub(
        r'<link rel="stylesheet" href="([^"]+)">', lambda m: f"<style>{page_rules(project, m[1])}</style>", head
    )
    results = book.results[first:last]
    flags = [carries for result in results for carries in result.folios]
    stamps: list[list[str]] = [[] for _ in flags]
    types: dict[str, str] = {}  # a class per distinct type: a few rules, not a style sheet per number
    for part, start, result in zip(parts[first:last], book.starts[first:last], results, strict=True):
        for index, page, x, y, width, css, link in result.stamps:
            name = types.setdefault(css, f"t{len(types)}")
            where = f"left: {x}px; top: {y}px; width: {width}px"
            marked = ' data-link=""' if link else ""
            number = part.numbers[index]
            stamps[start - opening + page].append(f'<span class="{name}"{marked} style="{where}">{number}</span>')
    rules = "".join(f".{name} {{ position: absolute; {css} }}\n" for css, name in types.items())
    if opening > 1:
        rules += OPENING_CSS.replace("OPENING", str(opening))
    head = head.replace("</head>", f"<style>{rules}</style></head>")
    pages = [
        f'<div class="folio-page{"" if carries else " no-folio"}">{"".join(numbers)}</div>'
        for carries, numbers in zip(flags, stamps, strict=True)
    ]
    if opening > 1 and pages:
        named = "opening" if flags[0] else "opening-no-folio"
        pages[0] = pages[0].replace("<div ", f'<div style="page: {named}" ', 1)
    return f"{head}<body>{''.join(pages)}</body></html>"


OPENING_CSS = """
@page opening { counter-reset: page OPENING; }
@page opening-no-folio { counter-reset: page OPENING; @bottom-center { content: none; } }
"""


def overlay_job(html: str, project: Project, targets: dict[str, str]) -> list[str]:
    """A worker's job: lay out a folio document, write it for the printer and derive the reader's copy. Returns
    WeasyPrint's warnings; a document it warned about is not kept (the build stops on them, and the next build
    lays the document out again)."""
    from anthology.render.print.engine import weasyprint_warnings

    with weasyprint_warnings() as messages:
        document, elements = layout(html, project, PRINT)
        links = {id(element) for element in elements if element.get("data-link") is not None}
        marked = screen.marking_links(screen.link_text_boxes(document, links))
        with atomic_file(Path(targets[PRINT.name])) as temporary, marked:
            document.write_pdf(temporary)
        with atomic_file(Path(targets[SCREEN.name])) as temporary:
            screen.derive(Path(targets[PRINT.name]), temporary)
    problems = list(dict.fromkeys(m for m in messages if not m.startswith(IGNORED_WARNINGS)))
    if problems:
        for target in targets.values():
            Path(target).unlink(missing_ok=True)
    return problems


FOLIO_DIGESTS = "folios.json"


def recorded_folios(folder: Path) -> dict[str, str]:
    """The digest of each folio document's file by name, as the last build recorded them ({} if unreadable)."""
    try:
        data = json.loads((folder / FOLIO_DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    valid = isinstance(data, dict) and all(isinstance(v, str) for v in data.values())
    return data if valid else {}


def record_folios(folder: Path, paths: set[Path]) -> None:
    with atomic_file(folder / FOLIO_DIGESTS) as temporary:
        digests = {path.name: segments.file_digest(path) for path in sorted(paths)}
        temporary.write_text(json.dumps(digests, sort_keys=True), encoding="utf-8")


def numbers_known(part: segments.Segment, pages: dict[str, int]) -> bool:
    """Whether every page number the segment prints is the page its anchor has in `pages`."""
    return len(part.targets) == len(part.numbers) and all(
        str(pages.get(target)) == number for number, target in zip(part.numbers, part.targets, strict=True)
    )


def speculate_folios(renderer: SegmentRenderer, parts: list[segments.Segment], known: dict[int, Any]) -> None:
    """The folio documents of the segments before the first being laid out (the segments `known` come from the
    cache), given to the workers after the round's segments: they take them as they come free. Only a document
    whose every number is already the page of its anchor is laid out ahead; it is used when the book's final
    layout asks for that very document (lay_out_folios), as it then does unless a page count changed."""
    settled = next((index for index in range(len(parts)) if index not in known), len(parts))
    if settled == len(parts):
        return
    book = compose([known[index] for index in range(settled)])
    regions = [region for region in folio_regions(parts, renderer.exact) if region[1] <= settled]
    for chunk in overlay_chunks(book, regions):
        if all(numbers_known(part, book.pages) for part in parts[chunk[0] : chunk[1]]):
            key, _paths = renderer.folio(overlay_html(parts, book, renderer.project, chunk))
            if key in renderer.folio_jobs:
                renderer.ahead.add(key)


def lay_out_folios(
    renderer: SegmentRenderer, parts: list[segments.Segment], book: Layout, project: Project
) -> tuple[dict[str, list[Path]], int, int]:
    """The folio documents by variant, in page order, laid out by the workers where they are not cached: the
    build's last layout. Also how many were laid out, and how many of those ahead (speculate_folios)."""
    overlays: dict[str, list[Path]] = {PRINT.name: [], SCREEN.name: []}
    used: set[str] = set()
    for chunk in overlay_chunks(book, folio_regions(parts, renderer.exact)):
        key, paths = renderer.folio(overlay_html(parts, book, project, chunk))
        used.add(key)
        for variant, path in paths.items():
            overlays[variant].append(path)
    renderer.share_derivations()
    for key, job in renderer.folio_jobs.items():
        if key not in used:
            job.cancel()  # laid out ahead for pages that have changed since: unless it has started
    problems: list[str] = []
    for job in renderer.folio_jobs.values():
        if not job.cancelled():
            problems += job.result()  # before the folder is pruned: a job still running would write into it
    if problems:
        raise BuildError(
            [
                Diagnostic("E040", f"WeasyPrint: {message}", file=project.styles_dir / "print.css")
                for message in dict.fromkeys(problems)
            ]
        )
    kept = {path for paths in overlays.values() for path in paths}
    for old in renderer.cache.parent.glob("folios-*.pdf"):
        if old not in kept:
            old.unlink()
    record_folios(renderer.cache.parent, kept)
    laid_out = used & renderer.folio_jobs.keys()
    return overlays, len(laid_out), len(laid_out & renderer.ahead)


def write_book(
    renderer: SegmentRenderer,
    parts: list[segments.Segment],
    book: Layout,
    overlays: dict[str, list[Path]],
    targets: dict[str, Path],
) -> None:
    """Each variant's segments merged, with the folios stamped on, the result moved into place only when complete.
    The printer's PDF is merged here and the screen PDF, at the same time, by the screen process once its pieces
    are derived: two processes, the workers ended. (In the workers, beside what WeasyPrint leaves in them, two
    merges at once took a 50-chapter book's build past 3 GB.)"""
    from anthology.render.print import merge

    drawn = [carries for result in book.results for carries in result.folios]  # pages the overlay draws on
    for start, result in zip(book.starts, book.results, strict=True):
        for stamp in result.stamps:
            drawn[start - 1 + stamp[1]] = True
    with ExitStack() as files_in_place:
        beside = []
        for variant in [variant for variant in (SCREEN, PRINT) if variant.name in targets]:
            files = [
                merge.Part(renderer.folder_of[seg.name] / f"{prefix}{variant.name}.pdf", start, stop)
                for seg, result in zip(parts, book.results, strict=True)
                for prefix, start, stop in result.pieces()
            ]
            temporary = files_in_place.enter_context(atomic_file(targets[variant.name]))
            if variant.interactive:
                renderer.screens_derived()  # by the screen process and, at the end, the workers too
                bookmarks = [
                    [start - 1 + page, level, label, x, y]
                    for start, result in zip(book.starts, book.results, strict=True)
                    for page, level, label, x, y in result.bookmarks
                ]
                beside.append(renderer.pool.merge(files, overlays[variant.name], drawn, temporary, bookmarks))
            else:
                merge.merge(files, overlays[variant.name], drawn, temporary)
        for job in beside:
            job.result()


def book_pages(book: Layout) -> list[pagemap.PrintPage]:
    """Every page of the book with its folio (the overlay prints the page counter, from 1 on the first page, on the
    pages that carry one) and its lines of text. Every segment's result has them: a cached one was made by this
    code, which is part of its key."""
    pages: list[pagemap.PrintPage] = []
    for result in book.results:
        for carries, lines in zip(result.folios, result.lines, strict=True):
            index = len(pages)
            pages.append(pagemap.PrintPage(index, str(index + 1) if carries else None, tuple(lines)))
    return pages


def typesetting_report(book: Layout, project: Project, page_count: int, config: BookConfig) -> Typesetting:
    geometry = geometry_for(config, page_count)
    report = Typesetting("print", book.total, geometry.inner / POINTS_PER_INCH, minimum_gutter_in(book.total), passes=1)
    for start, result in zip(book.starts, book.results, strict=True):
        report.passes = max(report.passes, result.passes)
        for slug, total in result.footnotes.items():
            report.footnotes_total[slug] = total
        for slug, number, call, text in result.separated:
            where = [number, start + call, start + text if text >= 0 else 0]
            report.footnotes_separated.setdefault(slug, []).append(where)
        report.short_pages += [start + page for page in result.short_pages]
    return report


def check_gutter(report: Typesetting, project: Project) -> None:
    if report.gutter_in < report.minimum_gutter_in - 0.001:
        raise BuildError(
            [
                Diagnostic(
                    "E042",
                    f"the gutter does not reach the printer's minimum of {report.minimum_gutter_in} in "
                    f"for {report.pages} pages",
                    file=project.styles_dir / "print.css",
                    hint="the page count changed with the gutter; widen the design's inner margin (DESIGN_MARGINS_IN)",
                )
            ]
        )


def render_pdfs(
    resolved: ResolvedBook,
    project: Project,
    targets: dict[str, Path],
    pool: Any,
    progress: Any = None,
    console: Console | None = None,
    on_pages: Callable[[list[pagemap.PrintPage]], None] | None = None,
) -> dict[str, Path]:
    """The print and screen PDFs (`targets` by variant name: "print", "screen") from one layout of the book.
    `on_pages` receives the book's pages (folios and lines of text) as soon as the layout is final, before the PDFs
    are written: the EPUB's page list is made from them meanwhile."""
    progress = progress or (lambda done, total: None)
    renderer = SegmentRenderer(resolved, project, pool, progress)

    book, parts, page_count, settled = settle(resolved, project, renderer)
    report = typesetting_report(book, project, page_count, resolved.book.config)
    report.settled = settled
    report.segments_laid_out = renderer.laid_out
    check_gutter(report, project)
    pages = book_pages(book)
    if on_pages is not None:
        on_pages(pages)
    overlays, report.folio_documents_laid_out, report.folio_documents_ahead = lay_out_folios(
        renderer, parts, book, project
    )
    pool.retire()  # the last layout is done: the workers' memory goes back before the merges and the EPUB's pandoc
    write_book(renderer, parts, book, overlays, targets)
    renderer.screens_derived()  # for a build without the screen PDF too: its cache entries complete
    whole = renderer.cache.parent / "book-print.html"
    whole.write_text(segments.whole_book(parts, [r.body for r in book.results]), encoding="utf-8")
    if PRINT.name in targets:
        pagemap.save_print_pages(targets[PRINT.name], pages)
    segments.prune(renderer.cache, renderer.used)
    report.variant = " and ".join(targets)
    for target in targets.values():
        with atomic_file(report_path(target)) as temporary:
            temporary.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    report_typesetting(report, resolved, console)
    return targets
