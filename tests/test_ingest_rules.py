"""Unit tests of the ingest rules, each on a small inline fixture."""

from __future__ import annotations

import dataclasses
import hashlib
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anthology.diagnostics import BuildError
from anthology.ingest import blocks, emend, joins, notes, run_ingest, structure
from anthology.ingest.fidelity import compare, split_markdown, words
from anthology.ingest.model import Block, Document, IngestProblem, Problem
from anthology.ingest.pipeline import clean, fidelity
from anthology.ingest.recipe import Recipe, Rules, load_recipe
from anthology.ingest.render import escape_start, render_body
from anthology.ingest.typography import (
    apply_typography,
    curl_quotes,
    dashes,
    ellipses,
    normalise_spaces,
    repair_quote_direction,
    slash_insertions_to_brackets,
)


def doc_of(raw: str) -> Document:
    return Document(slug="t", blocks=blocks.split_blocks(raw))


def rules(**kwargs: object) -> Rules:
    return Rules.model_validate(kwargs)


def recipe(**rule_kwargs: object) -> Recipe:
    meta = {"title": "T", "authors": []}
    return Recipe(source="t.txt", received_as="x", sha256="0", meta=meta, rules=rules(**rule_kwargs))


# --- blocks and removals ---------------------------------------------------------------------------


def test_split_blocks_groups_lines_and_treats_nbsp_lines_as_blank() -> None:
    got = blocks.split_blocks("a\n\n  \u00a0 \nb\nc\n\nd")
    assert [(b.lines, b.first, b.last) for b in got] == [(["a"], 1, 1), (["b", "c"], 4, 5), (["d"], 7, 7)]


def test_remove_by_lines_and_pattern_records_text_and_reason() -> None:
    doc = doc_of("Title\n\nbody\n\nX Image public domainX / Image: public domain\n\nLeave a Reply\n\nform")
    r = rules(
        title_lines=[1],
        remove=[
            {"lines": "7-9", "reason": "comment form"},
            {"pattern": "(.+) Image public domain\\1 / Image: public domain", "reason": "caption"},
        ],
    )
    blocks.remove_listed(doc, r)
    assert [b.text for b in doc.blocks] == ["body"]
    assert [(x.first, x.last, x.reason) for x in doc.removals] == [
        (1, 1, "title line (the title is in the front matter)"),
        (7, 7, "comment form"),
        (9, 9, "comment form"),
        (5, 5, "caption"),
    ]
    assert doc.removals[1].text == "Leave a Reply"


def test_page_header_removed_only_where_it_stands_alone() -> None:
    doc = doc_of("the party\n\nRunning Head\n\ngovernment and Running Head in prose")
    blocks.remove_page_headers(doc, rules(page_headers=["Running Head"]))
    assert [b.text for b in doc.blocks] == ["the party", "government and Running Head in prose"]


def test_standfirst_leaves_the_body() -> None:
    doc = doc_of("Publisher's words.\n\nAuthor's words.")
    blocks.take_standfirst(doc, rules(standfirst_lines=[1]))
    assert doc.standfirst == "Publisher's words."
    assert [b.text for b in doc.blocks] == ["Author's words."]


# --- notes ------------------------------------------------------------------------------------------


def test_endnotes_are_unwrapped_and_numbered_with_stray_spaces() -> None:
    lines = list(
        enumerate(
            [
                "3. E.H. Carr, Vol. I, Baltimore,",
                "Maryland: Penguin, 1950, p. 65.",
                "4.  Ibid.",
                "60 . Kolakowski, London: Paladin",
                "1969, p. 92.",
            ],
            start=10,
        )
    )
    got = notes.parse_endnote_lines(lines)
    assert [(n.number, n.text, n.first, n.last) for n in got] == [
        (3, "E.H. Carr, Vol. I, Baltimore, Maryland: Penguin, 1950, p. 65.", 10, 11),
        (4, "Ibid.", 12, 12),
        (60, "Kolakowski, London: Paladin 1969, p. 92.", 13, 14),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("had been completed.'”1 Small wonder", "had been completed.'”[^1] Small wonder"),
        ("enormous authority.1. . . And", "enormous authority.[^1]. . . And"),
        ("factory workers . . .” 1", "factory workers . . .”[^1]"),
        ("was returning . . . “1", "was returning . . . “[^1]"),
        ("reached its zenith in 1921.1 Then", "reached its zenith in 1921.[^1] Then"),
        ("Friedrich Engels 1", "Friedrich Engels[^1]"),
    ],
)
def test_glued_note_calls_in_their_five_forms(text: str, expected: str) -> None:
    doc = doc_of(text)
    notes.tag_endnote_calls(doc, 1)
    assert doc.blocks[0].text == expected
    assert doc.calls == [1]


