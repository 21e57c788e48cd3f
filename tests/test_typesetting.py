"""The typesetting report measured from the PDF (issue 31): faults planted in a copy of the minibook are found on
the pages where they are printed, the clean minibook passes every target, and preflight's verdict names the pages.
The pages a fault is on are found here independently of the report: by the planted words, page by page."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from anthology.check.typesetting import TARGETS, check_pdf, diagnostics, over_targets
from anthology.config import load_config
from anthology.render.print.book_html import geometry_for
from anthology.render.print.composition import measure
from anthology.render.print.typeset import report_path
from conftest import MINIBOOK, Built, build_into

FILLER = " ".join(["Plain words fill the page and the lines run on as they should."] * 12)
# A file name that cannot break: the line before it is set as "The" and "name" across the whole measure.
LOOSE = "The name `Q0123456789_0123456789_0123456789_0123456789_0123456789` ends this sentence."
LONG_WORDS = ["incomprehensibilities", "institutionalisation", "counterrevolutionaries", "uncharacteristically"]
LONG_WORDS += ["internationalisation", "disproportionately", "representationalism"]


LIST = "13. The list's thirteenth item.\n14. Its fourteenth."


def table(first_year: int, caption: str) -> str:
    """A table taller than most of a page: it goes whole to the next page (break-inside: avoid)."""
    rows = "\n".join(f"| {first_year + i} | {i * 7} |" for i in range(26))
    return "| Year | Count |\n|------|------:|\n" + rows + (f"\n\nTable: {caption}" if caption else "")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The minibook with a loose line, a ladder of hyphens, a table that leaves its page short and a captioned
    table whose caption may stay behind, in its second chapter."""
    book = tmp_path_factory.mktemp("planted") / "book"
    shutil.copytree(MINIBOOK, book)
    beta = book / "texts" / "beta.md"
    parts = [FILLER] * 4 + [LOOSE] + [FILLER] * 2 + [" ".join(LONG_WORDS * 6), FILLER, "Before the table."]
    parts += [table(1800, ""), FILLER, FILLER, FILLER, "Before the second table.", table(1900, "A tall table.")]
    parts += [FILLER, FILLER, " ".join(word.capitalize() for word in LONG_WORDS * 4), LIST]
    beta.write_text(beta.read_text(encoding="utf-8") + "\n\n" + "\n\n".join(parts) + "\n", encoding="utf-8")
    return build_into(book, tmp_path_factory.mktemp("planted-build"))


@cache
def page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    return text.split("\f")


def pages_with(pdf: Path, words: str) -> list[int]:
    return [number for number, text in enumerate(page_texts(pdf), start=1) if words in " ".join(text.split())]


def faults(built: Built) -> dict[str, list[list]]:
    """The faults the build wrote beside its PDF, by kind: [page, what]."""
    report = json.loads(report_path(built.pdf).read_text(encoding="utf-8"))
    return report["composition"]["faults"]


def test_a_planted_loose_line_is_found_on_its_page(planted: Built) -> None:
    [page] = pages_with(planted.pdf, "Q0123456789")
    found = [what for number, what in faults(planted)["loose_lines"] if number == page - 1 or number == page]
    assert any(what.startswith("The name") for what in found), faults(planted)["loose_lines"]


def test_a_planted_ladder_is_found_on_its_page(planted: Built) -> None:
    pages = set(pages_with(planted.pdf, LONG_WORDS[0]))
    ladders = faults(planted)["ladders"]
    assert ladders and {page for page, _ in ladders} <= pages
    assert all(len(what.split(" / ")) == 3 for _, what in ladders)


def test_a_table_pushed_overleaf_leaves_a_short_page_and_its_caption(planted: Built) -> None:
    [before] = pages_with(planted.pdf, "Before the table.")
    [rows] = pages_with(planted.pdf, "1800")
    assert rows == before + 1  # the table went whole to the next page
    assert before in {page for page, _ in faults(planted)["short_pages"]}
    [caption] = pages_with(planted.pdf, "A tall table.")
    [second] = pages_with(planted.pdf, "1900")
    stranded = {page for page, _ in faults(planted)["stranded_captions"]}
    assert (caption in stranded) == (second == caption + 1)


