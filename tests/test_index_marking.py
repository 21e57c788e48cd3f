"""The index's marking rules and locators, on small texts: whole words, case, longest alias, places never marked,
hand marks, page ranges, and bad input named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from anthology import pandoc
from anthology.ast import stringify, walk
from anthology.diagnostics import BuildError, Collector
from anthology.load import load_book
from anthology.model import Chapter, Entry, IndexSpec, Marks, TextMeta
from anthology.resolve.book import resolve_book
from anthology.resolve.indexing import Matcher, TextMarker, load_spec, page_ranges, print_locators
from conftest import STYLES


def spec_of(*entries: Entry, skip: tuple[str, ...] = ()) -> IndexSpec:
    for entry in entries:
        for sub in entry.sub:
            sub.parent = entry
    return IndexSpec(Path("index.yaml"), list(entries), set(skip))


def mark(markdown: str, spec: IndexSpec) -> tuple[list[dict], Marks, Collector]:
    """Mark one chapter written in Markdown; returns its blocks, the marks and the diagnostics."""
    ast = pandoc.markdown_to_ast(markdown)
    chapter = Chapter("essay", "chapter", Path("essay.md"), TextMeta(title="Essay"), markdown, 5, number=1)
    marks, collector = Marks(), Collector()
    blocks = TextMarker(chapter, Matcher(spec), spec, marks, collector).blocks(ast["blocks"])
    return blocks, marks, collector


def marked_words(blocks: list[dict]) -> list[str]:

    return [
        stringify(node["c"][1]) for node in walk(blocks) if node["t"] == "Span" and "index-marker" in node["c"][0][1]
    ]


LENIN = Entry("Lenin, V. I.", ["Lenin"])
NEP = Entry("New Economic Policy", ["New Economic Policy", "NEP"])
BAN = Entry("ban on factions", ["ban on factions"])
LEFT = Entry("Left Opposition", ["Left Opposition", "Opposition"])


def test_whole_words_only_and_possessives():
    blocks, marks, _ = mark("Lenin and Leninism; Lenin’s party; Lenin-era; Stalin.", spec_of(LENIN))
    assert marked_words(blocks) == ["Lenin", "Lenin"]  # not Leninism, not Lenin-era; the possessive is a word
    assert [o.entry for o in marks.occurrences] == ["Lenin, V. I.", "Lenin, V. I."]


def test_case_rules_names_exact_concepts_capitalised_at_sentence_start():
    blocks, _, _ = mark(
        "Ban on factions: the ban on factions, the BAN ON FACTIONS. lenin and nep.", spec_of(BAN, LENIN, NEP)
    )
    assert marked_words(blocks) == ["Ban on factions", "ban on factions"]


def test_longest_alias_wins_and_spans_several_words():
    blocks, marks, _ = mark(
        "The Left Opposition, then the Opposition; the New\nEconomic Policy (NEP).", spec_of(LEFT, NEP)
    )
    assert marked_words(blocks) == ["Left Opposition", "Opposition", "New Economic Policy", "NEP"]
    assert len({o.marker for o in marks.occurrences}) == 4  # unique ids


def test_a_word_inside_punctuation_is_split_not_lost():
    blocks, _, _ = mark("“Lenin” said (Lenin).", spec_of(LENIN))
    assert marked_words(blocks) == ["Lenin", "Lenin"]
    text = "".join(node["c"] for node in walk(blocks) if node["t"] == "Str")
    assert text == "“Lenin”said(Lenin)."  # every character kept, in order


def test_never_in_headings_links_notes_or_skipped_sections():
    markdown = (
        "## Lenin at work\n\nLenin wrote.[^1] See [Lenin](#x).\n\n## Reading {#further}\n\nLenin, *Works*.\n\n"
        "## Again\n\nLenin again.\n\n[^1]: Lenin, *Collected Works*."
    )
    blocks, marks, _ = mark(markdown, spec_of(LENIN, skip=("further",)))
    assert marked_words(blocks) == ["Lenin", "Lenin"]
    assert [(o.section, o.section_title) for o in marks.occurrences] == [(1, "Lenin at work"), (3, "Again")]


def test_sections_inside_a_division_name_their_locators_and_are_skipped_there_too():
    """A text's closing matter in a division (`::: endmatter`): its sections still open sections, and a skipped one
    is skipped (issue 29: locators under the section before it, a reading list indexed)."""
    markdown = (
        "## Argument\n\nLenin wrote.\n\n::: endmatter\n## Questions\n\nWhy did Lenin write?\n\n"
        "## Reading {#further}\n\nLenin, *Works*.\n:::\n"
    )
    blocks, marks, _ = mark(markdown, spec_of(LENIN, skip=("further",)))
    assert marked_words(blocks) == ["Lenin", "Lenin"]
    assert [(o.section, o.section_title) for o in marks.occurrences] == [(1, "Argument"), (2, "Questions")]


def test_hand_mark_by_term_and_sub_entry():
    tenth = Entry("Tenth Congress", ["Tenth Congress"])
    party = Entry("Communist Party", ["Communist Party"], sub=[tenth])
    markdown = (
        'The [gathering of 1921]{.idx term="Communist Party" sub="Tenth Congress"} and [Ilyich]{.idx term="Lenin"}.'
    )
    blocks, marks, collector = mark(markdown, spec_of(party, LENIN))
    assert not collector.items
    assert marked_words(blocks) == ["gathering of 1921", "Ilyich"]
    assert [o.entry for o in marks.occurrences] == ["Communist Party!Tenth Congress", "Lenin, V. I."]


def test_unknown_hand_mark_names_file_and_line():
    markdown = "First line.\n\nSecond, with [Kronshtadt]{.idx}.\n"
    _, _, collector = mark(markdown, spec_of(LENIN))
    [error] = collector.errors
    assert error.code == "E081" and error.file == Path("essay.md") and error.line == 5 + 2
    assert "Kronshtadt" in error.message


def test_page_ranges_collapse_consecutive_pages_without_duplicates():
    assert page_ranges([9, 3, 4, 5, 4, 12, 13]) == [(3, 5), (9, 9), (12, 13)]
    assert page_ranges([]) == []


def test_print_locators_link_each_page_once_to_its_first_occurrence():
    from anthology.model import Occurrence

    occurrences = [Occurrence("t", f"m{n}", "essay", 1, "", "t") for n in range(5)]
    pages = {"m0": 10, "m1": 10, "m2": 11, "m3": 12, "m4": 20}
    links = [node for node in print_locators(occurrences, pages) if node["t"] == "Link"]
    assert [(stringify(node["c"][1]), node["c"][2][0]) for node in links] == [("10–12", "#m0"), ("20", "#m4")]


def write_index(book: Path, text: str) -> None:
    (book / "index.yaml").write_text(text)
    config = book / "book.yaml"
    config.write_text(config.read_text().replace("back: [bibliography]", "back: [index]"))


def test_bad_index_yaml_is_reported_with_its_lines(book_copy):
    write_index(
        book_copy,
        "entries:\n  - term: Alpha\n    see_also: [Gamma]\n  - aliases: [x]\n  - term: Beta\n    aliases: [Alpha]\n"
        "  - term: Alpha2\n    aliases: [Alpha]\n",
    )
    with pytest.raises(BuildError) as caught:
        load_spec(book_copy)
    found = {(d.line, d.message.split(":")[0]) for d in caught.value.diagnostics}
    assert (2, "'Alpha'") in found  # see_also to a heading that does not exist
    assert any(line == 4 for line, _ in found)  # an entry without a term
    assert any(d.line == 7 and "already belongs" in d.message for d in caught.value.diagnostics)


def test_minibook_index_is_generated_with_linked_locators(book_copy):
    write_index(
        book_copy,
        "entries:\n  - term: alpha\n    aliases: [alpha]\n  - term: paragraph\n  - term: A\n    see: alpha\n",
    )
    resolved = resolve_book(load_book(book_copy), STYLES)
    index = resolved.texts["index"]
    links = [node for node in walk(index.blocks) if node["t"] == "Link"]
    ids = set(resolved.owner_of())
    assert links and all(node["c"][2][0][1:] in ids for node in links)
    occurrences = resolved.index.marks.occurrences
    assert {o.entry for o in occurrences} == {"alpha", "paragraph"}
    printed = resolved.print_overrides["index"]({o.marker: 7 for o in occurrences})
    labels = [
        stringify(node["c"][1]) for node in walk(printed) if node["t"] == "Link" and "index-locator" in node["c"][0][1]
    ]
    assert labels == ["7", "7"]  # one page each, printed once