def test_numbers_in_the_text_are_not_calls() -> None:
    doc = doc_of("57.5 percent and 1.9 percent in 1917-21, 4,476 of 4,700 in 1918 and 2 more")
    notes.tag_endnote_calls(doc, 2)
    assert doc.calls == []
    assert "[^" not in doc.blocks[0].text


def test_calls_are_found_in_order_so_a_later_number_is_not_taken_early() -> None:
    doc = doc_of("first.2 but first.1 then second.2")
    notes.tag_endnote_calls(doc, 2)
    assert doc.blocks[0].text == "first.2 but first.[^1] then second.[^2]"


def test_superscript_notes_are_taken_out_wherever_they_stand() -> None:
    doc = doc_of("The debate has raged\n\n³See Trotsky.\n\n⁴ Ibid.\n\nsince the 1930s³ and 54.4 ⁴")
    notes.extract_superscript_notes(doc)
    notes.tag_superscript_calls(doc)
    assert {n: x.text for n, x in doc.notes.items()} == {3: "See Trotsky.", 4: "Ibid."}
    assert [b.text for b in doc.blocks] == ["The debate has raged", "since the 1930s[^3] and 54.4[^4]"]


def test_missing_note_texts_are_marked_and_unexpected_ones_reported() -> None:
    doc = doc_of("intro\n\na[^1] b[^2]\nc[^3] c[^3]")
    doc.calls = [1, 2, 3, 3]
    doc.notes = {1: notes.Note(1, "one"), 4: notes.Note(4, "four", 9, 9)}
    problems = notes.mark_missing(doc, rules(notes={"expect_missing": [2]}))
    assert doc.notes[2].text is None and doc.notes[3].text is None
    assert problems == [  # each at its line: the paragraph of the call, the note's own line
        Problem("E211", "note 3 is called but its text is missing (not in notes.expect_missing)", line=3),
        Problem("E212", "note 4 has a text but no call", line=9),
        Problem("E213", "note 3 is called more than once", line=3),
    ]


def test_missing_note_gets_a_bracketed_editorial_definition() -> None:
    out = clean(
        "t", "Text.1 More.2\n\n1. A note.", recipe(notes={"style": "endnotes", "start_line": 3, "expect_missing": [2]})
    )
    assert "[^1]: A note." in out.markdown
    assert "[^2]: [The text of this note is missing in the source.]" in out.markdown
    assert out.problems == []


# --- page-break joins -------------------------------------------------------------------------------


def test_paragraph_cut_by_a_page_break_is_rejoined() -> None:
    doc = doc_of("The debate on this question has raged\n\nsince at least the 1930s.")
    joins.join_page_breaks(doc, rules())
    assert [b.text for b in doc.blocks] == ["The debate on this question has raged since at least the 1930s."]


def test_hyphenated_word_is_rejoined_but_real_hyphens_stay() -> None:
    assert joins.join_words("an empiri-", "cal refutation", []) == ("an empirical refutation", "empiri-cal")
    assert joins.join_words("There were non-", "Bolshevik deputies", []) == ("There were non-Bolshevik deputies", None)
    assert joins.join_words("the semi-", "peasant mass", ["semi-peasant"]) == ("the semi-peasant mass", None)
    assert joins.join_words("in 1989-", "91", []) == ("in 1989- 91", None)


