"""The citation rule of ingest (issue 4) and the fidelity check's accounting of converted citations.

Small inline sources with a small alias table: citations are converted after page-break joins and with the
notes in reading order; the fidelity check counts each citation as its record's original words, and catches a
citation whose key or locator differs from its record, or a record that claims words its original lacks.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from anthology.ingest.fidelity import account_citations, check_records, compare, split_markdown, words
from anthology.ingest.pipeline import STEPS, clean, fidelity
from anthology.ingest.recipe import Recipe, Rules
from anthology.ingest.typography import apply_typography
from anthology.ingest.works import WorksTable, load_works

REFS: dict[str, dict[str, object]] = {
    "serge-fls": {"id": "serge-fls", "type": "book", "author": [{"family": "Serge"}], "issued": 1973},
    "carr-1": {"id": "carr-1", "type": "book", "author": [{"family": "Carr"}], "issued": 1950},
    "remington-1989": {"id": "remington-1989", "type": "book", "author": [{"family": "Remington"}], "issued": 1989},
    "writings-1934-35": {"id": "writings-1934-35", "type": "book", "author": [{"family": "Trotsky"}]},
}


def works(tmp_path: Path, text: str) -> WorksTable:
    path = tmp_path / "t.works.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_works(path, REFS)  # type: ignore[arg-type]


def recipe(**rule_kwargs: object) -> Recipe:
    rules = Rules.model_validate({"citations": {"works": "t.works.yaml"}, **rule_kwargs})
    return Recipe(source="t.txt", received_as="x", sha256="0", meta={"title": "T", "authors": []}, rules=rules)


@pytest.fixture
def paren(tmp_path: Path) -> WorksTable:
    return works(
        tmp_path,
        """
        styles: [parenthetical, author-date]
        aliases:
          From Lenin to Stalin: serge-fls
          Writings 1934-35: writings-1934-35
        keys: [remington-1989]
        left_as_text:
          "(1917)": the date of an event
        """,
    )


@pytest.fixture
def notes_table(tmp_path: Path) -> WorksTable:
    return works(
        tmp_path,
        """
        styles: [notes]
        aliases:
          "E.H. Carr, The Bolshevik Revolution, Vol. I": carr-1
          "From Lenin to Stalin": serge-fls
        """,
    )


def test_the_citation_rule_runs_last() -> None:
    names = [name for name, _ in STEPS]
    assert names[-1] == "citations"
    assert names.index("page-break-joins") < names.index("citations") and names.index("notes") < len(names) - 1


def test_body_citations_after_page_break_joins_with_a_bare_year(paren: WorksTable) -> None:
    raw = (
        "Serge saw it (From Lenin to Stalin, page 40). In 1917 the\n\nsoviets ruled (1917). The study by Rem-"
        "\n\nington (1989) agrees (Writings 1934-35, pages 12-14).\n"
    )
    out = clean("t", raw, recipe(join_page_breaks=True), paren)
    body = out.markdown.split("---\n", 2)[2]
    assert "Serge saw it [@serge-fls, 40]." in body
    assert "Remington [-@remington-1989] agrees [@writings-1934-35, 12–14]." in body  # key intact, range en dash
    assert "(1917)" in body and out.problems == []
    assert [r.conversion.rule for r in out.doc.citations] == ["parenthetical", "bare-year", "parenthetical"]
    fid = fidelity(raw, out, recipe(join_page_breaks=True))
    assert (fid.differing, fid.differences) == (0, [])


def test_a_citation_like_span_the_table_does_not_explain_is_a_problem(paren: WorksTable) -> None:
    out = clean("t", "A first paragraph.\n\nIt was so (Unknown Book, page 3).\n", recipe(), paren)
    [problem] = out.problems
    assert (problem.code, problem.line) == ("E214", 3)
    assert problem.message.startswith("'(Unknown Book, page 3)' looks like a citation but was not converted")


def test_note_citations_in_reading_order_with_ibid_and_commentary(notes_table: WorksTable) -> None:
    raw = (
        "First claim.1 Second claim.2 Third.3\n\n"
        "1. E.H. Carr, The Bolshevik Revolution, Vol. I, London, 1950, p. 65.\n"
        "2. Ibid. This is a long comment that stays.\n"
        "3. Compare From Lenin to Stalin, p. 9; Ibid., p. 10.\n"
    )
    rec = recipe(notes={"style": "endnotes", "start_line": 3})
    out = clean("t", raw, rec, notes_table)
    body = out.markdown.split("---\n", 2)[2]
    assert "[^1]: [@carr-1, 65]\n" in body
    assert "[^2]: [@carr-1, 65] This is a long comment that stays." in body  # Ibid.: the same place
    assert "[^3]: Compare [@serge-fls, 9; @serge-fls, 10]." in body  # a group: one citation, one stop
    fid = fidelity(raw, out, rec)
    assert (fid.differing, fid.differences) == (0, [])


def test_without_a_citations_rule_the_step_does_nothing() -> None:
    rules = Rules()
    out = clean(
        "t",
        "See (From Lenin to Stalin, page 40).\n",
        Recipe(source="t.txt", received_as="x", sha256="0", meta={"title": "T"}, rules=rules),
    )
    assert "(From Lenin to Stalin, page 40)" in out.markdown and out.doc.citations == []


def test_a_recipe_with_citations_but_no_table_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"rules\.citations"):
        clean("t", "Text.\n", recipe())


# --- fidelity accounting -------------------------------------------------------------------------------


@pytest.fixture
def converted(paren: WorksTable):
    raw = "Serge saw it (From Lenin to Stalin, page 40). Then more (From Lenin to Stalin, pages 41-42).\n"
    out = clean("t", raw, recipe(), paren)
    return raw, out


def test_a_changed_locator_or_key_in_the_text_is_counted(converted) -> None:
    raw, out = converted
    for wrong in ("[@serge-fls, 41]", "[@carr-1, 40]"):
        tampered = dataclasses.replace(out, markdown=out.markdown.replace("[@serge-fls, 40]", wrong))
        fid = fidelity(raw, tampered, recipe())
        assert fid.differing > 0
        wrong = [d for d in fid.differences if "is not the one recorded next" in d.text]
        assert wrong and all(d.record is not None and d.line == out.doc.citations[d.record].line for d in wrong)


def test_a_citation_without_a_record_is_counted(converted) -> None:
    raw, out = converted
    tampered = dataclasses.replace(out, markdown=out.markdown.replace("Then more", "Then [@carr-1, 3] more"))
    fid = fidelity(raw, tampered, recipe())
    assert fid.differing > 0


def test_a_record_claiming_words_its_original_lacks_is_caught(converted) -> None:
    _, out = converted
    first = out.doc.citations[0].conversion
    liar = dataclasses.replace(first, replacement="[@serge-fls, 99]", locator="99")
    assert [(d.text, d.record) for d in check_records([first, liar])] == [
        (f"citation {first.original!r}: '[@serge-fls, 99]' has words its original lacks", 1)
    ]
    prefixed = dataclasses.replace(first, replacement="[Quoted in @serge-fls, 40]")
    assert check_records([prefixed])
    assert check_records([first]) == []


def test_a_bare_ibid_may_repeat_only_the_place_just_cited() -> None:
    from anthology.ingest.citations import Conversion

    full = Conversion(0, 10, "Carr, p. 65", "[@carr-1, 65]", ("carr-1",), "65", "note")
    ibid = Conversion(0, 5, "Ibid.", "[@carr-1, 65]", ("carr-1",), "65", "ibid")
    wrong = Conversion(0, 5, "Ibid.", "[@carr-1, 66]", ("carr-1",), "66", "ibid")
    assert check_records([full, ibid]) == []
    assert check_records([full, wrong])


def test_account_citations_puts_the_original_words_back() -> None:
    from anthology.ingest.citations import Conversion

    c = Conversion(0, 0, "(From Lenin to Stalin, page 40)", "[@serge-fls, 40]", ("serge-fls",), "40", "parenthetical")
    text, problems = account_citations("Serge saw it [@serge-fls, 40].", [c])
    assert problems == [] and words(text) == words("Serge saw it From Lenin to Stalin page 40")
    _, problems = account_citations("Serge saw it.", [c])
    assert [(d.text, d.record) for d in problems] == [
        ("conversion '[@serge-fls, 40]' of '(From Lenin to Stalin, page 40)' is not in the text", 0)
    ]


def test_typography_leaves_citation_keys_alone() -> None:
    assert apply_typography("as 'he' said [@writings-1934-35, 12-14].") == "as ‘he’ said [@writings-1934-35, 12–14]."
    assert apply_typography("[-@times-1927-12-02] and ...") == "[-@times-1927-12-02] and …"


def test_split_markdown_keeps_citations_for_the_accounting() -> None:
    md = "---\ntitle: T\n---\n\nText [@a-1, 4].[^1]\n\n[^1]: [See @b, 5] Comment.\n"
    _, body, notes_text = split_markdown(md)
    assert "[@a-1, 4]" in body and "[See @b, 5]" in notes_text
    assert compare(words("x"), words("x")).differing == 0
