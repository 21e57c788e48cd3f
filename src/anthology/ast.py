"""Small helpers for pandoc's JSON AST: walk it, build nodes, read text. Documents are edited as trees, never as
serialized markup."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

Node = dict[str, Any]

# Elements whose 'c' starts with (or is) an Attr [id, classes, keyvals], and where the Attr sits in 'c'.
ATTR_POSITION = {
    "Header": 1,
    "Div": 0,
    "Span": 0,
    "CodeBlock": 0,
    "Code": 0,
    "Table": 0,
    "Figure": 0,
    "Image": 0,
    "Link": 0,
}


def walk(value: Any) -> Iterator[Node]:
    """Every AST element (a dict with 't') in document order, depth first.

    With an explicit stack: nested generators cost a step per level for every element, and the book's ASTs are
    walked many times. An element's children (its 'c') are read after it is yielded, so a caller may still replace
    them."""
    return _walk(value, containers)


def walk_structure(value: Any) -> Iterator[Node]:
    """walk without the word-level elements (WORDS): the same elements otherwise, in the same order, for a pass
    that never looks at words. Three times as fast as walk: a word is never pushed, popped or yielded."""
    return _walk(value, structure)


def _walk(value: Any, enter: Callable[[list[Any]], list[Any]]) -> Iterator[Node]:
    """The elements depth first; `enter` gives the children to go into, reversed for the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            if "t" in item:
                yield item
                content = item.get("c")
                if type(content) is list:
                    stack.extend(enter(content))
                elif type(content) is dict:
                    stack.append(content)
                continue
            children = list(item.values())
        else:
            children = item
        stack.extend(enter(children))


CONTAINERS = (dict, list)
# Word-level elements: no id, no attributes, no children. They are nearly all of a text's elements (112,000 of
# 115,000 in this book), and most passes look for something else: notes, citations, links, ids.
WORDS = frozenset({"Str", "Space", "SoftBreak", "LineBreak"})


def containers(children: list[Any]) -> list[Any]:
    """The children a walk enters, reversed for its stack: every dict and list."""
    return [child for child in reversed(children) if type(child) in CONTAINERS]


def structure(children: list[Any]) -> list[Any]:
    """The children a walk_structure enters, reversed for its stack: containers that are not words."""
    return [
        child
        for child in reversed(children)
        if (type(child) is dict and child.get("t") not in WORDS) or type(child) is list
    ]


def to_json(value: Any) -> bytes:
    """An AST as JSON for pandoc: orjson writes a book's trees in a sixth of the time the json module takes
    (9 ms against 54 ms for the anthology's texts), and each build writes them several times (print, site,
    citations; not the EPUB's, see epub.Draft.serialised)."""
    return orjson.dumps(value)


def clone(value: Any) -> Any:
    """A private copy of an AST (pure JSON): a JSON round trip copies a book's trees in a fraction of the time
    copy.deepcopy takes (with orjson, 81 ms against the json module's 141 ms for the anthology's texts)."""
    return orjson.loads(orjson.dumps(value))


def attr_of(node: Node) -> list[Any] | None:
    position = ATTR_POSITION.get(node["t"])
    if position is None:
        return None
    return node["c"][position]


def replace_lists(value: Any, fn: Callable[[list[Any]], list[Any]]) -> Any:
    """Every list of elements passed through fn bottom-up (to replace or expand elements), without copying what
    fn leaves alone: fn returns the list it was given when it changes nothing, and only the lists it changes, and
    the lists and dicts that hold them, are new. The rest is shared with `value`, so neither may be changed in
    place afterwards. Words (WORDS) hold no list, and are not entered: the anthology's print footnotes took 160 ms
    when every list and dict was rebuilt, 30 ms this way."""
    if type(value) is dict:
        copy = None
        for key, child in value.items():
            if type(child) is dict or type(child) is list:
                new = replace_lists(child, fn)
                if new is not child:
                    if copy is None:
                        copy = dict(value)
                    copy[key] = new
        return value if copy is None else copy
    if type(value) is not list:
        return value
    items = value
    elements = True  # every item an element (a dict with 't')
    for index, child in enumerate(value):
        if type(child) is dict:
            if "t" not in child:
                elements = False
            elif child["t"] in WORDS:
                continue
        else:
            elements = False
            if type(child) is not list:
                continue
        new = replace_lists(child, fn)
        if new is not child:
            if items is value:
                items = list(value)
            items[index] = new
    return fn(items) if items and elements else items


