"""The citation audit (`invoke check --citations`): every citation's source words beside what the editions print.

Why: a citation can be converted without error and still be wrong in print: a locator left without its work, a
work chosen by an assumption the reader never sees, a date or volume of the source dropped, an "Ibid." or "op. cit."
resolved by a guess. The ingest records each conversion with how its work was found (`Conversion.basis`); the
resolve stage renders it in the house style. This module puts the two side by side, flags what the data cannot
justify, and writes a report a person can read. A flag is *explained* when a recorded decision covers it (an
`x-assumed` entry in references.yaml, a `resolve` entry of the alias table); the others are warnings W075-W078.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anthology.ast import stringify
from anthology.diagnostics import BuildError, Collector
from anthology.ingest import citation_table, load_inputs
from anthology.ingest.model import CitationRecord
from anthology.ingest.pipeline import clean
from anthology.ingest.sources import MARKDOWN_SOURCES, find_sources
from anthology.load import load_book_partly
from anthology.model import Chapter, Project, ResolvedBook
from anthology.resolve.bibliography import AUDIT_FLAGS, XREF_PREFIX, bibliography_file, load_entries
from anthology.resolve.book import resolve_book

REPORT_NAME = "citation-audit.md"
_MONTHS = [
    *("January", "February", "March", "April", "May", "June", "July", "August"),
    *("September", "October", "November", "December"),
]
_RANGE = re.compile(r"(?<!\d)(\d+)\s*[-\u2013\u2014]\s*(\d+)(?!\d)")
_ASSUMED_COMMENT = re.compile(r"^\s*[\"']?(?P<alias>.*?)[\"']?\s*:\s*(?P<key>[\w.-]+)\s*#.*\bassumed\b")


@dataclass
class Flag:
    kind: str
    message: str
    explained: str | None = None  # the recorded decision that justifies it


@dataclass
class Row:
    """One citation: where it stands in the source and in print, its words in each, and what is doubtful."""

    slug: str
    chapter: str  # "Ch. 2", or the text's title
    note: int | None  # the printed note number (None: in the running text)
    keys: tuple[str, ...]
    raw: str  # the source's words ("" when the text was written with keys, not ingested)
    printed: str
    source: Path | None = None
    line: int | None = None
    source_note: int | None = None
    rule: str = ""
    flags: list[Flag] = field(default_factory=list)

    @property
    def unexplained(self) -> list[Flag]:
        return [flag for flag in self.flags if flag.explained is None]


@dataclass
class Audit:
    rows: list[Row]
    notes: dict[str, int]  # printed notes per essay
    unmatched: list[str]  # source citations with no printed citation

    @property
    def flagged(self) -> list[Row]:
        return [row for row in self.rows if row.unexplained]

    @property
    def explained(self) -> list[Row]:
        return [row for row in self.rows if row.flags and not row.unexplained]


# --------------------------------------------------------------------------------------------- the two sides


def ingest_records(book_dir: Path) -> dict[str, tuple[Path, list[CitationRecord]]]:
    """Every converted citation of every source, by slug, as the ingest makes them now (nothing is written)."""
    sources, _clashes = find_sources(book_dir / "sources")
    records: dict[str, tuple[Path, list[CitationRecord]]] = {}
    for source in sources:
        recipe, document, raw = load_inputs(source)
        table = citation_table(recipe, document)
        if table is None:
            continue
        result = clean(source.stem, raw, recipe, table, markdown=source.suffix.lower() in MARKDOWN_SOURCES)
        records[source.stem] = (source, result.doc.citations)
    return records


@dataclass
class Printed:
    note: int | None  # the printed note number
    keys: tuple[str, ...]
    text: str
    author_note: int | None = None  # which of the author's own notes holds it (1 for the first), if one does


def printed_citations(ast: dict[str, Any]) -> tuple[list[Printed], int]:
    """The text's rendered citations in reading order, each with its printed note number, and its count of notes."""
    found: list[Printed] = []
    count = 0
    authors = 0

    def visit(value: Any, note: int | None, author: int | None) -> None:
        nonlocal count, authors
        if isinstance(value, list):
            for item in value:
                visit(item, note, author)
            return
        if not isinstance(value, dict) or "t" not in value:
            return
        kind, content = value["t"], value.get("c")
        if kind == "Note":  # an author's note (a citation's own note is read with its Cite)
            count += 1
            authors += 1
            visit(content, count, authors)
            return
        if kind == "Cite":
            keys = tuple(c["citationId"] for c in content[0] if not c["citationId"].startswith(XREF_PREFIX))
            inlines = content[1]
            if keys and len(inlines) == 1 and inlines[0]["t"] == "Note":
                count += 1
                found.append(Printed(count, keys, stringify(inlines[0]["c"])))
                return
            if keys:
                found.append(Printed(note, keys, stringify(inlines), author))
            visit(inlines, note, author)
            return
        visit(content, note, author)

    visit(ast["blocks"], None, None)
    return found, count


