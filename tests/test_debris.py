"""`invoke check` warns about what a cleaned text still holds that looks like the source's debris (issue 27): each
kind planted in a copy of the minibook is reported at its line with a hint naming the recipe rule; the clean
minibook, a language span and addresses with digits give no such warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from anthology.check.book import check_book
from anthology.check.debris import debris_warnings
from anthology.diagnostics import Diagnostic
from anthology.load import load_book
from anthology.model import Project
from conftest import MINIBOOK, STYLES

DEBRIS = ("W103", "W104", "W105", "W106")

# (what is planted, the code, what the hint must name); each planted as a paragraph of its own.
PLANTED = [
    ("A verse line,<br/>and the next.", "W103", "rules.rewrite"),
    ("<div>A paragraph in a wrapper.</div>", "W103", "rules.rewrite"),
    ("Words&nbsp;kept apart by an entity.", "W104", "rules.rewrite"),
    ("A sentence with its call left in.[12] And more.", "W105", "style: bracketed"),
    ("A sentence whose call is glued to a word like this word12 here.", "W105", "style: endnotes"),
    ("A sentence whose call is a superscript.¹⁴ More.", "W105", "style: superscript"),
]
HEADER = "The Test Review"


def plant(book: Path, paragraphs: list[str]) -> list[int]:
    """Add paragraphs before alpha.md's note definitions; their line numbers in the file."""
    path = book / "texts" / "alpha.md"
    lines = path.read_text(encoding="utf-8").split("\n")
    at = lines.index("Closing sentence of alpha.")
    added = [line for paragraph in paragraphs for line in (paragraph, "")]
    path.write_text("\n".join(lines[:at] + added + lines[at:]), encoding="utf-8")
    return [at + 1 + 2 * index for index in range(len(paragraphs))]


def debris(project: Project) -> list[Diagnostic]:
    return [d for d in check_book(project).items if d.code in DEBRIS]


def test_the_clean_minibook_has_no_debris(tmp_path: Path) -> None:
    assert debris(Project(MINIBOOK, STYLES, tmp_path)) == []


def test_each_planted_kind_is_warned_at_its_line(book_copy: Path, tmp_path: Path) -> None:
    lines = plant(book_copy, [paragraph for paragraph, _, _ in PLANTED])
    found = debris(Project(book_copy, STYLES, tmp_path))
    for line, (paragraph, code, rule) in zip(lines, PLANTED, strict=True):
        at_line = [d for d in found if d.line == line]
        assert at_line, f"nothing reported for {paragraph!r} (line {line})"
        assert {d.code for d in at_line} == {code}
        assert all(d.file == book_copy / "texts" / "alpha.md" and rule in (d.hint or "") for d in at_line)
    assert {d.line for d in found} == set(lines)
    assert len([d for d in found if d.line == lines[1]]) == 2  # <div> and </div>


def test_a_page_header_repeated_through_a_text_is_warned(book_copy: Path) -> None:
    lines = plant(book_copy, [f"{HEADER} {page}" for page in (41, 42, 43)])
    found = [d for d in debris_warnings(list(load_book(book_copy).chapters)).items if d.code == "W106"]
    assert [d.line for d in found] == [lines[0]]
    assert HEADER in found[0].message and "rules.remove" in (found[0].hint or "")
    assert r"The Test Review \d+" in (found[0].hint or "")


def test_the_same_header_without_numbers_is_named_for_page_headers(book_copy: Path) -> None:
    plant(book_copy, [HEADER] * 3)
    (found,) = [d for d in debris_warnings(list(load_book(book_copy).chapters)).items if d.code == "W106"]
    assert f"add '{HEADER}' to rules.page_headers" in (found.hint or "")


@pytest.mark.parametrize(
    "paragraph",
    [
        'A word in Russian, <span lang="ru">слово</span>, marked as such.',
        "An address, <https://example.org/page12?a=1&amp;b=2>, and [a link](https://example.org/ch12).",
        "A year in brackets [1927], a citation [@serge-year-one, 40] and a ratio 12:3.",
        "A short line.",  # once, or twice, is not a header
        "A short line.",
    ],
)
def test_what_is_meant_is_not_debris(book_copy: Path, paragraph: str) -> None:
    plant(book_copy, [paragraph, "A short line."])
    assert debris_warnings(list(load_book(book_copy).chapters)).items == []
