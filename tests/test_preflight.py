"""Preflight: passes on the real print PDF; each deliberately broken PDF fails with a line naming the problem."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
import weasyprint
from invoke.exceptions import Exit
from pikepdf import Name, String
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
    config = built.book.config
    report = preflight(built.pdf, config.trim_size, config.pdf_variant, config.ink_limit)
    print("\n".join(report.lines()))
    assert report.ok, "\n".join(report.lines())
    assert len(report.checks) == 17


def test_the_screen_pdf_fails_where_a_printer_would_refuse_it(built):
    """The reader's PDF has RGB colour, links and bookmarks and is no PDF/X (its output intent is sRGB): not for the
    printer."""
    screen = built.pdf.with_name(built.pdf.stem + "-screen.pdf")
    report = preflight(screen, built.book.config.trim_size)
    assert "RGB colour" in failing(report, "colour")
    assert "Link annotation (pages" in failing(report, "no annotations")
    assert "bookmarks" in failing(report, "no annotations")
    assert "no GTS_PDFXVersion" in failing(report, "PDF/X version")
    assert "profile is RGB with N 3" in failing(report, "output intent")


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
    report = preflight(pdf, TRIM)
    assert "no GTS_PDFXVersion" in failing(report, "PDF/X version")
    assert "no PDF/X output intent" in failing(report, "output intent")


def test_rgb_text_fails_with_its_page(tmp_path):
    body = "<p>Black</p><p style='break-before: page; color: rgb(200, 0, 0)'>Red</p>"
    line = failing(preflight(tiny_pdf(tmp_path / "rgb.pdf", body), TRIM), "colour")
    assert "RGB colour (DeviceRGB) in the page's content (rg) (page 2)" in line


def test_links_are_annotations_and_fail(tmp_path):
    body = "<p><a href='#two'>to two</a></p><p id='two' style='break-before: page'>Two</p>"
    line = failing(preflight(tiny_pdf(tmp_path / "link.pdf", body), TRIM), "no annotations")
    assert "Link annotation (page 1)" in line


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


# ---- Faults planted in a copy of real pages (the minibook's print PDF) -------------------------------------------
#
# Each fault is what a printer's preflight refuses under the variant it is planted for; the same copy without the
# fault passes under that variant. QPDF's own syntax check (pikepdf) reads every planted file as sound, so what is
# caught is the PDF/X fault, not a damaged file.

PAGE = 11  # a page of running text in the minibook (its chapter's body)
SRGB = Path(weasyprint.__file__).parent / "pdf" / "sRGB2014.icc"


def page_of(pdf: pikepdf.Pdf) -> pikepdf.Page:
    return pdf.pages[PAGE - 1]


def draw(pdf: pikepdf.Pdf, content: bytes, **resources: pikepdf.Dictionary) -> None:
    """Paint on the page after its own content, with resources of its own added (category -> {name: object})."""
    page = page_of(pdf)
    shared = page.obj.Resources
    own = pikepdf.Dictionary({key: value for key, value in shared.items()})  # a copy: the next page keeps its own
    for category, entries in resources.items():
        merged = pikepdf.Dictionary(dict(own.get(f"/{category}", pikepdf.Dictionary()).items()))
        for name, value in entries.items():
            merged[name] = value
        own[f"/{category}"] = merged
    page.obj.Resources = pdf.make_indirect(own)
    page.contents_add(pikepdf.Stream(pdf, b"q\n" + content + b"\nQ\n"), prepend=False)


def rewrite_text(pdf: pikepdf.Pdf, old: bytes, new: bytes) -> None:
    """Replace the text colour in the page's own content stream."""
    contents = page_of(pdf).obj.Contents
    for stream in contents if isinstance(contents, pikepdf.Array) else [contents]:
        data = stream.read_bytes()
        if old in data and b"BT" in data:
            stream.write(data.replace(old, new))
            return
    raise AssertionError(f"no text drawn with {old!r} on page {PAGE}")


def form(pdf: pikepdf.Pdf, content: bytes) -> pikepdf.Stream:
    return pikepdf.Stream(pdf, content, Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 100, 100])


