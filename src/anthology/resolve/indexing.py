"""Back-of-book index: terms from book/index.yaml marked in the texts' ASTs, and the index generated from the marks.

Marking (resolve stage, after cross-references): every occurrence of a term's alias in an essay's running text is
wrapped in a Span with class `index-marker` and a book-wide unique id (`<slug>--ix<n>`). The span wraps the matched
words rather than sitting empty before them, so that every renderer gives it a box (WeasyPrint records the page of
an anchor only for a laid-out box) and a link lands exactly on the words. Rules (README, "Index"):

- whole words only (`Lenin` never matches `Leninism`; a hyphen joins words: `NEP` does not match `NEP-men`);
- an alias written with a capital (a name: `Stalin`, `NEP`) matches only with that case; an alias written in lower
  case (`ban on factions`) also matches with a capital first letter, at the start of a sentence;
- the longest alias wins where aliases overlap (`Left Opposition` before `Opposition`);
- never in headings (their text is copied into tables of contents, where an id would be duplicated), links,
  notes (mostly bibliographic: they would flood the index with authors of cited works), citations or code, and not
  in the sections listed under `skip_sections` (reading lists, references);
- only in chapters; editorial matter is indexed by hand where wanted: `[Kronstadt]{.idx term="Kronstadt"}`
  (optionally `sub="…"`), which works in any text.

The index is generated back matter (`back: [index]` in book.yaml). In print a second layout gives every marker's
page, and each entry lists its pages once, consecutive pages as a range (151–153), each number linking to the
first occurrence on that page. The EPUB carries the print pages (its page markers), so its index lists the same page
numbers, worked out from where its markers stand (render/epub/index_markup.py). The site, written before the pages
are known, names what the reader sees there: per text, its chapter number ("ch. 1") and the titles of the sections
the term occurs in (with the numbers the authors gave them), each linking to the first occurrence in that section.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any

from anthology.ast import Node, str_inlines, stringify, walk_structure
from anthology.diagnostics import BuildError, Collector, Diagnostic
from anthology.model import (
    ID_SEPARATOR,
    BookIndex,
    Chapter,
    Entry,
    Generated,
    IndexSpec,
    Marks,
    Occurrence,
    ResolvedBook,
    Text,
)
from anthology.yamlfile import YamlDocument, load_yaml

INDEX_FILE = "index.yaml"
INDEX_SLUG = "index"
MARKER_CLASS = "index-marker"
HAND_CLASS = "idx"
# Inline elements whose content is never marked automatically.
SKIP_INLINES = {"Link", "Note", "Cite", "Code", "Math", "RawInline", "Image"}
SKIP_BLOCKS = {"Header", "CodeBlock", "RawBlock"}
RUN_ELEMENTS = {"Str", "Space", "SoftBreak"}


# --------------------------------------------------------------------------------------------- the data file


def spec_error(document: YamlDocument, path: tuple[str | int, ...], message: str) -> Diagnostic:
    hint = "README, section 'Index', describes book/index.yaml"
    return Diagnostic("E080", message, file=document.path, line=document.line_of(path), hint=hint)


def read_entry(
    document: YamlDocument, data: Any, path: tuple[str | int, ...], problems: list[Diagnostic], parent: Entry | None
) -> Entry | None:
    if not isinstance(data, dict) or not isinstance(data.get("term"), str) or not data["term"].strip():
        problems.append(spec_error(document, path, "an entry needs 'term: <heading>'"))
        return None
    unknown = set(data) - {"term", "aliases", "see", "see_also", "sub"}
    if unknown:
        problems.append(spec_error(document, (*path, sorted(unknown)[0]), f"unknown key '{sorted(unknown)[0]}'"))
    aliases = data.get("aliases", [] if data.get("see") else [data["term"]])
    see_also = data.get("see_also", [])
    if not all(isinstance(item, str) and item.strip() for item in [*aliases, *see_also]):
        problems.append(spec_error(document, path, "aliases and see_also must be lists of words"))
        return None
    entry = Entry(data["term"], list(aliases), data.get("see"), list(see_also), parent, line=document.line_of(path))
    for index, sub in enumerate(data.get("sub", []) if parent is None else []):
        child = read_entry(document, sub, (*path, "sub", index), problems, entry)
        entry.sub.extend([child] if child else [])
    return entry


def check_spec(spec: IndexSpec, document: YamlDocument, problems: list[Diagnostic]) -> None:
    """See-references must name headings; an alias may belong to one entry only."""
    terms = spec.by_term()
    owner: dict[str, str] = {}
    for index, entry in enumerate(spec.entries):
        for name in [*([entry.see] if entry.see else []), *entry.see_also]:
            if name not in terms:
                problems.append(spec_error(document, ("entries", index), f"'{entry.term}': no heading '{name}'"))
    for entry in spec.all_entries():
        for alias in entry.aliases:
            if alias_key(alias) in owner:
                message = f"alias '{alias}' of '{entry.key}' already belongs to '{owner[alias_key(alias)]}'"
                problems.append(Diagnostic("E080", message, file=document.path, line=entry.line))
            owner[alias_key(alias)] = entry.key


def load_spec(book_dir: Path) -> IndexSpec:
    """book/index.yaml, checked; every problem reported together."""
    path = book_dir / INDEX_FILE
    if not path.exists():
        raise BuildError(
            [Diagnostic("E083", "the book has an index but no index.yaml", file=path, hint="create it, see README")]
        )
    document = load_yaml(path)
    data = document.data if isinstance(document.data, dict) else {}
    problems: list[Diagnostic] = []
    entries = [
        entry
        for index, item in enumerate(data.get("entries") or [])
        if (entry := read_entry(document, item, ("entries", index), problems, None)) is not None
    ]
    if not entries:
        problems.append(spec_error(document, (), "no 'entries:' list"))
    spec = IndexSpec(path, entries, set(data.get("skip_sections") or []))
    check_spec(spec, document, problems)
    if problems:
        raise BuildError(problems)
    return spec


# --------------------------------------------------------------------------------------------- matching


def alias_key(text: str) -> str:
    """Equal for the same words however spaced or apostrophised."""
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip()


def word_pattern(word: str) -> str:
    return re.escape(word).replace("'", "['’]")


def alias_start(alias: str) -> tuple[str, str]:
    """The characters an alias can begin with in a text, and the pattern of the rest of it."""
    first, *rest = alias_key(alias).split(" ")
    rest_pattern = r"\s+".join([word_pattern(first[1:]), *map(word_pattern, rest)])
    if alias[0].islower():  # also with a capital, at the start of a sentence
        return alias[0] + alias[0].upper(), rest_pattern
    return ("'’" if first[0] == "'" else first[0]), rest_pattern


class Matcher:
    """All aliases of the index as one regular expression: leftmost, then longest, whole words."""

    def __init__(self, spec: IndexSpec):
        self.exact: dict[str, Entry] = {}
        self.lower: dict[str, Entry] = {}
        for entry in spec.all_entries():
            for alias in entry.aliases:
                (self.lower if alias[0].islower() else self.exact)[alias_key(alias)] = entry
        aliases = sorted({a for e in spec.all_entries() for a in e.aliases}, key=len, reverse=True)
        self.pattern = re.compile(rf"(?<![\w])(?<!\w-)(?:{by_first_character(aliases)})(?![\w]|-\w)")

    def entry_for(self, matched: str) -> Entry | None:
        key = alias_key(matched)
        if key in self.exact:
            return self.exact[key]
        return self.lower.get(key[0].lower() + key[1:])


def by_first_character(aliases: list[str]) -> str:
    """The aliases as alternatives grouped by the character they begin with, each group in the aliases' order.

    The same matches as the plain alternation of the aliases in that order (at a place in a text only the group
    of its character can match, and it tries the same aliases in the same order), five times as fast: the
    regular expression engine skips a group on its first character instead of trying every alias."""
    groups: dict[str, list[str]] = {}
    for alias in aliases:
        chars, rest = alias_start(alias)
        for char in dict.fromkeys(chars):
            groups.setdefault(char, []).append(rest)
    return "|".join(f"{re.escape(char)}(?:{'|'.join(rests)})" for char, rests in groups.items())


# --------------------------------------------------------------------------------------------- marking


class TextMarker:
    """Marks one text: automatic matches (chapters only) and hand marks (any text)."""

    def __init__(self, text: Text, matcher: Matcher, spec: IndexSpec, marks: Marks, collector: Collector):
        self.text = text
        self.matcher = matcher
        self.spec = spec
        self.marks = marks
        self.collector = collector
        self.count = 0
        self.section = 0
        self.section_title = ""
        self.auto = isinstance(text, Chapter)

    def new_marker(self, entry: Entry, inlines: list[Node], classes: list[str] | None = None) -> Node:
        self.count += 1
        ident = f"{self.text.slug}{ID_SEPARATOR}ix{self.count}"
        words = stringify(inlines)
        self.marks.occurrences.append(
            Occurrence(entry.key, ident, self.text.slug, self.section, self.section_title, words)
        )
        return {"t": "Span", "c": [[ident, [MARKER_CLASS, *(classes or [])], []], inlines]}

    def blocks(self, blocks: list[Node], auto: bool | None = None) -> list[Node]:
        """A list of blocks, the top level's or a division's: its level-2 headings open the sections locators are
        named by, wherever they stand, and `skip_sections` are skipped wherever they stand."""
        auto = self.auto if auto is None else auto
        skipping_level = 0
        out = []
        for block in blocks:
            if block["t"] == "Header":
                level, (ident, _, _) = block["c"][0], block["c"][1]
                if skipping_level and level <= skipping_level:
                    skipping_level = 0
                local = ident.split(ID_SEPARATOR, 1)[-1]
                if level == 2:
                    self.section += 1
                    self.section_title = stringify(block["c"][2])
                if local in self.spec.skip_sections:
                    skipping_level = level
                self.check_no_hand_marks(block)
                out.append(block)
                continue
            out.append(self.block(block, auto=auto and not skipping_level))
        return out

    def block(self, block: Node, auto: bool) -> Node:
        """Mark inside a block: paragraphs' inlines, nested blocks (quotations, lists, tables, divs)."""
        if block["t"] in SKIP_BLOCKS:
            return block
        return {**block, "c": self.value(block.get("c"), auto)} if "c" in block else block

    def value(self, value: Any, auto: bool) -> Any:
        if isinstance(value, list):
            if value and all(isinstance(item, dict) and "t" in item for item in value):
                if any(item["t"] == "Header" for item in value):
                    return self.blocks(value, auto)
                return self.elements(value, auto)
            return [self.value(item, auto) for item in value]
        if isinstance(value, dict) and "t" in value:
            return self.block(value, auto)
        return value

    def elements(self, items: list[Node], auto: bool) -> list[Node]:
        """A list of blocks or inlines: runs of words are matched; other elements are entered."""
        out: list[Node] = []
        run: list[Node] = []
        for item in [*items, None]:
            if item is not None and item["t"] in RUN_ELEMENTS:
                run.append(item)
                continue
            out.extend(self.run(run) if auto and run else run)
            run = []
            if item is None:
                continue
            if item["t"] == "Span" and HAND_CLASS in item["c"][0][1]:
                out.append(self.hand_mark(item))
            elif item["t"] in SKIP_INLINES:
                out.append(self.value_in_skipped(item))
            else:
                out.append(self.block(item, auto))
        return out

    def value_in_skipped(self, item: Node) -> Node:
        """Inside a note or link nothing is matched automatically, but hand marks are still honoured."""
        return {**item, "c": self.value(item.get("c"), False)} if item["t"] in ("Note", "Link") else item

    def run(self, run: list[Node]) -> list[Node]:
        """Wrap each match in a run of Str/Space/SoftBreak in a marker, splitting words where a match starts."""
        text = "".join([item["c"] if item["t"] == "Str" else " " for item in run])
        matches = [
            (m.start(), m.end(), e)
            for m in self.matcher.pattern.finditer(text)
            if (e := self.matcher.entry_for(m.group()))
        ]
        if not matches:
            return run
        pieces = split_run(run, text, sorted({p for s, e, _ in matches for p in (s, e)}))
        out: list[Node] = []
        index = 0
        for start, end, entry in matches:
            first = bisect_left(pieces.starts, start, index)  # the first piece from the match's start
            last = bisect_right(pieces.ends, end, first)  # the first piece that ends after the match
            out += pieces.nodes[index:first]
            out.append(self.new_marker(entry, pieces.nodes[first:last]))
            index = last
        out += pieces.nodes[index:]
        return out

    def hand_mark(self, item: Node) -> Node:
        """`[words]{.idx term="…" sub="…"}`: a marker for a named entry."""
        attrs = dict(item["c"][0][2])
        inlines = item["c"][1]
        term = attrs.get("term") or stringify(inlines)
        entry = self.spec.by_term().get(term) or self.matcher.entry_for(term)
        if entry is not None and attrs.get("sub"):
            entry = next((sub for sub in entry.sub if sub.term == attrs["sub"]), None)
        if entry is None:
            self.collector.error(
                "E081",
                f"index mark {term!r}{' / ' + attrs['sub'] if attrs.get('sub') else ''}: no such entry in index.yaml",
                file=self.text.path,
                line=self.line_of(term),
                hint="use a heading (term) of book/index.yaml, or one of its aliases, and a sub-heading of it",
            )
            return item
        classes = [name for name in item["c"][0][1] if name != HAND_CLASS]
        return self.new_marker(entry, inlines, classes)

    def check_no_hand_marks(self, header: Node) -> None:
        if any(n["t"] == "Span" and HAND_CLASS in n["c"][0][1] for n in walk_structure(header["c"][2])):
            self.collector.error(
                "E082",
                "index mark inside a heading: its id would be copied into the table of contents",
                file=self.text.path,
                line=self.line_of(stringify(header["c"][2])),
                hint="mark the term in the first sentence of the section instead",
            )

    def line_of(self, words: str) -> int:
        lines = self.text.body.split("\n")
        index = next((i for i, line in enumerate(lines) if words and words in line), 0)
        return self.text.body_line + index