def note_order(markdown: str) -> dict[int, int]:
    """The author's notes by their number in the text: which of its note calls each is (1 for the first)."""
    calls = re.findall(r"\[\^(\d+)\](?!:)", markdown)
    return {int(label): position for position, label in enumerate(dict.fromkeys(calls), 1)}


def assumed_keys(book_dir: Path) -> dict[str, str]:
    """Keys an alias table marks as resolved by assumption (a comment saying "assumed"), with the alias."""
    found: dict[str, str] = {}
    for path in sorted((book_dir / "sources").glob("*.works.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _ASSUMED_COMMENT.match(line)
            if m:
                found.setdefault(m["key"], f"{path.name}: \u201c{m['alias']}\u201d")
    return found


# --------------------------------------------------------------------------------------------- flags


def _plain(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.lower().split())


def _expand(text: str) -> str:
    """Number ranges written out in full ("232-33" -> "232-233"), so an abbreviated range loses no digit."""

    def full(m: re.Match[str]) -> str:
        a, b = m.group(1), m.group(2)
        if len(b) < len(a):
            b = a[: len(a) - len(b)] + b
        return f"{a}-{b}"

    return _RANGE.sub(full, text)


def _names(item: dict[str, Any]) -> list[str]:
    names = [str(item.get(f)) for f in ("title", "title-short", "container-title", "collection-title") if item.get(f)]
    for role in ("author", "editor", "container-author"):
        for person in item.get(role) or []:
            names += [str(person[k]) for k in ("family", "literal") if person.get(k)]
    return names


def _names_work(printed: str, item: dict[str, Any]) -> bool:
    text = _plain(printed)
    for name in _names(item):
        words = _plain(re.sub(r"[*_]", "", name)).split()[:3]
        if words and " ".join(words) in text:
            return True
    return False


def _entry_numbers(item: dict[str, Any]) -> set[str]:
    """The numbers the bibliography prints for an entry (its dates, volume, issue, pages, title words)."""
    values = [str(v) for k, v in item.items() if k != "id" and not k.startswith("x-")]
    numbers = set(re.findall(r"\d+", _expand(" ".join(values))))
    return numbers | {n.lstrip("0") for n in numbers}


def _names_author(printed: str, item: dict[str, Any]) -> bool:
    """True when the entry has no author, or one of its authors' names prints."""
    people = [str(p.get("family") or p.get("literal") or "") for p in item.get("author") or []]
    people = [name for name in people if name]
    return not people or any(_plain(name) in _plain(printed) for name in people)


def lost_fields(raw: str, printed: str, items: list[dict[str, Any]]) -> list[str]:
    """Numbers (dates, volumes, issues, pages) and month names of the source's words that print nowhere: neither
    in the note nor in the bibliography's entry (a short note leaves publication details to the bibliography).
    A newspaper's date is its identity in a note, so it must print in the note itself."""
    shown = set(re.findall(r"\d+", _expand(printed)))
    shown_words = set(re.findall(r"[a-z]+", printed.lower()))
    listed: set[str] = set()
    months: set[str] = set()
    for item in items:
        if item.get("type") != "article-newspaper":
            listed |= _entry_numbers(item)
            months |= {m.lower() for m in _MONTHS if m in " ".join(str(v) for v in item.values())}
            months |= {m.lower() for m in _MONTHS[:12] if item.get("issued") and _month_of(item) == m}
    lost = [n for n in dict.fromkeys(re.findall(r"\d+", _expand(raw))) if n not in shown and n not in listed]
    lost += [
        w
        for w in dict.fromkeys(re.findall(r"[A-Z][a-z]+", raw))
        if w in _MONTHS and w.lower() not in shown_words and w.lower() not in months
    ]
    return lost


def _month_of(item: dict[str, Any]) -> str | None:
    parts = re.findall(r"\d+", str(item.get("issued")))
    return _MONTHS[int(parts[1]) - 1] if len(parts) > 1 and 1 <= int(parts[1]) <= 12 else None


def _unshown_volume(key: str, printed: str, entries: dict[str, dict[str, Any]]) -> str | None:
    """The entry's volume when another entry has its author and title and the note does not print the volume."""
    item = entries.get(key, {})
    volume = str(item.get("volume") or "")
    if not volume:
        return None
    title = _plain(str(item.get("title", "")))
    authors = _names(item)[-1:] if item.get("author") else []
    siblings = [
        k
        for k, other in entries.items()
        if k != key
        and _plain(str(other.get("title", ""))) == title
        and (_names(other)[-1:] if other.get("author") else []) == authors
    ]
    if not siblings or re.search(rf"(?<!\d){re.escape(volume)}(?!\d)", printed):
        return None
    return volume


def flag_row(
    row: Row,
    entries: dict[str, dict[str, Any]],
    assumed: dict[str, str],
    basis: tuple[str, ...],
    previous: str = "",
) -> None:
    """The row's flags: each thing its data cannot justify, with the decision that explains it if one is recorded.
    `previous` is the note before (what a bare "Ibid." repeats)."""
    ibid = re.search(r"\bibid\b", row.printed.lower()) is not None
    for key in row.keys:
        item = entries.get(key, {})
        if not ibid and not _names_work(row.printed, item):
            row.flags.append(Flag("no-work", f"'{key}' is not named: neither its title nor an author prints"))
        elif not ibid and not _names_author(row.printed, item):
            row.flags.append(Flag("no-work", f"'{key}': its author does not print"))
        why = item.get("x-assumed")
        if key in assumed or why:
            origin = assumed.get(key, "references.yaml")
            message = f"'{key}' rests on an assumption ({origin})"
            explained = f"x-assumed: {why}" if isinstance(why, str) and why.strip() else None
            row.flags.append(Flag("assumed", message, explained))
    if row.raw:
        shown = row.printed + " " + previous if re.fullmatch(r"\W*ibid\W*", row.printed.lower()) else row.printed
        lost = lost_fields(row.raw, shown, [entries.get(key, {}) for key in row.keys])
        if lost:
            row.flags.append(Flag("lost", "in the source but not in print: " + ", ".join(lost)))
    if not ibid:
        for key in row.keys:
            volume = _unshown_volume(key, row.printed, entries)
            if volume:
                row.flags.append(Flag("lost", f"the volume ({volume}) that tells '{key}' from its other volumes"))
    for key, how in zip(row.keys, basis, strict=False):
        if how == "decided":
            row.flags.append(Flag("guess", f"'{key}' for {row.rule}", "the alias table's resolve entry"))
        elif how == "author-last" or how.startswith("previous:"):
            why = {"author-last": "the author has several works here and the note names none"}.get(
                how, "the note before cites several works" if how.endswith("several") else "a note between cites none"
            )
            row.flags.append(Flag("guess", f"{row.rule} taken as '{key}': {why}"))


# --------------------------------------------------------------------------------------------- the audit


def _label(resolved: ResolvedBook, slug: str) -> str:
    text = resolved.texts[slug].text
    return f"Ch. {text.number}" if isinstance(text, Chapter) else text.title


def audit(resolved: ResolvedBook, records: dict[str, tuple[Path, list[CitationRecord]]]) -> Audit:
    """Each printed citation beside its source's words, matched in reading order work by work."""
    book_dir = resolved.book.root
    path = bibliography_file(resolved.book)
    entries = load_entries(path) if path.is_file() else {}  # as the file is now (kept by content, not by name)
    assumed = assumed_keys(book_dir)
    rows: list[Row] = []
    notes: dict[str, int] = {}
    unmatched: list[str] = []
    for slug, text in resolved.texts.items():
        if text.text.kind == "generated":
            continue
        printed, count = printed_citations(text.ast)
        if not printed:
            continue
        notes[slug] = count
        source, converted = records.get(slug, (None, []))
        order = note_order(text.text.body)
        repeated = ""
        queues: dict[tuple[int | None, tuple[str, ...]], list[CitationRecord]] = {}
        for record in converted:
            place = None if record.note is None else order.get(record.note, -record.note)
            queues.setdefault((place, record.conversion.keys), []).append(record)
        for cite in printed:
            row = Row(slug, _label(resolved, slug), cite.note, cite.keys, "", cite.text)
            queue = queues.get((cite.author_note, cite.keys))
            basis: tuple[str, ...] = ()
            if queue:
                record = queue.pop(0)
                conversion = record.conversion
                row.raw, row.rule, basis = " ".join(conversion.original.split()), conversion.rule, conversion.basis
                row.source, row.line, row.source_note = source, record.line, record.note
            flag_row(row, entries, assumed, basis, repeated)
            # What the next bare "Ibid." repeats: this note, or what this one repeated.
            repeated = repeated if re.fullmatch(r"\W*ibid\W*", row.printed.lower()) else row.printed
            rows.append(row)
        for queue in queues.values():
            unmatched += [f"{source}:{r.line}: {r.conversion.original!r} prints nowhere" for r in queue]
    return Audit(rows, notes, unmatched)


def audit_book(project: Project) -> tuple[Audit, Collector]:
    """Load, resolve and ingest (in memory) the book, audit its citations; the flags as warnings."""
    book, loaded = load_book_partly(project.book_dir)
    resolved = resolve_book(book, project.styles_dir, loaded)
    collector = Collector()
    try:
        records = ingest_records(Path(project.book_dir))
    except BuildError as error:  # a source that does not ingest: its problems, and the audit without the sources
        collector.items.extend(error.diagnostics)
        records = {}
    result = audit(resolved, records)
    for row in result.flagged:
        for flag in row.unexplained:
            code, what, hint = AUDIT_FLAGS[flag.kind]
            where = f"{row.chapter} n. {row.note}" if row.note else row.chapter
            file = row.source or resolved.texts[row.slug].text.path
            message = f"{where}: {what}: {flag.message} (source: {row.raw or 'a key in the text'!r})"
            collector.warning(code, message, file=file, line=row.line, hint=hint)
    return result, collector


# --------------------------------------------------------------------------------------------- the report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "\u2014"


def report_markdown(result: Audit) -> str:
    """The audit as Markdown: totals, then per essay every citation with its source words, print and flags."""
    lines = [
        "# Citation audit",
        "",
        f"Notes: {sum(result.notes.values())}. Citations checked: {len(result.rows)}. "
        f"Flagged: {len(result.flagged)}. Explained by a recorded decision: {len(result.explained)}.",
        "",
    ]
    for slug in result.notes:
        rows = [row for row in result.rows if row.slug == slug]
        flagged = sum(1 for row in rows if row.unexplained)
        lines += [f"## {rows[0].chapter}: {slug}", ""]
        lines += [f"{result.notes[slug]} notes, {len(rows)} citations, {flagged} flagged.", ""]
        lines += ["| note | source (line, note) | the source's words | printed | flags |", "|---|---|---|---|---|"]
        for row in rows:
            where = f"l. {row.line}" + (f", n. {row.source_note}" if row.source_note else "") if row.line else ""
            flags = "; ".join(
                f"**{f.kind}**: {f.message}" if f.explained is None else f"{f.kind} (explained: {f.explained})"
                for f in row.flags
            )
            cells = [str(row.note or ""), where, row.raw, row.printed, flags]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    if result.unmatched:
        lines += ["## Source citations with no printed citation", ""] + [f"- {u}" for u in result.unmatched]
    return "\n".join(lines) + "\n"


def summary_lines(result: Audit, report: Path) -> list[str]:
    """The terminal's summary: per essay, then the totals and where the report is."""
    lines = []
    for slug, count in result.notes.items():
        rows = [row for row in result.rows if row.slug == slug]
        flagged = sum(1 for row in rows if row.unexplained)
        lines.append(f"{rows[0].chapter} {slug}: {count} notes, {len(rows)} citations, {flagged} flagged")
    lines.append(
        f"citations: {sum(result.notes.values())} notes, {len(result.rows)} citations checked, "
        f"{len(result.flagged)} flagged, {len(result.explained)} explained by a recorded decision; report: {report}"
    )
    return lines
