"""The print edition's plain path (render/print/plain.py: the whole book laid out as one document, its page numbers
settled in rounds) and the segmented path (render/print/pdf.py: segments laid out in worker processes, cached,
their folios and page numbers stamped at the merge) give the same book: for the printer's PDF and the screen PDF,
the same number of pages of the same sizes, the same text on each page and the same page images; the same
measurements in the typesetting report; the same pages' lines for the EPUB's page list, and the same EPUB, byte
for byte. So does the segmented path with its speed mechanisms switched off (ANTHOLOGY_DISABLE, build.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pypdf
import pytest

from anthology import manifest
from anthology.build import DISABLE_VARIABLE, MECHANISMS, PLAIN_VARIABLE, build
from anthology.diagnostics import BuildError
from anthology.model import Project
from anthology.render.print import pagemap
from anthology.render.print.typeset import report_path
from conftest import MINIBOOK, STYLES

# What the layout measured, which both paths must agree on (the count of segments laid out is the segmented
# path's alone).
MEASURED = ("pages", "gutter_in", "minimum_gutter_in", "footnotes_separated", "footnotes_total", "short_pages")
WITH_EPUB = ("pdf", "screen", "epub")  # the EPUB is paginated by the print layout's pages


def build_pdfs(
    book: Path, out: Path, plain: bool, monkeypatch: pytest.MonkeyPatch, editions: tuple[str, ...] = ("pdf", "screen")
) -> Path:
    """The book's print PDFs (and other `editions`) built into `out` by one path; the printer's PDF (the screen PDF
    and the EPUB are beside it)."""
    with monkeypatch.context() as patch:
        if plain:
            patch.setenv(PLAIN_VARIABLE, "1")
        else:
            patch.delenv(PLAIN_VARIABLE, raising=False)
        outputs = build(Project(book_dir=book, styles_dir=STYLES, build_dir=out), editions)
    return outputs["pdf"]


def screen_of(pdf: Path) -> Path:
    return pdf.with_name(f"{pdf.stem}-screen.pdf")


def page_boxes(path: Path) -> list[tuple[Any, ...]]:
    """Each page's media, trim and bleed boxes, in points."""
    pages = pypdf.PdfReader(path).pages
    return [tuple(tuple(float(v) for v in box) for box in (p.mediabox, p.trimbox, p.bleedbox)) for p in pages]


def page_images(path: Path, folder: Path) -> list[bytes]:
    """Every page as a colour image at 40 dpi (poppler's pdftoppm)."""
    folder.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", "40", str(path), str(folder / "page")], check=True)
    return [image.read_bytes() for image in sorted(folder.glob("page-*.ppm"))]


def pdf_pages_layout_text(path: Path) -> list[str]:
    """Each page's text laid out as on the page (poppler's pdftotext -layout)."""
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout.split("\f")[:-1]


def differing(ours: list[Any], theirs: list[Any]) -> list[int]:
    """The (1-based) pages on which two lists of pages differ."""
    assert len(ours) == len(theirs)
    return [number for number, (a, b) in enumerate(zip(ours, theirs, strict=True), 1) if a != b]


def assert_same_pdf(plain: Path, segmented: Path, scratch: Path) -> None:
    boxes = page_boxes(plain)
    assert boxes == page_boxes(segmented)
    assert len(boxes) > 1
    # Each page's text as it stands on the page (pdftotext -layout): the segmented path stamps the page numbers of
    # cross-references at the merge, so "131" and the "),"  after it are two runs of text there and one in the plain
    # path's PDF, and pdftotext's reading order (not the page) can differ by where it puts them.
    plain_text, segmented_text = pdf_pages_layout_text(plain), pdf_pages_layout_text(segmented)
    assert any(plain_text)
    assert differing(plain_text, segmented_text) == [], plain.name
    images = page_images(plain, scratch / f"plain-{plain.stem}")
    assert differing(images, page_images(segmented, scratch / f"segmented-{plain.stem}")) == [], plain.name


