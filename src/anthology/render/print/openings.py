"""The pages a later layout may resume at, and what a resumed layout must keep as the whole layout had it.

`OpeningWatch` records, on every pass of a layout, the body paragraphs that open a page (their first line the page's
first thing, nothing above them, no footnote called before them printed on or after their page), with digests of
the text before each and from each on (`signatures`, `prefix_digest`, `rest_digest`). `choose` picks the page to
resume at for a new document; `continued_page_ok` and `nothing_carried` check that the style sheets carry nothing
across the cut; `Hider` hides what comes before it (present, emptied, `display: none`). resume.py lays the rest out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anthology.render.print import segments
from anthology.render.print.measure import anchor_pages, flow_lines, parent_map

if TYPE_CHECKING:
    from weasyprint.document import Document


# A paragraph opens a resumable page only as a direct child of a text's body.
BODY_CLASSES = {"chapter-body", "matter-body"}


# The elements that make a text: each resets the footnote counter and sets the running heads (print.css); their
# class is also the name of the page they are set on.
TEXT_CLASSES = ("chapter", "matter")


# The previous layout's files a resumption keeps pages from: each resumption adds one or two (each with its own
# subset of each font), so a chapter edited again and again resumes earlier, or is laid out whole, rather than
# come from more than five.
MAX_KEPT_FILES = 3


CONTINUED_PAGE = "anthology-continued"  # the page name of a resumed layout's pages (see continued_page_ok)


FOOTNOTE_CLASS = "footnote"


FORCED = {"page", "left", "right", "recto", "verso"}


EDGES = "margin-top: 0; padding-top: 0; border-top-width: 0; break-before: auto"


def _classes(element: Any) -> set[str]:
    return set((element.get("class") or "").split())


def _ancestors(element: Any, parents: dict[int, Any]) -> list[Any]:
    found = []
    node = parents.get(id(element))
    while node is not None:
        found.append(node)
        node = parents.get(id(node))
    return found


def text_element(element: Any, parents: dict[int, Any]) -> Any | None:
    return next((node for node in _ancestors(element, parents) if _classes(node) & set(TEXT_CLASSES)), None)


Signature = tuple[bytes, bytes, bytes]


def signatures(elements: list[Any]) -> list[Signature]:
    """Each element as parsed (tag and attributes, its text) and the text after it: what the digests of a part of
    the document are made of. Taken before anything is changed for a layout."""
    found = []
    for element in elements:
        tag = element.tag if isinstance(element.tag, str) else "#comment"
        attributes = "\0".join(f"{key}={value}" for key, value in sorted(element.attrib.items()))
        found.append((f"<{tag}\0{attributes}>".encode(), (element.text or "").encode(), (element.tail or "").encode()))
    return found


def prefix_digest(signs: list[Signature], elements: list[Any], parents: dict[int, Any], index: int) -> str:
    """A digest of the document up to the end of element `index`: every element before it and inside it, the
    text between them, but not what follows it or what its containers hold after it."""
    element = elements[index]
    last = index + sum(1 for _ in element.iter()) - 1
    position = {id(node): number for number, node in enumerate(elements)}
    still_open = {index} | {position[id(node)] for node in _ancestors(element, parents)}
    digest = hashlib.sha256()
    for number in range(last + 1):
        digest.update(signs[number][0] + signs[number][1])
        if number not in still_open:
            digest.update(signs[number][2])
        digest.update(b"\1")
    return digest.hexdigest()[:24]


def rest_digest(signs: list[Signature], elements: list[Any], parents: dict[int, Any], index: int) -> str:
    """A digest of the document that a layout resumed at element `index` is given (what `Hider` leaves of it):
    the paragraph and everything after it; the containers on the way down to it, with their own text; what comes
    before it on the way, as hidden (tag, attributes, the text after it, the ids it holds); and the footnote count
    the text resumes with. Where two documents have the same digest at an opening that both open on the same page,
    they lay out the same pages from there on (`reusable`)."""
    position = {id(node): number for number, node in enumerate(elements)}
    paragraph = elements[index]
    chain = [paragraph, *_ancestors(paragraph, parents)]  # the paragraph, its parent, ..., the root
    text = text_element(paragraph, parents)
    start = position[id(text)] if text is not None else index
    notes = sum(1 for node in elements[start:index] if FOOTNOTE_CLASS in _classes(node))
    digest = hashlib.sha256(f"{notes}\1".encode())  # not the paragraph's index: elements may come or go before it
    for child, parent in zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True):  # from the root down
        digest.update(b"\2".join(signs[position[id(parent)]][:2]) + b"\1")
        siblings = list(parent)
        for number, sibling in enumerate(siblings):
            if sibling is child:
                break
            first, past = position[id(sibling)], position[id(siblings[number + 1])]
            if isinstance(sibling.tag, str) and sibling.tag != "head":  # hidden and emptied
                ids = "\0".join(sorted(node.get("id") for node in elements[first:past] if node.get("id")))
                digest.update(b"\2".join([signs[first][0], ids.encode(), signs[first][2]]) + b"\1")
            else:
                for inner in range(first, past):
                    digest.update(b"\2".join(signs[inner]) + b"\1")
    for number in range(index, len(elements)):
        digest.update(b"\2".join(signs[number]) + b"\1")
    for parent in chain[1:]:
        digest.update(signs[position[id(parent)]][2] + b"\1")
    return digest.hexdigest()[:24]


def opening_box(page: Any) -> Any | None:
    """The first block of the page's flow, descending into first children: a paragraph's box, or None."""
    from weasyprint.formatting_structure import boxes

    children = page._page_box.children
    box = next((c for c in children if not isinstance(c, (boxes.MarginBox, boxes.FootnoteAreaBox))), None)
    while box is not None and box.element_tag != "p":
        if not isinstance(box, boxes.BlockContainerBox) or isinstance(box, boxes.LineBox) or not box.children:
            return None
        box = box.children[0]
    return box


def _zero(value: Any) -> bool:
    """A computed length of nothing (the margin as styled: at a page break the layout truncates it to 0 anyway,
    where the first page of a resumed layout would keep it)."""
    return getattr(value, "value", None) == 0


def page_openings(document: Document, elements: list[Any], parents: dict[int, Any]) -> dict[int, int]:
    """Pages (0-based, after the first) that open with a body paragraph's first line at the head of the page, with
    nothing above it: page -> the paragraph's index in document order."""
    index = {id(element): number for number, element in enumerate(elements)}
    found: dict[int, int] = {}
    seen: set[int] = set()
    for number, page in enumerate(document.pages):
        box = opening_box(page)
        if number > 0 and box is not None and id(box.element) in index and id(box.element) not in seen:
            parent = parents.get(id(box.element))
            top = page._page_box.content_box_y()
            flat = _zero(box.style["margin_top"]) and box.padding_top == 0 and box.border_top_width == 0
            if (
                parent is not None
                and _classes(parent) & BODY_CLASSES
                and text_element(box.element, parents) is not None
                and flat
                and abs(box.position_y - top) < 1e-6
                and box.style["break_before"] not in FORCED
            ):
                found[number] = index[id(box.element)]
        seen |= {id(line.element) for line in flow_lines(page)}
    return found