def test_a_finished_paragraph_or_a_heading_is_not_joined() -> None:
    doc = doc_of("It ended.\n\nnew start\n\nThe Continuity Thesis\n\nWe should begin")
    joins.join_page_breaks(doc, rules(headings={"short_lines_max_words": 6}))
    assert [b.text for b in doc.blocks] == ["It ended.", "new start", "The Continuity Thesis", "We should begin"]


def test_colon_inside_an_open_quotation_continues_across_a_page_header() -> None:
    doc = doc_of("He said: \"This frightened us and we pleaded:\n\n'Please come back'. They came.\"")
    joins.join_page_breaks(doc, rules())
    assert len(doc.blocks) == 1


def test_no_join_after_listed_lines() -> None:
    doc = doc_of("a long paragraph that stops in the middle of a title To all the Work-\n\nIt is a matter")
    joins.join_page_breaks(doc, rules(no_join_after_lines=[1]))
    assert len(doc.blocks) == 2


# --- structure ---------------------------------------------------------------------------------------


def test_title_case_of_all_caps_heads() -> None:
    assert structure.title_case("FUSION OF PARTY AND STATE") == "Fusion of Party and State"
    assert structure.title_case("WORKERS' GOVERNMENT") == "Workers' Government"


def test_headings_numbered_all_caps_short_and_listed() -> None:
    doc = doc_of(
        "4. Setbacks in the Struggle\n\nTHE SOVIETS\n\nThe Kronstadt Uprising\n\nA sentence.\n\nWill It Happen Again?"
    )
    structure.mark_headings(
        doc,
        rules(
            headings={
                "numbered": r"^\d+\.\s+[A-Z]",
                "all_caps": True,
                "short_lines_max_words": 6,
                "short_lines_level": 3,
                "lines": {9: 2},
            }
        ),
    )
    got = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert got == [
        ("heading", 2, "4. Setbacks in the Struggle"),
        ("heading", 2, "The Soviets"),
        ("heading", 3, "The Kronstadt Uprising"),
        ("para", 0, "A sentence."),
        ("heading", 2, "Will It Happen Again?"),
    ]


def test_numbered_heads_may_end_in_an_ellipsis_but_not_a_full_stop() -> None:
    doc = doc_of("18. From the Third Period...\n\n19. ...to the front\n\n1. A question?")
    structure.mark_headings(doc, rules(headings={"numbered": r"^\d{1,2}\.\s+\S"}))
    assert [b.kind for b in doc.blocks] == ["heading", "heading", "para"]


def test_epigraph_attribution_is_split_at_the_padding() -> None:
    doc = doc_of("A quotation is doomed.\u00a0 \u00a0 \u00a0 \u00a0 Friedrich Engels[^1]")
    structure.mark_epigraphs(doc, rules(epigraphs=[{"lines": 1}]))
    block = doc.blocks[0]
    assert (block.kind, block.text, block.attrs["attribution"]) == (
        "epigraph",
        "A quotation is doomed.",
        "Friedrich Engels[^1]",
    )
    md = render_body(doc, apply_typography)
    assert md.startswith("::: epigraph\n> A quotation is doomed.\n\n::: attribution\nFriedrich Engels[^1]\n:::\n:::")


def test_poem_one_line_per_paragraph_and_in_stanzas() -> None:
    doc = doc_of("intro:\n\nO wise master!\n\nSun of the workers!\n\nafter")
    structure.mark_poems(doc, rules(poems=["3-5"]))
    assert render_body(doc, apply_typography) == "intro:\n\n| O wise master!\n| Sun of the workers!\n\nafter\n"
    doc = doc_of("a\nb\n\nc\nd")
    structure.mark_poems(doc, rules(poems=["1-5"]))
    assert render_body(doc, apply_typography) == "| a\n| b\n|\n| c\n| d\n"


def test_table_with_caption_becomes_a_pipe_table() -> None:
    doc = doc_of("Table 1. 'Food' per wage\n\nYear\tNumber\n1913\t3.7\n1935\t54.4[^54]")
    structure.mark_tables(doc, rules(table_caption=r"^Table \d+\."))
    assert render_body(doc, apply_typography) == (
        "Table: Table 1. ‘Food’ per wage\n\n| Year | Number |\n|---|---:|\n| 1913 | 3.7 |\n| 1935 | 54.4[^54] |\n"
    )