def rewrite_lists(value: Any, fn: Callable[[list[Any]], list[Any]]) -> None:
    """replace_lists in place, for a tree its caller owns: copying every list and dict of a book's trees took
    a large part of the resolve stage. Words (WORDS) hold no list, and are not entered."""
    if type(value) is dict:
        for child in value.values():
            if type(child) is dict or type(child) is list:
                rewrite_lists(child, fn)
    elif type(value) is list:
        elements = True  # every item an element (a dict with 't')
        for child in value:
            if type(child) is dict:
                if "t" not in child:
                    elements = False
                    rewrite_lists(child, fn)
                elif child["t"] not in WORDS:
                    rewrite_lists(child, fn)
            else:
                elements = False
                if type(child) is list:
                    rewrite_lists(child, fn)
        if value and elements:
            value[:] = fn(value)


def stringify(value: Any) -> str:
    """Plain text of inlines or blocks, as pandoc's stringify would give it."""
    parts: list[str] = []

    def visit(item: Any) -> None:
        if isinstance(item, list):
            for child in item:
                visit(child)
            return
        if not isinstance(item, dict) or "t" not in item:
            return
        kind = item["t"]
        if kind == "Str":
            parts.append(item["c"])
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            parts.append(" ")
        elif kind in ("Code", "Math"):
            parts.append(item["c"][1])
        elif kind == "Note":
            return
        elif kind in ("Para", "Plain", "Header") and parts and not parts[-1].endswith(" "):
            parts.append(" ")
            visit(item.get("c"))
        else:
            visit(item.get("c"))

    visit(value)
    return "".join(parts).strip()


def str_inlines(text: str) -> list[Node]:
    """Inlines for plain text: words as Str, gaps as Space."""
    inlines: list[Node] = []
    for index, word in enumerate(text.split()):
        if index:
            inlines.append({"t": "Space"})
        inlines.append({"t": "Str", "c": word})
    return inlines


def span(inlines: list[Node], ident: str = "", classes: list[str] | None = None) -> Node:
    return {"t": "Span", "c": [[ident, classes or [], []], inlines]}


# Where a page number goes in a label built as text; page_number() puts the number in.
PAGE_SLOT = "\x00"
PAGE_NUMBER_CLASS = "pnum"


def page_number(inlines: list[Node], page: int) -> list[Node]:
    """The inlines with PAGE_SLOT replaced by the page number in its own span (class pnum): the print layout keeps
    the number's place and prints it once every page is known (render/print/pdf.py)."""
    out: list[Node] = []
    for node in inlines:
        if node["t"] != "Str" or PAGE_SLOT not in node["c"]:
            out.append(node)
            continue
        before, after = node["c"].split(PAGE_SLOT, 1)
        out += [{"t": "Str", "c": before}] if before else []
        out.append(span([{"t": "Str", "c": str(page)}], classes=[PAGE_NUMBER_CLASS]))
        out += [{"t": "Str", "c": after}] if after else []
    return out


def div(blocks: list[Node], ident: str = "", classes: list[str] | None = None) -> Node:
    return {"t": "Div", "c": [[ident, classes or [], []], blocks]}


def header(level: int, inlines: list[Node], ident: str = "", classes: list[str] | None = None) -> Node:
    return {"t": "Header", "c": [level, [ident, classes or [], []], inlines]}


def para(inlines: list[Node]) -> Node:
    return {"t": "Para", "c": inlines}


def raw_block(fmt: str, text: str) -> Node:
    return {"t": "RawBlock", "c": [fmt, text]}
