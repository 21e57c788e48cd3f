"""Generated editorial matter: "A Note on the Texts" and "Permissions", and the provenance line of an opener.

All are written from data, so they never drift from it and say nothing of any particular book: the note from each
source's recipe (what kind of file it was, which rules ran and how many changes each made, every emendation and
insertion) and the permissions page from each essay's rights metadata. What the reader is given is what a reader
can find: a source by its publication, publisher, date and address as recorded (a fact not recorded is said to be
not stated), an emendation by its chapter and the words around it; never a file name or a line of a raw file, which
belong to the editors' ingest report. List `note-on-the-texts` and `permissions` in book.yaml's `back:` (or
`front:`) to print them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from anthology import yamlfile
from anthology.ast import Node, header, para, str_inlines
from anthology.ingest.sources import rules_text
from anthology.ingest.typography import apply_typography
from anthology.model import Book, Chapter, ChapterMeta, Generated, ResolvedBook

NOTE_SLUG = "note-on-the-texts"
PERMISSIONS_SLUG = "permissions"
NOTE_STYLES = {
    "endnotes": "Its numbered endnotes were joined to their calls and set as footnotes.",
    "endnotes-paren": "Its endnotes, numbered “1)”, were joined to their calls and set as footnotes.",
    "superscript": "Its notes, called by superscript numerals, were moved to their calls and set as footnotes.",
    "bracketed": "Its notes, called by numbers in square brackets, were joined to their calls and set as footnotes.",
    "caret": "Its notes, called by numbers after a caret, were joined to their calls and set as footnotes.",
    "pandoc": "Its own footnotes are set as footnotes.",
}
# How a source's kind of file is named, by its suffix (ingest.sources.FORMATS reads these): one, and several.
FILE_KINDS = {
    ".txt": ("a plain-text file", "plain-text files"),
    ".md": ("a Markdown file", "Markdown files"),
    ".html": ("a web page", "web pages"),
    ".htm": ("a web page", "web pages"),
    ".docx": ("a Word document", "Word documents"),
    ".odt": ("an OpenDocument text", "OpenDocument texts"),
}
OTHER_KIND = ("a file", "files")
UNSTATED = ("", "not stated", "unknown")
# Words quoted on each side of an emendation, to locate it in its chapter.
CONTEXT_WORDS = 5


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
    return text if text.endswith((".", "”", ")", "!", "?")) else text + "."


def stated(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in UNSTATED


def joined(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def provenance(meta: ChapterMeta) -> str:
    """Where a chapter's text was published, as its front matter records it, then what kind of text it is (printed
    after a "Source:" label); the facts not recorded are said to be not stated. Empty for a text that records
    nothing of its source."""
    facts = {"publication": meta.publication, "publisher": meta.publisher, "date": meta.date}
    if not meta.source and not meta.kind and not meta.url and not any(stated(value) for value in facts.values()):
        return ""
    given = [str(value) for value in facts.values() if stated(value)] + ([meta.url] if meta.url else [])
    missing = [name for name, value in facts.items() if not stated(value)]
    said = ", ".join(given)
    if missing:
        said += ("; " if said else "") + f"{joined(missing)} not stated"
    kind = f" {sentence(meta.kind)}" if meta.kind else ""
    return f"{sentence(said)}{kind}"


def item(text: str, kind: str) -> list[Node]:
    """A list item whose class lets a reader's stylesheet (and a test) tell removals from emendations."""
    return [{"t": "Div", "c": [["", [kind], []], [para(str_inlines(text))]]}]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def line_count(value: Any) -> int:
    first, _, last = str(value).partition("-")
    return int(last or first) - int(first) + 1 if first.strip().isdigit() else 1