def crossing_notes(document: Document) -> set[int]:
    """Pages (0-based) before which a footnote is called whose text is printed on that page or later (or lost):
    the layout cannot resume there."""
    anchors = {name: page - 1 for name, page in anchor_pages(document).items()}
    pages: set[int] = set()
    for _slug, _number, call, text in segments.measure(anchors)[0]:
        if text == -1 or text > call:
            pages |= set(range(call + 1, (text if text != -1 else len(document.pages)) + 1))
    return pages


class OpeningWatch:
    """Watches every pass of a segment's layout and keeps the openings that held in all of them (the footnote
    mending of a later layout then runs through the same passes before the opening as this one did)."""

    def __init__(self) -> None:
        self.offset = 0  # pages before this layout's first (a resumed layout's: the resumer sets it)
        self.signs: list[Signature] | None = None  # the document as parsed, before any change
        self.found: dict[tuple[int, int], tuple[str, str]] | None = None

    def parsed(self, elements: list[Any]) -> None:
        if self.signs is None:
            self.signs = signatures(elements)

    def __call__(self, document: Document, elements: list[Any]) -> None:

        self.parsed(elements)  # the whole layout changes nothing but breaks, which its first pass has none of
        parents = parent_map(elements)  # what is hidden is emptied, but the containers on the way keep their children
        crossing = crossing_notes(document)
        here = {(page, element) for page, element in page_openings(document, elements, parents).items()}
        here = {(page, element) for page, element in here if page not in crossing}
        if self.found is None:
            assert self.signs is not None
            self.found = {
                key: (
                    prefix_digest(self.signs, elements, parents, key[1]),
                    rest_digest(self.signs, elements, parents, key[1]),
                )
                for key in here
            }
        else:
            self.found = {key: digest for key, digest in self.found.items() if key in here}

    def openings(self, breaks: frozenset[int], count: int) -> list[list[Any]]:
        """[page, element, digest of all before, digest of all from it] of the openings, pages counted from the
        segment's first; none that a footnote break forced, none past the segment's last page."""
        return sorted(
            [page + self.offset, element, before, after]
            for (page, element), (before, after) in (self.found or {}).items()
            if element not in breaks and page < count
        )


