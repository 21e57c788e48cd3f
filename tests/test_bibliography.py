"""Citations and the consolidated bibliography, on the fixture book (fast) and the real one."""

from __future__ import annotations

import re
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest
from lxml import html as lxml_html

from anthology.ast import stringify, walk
from anthology.build import build
from anthology.load import load_book
from anthology.model import Project
from anthology.pandoc import ast_to_html
from anthology.resolve.bibliography import bibliography_warnings, other_editions
from anthology.resolve.book import resolve_book
from anthology.resolve.entries import entry_divs
from conftest import MINIBOOK, STYLES
from outputs import epub_text, pdf_pages_text


def resolved_minibook(book: Path = MINIBOOK):
    return resolve_book(load_book(book), STYLES)


def test_note_style_renders_full_citation_then_ibid_and_links_each_to_its_entry():
    resolved = resolved_minibook()
    notes = [n for n in walk(resolved.texts["alpha"].blocks) if n["t"] == "Link" and "citation" in n["c"][0][1]]
    texts = [stringify(n["c"][1]) for n in notes]
    assert texts[0].startswith("Serge, Year One") and texts[0].rstrip(".").endswith(", 40")
    assert texts[1].startswith("Ibid.") and "41" in texts[1]
    assert [n["c"][2][0] for n in notes][:2] == ["#bibliography--ref-serge-year-one"] * 2


def test_bibliography_lists_each_cited_work_once_with_back_references():
    resolved = resolved_minibook()
    html = ast_to_html(resolved.texts["bibliography"].ast)
    tree = lxml_html.fromstring(html)
    entries = tree.xpath("//div[contains(@class, 'csl-entry')]")
    assert [e.get("id") for e in entries] == [
        "bibliography--ref-carr-1950",
        "bibliography--ref-serge-year-one-1972",
        "bibliography--ref-serge-year-one",
    ]
    back = {e.get("id"): [a.get("href") for a in e.xpath(".//a[@class='cited-in']")] for e in entries}
    assert back["bibliography--ref-serge-year-one"] == ["#alpha--cite-1"]
    editions = entries[1].xpath(".//a[@class='edition']/@href")
    assert editions == ["#bibliography--ref-serge-year-one"]


def test_print_bibliography_gives_pages_of_citations():
    resolved = resolved_minibook()
    blocks = resolved.print_overrides["bibliography"]({"alpha--cite-1": 9, "alpha--cite-2": 10, "alpha--cite-3": 12})
    text = stringify(blocks)
    assert "Chapter 1 (pp. 9, 10)" in text
    assert "Chapter 1 (p. 12)" in text


