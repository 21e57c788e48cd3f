"""Notes: finding note texts and turning calls into `[^N]`, per the recipe's note form (recipe.NOTE_FORMS).

Numbered endnotes after the essay (`N.` or `N)`, hard-wrapped, calls glued to the text in several forms), and
marked notes whose call and definition carry the same mark wherever they stand: Unicode superscripts, `[N]`,
`^N` and pandoc's `[^N]` (what pandoc makes of Word's and HTML's own footnotes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from anthology.ingest.model import Block, Document, IngestProblem, Note, Problem
from anthology.ingest.recipe import Rules

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPER_TO_DIGIT = str.maketrans(SUPERSCRIPTS, "0123456789")
MISSING_NOTE = "[The text of this note is missing in the source.]"

_ENDNOTE_START = {
    ".": re.compile(r"^\s*(\d{1,3})\s*\.\s+(\S.*)$"),
    ")": re.compile(r"^\s*(\d{1,3})\s*\)\s+(\S.*)$"),
}
_SUPER_DEF = re.compile(rf"^\s*([{SUPERSCRIPTS}]+)\s*(\S.*)$")
_SUPER_CALL = re.compile(rf"[ \t]?([{SUPERSCRIPTS}]+)")
_CLOSERS = "”’\"'"


class NoteError(IngestProblem):
    """An endnote list that cannot be read: text before its first numbered note (at that source line)."""


def superscript_number(text: str) -> int:
    """`'⁵⁴'` -> 54."""
    return int(text.translate(_SUPER_TO_DIGIT))


def parse_endnote_lines(lines: list[tuple[int, str]], delimiter: str = ".") -> list[Note]:
    """Parse a hard-wrapped endnote list: `N. text` starts a note, any other line continues the last.

    Why: the sources wrap notes at about 60 characters and put stray spaces in numbers (`60 .`);
    requiring increasing numbers keeps a continuation line such as `1957, p. 15.` from starting a note.
    """
    notes: list[Note] = []
    start = _ENDNOTE_START[delimiter]
    for number, line in lines:
        match = start.match(line)
        if match and (not notes or int(match.group(1)) > notes[-1].number):
            notes.append(Note(int(match.group(1)), match.group(2).strip(), number, number))
        elif notes:
            notes[-1].text = f"{notes[-1].text} {line.strip()}"
            notes[-1].last = number
        else:
            message = f"note text before the first numbered note: {line.strip()[:40]!r}"
            raise NoteError(Problem("E210", message, line=number))
    return notes


def extract_endnotes(doc: Document, rules: Rules) -> None:
    """Take the endnote list (from `notes.start_line` on) out of the body into `doc.notes`."""
    start = rules.notes.start_line or 0
    lines: list[tuple[int, str]] = []
    body: list[Block] = []
    for block in doc.blocks:
        if block.first >= start:
            lines.extend((block.first + i, line) for i, line in enumerate(block.lines))
        else:
            body.append(block)
    doc.blocks = body
    for note in parse_endnote_lines(lines, ")" if rules.notes.style == "endnotes-paren" else "."):
        doc.notes[note.number] = note


def extract_superscript_notes(doc: Document) -> None:
    """Take superscript-numbered note texts (`²This argument…`) out of the flow wherever they stand."""
    body: list[Block] = []
    for block in doc.blocks:
        match = _SUPER_DEF.match(block.lines[0])
        if match and len(block.lines) == 1:
            number = superscript_number(match.group(1))
            doc.notes[number] = Note(number, match.group(2).strip(), block.first, block.last)
        else:
            body.append(block)
    doc.blocks = body


def tag_superscript_calls(doc: Document) -> None:
    """Replace superscript calls by `[^N]` (dropping a space before them: `54.4 ⁵⁴`)."""
    for block in doc.blocks:
        for i, line in enumerate(block.lines):

            def _call(match: re.Match[str]) -> str:
                number = superscript_number(match.group(1))
                doc.calls.append(number)
                return f"[^{number}]"

            block.lines[i] = _SUPER_CALL.sub(_call, line)


def is_glued_call(text: str, start: int, end: int) -> bool:
    """Can the digits text[start:end] be a note call rather than part of a number?

    Calls are glued to the preceding word or punctuation (`1921.58`, `authority.122`, `completed.'”6`),
    or follow a closing quotation mark or a word after one space at the end of a line (`. . .” 57`,
    `Friedrich Engels 1`). Digits inside numbers (`57.5`, `4,476`, `1917-21`) are not calls.
    """
    prev = text[start - 1] if start > 0 else ""
    before = text[start - 2] if start > 1 else ""
    nxt = text[end] if end < len(text) else ""
    after = text[end + 1] if end + 1 < len(text) else ""
    if not prev or nxt.isdigit() or (nxt in ".," and after.isdigit()):
        return False
    if prev.isspace():
        return before in _CLOSERS or (before.isalpha() and end == len(text.rstrip()))
    return not (prev.isdigit() or prev in "-–/(" or (prev == "," and before.isdigit()))


def tag_endnote_calls(doc: Document, last_number: int, first: int = 1) -> None:
    """Find calls first..last_number in reading order, each the first plausible occurrence after the last.

    Why sequential: numbers in the text (years, percentages) look like glued calls; expecting the next
    number in order makes a false match need the same digits at the same place in the sequence.
    """
    expected = first
    for block in doc.blocks:
        for i, line in enumerate(block.lines):
            out: list[str] = []
            pos = 0
            for match in re.finditer(r"\d{1,3}", line):
                if expected > last_number:
                    break
                if int(match.group()) != expected or not is_glued_call(line, *match.span()):
                    continue
                start = match.start()
                prefix = line[pos:start]
                prefix = prefix.rstrip(" ")
                out.append(prefix + f"[^{expected}]")
                doc.calls.append(expected)
                pos = match.end()
                expected += 1
            out.append(line[pos:])
            block.lines[i] = "".join(out)


@dataclass(frozen=True)
class Marked:
    """A note form whose call and definition carry one mark: `call` finds a call (group 1: its number), `definition`
    a line that starts a note text (groups: number, text)."""

    call: re.Pattern[str]
    definition: re.Pattern[str]


MARKED = {
    "bracketed": Marked(re.compile(r"[ \t]?\[(\d{1,4})\]"), re.compile(r"^\s*\[(\d{1,4})\]\s+(\S.*)$")),
    "caret": Marked(re.compile(r"[ \t]?\^(\d{1,4})\b"), re.compile(r"^\s*\^(\d{1,4})\s+(\S.*)$")),
    "pandoc": Marked(re.compile(r"\[\^(\d{1,4})\](?!:)"), re.compile(r"^\[\^(\d{1,4})\]:\s*(\S.*)$")),
}


def extract_marked_notes(doc: Document, form: Marked) -> None:
    """Take out every block that starts with a note definition, wherever it stands: a line that starts another
    definition starts another note, any other line (or a following block indented as pandoc indents a note's
    further paragraphs) continues the last."""
    body: list[Block] = []
    last: Note | None = None
    for block in doc.blocks:
        if last is not None and block.lines[0].startswith("    "):
            last.text, last.last = f"{last.text} {block.text}", block.last
            continue
        last = None
        if not form.definition.match(block.lines[0]):
            body.append(block)
            continue
        for number, line in enumerate(block.lines, block.first):
            match = form.definition.match(line)
            if match:
                last = doc.notes[int(match[1])] = Note(int(match[1]), match[2].strip(), number, number)
            elif last is not None:
                last.text, last.last = f"{last.text} {line.strip()}", number
    doc.blocks = body


def tag_marked_calls(doc: Document, form: Marked, first: int, last: int) -> None:
    """Replace each call numbered first..last by `[^N]` (dropping a space before it: `word [12]`). Why the range: a
    bracketed year (`[1862]`) is not a call; a note below `first` is then a text without a call (E212)."""

    def _call(match: re.Match[str]) -> str:
        if not first <= int(match[1]) <= last:
            return match[0]
        doc.calls.append(int(match[1]))
        return f"[^{int(match[1])}]"

    for block in doc.blocks:
        block.lines = [form.call.sub(_call, line) for line in block.lines]


def call_line(doc: Document, number: int) -> int | None:
    """The first line of the paragraph where note `number` is first called."""
    return next((block.first for block in doc.blocks for line in block.lines if f"[^{number}]" in line), None)


def mark_missing(doc: Document, rules: Rules) -> list[Problem]:
    """Give every call without a note text a bracketed editorial text; report surprises.

    Returns problems: a definition without a call, or a missing note the recipe did not expect.
    """
    problems: list[Problem] = []
    called = set(doc.calls)
    for number in sorted(called - set(doc.notes)):
        doc.notes[number] = Note(number, None)
        if number not in rules.notes.expect_missing:
            message = f"note {number} is called but its text is missing (not in notes.expect_missing)"
            problems.append(Problem("E211", message, line=call_line(doc, number)))
    for number in sorted(set(doc.notes) - called):
        problems.append(Problem("E212", f"note {number} has a text but no call", line=doc.notes[number].first))
    for number in sorted(n for n in called if doc.calls.count(n) > 1):
        problems.append(Problem("E213", f"note {number} is called more than once", line=call_line(doc, number)))
    return problems
