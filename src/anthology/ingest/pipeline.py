"""One essay through the rules, in a fixed order: raw text + recipe -> cleaned Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import blocks, emend, joins, notes, structure
from .fidelity import Fidelity, compare, split_markdown, words
from .model import Document
from .recipe import Recipe
from .render import render_text


@dataclass
class Result:
    """The cleaned text, the document it came from, and problems found on the way."""

    markdown: str
    doc: Document
    problems: list[str] = field(default_factory=list)


def clean(slug: str, raw: str, recipe: Recipe) -> Result:
    """Apply every rule the recipe configures; the order matters and is the same for every source.

    Removals come first (so later rules never see boilerplate), then notes (so page-break joins see
    the body without interleaved footnotes), then the structure the recipe lists by line (so joins
    never swallow an epigraph or a poem), joins, emendations, structure found by rule, rendering.
    """
    rules = recipe.rules
    doc = Document(slug=slug, blocks=blocks.split_blocks(raw))
    blocks.remove_listed(doc, rules)
    blocks.remove_page_headers(doc, rules)
    blocks.take_standfirst(doc, rules)
    if rules.notes.style == "endnotes":
        notes.extract_endnotes(doc, rules)
        last = max([*doc.notes, *rules.notes.expect_missing], default=0)
        notes.tag_endnote_calls(doc, last)
    elif rules.notes.style == "superscript":
        notes.extract_superscript_notes(doc)
        notes.tag_superscript_calls(doc)
    problems = notes.mark_missing(doc, rules)
    structure.mark_endmatter(doc, rules)
    structure.mark_epigraphs(doc, rules)
    structure.mark_poems(doc, rules)
    structure.mark_tables(doc, rules)
    structure.mark_blockquotes(doc, rules)
    if rules.join_page_breaks:
        joins.join_page_breaks(doc, rules)
    emend.apply_emendations(doc, rules)
    structure.mark_headings(doc, rules)
    structure.mark_quotations(doc, rules)
    structure.mark_lists(doc, rules)
    return Result(render_text(doc, recipe), doc, problems)


def raw_parts(raw: str, doc: Document, recipe: Recipe, emended: bool) -> tuple[str, str]:
    """The author's text of the raw source as (body, notes): recorded removals left out.

    With `emended`, the recipe's emendations are applied at their lines, so the remaining differences
    are the ones no record explains.
    """
    lines = raw.split("\n")
    if emended:
        for e in recipe.rules.emendations:
            lines[e.line - 1] = lines[e.line - 1].replace(e.original, e.corrected, 1)
    removed = {n for r in doc.removals for n in range(r.first, r.last + 1)}
    in_notes = {n for note in doc.notes.values() if note.first for n in range(note.first, note.last + 1)}
    body = [ln for i, ln in enumerate(lines, 1) if i not in removed and i not in in_notes]
    note_lines = [ln for i, ln in enumerate(lines, 1) if i in in_notes and i not in removed]
    return "\n".join(body), "\n".join(note_lines)


def fidelity(raw: str, result: Result, recipe: Recipe, emended: bool = True) -> Fidelity:
    """Compare raw and cleaned words: body (with the standfirst) and notes, each in reading order."""
    raw_body, raw_notes = raw_parts(raw, result.doc, recipe, emended)
    standfirst, body, note_text = split_markdown(result.markdown)
    a = compare(words(raw_body), words(standfirst + "\n" + body))
    b = compare(words(raw_notes), words(note_text))
    return Fidelity(a.compared + b.compared, a.differing + b.differing, a.differences + b.differences)