def test_lists_ordered_and_bullet() -> None:
    doc = doc_of("  1. one\n  2. two\n  3. three\n\n- Aves, J.\n- Block, R.")
    structure.mark_lists(doc, rules())
    assert render_body(doc, apply_typography) == "1. one\n2. two\n3. three\n\n- Aves, J.\n- Block, R.\n"


def test_blockquotes_listed_by_line_and_several_paragraphs_form_one_quotation() -> None:
    doc = doc_of("He wrote:\n\nFirst paragraph.\n\nSecond paragraph.\n\nProse.")
    structure.mark_blockquotes(doc, rules(blockquotes=["3-5"]))
    assert render_body(doc, apply_typography) == ("He wrote:\n\n> First paragraph.\n>\n> Second paragraph.\n\nProse.\n")


def test_quoted_paragraphs_become_block_quotations() -> None:
    doc = doc_of(
        "“A whole quotation.” (From Lenin to Stalin, page 40)\n\n"
        "“In all our agitation,” Lenin said, “we must explain.”\n\n"
        "“First of a run…\n\n“second of a run…\n\n“and its end.” (Degras, page 5)\n\n"
        "Plain prose with a “quotation” in it."
    )
    structure.mark_quotations(doc, rules(quoted_paragraph_blockquotes=True))
    assert [b.kind for b in doc.blocks] == ["quote", "para", "quote", "quote", "quote", "para"]


def test_quotation_after_a_colon_with_its_opening_mark_lost() -> None:
    doc = doc_of("Trotsky relates:\n\n/The/ economy revived.”[^64]\n\nTrotsky relates:\n\nThe economy revived.")
    structure.mark_quotations(doc, rules(quote_after_colon=True))
    assert [b.kind for b in doc.blocks] == ["para", "quote", "para", "para"]


def test_endmatter_is_a_div_with_its_own_heads_and_lists() -> None:
    doc = doc_of("Body.\n\nQuestions\n\n1. Why?\n\n2. How?\n\nReading\n\nA book\n\nAnother book")
    structure.mark_endmatter(doc, rules(endmatter={"from_line": 3, "headings": ["Questions", "Reading"]}))
    assert render_body(doc, apply_typography) == (
        "Body.\n\n::: {.endmatter}\n\n## Questions\n\n1. Why?\n2. How?\n\n"
        "## Reading\n\n- A book\n- Another book\n\n:::\n"
    )


def test_prose_that_looks_like_markdown_is_escaped() -> None:
    assert escape_start("1918. Hyperinflation raged") == "1918\\. Hyperinflation raged"
    assert escape_start("- not a list") == "\\- not a list"
    assert escape_start("Plain") == "Plain"


# --- typography ---------------------------------------------------------------------------------------


def test_straight_quotes_become_curly() -> None:
    assert curl_quotes("\"'Committees of Workers' have taken\" over") == "“‘Committees of Workers’ have taken” over"
    assert curl_quotes("Stalin's 'left' allies [workers'] militias") == "Stalin’s ‘left’ allies [workers’] militias"


def test_quote_marks_facing_the_wrong_way_are_turned() -> None:
    assert repair_quote_direction("was returning … “[^65]") == "was returning …”[^65]"
    assert repair_quote_direction("making this ”mistake”, they") == "making this “mistake”, they"


def test_single_quote_before_a_closing_double_quote_is_closing() -> None:
    assert repair_quote_direction("full of scruples … ‘”[^147]") == "full of scruples … ’”[^147]"


def test_slash_insertions_become_brackets_except_listed_strings() -> None:
    text = "/I/n its theses, /the opposition/ said; suffer/ing/; the workers/peasants/-soldiers"
    assert slash_insertions_to_brackets(text, ["workers/peasants/-soldiers"]) == (
        "[I]n its theses, [the opposition] said; suffer[ing]; the workers/peasants/-soldiers"
    )


