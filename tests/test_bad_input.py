"""Bad input: each case stops the build with a message naming the file and line, exit status 2 and no traceback,
and leaves the previous outputs byte for byte as they were. Cases that must build, build: every edition carries
them. docs/diagnostics.md says what each code means and what the user does about it."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html
from pypdf import PdfReader

from anthology import pandoc
from anthology.build import DISABLE_VARIABLE, build
from anthology.cli import EXIT_INPUT_ERROR
from anthology.config import TRIM_SIDE_IN
from anthology.diagnostics import BuildError
from anthology.limits import MAX_PARAGRAPH_CHARS, MAX_TEXT_BYTES
from anthology.load import load_book, load_plain
from anthology.model import Project
from anthology.resolve.bibliography import load_entries
from anthology.resolve.indexing import load_spec
from anthology.safety import check_text
from anthology.yamlfile import MAX_YAML_DEPTH, MAX_YAML_NODES, load_yaml
from conftest import MINIBOOK, ROOT, STYLES
from outputs import letters, pdf_pages_text, pdf_pages_text_fast
from runs import build_here

# Seconds after which a build in these tests is taken to hang: far above any build's time on a loaded machine.
HANG_GUARD = 1800


def run_build(book: Path, out: Path, *extra: str, hang_guard: float | None = None) -> subprocess.CompletedProcess[str]:
    """`invoke build` as its task runs it, in this process (tests/runs.py). `hang_guard`: seconds after which a
    build still running is taken to hang (a bound far above any build's time, not a measure of speed)."""
    return build_here(book, out, *extra, guard=hang_guard)


def run_ingest(book: Path, *extra: str) -> tuple[int, str]:
    """`invoke ingest` in a process of its own: its exit status and everything it printed."""
    command = [sys.executable, "-m", "invoke", "ingest", *extra, "--book", str(book)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout + result.stderr


def is_output(relative: Path) -> bool:
    """The build's lock file and its cache (`.cache/`) live in the output folder but are not outputs."""
    return relative.parts[0] != ".cache" and not relative.name.startswith(".build.lock")


def snapshot(out: Path) -> dict[str, bytes]:
    """Every output's bytes, by its path in the output folder."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and is_output(p.relative_to(out))
    }


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A good build of the minibook: every failing case builds into the same folder and must leave it as is."""
    out = tmp_path_factory.mktemp("previous")
    result = run_build(MINIBOOK, out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, snapshot(out)


def line_of(path: Path, fragment: str) -> int:
    """The first line holding fragment; the file may be in another encoding than UTF-8 (a bad-input case)."""
    lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    return next(number for number, text in enumerate(lines, 1) if fragment in text)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def elsewhere(book: Path, name: str, text: str = "---\ntitle: From Elsewhere\n---\nA text outside the book.\n") -> Path:
    """A file beside the book folder, not in it: what a path or a link that leaves the book would read."""
    path = book.parent / "elsewhere" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def link_out(book: Path, name: str) -> None:
    """Move the book's file out of the book folder and leave a symbolic link to it in its place."""
    path = book / name
    target = elsewhere(book, path.name, path.read_text(encoding="utf-8"))
    path.unlink()
    path.symlink_to(target)


def link_out_as(book: Path, name: str) -> None:
    """A symbolic link in the book to the file of that name beside it (made by `elsewhere`)."""
    (book / name).symlink_to(book.parent / "elsewhere" / Path(name).name)


def too_large(path: Path) -> None:
    """The text, padded with short paragraphs so that the line marked BEYOND holds the first byte past the limit."""
    text = path.read_text(encoding="utf-8") + "\n"
    paragraph = "A short paragraph of padding, one of many.\n\n"
    count = (MAX_TEXT_BYTES - 5 - len(text.encode())) // len(paragraph)
    text += paragraph * count
    text += "x" * (MAX_TEXT_BYTES - 5 - len(text.encode())) + "\n\nBEYOND the limit of one text.\n"
    path.write_text(text, encoding="utf-8")


# A billion laughs: nine aliases of nine aliases of ..., a few hundred bytes that stand for 9^9 values.
ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)
OUTSIDE_HINT = "hint: keep every file of the book inside its folder"

# Each case: (how to break the minibook copy, file named in the message, the line named: text on it or its number,
# or None when the message names the file alone, other fragments of the message).
Case = tuple[Callable[[Path], None], str, str | int | None, tuple[str, ...]]

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
        ("E010", "'trim'"),
    ),
    "unknown key": (
        lambda b: (
            edit(b / "book.yaml", "paper: white", "papr: white")
            if "paper:" in (b / "book.yaml").read_text()
            else append(b / "book.yaml", "papr: white\n")
        ),
        "book.yaml",
        "papr:",
        ("E010", "unknown key"),
    ),
    "missing chapter file": (lambda b: (b / "texts" / "beta.md").unlink(), "book.yaml", "- beta", ("beta.md", "E024")),
    "malformed front matter": (
        lambda b: edit(b / "texts" / "alpha.md", "authors: [Ada Writer]", "authors: [Ada Writer"),
        "alpha.md",
        "source: alpha.txt",  # where the parser stopped; the message names the line the list opened on
        ("E001", "malformed YAML", "starts on line 3"),
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
        "Caf",
        ("E003", "not valid UTF-8 (byte 0xe9)", "iconv"),
    ),
    "empty chapter": (
        lambda b: (b / "texts" / "beta.md").write_text("---\ntitle: Beta\n---\n\n   \n"),
        "beta.md",
        4,  # the body's first line
        ("E023", "has no text"),
    ),
    "duplicate id": (
        lambda b: append(b / "texts" / "beta.md", "\n## One {#same}\n\nText.\n\n## Two {#same}\n\nMore.\n"),
        "beta.md",
        "## Two {#same}",
        ("E030", "Duplicate identifier 'same'"),
    ),
    "unclosed div": (
        lambda b: append(b / "texts" / "beta.md", "\n::: aside\n\nNever closed.\n"),
        "beta.md",
        "::: aside",
        ("E030", "unclosed"),
    ),
    "footnote without text": (
        lambda b: append(b / "texts" / "beta.md", "\nA call to a missing note.[^9]\n"),
        "beta.md",
        "missing note.[^9]",
        ("E052",),
    ),
    "inline footnote not closed": (
        lambda b: append(b / "texts" / "beta.md", "\nA claim.^[An inline note never closed.\n\nNext paragraph.\n"),
        "beta.md",
        "A claim.^[An inline note",
        ("E055", "'^[' is opened but never closed"),
    ),
    "footnote call not closed": (
        lambda b: append(b / "texts" / "beta.md", "\nA claim.[^2 and more.\n"),
        "beta.md",
        "A claim.[^2 and more",
        ("E055", "'[^' is opened but never closed"),
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
        ("E075", "no such chapter, text or id"),
    ),
    "script in raw HTML": (
        lambda b: append(b / "texts" / "beta.md", "\n<script>alert('x')</script>\n"),
        "beta.md",
        "<script>",
        ("E053", "raw HTML <script> is not allowed"),
    ),
    "intro outside the book": (
        lambda b: (
            elsewhere(b, "intro.md"),
            edit(
                b / "book.yaml",
                "  - title: The Only Part\n",
                "  - title: The Only Part\n    intro: ../elsewhere/intro.md\n",
            ),
        ),
        "book.yaml",
        "intro: ../elsewhere/intro.md",
        ("E025", "the introduction of part 1:", "/elsewhere/intro.md is outside the book folder", OUTSIDE_HINT),
    ),
    "chapter linked outside the book": (
        lambda b: link_out(b, "texts/beta.md"),
        "book.yaml",
        "- beta",
        ("E025", "chapter 'beta':", "(a link to ", "elsewhere/beta.md) is outside the book folder", OUTSIDE_HINT),
    ),
    "headnote linked outside the book": (
        lambda b: link_out(b, "headnotes/alpha.md"),
        "headnotes/alpha.md",
        None,
        ("E025", "the headnote of 'alpha':", "elsewhere/alpha.md) is outside the book folder", OUTSIDE_HINT),
    ),
    "headnotes folder linked outside the book": (
        lambda b: (
            shutil.move(b / "headnotes", b.parent / "elsewhere-headnotes"),
            (b / "headnotes").symlink_to(b.parent / "elsewhere-headnotes"),
        ),
        "headnotes/alpha.md",
        None,
        ("E025", "the headnote of 'alpha':", "elsewhere-headnotes/alpha.md) is outside the book folder", OUTSIDE_HINT),
    ),
    "front matter linked outside the book": (
        lambda b: link_out(b, "front/introduction.md"),
        "book.yaml",
        "front: [introduction]",
        ("E025", "front matter 'introduction':", "is outside the book folder", OUTSIDE_HINT),
    ),
    "bibliography linked outside the book": (
        lambda b: link_out(b, "references.yaml"),
        "references.yaml",
        None,
        ("E025", "the book's references.yaml:", "is outside the book folder", OUTSIDE_HINT),
    ),
    "recipe linked outside the book": (
        lambda b: (
            (b / "sources").mkdir(),
            elsewhere(b, "alpha.yaml", "meta: {}\n"),
            link_out_as(b, "sources/alpha.yaml"),
        ),
        "sources/alpha.yaml",
        None,
        ("E025", "the book's sources/alpha.yaml:", "elsewhere/alpha.yaml) is outside the book folder", OUTSIDE_HINT),
    ),
    "citation style given as a path outside the book": (
        lambda b: append(
            b / "book.yaml",
            "citation_style: "
            + str(elsewhere(b, "house.csl", (STYLES / "csl" / "chicago-note-bibliography-with-ibid.csl").read_text()))
            + "\n",
        ),
        "book.yaml",
        "citation_style:",
        ("E025", "citation_style:", "elsewhere/house.csl is outside the book folder", OUTSIDE_HINT),
    ),
    "duplicate key in book.yaml": (
        lambda b: append(b / "book.yaml", "title: A Second Title\n"),
        "book.yaml",
        "title: A Second Title",
        ("E004", "key 'title' is given twice, on lines 3 and", "hint: keep one of them"),
    ),
    "duplicate key in front matter": (
        lambda b: edit(b / "texts" / "alpha.md", "rights: cleared\n", "rights: cleared\ntitle: Another Title\n"),
        "alpha.md",
        "title: Another Title",
        ("E004", "key 'title' is given twice, on lines 2 and", "hint: keep one of them"),
    ),
    "YAML alias bomb in front matter": (
        lambda b: edit(b / "texts" / "beta.md", "source: beta.txt\n", "source: beta.txt\n" + ALIAS_BOMB),
        "beta.md",
        "g: &g",  # the first node whose values, aliases expanded, pass the limit
        ("E005", f"its aliases expand to more than {MAX_YAML_NODES:,} values", "hint: write the values out"),
    ),
    "YAML nested too deep": (
        lambda b: append(b / "book.yaml", "deep: " + "[" * 300 + "]" * 300 + "\n"),
        "book.yaml",
        "deep: [[[",
        ("E005", f"nested more than {MAX_YAML_DEPTH} levels deep", "hint: write the values out"),
    ),
    "misspelt front-matter key": (
        lambda b: edit(b / "texts" / "alpha.md", "authors: [Ada Writer]", "author: [Ada Writer]"),
        "alpha.md",
        "author: [Ada Writer]",
        (
            "E022",
            "front matter key 'author': unknown key; did you mean 'authors'?",
            "hint: the keys of this text's front matter: title, subtitle, authors",
        ),
    ),
    "text too large": (
        lambda b: too_large(b / "texts" / "beta.md"),
        "beta.md",
        "BEYOND the limit",
        ("E026", f"the text passes {MAX_TEXT_BYTES:,} bytes", "hint: split it into several texts"),
    ),
    "paragraph too long": (
        lambda b: append(b / "texts" / "beta.md", "\nLongwinded " + "word " * (MAX_PARAGRAPH_CHARS // 5) + "\n"),
        "beta.md",
        "Longwinded word",
        ("E027", f"characters; the limit is {MAX_PARAGRAPH_CHARS:,}", "hint: separate its paragraphs"),
    ),
    "form feed in a text": (
        lambda b: append(b / "texts" / "beta.md", "\nA page ends here.\x0cAnd the next one begins.\n"),
        "beta.md",
        "A page ends here.",
        (
            "E028",
            "a form feed (U+000C): a control character a text may not hold",
            "hint: delete it: a form feed is a page break that pdftotext left",
        ),
    ),
    "NUL in a text": (
        lambda b: append(b / "texts" / "beta.md", "\nA stray\x00byte.\n"),
        "beta.md",
        "A stray",
        ("E028", "a null character (U+0000): a control character", "hint: delete it: no text holds it"),
    ),
    "trim of zero width": (
        lambda b: edit(b / "book.yaml", "trim: 6x9in", "trim: 0x9in"),
        "book.yaml",
        "trim: 0x9in",
        (
            "E012",
            "key 'trim': trim '0x9in' (0 x 9 in) is not a page a printer takes",
            f"each side {TRIM_SIDE_IN[0]:g} to {TRIM_SIDE_IN[1]:g} in",
        ),
    ),
    "date not of the calendar": (
        lambda b: edit(b / "book.yaml", 'date: "2026"', 'date: "2026-13-45"'),
        "book.yaml",
        "date:",
        ("E013", "key 'date': '2026-13-45' is not a date of the calendar: month must be in 1..12", "hint: write"),
    ),
    "ISBN with a wrong check digit": (
        lambda b: append(b / "book.yaml", 'isbn: "978-0-00-000000-3"\n'),
        "book.yaml",
        "isbn:",
        ("E014", "ISBN '978-0-00-000000-3' is not a valid ISBN-10 or ISBN-13", "hint: copy the ISBN"),
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
    result = run_build(book, out, hang_guard=HANG_GUARD)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR, output
    assert "Traceback" not in output, output
    if line_text is None:  # a file found by its name (a link), not a line in it
        assert f"{file_name}: error " in output, f"{file_name} not named:\n{output}"
    else:
        expected_line = line_text if isinstance(line_text, int) else line_of(named, line_text)
        assert f"{file_name}:{expected_line}:" in output, f"line {expected_line} not named:\n{output}"
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert snapshot(out) == before, "a failed build changed the previous outputs"


def test_a_key_given_twice_is_named_at_both_lines_in_every_kind_of_yaml(tmp_path):
    """book.yaml, a text's front matter, index.yaml, references.yaml and a recipe: each names the key's first line
    and the line that repeats it (YAML itself would keep the second silently)."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    append(book / "book.yaml", "slug: minibook-again\n")
    edit(book / "texts" / "beta.md", "source: beta.txt\n", "source: beta.txt\nauthors: [Someone]\n")
    (book / "index.yaml").write_text("entries:\n  - term: Lenin\n    term: Trotsky\n", encoding="utf-8")
    edit(book / "references.yaml", "  publisher: Pluto\n", "  publisher: Pluto\n  publisher: Bookmarks\n")
    (book / "sources").mkdir()
    (book / "sources" / "one.yaml").write_text(ingest_recipe("  lists: true\n  lists: false\n"), encoding="utf-8")
    beta, recipe = book / "texts" / "beta.md", book / "sources" / "one.yaml"
    cases = [
        (lambda: load_book(book), book / "book.yaml", "slug", ("slug: minibook", "slug: minibook-again")),
        (lambda: load_plain(beta, "beta", "chapter"), beta, "authors", ("authors: []", "authors: [Someone]")),
        (lambda: load_spec(book), book / "index.yaml", "term", ("term: Lenin", "term: Trotsky")),
        (lambda: load_yaml(recipe), recipe, "lists", ("lists: true", "lists: false")),
        (
            lambda: load_entries(book / "references.yaml"),
            book / "references.yaml",
            "publisher",
            ("publisher: Pluto", "publisher: Bookmarks"),
        ),
    ]
    for load, path, key, (first, second) in cases:
        with pytest.raises(BuildError) as raised:
            load()
        [diagnostic] = raised.value.diagnostics
        lines = (line_of(path, first), line_of(path, second))
        assert (diagnostic.code, diagnostic.file, diagnostic.line) == ("E004", path, lines[1])
        assert diagnostic.message == f"key '{key}' is given twice, on lines {lines[0]} and {lines[1]}"
        assert diagnostic.hint == "keep one of them: YAML would silently use the last"


def test_a_byte_order_mark_is_not_part_of_the_text(tmp_path):
    """A UTF-8 file that starts with a byte order mark (as some Windows editors save it) reads as without it:
    book.yaml, a chapter's and a headnote's front matter and body are all found, and equal the unmarked book's."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    for name in ("book.yaml", "texts/alpha.md", "headnotes/alpha.md"):
        (book / name).write_bytes(b"\xef\xbb\xbf" + (book / name).read_bytes())
    loaded, plain = load_book(book), load_book(MINIBOOK)
    assert loaded.config == plain.config
    assert [(t.slug, t.meta, t.body, t.body_line) for t in loaded.texts] == [
        (t.slug, t.meta, t.body, t.body_line) for t in plain.texts
    ]


def test_a_recipe_problem_names_the_recipe_and_every_recipe_is_reported(tmp_path):
    """`invoke ingest --check`: a character YAML may not hold (a form feed pasted into a title) is named at its
    recipe and line (it was `<unicode string>`), a key given twice at both lines, a source that is a link out of
    the book is refused (nothing of it printed), and a `meta:` key the front matter would refuse is named at the
    recipe; all four in one run."""
    sources = tmp_path / "book" / "sources"
    sources.mkdir(parents=True)
    recipes = {
        "feed": ingest_recipe("  lists: true\n").replace("title: A", "title: A\x0cB"),
        "twice": ingest_recipe("  lists: true\n  lists: false\n"),
        "linked": ingest_recipe("  lists: true\n"),
        "misspelt": ingest_recipe("  lists: true\n").replace("  title: A\n", "  title: A\n  author: [Ada]\n"),
    }
    for slug, recipe in recipes.items():
        (sources / f"{slug}.txt").write_text("Title\n\nA paragraph.\n", encoding="utf-8")
        (sources / f"{slug}.yaml").write_text(recipe.replace("a.txt", f"{slug}.txt"), encoding="utf-8")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("Secret\n\nNot the book's.\n", encoding="utf-8")
    (sources / "linked.txt").unlink()
    (sources / "linked.txt").symlink_to(outside)
    status, output = run_ingest(tmp_path / "book", "--check")
    assert status == EXIT_INPUT_ERROR and "Traceback" not in output, output
    assert "<unicode string>" not in output and "Secret" not in output, output
    feed, twice, linked, misspelt = (sources / f"{slug}.yaml" for slug in recipes)
    expected = f"{feed}:{line_of(feed, 'title: A')}: error E001: malformed YAML: unacceptable character #x000c"
    assert expected in output, output
    first, second = line_of(twice, "lists: true"), line_of(twice, "lists: false")
    assert f"{twice}:{second}: error E004: key 'lists' is given twice, on lines {first} and {second}" in output
    assert f"{linked}: error E203: {sources / 'linked.txt'} (a link to {outside}) is outside the book" in output
    expected = (
        f"{misspelt}:{line_of(misspelt, 'author:')}: error E203: meta.author: unknown key; did you mean 'authors'?"
    )
    assert expected in output, output
    assert output.count("hint: ") == 4, output


def test_invoke_check_reports_every_problem_of_every_text_without_laying_out(tmp_path):
    """`invoke check` finds what the build would refuse, every text's problems in one run: a misspelt key, a form
    feed and an overlong paragraph in three texts; then a trim no printer takes (which the build found only when
    laying out). It writes nothing: the book's output folder is never made."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    slug = f"check-only-{os.getpid()}"
    edit(book / "book.yaml", "slug: minibook", f"slug: {slug}")
    edit(book / "texts" / "alpha.md", "authors: [Ada Writer]", "author: [Ada Writer]")
    append(book / "texts" / "beta.md", "\nA page ends here.\x0cAnd the next one begins.\n")
    append(book / "front" / "introduction.md", "\nLongwinded " + "word " * (MAX_PARAGRAPH_CHARS // 5) + "\n")
    command = [sys.executable, "-m", "invoke", "check", "--book", str(book)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR and "Traceback" not in output, output
    alpha, beta, intro = book / "texts" / "alpha.md", book / "texts" / "beta.md", book / "front" / "introduction.md"
    assert f"{alpha}:{line_of(alpha, 'author:')}: error E022: front matter key 'author': unknown key" in output
    assert f"{beta}:{line_of(beta, 'A page ends here')}: error E028: a form feed" in output
    assert f"{intro}:{line_of(intro, 'Longwinded')}: error E027: a paragraph of" in output
    assert output.count("hint: ") == 3, output
    edit(book / "book.yaml", "trim: 6x9in", "trim: 0x9in")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR and "Traceback" not in output, output
    config = book / "book.yaml"
    assert f"{config}:{line_of(config, 'trim:')}: error E012: key 'trim': trim '0x9in'" in output, output
    assert not (ROOT / "build" / slug).exists(), "invoke check made the book's output folder"


def note_problems(tmp_path: Path, body: str) -> list[tuple[str, int | None]]:
    """The (code, line) of each problem the safety checks find in a text with this body (from line 4)."""
    path = tmp_path / "text.md"
    path.write_text(f"---\ntitle: T\n---\n{body}")
    text = load_plain(path, "text", "chapter")
    ast = pandoc.markdown_to_ast(text.body, source=path, line_offset=text.body_line - 1)
    return [(item.code, item.line) for item in check_text(ast, text, tmp_path).items]


def test_escaped_note_brackets_are_text_and_unescaped_ones_an_unclosed_note(tmp_path):
    """`\\^\\[` and `\\[\\^` written on purpose are text; the same brackets unescaped open a note never closed."""
    closed = "A note.^[A real one.] Another.[^1]\n\n[^1]: Its text.\n\n"
    assert note_problems(tmp_path, closed + "A caret \\^\\[ and \\[\\^ as text.\n") == []
    assert note_problems(tmp_path, closed + "Text.\n\nA caret ^[ never closed.\n") == [("E055", 10)]


def test_a_remote_a_missing_and_an_outside_image_are_three_problems(tmp_path):
    """Each image problem has its own code: a remote image, a missing one, one outside the book folder."""
    book = tmp_path / "book"
    book.mkdir()
    (tmp_path / "outside.png").write_bytes(b"")
    body = "![a](https://example.com/a.png)\n\n![b](images/none.png)\n\n![c](../outside.png)\n"
    assert note_problems(book, body) == [("E050", 4), ("E051", 6), ("E056", 8)]


def ingest_recipe(rules: str) -> str:
    return f"source: a.txt\nreceived_as: a.txt\nsha256: '0'\nmeta:\n  title: A\nrules:\n{rules}"


def test_two_broken_recipes_are_both_reported_by_ingest_check(tmp_path):
    """`invoke ingest --check` reports the problems of every source in one run, each as `file:line: error CODE`
    with a hint, exit status 2 and no traceback."""
    sources = tmp_path / "book" / "sources"
    sources.mkdir(parents=True)
    for slug, rules in (("one", "  title_lines: [first]\n"), ("two", "  headingz: {}\n")):
        (sources / f"{slug}.txt").write_text("Title\n\nA paragraph.\n", encoding="utf-8")
        (sources / f"{slug}.yaml").write_text(ingest_recipe(rules), encoding="utf-8")
    status, output = run_ingest(tmp_path / "book", "--check")
    assert status == EXIT_INPUT_ERROR and "Traceback" not in output, output
    one, two = sources / "one.yaml", sources / "two.yaml"
    assert f"{one}:{line_of(one, 'title_lines:')}: error E203: rules.title_lines[0]: " in output, output
    assert f"{two}:{line_of(two, 'headingz:')}: error E203: rules.headingz: " in output, output
    assert output.count("hint: ") == 2, output


def test_all_problems_are_reported_together(previous, tmp_path):
    out, before = previous
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    append(book / "texts" / "alpha.md", "\n![remote](http://example.com/a.png)\n")
    append(book / "texts" / "beta.md", "\n![missing](nope.png)\n")
    result = run_build(book, out)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR, output
    assert f"alpha.md:{line_of(book / 'texts' / 'alpha.md', 'example.com/a.png')}: error E050" in output
    assert f"beta.md:{line_of(book / 'texts' / 'beta.md', 'nope.png')}: error E051" in output
    assert snapshot(out) == before


# ---- Markup in a title ---------------------------------------------------------------------------------------------

HOSTILE = "Tea </title><script>alert(1)</script> {{ 7*7 }}"


def without_spaces(text: str) -> str:
    """PDF text extraction breaks lines where the layout did (`</` / `script>`): compare without white space."""
    return "".join(text.split())


def assert_site_escaped(folder: Path) -> None:
    """Every page parses with the title as text: in <title> (so `</title>` did not close it), in the chapter's
    heading, in JSON-LD data and the search index as a string; no inline script but JSON-LD and those written
    verbatim in the site's templates (the reader's theme, a headnote's fold); no template ran."""
    templates = "".join(path.read_text() for path in (STYLES / "templates" / "site").glob("*.j2"))
    for page in sorted(folder.glob("*.html")):
        root = lxml_html.parse(str(page)).getroot()
        for script in root.iter("script"):
            ours = script.get("src") or script.get("type") == "application/ld+json" or script.text in templates
            assert ours and script.text != "", (page, script.text)
            if script.get("type") == "application/ld+json":
                json.loads(script.text)
        assert "<script>alert" not in page.read_text(), page
        assert "49" not in root.text_content().replace("2026", ""), page
    alpha = lxml_html.parse(str(folder / "alpha.html")).getroot()
    assert HOSTILE in alpha.findtext(".//title")
    assert [h1.text_content() for h1 in alpha.iter("h1")] == [HOSTILE]
    assert HOSTILE in lxml_html.parse(str(folder / "index.html")).getroot().findtext(".//title")
    index = (folder / "assets" / "search-index.js").read_text().strip()
    data = json.loads(index.removeprefix("window.anthologySearchIndex = ").removesuffix(";"))
    assert ["Chapter 1: " + HOSTILE, "alpha.html"] in data["texts"]


def assert_epub_escaped(path: Path, subtitle: str) -> None:
    """The package's dc:title, the contents, and the title page's and the chapter's <title> and heading carry the
    title as written; every file is well-formed XML and holds no script."""
    with zipfile.ZipFile(path) as archive:
        trees = {
            name: etree.fromstring(archive.read(name))
            for name in archive.namelist()
            if name.endswith((".xhtml", ".opf", ".ncx"))
        }
    for name, tree in trees.items():
        assert not tree.xpath("//*[local-name()='script']"), name
    opf = next(tree for name, tree in trees.items() if name.endswith(".opf"))
    titles = opf.xpath("//dc:title/text()", namespaces={"dc": "http://purl.org/dc/elements/1.1/"})
    assert titles == [f"{HOSTILE}: {subtitle}"], titles  # one dc:title: the title and its subtitle
    nav = next(tree for name, tree in trees.items() if name.endswith("nav.xhtml"))
    assert any(HOSTILE in link.xpath("string()") for link in nav.xpath("//*[local-name()='a']"))  # as text
    xhtml = [tree for name, tree in trees.items() if name.endswith(".xhtml")]
    titled = [tree for tree in xhtml if tree.xpath("string(//*[local-name()='title'])") == HOSTILE]
    assert len(titled) == 2  # the title page and the chapter
    for tree in titled:
        headings = tree.xpath("//*[local-name()='h1' or local-name()='h2']")
        assert any(heading.xpath("string()").strip().endswith(HOSTILE) for heading in headings)


def assert_pdf_escaped(path: Path) -> None:
    """The title is printed as written (half-title, title page, contents, chapter opener) and names the document."""
    pages = [without_spaces(text) for text in pdf_pages_text(path)]
    assert sum(without_spaces(HOSTILE) in text for text in pages) >= 4, pages
    assert not any("49" in text.replace("2026", "") for text in pages if "{{" in text)
    assert str(PdfReader(path).metadata.title).startswith(HOSTILE)


def test_markup_in_metadata_and_text_is_escaped_in_every_edition(tmp_path):
    """`</title><script>…` and `{{ }}` in the book's and a chapter's title are text in all four outputs."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    edit(book / "book.yaml", "title: A Small Test Book", f'title: "{HOSTILE}"')
    edit(book / "texts" / "alpha.md", "title: The First Chapter", f'title: "{HOSTILE}"')
    out = tmp_path / "out"
    result = run_build(book, out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_site_escaped(out / "html")
    assert_epub_escaped(out / "minibook.epub", load_book(book).config.subtitle)
    for pdf in (out / "minibook.pdf", out / "minibook-screen.pdf"):
        assert_pdf_escaped(pdf)


# ---- Size ----------------------------------------------------------------------------------------------------------

OPENING, CLOSING = "Aardvarkopening", "Zymurgyclosing"


def paragraph_at_the_limit() -> str:
    """One paragraph of the longest length a text may hold, with words found nowhere else at its start and end."""
    text = " ".join([OPENING, *(f"word{n % 997}" for n in range(MAX_PARAGRAPH_CHARS // 6))])
    cut = text.rindex(" ", 0, MAX_PARAGRAPH_CHARS - len(CLOSING))
    return f"{text[:cut]} {CLOSING}"


@pytest.mark.book  # a layout of some fifty pages more than the fixture book's
def test_a_paragraph_as_long_as_the_limit_builds(tmp_path):
    """The build of a paragraph as long as one may be (far longer than any page) finishes, and all four outputs
    carry the whole paragraph: a text within the limits is not refused, truncated or left unbuilt."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    paragraph = paragraph_at_the_limit()
    assert len(paragraph) <= MAX_PARAGRAPH_CHARS < len(paragraph) + 20
    append(book / "texts" / "beta.md", f"\n{paragraph}\n")
    out = tmp_path / "out"
    result = run_build(book, out, hang_guard=HANG_GUARD)
    assert result.returncode == 0, result.stdout + result.stderr
    site = lxml_html.parse(str(out / "html" / "beta.html")).getroot()
    assert paragraph in [p.text_content() for p in site.iter("p")]
    with zipfile.ZipFile(out / "minibook.epub") as archive:
        xhtml = [lxml_html.fromstring(archive.read(n)) for n in archive.namelist() if n.endswith(".xhtml")]
    assert paragraph in [p.text_content() for tree in xhtml for p in tree.iter("{*}p", "p")]
    for pdf in (out / "minibook.pdf", out / "minibook-screen.pdf"):
        assert_pdf_carries(pdf_pages_text_fast(pdf), paragraph)


def assert_pdf_carries(pages: list[str], paragraph: str) -> None:
    """The paragraph's first and last words, in that order, and its words on every page between them."""
    squeezed = [letters(page) for page in pages]
    first = next(n for n, page in enumerate(squeezed) if letters(OPENING) in page)
    last = next(n for n, page in enumerate(squeezed) if letters(CLOSING) in page)
    assert last - first >= len(paragraph) // 3000, (first, last)  # about 2,300 characters a page
    assert all("word" in page for page in pages[first : last + 1])


def test_fifty_thousand_footnotes_fail_cleanly(previous, tmp_path, monkeypatch):
    """Beyond the notes one text may have, the build stops and leaves the previous outputs alone; it stops before
    pandoc parses the text (the notes are counted in the Markdown), since pandoc's parse of so many notes is the
    slow part of such a build."""
    out, before = previous
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    calls = "\n\n".join(" ".join(f"w[^x{n}]" for n in range(k, k + 1000)) for k in range(1, 50_001, 1000))
    notes = "\n".join(f"[^x{n}]: n{n}" for n in range(1, 50_001))
    append(book / "texts" / "beta.md", f"\n{calls}\n\n{notes}\n")
    result = run_build(book, out, hang_guard=HANG_GUARD)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR and "Traceback" not in output, output
    assert f"beta.md:{line_of(book / 'texts' / 'beta.md', 'Opening sentence of beta')}: error E054" in output
    assert "50001 notes in one text; the limit is 5000" in output  # beta's own note and the 50,000
    assert snapshot(out) == before
    # The same build in this process, every pandoc run it makes recorded (the cache is not read: each run is one).
    given: list[str | bytes] = []
    run_pandoc = pandoc.run_pandoc

    def recorded(args: list[str], stdin: str | bytes = "", *rest: Any, **options: Any) -> str:
        given.append(stdin)
        return run_pandoc(args, stdin, *rest, **options)

    monkeypatch.setattr(pandoc, "run_pandoc", recorded)
    monkeypatch.setenv(DISABLE_VARIABLE, "pandoc-cache")
    with pytest.raises(BuildError) as stopped:
        build(Project(book_dir=book, styles_dir=STYLES, build_dir=tmp_path / "again"), ["html"])  # same resolve
    assert [diagnostic.code for diagnostic in stopped.value.diagnostics] == ["E054"]
    assert given, "the build ran pandoc on nothing: the record of its runs is not working"
    parsed = [stdin for stdin in given if "[^x50000]" in (stdin if isinstance(stdin, str) else stdin.decode())]
    assert parsed == [], "pandoc was given the text with 50,000 notes before the build stopped"


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


def test_a_second_build_into_a_folder_being_written_stops(previous, tmp_path):
    """While a build holds the output folder's lock, another build into it stops at once and writes nothing."""
    out, before = previous
    with open(out / ".build.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        result = run_build(MINIBOOK, out)
        fcntl.flock(handle, fcntl.LOCK_UN)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR and "Traceback" not in output, output
    assert f"{out}: error E060: another build is writing to {out} (process {os.getpid()})" in output
    assert snapshot(out) == before


@pytest.mark.book
def test_non_utf8_source_stops_ingest_with_file_and_line_and_keeps_the_texts(tmp_path):
    """A raw source in another encoding (here cp1252) is reported by `invoke ingest`, not decoded wrongly, and no
    text is rewritten: not even those of the sources before it (one is edited here, so a rewrite would show)."""
    book = tmp_path / "book"
    shutil.copytree(ROOT / "book", book)
    append(book / "texts" / "collins-final-part.md", "\nAn edit that only a rewrite would undo.\n")
    before = snapshot(book / "texts")
    source = book / "sources" / "hampton-bureaucracy.txt"
    lines = source.read_bytes().split(b"\n")
    lines[10] += " caf\u00e9".encode("cp1252")  # one line pasted from a Windows editor
    source.write_bytes(b"\n".join(lines))
    status, output = run_ingest(book)
    assert status == EXIT_INPUT_ERROR and "Traceback" not in output, output
    assert "hampton-bureaucracy.txt:11: error E219: not valid UTF-8 (byte 0xe9)" in output
    assert snapshot(book / "texts") == before


def test_a_pandoc_io_error_is_one_diagnostic_naming_the_file_without_its_backtrace(tmp_path):
    """pandoc follows an I/O error with a GHC backtrace, a line per frame: the diagnostics keep the message, which
    names the file, and drop the frames (they filled a failed build's last lines instead of it)."""
    missing = tmp_path / "missing.md"
    with pytest.raises(BuildError) as raised:
        pandoc.run_pandoc([str(missing), "--to", "html"])
    messages = [diagnostic.message for diagnostic in raised.value.diagnostics]
    assert len(messages) == 1, messages
    assert str(missing) in messages[0] and "does not exist" in messages[0]