@dataclass
class Pieces:
    """A run's elements, Str elements split at cut points, with the character range of each."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)

    def extend(self, starts: list[int], ends: list[int], nodes: list[Node]) -> None:
        self.starts += starts
        self.ends += ends
        self.nodes += nodes


def split_run(run: list[Node], text: str, cuts: list[int]) -> Pieces:
    """The run's elements with their character ranges, Str elements split at the cut points (sorted).

    Only the words a cut falls inside are visited one by one (found by bisection); the elements between them
    are taken as slices: going through every element of a long run took most of the marking."""
    ends = list(accumulate([len(item["c"]) if item["t"] == "Str" else 1 for item in run]))
    starts = [0, *ends[:-1]]
    inside: dict[int, list[int]] = {}  # the cuts that fall inside an element, by the element's index
    for cut in cuts:
        index = bisect_left(starts, cut) - 1  # the last element that starts before the cut
        if index >= 0 and cut < ends[index]:
            inside.setdefault(index, []).append(cut)
    pieces = Pieces()
    done = 0
    for index, within in inside.items():
        pieces.extend(starts[done:index], ends[done:index], run[done:index])
        bounds = [starts[index], *within, ends[index]]
        pieces.extend(bounds[:-1], bounds[1:], [{"t": "Str", "c": text[a:b]} for a, b in pairwise(bounds)])
        done = index + 1
    pieces.extend(starts[done:], ends[done:], run[done:])
    return pieces


# --------------------------------------------------------------------------------------------- the book


def has_index(resolved: ResolvedBook) -> bool:
    texts = resolved.book.back + resolved.book.front
    return any(text.slug == INDEX_SLUG and text.kind == "generated" for text in texts)


class BookMarker:
    """Marks the texts one at a time, in any order (each as soon as its citations are rendered); the marks and the
    problems found are the book's in reading order. index.yaml is read when the first text is marked: the resolve
    stage has started the texts' citeproc runs by then."""

    def __init__(self, root: Path, collector: Collector):
        self.root = root
        self.collector = collector
        self.marked: dict[str, tuple[Marks, Collector]] = {}  # by slug

    @cached_property
    def spec(self) -> IndexSpec | None:
        """book/index.yaml, or None when it has problems (they go to the collector)."""
        try:
            return load_spec(self.root)
        except BuildError as error:
            self.collector.items.extend(error.diagnostics)
            return None

    @cached_property
    def matcher(self) -> Matcher:
        assert self.spec is not None
        return Matcher(self.spec)

    def mark(self, text: Text, ast: dict[str, Any]) -> None:
        """Hand marks in every text; automatic marks in chapters."""
        if self.spec is None:
            return
        marks, problems = Marks(), Collector()
        ast["blocks"] = TextMarker(text, self.matcher, self.spec, marks, problems).blocks(ast["blocks"])
        self.marked[text.slug] = (marks, problems)

    def finish(self, resolved: ResolvedBook) -> None:
        """The book's index from every text's marks, in reading order; their problems to the collector."""
        if self.spec is None:
            return
        marks = Marks()
        for slug in resolved.texts:
            text_marks, problems = self.marked[slug]
            marks.occurrences += text_marks.occurrences
            self.collector.items.extend(problems.items)
        resolved.index = BookIndex(self.spec, marks)


