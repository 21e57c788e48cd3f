"""Ingest reads the sources editors receive: Word, OpenDocument, web pages and Markdown with raw HTML, in any
encoding a recipe declares, with the note forms sources use; the recorded digest is verified. Each source here is
written in tmp_path (the Word and OpenDocument files made by the bundled pandoc from Markdown)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from anthology.diagnostics import CATALOGUE
from anthology.ingest import explain, run_ingest
from anthology.ingest.pipeline import clean, fidelity
from anthology.ingest.recipe import NOTE_FORMS, Recipe, Rules
from anthology.ingest.typography import apply_typography
from anthology.pandoc import markdown_to_ast, pandoc_binary

ROOT = Path(__file__).resolve().parents[1]
MINIBOOK = ROOT / "tests" / "fixtures" / "minibook"
EXIT_INPUT_ERROR = 2

# A chapter as an editor might receive it from a word processor: a title, a section, Word's own footnotes.
WORD_CHAPTER = """\
# A Letter Home

## The Voyage

We sailed on a grey morning.[^1] The "harbour" was quiet.

Nobody waved from the pier.[^2]

[^1]: The ship was the *Arcturus*.
[^2]: So the diary says.
"""

# A web page: wrappers and attributes everywhere, a quotation mark inside an attribute, verse set with <br>,
# and footnotes in the form pandoc's own HTML writer gives them.
WEB_CHAPTER = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Songs</title></head>
<body><div class="entry-content" id="post-12" style="margin:0">
<h1 class="entry-title">Songs of the Road</h1>
<p class="lead" data-x='a "quoted" attribute'>A <span class="dropcap">song</span> the carters sang
on 1862-01-01, <em>word for word</em>.<sup><a href="#fn1" id="fnref1" class="footnote-ref"
role="doc-noteref">1</a></sup></p>
<p class="verse">The road is long,<br>the load is dear,<br/>and home is far<br />from here.</p>
<p>After the song, prose again.</p>
</div>
<section id="footnotes" class="footnotes" role="doc-endnotes"><hr><ol>
<li id="fn1"><p>Heard at Leeds.<a href="#fnref1" class="footnote-back" role="doc-backlink">↩︎</a></p></li>
</ol></section>
</body></html>
"""

# A chapter of a book whose notes are numbered across the whole book: this one's run from 12.
BRACKETED_CHAPTER = """\
CHAPTER III

The mill stood by the river.[12] Its wheel had turned for a century.

The miller kept a ledger [13] of every sack.

[12] It was pulled down in 1901.

[13] The ledger survives in the county archive.
"""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def made_by_pandoc(markdown: str, to: str, path: Path) -> bytes:
    """A Word or OpenDocument file, written by the bundled pandoc from Markdown (as a word processor would)."""
    source = path.with_suffix(".source.md")
    source.write_text(markdown, encoding="utf-8")
    subprocess.run([pandoc_binary(), "--sandbox", "-f", "markdown", "-t", to, "-o", str(path), str(source)], check=True)
    source.unlink()
    return path.read_bytes()


def add_source(sources: Path, name: str, data: bytes, rules: dict[str, Any], **top: Any) -> Path:
    """A raw source and its recipe, the recipe recording the source's true digest unless `top` says otherwise."""
    sources.mkdir(parents=True, exist_ok=True)
    (sources / name).write_bytes(data)
    recipe = {
        "source": name,
        "received_as": name,
        "sha256": digest(data),
        "meta": {"title": Path(name).stem.title(), "authors": ["A. Writer"], "rights": "cleared"},
        "rules": rules,
        **top,
    }
    path = sources / f"{Path(name).stem}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def body_of(text: str) -> str:
    return text.split("---\n", 2)[2]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if text in line)


def sentence_with(body: str, call: str) -> str:
    """The sentence a note call stands in (up to the call), to check each note stays where the source put it."""
    before = body[: body.index(call)]
    return re.split(r"(?<=[.!?”\]])\s+|\n", before)[-1]


