"""Cross-references: `[@xref:…]` citations become links naming their target, with the page in print; a dangling one
stops the build naming its file and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from anthology.ast import stringify, walk
from anthology.load import load_book
from anthology.resolve.book import resolve_book
from conftest import ROOT, STYLES

XREFS = """
See [@xref:alpha], [@xref:alpha#a-numbered-section], [see @xref:alpha#fn2, below] and
[@xref:alpha#membership; @xref:beta#a-section]; the part: [@xref:part-1]; here: [@{xref:#why}].
"""


def add_xrefs(book: Path, text: str = XREFS) -> None:
    intro = book / "front" / "introduction.md"
    intro.write_text(intro.read_text() + text)
    alpha = book / "texts" / "alpha.md"
    alpha.write_text(alpha.read_text().replace("Table: Party membership.", "Table: Party membership. {#membership}"))


def xref_links(blocks: list[dict]) -> list[tuple[str, str, str]]:
    return [
        (node["c"][0][1][1], node["c"][2][0], stringify(node["c"][1]))
        for node in walk(blocks)
        if node["t"] == "Link" and "xref" in node["c"][0][1]
    ]


def test_each_kind_of_target_gets_its_link_and_wording(book_copy):
    add_xrefs(book_copy)
    resolved = resolve_book(load_book(book_copy), STYLES)
    links = xref_links(resolved.texts["introduction"].blocks)
    assert links == [
        ("chapter", "#alpha", "Chapter 1, “The First Chapter”"),
        ("section", "#alpha--a-numbered-section", "Chapter 1, § 1. A Numbered Section"),
        # the second note as written is printed fifth: citeproc makes notes of the three citations before it
        ("note", "#alpha--note-2", "Chapter 1, note 5"),
        ("table", "#alpha--membership", "Chapter 1, table 1"),
        ("section", "#beta--a-section", "Chapter 2, § A Section"),
        ("part", "#part-1", "Part 1, “The Only Part”"),
        ("section", "#introduction--why", "Introduction, § Why"),
    ]
    ids = set(resolved.owner_of()) | {part.anchor for part in resolved.book.parts}
    assert all(href[1:] in ids for _, href, _ in links)  # the note's anchor was inserted at its call
    text = stringify(resolved.texts["introduction"].blocks)
    assert "see Chapter 1, note 5, below" in text  # prefix and suffix kept around the link
    assert not any(node["t"] == "Cite" for node in walk(resolved.texts["introduction"].blocks))


def test_wording_comes_from_book_yaml(book_copy):
    config = book_copy / "book.yaml"
    config.write_text(config.read_text() + 'crossref:\n  in_chapter: "ch. {number}"\n  section: "section “{title}”"\n')
    add_xrefs(book_copy, "See [@xref:beta#a-section].\n")
    resolved = resolve_book(load_book(book_copy), STYLES)
    assert [label for _, _, label in xref_links(resolved.texts["introduction"].blocks)] == [
        "ch. 2, section “A Section”"
    ]


def run_build(book: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", "build", "--book", str(book), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "1000"},  # one diagnostic per line
    )


def test_dangling_references_all_stop_the_build_with_file_and_line(book_copy, tmp_path):
    intro = book_copy / "front" / "introduction.md"
    add_xrefs(book_copy, "\nA good one: [@xref:beta].\n\nA bad one: [@xref:alpha#no-such-section].\n")
    headnote = book_copy / "headnotes" / "alpha.md"
    headnote.write_text(headnote.read_text() + "\nAnd [@xref:betta] too, and [@xref:alpha#fn9].\n")
    result = run_build(book_copy, tmp_path / "out")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    intro_line = intro.read_text().split("\n").index("A bad one: [@xref:alpha#no-such-section].") + 1
    head_line = headnote.read_text().split("\n").index("And [@xref:betta] too, and [@xref:alpha#fn9].") + 1
    assert f"introduction.md:{intro_line}: error E075" in output and "alpha#no-such-section" in output, output
    assert f"alpha.md:{head_line}: error E075" in output and "'@xref:betta'" in output, output
    assert "'@xref:alpha#fn9'" in output  # alpha has two notes: all three reported together
    assert "did you mean '@xref:beta'?" in output  # a near miss gets a suggestion
    assert not (tmp_path / "out" / "minibook.pdf").exists()


def test_print_form_carries_the_measured_page_instead_of_target_counter(book_copy):
    add_xrefs(book_copy, "See [@xref:beta#a-section].\n")
    resolved = resolve_book(load_book(book_copy), STYLES)
    printed = resolved.print_overrides["introduction"]({"beta--a-section": 7})
    links = [node for node in walk(printed) if node["t"] == "Link" and node["c"][2][0] == "#beta--a-section"]
    assert [(node["c"][0][1], stringify(node["c"][1])) for node in links] == [
        (["xref-print", "section"], "Chapter 2, § A Section, p.\u00a07")  # no a.xref: the CSS adds no second page
    ]
    assert xref_links(resolved.texts["introduction"].blocks)  # the screen form is untouched
