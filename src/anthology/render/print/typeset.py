"""WeasyPrint's layout of a print document: the variants (printer's and reader's PDF), the layout call, the
forced breaks that keep footnotes with their calls, and the typesetting report written beside each PDF.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from anthology.atomic import atomic_file
from anthology.config import POINTS_PER_INCH, BookConfig, minimum_gutter_in
from anthology.diagnostics import BuildError, Diagnostic
from anthology.model import Project, ResolvedBook
from anthology.render.print import composition
from anthology.render.print.book_html import geometry_for
from anthology.render.print.measure import flow_lines
from anthology.render.print.page_plan import Layout
from anthology.render.print.patches import keep_footnotes_with_calls

if TYPE_CHECKING:  # WeasyPrint is imported by the workers alone: a second of every build's main process otherwise
    from weasyprint import CSS
    from weasyprint.document import Document
    from weasyprint.urls import URLFetcher


ICC_PROFILE = "icc/GRACoL_TR006_coated.icc"


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


# WeasyPrint messages that are expected and harmless for our documents.
IGNORED_WARNINGS = ("Ignored `text-align-last",)

# Where a WeasyPrint message places its problem (line:column of a style sheet or a style attribute), and the
# declaration it names.
WEASYPRINT_PLACE = re.compile(r" at (\d+):(\d+)")
WEASYPRINT_DECLARATION = re.compile(r"`([a-zA-Z-]+)\s*:")


def weasyprint_diagnostic(message: str, styles_dir: Path, source: Path) -> Diagnostic:
    """E040 for one WeasyPrint warning, blamed on what it is about: the line of styles/print.css it names when that
    line holds what it names, else the text whose HTML WeasyPrint was laying out (`source`: a style attribute,
    an image, an id of the text's)."""
    sheet = styles_dir / "print.css"
    place = WEASYPRINT_PLACE.search(message)
    if place is not None:
        line, column = int(place[1]), int(place[2])
        declared = WEASYPRINT_DECLARATION.search(message)
        try:
            lines = sheet.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        if 0 < line <= len(lines) and (declared is None or declared[1] in lines[line - 1]):
            hint = "fix this rule of the style sheet"
            return Diagnostic("E040", f"WeasyPrint: {message}", file=sheet, line=line, column=column, hint=hint)
    hint = "WeasyPrint refused part of this text's HTML (a style attribute, an image, an id): fix it in the text"
    return Diagnostic("E040", f"WeasyPrint: {message}", file=source, hint=hint)


def layout_css(variant: Variant, base: str, fetcher: URLFetcher) -> tuple[CSS, dict[str, Any]]:
    """The variant's style sheet and the colour profiles it declares (which the document must be given)."""
    from weasyprint import CSS

    profiles: dict[str, Any] = {}
    return CSS(string=variant.css, base_url=base, url_fetcher=fetcher, color_profiles=profiles), profiles


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
    fetcher = ConfinedFetcher([project.styles_dir, project.book_dir], project.restyled)
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
    # The pages as printed, measured from the PDF (check/typesetting.py): figures and each fault with its page.
    composition: dict[str, Any] = field(default_factory=dict)

    @property
    def separated_count(self) -> int:
        return sum(len(numbers) for numbers in self.footnotes_separated.values())


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
    With one, WeasyPrint 70 (pydyf 0.13) compresses every stream a second time to hash the file."""
    return {"pdf_identifier": False, "pdf_variant": options["pdf_variant"]}


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


def write_reports(
    report: Typesetting, targets: dict[str, Path], resolved: ResolvedBook, console: Console | None
) -> None:
    """The typesetting report written beside each PDF and printed: the same for the segmented and the plain path."""
    report.variant = " and ".join(targets)
    try:
        measured = measure_pages(targets.get(PRINT.name) or next(iter(targets.values())), resolved.book.config, report)
        report.composition, summary = measured.as_json(), measured.summary()
    except composition.Unreadable as error:  # the build's outputs stand; only the report lacks its figures
        report.composition, summary = {"error": str(error)}, f"not measured: {error}"
    for target in targets.values():
        with atomic_file(report_path(target)) as temporary:
            temporary.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    report_typesetting(report, resolved, console)
    (console or Console(stderr=True)).print(f"       as printed: {summary}", highlight=False, soft_wrap=True)


def measure_pages(pdf: Path, config: BookConfig, report: Typesetting) -> composition.Composition:
    """The pages as printed, read back from the PDF: the text area is the design's, lines outside it are running
    heads and folios."""
    geometry = geometry_for(config, report.pages)
    return composition.measure(pdf, geometry.top, geometry.height - geometry.bottom)


def report_path(target: Path) -> Path:
    """The JSON report written beside a PDF: <slug>.pdf → <slug>.pdf.json."""
    return target.with_name(target.name + ".json")


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
                    file=project.style_file("print.css"),
                    hint="the page count changed with the gutter; widen the design's inner margin (DESIGN_MARGINS_IN)",
                )
            ]
        )
