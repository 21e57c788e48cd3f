"""The editorial matter: generated parts agree with the data; authored parts are cross-referenced as promised."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from anthology.ast import stringify, walk
from anthology.check.book import check_book
from anthology.diagnostics import BuildError
from anthology.ingest import run_ingest
from anthology.load import load_book
from anthology.model import ChapterMeta, Project
from anthology.resolve import editorial
from anthology.resolve.book import resolve_book
from anthology.scaffold import create_book
from conftest import BOOK, STYLES

# The tests marked `book` read the real anthology in book/; the others write a book of their own with `invoke new`.


@pytest.fixture(scope="module")
def resolved():
    return resolve_book(load_book(BOOK), STYLES)


def classed(blocks, name: str) -> int:
    return sum(1 for node in walk(blocks) if node["t"] == "Div" and name in node["c"][0][1])


def recipes() -> list[dict]:
    return [
        yaml.safe_load(p.read_text())
        for p in sorted((BOOK / "sources").glob("*.yaml"))
        if not p.name.endswith(".works.yaml")
    ]


@pytest.mark.book
def test_note_on_the_texts_lists_every_recorded_removal_and_emendation(resolved):
    note = resolved.texts["note-on-the-texts"].blocks
    rules = [recipe.get("rules", {}) for recipe in recipes()]
    removals = sum(len(r.get("remove", [])) + len(r.get("page_headers", [])) for r in rules)
    emendations = sum(len(r.get("emendations", [])) for r in rules)
    assert removals > 0 and emendations > 0
    assert classed(note, "removal") == removals
    assert classed(note, "emendation") == emendations


@pytest.mark.book
def test_permissions_page_names_every_essay_and_its_rights(resolved):
    text = stringify(resolved.texts["permissions"].blocks)
    for chapter in resolved.book.chapters:
        assert chapter.title in text
    assert text.count("not yet been recorded as cleared") == sum(
        1 for c in resolved.book.chapters if c.chapter_meta.rights.strip().lower() == "not stated"
    )


@pytest.mark.book
def test_check_reports_each_essay_whose_rights_are_not_cleared():
    collector = check_book(Project(BOOK, STYLES, Path("/nonexistent-build")))
    flagged = {d.file.name for d in collector.items if d.code == "W102"}
    expected = {c.path.name for c in load_book(BOOK).chapters if c.chapter_meta.rights.strip().lower() == "not stated"}
    assert flagged == expected and expected


def xref_targets(blocks) -> set[str]:
    """Chapters a text points to: the slug before '--' in each cross-reference link's target."""
    return {
        node["c"][2][0][1:].split("--")[0] for node in walk(blocks) if node["t"] == "Link" and "xref" in node["c"][0][1]
    }


@pytest.mark.book
def test_introduction_cross_references_every_chapter(resolved):
    introduction = resolved.texts["introduction"].blocks
    assert xref_targets(introduction) >= {c.slug for c in resolved.book.chapters}


@pytest.mark.book
def test_each_headnote_cross_references_another_chapter(resolved):
    for chapter in resolved.book.chapters:
        assert chapter.headnote is not None, chapter.slug
        targets = xref_targets(resolved.texts[chapter.headnote.slug].blocks)
        assert targets - {chapter.slug, chapter.headnote.slug}, chapter.slug


# --------------------------------------------------------------------------------------------- any book's matter


def scaffold(folder: Path, edit_recipe=None, edit_book=None) -> Path:
    """A book from `invoke new`, its recipe and book.yaml edited as given, ingested again."""
    create_book(folder)
    for name, edit in (("sources/sample-essay.yaml", edit_recipe), ("book.yaml", edit_book)):
        if edit is not None:
            path = folder / name
            path.write_text(yaml.safe_dump(edit(yaml.safe_load(path.read_text(encoding="utf-8")))), encoding="utf-8")
    assert run_ingest(folder).diagnostics == []
    return folder


def edited_recipe(recipe: dict) -> dict:
    """One removal, one emendation, the source's publication and address; no statement of authorship."""
    del recipe["meta"]["author_statement"]
    recipe["meta"] |= {"publication": "The Sample Review", "url": "https://example.org/sample"}
    recipe["rules"]["remove"] = [{"lines": 9, "reason": "an instruction to the editors, not part of the essay"}]
    recipe["rules"]["emendations"] = [
        {"line": 5, "original": "saved from the web", "corrected": "saved from the Web", "reason": "house style"}
    ]
    return recipe


