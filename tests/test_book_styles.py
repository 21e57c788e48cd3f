"""A book's own styles/ overrides the project's file by file (issue 27): its print.css, its templates, its CSL; an
edit there rebuilds what it styles, and a copy leading outside the book folder is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from anthology.build import build, output_path
from anthology.diagnostics import BuildError
from anthology.load import load_book
from anthology.model import Project
from anthology.resolve.book import resolve_book
from conftest import STYLES

MARK = "BOOKSTYLEMARK"


def own_print_css(book: Path, mark: str) -> None:
    """The project's print.css with one rule more, as the book's own copy: every h1 then ends with `mark`."""
    (book / "styles").mkdir(exist_ok=True)
    css = (STYLES / "print.css").read_text(encoding="utf-8")
    (book / "styles" / "print.css").write_text(css + f'\nh1::after {{ content: " {mark}"; }}\n', encoding="utf-8")


def pdf_text(project: Project) -> str:
    pdf = output_path(project, "minibook", "pdf")
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_style_file_prefers_the_books_copy(book_copy: Path, tmp_path: Path) -> None:
    project = Project(book_copy, STYLES, tmp_path / "out")
    assert project.style_file("print.css") == STYLES / "print.css"
    own_print_css(book_copy, MARK)
    assert project.style_file("print.css") == book_copy / "styles" / "print.css"
    assert project.style_file("screen.css") == STYLES / "screen.css"  # one by one: the others stay the project's
    assert project.restyled(STYLES / "print.css") == book_copy / "styles" / "print.css"
    assert project.restyled(book_copy / "styles" / "epub.css") == STYLES / "epub.css"


def test_a_books_style_file_leading_outside_it_is_refused(book_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.css"
    outside.write_text("h1 { color: red; }", encoding="utf-8")
    (book_copy / "styles").mkdir()
    (book_copy / "styles" / "print.css").symlink_to(outside)
    with pytest.raises(BuildError) as raised:
        Project(book_copy, STYLES, tmp_path / "out").style_file("print.css")
    (problem,) = raised.value.diagnostics
    assert problem.code == "E017" and problem.file == book_copy / "styles" / "print.css" and problem.hint


def test_books_print_css_styles_its_pdf_and_an_edit_rebuilds(book_copy: Path, tmp_path: Path) -> None:
    own_print_css(book_copy, MARK)
    project = Project(book_copy, STYLES, tmp_path / "out")
    build(project, editions=["pdf"])
    assert MARK in pdf_text(project)
    own_print_css(book_copy, "EDITEDMARK")  # edited after a build: the incremental build must see it
    build(project, editions=["pdf"])
    incremental = pdf_text(project)
    clean = Project(book_copy, STYLES, tmp_path / "clean")
    build(clean, editions=["pdf"])
    assert "EDITEDMARK" in incremental and MARK not in incremental
    assert incremental == pdf_text(clean)


def test_books_site_template_styles_its_site(book_copy: Path, tmp_path: Path) -> None:
    folder = book_copy / "styles" / "templates" / "site"
    folder.mkdir(parents=True)
    base = (STYLES / "templates" / "site" / "base.html.j2").read_text(encoding="utf-8")
    assert base.count("</head>") == 1
    own = base.replace("</head>", f'<meta name="x-book-template" content="{MARK}">\n</head>')
    (folder / "base.html.j2").write_text(own, encoding="utf-8")
    project = Project(book_copy, STYLES, tmp_path / "out")
    build(project, editions=["html"])
    pages = sorted(output_path(project, "minibook", "html").rglob("*.html"))
    assert pages and all(MARK in page.read_text(encoding="utf-8") for page in pages)


def test_books_csl_styles_its_citations(book_copy: Path) -> None:
    name = "chicago-note-bibliography-with-ibid.csl"
    csl = (STYLES / "csl" / name).read_text(encoding="utf-8")
    layout = '<citation et-al-min="4" et-al-use-first="1" disambiguate-add-names="true">\n    <layout suffix="."'
    assert csl.count(layout) == 1
    (book_copy / "styles" / "csl").mkdir(parents=True)
    (book_copy / "styles" / "csl" / name).write_text(csl.replace(layout, layout + f' prefix="{MARK} "'), "utf-8")
    own = json.dumps([text.ast for text in resolve_book(load_book(book_copy), STYLES).texts.values()])
    shutil.rmtree(book_copy / "styles")
    plain = json.dumps([text.ast for text in resolve_book(load_book(book_copy), STYLES).texts.values()])
    assert MARK in own and MARK not in plain
