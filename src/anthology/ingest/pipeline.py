"""One essay through the rules, in a fixed order: raw text + recipe -> cleaned Markdown."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from anthology.ingest import blocks, cite, emend, joins, markup, notes, structure
from anthology.ingest.fidelity import (
    Difference,
    Fidelity,
    account_citations,
    check_records,
    compare,
    split_markdown,
    words,
)
from anthology.ingest.model import CitationRecord, Document, Problem
from anthology.ingest.recipe import Recipe, Rules
from anthology.ingest.render import render_text
from anthology.ingest.typography import slash_insertions_to_brackets
from anthology.ingest.works import WorksTable


@dataclass
class Result:
    """The cleaned text, the document it came from, and problems found on the way."""

    markdown: str
    doc: Document
    problems: list[Problem] = field(default_factory=list)


Step = Callable[[Document, Rules], None]


def _notes(doc: Document, rules: Rules) -> None:
    """Note texts out of the flow, calls tagged as `[^N]`, per the recipe's note form. A Markdown source (pandoc's
    reading of a Word or web file, or a `.md`) holds its own footnotes as `[^N]` when the recipe names no form."""
    style = "pandoc" if rules.notes.style == "none" and doc.markdown else rules.notes.style
    if style in ("endnotes", "endnotes-paren"):
        notes.extract_endnotes(doc, rules)
        last = max([*doc.notes, *rules.notes.expect_missing], default=0)
        notes.tag_endnote_calls(doc, last, rules.notes.first)
    elif style == "superscript":
        notes.extract_superscript_notes(doc)
        notes.tag_superscript_calls(doc)
    elif style in notes.MARKED:
        notes.extract_marked_notes(doc, notes.MARKED[style])
        last = max([*doc.notes, *rules.notes.expect_missing], default=0)
        notes.tag_marked_calls(doc, notes.MARKED[style], rules.notes.first, last)


def _slash_insertions(doc: Document, rules: Rules) -> None:
    """Slash-marked insertions in the body become bracketed ones (when the recipe says the source uses them)."""
    if rules.slash_insertions:
        for block in doc.blocks:
            block.lines = [slash_insertions_to_brackets(line, rules.slash_insertions_except) for line in block.lines]


def _joins(doc: Document, rules: Rules) -> None:
    if rules.join_page_breaks:
        joins.join_page_breaks(doc, rules)


# The rules in the order they run; a new rule is one more entry. (The recipe's rewrites of markup inside lines
# run before them all, in `clean`: every rule reads the source through them.)
# Removals come first (later rules never see boilerplate), then notes (so page-break joins see the body
# without interleaved footnotes), then the structure the recipe lists by line (so joins never swallow an
# epigraph or a poem), joins, emendations, and the structure found by rule. Citations come last: they
# need words rejoined across page breaks, notes attached to their calls, and quotations found by their
# parenthetical sources before those sources become keys.
STEPS: list[tuple[str, Step]] = [
    ("remove-listed", blocks.remove_listed),
    ("remove-page-headers", blocks.remove_page_headers),
    ("standfirst", blocks.take_standfirst),
    ("notes", _notes),
    ("markdown-blocks", markup.mark_markdown_blocks),
    ("verse", markup.mark_verse),
    ("endmatter", structure.mark_endmatter),
    ("epigraphs", structure.mark_epigraphs),
    ("poems", structure.mark_poems),
    ("tables", structure.mark_tables),
    ("blockquotes", structure.mark_blockquotes),
    ("page-break-joins", _joins),
    ("emendations", emend.apply_emendations),
    ("slash-insertions", _slash_insertions),
    ("headings", structure.mark_headings),
    ("quotations", structure.mark_quotations),
    ("lists", structure.mark_lists),
    ("citations", cite.convert_citations),
]


def clean(slug: str, raw: str, recipe: Recipe, works: WorksTable | None = None, markdown: bool = False) -> Result:
    """Run every step on one source, then render it; problems (e.g. notes) are returned, not raised.

    `works` is the essay's alias table, needed when the recipe converts citations (`rules.citations`); `markdown`
    says the source is Markdown (its `#` headings, `>` quotations and `[^N]` notes are read as such).
    """
    doc = Document(slug=slug, blocks=blocks.split_blocks(raw), works=works, markdown=markdown)
    markup.rewrite_lines(doc, recipe.rules)
    for _name, step in STEPS:
        step(doc, recipe.rules)
    problems = notes.mark_missing(doc, recipe.rules) + cite.unexplained(doc)
    return Result(emend.apply_insertions(render_text(doc, recipe), recipe.rules), doc, problems)


NumberedLines = list[tuple[int, str]]


def raw_lines(raw: str, doc: Document, recipe: Recipe, emended: bool) -> tuple[NumberedLines, NumberedLines]:
    """The author's lines of the raw source as (body, notes), each with its 1-based number: recorded removals
    left out.

    With `emended`, the recipe's emendations are applied at their lines, so the remaining differences
    are the ones no record explains.
    """
    lines = [markup.prepare_raw(line, recipe.rules) for line in raw.split("\n")]
    if emended:
        for e in recipe.rules.emendations:
            lines[e.line - 1] = lines[e.line - 1].replace(e.original, e.corrected, 1)
    removed = {n for r in doc.removals for n in range(r.first, r.last + 1)}
    in_notes = {n for note in doc.notes.values() if note.first for n in range(note.first, note.last + 1)}
    body = [(i, ln) for i, ln in enumerate(lines, 1) if i not in removed and i not in in_notes]
    note_lines = [(i, ln) for i, ln in enumerate(lines, 1) if i in in_notes and i not in removed]
    return body, note_lines


def raw_parts(raw: str, doc: Document, recipe: Recipe, emended: bool) -> tuple[str, str]:
    """The author's text of the raw source as (body, notes): `raw_lines` joined."""
    body, note_lines = raw_lines(raw, doc, recipe, emended)
    return "\n".join(ln for _, ln in body), "\n".join(ln for _, ln in note_lines)