@dataclass(frozen=True)
class Resumption:
    """Where a layout resumes: the page (0-based) and the paragraph that opens it, from the previous layout."""

    page: int
    element: int
    digest: str
    rest: str = ""  # the digest of the document from the paragraph on (rest_digest), when the layout recorded it
    shift: int = 0  # elements added before it since the layout that recorded it (its index there: element - shift)


# The start of the segment, for a split's first part when the text changed before every opening: nothing hidden.
START = Resumption(0, -1, "")


def choose(previous: segments.Result, signs: list[Signature], elements: list[Any]) -> Resumption | None:
    """The last opening of the previous layout before which the new document is unchanged (and whose pages come
    from few enough files)."""

    parents = parent_map(elements)
    for page, element, digest, *_ in sorted(previous.openings, reverse=True):
        if len(kept_files(previous, 0, page)) > MAX_KEPT_FILES:
            continue
        fits = element < len(elements) and elements[element].tag == "p"
        if fits and prefix_digest(signs, elements, parents, element) == digest:
            return Resumption(page, element, digest)
    return None


def style_sheets(elements: list[Any], styles_dir: Path) -> str:
    """The CSS the document's head brings: its linked style sheets (in the styles folder) and its style elements."""
    texts = []
    for element in elements:
        if element.tag == "style":
            texts.append(element.text or "")
        elif element.tag == "link" and "stylesheet" in (element.get("rel") or "").split():
            path = styles_dir / (element.get("href") or "")
            texts.append(path.read_text(encoding="utf-8") if path.is_file() else "")
    return "\n".join(texts)


def continued_page_ok(css: str) -> bool:
    """Whether the style sheets leave a text's pages after its first alone: a resumed layout sets them on a page
    of another name, which must then look the same."""
    for prelude in re.findall(r"@page([^{]*)\{", css):
        for name in (*TEXT_CLASSES, CONTINUED_PAGE):
            if re.search(rf"\b{name}\b", prelude) and prelude.strip() != f":nth(1 of {name})":
                return False
    return True


# What the hidden part of a document could pass on to the rest, were it styled to: strings and counters set
# elsewhere than on the text's element (which the resumed layout sets again), and text taken from elsewhere.
CARRIED = {"string-set", "counter-reset", "counter-set", "counter-increment"}


TARGETS = ("target-counter(", "target-counters(", "target-text(")


def _rules(rules: list[Any]) -> Iterator[tuple[str, list[Any]]]:
    """(selector, declarations) of every style rule, inside @media and the like too."""
    import tinycss2

    for rule in rules:
        if rule.type == "qualified-rule":
            declarations = tinycss2.parse_declaration_list(rule.content, skip_comments=True, skip_whitespace=True)
            yield tinycss2.serialize(rule.prelude).strip(), declarations
        elif rule.type == "at-rule" and rule.content is not None and rule.lower_at_keyword != "page":
            yield from _rules(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True))


