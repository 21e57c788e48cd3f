"""Generated editorial matter: "A Note on the Texts" and "Permissions".

Both are written from data, so they never drift from it: the note from each source's recipe (what was removed and
why, how notes and typography were normalised, every emendation) and the permissions page from each essay's rights
metadata. List `note-on-the-texts` and `permissions` in book.yaml's `back:` (or `front:`) to print them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from anthology import yamlfile
from anthology.ast import Node, header, para, str_inlines
from anthology.ingest.sources import rules_text
from anthology.model import Book, Chapter, Generated, ResolvedBook

NOTE_SLUG = "note-on-the-texts"
PERMISSIONS_SLUG = "permissions"
NOTE_STYLES = {
    "endnotes": "Its numbered endnotes, hard-wrapped in the source, were rejoined and turned into footnotes, each "
    "linked to its call.",
    "superscript": "Its footnotes, marked with superscript numerals and interleaved with the text where the pages "
    "broke, were moved to their calls and turned into footnotes.",
}


def recipe_of(chapter: Chapter, book: Book) -> tuple[Path, dict[str, Any]] | None:
    """The recipe of the source a chapter was ingested from, if it has one."""
    source = chapter.chapter_meta.source
    if not source:
        return None
    path = book.root / "sources" / f"{Path(source).stem}.yaml"
    if not path.is_file():
        return None
    return path, yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}


def sentence(text: str) -> str:
    text = " ".join(str(text).split())
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "”", ")")) else text + "."


def item(text: str, kind: str) -> list[Node]:
    """A list item whose class lets a reader's stylesheet (and a test) tell removals from emendations."""
    return [{"t": "Div", "c": [["", [kind], []], [para(str_inlines(text))]]}]


def lines_label(value: Any) -> str:
    text = str(value)
    return f"lines {text.replace('-', '–')}" if "-" in text else f"line {text}"


def removal_items(rules: dict[str, Any], raw: str) -> list[list[Node]]:
    items = []
    for removal in rules.get("remove", []):
        if "lines" in removal:
            where = lines_label(removal["lines"])
        else:
            count = len(re.findall(removal["pattern"], raw, flags=re.MULTILINE))
            where = f"{count} occurrence{'s' if count != 1 else ''}"
        items.append(item(f"Removed ({where} of the source): {removal['reason']}", "removal"))
    for header_text in rules.get("page_headers", []):
        count = raw.count(header_text)
        items.append(
            item(
                # Described, not quoted: the removed words must not come back into the book through this note.
                f"Removed ({count} occurrences): a running head of the printed original that fell into the text",
                "removal",
            )
        )
    return items


def shown(text: str, lost_dash: str | None) -> str:
    """An emended string as the reader will see it: a restored lost dash as a dash, no-break spaces as spaces."""
    if lost_dash:
        text = text.replace(lost_dash, " — ")
    return text.replace("\u00a0", " ")


def emendation_items(rules: dict[str, Any]) -> list[list[Node]]:
    dash = rules.get("lost_dash")
    return [
        item(
            f"Line {e['line']}: “{shown(e['original'], None)}” emended to “{shown(e['corrected'], dash)}”: "
            f"{e['reason']}",
            "emendation",
        )
        for e in rules.get("emendations", [])
    ]


def describe_insertion(text: str) -> str:
    """An insertion as the note describes it: a cross-reference is named as such rather than shown as markup."""
    return "a cross-reference in square brackets" if "@xref:" in text else f"“[{text}]”"


def normalisation_sentences(rules: dict[str, Any]) -> list[str]:
    found = []
    notes = rules.get("notes", {})
    if notes.get("style") in NOTE_STYLES:
        found.append(NOTE_STYLES[notes["style"]])
    if notes.get("expect_missing"):
        missing = ", ".join(str(n) for n in notes["expect_missing"])
        found.append(
            f"The texts of notes {missing} are missing in the source; their calls are kept, and each note "
            "says that its text is missing."
        )
    if rules.get("standfirst_lines"):
        found.append("The publisher’s standfirst is printed apart from the author’s text.")
    if rules.get("join_page_breaks"):
        found.append(
            "Paragraphs and words divided by the page breaks of the printed original were rejoined; real "
            "hyphens were kept."
        )
    if rules.get("lost_dash"):
        found.append("Dashes lost in the source, where only the spaces around them survive, were restored.")
    if rules.get("slash_insertions"):
        found.append("Insertions in quotations marked with slashes (/…/) are printed in square brackets.")
    if rules.get("endmatter"):
        found.append("The chapter’s own closing lists are printed as its end matter, after the text.")
    return found


