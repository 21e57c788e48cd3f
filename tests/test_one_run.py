"""Every problem of every stage found before the layout is reported in one run (issue 26): a text that fails to load
does not hide the resolve stage's problems in the others, and a reference that dangles only because its text
failed is not reported as a problem of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from anthology.build import EDITIONS, build, output_path
from anthology.check.book import check_book
from anthology.diagnostics import BuildError, Diagnostic
from anthology.model import Project
from conftest import STYLES


def edit(book: Path, name: str, old: str, new: str) -> int:
    """Replace `old` in one file of the book; the file line where `new` begins."""
    path = book / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {name}"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text[: text.index(new)].count("\n") + 1


def line_of(book: Path, name: str, words: str) -> int:
    text = (book / name).read_text(encoding="utf-8")
    return text[: text.index(words)].count("\n") + 1


def unknown_key_in_beta(book: Path) -> int:
    """A load problem: a front-matter key beta's schema does not have. Its line."""
    return edit(book, "texts/beta.md", "authors: []", "authors: []\nautor: Somebody") + 1


def problems(book: Path) -> list[Diagnostic]:
    with pytest.raises(BuildError) as stopped:
        check_book(Project(book_dir=book, styles_dir=STYLES, build_dir=book.parent / "out"))
    return stopped.value.diagnostics


def where(diagnostics: list[Diagnostic], book: Path) -> set[tuple[str, str, int | None]]:
    """Each problem as its code, its file (relative to the book) and its line."""
    return {(d.code, d.file.resolve().relative_to(book.resolve()).as_posix(), d.line) for d in diagnostics if d.file}


def test_a_load_problem_and_every_resolve_problem_are_reported_together(book_copy):
    """One text with an unknown front-matter key (load), and in the others: raw content no edition shows (the
    resolve stage's parse), a cross-reference to no id, a citation of no work, an index.yaml entry pointing at no
    heading. `invoke check` reports all five, each at its file and line with a hint, once each, by file and line."""
    book = book_copy
    key_line = unknown_key_in_beta(book)
    edit(book, "front/introduction.md", "## Why", "```{=latex}\n\\relax\n```\n\n## Why")
    edit(book, "texts/alpha.md", "A paragraph with", "See @xref:alpha#no-such-label. A paragraph with")
    edit(book, "texts/alpha.md", "Again [@serge-year-one, 41].", "Again [@nobody-2000, 41].")
    (book / "index.yaml").write_text("entries:\n  - term: Alpha\n    see_also: [Gamma]\n", encoding="utf-8")
    edit(book, "book.yaml", "back: [bibliography]", "back: [bibliography, index]")

    found = problems(book)

    assert {
        ("E022", "texts/beta.md", key_line),
        ("E031", "front/introduction.md", line_of(book, "front/introduction.md", "\\relax")),
        ("E075", "texts/alpha.md", line_of(book, "texts/alpha.md", "@xref:alpha#no-such-label")),
        ("E070", "texts/alpha.md", line_of(book, "texts/alpha.md", "@nobody-2000")),
        ("E080", "index.yaml", 2),
    } <= where(found, book)
    assert all(d.file is not None and d.line is not None and d.hint for d in found)
    assert len(set(found)) == len(found), "a problem reported twice"
    order = [(str(d.file), d.line) for d in found]
    assert order == sorted(order)


@pytest.mark.parametrize("beta_loads", [False, True])
def test_a_reference_into_a_text_that_failed_to_load_is_not_a_problem_of_its_own(book_copy, beta_loads):
    """The introduction refers to beta, and to an id beta does not have. While beta fails to load, its own
    problem is reported and the references are not (its ids are unknown until it loads); once beta loads, the
    reference to the id it lacks is reported."""
    book = book_copy
    key_line = unknown_key_in_beta(book) if not beta_loads else None
    line = edit(book, "front/introduction.md", "Because.", "Because; see @xref:beta and @xref:beta#not-there.")
    edit(book, "texts/alpha.md", "Again [@serge-year-one, 41].", "Again [@nobody-2000, 41].")

    found = where(problems(book), book)

    references = {problem for problem in found if problem[0] == "E075"}
    assert references == (set() if not beta_loads else {("E075", "front/introduction.md", line)})
    assert {problem for problem in found if problem[0] == "E022"} == (
        set() if beta_loads else {("E022", "texts/beta.md", key_line)}
    )
    assert ("E070", "texts/alpha.md", line_of(book, "texts/alpha.md", "@nobody-2000")) in found


def test_a_build_with_problems_in_both_stages_reports_both_and_writes_no_edition(book_copy, tmp_path):
    """The build reports the load stage's and the resolve stage's problems in one run, and stops before any
    edition is written."""
    book = book_copy
    key_line = unknown_key_in_beta(book)
    edit(book, "texts/alpha.md", "Again [@serge-year-one, 41].", "Again [@nobody-2000, 41].")
    project = Project(book_dir=book, styles_dir=STYLES, build_dir=tmp_path / "out")

    with pytest.raises(BuildError) as stopped:
        build(project)

    found = where(stopped.value.diagnostics, book)
    assert ("E022", "texts/beta.md", key_line) in found
    assert ("E070", "texts/alpha.md", line_of(book, "texts/alpha.md", "@nobody-2000")) in found
    assert [name for name in EDITIONS if output_path(project, "minibook", name).exists()] == []
    assert not (project.build_dir / ".staging").exists() and not (project.build_dir / ".scratch").exists()