def removal_items(rules: dict[str, Any], raw: str) -> list[list[Node]]:
    """What was removed and why, counted in the source (its lines are not the reader's, so they are not named)."""
    items = []
    for removal in rules.get("remove", []):
        if "lines" in removal:
            where = plural(line_count(removal["lines"]), "line")
        else:
            where = plural(len(re.findall(removal["pattern"], raw, flags=re.MULTILINE)), "occurrence")
        items.append(item(f"Removed ({where}): {removal['reason']}", "removal"))
    for header_text in rules.get("page_headers", []):
        count = raw.count(header_text)
        items.append(
            item(
                # Described, not quoted: the removed words must not come back into the book through this note.
                f"Removed ({plural(count, 'occurrence')}): a running head of the printed original that fell into "
                "the text",
                "removal",
            )
        )
    for rewrite in rules.get("rewrite", []):
        count = len(re.findall(rewrite["pattern"], raw, flags=re.MULTILINE))
        items.append(item(f"Rewritten ({plural(count, 'occurrence')}): {rewrite['reason']}", "rewrite"))
    return items


def shown(text: str, lost_dash: str | None) -> str:
    """An emended string as the reader will see it: a restored lost dash as a dash, no-break spaces as spaces."""
    if lost_dash:
        text = text.replace(lost_dash, " — ")
    return text.replace("\u00a0", " ")


def plain_words(markdown: str) -> str:
    """A paragraph's Markdown as a reader sees its words: note calls, citations, attributes and emphasis dropped."""
    text = re.sub(r"\[\^\d+\]|\[@[^\]]*\]|\{[^}]*\}|\\(?=\S)", "", markdown)
    text = re.sub(r"[*_]+", "", text)
    return " ".join(text.replace("\u00a0", " ").split())


def context_of(body: str, corrected: str, lost_dash: str | None) -> str | None:
    """The emended words with those around them, as printed in the chapter's text; None if they cannot be found
    (the note then quotes the emendation alone, which a reader can still search for)."""
    wanted = plain_words(apply_typography(corrected, lost_dash))
    if not wanted:
        return None
    for paragraph in re.split(r"\n\s*\n", body):
        words = plain_words(paragraph)
        at = words.find(wanted)
        if at >= 0:
            before = words[:at].split()[-CONTEXT_WORDS:]
            after = words[at + len(wanted) :].split()[:CONTEXT_WORDS]
            lead = "…" if len(words[:at].split()) > CONTEXT_WORDS else ""
            tail = "…" if len(words[at + len(wanted) :].split()) > CONTEXT_WORDS else ""
            gap_before = " " if words[:at].endswith(" ") else ""
            gap_after = " " if words[at + len(wanted) :].startswith(" ") else ""
            return f"{lead}{' '.join(before)}{gap_before}{wanted}{gap_after}{' '.join(after)}{tail}".strip()
    return None


def emendation_items(rules: dict[str, Any], body: str) -> list[list[Node]]:
    dash = rules.get("lost_dash")
    items = []
    for e in rules.get("emendations", []):
        change = f"“{shown(e['original'], None)}” emended to “{shown(e['corrected'], dash)}”: {e['reason']}"
        context = context_of(body, e["corrected"], dash)
        items.append(item(f"In “{context}”: {change}" if context else sentence(change), "emendation"))
    return items


def describe_insertion(text: str) -> str:
    """An insertion as the note describes it: a cross-reference is named as such rather than shown as markup."""
    return "a cross-reference in square brackets" if "@xref:" in text else f"“[{text}]”"


def insertion_items(rules: dict[str, Any]) -> list[list[Node]]:
    return [
        item(f"After “{i['after']}”, the editors added {describe_insertion(i['text'])}: {i['reason']}", "insertion")
        for i in rules.get("insertions", [])
    ]


def normalisation_sentences(rules: dict[str, Any]) -> list[str]:
    found = []
    notes = rules.get("notes", {})
    if notes.get("style") in NOTE_STYLES:
        found.append(NOTE_STYLES[notes["style"]])
    if notes.get("first") not in (None, 1):
        found.append(f"Its notes are numbered from {notes['first']} in the source, as part of a longer work.")
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
    if rules.get("citations"):
        found.append("Its citations were converted into the book’s citation style, each pointing to the bibliography.")
    return found


