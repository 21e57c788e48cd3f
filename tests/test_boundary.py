"""The bounds of the input, unit by unit: which paths are inside the book folder, what a paragraph is for its
limit, which characters are control characters, what a YAML document may stand for, and an ISBN's check digit.
The messages the user sees for each are tested in test_bad_input.py."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from anthology.config import isbn_valid
from anthology.limits import (
    MAX_PARAGRAPH_CHARS,
    MAX_TEXT_BYTES,
    control_characters,
    inside,
    long_paragraphs,
    oversize_line,
)
from anthology.yamlfile import MAX_YAML_DEPTH, MAX_YAML_NODES, YamlLimitError, safe_load


def test_inside_follows_links_both_ways(tmp_path):
    """A link inside the book to a file outside is outside; a link to a file of the book is inside; a path that
    climbs out with `..` is outside whether or not it exists."""
    book, outside = tmp_path / "book", tmp_path / "outside.md"
    (book / "texts").mkdir(parents=True)
    outside.write_text("x")
    (book / "texts" / "real.md").write_text("x")
    (book / "texts" / "out.md").symlink_to(outside)
    (book / "texts" / "in.md").symlink_to(book / "texts" / "real.md")
    assert inside(book / "texts" / "real.md", book)
    assert inside(book / "texts" / "in.md", book)
    assert not inside(book / "texts" / "out.md", book)
    assert not inside(book / ".." / "outside.md", book)
    assert not inside(book / ".." / "nothing.md", book)
    linked_book = tmp_path / "linked-book"
    linked_book.symlink_to(book)  # the book folder reached through a link: its own files are still inside
    assert inside(linked_book / "texts" / "real.md", linked_book)


def test_a_paragraph_is_a_run_of_lines_and_notes_list_items_and_rows_are_blocks_of_their_own():
    """Lines joined by soft breaks add up to one paragraph; notes, list items and table rows are measured apart,
    so a long list or a text with many notes is not one overlong paragraph."""
    half = "word " * (MAX_PARAGRAPH_CHARS // 10)
    assert [f.line for f in long_paragraphs(f"Title\n\n{half}\n{half}\n{half}\n\nEnd.\n")] == [3]
    notes = "\n".join(f"[^{n}]: {half}" for n in range(3))
    items = "\n".join(f"- {half}" for n in range(3))
    rows = "\n".join(f"| {half} |" for n in range(3))
    assert long_paragraphs(f"Text.\n\n{notes}\n\n{items}\n\n{rows}\n") == []
    exactly = "x" * MAX_PARAGRAPH_CHARS
    assert long_paragraphs(exactly) == []
    assert [f.line for f in long_paragraphs(exactly + "x")] == [1]


def test_control_characters_are_found_once_each_with_their_first_line():
    text = "ok\tline\r\nform\x0cfeed\n\nagain\x0c\nnul\x00 and C1\x85\n"
    found = [(f.line, f.message) for f in control_characters(text)]
    assert found == [
        (2, "a form feed (U+000C) (and on 1 more lines)"),
        (5, "a null character (U+0000)"),
        (5, "a control character (U+0085)"),
    ]


def billion_laughs(levels: int) -> str:
    text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for previous, name in itertools.pairwise("abcdefghijklmnop"[:levels]):
        text += f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    return text


def test_aliases_are_counted_as_what_they_stand_for_before_any_data_is_built():
    """A few aliases stand for their whole node each time; a document within the limits loads as YAML would, one
    beyond them is refused by every reader of YAML (safe_load too), a loop of aliases as well."""
    small = billion_laughs(3)  # 9 x 9 x 9 values
    assert safe_load(small) == yaml.safe_load(small)
    with pytest.raises(YamlLimitError, match=f"more than {MAX_YAML_NODES:,} values"):
        safe_load(billion_laughs(9))
    with pytest.raises(YamlLimitError, match="a loop"):
        safe_load("x: &x [*x]\n")
    nested = "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH
    assert safe_load(nested) == yaml.safe_load(nested)
    for depth in (MAX_YAML_DEPTH + 1, 5000, 100_000):
        with pytest.raises(YamlLimitError, match=f"nested more than {MAX_YAML_DEPTH} levels"):
            safe_load("[" * depth + "]" * depth)


@pytest.mark.parametrize(
    ("isbn", "valid"),
    [
        ("978-0-00-000000-2", True),
        ("978-0-00-000000-3", False),
        ("0-306-40615-2", True),
        ("0-306-40615-3", False),
        ("0-8044-2957-X", True),
        ("978-0-306-40615-7", True),
        ("978030640615", False),
    ],
)
def test_isbn_check_digits(isbn: str, valid: bool) -> None:
    assert isbn_valid(isbn) is valid


def test_a_text_may_be_exactly_as_large_as_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "t.md"
    path.write_bytes(b"a\n" * (MAX_TEXT_BYTES // 2))
    assert oversize_line(path) is None
    path.write_bytes(b"a\n" * (MAX_TEXT_BYTES // 2) + b"b")
    assert oversize_line(path) == MAX_TEXT_BYTES // 2 + 1
