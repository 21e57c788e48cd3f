"""Print edition: one HTML document for the whole book, laid out by WeasyPrint into two PDFs.

`build/<slug>.pdf` is for the printer (PDF/X with a CMYK output intent, black text, no links, annotations or
bookmarks); `build/<slug>-screen.pdf` is for reading (sRGB, live links, bookmarks, metadata). Both come from the
same HTML, so they have the same pages. The layout is measured as it is made: the gutter must meet the printer's
minimum for the final page count, and footnotes that land on another page than their call are counted.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from rich.console import Console
from weasyprint import CSS, HTML
from weasyprint.css import ColorProfile
from weasyprint.document import Document
from weasyprint.formatting_structure import boxes
from weasyprint.urls import URLFetcher

from .. import pandoc
from ..ast import Node, span, transform_lists
from ..config import POINTS_PER_INCH, BookConfig
from ..diagnostics import BuildError, Diagnostic
from ..load import Chapter, PartModel, Text
from ..preflight import minimum_gutter_in
from ..resolve import ResolvedBook, ResolvedText, book_id
from .common import Project, atomic_file, flatten_blocks, jinja_environment, source_date_epoch

# The page design's margins in inches; the gutter grows to the printer's minimum when the page count needs it.
DESIGN_MARGINS_IN = {"top": 0.8, "bottom": 0.8, "inner": 0.75, "outer": 0.6}
ICC_PROFILE = "icc/GRACoL_TR006_coated.icc"
FOOTNOTE_CALL = "fncall"
FOOTNOTE_TEXT = "fn"


class ConfinedFetcher(URLFetcher):
    """WeasyPrint may read only files inside the allowed folders and data: URLs; the network is never reached."""

    def __init__(self, allowed: list[Path]):
        super().__init__(allowed_protocols={"file", "data"})
        self.allowed = [folder.resolve() for folder in allowed]

    def fetch(self, url: str, headers: dict | None = None):  # type: ignore[no-untyped-def]
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path)).resolve()
            if not any(path.is_relative_to(folder) for folder in self.allowed):
                raise ValueError(f"reading {path} is not allowed: only files in the book and styles folders")
        elif parsed.scheme != "data":
            raise ValueError(f"fetching {url} is not allowed: the build never uses the network")
        return super().fetch(url, headers)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def weasyprint_warnings() -> Iterator[list[str]]:
    """Collect WeasyPrint's warnings (a missing font or a refused URL must not pass silently)."""
    logger = logging.getLogger("weasyprint")
    handler = _Collect()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


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
SCREEN = Variant(
    "screen",
    "html { color: #000000; }\n"
    "a.xref, .matter-body a[href], .chapter-body a[href^='#'] { color: #1f3a6e !important; }\n",
    interactive=True,
)


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
        result: list[Any] = []
        for item in items:
            if isinstance(item, dict) and item.get("t") == "Note":
                counter += 1
                call, text = footnote_ids(slug, counter)
                result += [span([], ident=call), span(flatten_blocks(item["c"]), ident=text, classes=["footnote"])]
            else:
                result.append(item)
        return result

    return transform_lists(copy.deepcopy(blocks), convert)


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
    resolved: ResolvedBook, project: Project, pages: dict[str, int] | None = None, page_count: int = 0
) -> str:
    """The whole book as one HTML document for WeasyPrint; with `pages`, generated texts take their print form."""
    config = resolved.book.config
    fragments = {slug: text_fragment(item) for slug, item in resolved.texts.items()}
    if pages is not None:
        for slug, override in resolved.print_overrides.items():
            fragments[slug] = text_fragment(resolved.texts[slug], override(pages))
    environment = jinja_environment(project)
    environment.filters["sentence"] = sentence
    authors = sorted({a for chapter in resolved.book.chapters for a in chapter.chapter_meta.authors})
    return environment.get_template("print.html.j2").render(
        book=resolved.book,
        config=config,
        fragments=fragments,
        page=geometry_for(config, page_count),
        heads=RunningHeads(config),
        editors=", ".join(editor.name for editor in config.editors),
        description=config.subtitle or config.title,
        keywords=", ".join(authors),
        timestamp=iso_timestamp(resolved),
    )


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
    profiles: dict[str, Any] = {}
    return CSS(string=variant.css, base_url=base, url_fetcher=fetcher, color_profiles=profiles), profiles


