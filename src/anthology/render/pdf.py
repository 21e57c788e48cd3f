"""Print edition: one HTML document for the whole book, laid out by WeasyPrint into the PDF."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import URLFetcher

from .. import pandoc
from ..diagnostics import BuildError, Diagnostic
from ..resolve import ResolvedBook, ResolvedText
from .common import Project, atomic_file, jinja_environment, notes_to_footnote_spans


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


def text_fragment(item: ResolvedText) -> str:
    ast = dict(item.ast, blocks=notes_to_footnote_spans(item.blocks))
    return pandoc.ast_to_html(ast, source=item.text.path)


def print_html(resolved: ResolvedBook, project: Project, pages: dict[str, int] | None = None) -> str:
    """The whole book as one HTML document for WeasyPrint; with `pages`, generated texts take their print form."""
    config = resolved.book.config
    width, height = config.trim_size
    fragments = {slug: text_fragment(item) for slug, item in resolved.texts.items()}
    if pages is not None:
        for slug, override in resolved.print_overrides.items():
            item = resolved.texts[slug]
            fragments[slug] = text_fragment(ResolvedText(item.text, dict(item.ast, blocks=override(pages)), []))
    template = jinja_environment(project).get_template("print.html.j2")
    return template.render(
        book=resolved.book,
        config=config,
        fragments=fragments,
        page_width=f"{width}pt",
        page_height=f"{height}pt",
    )


def anchor_pages(document: Document) -> dict[str, int]:
    """The 1-based page number of every anchor (id) in a laid-out document."""
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    return pages


# WeasyPrint messages that are expected and harmless for our documents.
IGNORED_WARNINGS = ("Ignored `text-align-last",)


def layout(html: str, project: Project) -> Document:
    fetcher = ConfinedFetcher([project.styles_dir, project.book_dir])
    return HTML(string=html, base_url=str(project.styles_dir.resolve()) + "/", url_fetcher=fetcher).render()


def render_pdf(resolved: ResolvedBook, project: Project, target: Path) -> Path:
    """Lay out the book; when generated texts need page numbers (the index), lay it out again with them."""
    with weasyprint_warnings() as warnings, atomic_file(target) as temporary:
        document = layout(print_html(resolved, project), project)
        if resolved.print_overrides:
            document = layout(print_html(resolved, project, anchor_pages(document)), project)
        document.write_pdf(temporary)
        problems = [message for message in warnings if not message.startswith(IGNORED_WARNINGS)]
        if problems:
            raise BuildError(
                [
                    Diagnostic("E040", f"WeasyPrint: {message}", file=project.styles_dir / "print.css")
                    for message in problems
                ]
            )
    return target
