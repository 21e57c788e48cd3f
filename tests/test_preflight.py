"""Preflight: passes on the real print PDF; each deliberately broken PDF fails with a line naming the problem."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from invoke.exceptions import Exit
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject
from weasyprint import HTML

from anthology.check.preflight import minimum_gutter_in, preflight
from anthology.cli import run_preflight

ROOT = Path(__file__).resolve().parents[1]
TRIM = (432.0, 648.0)  # 6 x 9 in
FONT_CSS = '@font-face { font-family: "EB Garamond"; src: url(fonts/EBGaramond12-Regular.ttf); }'


def tiny_pdf(path: Path, body: str, css: str = "", pages_css: str = "size: 6in 9in; margin: 0.75in;") -> Path:
    """A small PDF laid out by WeasyPrint with the bundled font; black text in CMYK unless `css` says otherwise."""
    html = (
        f"<html lang=en><style>{FONT_CSS} @page {{ {pages_css} }} "
        f"html {{ font: 11pt 'EB Garamond'; color: device-cmyk(0 0 0 1); }} {css}</style><body>{body}</body></html>"
    )
    HTML(string=html, base_url=str(ROOT / "styles") + "/").write_pdf(path)
    return path


def failing(report, name: str) -> str:
    """The report line of the named check, which must have failed."""
    checks = {check.name: check for check in report.checks}
    assert not checks[name].ok, f"{name} passed: {checks[name].detail}"
    lines = [line for line in report.lines() if line.startswith(f"FAIL  {name}:")]
    assert len(lines) == 1
    return lines[0]


def test_the_built_print_pdf_passes_every_check(built):
    report = preflight(built.pdf, built.book.config.trim_size)
    print("\n".join(report.lines()))
    assert report.ok, "\n".join(report.lines())
    assert len(report.checks) == 10


def test_the_screen_pdf_fails_where_a_printer_would_refuse_it(built):
    """The reader's PDF has RGB colour, links and bookmarks and is no PDF/X (its output intent is sRGB): not for the
    printer."""
    screen = built.pdf.with_name(built.pdf.stem + "-screen.pdf")
    report = preflight(screen, built.book.config.trim_size)
    assert "RGB colour" in failing(report, "no RGB")
    assert "annotations on pages" in failing(report, "no annotations")
    assert "bookmarks" in failing(report, "no annotations")
    assert "no PDF/X identification" in failing(report, "PDF/X")


def test_wrong_trim_fails_naming_both_sizes(tmp_path):
    pdf = tiny_pdf(tmp_path / "a5.pdf", "<p>One</p><p style='break-before: page'>Two</p>", pages_css="size: A5;")
    line = failing(preflight(pdf, TRIM), "trim size")
    assert "expected 432 x 648 pt" in line
    assert "419.53 x 595.28 pt on pages 1, 2" in line


def unembedded_font_pdf(path: Path) -> Path:
    """Two pages of Helvetica text whose font is only named (a standard Type 1 font, not embedded)."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for _ in range(2):
        page = writer.add_blank_page(432, 648)
        stream = DecodedStreamObject()
        stream.set_data(b"BT /F1 11 Tf 0 0 0 1 k 100 300 Td (Not embedded) Tj ET")
        page[NameObject("/Contents")] = writer._add_object(stream)
        resources = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})})
        page[NameObject("/Resources")] = resources
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def test_an_unembedded_font_fails_naming_the_font_and_pages(tmp_path):
    line = failing(preflight(unembedded_font_pdf(tmp_path / "helvetica.pdf"), TRIM), "fonts embedded")
    assert "not embedded: /Helvetica on pages 1, 2" in line


def test_a_pdf_without_pdfx_identification_or_output_intent_fails(tmp_path):
    pdf = tiny_pdf(tmp_path / "plain.pdf", "<p>One</p><p style='break-before: page'>Two</p>")
    line = failing(preflight(pdf, TRIM), "PDF/X")
    assert "no PDF/X identification" in line and "no PDF/X output intent" in line