def test_ellipses_dashes_and_spaces() -> None:
    assert ellipses("state. . . . The and . . . the and Kapital... but") == "state. … The and … the and Kapital… but"
    assert dashes("in 1917-21, pp. 185-6, a - b, Brest-Litovsk") == "in 1917–21, pp. 185–6, a – b, Brest-Litovsk"
    assert normalise_spaces("power.\u00a0 Given  that") == "power. Given that"


def test_lost_dashes_are_restored_and_urls_left_alone() -> None:
    assert apply_typography("launched\u00a0\u00a0dams", "\u00a0\u00a0") == "launched — dams"
    url = "<https://example.org/1917-21/a...b>"
    assert apply_typography(f"See {url} 1917-21") == f"See {url} 1917–21"


@given(st.text(alphabet=st.sampled_from(list("ab1 '\".-\u00a0…“”‘’")), max_size=60))
def test_typography_never_changes_the_words(text: str) -> None:
    assert words(apply_typography(text)) == words(text)


# --- emendations, recipes, fidelity -------------------------------------------------------------------


def test_emendation_is_applied_once_and_recorded() -> None:
    doc = doc_of("refused to enter a united from with the Peasant Union")
    emend.apply_emendations(
        doc, rules(emendations=[{"line": 1, "original": "united from", "corrected": "united front", "reason": "typo"}])
    )
    assert doc.blocks[0].text == "refused to enter a united front with the Peasant Union"
    assert doc.applied_emendations == ["line 1: united from → united front"]


def test_emendation_not_found_names_the_recipe_entry() -> None:
    doc = doc_of("some text")
    entry = {"line": 1, "original": "zzz", "corrected": "y", "reason": "r"}
    with pytest.raises(emend.EmendationError, match=r"rules.emendations\[1\]: 'zzz' \(line 1\)") as raised:
        emend.apply_emendations(doc, rules(emendations=[{**entry, "original": "some"}, entry]))
    assert (raised.value.problem.code, raised.value.problem.key) == ("E207", ("rules", "emendations", 1))


@pytest.mark.parametrize(
    ("rule", "raw", "key"),
    [
        ({"epigraphs": [{"lines": "1"}]}, "no padding before an attribution\n\nbody", ("rules", "epigraphs", 0)),
        ({"poems": ["1-2", "5-9"]}, "verse\nverse\n\nprose", ("rules", "poems", 1)),
        ({"table_caption": "^Table"}, "Table 1\n\nno tabs here", ("rules", "table_caption")),
    ],
)
def test_a_rule_the_source_does_not_bear_out_is_located_at_the_rule(rule, raw: str, key: tuple) -> None:
    with pytest.raises(IngestProblem) as raised:
        clean("t", raw, recipe(**rule))
    assert (raised.value.problem.code, raised.value.problem.key) == ("E209", key)
    assert raised.value.problem.message.startswith(f"rules.{key[1]}")


def test_recipe_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        textwrap.dedent("""\
        source: a.txt
        received_as: b
        sha256: c
        meta: {title: T}
        rules:
          remove:
          - lines: 9-3
            reason: x
          headinggs: {}
        """),
        encoding="utf-8",
    )
    with pytest.raises(BuildError) as info:
        load_recipe(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    found = {(d.code, d.file, d.line, d.message.split(":")[0]) for d in info.value.diagnostics}
    assert found == {  # both problems, each at its key's line
        ("E203", path, lines.index("  - lines: 9-3") + 1, "rules.remove[0].lines"),
        ("E203", path, lines.index("  headinggs: {}") + 1, "rules.headinggs"),
    }


@pytest.mark.parametrize("field", ["table_caption", "lost_dash"])
def test_a_recipe_pattern_that_does_not_compile_is_a_schema_error(tmp_path: Path, field: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"source: a.txt\nreceived_as: b\nsha256: c\nmeta: {{}}\nrules:\n  {field}: '(open'\n")
    with pytest.raises(BuildError) as info:
        load_recipe(path)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.code, diagnostic.line) == ("E203", 6)
    assert f"rules.{field}" in diagnostic.message and "regular expression" in diagnostic.message