def assert_same_book(plain: Path, segmented: Path, scratch: Path) -> None:
    """Both PDFs the same pages; the reports the same measurements; the pages' lines the same letters."""
    assert_same_pdf(plain, segmented, scratch)
    assert_same_pdf(screen_of(plain), screen_of(segmented), scratch)
    reports = [json.loads(report_path(pdf).read_text()) for pdf in (plain, segmented)]
    assert [{key: report[key] for key in MEASURED} for report in reports] == [
        {key: reports[1][key] for key in MEASURED}
    ] * 2
    assert reports[0]["settled"] and reports[1]["settled"]
    # The EPUB's page list is made from these: each page's folio and the letters of its lines (the segmented path
    # draws its page numbers at the merge, so they are not among its lines; letters leave out digits).
    lines = [pagemap.saved_print_pages(pdf) for pdf in (plain, segmented)]
    assert lines[0] is not None and lines[1] is not None
    assert [(page.folio, page.letters) for page in lines[0]] == [(page.folio, page.letters) for page in lines[1]]


@pytest.fixture(scope="module")
def plain_minibook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture book's PDFs and EPUB made by the plain path, once for the module's tests; its printer's PDF."""
    with pytest.MonkeyPatch.context() as patch:
        return build_pdfs(MINIBOOK, tmp_path_factory.mktemp("plain"), True, patch, WITH_EPUB)


def test_the_plain_path_gives_the_segmented_paths_pdfs_of_the_fixture_book(plain_minibook, built_minibook, tmp_path):
    """The segmented build is conftest's session build of the fixture book (every edition, in a fresh folder)."""
    plain, segmented = plain_minibook, built_minibook.pdf
    # The plain path lays out no segment and leaves no layout cache behind.
    assert json.loads(report_path(plain).read_text())["segments_laid_out"] == 0
    assert not list(plain.parent.rglob("segments"))
    assert_same_book(plain, segmented, tmp_path)
    assert plain.with_suffix(".epub").read_bytes() == segmented.with_suffix(".epub").read_bytes()


def test_the_plain_path_builds_where_the_last_build_is_current(built_minibook, tmp_path, monkeypatch):
    """Asked for, the plain path makes the PDFs even where the last build made them of the same sources (a copy of
    conftest's build of the fixture book, its manifest and caches with it): it is the reference, not a way to the
    same files."""
    shutil.copytree(built_minibook.project.build_dir, tmp_path / "out")
    segmented = tmp_path / "out" / built_minibook.pdf.name
    targets = {"pdf": segmented, "screen": screen_of(segmented)}
    assert manifest.up_to_date(tmp_path / "out", MINIBOOK, manifest.inputs_key(MINIBOOK, STYLES), targets)
    assert json.loads(report_path(segmented).read_text())["segments_laid_out"] > 1
    assert build_pdfs(MINIBOOK, tmp_path / "out", True, monkeypatch) == segmented
    assert json.loads(report_path(segmented).read_text())["segments_laid_out"] == 0


def test_the_build_without_its_speed_mechanisms_gives_the_plain_paths_pdfs(plain_minibook, tmp_path, monkeypatch):
    """What ANTHOLOGY_DISABLE switches off changes how fast the book is made, not what is made: the segmented path
    without every mechanism it names gives the plain path's PDFs."""
    plain = plain_minibook
    monkeypatch.setenv(DISABLE_VARIABLE, ",".join(MECHANISMS))
    without = build_pdfs(MINIBOOK, tmp_path / "without", False, monkeypatch)
    assert json.loads(report_path(without).read_text())["segments_laid_out"] > 1
    assert_same_book(plain, without, tmp_path)


def test_a_name_that_is_no_mechanism_stops_the_build_before_it_starts(tmp_path, monkeypatch):
    monkeypatch.setenv(DISABLE_VARIABLE, "gc, no-such-mechanism")
    with pytest.raises(BuildError) as stopped:
        build(Project(book_dir=MINIBOOK, styles_dir=STYLES, build_dir=tmp_path / "out"), ["pdf"])
    [diagnostic] = stopped.value.diagnostics
    assert diagnostic.code == "E062" and "no-such-mechanism" in diagnostic.message and "gc" not in diagnostic.message
    assert all(name in (diagnostic.hint or "") for name in MECHANISMS)
    assert not (tmp_path / "out").exists()


@pytest.mark.book
def test_the_plain_path_gives_the_segmented_paths_pdfs_of_the_anthology(built, tmp_path, monkeypatch):
    plain = build_pdfs(built.project.book_dir, tmp_path / "plain", True, monkeypatch, WITH_EPUB)
    assert_same_book(plain, built.pdf, tmp_path)
    assert plain.with_suffix(".epub").read_bytes() == built.epub.read_bytes()
