"""Bad input: each case stops the build with a message naming the file (and line), a non-zero exit and no
traceback, and leaves the previous outputs byte for byte as they were. Cases that must build, build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import MINIBOOK, ROOT


def run_build(book: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "build", "--book", str(book), "--out", str(out), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def snapshot(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".build.lock")
    }


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A good build of the minibook: every failing case builds into the same folder and must leave it as is."""
    out = tmp_path_factory.mktemp("previous")
    result = run_build(MINIBOOK, out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, snapshot(out)


def line_of(path: Path, fragment: str) -> int:
    return next(number for number, text in enumerate(path.read_text().splitlines(), 1) if fragment in text)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


# Each case: (how to break the minibook copy, file named in the message, text on the line named, other fragments).
Case = tuple[Callable[[Path], None], str, str | None, tuple[str, ...]]

CASES: dict[str, Case] = {
    "malformed book.yaml": (
        lambda b: edit(b / "book.yaml", "title: A Small Test Book", "title: A Small: Test: Book\n  bad"),
        "book.yaml",
        "title: A Small: Test: Book",
        ("E001", "malformed YAML"),
    ),
    "key of the wrong type": (
        lambda b: edit(b / "book.yaml", "trim: 6x9in", "trim: [6, 9]"),
        "book.yaml",
        "trim:",
        ("'trim'",),
    ),
    "unknown key": (
        lambda b: (
            edit(b / "book.yaml", "paper: white", "papr: white")
            if "paper:" in (b / "book.yaml").read_text()
            else append(b / "book.yaml", "papr: white\n")
        ),
        "book.yaml",
        "papr:",
        ("unknown key",),
    ),
    "missing chapter file": (lambda b: (b / "texts" / "beta.md").unlink(), "book.yaml", "- beta", ("beta.md", "E024")),
    "malformed front matter": (
        lambda b: edit(b / "texts" / "alpha.md", "authors: [Ada Writer]", "authors: [Ada Writer"),
        "alpha.md",
        None,
        ("E001",),
    ),
    "front matter not closed": (
        lambda b: (b / "texts" / "beta.md").write_text("---\ntitle: Beta\n\nNo closing fence.\n"),
        "beta.md",
        "---",
        ("E021",),
    ),
    "non-UTF-8 text": (
        lambda b: (b / "texts" / "beta.md").write_bytes("---\ntitle: Beta\n---\nCaf\u00e9 au lait.\n".encode("cp1252")),
        "beta.md",
        None,
        ("E003", "UTF-8"),
    ),
    "empty chapter": (
        lambda b: (b / "texts" / "beta.md").write_text("---\ntitle: Beta\n---\n\n   \n"),
        "beta.md",
        None,
        ("E023",),
    ),
    "duplicate id": (
        lambda b: append(b / "texts" / "beta.md", "\n## One {#same}\n\nText.\n\n## Two {#same}\n\nMore.\n"),
        "beta.md",
        "## Two {#same}",
        ("Duplicate identifier",),
    ),
    "unclosed div": (
        lambda b: append(b / "texts" / "beta.md", "\n::: aside\n\nNever closed.\n"),
        "beta.md",
        "::: aside",
        ("unclosed",),
    ),
    "footnote without text": (
        lambda b: append(b / "texts" / "beta.md", "\nA call to a missing note.[^9]\n"),
        "beta.md",
        "missing note.[^9]",
        ("E052",),
    ),
    "remote image": (
        lambda b: append(b / "texts" / "beta.md", "\n![A photo](https://example.com/photo.jpg)\n"),
        "beta.md",
        "https://example.com/photo.jpg",
        ("E050", "never downloads"),
    ),
    "missing local image": (
        lambda b: append(b / "texts" / "beta.md", "\n![A photo](images/nothing-here.png)\n"),
        "beta.md",
        "images/nothing-here.png",
        ("E051", "not found"),
    ),
    "unknown citation key": (
        lambda b: append(b / "texts" / "beta.md", "\nAs argued [@no-such-work, 12].\n"),
        "beta.md",
        "@no-such-work",
        ("E070", "unknown citation key"),
    ),
    "unknown CSL style": (
        lambda b: append(b / "book.yaml", "citation_style: no-such-style\n"),
        "book.yaml",
        "citation_style:",
        ("E071", "no-such-style"),
    ),
    "dangling cross-reference": (
        lambda b: append(b / "texts" / "beta.md", "\nSee [@xref:alpha#no-such-section].\n"),
        "beta.md",
        "@xref:alpha#no-such-section",
        ("E070",),
    ),
    "script in raw HTML": (
        lambda b: append(b / "texts" / "beta.md", "\n<script>alert('x')</script>\n"),
        "beta.md",
        "<script>",
        ("E053",),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_stops_with_file_and_line_and_keeps_previous_outputs(case, previous, tmp_path):
    out, before = previous
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    breaker, file_name, line_text, fragments = CASES[case]
    named = book / file_name if (book / file_name).exists() else book / "texts" / file_name
    breaker(book)
    expected_line = line_of(named, line_text) if line_text else None
    result = run_build(book, out)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert file_name in output, output
    if expected_line is not None:
        assert f"{file_name}:{expected_line}" in output, f"line {expected_line} not named:\n{output}"
    else:
        assert f"{file_name}:" in output, output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert snapshot(out) == before, "a failed build changed the previous outputs"


def test_all_problems_are_reported_together(previous, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    append(book / "texts" / "alpha.md", "\n![remote](http://example.com/a.png)\n")
    append(book / "texts" / "beta.md", "\n![missing](nope.png)\n")
    output = "".join(run_build(book, previous[0]).stderr)
    assert "alpha.md" in output and "E050" in output
    assert "beta.md" in output and "E051" in output


def test_markup_in_metadata_and_text_is_escaped_in_every_edition(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    hostile = "Tea </title><script>alert(1)</script> {{ 7*7 }}"
    edit(book / "book.yaml", "title: A Small Test Book", f'title: "{hostile}"')
    edit(book / "texts" / "alpha.md", "title: The First Chapter", f'title: "{hostile}"')
    out = tmp_path / "out"
    result = run_build(book, out)
    assert result.returncode == 0, result.stdout + result.stderr
    import zipfile

    from lxml import html as lxml_html

    for page in (out / "html").glob("*.html"):
        tree = lxml_html.parse(str(page))
        # The title may appear inside JSON-LD data (escaped); no script that runs may contain it.
        assert not tree.xpath("//script[not(@type='application/ld+json')][contains(., 'alert')]"), page
        for data in tree.xpath("//script[@type='application/ld+json']/text()"):
            json.loads(data)
        assert "49" not in tree.getroot().text_content().replace("2026", "")
    with zipfile.ZipFile(out / "minibook.epub") as archive:
        for name in archive.namelist():
            if name.endswith((".xhtml", ".opf", ".ncx")):
                content = archive.read(name).decode()
                assert "<script>alert" not in content, name
    from outputs import pdf_pages_text

    assert any("{{ 7*7 }}" in text for text in pdf_pages_text(out / "minibook.pdf"))


def test_one_megabyte_paragraph_builds(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    words = " ".join(f"word{n % 997}" for n in range(150_000))
    append(book / "texts" / "beta.md", f"\n{words[:1_000_000]}\n")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "html", "--book", str(book), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "o" / "html" / "beta.html").stat().st_size > 1_000_000
    assert time.perf_counter() - started < 600


def test_fifty_thousand_footnotes_fail_cleanly(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    calls = " ".join(f"w[^x{n}]" for n in range(1, 50_001))
    notes = "\n".join(f"[^x{n}]: n{n}" for n in range(1, 50_001))
    append(book / "texts" / "beta.md", f"\n{calls}\n\n{notes}\n")
    result = run_build(book, tmp_path / "o")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert "beta.md" in output and "E054" in output


def test_strict_build_stops_on_a_warning(previous, tmp_path):
    """--strict: a placeholder editor credit (a warning of `invoke check`) stops the build and keeps the outputs."""
    out, before = previous
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    edit(book / "book.yaml", "  - name: Test Editor", "  - name: The Editors\n    placeholder: true")
    assert run_build(book, tmp_path / "lenient").returncode == 0  # without --strict a warning does not stop it
    result = run_build(book, out, "--strict")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert "W101" in output and f"book.yaml:{line_of(book / 'book.yaml', '- name: The Editors')}" in output
    assert snapshot(out) == before


def test_non_utf8_source_stops_ingest_with_file_and_line(tmp_path):
    """A raw source in another encoding (here cp1252) is reported by `invoke ingest`, not decoded wrongly."""
    book = tmp_path / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("texts"))
    (book / "texts").mkdir()
    source = book / "sources" / "hampton-bureaucracy.txt"
    lines = source.read_bytes().split(b"\n")
    lines[10] += " caf\u00e9".encode("cp1252")  # one line pasted from a Windows editor
    source.write_bytes(b"\n".join(lines))
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "ingest", "--book", str(book)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert "hampton-bureaucracy.txt:11" in output and "E003" in output and "UTF-8" in output