def book_marker(resolved: ResolvedBook, collector: Collector) -> BookMarker | None:
    """A marker for the book's texts if the book has an index."""
    return BookMarker(resolved.book.root, collector) if has_index(resolved) else None


# --------------------------------------------------------------------------------------------- the generated index


def entry_id(entry: Entry) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", alias_key(entry.key).lower()).strip("-")
    return f"index{ID_SEPARATOR}h-{slug}"  # h-: apart from other ids of the page (passages p1, p2, …)


def sort_key(term: str) -> str:
    """Alphabetical, letter by letter, ignoring case, quotes and punctuation."""
    return re.sub(r"[^0-9a-z ]", "", term.lower().replace("’", "'"))


def emph(words: str) -> Node:
    return {"t": "Emph", "c": [{"t": "Str", "c": words}]}


def words(text: str) -> list[Node]:
    return str_inlines(text)


def link(inlines: list[Node], target: str, classes: list[str], title: str = "") -> Node:
    return {"t": "Link", "c": [["", classes, []], inlines, ["#" + target, title]]}


def cross_references(entry: Entry, shown: set[str]) -> list[Node]:
    """'see X' (an entry without locators) or '; see also X, Y', linked to the headings."""
    out: list[Node] = []
    if entry.see and entry.see in shown:
        out += [{"t": "Str", "c": ","}, {"t": "Space"}, emph("see"), {"t": "Space"}]
        out.append(link(words(entry.see), entry_id(Entry(entry.see, [])), ["index-see"]))
    also = [name for name in entry.see_also if name in shown]
    if also:
        out += [{"t": "Str", "c": "."}, {"t": "Space"}, emph("See also"), {"t": "Space"}]
        for position, name in enumerate(also):
            out += [{"t": "Str", "c": ";"}, {"t": "Space"}] if position else []
            out.append(link(words(name), entry_id(Entry(name, [])), ["index-see"]))
    return out