def authorship(meta: ChapterMeta) -> list[str]:
    """What the source says of its author: the recorded statement; for a text with no author named, that none is
    stated. A named author without a statement needs none: the byline names them."""
    if meta.author_statement:
        return [sentence(f"Authorship: {meta.author_statement}")]
    return [] if meta.authors else ["Authorship: not stated in the source."]


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
    kind = FILE_KINDS.get(source.suffix.lower(), OTHER_KIND)[0]
    facts = [f"Source: {provenance(meta)}", f"Received as {kind}.", *authorship(meta)]
    blocks.append(para(str_inlines(" ".join(fact for fact in facts if fact))))
    normalised = normalisation_sentences(rules)
    if normalised:
        blocks.append(para(str_inlines(" ".join(normalised))))
    removals = removal_items(rules, raw)
    emendations = emendation_items(rules, chapter.body)
    insertions = insertion_items(rules)
    if insertions:
        blocks += [header(3, str_inlines("Editorial insertions")), {"t": "BulletList", "c": insertions}]
    if removals:
        blocks += [header(3, str_inlines("Removed")), {"t": "BulletList", "c": removals}]
    blocks += [header(3, str_inlines("Emendations"))]
    blocks += [{"t": "BulletList", "c": emendations}] if emendations else [para(str_inlines("None."))]
    return blocks


def introduction(book: Book) -> list[str]:
    """The note's opening, from what the recipes record: how many texts came from which kinds of file, which
    kinds of rule ran and how many changes they made. Nothing in it is true of one book only."""
    recipes = [found[1] for chapter in book.chapters if (found := recipe_of(chapter, book))]
    if not recipes:
        return ["No text of this book was ingested from a recorded source."]
    kinds = Counter(FILE_KINDS.get(Path(str(r.get("source", ""))).suffix.lower(), OTHER_KIND) for r in recipes)
    received = joined([one if count == 1 else f"{count} {many}" for (one, many), count in sorted(kinds.items())])
    total, made = len(book.chapters), len(recipes)
    if made == 1:
        whose = "The text of the one chapter was" if total == 1 else f"The text of one of the {total} chapters was"
    else:
        whose = (
            f"The texts of all {total} chapters were"
            if made == total
            else f"The texts of {made} of the {total} chapters were"
        )
    sources = "its source" if made == 1 else "their sources"
    rules = [r.get("rules") or {} for r in recipes]
    removed = sum(len(r.get("remove", [])) + len(r.get("page_headers", [])) + len(r.get("rewrite", [])) for r in rules)
    emended = sum(len(r.get("emendations", [])) for r in rules)
    inserted = sum(len(r.get("insertions", [])) for r in rules)
    changes = [
        f"{plural(removed, 'kind')} of matter that is not the authors’ text removed or rewritten" if removed else "",
        f"{plural(emended, 'emendation')} of errors in the sources" if emended else "",
        f"{plural(inserted, 'editorial insertion')}" if inserted else "",
    ]
    done = joined([change for change in changes if change]) or "nothing removed, emended or inserted"
    paragraphs = [
        f"{whose} made from {sources} as received ({received}), which the book’s files keep unchanged. Each "
        f"text was derived from its source by the rules its recipe records, and each chapter’s record follows: "
        f"{done}. Straight quotation marks and apostrophes were made typographic, spaced hyphens "
        "used as dashes became dashes and number ranges take an en dash; the authors’ words are otherwise as "
        "received, and their spellings are kept unless an emendation below says otherwise."
    ]
    cited = sum(1 for r in rules if r.get("citations"))
    if cited:
        paragraphs.append(
            f"In {plural(cited, 'text')}, citations were converted into the book’s citation style, each pointing "
            "to the one bibliography."
        )
    return paragraphs


def make_note_on_texts(resolved: ResolvedBook, slug: str) -> Generated:
    book = resolved.book
    blocks: list[Node] = [para(str_inlines(text)) for text in introduction(book)]
    for chapter in book.chapters:
        blocks += chapter_section(chapter, book)
    return Generated(blocks)


def rights_cleared(rights: str) -> bool:
    return rights.strip().lower() not in UNSTATED


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