def test_uncited_and_duplicate_entries_are_warnings(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    references = book / "references.yaml"
    references.write_text(
        references.read_text()
        + (
            "- id: never-cited\n  type: book\n  title: Nobody Reads This\n  issued: 2000\n"
            "- id: carr-1950-again\n  type: book\n  author: [{family: Carr, given: E. H.}]\n"
            "  title: The Bolshevik Revolution\n  volume: 1\n  issued: 1950\n"
        )
    )
    resolved = resolved_minibook(book)
    warnings = {(d.code, d.line) for d in bibliography_warnings(resolved.book, resolved.citations).items}
    lines = references.read_text().splitlines()
    assert ("W073", lines.index("- id: never-cited") + 1) in warnings
    assert ("W074", lines.index("- id: carr-1950-again") + 1) in warnings


def test_author_date_style_rebuilds_all_three_editions(tmp_path):
    """Switching book.yaml to an author-date CSL: citations print in parentheses, no note is a citation, no '???'."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    config = book / "book.yaml"
    config.write_text(config.read_text() + "citation_style: chicago-author-date\n")
    out = tmp_path / "out"
    outputs = build(Project(book, STYLES, out))
    pdf = "\n".join(pdf_pages_text(outputs["pdf"]))
    epub = epub_text(outputs["epub"])
    site = (out / "html" / "alpha.html").read_text()
    for text in (pdf, epub, lxml_html.fromstring(site).text_content()):
        assert "(Serge 1992, 40)" in text
        assert "???" not in text and "@serge" not in text
        assert "Ibid." not in text
    assert re.search(r"Carr, E\. H\. 1950", pdf)
    with zipfile.ZipFile(outputs["epub"]) as archive:
        assert any("Serge, Victor" in archive.read(n).decode() for n in archive.namelist() if n.endswith(".xhtml"))


def test_no_note_or_citation_of_the_real_book_renders_empty(resolved_real_book):
    """citeproc prints nothing for an entry the style cannot name (e.g. a newspaper item with no title): every note
    and every rendered citation must have text."""
    empty = []
    for slug, item in resolved_real_book.texts.items():
        for node in walk(item.blocks):
            if node["t"] == "Note" and not stringify(node["c"]).strip():
                empty.append(f"{slug}: empty note")
            if node["t"] == "Link" and "citation" in node["c"][0][1] and not stringify(node["c"][1]).strip():
                empty.append(f"{slug}: empty citation {node['c'][2][0]}")
    assert empty == []
    assert sum(len(places) for places in resolved_real_book.citations.places.values()) > 300


def test_the_bibliography_is_rendered_for_the_works_the_texts_cite_beside_their_citations(resolved_real_book):
    """The bibliography's citeproc run starts with the texts' (issue 11: resolving the book is on every build's
    longest path) for the keys their citations name before citeproc; those are the works the rendered citations
    cite, so that run is the one the bibliography takes, not one made after the texts'."""
    index = resolved_real_book.citations
    assert index.references is not None
    keys, rendered = index.references
    assert keys == sorted(index.places) and len(keys) > 100
    assert rendered.done()
    html = ast_to_html(resolved_real_book.texts["bibliography"].ast)
    entries = lxml_html.fromstring(html).xpath("//div[contains(@class, 'csl-entry')]")
    assert len(entries) == len(keys)


def test_a_book_that_prints_no_bibliography_renders_no_reference_list(book_copy):
    """The early citeproc run is the bibliography's: a book that does not list it in `back:` does not pay for it."""
    config = book_copy / "book.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("back: [bibliography]", "back: []"), encoding="utf-8")
    resolved = resolved_minibook(book_copy)
    assert "bibliography" not in resolved.texts
    assert resolved.citations.places and resolved.citations.references is None


@pytest.mark.book
def test_citeproc_given_the_blocks_with_citations_or_notes_renders_what_it_renders_for_the_whole_text(monkeypatch):
    """Each text's citeproc run is given only the blocks that cite or hold a note (issue 11): the real book's
    texts come back exactly as from a run on the whole text, 'Ibid.' and note numbers included."""
    from anthology.ast import clone
    from anthology.resolve import bibliography
    from conftest import BOOK

    calls = []
    reduced_run = bibliography.run_citeproc

    def recording(ast, text, *rest):
        calls.append((clone(ast), text, rest))
        return reduced_run(ast, text, *rest)

    monkeypatch.setattr(bibliography, "run_citeproc", recording)
    resolve_book(load_book(BOOK), STYLES)
    assert len(calls) >= 5
    left_out = 0
    for ast, text, rest in calls:
        kept = bibliography.citing_blocks(ast["blocks"])
        left_out += len(ast["blocks"]) - len(kept)
        assert reduced_run(clone(ast), text, *rest) == bibliography.citeproc_blocks(ast, text, *rest), text.slug
    assert left_out > 100  # most blocks neither cite nor hold a note


def test_a_note_without_a_citation_between_two_citations_still_keeps_the_second_from_being_ibid():
    """citeproc is not given the blocks that neither cite nor hold a note; a note without a citation is given, as it
    decides 'Ibid.' (and numbers the notes citations become)."""
    from anthology.pandoc import markdown_to_ast
    from anthology.resolve import bibliography

    book = load_book(MINIBOOK)
    markdown = (
        "First.[@serge-year-one, 40]\n\nPlain words.\n\nA remark.^[Not a citation.]\n\n"
        "Second.[@serge-year-one, 41]\n\nThird.[@serge-year-one, 42]\n"
    )
    ast = markdown_to_ast(markdown)
    assert bibliography.citing_blocks(ast["blocks"]) == [0, 2, 3, 4]
    arguments = (book.texts[0], bibliography.bibliography_file(book), bibliography.csl_path(book, STYLES), "en")
    blocks = bibliography.run_citeproc(ast, *arguments)
    assert blocks == bibliography.citeproc_blocks(ast, *arguments)
    notes = [stringify(node["c"]) for node in walk(blocks) if node["t"] == "Note"]
    assert notes[0].startswith("Serge, Year One") and notes[1] == "Not a citation."
    assert not notes[2].startswith("Ibid.") and notes[3].startswith("Ibid.")


def citation_links(resolved) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(id, target, printed words) of every citation link of the fixture book's first chapter."""
    links = [n for n in walk(resolved.texts["alpha"].blocks) if n["t"] == "Link" and "citation" in n["c"][0][1]]
    return [(n["c"][0][0], n["c"][2][0], stringify(n["c"][1])) for n in links]


def test_a_citation_of_several_works_links_each_work_to_its_own_entry():
    markdown = (MINIBOOK / "texts" / "alpha.md").read_text(encoding="utf-8")
    group = re.search(r"\[(@[\w-]+, \d+(?:; @[\w-]+, \d+)+)\]", markdown)
    assert group is not None  # the fixture cites several works in one citation
    keys = re.findall(r"@([\w-]+)", group[1])
    links = citation_links(resolved_minibook())
    ids = [ident for ident, _, _ in links]
    assert len(ids) == len(set(ids))
    for key in keys:
        family = {"carr-1950": "Carr", "serge-year-one-1972": "Serge"}[key]
        own = [words for _, target, words in links if target == f"#bibliography--ref-{key}"]
        assert own and all(family in words for words in own), (key, own)
        assert all(len(re.findall(r"\b(?:Carr|Serge)\b", words)) <= 1 for words in own)


def add_to_book(book: Path, entries: str, citations: str) -> None:
    references = book / "references.yaml"
    references.write_text(references.read_text() + textwrap.dedent(entries))
    alpha = book / "texts" / "alpha.md"
    alpha.write_text(alpha.read_text() + "\n" + citations + "\n")


def bibliography_entries(resolved) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each entry's printed words (its first block: what citeproc rendered), by key, in the bibliography's order."""
    _, found = entry_divs(resolved.texts["bibliography"].ast["blocks"], "bibliography--ref-")
    return {key: stringify(entry["c"][1][:1]) for key, entry in found}


def test_bibliography_marks_assumptions_keeps_et_al_and_sorts_untitled_authors_by_title(book_copy):
    add_to_book(
        book_copy,
        """\
        - id: aaronson-1990
          type: book
          author: [{family: Aaronson, given: Ann}]
          title: Zebras
          issued: 1990
          x-et-al: true
        - id: chronicle
          type: book
          title: The Bolshevik Chronicle
          x-assumed: the essay names the title only
        """,
        "Further [@aaronson-1990, 2] and [@chronicle, 5].",
    )
    entries = bibliography_entries(resolved_minibook(book_copy))
    # An entry without an author stands by its title (its article passed over), not before every author.
    assert list(entries) == ["aaronson-1990", "chronicle", "carr-1950", "serge-year-one-1972", "serge-year-one"]
    assert entries["aaronson-1990"].startswith("Aaronson, Ann, et al. Zebras")
    assert entries["chronicle"].endswith("[edition assumed]")
    assert not any("et al." in text or "assumed" in text for key, text in entries.items() if key in MINI_KEYS)


MINI_KEYS = ("carr-1950", "serge-year-one-1972", "serge-year-one")


def test_a_cited_entry_without_title_is_a_warning(book_copy):
    add_to_book(
        book_copy, "- id: untitled\n  type: book\n  author: [{family: Degras}]\n  volume: 1\n", "[@untitled, 5]"
    )
    resolved = resolved_minibook(book_copy)
    warnings = bibliography_warnings(resolved.book, resolved.citations).items
    lines = (book_copy / "references.yaml").read_text().splitlines()
    assert ("W079", lines.index("- id: untitled") + 1) in {(d.code, d.line) for d in warnings}


def test_other_volumes_are_named_once_and_a_chapter_by_its_title():
    entries = {
        "cw-27": {"id": "cw-27", "type": "book", "title": "Collected Works", "volume": 27, "x-work": "cw"},
        "cw-27b": {"id": "cw-27b", "type": "book", "title": "Collected Works", "volume": 27, "x-work": "cw"},
        "famine": {"id": "famine", "type": "chapter", "title": "On the Famine", "volume": 27, "x-work": "cw"},
        "cw-28": {"id": "cw-28", "type": "book", "title": "Collected Works", "volume": 28, "x-work": "cw"},
    }
    text = stringify(other_editions("cw-28", entries, set(entries)))
    assert text.count("vol. 27") == 1 + text.count("(vol. 27)")  # one link for vol. 27, the chapter apart
    assert "\u201cOn the Famine\u201d (vol. 27)" in text


def test_a_citation_in_the_prose_of_an_authors_note_keeps_the_authors_punctuation(book_copy):
    alpha = book_copy / "texts" / "alpha.md"
    alpha.write_text(alpha.read_text().replace("[^1]: The first note.", "[^1]: As he wrote, cited in [@carr-1950, 7]."))
    resolved = resolved_minibook(book_copy)
    notes = [stringify(n["c"]) for n in walk(resolved.texts["alpha"].blocks) if n["t"] == "Note"]
    note = next(text for text in notes if text.startswith("As he wrote"))
    assert "cited in Carr" in note and "(" not in note and ")" not in note


def test_a_newspapers_note_keeps_its_date_and_volumes_are_told_apart_by_volume_not_by_no_date(book_copy):
    add_to_book(
        book_copy,
        """\
        - id: times-1927
          type: article-newspaper
          title: Trotsky versus Stalin
          container-title: The Times
          issued: '1927-12-02'
        - id: cw-27
          type: book
          author: [{family: Lenin, given: V. I.}]
          title: Collected Works
          volume: 27
        - id: cw-28
          type: book
          author: [{family: Lenin, given: V. I.}]
          title: Collected Works
          volume: 28
        """,
        "News [@times-1927]. Works [@cw-27, 88]. More [@cw-28, 9]. Again [@cw-27].",
    )
    links = citation_links(resolved_minibook(book_copy))
    times = [words for _, target, words in links if target == "#bibliography--ref-times-1927"]
    assert times and "December 2, 1927" in times[0]
    cw = [words.rstrip(".") for _, target, words in links if target.startswith("#bibliography--ref-cw-")]
    assert cw == ["Lenin, Collected Works, 27:88", "Lenin, Collected Works, 28:9", "Lenin, Collected Works, vol. 27"]


def test_an_authors_note_opening_with_several_works_links_each_to_its_own_entry(book_copy):
    alpha = book_copy / "texts" / "alpha.md"
    note = "[^1]: [@carr-1950, 7; @serge-year-one-1972, 3]. The first note."
    alpha.write_text(alpha.read_text().replace("[^1]: The first note.", note))
    links = citation_links(resolved_minibook(book_copy))
    opening = [(target, words) for _, target, words in links if words.startswith("Carr") and "7" in words]
    assert opening == [("#bibliography--ref-carr-1950", "Carr, The Bolshevik Revolution, 1:7")]
    assert any(target == "#bibliography--ref-serge-year-one-1972" and ", 3" in words for _, target, words in links)


def test_an_edited_references_file_is_read_again_in_the_same_process(book_copy):
    """The preview resolves the book again after each save in one process: a work added to references.yaml is
    there at the next read, and one removed is gone (the works were kept by the file's name)."""
    from anthology.resolve.bibliography import bibliography_file, load_entries

    path = book_copy / "references.yaml"
    assert path == bibliography_file(load_book(book_copy))
    before = load_entries(path)
    added = "- id: added-later\n  type: book\n  title: Added Later\n  issued: 2001\n"
    path.write_text(path.read_text(encoding="utf-8") + added, encoding="utf-8")
    assert set(load_entries(path)) == set(before) | {"added-later"}
    path.write_text(path.read_text(encoding="utf-8").replace(added, ""), encoding="utf-8")
    assert set(load_entries(path)) == set(before)