def leftover_markup(body: str) -> list[str]:
    """What a cleaned text must not hold: HTML tags, Markdown hard breaks, unconverted note calls."""
    found = re.findall(r"</?[A-Za-z][^>\n]*>", body)
    found += re.findall(r"\\\n", body)
    found += re.findall(r"\[\d+\]|\^\[|(?<!\[)\^\d", body)  # [12], ^[, ^3 (a converted call is [^N])
    return found


# --- formats ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["docx", "odt"])
def test_a_word_or_opendocument_file_is_read_by_pandoc_with_its_own_footnotes(tmp_path: Path, to: str) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    data = made_by_pandoc(WORD_CHAPTER, to, sources / f"letter.{to}")
    add_source(sources, f"letter.{to}", data, {"title_lines": [1]})
    report = run_ingest(tmp_path)
    assert report.diagnostics == []
    [essay] = report.essays
    assert (essay.notes_called, essay.notes_defined, essay.fidelity_differing) == (2, 2, 0)
    assert f"{to}, read by pandoc" in essay.read_as
    assert (sources / f"letter.{to}").read_bytes() == data  # kept as received
    body = body_of((tmp_path / "texts" / "letter.md").read_text(encoding="utf-8"))
    assert "## The Voyage" in body and "A Letter Home" not in body
    assert "The “harbour” was quiet." in body
    assert sentence_with(body, "[^1]") == "We sailed on a grey morning."
    assert sentence_with(body, "[^2]") == "Nobody waved from the pier."
    assert "[^1]: The ship was the *Arcturus*." in body and "[^2]: So the diary says." in body
    assert leftover_markup(body) == []


RICH_CHAPTER = """\
# Title

A paragraph with a [link](https://example.com/1917-21/a-b) and "quotes" -- and ... dots.

> A quotation from someone
> that runs on.

- first item
- second item

1. one
2. two

| Year | Members |
|------|--------:|
| 1917 | 23,600 |
| 1921 | 732,521 |

Table: Membership "by year".

Last paragraph.
"""


@pytest.mark.parametrize("to", ["docx", "odt"])
def test_a_word_files_structure_comes_through_as_markdown(tmp_path: Path, to: str) -> None:
    """Section, quotation, lists and a table read from Word are that structure in the cleaned text; a link's
    target keeps its hyphens (typography leaves it alone)."""
    sources = tmp_path / "sources"
    sources.mkdir()
    add_source(sources, f"rich.{to}", made_by_pandoc(RICH_CHAPTER, to, sources / f"rich.{to}"), {"title_lines": [1]})
    report = run_ingest(tmp_path)
    assert report.diagnostics == [] and report.essays[0].fidelity_differing == 0
    body = body_of((tmp_path / "texts" / "rich.md").read_text(encoding="utf-8"))
    assert "(https://example.com/1917-21/a-b)" in body and "“quotes”" in body
    blocks = [block["t"] for block in markdown_to_ast(body)["blocks"]]
    assert blocks[:4] == ["Para", "BlockQuote", "BulletList", "OrderedList"] and blocks[-2:] == ["Table", "Para"]
    # (pandoc reads an OpenDocument table's caption as a paragraph before it: a Para between the list and the table)
    assert re.search(r"Membership “by year”", body)
    assert leftover_markup(body) == []


