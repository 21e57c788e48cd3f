"""Golden files: documents the pipeline generates for the two-chapter fixture book, compared byte for byte with the
copies committed in tests/golden/, so that any change to what it generates shows in review as a diff of them:

- print.html: the whole print document as print_html makes it for WeasyPrint, at the page numbers of the built book;
- epub-<slug>.xhtml: the first chapter's XHTML, from the built EPUB;
- site-<slug>.html: the first chapter's page of the built site.

After a change that is meant to alter them, write them again from this build with

    pytest tests/test_golden.py --update-golden

and review and commit their diff. Nothing is normalised: a clean build is byte-reproducible (its dates are the
book's, see conftest), so a difference is a change in what the pipeline makes."""

from __future__ import annotations

import difflib
import json
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from anthology.config import POINTS_PER_INCH
from anthology.load import load_book
from anthology.render.print.book_html import geometry_for, print_html
from anthology.render.print.typeset import report_path
from anthology.resolve.book import resolve_book
from conftest import STYLES, Built

GOLDEN = Path(__file__).parent / "golden"
DIFF_LINES = 60


def assert_golden(name: str, actual: bytes, update: bool) -> None:
    """`actual` is the golden file `name`, or (update) becomes it."""
    path = GOLDEN / name
    if update:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(actual)
    if not path.exists():
        pytest.fail(f"{path} is missing: write it with `pytest tests/test_golden.py --update-golden`", pytrace=False)
    expected = path.read_bytes()
    if actual != expected:
        diff = difflib.unified_diff(
            expected.decode("utf-8").splitlines(keepends=True),
            actual.decode("utf-8").splitlines(keepends=True),
            fromfile=f"tests/golden/{name}",
            tofile="this build",
        )
        shown = "".join(line if line.endswith("\n") else line + "\n" for line in list(diff)[:DIFF_LINES])
        hint = "if the change is meant, run `pytest tests/test_golden.py --update-golden` and commit the files"
        pytest.fail(f"{name} differs from the golden file ({hint}):\n{shown}", pytrace=False)


@pytest.fixture
def update(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def anchor_pages(screen_pdf: Path) -> dict[str, int]:
    """The page of every anchor, from the screen PDF's named destinations (one for each id of the print document)."""
    reader = PdfReader(screen_pdf)
    return {str(name): reader.get_destination_page_number(dest) + 1 for name, dest in reader.named_destinations.items()}


def test_the_print_document_is_the_golden_one(built_minibook: Built, update: bool) -> None:
    """The page count sets only the gutter: the one the build laid out with, as its report says."""
    resolved = resolve_book(load_book(built_minibook.project.book_dir), STYLES)
    pages = anchor_pages(built_minibook.pdf.with_name(f"{built_minibook.pdf.stem}-screen.pdf"))
    page_count = len(PdfReader(built_minibook.pdf).pages)
    report = json.loads(report_path(built_minibook.pdf).read_text(encoding="utf-8"))
    assert geometry_for(resolved.book.config, page_count).inner / POINTS_PER_INCH == pytest.approx(report["gutter_in"])
    document = print_html(resolved, built_minibook.project, pages, page_count)
    assert_golden("print.html", document.encode("utf-8"), update)


def test_the_first_chapters_epub_document_is_the_golden_one(built_minibook: Built, update: bool) -> None:
    slug = built_minibook.book.chapters[0].slug
    with zipfile.ZipFile(built_minibook.epub) as archive:
        documents = [archive.read(name) for name in sorted(archive.namelist()) if name.endswith(".xhtml")]
    chapter = [document for document in documents if etree.fromstring(document).xpath("//*[@id=$id]", id=slug)]
    assert len(chapter) == 1, f"{len(chapter)} XHTML documents hold the id {slug!r}"
    assert_golden(f"epub-{slug}.xhtml", chapter[0], update)


def test_the_first_chapters_site_page_is_the_golden_one(built_minibook: Built, update: bool) -> None:
    slug = built_minibook.book.chapters[0].slug
    assert_golden(f"site-{slug}.html", (built_minibook.html / f"{slug}.html").read_bytes(), update)
