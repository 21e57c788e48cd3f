"""The editorial matter: generated parts agree with the data; authored parts are cross-referenced as promised."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from anthology.ast import walk
from anthology.check.book import check_book
from anthology.load import load_book
from anthology.model import Project
from anthology.resolve.book import resolve_book
from conftest import BOOK, STYLES

pytestmark = pytest.mark.book  # reads the real anthology in book/


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


def test_note_on_the_texts_lists_every_recorded_removal_and_emendation(resolved):
    note = resolved.texts["note-on-the-texts"].blocks
    rules = [recipe.get("rules", {}) for recipe in recipes()]
    removals = sum(len(r.get("remove", [])) + len(r.get("page_headers", [])) for r in rules)
    emendations = sum(len(r.get("emendations", [])) for r in rules)
    assert removals > 0 and emendations > 0
    assert classed(note, "removal") == removals
    assert classed(note, "emendation") == emendations


def test_permissions_page_names_every_essay_and_its_rights(resolved):
    from anthology.ast import stringify

    text = stringify(resolved.texts["permissions"].blocks)
    for chapter in resolved.book.chapters:
        assert chapter.title in text
    assert text.count("not yet been recorded as cleared") == sum(
        1 for c in resolved.book.chapters if c.chapter_meta.rights.strip().lower() == "not stated"
    )


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


def test_introduction_cross_references_every_chapter(resolved):
    introduction = resolved.texts["introduction"].blocks
    assert xref_targets(introduction) >= {c.slug for c in resolved.book.chapters}


def test_each_headnote_cross_references_another_chapter(resolved):
    for chapter in resolved.book.chapters:
        assert chapter.headnote is not None, chapter.slug
        targets = xref_targets(resolved.texts[chapter.headnote.slug].blocks)
        assert targets - {chapter.slug, chapter.headnote.slug}, chapter.slug