def screen_locators(occurrences: list[Occurrence], chapters: dict[str, Chapter], titles: dict[str, str]) -> list[Node]:
    """Per text, in reading order: its chapter number ('ch. 1', or an editorial text's title), then in brackets the
    titles of the sections the term occurs in, each a link to its first occurrence there ('ch. 1 (7. Party
    Democracy; The Kronstadt Uprising)'); text before a text's first section is named by the text's title."""
    first: dict[tuple[str, int], Occurrence] = {}
    for occurrence in occurrences:
        first.setdefault((occurrence.slug, occurrence.section), occurrence)
    by_text: dict[str, list[Occurrence]] = {}
    for (slug, _), occurrence in first.items():
        by_text.setdefault(slug, []).append(occurrence)
    out: list[Node] = []
    for slug, found in by_text.items():
        chapter = chapters.get(slug)
        title = chapter.title if chapter else titles.get(slug, slug)
        out += [
            {"t": "Str", "c": ","},
            {"t": "Space"},
            *(words(f"ch. {chapter.number}") if chapter else [emph(title)]),
        ]
        out += [{"t": "Space"}, {"t": "Str", "c": "("}]
        for position, occurrence in enumerate(found):
            out += [{"t": "Str", "c": ";"}, {"t": "Space"}] if position else []
            label = occurrence.section_title or title
            out.append(link(words(label), occurrence.marker, ["index-locator"], f"{title}: {label}"))
        out.append({"t": "Str", "c": ")"})
    return out