def test_a_web_page_loses_wrappers_and_attributes_and_its_br_verse_is_a_line_block(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    add_source(sources, "songs.html", WEB_CHAPTER.encode("utf-8"), {"title_lines": [1]})
    report = run_ingest(tmp_path)
    assert report.diagnostics == []
    assert report.essays[0].fidelity_differing == 0
    body = body_of((tmp_path / "texts" / "songs.md").read_text(encoding="utf-8"))
    assert "| The road is long,\n| the load is dear,\n| and home is far\n| from here." in body
    assert "on 1862-01-01," in body  # an ISO date keeps its hyphens
    assert sentence_with(body, "[^1]") == "A song the carters sang on 1862-01-01, *word for word*."
    assert "[^1]: Heard at Leeds." in body
    assert "Songs of the Road" not in body and "entry" not in body and "quoted" not in body
    assert leftover_markup(body) == []


def test_markdown_with_raw_html_is_cleaned_by_rewrite_rules_inside_blocks(tmp_path: Path) -> None:
    """A static site's Markdown: a wrapper on lines of its own, a span inside a paragraph, <br/> verse."""
    raw = (
        '# Field Notes\n\n<div class="post">\n\nWe met on 1862-01-01 at the "old" inn, <span class="x">said</span> '
        'she.[^1]\n\n<div class="poem">\nOver the hill<br/>\nand down the dale<br/>\nthe wind goes on.\n</div>\n\n'
        "</div>\n\n[^1]: In her own words.\n"
    )
    rewrite = [{"pattern": r"</?(?:div|span)\b[^>]*>", "replace": "", "reason": "the site's layout wrappers"}]
    add_source(tmp_path / "sources", "notes.md", raw.encode("utf-8"), {"title_lines": [1], "rewrite": rewrite})
    report = run_ingest(tmp_path)
    assert report.diagnostics == []
    assert report.essays[0].fidelity_differing == 0 and report.essays[0].notes_called == 1
    body = body_of((tmp_path / "texts" / "notes.md").read_text(encoding="utf-8"))
    assert "We met on 1862-01-01 at the “old” inn, said she.[^1]" in body
    assert "| Over the hill\n| and down the dale\n| the wind goes on." in body
    assert leftover_markup(body) == []


def test_typography_leaves_html_attributes_and_iso_dates_alone() -> None:
    text = '<abbr title="the \'Society\'">S.</abbr> said "no" on 1862-01-01, pp. 3-5'
    assert apply_typography(text) == "<abbr title=\"the 'Society'\">S.</abbr> said “no” on 1862-01-01, pp. 3–5"


def test_a_declared_encoding_decodes_the_raw_bytes_which_stay_as_received(tmp_path: Path) -> None:
    data = "Title\n\nThe café in Besançon was “full”.\n".encode("cp1252")
    add_source(tmp_path / "sources", "cafe.txt", data, {"title_lines": [1]}, encoding="cp1252")
    assert run_ingest(tmp_path).diagnostics == []
    assert (tmp_path / "sources" / "cafe.txt").read_bytes() == data
    assert "The café in Besançon was “full”." in (tmp_path / "texts" / "cafe.md").read_text(encoding="utf-8")


def test_explain_prints_the_lines_a_converted_sources_recipe_counts(tmp_path: Path, capsys) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    add_source(sources, "letter.docx", made_by_pandoc(WORD_CHAPTER, "docx", sources / "letter.docx"), {})
    assert explain(tmp_path, "letter") == 0
    printed = capsys.readouterr().out
    assert "docx, read by pandoc into Markdown" in printed
    assert re.search(r"^\s+1  # A Letter Home$", printed, flags=re.M)
    assert re.search(r"^\s+3  ## The Voyage$", printed, flags=re.M)


# --- note forms -----------------------------------------------------------------------------------------------------


def cleaned(raw: str, **rules: Any) -> tuple[str, Any]:
    recipe = Recipe(source="t.txt", received_as="t", sha256="0", meta={"title": "T"}, rules=Rules.model_validate(rules))
    result = clean("t", raw, recipe)
    return body_of(result.markdown), (result, fidelity(raw, result, recipe))


NOTE_CASES = [
    ("The first claim.12 The second.13\n\n12) A note.\n13) Another note.", {"style": "endnotes-paren", "first": 12}),
    ("The first claim.[12] The second [13].\n\n[12] A note.\n\n[13] Another\nnote.", {"style": "bracketed"}),
    ("The first claim.^12 The second ^13.\n\n^12 A note.\n\n^13 Another note.", {"style": "caret"}),
    ("The first claim.[^12] The second.[^13]\n\n[^12]: A note.\n\n[^13]: Another note.", {"style": "pandoc"}),
    ("The first claim.12 The second.13\n\n12. A note.\n13. Another note.", {"style": "endnotes", "first": 12}),
    ("The first claim.¹² The second.¹³\n\n¹²A note.\n\n¹³Another note.", {"style": "superscript"}),
]


@pytest.mark.parametrize(("raw", "notes"), NOTE_CASES, ids=[notes["style"] for _, notes in NOTE_CASES])
def test_each_note_form_attaches_each_note_where_the_source_called_it(raw: str, notes: dict[str, Any]) -> None:
    rules = dict(notes)
    if notes["style"].startswith("endnotes"):  # an endnote list says where it starts
        rules["start_line"] = next(n for n, line in enumerate(raw.split("\n"), 1) if line.startswith("12"))
    body, (result, fid) = cleaned(raw, notes=rules)
    assert result.problems == [] and fid.differing == 0
    assert sentence_with(body, "[^12]") == "The first claim."
    assert sentence_with(body, "[^13]").rstrip(".") == "The second"
    assert "[^12]: A note." in body and re.search(r"\[\^13\]: Another note\.", body)
    assert leftover_markup(body.replace("[^12]", "").replace("[^13]", "")) == []


def test_bracketed_numbers_outside_the_recipes_range_are_not_calls() -> None:
    """With `first: 12`, a bracketed year stays text, and a note numbered below 12 has no call (E212)."""
    raw = "In [1862] the claim.[12] And [4] more.\n\n[12] The note.\n\n[4] A stray note."
    body, (result, _fid) = cleaned(raw, notes={"style": "bracketed", "first": 12})
    assert "In [1862] the claim.[^12] And [4] more." in body
    assert [(p.code, p.line) for p in result.problems] == [("E212", 5)]


def test_every_note_form_a_recipe_may_name_is_tried_above() -> None:
    assert {notes["style"] for _, notes in NOTE_CASES} == set(NOTE_FORMS) - {"none"}


# --- diagnostics ----------------------------------------------------------------------------------------------------


def test_every_sources_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    """A missing recipe, two broken recipes, a wrong encoding, changed bytes and an unknown note form: one run
    names each at its file and line with a hint, and writes no text (not even the good source's)."""
    sources = tmp_path / "sources"
    add_source(sources, "good.txt", b"Title\n\nFine.\n", {})
    sources.joinpath("orphan.html").write_text("<p>No recipe.</p>", encoding="utf-8")
    broken_one = add_source(sources, "one.txt", b"Title\n", {"title_line": [1]})
    broken_two = add_source(sources, "two.txt", b"Title\n", {"headings": {"all_caps": "often"}})
    latin = add_source(sources, "latin.txt", b"Title\n\nok\n\nTh\xe9\xe2tre\n", {})
    changed = add_source(sources, "changed.txt", b"Title\n\nAs recorded.\n", {})
    sources.joinpath("changed.txt").write_bytes(b"Title\n\nEdited since.\n")
    form = add_source(sources, "form.txt", b"Title\n", {"notes": {"style": "footnotes"}})
    report = run_ingest(tmp_path)
    found = {(d.code, d.file, d.line) for d in report.diagnostics}
    assert found == {
        ("E201", sources / "orphan.html", None),
        ("E203", broken_one, line_of(broken_one, "title_line:")),
        ("E203", broken_two, line_of(broken_two, "all_caps:")),
        ("E219", sources / "latin.txt", 5),
        ("E218", changed, line_of(changed, "sha256:")),
        ("E203", form, line_of(form, "style: footnotes")),
    }
    by_code = {d.code: d for d in report.diagnostics}
    assert "not valid UTF-8 (byte 0xe9)" in by_code["E219"].message and "encoding" in by_code["E219"].hint
    assert "changed.txt is not the file its recipe recorded" in by_code["E218"].message
    assert f"sha256sum {sources / 'changed.txt'}" in by_code["E218"].hint
    [unknown] = [d for d in report.diagnostics if d.file == form]
    assert "unknown note form 'footnotes'" in unknown.message and all(f in unknown.message for f in NOTE_FORMS)
    assert all(d.hint or CATALOGUE[d.code].hint for d in report.diagnostics)
    assert latin.exists() and not (tmp_path / "texts").exists()


def test_a_recipe_naming_another_file_than_its_source_is_an_error_at_its_line(tmp_path: Path) -> None:
    recipe = add_source(tmp_path / "sources", "essay.md", b"Title\n\nText.\n", {}, source="essay.txt")
    [problem] = run_ingest(tmp_path).diagnostics
    assert (problem.code, problem.file, problem.line) == ("E222", recipe, line_of(recipe, "source:"))
    assert problem.hint == "write source: essay.md"


def test_two_sources_of_one_name_are_an_error_naming_both(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    add_source(sources, "essay.txt", b"Title\n\nText.\n", {})
    (sources / "essay.html").write_text("<p>Text.</p>", encoding="utf-8")
    [problem] = run_ingest(tmp_path).diagnostics
    assert problem.code == "E220" and "essay.html" in problem.message and "essay.txt" in problem.message


def test_invoke_ingest_prints_each_problem_as_a_standard_diagnostic(tmp_path: Path) -> None:
    book = tmp_path / "book"
    recipe = add_source(book / "sources", "changed.txt", b"Title\n\nAs recorded.\n", {})
    (book / "sources" / "changed.txt").write_bytes(b"Title\n\nEdited.\n")
    result = invoke("ingest", book)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR and "Traceback" not in output, output
    assert f"{recipe}:{line_of(recipe, 'sha256:')}: error E218: changed.txt is not the file" in output
    assert "hint: if the new file is intended, record its digest" in output


# --- a book of three formats, end to end ----------------------------------------------------------------------------


def invoke(task: str, book: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "invoke", task, "--book", str(book), *extra]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_a_book_of_a_word_file_a_web_page_and_a_bracketed_text_ingests_checks_and_builds(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    shutil.rmtree(book / "texts")
    (book / "headnotes" / "alpha.md").unlink()
    config = yaml.safe_load((book / "book.yaml").read_text(encoding="utf-8"))
    config["parts"][0]["chapters"] = ["letter", "songs", "mill"]
    config["back"] = ["note-on-the-texts", *config.get("back", [])]  # it reads each source (a Word file too)
    (book / "book.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    sources = book / "sources"
    sources.mkdir()
    add_source(
        sources, "letter.docx", made_by_pandoc(WORD_CHAPTER, "docx", sources / "letter.docx"), {"title_lines": [1]}
    )
    add_source(sources, "songs.html", WEB_CHAPTER.encode("utf-8"), {"title_lines": [1]})
    mill = {"title_lines": [1], "notes": {"style": "bracketed", "first": 12}}
    add_source(sources, "mill.txt", BRACKETED_CHAPTER.encode("utf-8"), mill)
    for task in ("ingest", "check"):
        result = invoke(task, book)
        assert result.returncode == 0, result.stdout + result.stderr
    texts = {
        slug: body_of((book / "texts" / f"{slug}.md").read_text(encoding="utf-8"))
        for slug in config["parts"][0]["chapters"]
    }
    for slug, body in texts.items():
        assert leftover_markup(body) == [], slug
    assert sentence_with(texts["mill"], "[^12]") == "The mill stood by the river."
    assert sentence_with(texts["mill"], "[^13]") == "The miller kept a ledger"
    assert "[^13]: The ledger survives in the county archive." in texts["mill"]
    assert sentence_with(texts["letter"], "[^2]") == "Nobody waved from the pier."
    out = tmp_path / "out"
    result = invoke("html", book, "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (out / "html").rglob("*.html"))
    assert "the load is dear" in pages and "It was pulled down in 1901." in pages
    assert "&lt;br" not in pages and 'class="verse"' not in pages and "[12]" not in pages