def test_recipe_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("source: a\nmeta: [unclosed\n", encoding="utf-8")
    with pytest.raises(BuildError) as info:
        load_recipe(path)
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.code, diagnostic.file) == ("E001", path) and diagnostic.line is not None


def test_fidelity_forgives_rejoined_words_and_counts_changed_ones() -> None:
    assert compare(words("an empiri- cal refutation"), words("an empirical refutation")).differing == 0
    assert compare(words("THE STATE BUREAUCRACY"), words("The State Bureaucracy")).differing == 0
    assert compare(words("the state"), words("the State")).differing == 1
    result = compare(words("a united from with"), words("a united front with"))
    assert result.differing == 1 and result.compared == 4


def test_split_markdown_strips_markup_and_keeps_call_numbers() -> None:
    md = (
        "---\ntitle: T\nstandfirst: Pub.\n---\n\n## 4. Head\n\n> Quote.[^1]\n\n::: {.endmatter}\n\n- item\n\n:::\n\n"
        "[^1]: Note.\n\n[^2]: [The text of this note is missing in the source.]\n"
    )
    standfirst, body, notes_text = split_markdown(md)
    assert standfirst == "Pub."
    assert words(body) == ["4", "Head", "Quote", "1", "item"]
    assert words(notes_text) == ["1", "Note"]


def test_a_whole_small_source_end_to_end() -> None:
    raw = "Title\n\n1. First Section\n\nIt began.1\n\nLeave a Reply\n\n1. The note."
    out = clean(
        "t",
        raw,
        recipe(
            title_lines=[1],
            remove=[{"lines": 7, "reason": "comment form"}],
            notes={"style": "endnotes", "start_line": 9},
            headings={"numbered": r"^\d+\.\s+[A-Z]"},
        ),
    )
    body = out.markdown.split("---\n", 2)[2]
    assert body == "\n## 1. First Section\n\nIt began.[^1]\n\n[^1]: The note.\n"
    assert Block(["x"], 1, 1).covers(1)


def test_fidelity_catches_one_lost_word_in_a_long_repetitive_text() -> None:
    raw = words("the workers of the world and the state of the party " * 400)
    out = raw[:2001] + raw[2002:]
    result = compare(raw, out)
    assert result.differing == 1


def test_fidelity_locates_each_difference_at_its_source_line() -> None:
    raw = "Title\n\nFirst paragraph.\n\nSecond paragraph with a word.1\nand a second line.\n\n1. The note has words."
    rec = recipe(title_lines=[1], notes={"style": "endnotes", "start_line": 8})
    out = clean("t", raw, rec)
    assert out.problems == [] and fidelity(raw, out, rec).differences == []
    lost = out.markdown.replace("a second line", "a line").replace("has words", "has")
    differences = fidelity(raw, dataclasses.replace(out, markdown=lost), rec).differences
    lines = raw.split("\n")
    assert [d.line for d in differences] == [
        lines.index("and a second line.") + 1,
        lines.index("1. The note has words.") + 1,
    ]


def test_an_alias_table_key_not_in_the_bibliography_is_reported_at_its_line(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "a.txt").write_text("Title\n\nA claim (Known 1990).\n", encoding="utf-8")
    recorded = hashlib.sha256((sources / "a.txt").read_bytes()).hexdigest()
    (sources / "a.yaml").write_text(
        f"source: a.txt\nreceived_as: a.txt\nsha256: {recorded}\nmeta: {{title: A}}\n"
        "rules:\n  citations: {works: a.works.yaml, bibliography: refs.yaml}\n",
        encoding="utf-8",
    )
    works = sources / "a.works.yaml"
    works.write_text("styles: [parenthetical]\nkeys:\n  - known-1990\n  - unknown-work\n", encoding="utf-8")
    (sources / "refs.yaml").write_text("references:\n- id: known-1990\n  title: Known\n", encoding="utf-8")
    report = run_ingest(tmp_path)
    assert [(d.code, d.file, d.line) for d in report.diagnostics] == [("E205", works, 4)]
    assert "'unknown-work' is not in the bibliography" in report.diagnostics[0].message
    assert not (tmp_path / "texts").exists()  # nothing written while a source has a problem