def page_ranges(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted distinct pages as ranges of consecutive pages: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    ranges: list[tuple[int, int]] = []
    for page in sorted(set(numbers)):
        if ranges and page == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], page)
        else:
            ranges.append((page, page))
    return ranges


def page_locators(occurrences: list[Occurrence], pages: dict[str, int]) -> list[tuple[str, str]]:
    """(label, marker id) of an entry's pages: each page once, consecutive ones as a range ('151–153'), each
    linking to the first occurrence on its first page; occurrences on no known page are left out."""
    first_on: dict[int, str] = {}
    for occurrence in occurrences:
        if occurrence.marker in pages:
            first_on.setdefault(pages[occurrence.marker], occurrence.marker)
    return [
        (str(start) if start == end else f"{start}–{end}", first_on[start])
        for start, end in page_ranges(list(first_on))
    ]


def print_locators(occurrences: list[Occurrence], pages: dict[str, int]) -> list[Node]:
    """Page numbers, each once, consecutive ones as a range, each linking to the first occurrence on its page."""
    out: list[Node] = []
    for label, marker in page_locators(occurrences, pages):
        # Plain text, not held open (ast.page_number): the numbers decide the ranges.
        out += [{"t": "Str", "c": ","}, {"t": "Space"}, link([{"t": "Str", "c": label}], marker, ["index-locator"])]
    return out