def nothing_carried(css: str, elements: list[Any]) -> bool:
    """Whether the style sheets carry nothing across the cut but what the resumed layout sets again: strings and
    counters only on the text's element (`.chapter`, `.matter`), page references only from cross-references
    (`a.xref`), which segments print as text instead (class `xref-print`), and no element styled by what it
    holds (`:has()`)."""
    import tinycss2

    texts = {f".{name}" for name in TEXT_CLASSES}
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    for selector, declarations in _rules(rules):
        if ":has(" in selector:
            return False  # a container styled by what it holds: the hidden part is emptied
        selectors = {part.strip() for part in selector.split(",")}
        for declaration in declarations:
            if declaration.type != "declaration":
                continue
            if declaration.lower_name in CARRIED and not selectors <= texts:
                return False
            value = tinycss2.serialize(declaration.value)
            if any(function in value for function in TARGETS) and not all("a.xref" in s for s in selectors):
                return False
    return not any("xref" in _classes(element) for element in elements)


class Hider:
    """Hides, in a freshly parsed copy of the segment, what comes before the paragraph a layout resumes at, and
    puts it back afterwards (for the segment's body as laid out)."""

    def __init__(self, at: Resumption, stop: Resumption | None = None):
        self.at, self.stop = at, stop
        # (element, attribute, its value before, the content emptied out of it)
        self.saved: list[tuple[Any, str, str | None, tuple[str | None, list[Any]] | None]] = []
        self.hidden_ids: set[str] = set()

    def __call__(self, elements: list[Any]) -> None:

        self.saved, self.hidden_ids = [], set()
        parents = parent_map(elements)
        if self.at != START:
            self.hide_before(elements, parents)
        if self.stop is not None:
            self.hide_after(elements[self.stop.element], parents)
        self.relink(elements[0])

    def relink(self, root: Any) -> None:
        """Links to what is hidden leave the document as links to the book's named destinations, as links to
        another segment do (segments.DEST_SCHEME): WeasyPrint would drop them, the merge makes them whole."""
        for link in root.iter("a"):
            href = link.get("href") or ""
            if href.startswith("#") and href[1:] in self.hidden_ids:
                self.saved.append((link, "href", href, None))
                link.set("href", segments.DEST_SCHEME + href[1:])

    def hide_before(self, elements: list[Any], parents: dict[int, Any]) -> None:
        paragraph = elements[self.at.element]
        text = text_element(paragraph, parents)
        start = elements.index(text)
        notes = sum(1 for node in elements[start : self.at.element] if FOOTNOTE_CLASS in _classes(node))
        child = paragraph
        for parent in _ancestors(paragraph, parents):
            for sibling in parent:
                if sibling is child:
                    break
                if isinstance(sibling.tag, str) and sibling.tag != "head":
                    self.change(sibling, "display: none", empty=True)
            self.change(parent, EDGES)
            child = parent
        self.change(text, f"counter-reset: {FOOTNOTE_CLASS} {notes}; page: {CONTINUED_PAGE}")
        self.change(elements[0], f"break-before: {'right' if self.at.page % 2 == 0 else 'left'}")

    def hide_after(self, paragraph: Any, parents: dict[int, Any]) -> None:
        """Hide what follows the paragraph a part of a split layout ends with (the paragraph is laid out, to show
        that it opens its page, and dropped)."""
        child = paragraph
        for parent in _ancestors(paragraph, parents):
            following = False
            for sibling in parent:
                if following and isinstance(sibling.tag, str):
                    self.change(sibling, "display: none", empty=True)
                following = following or sibling is child
            child = parent

    def change(self, element: Any, declarations: str, empty: bool = False) -> None:
        style = element.get("style")
        self.saved.append((element, "style", style, (element.text, list(element)) if empty else None))
        element.set("style", f"{style}; {declarations}" if style else declarations)
        if empty:
            self.hidden_ids |= {node.get("id") for node in element.iter() if node.get("id")}
            element.text = None
            for node in list(element):
                element.remove(node)

    def restore(self) -> None:
        for element, attribute, value, content in reversed(self.saved):
            if value is None:
                element.attrib.pop(attribute, None)
            else:
                element.set(attribute, value)
            if content is not None:
                element.text = content[0]
                element.extend(content[1])
        self.saved = []


def kept_files(previous: segments.Result, first: int, last: int) -> set[str]:
    """The previous layout's files that hold its pages [first, last)."""
    files, seen = set(), 0
    for prefix, start, stop in previous.pieces():
        if max(first, seen) < min(last, seen + stop - start):
            files.add(prefix)
        seen += stop - start
    return files
