"""Reliability: reproducible outputs, builds without a network, one build at a time per output folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from anthology import pandoc
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


def test_an_epub_made_beside_a_pdf_that_then_fails_is_not_put_in_place(tmp_path, monkeypatch):
    """The EPUB is paginated from the final layout while the PDFs are still being written: if writing them fails,
    the previous EPUB stays, as the previous PDFs do (a new EPUB beside old PDFs would not match their pages)."""
    from anthology import build as build_module
    from anthology.diagnostics import BuildError, Diagnostic
    from anthology.render.print import pdf

    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    built = build_into(book, tmp_path / "out")
    before = {path: path.read_bytes() for path in (built.pdf, built.epub)}
    text = book / "texts" / "alpha.md"
    text.write_text(text.read_text(encoding="utf-8") + "\nPlenipotentiaries came after the first build.\n", "utf-8")
    reached: list[bool] = []

    def failing_write(*args, **kwargs):
        reached.append(True)
        raise BuildError([Diagnostic("E040", "the PDF could not be written", file=built.pdf)])

    monkeypatch.setattr(pdf, "write_book", failing_write)
    staged: list[str] = []  # the text of each EPUB made, read as soon as it is made (the failed build removes it)

    def finish_epub(*arguments):
        made = real_finish_epub(*arguments)
        staged.append(zip_text(made))
        return made

    real_finish_epub = build_module.finish_epub
    monkeypatch.setattr(build_module, "finish_epub", finish_epub)
    with pytest.raises(BuildError, match="the PDF could not be written"):
        build_module.build(built.project)
    assert reached, "the PDF's write was never reached"
    assert staged, "the EPUB was not made beside the PDF's write"
    assert "Plenipotentiaries" in staged[0]
    assert {path: path.read_bytes() for path in before} == before, "a failed build replaced a previous output"
    assert not (built.project.build_dir / ".staging").exists(), "the failed build's editions were left staged"


def zip_text(path: Path) -> str:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_one_pandoc_run_made_in_several_threads_at_once_is_cached(tmp_path, monkeypatch):
    """A book whose texts repeat (the benchmark's 50 chapters) has the same run made by several threads at once:
    each writes the cache without tripping over the others."""
    monkeypatch.setattr(pandoc, "CACHE_DIR", tmp_path)
    together = threading.Barrier(pandoc.PROCESSES)
    output = '{"blocks": [], "text": "' + "x" * 20_000_000 + '"}'

    def slow_pandoc(*args, **kwargs):
        together.wait(timeout=30)  # every thread finishes its run at the same moment
        return output

    monkeypatch.setattr(pandoc, "run_pandoc", slow_pandoc)
    results = pandoc.map_at_once(lambda text: pandoc.run(["--to", "json"], text), ["same"] * pandoc.PROCESSES)
    assert results == [output] * pandoc.PROCESSES
    assert [pandoc.read_entry(path, path.name) == output for path in tmp_path.glob("*/*")] == [True]