def entry_block(entry: Entry, locators: list[Node], shown: set[str], classes: list[str]) -> Node:
    inlines = [*words(entry.term), *locators, *cross_references(entry, shown)]
    return {"t": "Div", "c": [[entry_id(entry), classes, []], [{"t": "Plain", "c": inlines}]]}


@dataclass(frozen=True)
class IndexLayout:
    """What the index shows, in order: its letters, each with its headings and their sub-entries; the terms shown
    (for see-references); each entry's occurrences by Entry.key."""

    letters: list[tuple[str, list[tuple[Entry, list[Entry]]]]]
    shown: set[str]
    occurrences: dict[str, list[Occurrence]]


def index_layout(index: BookIndex) -> IndexLayout:
    """Entries alphabetised under their initial letter, sub-entries below their heading. Headings with no
    occurrence, and see-references to them, are left out."""
    by_entry: dict[str, list[Occurrence]] = {}
    for occurrence in index.marks.occurrences:
        by_entry.setdefault(occurrence.entry, []).append(occurrence)
    used = {
        entry.term
        for entry in index.spec.entries
        if entry.term in by_entry or any(sub.key in by_entry for sub in entry.sub)
    }
    shown = used | {entry.term for entry in index.spec.entries if entry.see in used}
    letters: list[tuple[str, list[tuple[Entry, list[Entry]]]]] = []
    for entry in sorted((e for e in index.spec.entries if e.term in shown), key=lambda e: sort_key(e.term)):
        initial = sort_key(entry.term)[:1].upper()
        if not letters or letters[-1][0] != initial:
            letters.append((initial, []))
        subs = sorted((s for s in entry.sub if s.key in by_entry), key=lambda s: sort_key(s.term))
        letters[-1][1].append((entry, subs))
    return IndexLayout(letters, shown, by_entry)


def index_blocks(index: BookIndex, locate: Any) -> list[Node]:
    """The index as blocks: each letter, then its entries, sub-entries below their heading. `locate(occurrences)`
    gives an entry's locators (screen links or print pages)."""
    layout = index_layout(index)
    blocks: list[Node] = []
    for letter, entries in layout.letters:
        blocks.append(
            {"t": "Div", "c": [["", ["index-letter"], []], [{"t": "Plain", "c": [{"t": "Str", "c": letter}]}]]}
        )
        for entry, subs in entries:
            located = locate(layout.occurrences.get(entry.key, []))
            blocks.append(entry_block(entry, located, layout.shown, ["index-entry"]))
            for sub in subs:
                located = locate(layout.occurrences[sub.key])
                blocks.append(entry_block(sub, located, layout.shown, ["index-entry", "index-sub"]))
    return [{"t": "Div", "c": [["", ["index"], []], blocks]}]


def make_index(resolved: ResolvedBook, slug: str) -> Generated:
    """The index: linked locators for the screen editions, and page numbers for print after a first layout."""
    index = resolved.index
    if index is None:
        return Generated([])
    chapters = {chapter.slug: chapter for chapter in resolved.book.chapters}
    titles = {slug: item.text.title for slug, item in resolved.texts.items()}
    screen = index_blocks(index, lambda occurrences: screen_locators(occurrences, chapters, titles))

    def in_print(pages: dict[str, int]) -> list[Node]:
        return index_blocks(index, lambda occurrences: print_locators(occurrences, pages))

    return Generated(screen, in_print)
