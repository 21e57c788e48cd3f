"""Reliability: reproducible outputs, builds without a network, one build at a time per output folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import BOOK, MINIBOOK, ROOT, build_into


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def test_two_clean_builds_are_byte_identical(built, tmp_path):
    """A second clean build of the same sources gives the same bytes in all three editions."""
    again = build_into(BOOK, tmp_path / "again")
    assert built.pdf.read_bytes() == again.pdf.read_bytes()
    assert built.epub.read_bytes() == again.epub.read_bytes()
    first, second = files(built.html), files(again.html)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def test_build_succeeds_with_networking_disabled(tmp_path):
    """The whole minibook builds inside a network namespace with no interfaces up (unshare -rn)."""
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    assert probe.returncode == 0, f"unshare -rn is not permitted here: {probe.stderr!r}"
    result = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "invoke", "build", "--book", str(MINIBOOK), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "minibook.pdf").stat().st_size > 0
    assert (tmp_path / "minibook.epub").stat().st_size > 0
    assert (tmp_path / "html" / "index.html").is_file()


def test_offline_build_names_a_remote_image(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    text = book / "texts" / "beta.md"
    text.write_text(text.read_text() + "\n![Lenin](https://upload.example.org/lenin.jpg)\n")
    line = text.read_text().splitlines().index("![Lenin](https://upload.example.org/lenin.jpg)") + 1
    result = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "invoke", "build", "--book", str(book), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert f"beta.md:{line}" in result.stderr and "E050" in result.stderr


def test_pdfs_are_byte_identical_across_processes(tmp_path):
    """Two separate processes give the same print and screen PDFs (PDF/X metadata included) and EPUB."""
    for name in ("one", "two"):
        result = subprocess.run(
            [sys.executable, "-m", "invoke", "build", "--book", str(MINIBOOK), "--out", str(tmp_path / name)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    for pdf in ("minibook.pdf", "minibook-screen.pdf", "minibook.epub"):
        assert (tmp_path / "one" / pdf).read_bytes() == (tmp_path / "two" / pdf).read_bytes(), pdf