@pytest.fixture(scope="module")
def note_book(tmp_path_factory: pytest.TempPathFactory):
    folder = scaffold(
        tmp_path_factory.mktemp("note") / "book",
        edited_recipe,
        lambda config: config | {"back": ["note-on-the-texts"]},
    )
    recipe = yaml.safe_load((folder / "sources" / "sample-essay.yaml").read_text(encoding="utf-8"))
    return resolve_book(load_book(folder), STYLES), recipe


def test_the_note_names_no_file_raw_line_or_digest(note_book) -> None:
    resolved, recipe = note_book
    note = stringify(resolved.texts["note-on-the-texts"].blocks)
    for private in (recipe["source"], recipe["received_as"], recipe["sha256"][:12]):
        assert private not in note
    assert not re.search(r"\b[Ll]ines? \d", note)
    assert "scraped" not in note and "PDF" not in note  # nothing of another book's story


def test_the_note_counts_what_the_recipe_did(note_book) -> None:
    resolved, recipe = note_book
    blocks = resolved.texts["note-on-the-texts"].blocks
    rules = recipe["rules"]
    assert classed(blocks, "removal") == len(rules["remove"]) and classed(blocks, "emendation") == 1
    note = stringify(blocks)
    assert "Removed (1 line): an instruction to the editors" in note
    assert "1 kind of matter that is not the authors’ text removed or rewritten and 1 emendation" in note
    assert "called by numbers in square brackets" in note  # the recipe's note form, bracketed


def test_an_emendation_is_located_by_the_words_around_it_in_the_chapter(note_book) -> None:
    resolved, _ = note_book
    [emendation] = [
        stringify(node["c"][1])
        for node in walk(resolved.texts["note-on-the-texts"].blocks)
        if node["t"] == "Div" and "emendation" in node["c"][0][1]
    ]
    context = re.match(r"In “…?(.+?)…?”: ", emendation)
    assert context, emendation
    chapter = stringify(resolved.texts["sample-essay"].blocks)
    assert context[1] in " ".join(chapter.split()) and "saved from the Web" in context[1]
    assert len(context[1].split()) > len(["saved", "from", "the", "Web"])


def test_a_named_author_without_a_statement_is_not_said_to_be_unstated(note_book) -> None:
    resolved, _ = note_book
    note = stringify(resolved.texts["note-on-the-texts"].blocks)
    assert resolved.book.chapters[0].chapter_meta.authors and "Authorship" not in note
    assert editorial.authorship(ChapterMeta(title="t")) == ["Authorship: not stated in the source."]


def test_the_source_line_gives_what_is_recorded_and_says_what_is_not() -> None:
    meta = ChapterMeta(title="t", source="x.txt", publication="The Review", date="1917", kind="an essay")
    line = editorial.provenance(meta)
    assert line == "The Review, 1917; publisher not stated. An essay."
    assert "x.txt" not in line
    nothing = editorial.provenance(ChapterMeta(title="t", source="x.txt"))
    assert nothing == "Publication, publisher and date not stated."
    assert editorial.provenance(ChapterMeta(title="t")) == ""  # a text with no recorded source has no line


def test_chapters_and_parts_are_one_or_the_other(tmp_path: Path) -> None:
    book = scaffold(tmp_path / "book")
    text = (book / "book.yaml").read_text(encoding="utf-8")
    both = text + "parts:\n  - title: A Part\n    chapters: [sample-essay]\n"
    (book / "book.yaml").write_text(both, encoding="utf-8")
    with pytest.raises(BuildError) as raised:
        load_book(book)
    [problem] = raised.value.diagnostics
    chapters_line = both.split("\n").index("chapters:") + 1
    assert (problem.code, problem.line) == ("E015", chapters_line) and problem.hint
    neither = re.sub(r"^chapters:\n  - sample-essay\n", "", text, flags=re.M)
    (book / "book.yaml").write_text(neither, encoding="utf-8")
    with pytest.raises(BuildError) as raised:
        load_book(book)
    assert [d.code for d in raised.value.diagnostics] == ["E015"]