def layout(
    html: str, project: Project, variant: Variant = PRINT, breaks: frozenset[int] = frozenset()
) -> tuple[Document, list[Any]]:
    """Lay out the HTML; `breaks` are elements (by document order) that must start a new page. Returns the
    document and the parsed elements in document order, which the layout's boxes point to."""
    fetcher = ConfinedFetcher([project.styles_dir, project.book_dir])
    base = str(project.styles_dir.resolve()) + "/"
    stylesheet, profiles = layout_css(variant, base, fetcher)
    parsed = HTML(string=html, base_url=base, url_fetcher=fetcher)
    elements = list(parsed.etree_element.iter())
    for index in breaks:
        style = elements[index].get("style")
        elements[index].set("style", f"{style}; break-before: page" if style else "break-before: page")
    return parsed.render(stylesheets=[stylesheet], color_profiles=profiles), elements


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

    @property
    def separated_count(self) -> int:
        return sum(len(numbers) for numbers in self.footnotes_separated.values())


def measure_footnotes(resolved: ResolvedBook, pages: dict[str, int], report: Typesetting) -> None:
    """Count, per text, footnotes whose text is on another page than the call (WeasyPrint bugs #1564, #2502)."""
    for slug in resolved.texts:
        number = 0
        while True:
            call, text = footnote_ids(slug, number + 1)
            if call not in pages:
                break
            number += 1
            if pages.get(text) != pages[call]:
                where = [number, pages[call], pages.get(text, 0)]
                report.footnotes_separated.setdefault(slug, []).append(where)
        if number:
            report.footnotes_total[slug] = number


def flow_lines(page: Any) -> Iterator[Any]:
    """The line boxes of a page's main flow (not its footnote area or margin boxes), in order."""

    def walk(box: Any) -> Iterator[Any]:
        if isinstance(box, boxes.LineBox):
            yield box
        elif not isinstance(box, (boxes.FootnoteAreaBox, boxes.MarginBox)):
            for child in getattr(box, "children", []):
                yield from walk(child)

    yield from walk(page._page_box)


KEEP_WITH_NEXT = {"h1", "h2", "h3", "h4", "h5", "h6"}


def first_separations(report: Typesetting) -> set[int]:
    """The page of the first separated call in each text: a break there cannot be misplaced, since the text's
    earlier pages are laid out the same in the next pass (a break shifts only what follows it, and every text
    starts on a recto, so later texts keep their layout)."""
    return {min(where[1] for where in wheres) for wheres in report.footnotes_separated.values()}


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


# Each pass mends the first separated footnote of every text (a later one may move with it): a cap on build time.
MAX_PASSES = 6
_SETTLED: dict[str, tuple[dict[str, int] | None, frozenset[int], int]] = {}


def stable_anchors(resolved: ResolvedBook, pages: dict[str, int] | None) -> dict[str, int] | None:
    """The pages the print overrides depend on: every anchor before the first overridden text."""
    if pages is None:
        return None
    later = False
    excluded: list[str] = []
    for slug in resolved.texts:
        later = later or slug in resolved.print_overrides
        excluded += [slug] if later else []
    prefixes = tuple(f"{slug}--" for slug in excluded)
    return {a: n for a, n in pages.items() if a not in excluded and not a.startswith(prefixes)}


def laid_out(resolved: ResolvedBook, project: Project, variant: Variant) -> tuple[Document, Typesetting]:
    """Lay out the book until it settles: generated texts carry the pages of the previous layout, footnotes
    separated from their calls get a page break, and the gutter fits the page count.

    What settled is kept by the first layout's HTML digest, so the second variant needs one layout.
    """
    key = hashlib.sha256(print_html(resolved, project).encode()).hexdigest()
    settled = key in _SETTLED
    pages, breaks, page_count = _SETTLED.get(key, (None, frozenset(), 0))
    passes = 0
    while True:
        passes += 1
        document, elements = layout(print_html(resolved, project, pages, page_count), project, variant, breaks)
        geometry = geometry_for(resolved.book.config, page_count)
        needed = minimum_gutter_in(len(document.pages))
        report = Typesetting(variant.name, len(document.pages), geometry.inner / POINTS_PER_INCH, needed, passes)
        new_pages = anchor_pages(document)
        measure_footnotes(resolved, new_pages, report)
        new_breaks = breaks | footnote_breaks(document, elements, first_separations(report))
        gutter_ok = geometry.inner >= needed * POINTS_PER_INCH - 0.01
        overrides_ok = not resolved.print_overrides or stable_anchors(resolved, new_pages) == stable_anchors(
            resolved, pages
        )
        if settled or (gutter_ok and overrides_ok and new_breaks == breaks) or passes >= MAX_PASSES:
            break
        pages, breaks = new_pages, frozenset(new_breaks)
        page_count = page_count if gutter_ok else len(document.pages)
    if not gutter_ok:
        raise BuildError(
            [
                Diagnostic(
                    "E042",
                    f"the gutter does not reach the printer's minimum of {needed} in for {len(document.pages)} pages",
                    file=project.styles_dir / "print.css",
                    hint="the page count changed with the gutter; widen the design's inner margin (DESIGN_MARGINS_IN)",
                )
            ]
        )
    report.short_pages = sorted(short_pages(document, elements, breaks))
    _SETTLED.clear()
    _SETTLED[key] = (pages, breaks, page_count)
    return document, report


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