def chapter_section(chapter: Chapter, book: Book) -> list[Node]:
    found = recipe_of(chapter, book)
    blocks: list[Node] = [header(2, str_inlines(f"Chapter {chapter.number}: {chapter.title}"))]
    if found is None:
        return [*blocks, para(str_inlines("This text was not ingested from a recorded source."))]
    path, recipe = found
    rules = recipe.get("rules", {})
    source = path.parent / recipe.get("source", "")
    raw = rules_text(source, source.read_bytes(), recipe.get("encoding", "utf-8"))  # what the recipe's rules read
    meta = chapter.chapter_meta
    blocks.append(
        para(
            str_inlines(
                " ".join(
                    [f"Source: {recipe.get('source')} (received as {recipe.get('received_as', 'not stated')})."]
                    + ([sentence(meta.kind)] if meta.kind else [])
                    + [sentence(f"Authorship: {meta.author_statement or 'not stated'}")]
                )
            )
        )
    )
    normalised = normalisation_sentences(rules)
    if normalised:
        blocks.append(para(str_inlines(" ".join(normalised))))
    removals = removal_items(rules, raw)
    emendations = emendation_items(rules)
    insertions = [
        item(
            f"Line {i['line']}: after “{i['after']}”, the editors added {describe_insertion(i['text'])}: {i['reason']}",
            "insertion",
        )
        for i in rules.get("insertions", [])
    ]
    if insertions:
        blocks += [header(3, str_inlines("Editorial insertions")), {"t": "BulletList", "c": insertions}]
    if removals:
        blocks += [header(3, str_inlines("Removed")), {"t": "BulletList", "c": removals}]
    blocks += [header(3, str_inlines("Emendations"))]
    blocks += [{"t": "BulletList", "c": emendations}] if emendations else [para(str_inlines("None."))]
    return blocks


INTRODUCTION = (
    "The essays were received as plain text scraped from web pages and extracted from a PDF. The files as received "
    "are kept unchanged with the book’s sources, and every cleaned text is derived from them by rules in the "
    "pipeline’s code and by the records below: what was removed as not being the author’s text, and each emendation "
    "of an error in the source. Quotation marks and apostrophes were made typographic, spaced hyphens used as dashes "
    "became dashes, and citations were normalised into the book’s house style, each pointing to the one "
    "bibliography; the authors’ words are otherwise as received, and their spellings are kept unless an emendation "
    "below says otherwise."
)


def make_note_on_texts(resolved: ResolvedBook, slug: str) -> Generated:
    book = resolved.book
    blocks: list[Node] = [para(str_inlines(INTRODUCTION))]
    for chapter in book.chapters:
        blocks += chapter_section(chapter, book)
    return Generated(blocks)


def rights_cleared(rights: str) -> bool:
    return rights.strip().lower() not in ("", "not stated", "unknown")


def make_permissions(resolved: ResolvedBook, slug: str) -> Generated:
    book = resolved.book
    blocks: list[Node] = []
    for chapter in book.chapters:
        meta = chapter.chapter_meta
        rights = (
            meta.rights
            if rights_cleared(meta.rights)
            else ("The rights holder is not stated in the source, and permission has not yet been recorded as cleared.")
        )
        author = f"by {meta.byline}" if meta.authors else "author not stated in the source"
        blocks.append(
            para(
                [
                    {"t": "Emph", "c": str_inlines(chapter.title)},
                    {"t": "Str", "c": ","},
                    {"t": "Space"},
                    *str_inlines(f"{author}. {sentence(rights)}"),
                ]
            )
        )
    return Generated(blocks)