def claim(pdf: pikepdf.Pdf, version: str) -> None:
    """Make the copy claim another PDF/X version, where that version is claimed (X-4: XMP; X-1a and X-3: Info)."""
    xmp = pdf.Root.Metadata.read_bytes().replace(b"PDF/X-4", version.encode())
    pdf.Root.Metadata.write(xmp)
    if not version.startswith("PDF/X-4"):
        pdf.docinfo["/GTS_PDFXVersion"] = String(version)
        pdf.docinfo["/GTS_PDFXConformance"] = String(version)


def as_variant(pdf: pikepdf.Pdf, variant: str) -> str | None:
    """The clean copy made into the variant (its claim); returns the PDF version to save it as."""
    if variant == "pdf/x-1a":
        claim(pdf, "PDF/X-1a:2003")
        return "1.4"
    if variant == "pdf/x-3":
        claim(pdf, "PDF/X-3:2003")
        return "1.4"
    return None


def no_trim_box(pdf: pikepdf.Pdf) -> None:
    del page_of(pdf).obj["/TrimBox"]


def trim_box_outside(pdf: pikepdf.Pdf) -> None:
    page_of(pdf).obj.TrimBox = [0, 0, 500, 700]


def rgb_fill(pdf: pikepdf.Pdf) -> None:
    draw(pdf, b"1 0 0 rg 72 72 20 20 re f")


def rgb_inline_image(pdf: pikepdf.Pdf) -> None:
    draw(pdf, b"20 0 0 20 72 72 cm BI /W 1 /H 1 /CS /RGB /BPC 8 ID \xff\x00\x00 EI")


def rgb_image(pdf: pikepdf.Pdf) -> None:
    image = pikepdf.Stream(
        pdf, b"\xff\x00\x00", Type=Name.XObject, Subtype=Name.Image, Width=1, Height=1, BitsPerComponent=8
    )
    image.ColorSpace = Name.DeviceRGB
    draw(pdf, b"20 0 0 20 72 72 cm /Planted Do", XObject={"/Planted": image})


def rgb_shading_pattern(pdf: pikepdf.Pdf) -> None:
    shading = pikepdf.Dictionary(
        ShadingType=2,
        ColorSpace=Name.DeviceRGB,
        Coords=[0, 0, 100, 0],
        Function=pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[1, 0, 0], C1=[0, 0, 1], N=1),
    )
    pattern = pdf.make_indirect(pikepdf.Dictionary(Type=Name.Pattern, PatternType=2, Shading=shading))
    draw(pdf, b"/Pattern cs /Planted scn 72 72 100 50 re f", Pattern={"/Planted": pattern})


def rgb_soft_mask(pdf: pikepdf.Pdf) -> None:
    group = form(pdf, b"1 0 0 rg 0 0 100 100 re f")
    group.Group = pikepdf.Dictionary(S=Name.Transparency, CS=Name.DeviceGray)
    state = pikepdf.Dictionary(Type=Name.ExtGState, SMask=pikepdf.Dictionary(S=Name.Luminosity, G=group))
    draw(pdf, b"/Planted gs 0 0 0 1 k 72 72 20 20 re f", ExtGState={"/Planted": state})


def rgb_annotation_appearance(pdf: pikepdf.Pdf) -> None:
    appearance = form(pdf, b"0 1 0 rg 0 0 100 100 re f")
    annotation = pikepdf.Dictionary(
        Type=Name.Annot, Subtype=Name.Square, Rect=[72, 72, 172, 172], F=4, AP=pikepdf.Dictionary(N=appearance)
    )
    page_of(pdf).obj.Annots = pikepdf.Array([pdf.make_indirect(annotation)])


def transparency(pdf: pikepdf.Pdf) -> None:
    state = pikepdf.Dictionary(Type=Name.ExtGState, ca=0.5)
    draw(pdf, b"/Planted gs 0 0 0 1 k 72 72 20 20 re f", ExtGState={"/Planted": state})