def write_options(resolved: ResolvedBook, variant: Variant) -> dict[str, Any]:
    """PDF writer options: PDF/X for the printer, a fixed file identifier for reproducible output."""
    config = resolved.book.config
    identifier = hashlib.sha256(f"{config.identifier}/{variant.name}".encode()).hexdigest()[:32].encode()
    options: dict[str, Any] = {"pdf_identifier": identifier}
    if not variant.interactive:
        options["pdf_variant"] = pdf_variant(config)
    else:
        options["output_intent"] = SCREEN_INTENT
    return options


SCREEN_INTENT = "screen-srgb"
RANDOM_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")


def fix_document_id(document: Document, resolved: ResolvedBook, variant: Variant) -> None:
    """A reproducible XMP DocumentID: WeasyPrint writes a random UUID into PDF/X-4 metadata (uuid4 in
    pdf/metadata.py), so two builds of the same sources would differ; ours is derived from the book's identifier."""
    stable = uuid.uuid5(uuid.NAMESPACE_URL, f"{resolved.book.config.identifier}/{variant.name}")
    generate = document.metadata.generate_rdf_metadata

    def generate_fixed(*args: Any) -> bytes:
        return RANDOM_DOCUMENT_ID.sub(f"xmp.did:{stable}".encode(), generate(*args))

    document.metadata.generate_rdf_metadata = generate_fixed


def add_srgb_profile(document: Document) -> None:
    """The screen PDF's sRGB output intent, from WeasyPrint's own sRGB profile.

    Registered under our own name with the file closed after reading: WeasyPrint's `output_intent="srgb"` opens
    the same profile and never closes it (a ResourceWarning at every build).
    """
    with (resources.files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as handle:
        document.color_profiles[SCREEN_INTENT] = ColorProfile(
            handle, "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"])
        )


def report_typesetting(report: Typesetting, resolved: ResolvedBook, console: Console | None = None) -> None:
    """Print what the layout measured: pages, gutter, and footnotes separated from their calls per chapter."""
    console = console or Console(stderr=True)
    console.print(
        f"       {report.variant} PDF: {report.pages} pages, gutter {report.gutter_in:.3f} in "
        f"(minimum {report.minimum_gutter_in} in); footnotes on another page than their call: "
        f"{report.separated_count} of {sum(report.footnotes_total.values())} (layout passes: {report.passes})",
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


def render_variant(resolved: ResolvedBook, project: Project, target: Path, variant: Variant) -> Path:
    with weasyprint_warnings() as warnings, atomic_file(target) as temporary:
        document, report = laid_out(resolved, project, variant)
        if not variant.interactive:
            strip_interactive(document)
        else:
            add_srgb_profile(document)
        fix_document_id(document, resolved, variant)
        document.write_pdf(temporary, **write_options(resolved, variant))
        problems = list(dict.fromkeys(m for m in warnings if not m.startswith(IGNORED_WARNINGS)))
        if problems:
            raise BuildError(
                [
                    Diagnostic("E040", f"WeasyPrint: {message}", file=project.styles_dir / "print.css")
                    for message in problems
                ]
            )
    with atomic_file(report_path(target)) as temporary:
        temporary.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    report_typesetting(report, resolved)
    return target


def render_pdf(resolved: ResolvedBook, project: Project, target: Path) -> Path:
    """The printer's PDF: PDF/X (book.yaml `pdf_variant`) with the bundled CMYK output intent."""
    return render_variant(resolved, project, target, PRINT)


def render_screen_pdf(resolved: ResolvedBook, project: Project, target: Path) -> Path:
    """The reader's PDF: sRGB, live links, bookmarks for parts, chapters and sections, document metadata."""
    return render_variant(resolved, project, target, SCREEN)
