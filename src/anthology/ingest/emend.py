"""Recorded emendations: the only way a word of the author's text may change."""

from __future__ import annotations

from anthology.ingest.model import Document, IngestProblem, Problem
from anthology.ingest.recipe import Rules


class EmendationError(IngestProblem):
    """An emendation (or insertion) whose text is not at the recorded place; located at its recipe entry."""

    def __init__(self, code: str, key: tuple[str, int], message: str):
        super().__init__(Problem(code, f"rules.{key[0]}[{key[1]}]: {message}", key=("rules", *key)))


def apply_emendations(doc: Document, rules: Rules) -> None:
    """Replace each recorded `original` by `corrected` in the block holding its line (exactly once)."""
    for index, emendation in enumerate(rules.emendations):
        block = next((b for b in doc.blocks if b.covers(emendation.line)), None)
        if block is None:
            block = next((n for n in doc.notes.values() if n.first <= emendation.line <= n.last), None)
            if block is None or block.text is None or emendation.original not in block.text:
                raise EmendationError(
                    "E207", ("emendations", index), f"{emendation.original!r} not found at line {emendation.line}"
                )
            block.text = block.text.replace(emendation.original, emendation.corrected, 1)
        else:
            hits = [i for i, line in enumerate(block.lines) if emendation.original in line]
            if len(hits) != 1 or block.lines[hits[0]].count(emendation.original) != 1:
                raise EmendationError(
                    "E207",
                    ("emendations", index),
                    f"{emendation.original!r} (line {emendation.line}) must occur exactly once in the paragraph at "
                    f"lines {block.first}-{block.last}",
                )
            block.lines[hits[0]] = block.lines[hits[0]].replace(emendation.original, emendation.corrected)
        doc.applied_emendations.append(
            f"line {emendation.line}: {_show(emendation.original)} → {_show(emendation.corrected)}"
        )


def _show(text: str) -> str:
    """Make no-break spaces visible in the report (several emendations restore lost dashes)."""
    return text.replace("\u00a0", "⍽")


def editorial_span(text: str) -> str:
    """Markdown of an editorial insertion: bracketed, and marked so readers (and the fidelity check) can tell."""
    return f" [\\[{text}\\]]{{.editorial}}"


def apply_insertions(markdown: str, rules: Rules) -> str:
    """Insert each recorded editorial addition after its anchor text, which must occur exactly once."""
    for index, insertion in enumerate(rules.insertions):
        count = markdown.count(insertion.after)
        if count != 1:
            raise EmendationError(
                "E208",
                ("insertions", index),
                f"{insertion.after!r} (line {insertion.line}) must occur exactly once in the cleaned text "
                f"(found {count})",
            )
        markdown = markdown.replace(insertion.after, insertion.after + editorial_span(insertion.text), 1)
    return markdown