def icc_colour(pdf: pikepdf.Pdf) -> None:
    profile = pdf.Root.OutputIntents[0].DestOutputProfile
    draw(
        pdf,
        b"/Planted cs 0 0 0 1 scn 72 72 20 20 re f",
        ColorSpace={"/Planted": pikepdf.Array([Name.ICCBased, profile])},
    )


def rgb_output_intent(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OutputIntents[0].DestOutputProfile = pikepdf.Stream(pdf, SRGB.read_bytes(), N=3)


def javascript(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String("app.alert('hi');"))


def embedded_file(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["notes.txt"] = pikepdf.AttachedFileSpec(pdf, b"not for the printer", mime_type="text/plain")


def comment(pdf: pikepdf.Pdf) -> None:
    note = pikepdf.Dictionary(Type=Name.Annot, Subtype=Name.Text, Rect=[72, 72, 92, 92], Contents=String("fix"))
    page_of(pdf).obj.Annots = pikepdf.Array([pdf.make_indirect(note)])


def spot_colour(pdf: pikepdf.Pdf) -> None:
    tint = pikepdf.Dictionary(FunctionType=2, Domain=[0, 1], C0=[0, 0, 0, 0], C1=[0, 0.8, 0.6, 0], N=1)
    space = pikepdf.Array([Name.Separation, Name("/PANTONE 185 C"), Name.DeviceCMYK, tint])
    draw(pdf, b"/Planted cs 1 scn 72 72 20 20 re f", ColorSpace={"/Planted": space})


def rich_black_text(pdf: pikepdf.Pdf) -> None:
    rewrite_text(pdf, b"0 0 0 1 scn", b"0.6 0.4 0.4 1 scn")


def heavy_ink(pdf: pikepdf.Pdf) -> None:
    draw(pdf, b"1 1 1 1 k 72 72 20 20 re f")


def nonsense_version(pdf: pikepdf.Pdf) -> None:
    claim(pdf, "nonsense")


def other_variant(pdf: pikepdf.Pdf) -> None:
    claim(pdf, "PDF/X-3:2003")


@dataclass(frozen=True)
class Fault:
    name: str
    variant: str
    code: str
    plant: Callable[[pikepdf.Pdf], None]
    says: str  # what the diagnostic's message says
    version: str | None = None  # the PDF version to save as, if not the variant's


FAULTS = (
    Fault("a page with no TrimBox", "pdf/x-4", "E120", no_trim_box, f"page {PAGE}: no TrimBox or ArtBox"),
    Fault("a TrimBox outside the MediaBox", "pdf/x-4", "E120", trim_box_outside, f"page {PAGE}: TrimBox"),
    Fault("RGB fill colour", "pdf/x-4", "E123", rgb_fill, f"page {PAGE}: RGB colour (DeviceRGB) in the page's"),
    Fault("RGB in an inline image", "pdf/x-4", "E123", rgb_inline_image, f"page {PAGE}: RGB colour (RGB) in an inline"),
    Fault("an RGB image XObject", "pdf/x-4", "E123", rgb_image, f"page {PAGE}: RGB colour (DeviceRGB) in image"),
    Fault("RGB in a shading pattern", "pdf/x-4", "E123", rgb_shading_pattern, "in shading pattern /Planted"),
    Fault("RGB in a soft mask", "pdf/x-4", "E123", rgb_soft_mask, "in the soft mask of graphics state /Planted"),
    Fault("RGB in an annotation's look", "pdf/x-4", "E123", rgb_annotation_appearance, "an annotation's appearance"),
    Fault("transparency under PDF/X-1a", "pdf/x-1a", "E125", transparency, "opacity 0.5 (ca) in graphics state"),
    Fault("transparency under PDF/X-3", "pdf/x-3", "E125", transparency, "opacity 0.5 (ca)"),
    Fault("PDF/X-1a claimed on PDF 1.6", "pdf/x-1a", "E126", lambda pdf: None, "PDF 1.6 under PDF/X-1a:2003", "1.6"),
    Fault("ICC-based colour under PDF/X-1a", "pdf/x-1a", "E124", icc_colour, "device-independent colour (ICCBased"),
    Fault("an RGB output-intent profile", "pdf/x-4", "E127", rgb_output_intent, "profile is RGB with N 3"),
    Fault("JavaScript", "pdf/x-4", "E130", javascript, "JavaScript (/OpenAction)"),
    Fault("an embedded file", "pdf/x-4", "E130", embedded_file, "embedded files (/EmbeddedFiles)"),
    Fault("a comment (non-print annotation)", "pdf/x-4", "E131", comment, f"page {PAGE}: Text annotation"),
    Fault("a spot colour", "pdf/x-4", "E132", spot_colour, "spot colour /PANTONE 185 C"),
    Fault("4-colour rich black text", "pdf/x-4", "E133", rich_black_text, "text in CMYK 0.6 0.4 0.4 1"),
    Fault("ink over 300 %", "pdf/x-4", "E134", heavy_ink, "400 % ink (CMYK 1 1 1 1)"),
    Fault("a PDF/X version of 'nonsense'", "pdf/x-4", "E128", nonsense_version, "'nonsense' is not a PDF/X version"),
    Fault("PDF/X-3 claimed, pdf_variant X-4", "pdf/x-4", "E129", other_variant, "claims PDF/X-3:2003"),
)


def copy_of(
    source: Path, target: Path, variant: str, plant: Callable[[pikepdf.Pdf], None], version: str | None
) -> Path:
    with pikepdf.open(source) as pdf:
        wanted = as_variant(pdf, variant)
        plant(pdf)
        pdf.save(target, force_version=version or wanted, deterministic_id=True)
    with pikepdf.open(target) as pdf:
        assert pdf.check_pdf_syntax() == [], "QPDF finds the planted file damaged"
    return target


@pytest.mark.parametrize("variant", ["pdf/x-1a", "pdf/x-3", "pdf/x-4"])
def test_the_clean_copy_passes_under_each_variant(built_minibook, tmp_path, variant):
    pdf = copy_of(built_minibook.pdf, tmp_path / "clean.pdf", variant, lambda pdf: None, None)
    report = preflight(pdf, TRIM, variant)
    assert report.ok, "\n".join(report.lines())
    assert report.diagnostics == []


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_each_planted_fault_is_caught_with_its_page_and_a_hint(built_minibook, tmp_path, fault):
    pdf = copy_of(built_minibook.pdf, tmp_path / "planted.pdf", fault.variant, fault.plant, fault.version)
    report = preflight(pdf, TRIM, fault.variant)
    assert not report.ok
    found = [d for d in report.diagnostics if d.code == fault.code and fault.says in d.message]
    assert found, "\n".join(report.lines())
    assert all(d.hint and d.file == pdf for d in found)
    assert f"error {fault.code}: " in found[0].format()


def test_the_ink_limit_is_book_yamls(built_minibook, tmp_path):
    """Rich black text at 240 % passes a 300 % limit's ink check and fails a 200 % one."""
    pdf = copy_of(built_minibook.pdf, tmp_path / "rich.pdf", "pdf/x-4", rich_black_text, None)
    assert not [d for d in preflight(pdf, TRIM, "pdf/x-4", 300).diagnostics if d.code == "E134"]
    found = [d for d in preflight(pdf, TRIM, "pdf/x-4", 200).diagnostics if d.code == "E134"]
    assert found and "240 % ink (CMYK 0.6 0.4 0.4 1)" in found[0].message and "limit of 200 %" in found[0].message


def test_the_task_reads_the_variant_and_ink_limit_from_book_yaml(built_minibook, book_copy, tmp_path, capsys):
    pdf = copy_of(built_minibook.pdf, tmp_path / "rich.pdf", "pdf/x-4", rich_black_text, None)
    config = book_copy / "book.yaml"
    config.write_text(config.read_text() + "pdf_variant: pdf/x-3\nink_limit: 200\n")
    with pytest.raises(Exit):
        run_preflight(str(book_copy), ROOT, pdf=str(pdf))
    out = capsys.readouterr().out
    assert "error E129: the document: the file claims PDF/X-4; book.yaml's pdf_variant is pdf/x-3" in out
    assert "error E134: " in out and "over the limit of 200 %" in out