def word_lines(lines: NumberedLines) -> list[int]:
    """The source line of each comparable word of `lines` (words never run across a line end)."""
    return [number for number, line in lines for _ in words(line)]


def at_words(differences: list[Difference], lines: list[int]) -> list[Difference]:
    """The differences of one part with the source line of their first raw word (or of the part's end)."""
    return [
        dataclasses.replace(d, line=lines[min(d.word, len(lines) - 1)] if d.word is not None and lines else None)
        for d in differences
    ]


def fidelity(raw: str, result: Result, recipe: Recipe, emended: bool = True) -> Fidelity:
    """Compare raw and cleaned words: body (with the standfirst) and notes, each in reading order.

    Each converted citation counts as the original words of its record (see `fidelity.account_citations`);
    a citation its record does not account for counts as differing words.
    """
    doc = result.doc
    body_lines, note_lines = raw_lines(raw, doc, recipe, emended)
    raw_body, raw_notes = "\n".join(ln for _, ln in body_lines), "\n".join(ln for _, ln in note_lines)
    standfirst, body, note_text = split_markdown(result.markdown)
    in_body = [r for r in doc.citations if r.note is None]
    in_notes = sorted((r for r in doc.citations if r.note is not None), key=_note_number)
    body, body_problems = account_citations(body, [r.conversion for r in in_body])
    note_text, note_problems = account_citations(note_text, [r.conversion for r in in_notes])
    record_problems = check_records([r.conversion for r in doc.citations])
    a = compare(words(raw_body), words(standfirst + "\n" + body))
    b = compare(words(raw_notes), words(note_text))
    return Fidelity(
        a.compared + b.compared,
        a.differing + b.differing + len(record_problems),
        at_records(body_problems, in_body)
        + at_records(note_problems, in_notes)
        + at_records(record_problems, doc.citations)
        + at_words(a.differences, word_lines(body_lines))
        + at_words(b.differences, word_lines(note_lines)),
    )


def at_records(differences: list[Difference], records: list[CitationRecord]) -> list[Difference]:
    """Citation differences with the source line of the record each concerns (a citation without one has none)."""
    return [dataclasses.replace(d, line=records[d.record].line if d.record is not None else None) for d in differences]


def _note_number(record: CitationRecord) -> int:
    return record.note or 0