def test_rgb_text_fails_with_its_page(tmp_path):
    body = "<p>Black</p><p style='break-before: page; color: rgb(200, 0, 0)'>Red</p>"
    line = failing(preflight(tiny_pdf(tmp_path / "rgb.pdf", body), TRIM), "no RGB")
    assert "RGB colour (rg) on pages 2" in line


def test_links_are_annotations_and_fail(tmp_path):
    body = "<p><a href='#two'>to two</a></p><p id='two' style='break-before: page'>Two</p>"
    line = failing(preflight(tiny_pdf(tmp_path / "link.pdf", body), TRIM), "no annotations")
    assert "1 annotations on pages 1" in line


def test_an_odd_page_count_fails(tmp_path):
    line = failing(preflight(tiny_pdf(tmp_path / "odd.pdf", "<p>Only page</p>"), TRIM), "even page count")
    assert "1 pages" in line


def test_text_in_the_gutter_fails_with_the_measured_margin(tmp_path):
    """Margins are measured from where the text is: a recto whose text starts 0.2 in from the spine fails."""
    pdf = tiny_pdf(
        tmp_path / "gutter.pdf",
        "<p>Recto</p><p style='break-before: page'>Verso</p>",
        pages_css="size: 6in 9in; margin: 1in 0.75in 1in 0.2in;",
    )
    line = failing(preflight(pdf, TRIM), "margins")
    assert "page 1: inside margin 0.2" in line
    assert "< 0.375 in" in line


def test_text_below_seven_points_fails(tmp_path):
    body = "<p>Body</p><p style='break-before: page'>Body <span style='font-size: 6pt'>tiny</span></p>"
    line = failing(preflight(tiny_pdf(tmp_path / "small.pdf", body), TRIM), "text size")
    assert "text below 7 pt on pages 2 (page 2: 6.00 pt" in line


def test_three_blank_pages_in_a_row_fail(tmp_path):
    body = (
        "<p>One</p>"
        + "<div style='break-before: page; height: 1pt'></div>" * 3
        + "<p style='break-before: page'>Five</p><p style='break-before: page'>Six</p>"
    )
    line = failing(preflight(tiny_pdf(tmp_path / "blanks.pdf", body), TRIM), "blank pages")
    assert "3 consecutive blank pages from page 2" in line


def png_data_url(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_low_resolution_image_fails_with_its_ppi(tmp_path):
    """A 100 x 100 pixel image printed 2 in wide is 50 ppi."""
    image = f"<img src='{png_data_url(100, 100)}' style='width: 2in; height: 2in'>"
    body = f"<p>{image}</p><p style='break-before: page'>Two</p>"
    line = failing(preflight(tiny_pdf(tmp_path / "image.pdf", body), TRIM), "image resolution")
    assert "page 1:" in line and "at 50 ppi" in line


def test_kdp_gutter_minimums_by_page_count():
    assert [minimum_gutter_in(n) for n in (24, 150, 151, 300, 301, 500, 501, 700, 701)] == [
        0.375,
        0.375,
        0.5,
        0.5,
        0.625,
        0.625,
        0.75,
        0.75,
        0.875,
    ]


def test_the_task_prints_the_report_and_exits_non_zero_on_failure(tmp_path, capsys):
    pdf = tiny_pdf(tmp_path / "a5.pdf", "<p>One</p><p style='break-before: page'>Two</p>", pages_css="size: A5;")
    with pytest.raises(Exit) as raised:
        run_preflight(str(ROOT / "tests" / "fixtures" / "minibook"), ROOT, pdf=str(pdf))
    assert raised.value.code == 1
    out = capsys.readouterr().out
    assert "FAIL  trim size: expected 432 x 648 pt" in out
    assert out.rstrip().endswith("checks)")
