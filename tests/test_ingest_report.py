"""The editor's report (issue 27): `invoke ingest` prints and writes build/<slug>/ingest-report.md with, per
source, its file, its SHA-256, each removal with its raw lines and each emendation and insertion with its raw line:
what traces a text to the file received and must not be printed in the book."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from invoke.exceptions import Exit

from anthology import cli
from anthology.config import BookConfig
from anthology.ingest.report import REPORT_NAME
from anthology.scaffold import create_book

REMOVAL = {"lines": 9, "reason": "the sample's instruction to its user"}
EMENDATION = {"line": 7, "original": "never change it", "corrected": "never alter it", "reason": "a test emendation"}
INSERTION = {"line": 5, "after": "stands in for one of them.", "text": "see below", "reason": "a test insertion"}


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """The scaffold's book, its recipe given a removal, an emendation and an insertion."""
    folder = tmp_path / "book"
    create_book(folder)
    (recipe,) = (folder / "sources").glob("*.yaml")
    data = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    data["rules"] |= {"remove": [REMOVAL], "emendations": [EMENDATION], "insertions": [INSERTION]}
    recipe.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def test_ingest_writes_and_prints_the_editors_report(book: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (source,) = (book / "sources").glob("*.txt")
    lines = source.read_text(encoding="utf-8").split("\n")
    assert EMENDATION["original"] in lines[6] and INSERTION["after"] in lines[4]  # the lines the recipe names
    cli.run_ingest(str(book), tmp_path)
    slug = BookConfig.model_validate(yaml.safe_load((book / "book.yaml").read_text(encoding="utf-8"))).slug
    report = (tmp_path / "build" / slug / REPORT_NAME).read_text(encoding="utf-8")
    assert report in capsys.readouterr().out
    assert f"- file: `sources/{source.name}`" in report
    assert f"- sha256: `{hashlib.sha256(source.read_bytes()).hexdigest()}`" in report
    assert "  - line 1: title line" in report  # title_lines: [1], byline_lines: [3]
    assert "  - line 3: byline" in report
    assert f"  - line 9: {REMOVAL['reason']}" in report
    assert "- emendations: 1\n  - line 7: “never change it” → “never alter it” (a test emendation)" in report
    assert "- insertions: 1\n  - line 5: after “stands in for one of them.”, “see below” (a test insertion)" in report
    text = (book / "texts" / f"{source.stem}.md").read_text(encoding="utf-8")
    assert "never alter it" in text and lines[8] not in text  # the report says what the ingest did
    assert hashlib.sha256(source.read_bytes()).hexdigest() not in text


def test_no_report_is_written_when_no_text_is(book: Path, tmp_path: Path) -> None:
    """A failed ingest leaves the texts as they were, and so the report that describes them."""
    (book / "sources" / "second.txt").write_text("A text with no recipe.\n", encoding="utf-8")
    with pytest.raises(Exit):  # E201: no recipe
        cli.run_ingest(str(book), tmp_path)
    assert list(tmp_path.glob(f"build/*/{REPORT_NAME}")) == []
