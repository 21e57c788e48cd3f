"""Cross-references: `[@xref:slug]` and `[@xref:slug#id]` citations become links that name their target.

Authors write a cross-reference as a pandoc citation whose key starts with `xref:` (README, "Cross-references"):

- `[@xref:molyneux-leninism-stalinism]`: a whole text (a chapter, front or back matter, a headnote
  `<chapter>-headnote`, a part introduction `part-1-intro`) or a part (`part-1`);
- `[@xref:collins-isolation-and-degeneration#the-kronstadt-uprising]`: an id inside a text (a heading's automatic
  id, or an explicit `{#label}` on a heading, span, div or table);
- `[@xref:collins-final-part#fn12]`: note 12 of that text, numbered as printed (the notes' order in the text);
- `[@{xref:#local-id}]` (braces, because pandoc's key syntax does not allow `:#`): an id in the same text.

This runs in the resolve stage after ids are prefixed and BEFORE any citeproc step, so citeproc never sees an xref
key. Each Cite becomes a Link with class `xref` and a kind class (chapter, part, matter, section, note, table,
anchor), an href to the book-wide id and a text from the wording in book.yaml (`crossref:`). The print stylesheet
appends the page number with `target-counter()`, reading the words around it from the link's `data-page-before`
and `data-page-after` attributes, so that wording is configurable too. Every dangling reference is reported at
once, with the file and line where it is written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anthology.ast import PAGE_SLOT, Node, attr_of, clone, page_number, rewrite_lists, span, stringify, walk_structure
from anthology.config import CrossrefWording
from anthology.diagnostics import Collector
from anthology.model import ID_SEPARATOR, Chapter, ResolvedBook, ResolvedText, Text

PREFIX = "xref:"
NOTE_KEY = re.compile(r"^fn(\d+)$")
# Pandoc's citation keys: internal punctuation must be followed by a letter or digit (so a key ends before ".").
KEY_END = r"(?![\w]|[:.#$%&\-+?<>~/][\w])"


@dataclass(frozen=True)
class Target:
    """What a reference can point at: its book-wide id, its kind and the words that name it."""

    ident: str
    kind: str  # chapter | part | matter | section | note | table | anchor
    label: str
    note: int = 0  # for a note: its number in its text (an anchor is inserted at its call)
    owner: str = ""  # for a note: the slug of its text


def text_name(text: Text, wording: CrossrefWording) -> str:
    """How a text is named before a place inside it ("Chapter 1", "Introduction")."""
    if isinstance(text, Chapter):
        return wording.in_chapter.format(number=text.number, title=text.title)
    return text.title


def whole_text_target(text: Text, wording: CrossrefWording) -> Target:
    if isinstance(text, Chapter):
        return Target(text.slug, "chapter", wording.chapter.format(number=text.number, title=text.title))
    return Target(text.slug, "matter", wording.matter.format(title=text.title))


def place(text: Text, ident: str, kind: str, what: str, wording: CrossrefWording, **fields: Any) -> Target:
    """A target inside a text: "Chapter 1, § The Kronstadt Uprising"."""
    inner = getattr(wording, kind).format(**fields) if kind != "anchor" else ""
    name = text_name(text, wording)
    label = wording.place.format(text=name, place=inner) if inner else name
    if kind == "note":
        return Target(ident, kind, label, fields["number"], text.slug)
    return Target(ident, kind, label)


@dataclass
class Survey:
    """What one walk of a parsed text finds: the ids inside it (by local id, its notes as `fn<n>`), whether it
    cites a cross-reference (to be rewritten) and whether it already links as one (an author's `{.xref}` link)."""

    targets: dict[str, Target] = field(default_factory=dict)
    cites: bool = False
    links: bool = False


def survey(item: ResolvedText, wording: CrossrefWording) -> Survey:
    """One walk for all three: walking every text once for each took most of the cross-references' time."""
    text = item.text
    prefix = text.slug + ID_SEPARATOR
    found = Survey()
    tables = 0
    notes = 0
    for node in walk_structure(item.blocks):
        kind = node["t"]
        if kind == "Note":
            notes += 1
            local = f"fn{notes}"
            found.targets[local] = place(text, f"{prefix}note-{notes}", "note", local, wording, number=notes)
            continue
        if kind == "Cite":
            found.cites = found.cites or any(citation["citationId"].startswith(PREFIX) for citation in node["c"][0])
        found.links = found.links or is_xref(node)
        if kind == "Table":
            tables += 1
        attr = attr_of(node)
        if attr is None or not attr[0].startswith(prefix):
            continue
        local = attr[0][len(prefix) :]
        if kind == "Header":
            found.targets[local] = place(text, attr[0], "section", local, wording, title=stringify(node["c"][2]))
        elif kind == "Table":
            found.targets[local] = place(text, attr[0], "table", local, wording, number=tables)
        else:
            found.targets[local] = place(text, attr[0], "anchor", local, wording)
    return found


def build_targets(resolved: ResolvedBook, surveys: dict[str, Survey]) -> dict[str, Target]:
    """Every reference key the book can resolve: `slug`, `slug#local`, `part-N`."""
    wording = resolved.book.config.crossref
    targets: dict[str, Target] = {}
    for part in (part for part in resolved.book.parts if part.title):  # a book without parts has no part to name
        targets[part.anchor] = Target(part.anchor, "part", wording.part.format(number=part.number, title=part.title))
    for text in resolved.book.texts:
        targets[text.slug] = whole_text_target(text, wording)
        if text.slug in surveys:
            for local, target in surveys[text.slug].targets.items():
                targets[f"{text.slug}#{local}"] = target
    return targets


def xref_key(citation: dict[str, Any], here: str) -> str | None:
    """The target key of a citation (`slug` or `slug#local`), or None if it is not a cross-reference."""
    key = citation["citationId"]
    if not key.startswith(PREFIX):
        return None
    key = key[len(PREFIX) :]
    return here + key if key.startswith("#") else key


class XrefResolver:
    """Replaces the cross-references of one text, recording each problem with its line."""

    def __init__(
        self,
        text: Text,
        targets: dict[str, Target],
        wording: CrossrefWording,
        collector: Collector,
        notes: dict[str, set[int]],
    ):
        self.text = text
        self.targets = targets
        self.wording = wording
        self.collector = collector
        self.seen: dict[str, int] = {}  # occurrences of each raw key so far, to find the right line
        self.notes = notes  # notes referred to, by text: they get an anchor at their call

    def line_of(self, raw_key: str) -> int:
        """The file line of the n-th occurrence of `@raw_key` (pandoc's AST has no positions)."""
        occurrence = self.seen.get(raw_key, 0)
        self.seen[raw_key] = occurrence + 1
        pattern = re.compile(r"@\{?" + re.escape(raw_key) + (r"\}" if ":#" in raw_key else KEY_END))
        hits = [i for i, line in enumerate(self.text.body.split("\n")) for _ in pattern.finditer(line)]
        index = hits[min(occurrence, len(hits) - 1)] if hits else 0
        return self.text.body_line + index

    def link(self, citation: dict[str, Any], key: str) -> list[Node]:
        target = self.targets[key]
        if target.kind == "note":
            self.notes.setdefault(target.owner, set()).add(target.note)
        before, _, after = self.wording.page.partition("{page}")
        attrs = [["", ["xref", target.kind], [["data-page-before", before], ["data-page-after", after]]]]
        link = {"t": "Link", "c": [*attrs, label_inlines(target.label), ["#" + target.ident, ""]]}
        prefix = citation["citationPrefix"]
        suffix = citation["citationSuffix"]
        return [*prefix, *([{"t": "Space"}] if prefix else []), link, *suffix]

    def replace(self, node: Node) -> list[Node] | None:
        """The inlines that replace a Cite, or None when it is an ordinary bibliographic citation."""
        citations = node["c"][0]
        keys = [xref_key(citation, self.text.slug) for citation in citations]
        if all(key is None for key in keys):
            return None
        result: list[Node] = []
        for citation, key in zip(citations, keys, strict=True):
            raw = citation["citationId"]
            if key is None:
                self.report("E076", f"citation '@{raw}' is mixed with cross-references in one bracket", raw)
                continue
            if key not in self.targets:
                close = difflib.get_close_matches(key, list(self.targets), n=1, cutoff=0.7)
                guess = f" (did you mean '@xref:{close[0]}'?)" if close else ""
                self.report("E075", f"cross-reference '@{raw}': no such chapter, text or id{guess}", raw)
                continue
            result.extend([{"t": "Str", "c": ";"}, {"t": "Space"}] if result else [])
            result.extend(self.link(citation, key))
        return result

    def report(self, code: str, message: str, raw: str) -> None:
        hint = (
            "refer to a text by its slug, or to an id inside it as slug#id (a heading's automatic id, an explicit "
            "{#label}, or fn<n> for note n); README, section 'Cross-references', lists the forms"
        )
        self.collector.error(code, message, file=self.text.path, line=self.line_of(raw), hint=hint)

    def transform(self, blocks: list[Node]) -> list[Node]:
        def convert(items: list[Any]) -> list[Any]:
            out: list[Any] = []
            for item in items:
                replacement = self.replace(item) if item.get("t") == "Cite" else None
                out.extend(replacement if replacement is not None else [item])
            return out

        rewrite_lists(blocks, convert)
        return blocks


def label_inlines(label: str) -> list[Node]:
    """Inlines of a label, keeping its spaces (pandoc Markdown would treat quotes or asterisks specially)."""
    inlines: list[Node] = []
    for index, word in enumerate(label.split(" ")):
        if index:
            inlines.append({"t": "Space"})
        if word:
            inlines.append({"t": "Str", "c": word})
    return inlines


def anchor_notes(blocks: list[Node], slug: str, numbers: set[int]) -> list[Node]:
    """An empty anchor span just before each referred-to note's call, so a link lands where the note is."""
    count = 0

    def convert(items: list[Any]) -> list[Any]:
        nonlocal count
        out: list[Any] = []
        for item in items:
            if item.get("t") == "Note":
                count += 1
                if count in numbers:
                    out.append(span([], f"{slug}{ID_SEPARATOR}note-{count}", ["note-anchor"]))
            out.append(item)
        return out

    rewrite_lists(blocks, convert)
    return blocks


def resolve_xrefs(resolved: ResolvedBook, collector: Collector) -> None:
    """Turn every cross-reference of every text into a link; dangling ones go to the collector, all together."""
    wording = resolved.book.config.crossref
    surveys = {slug: survey(item, wording) for slug, item in resolved.texts.items()}
    targets = build_targets(resolved, surveys)
    notes: dict[str, set[int]] = {}
    for slug, item in resolved.texts.items():
        if surveys[slug].cites:  # a text without is left as it is
            item.ast["blocks"] = XrefResolver(item.text, targets, wording, collector, notes).transform(item.blocks)
    for slug, numbers in notes.items():
        item = resolved.texts[slug]
        item.ast["blocks"] = anchor_notes(item.blocks, slug, numbers)
    for slug, item in resolved.texts.items():
        if links_as_xref(item, surveys[slug]):
            resolved.print_overrides[slug] = paged_override(item, wording)


def links_as_xref(item: ResolvedText, found: Survey) -> bool:
    """Whether a text links as a cross-reference once its references are rewritten: one not rewritten has the
    links it had (the anchors added before notes are no links)."""
    if not found.cites:
        return found.links
    return any(is_xref(node) for node in walk_structure(item.blocks))


def number_notes(resolved: ResolvedBook) -> None:
    """Name notes by the numbers they are printed with, once citeproc has added its notes.

    `#fn12` means the text's twelfth note as written (what an editor sees in the file); in a note citation style
    citeproc turns citations in the running text into notes too, so that note may be printed as note 15. Called by
    the resolve stage after citeproc; counts every note of the text in order up to the anchor before the note."""
    printed: dict[str, int] = {}
    links: list[Node] = []  # references to notes, relabelled once every text's notes are counted
    for item in resolved.texts.values():
        count = 0
        for node in walk_structure(item.blocks):
            if node["t"] == "Note":
                count += 1
            elif node["t"] == "Span" and "note-anchor" in node["c"][0][1]:
                printed[node["c"][0][0]] = count + 1
            elif is_xref(node) and "note" in node["c"][0][1]:
                links.append(node)
    wording = resolved.book.config.crossref
    texts = {text.slug: text for text in resolved.book.texts}
    for node in links:
        target = node["c"][2][0][1:]
        if target in printed:
            text = texts[target.split(ID_SEPARATOR, 1)[0]]
            label = place(text, target, "note", "", wording, number=printed[target]).label
            node["c"][1] = label_inlines(label)


def is_xref(node: Node) -> bool:
    return node["t"] == "Link" and "xref" in node["c"][0][1]


def paged_override(item: ResolvedText, wording: CrossrefWording) -> Callable[[dict[str, int]], list[Node]]:
    """The print form of a text: each reference followed by its target's page as laid out the first time.

    CSS target-counter() alone is not reliable here: WeasyPrint 70 resolves a forward reference's page before later
    pages settle (the contents and the introduction's references to Chapters 2-5 came out two pages early), so the
    second layout prints the pages measured on the first; the first layout uses target-counter() (a.xref::after), so
    both layouts set text of the same length. The link loses its `xref` class, so the CSS adds no second number."""

    def with_pages(pages: dict[str, int]) -> list[Node]:
        copied = clone(item.blocks)  # as finally resolved (with index markers)
        for node in walk_structure(copied):
            target = node["c"][2][0][1:] if is_xref(node) else None
            if target is not None and target in pages:
                node["c"][0][1] = ["xref-print", *node["c"][0][1][1:]]
                page = page_number(label_inlines(wording.page.format(page=PAGE_SLOT)), pages[target])
                node["c"][1] = [*node["c"][1], *page]
        return copied

    # The numbers change nothing but themselves: the print build may render this once with placeholders
    # (render/print/pdf.py, positional_fragment).
    with_pages.positional = True  # type: ignore[attr-defined]
    return with_pages
