"""Citations to pandoc keys: the essay's own citation forms become `[@key, 40]` (issue 4).

The rule runs last, on the finished structure: page-break joins have rejoined words split inside a
citation (`Rem-`/`ington`), notes are attached to their calls, and end matter is marked. It walks the
essay in reading order (a body block, then the notes it calls) with one `CitationState`, so `Ibid.`,
`op. cit.` and `as above` point back to the citation read before them. Which forms the essay uses is
data: the alias table's `styles` (parenthetical and author-date in the body, full citations in notes).
"""

from __future__ import annotations

import re

from anthology.ingest.citations import CitationState, citation_candidates, convert_chunk
from anthology.ingest.model import Block, CitationRecord, Document, Problem
from anthology.ingest.recipe import Rules
from anthology.ingest.works import WorksTable

_CALL = re.compile(r"\[\^(\d+)\]")
BODY_STYLES = frozenset({"parenthetical", "author-date"})
# Blocks whose lines are structure (a verse line, a table row, a list item): converted line by line.
_LINE_KINDS = frozenset({"poem", "table", "olist", "ulist"})


def _skipped(block: Block, rules: Rules) -> bool:
    """End matter and the recipe's `citations.skip` lines hold no citations (a chapter's own lists)."""
    skip = rules.citations.skip if rules.citations else []
    return bool(block.attrs.get("endmatter")) or any(first <= block.first <= last for first, last in skip)


def _convert(doc: Document, text: str, table: WorksTable, state: CitationState, line: int, note: int | None) -> str:
    """Convert one chunk, record its conversions and what looked like a citation but stayed text."""
    kind = "body" if note is None else "note"
    result = convert_chunk(text, table, state, kind=kind, note=note)
    for conversion in result.conversions:
        doc.citations.append(CitationRecord(line, note, conversion))
    spans = [(c.start, c.end) for c in result.conversions]
    for start, end, span in citation_candidates(text, kind):
        if not any(a <= start and end <= b for a, b in spans):
            doc.unresolved.append((line, " ".join(span.split())))
    return result.text


def _convert_block(doc: Document, block: Block, table: WorksTable, state: CitationState) -> None:
    """A paragraph is one chunk (a citation may run over a line end); structured blocks go line by line."""
    if block.kind in _LINE_KINDS or "list" in block.attrs:
        block.lines = [_convert(doc, line, table, state, block.first + i, None) for i, line in enumerate(block.lines)]
    else:
        block.lines = _convert(doc, "\n".join(block.lines), table, state, block.first, None).split("\n")


def convert_citations(doc: Document, rules: Rules) -> None:
    """Every citation the essay's table recognises becomes a pandoc citation, in reading order."""
    if rules.citations is None:
        return
    table = doc.works
    if table is None:
        raise ValueError(f"rules.citations: the alias table {rules.citations.works} was not loaded")
    state = CitationState()
    in_body = bool(table.styles & BODY_STYLES)
    in_notes = "notes" in table.styles
    done: set[int] = set()

    def note(number: int) -> None:
        item = doc.notes.get(number)
        if number in done or item is None or item.text is None:
            return
        done.add(number)
        item.text = _convert(doc, item.text, table, state, item.first, number)

    for block in doc.blocks:
        if in_body and not _skipped(block, rules):
            _convert_block(doc, block, table, state)
        if in_notes:
            for line in block.lines:
                for match in _CALL.finditer(line):
                    note(int(match.group(1)))
    if in_notes:
        for number in sorted(doc.notes):
            note(number)


def unexplained(doc: Document) -> list[Problem]:
    """Citation-like spans left as text that the alias table does not explain (`left_as_text`)."""
    known = doc.works.left_as_text if doc.works else {}
    return [
        Problem(
            "E214",
            f"{span!r} looks like a citation but was not converted (not in the alias table's left_as_text)",
            line=line,
        )
        for line, span in doc.unresolved
        if span not in known
    ]
