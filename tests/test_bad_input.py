"""Bad input stops the build with a message naming the file (and key or line), a non-zero exit, no traceback,
and leaves the previous outputs in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def run_build(book: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "build", "--book", str(book), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def previous_outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def assert_stopped(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    for fragment in expected:
        assert fragment in output, f"{fragment!r} not in:\n{output}"


def test_good_minibook_builds(book_copy, tmp_path):
    result = run_build(book_copy, tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("minibook.pdf", "minibook.epub", "html/index.html"):
        assert (tmp_path / "out" / name).is_file()


def test_missing_chapter_file_names_book_yaml_and_line(book_copy, tmp_path):
    out = tmp_path / "out"
    assert run_build(book_copy, out).returncode == 0
    before = previous_outputs(out)
    (book_copy / "texts" / "beta.md").unlink()
    result = run_build(book_copy, out)
    lines = (book_copy / "book.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == "- beta")
    assert_stopped(result, f"book.yaml:{line}", "beta.md")
    assert previous_outputs(out) == before


def test_malformed_book_yaml_names_file_and_line(book_copy, tmp_path):
    config = book_copy / "book.yaml"
    config.write_text(config.read_text().replace("title: A Small Test Book", "title: A Small: Test: Book\n  bad"))
    assert_stopped(run_build(book_copy, tmp_path / "out"), "book.yaml:")


def test_wrong_type_names_the_key(book_copy, tmp_path):
    config = book_copy / "book.yaml"
    config.write_text(config.read_text().replace("trim: 6x9in", "trim: [6, 9]"))
    result = run_build(book_copy, tmp_path / "out")
    line = next(i for i, t in enumerate(config.read_text().splitlines(), 1) if t.startswith("trim:"))
    assert_stopped(result, f"book.yaml:{line}", "'trim'")