def test_preflight_names_the_pages_of_each_figure_over_its_target(planted: Built) -> None:
    config, _ = load_config(planted.project.book_dir)
    found = check_pdf(planted.pdf, config, len(page_texts(planted.pdf)) - 1)
    loose = [d for d in found if "loose lines" in d.message]
    assert [d.code for d in found] == ["E140"] * len(found) and loose
    [page] = pages_with(planted.pdf, "Q0123456789")
    assert f"{page - 1}" in loose[0].message or f"{page}" in loose[0].message
    assert loose[0].hint and "typesetting_limits" in loose[0].hint


def test_book_yaml_relaxes_a_target_and_names_only_real_figures(planted: Built) -> None:
    config, _ = load_config(planted.project.book_dir)
    geometry = geometry_for(config, len(page_texts(planted.pdf)) - 1)
    report = measure(planted.pdf, geometry.top, geometry.height - geometry.bottom)
    relaxed = {name: value for name, value, _ in over_targets(report, {})}
    assert relaxed and over_targets(report, relaxed) == []
    assert [d.code for d in diagnostics(report, relaxed, planted.pdf)] == []
    [unknown] = diagnostics(report, {**relaxed, "loose_line": 3}, planted.pdf)
    assert unknown.code == "E142" and "loose_line" in unknown.message


def test_the_clean_minibook_meets_every_target(built_minibook: Built) -> None:
    report = json.loads(report_path(built_minibook.pdf).read_text(encoding="utf-8"))
    figures = report["composition"]["figures"]
    assert set(figures) == set(TARGETS) and report["composition"]["text_lines"] > 0
    assert [name for name, value in figures.items() if value > TARGETS[name]] == []
    config, _ = load_config(built_minibook.project.book_dir)
    assert check_pdf(built_minibook.pdf, config, report["pages"]) == []


def test_capitalised_words_are_never_broken_and_a_list_keeps_its_start(planted: Built) -> None:
    """Names are not hyphenated (the long words broken in lower case are not broken capitalised), and an ordered
    list that starts at 13 prints 13 and 14 (WeasyPrint alone numbers it from 1)."""
    lines = [line.strip() for text in page_texts(planted.pdf) for line in text.splitlines()]
    broken = [line.split()[-1] for line in lines if line and line[-1] in "-\u2010"]
    assert any(word[0].islower() for word in broken)
    assert not [word for word in broken if word[0].isupper()]
    assert any(line.startswith("13. The list") for line in lines)
    assert any(line.startswith("14. Its fourteenth") for line in lines)


def test_a_pdf_pdftotext_cannot_read_is_a_diagnostic(tmp_path: Path) -> None:
    config, _ = load_config(MINIBOOK)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nnot a PDF at all\n")
    [found] = check_pdf(broken, config, 16)
    assert found.code == "E141" and found.file == broken


def test_the_print_text_ties_cross_references_keeps_list_starts_and_marks_names_only_in_the_body() -> None:
    from anthology.render.print.book_html import hyphenation_lang, set_text

    xref = '<a href="#c" class="xref-print chapter" data-page-before=", p. ">Chapter 1, “Isolation”, p. '
    document = (
        '<html lang="en"><head><title>Title Words</title></head><body><p>Before 1917 see '
        f'{xref}<span class="pnum">17</span></a>.</p><ol start="13" type="1"><li>Item</li></ol></body></html>'
    )
    result = set_text(document)
    assert "<title>Title Words</title>" in result and 'data-page-before=", p. "' in result
    assert '<span class="name">Chapter</span>\u00a01, “<span class="name">Isolation</span>”, p.\u00a0<span' in result
    assert '<span class="name">Before</span> 1917' in result  # a number outside a cross-reference stays free
    assert '<ol start="13" style="counter-reset: list-item 12" type="1">' in result
    assert (hyphenation_lang("en"), hyphenation_lang("en-GB"), hyphenation_lang("fr")) == ("en-US", "en-GB", "fr")
