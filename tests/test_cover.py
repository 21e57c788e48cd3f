"""The full-wrap cover: sized from the built interior's page count and paper, bleed, spine text from 79 pages,
the barcode area left clear."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTContainer
from pypdf import PdfReader

from anthology.check.preflight import layout, pdfx
from anthology.check.preflight.colour import colour_findings
from anthology.model import Project
from anthology.render.print.cover import cover_geometry, render_cover, spine_width_in

STYLES = Path(__file__).resolve().parents[1] / "styles"


def chars(path: Path) -> list[LTChar]:
    found: list[LTChar] = []

    def visit(item) -> None:
        if isinstance(item, LTChar) and item.get_text().strip():
            found.append(item)
        elif isinstance(item, LTContainer):
            for child in item:
                visit(child)

    for page in extract_pages(str(path), laparams=None):
        visit(page)
    return found


def inside(char: LTChar, left: float, right: float, bottom: float = -1e9, top: float = 1e9) -> bool:
    """Whether a character's box overlaps the rectangle (PDF coordinates, from the bottom left)."""
    return char.x1 > left and char.x0 < right and char.y1 > bottom and char.y0 < top


def make_cover(built, tmp_path: Path) -> tuple[Path, object]:
    target = tmp_path / "cover.pdf"
    project = Project(built.project.book_dir, STYLES, tmp_path)
    return target, render_cover(project, built.pdf, target)


def test_spine_width_is_pages_times_paper_thickness():
    assert spine_width_in(200, "white") == pytest.approx(0.4504)
    assert spine_width_in(200, "cream") == pytest.approx(0.5)


def test_cover_of_the_built_book(built, tmp_path):
    pages = len(PdfReader(built.pdf).pages)
    target, geometry = make_cover(built, tmp_path)
    assert geometry == cover_geometry(built.book.config, pages)
    spine = pages * (0.002252 if built.book.config.paper == "white" else 0.0025) * 72
    width, height = built.book.config.trim_size
    reader = PdfReader(target)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(2 * width + spine + 2 * 9, abs=0.02)  # 0.125 in bleed each side
    assert float(box.height) == pytest.approx(height + 2 * 9, abs=0.02)
    wrap = f"{float(box.width) / 72:.4f} x {float(box.height) / 72:.4f} in"
    print(f"cover: {pages} pages, spine {spine / 72:.4f} in, wrap {wrap}")

    found = chars(target)
    front = "".join(c.get_text() for c in found if inside(c, geometry.front_left, geometry.width))
    assert built.book.config.title.replace(" ", "") in front.replace(" ", "")
    on_spine = [c for c in found if inside(c, geometry.spine_left, geometry.front_left)]
    assert pages >= 79 and on_spine, "a book of 79 pages or more carries its title on the spine"
    margin = 0.0625 * 72
    assert all(geometry.spine_left + margin <= c.x0 and c.x1 <= geometry.front_left - margin for c in on_spine)

    x, y_top, w, h = geometry.barcode
    bottom = geometry.height - y_top - h  # the barcode's rectangle from the page's bottom
    assert x + w <= geometry.spine_left - 0.25 * 72 + 0.01 and bottom >= geometry.bleed + 0.25 * 72 - 0.01
    assert (w, h) == pytest.approx((2 * 72, 1.2 * 72))
    assert not [c.get_text() for c in found if inside(c, x, x + w, bottom, bottom + h)], "text in the barcode area"

    fonts = layout.check_fonts(reader)
    assert fonts.ok, fonts.detail
    variant = built.book.config.pdf_variant
    with pikepdf.open(target) as pdf:  # the interior's PDF/X rules that hold for a cover: no RGB, a true claim
        assert pdfx.claim_findings(pdf, variant) == [] and pdfx.intent_findings(pdf) == []
        assert [f for f in colour_findings(pdf, variant, 400) if f.code in ("E123", "E124")] == []


def test_a_book_under_79_pages_has_no_spine_text(built_minibook, tmp_path):
    pages = len(PdfReader(built_minibook.pdf).pages)
    assert pages < 79
    target, geometry = make_cover(built_minibook, tmp_path)
    assert not geometry.spine_text
    found = chars(target)
    assert found, "the cover has its title and credits"
    assert not [c for c in found if inside(c, geometry.spine_left, geometry.front_left)]
