"""Cover: a full-wrap cover PDF (back, spine, front) sized for the printed interior.

The spine's width comes from the final page count of the print PDF and the paper in book.yaml (KDP's figures per
page); 0.125 in of bleed surrounds the wrap; the spine carries text only from 79 pages (KDP's threshold); the
barcode area on the back (2 x 1.2 in, bottom right) is left clear for the printer's barcode.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from weasyprint import HTML

from anthology.atomic import atomic_file
from anthology.config import POINTS_PER_INCH, BookConfig
from anthology.diagnostics import BuildError, Diagnostic
from anthology.load import load_book
from anthology.model import Book, Project
from anthology.render.common import jinja_environment
from anthology.render.print.engine import ConfinedFetcher, weasyprint_warnings
from anthology.render.print.typeset import PRINT, layout_css

SPINE_IN_PER_PAGE = {"white": 0.002252, "cream": 0.0025}
BLEED_IN = 0.125
SAFE_IN = 0.25  # text stays this far inside the trim edges
SPINE_TEXT_MINIMUM_PAGES = 79
SPINE_MARGIN_IN = 0.0625  # KDP: spine text keeps this far from each fold
BARCODE_IN = (2.0, 1.2)


@dataclass(frozen=True)
class CoverGeometry:
    """The wrap in points, from the left bleed edge: back cover, spine, front cover."""

    trim_width: float
    trim_height: float
    spine: float
    bleed: float
    pages: int

    @property
    def width(self) -> float:
        return 2 * self.trim_width + self.spine + 2 * self.bleed

    @property
    def height(self) -> float:
        return self.trim_height + 2 * self.bleed

    @property
    def spine_left(self) -> float:
        return self.bleed + self.trim_width

    @property
    def front_left(self) -> float:
        return self.spine_left + self.spine

    @property
    def spine_text(self) -> bool:
        return self.pages >= SPINE_TEXT_MINIMUM_PAGES

    @property
    def safe(self) -> float:
        return SAFE_IN * POINTS_PER_INCH

    @property
    def barcode(self) -> tuple[float, float, float, float]:
        """The barcode area (x, y from the top-left of the wrap, width, height): bottom right of the back cover."""
        width, height = (value * POINTS_PER_INCH for value in BARCODE_IN)
        return (self.spine_left - self.safe - width, self.bleed + self.trim_height - self.safe - height, width, height)


def spine_width_in(pages: int, paper: str) -> float:
    """KDP's spine width: page count times the paper's thickness per page."""
    return pages * SPINE_IN_PER_PAGE[paper]


def cover_geometry(config: BookConfig, pages: int) -> CoverGeometry:
    width, height = config.trim_size
    spine = spine_width_in(pages, config.paper) * POINTS_PER_INCH
    return CoverGeometry(width, height, round(spine, 3), BLEED_IN * POINTS_PER_INCH, pages)


def interior_pages(pdf: Path) -> int:
    """The final page count, read from the built print PDF."""
    if not pdf.exists():
        raise BuildError(
            [
                Diagnostic(
                    "E041",
                    f"no print PDF at {pdf}: the spine's width needs the final page count",
                    file=pdf,
                    hint="run `invoke pdf` (or `invoke build`) first",
                )
            ]
        )
    return len(PdfReader(pdf).pages)


def cover_html(book: Book, geometry: CoverGeometry, project: Project) -> str:
    config = book.config
    return (
        jinja_environment(project)
        .get_template("cover.html.j2")
        .render(
            config=config,
            book=book,
            g=geometry,
            editors=", ".join(editor.name for editor in config.editors),
        )
    )


def render_cover(project: Project, pdf: Path, target: Path) -> CoverGeometry:
    """Write the cover PDF for the interior `pdf`; returns the geometry used."""
    book = load_book(project.book_dir)
    geometry = cover_geometry(book.config, interior_pages(pdf))
    fetcher = ConfinedFetcher([project.styles_dir, project.book_dir], project.restyled)
    base = str(project.styles_dir.resolve()) + "/"
    with weasyprint_warnings() as warnings, atomic_file(target) as temporary:
        stylesheet, profiles = layout_css(PRINT, base, fetcher)
        document = HTML(string=cover_html(book, geometry, project), base_url=base, url_fetcher=fetcher).render(
            stylesheets=[stylesheet], color_profiles=profiles
        )
        identifier = hashlib.sha256(f"{book.config.identifier}/cover".encode()).hexdigest()[:32].encode()
        document.write_pdf(temporary, pdf_variant=book.config.pdf_variant, pdf_identifier=identifier)
        if warnings:
            raise BuildError(
                [Diagnostic("E040", f"WeasyPrint: {m}", file=project.templates_dir / "cover.html.j2") for m in warnings]
            )
    return geometry


def cover_path(project: Project, slug: str) -> Path:
    return project.build_dir / f"{slug}-cover.pdf"
