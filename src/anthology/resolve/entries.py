"""What the bibliography's entries and the notes' citations print beyond citeproc's rendering (issue 30).

citeproc renders each entry from its CSL fields alone. Three things a reader needs are not CSL fields, and one
rendering of pandoc's is not the source's:

- an entry attached to an edition by assumption (`x-assumed` in references.yaml: why) is marked "[edition
  assumed]", so the assumption reaches print;
- an author statement the source ends with "et al." (`x-et-al: true`) keeps it: the other names are not known,
  and CSL prints "et al." only for names it has;
- an entry without an author sorts by its title among the authors' names (Chicago), not before them all;
- a citation in the running prose of an author's own note is printed as the author wrote it, without the
  parentheses pandoc adds around a citation that does not open a note.
"""

from __future__ import annotations

import re
from typing import Any

from anthology.ast import Node, stringify

ASSUMED_MARK = "[edition assumed]"
_SUBSTITUTE = "\u2014\u2014\u2014"  # the style's subsequent-author-substitute: the author of the entry before


def entry_divs(blocks: list[Node], prefix: str) -> tuple[list[Node] | None, list[tuple[str, Node]]]:
    """The list holding the entries (the refs Div's blocks) and each entry Div with its key."""
    for block in blocks:
        if block["t"] == "Div":
            children = block["c"][1]
            found = [
                (child["c"][0][0][len(prefix) :], child)
                for child in children
                if child["t"] == "Div" and child["c"][0][0].startswith(prefix)
            ]
            if found:
                return children, found
    return None, []


def mark_assumed(entry: Node, item: dict[str, Any]) -> None:
    """'[edition assumed]' after an entry whose edition (or author) the sources do not state."""
    why = item.get("x-assumed")
    if not (isinstance(why, str) and why.strip()):
        return
    for block in entry["c"][1]:
        if block["t"] in ("Para", "Plain"):
            words = ASSUMED_MARK.split(" ")
            block["c"] += [{"t": "Space"}, {"t": "Str", "c": words[0]}, {"t": "Space"}, {"t": "Str", "c": words[1]}]
            return


def add_et_al(entry: Node, item: dict[str, Any]) -> None:
    """'et al.' after the first name of the author statement the source ends so: `x-et-al: true` for the authors
    (inverted first name: "Le Blanc, Paul, et al."), `x-et-al: container-author` for the book a chapter is in
    ("edited by Paul Le Blanc et al.")."""
    role = item.get("x-et-al")
    if role is True:
        people, inverted = item.get("author") or item.get("editor") or [], True
    elif role == "container-author":
        people, inverted = item.get("container-author") or [], False
    else:
        return
    if not people:
        return
    first = people[0]
    name = str((first.get("given") if inverted else None) or first.get("family") or first.get("literal") or "")
    last_word = name.split(" ")[-1]
    for block in entry["c"][1]:
        if block["t"] not in ("Para", "Plain"):
            continue
        for position, node in enumerate(block["c"]):
            if node["t"] == "Str" and node["c"] in (f"{last_word}.", f"{last_word},"):
                stop = node["c"][-1]
                words = [f"{last_word},", "et", f"al.{',' if stop == ',' else ''}"] if inverted else []
                words = words or [last_word, "et", f"al.{',' if stop == ',' else ''}"]
                replacement: list[Node] = []
                for word in words:
                    replacement += [{"t": "Space"}, {"t": "Str", "c": word}] if replacement else [word_node(word)]
                block["c"][position : position + 1] = replacement
                return
        return


def word_node(word: str) -> Node:
    return {"t": "Str", "c": word}


def sort_key(printed: str) -> str:
    """An entry's place: its printed words, which open with the author (or editor) and then the title, or with the
    title when it has neither; an opening article and quotation marks are passed over, as Chicago does."""
    text = re.sub(r"^[\W_]+", "", printed.lower())
    return re.sub(r"^(?:the|a|an)\s+", "", text)


def sort_entries(children: list[Node], found: list[tuple[str, Node]]) -> None:
    """Entries in author, then title order. citeproc sorts an entry without an author before all the others; an
    author's later entries (printed with a dash for the name) stay with their first, in citeproc's order."""
    runs: list[list[Node]] = []
    for _key, entry in found:
        if runs and stringify(entry["c"][1]).startswith(_SUBSTITUTE):
            runs[-1].append(entry)
        else:
            runs.append([entry])
    runs.sort(key=lambda run: sort_key(stringify(run[0]["c"][1][:1])))
    others = [child for child in children if all(child is not entry for _, entry in found)]
    children[:] = others + [entry for run in runs for entry in run]


def print_entries(blocks: list[Node], prefix: str, entries: dict[str, dict[str, Any]]) -> None:
    """The entries as the bibliography prints them: sorted, with 'et al.' and '[edition assumed]' where due."""
    children, found = entry_divs(blocks, prefix)
    if children is None:
        return
    for key, entry in found:
        item = entries.get(key, {})
        add_et_al(entry, item)
        mark_assumed(entry, item)
    sort_entries(children, found)


def unbracket_note_citations(value: Any, in_note: bool = False) -> None:
    """A citation in the prose of an author's note loses the parentheses pandoc adds around it: the source wrote
    it in the sentence ("… cited in L. Trotsky, The Third International After Lenin, p. 36")."""
    if isinstance(value, list):
        for item in value:
            unbracket_note_citations(item, in_note)
        return
    if not isinstance(value, dict) or "t" not in value:
        return
    if value["t"] == "Cite":
        inlines = value["c"][1]
        if len(inlines) == 1 and inlines[0]["t"] == "Note":
            return  # a citation that is a note of its own
        if in_note and inlines and inlines[0]["t"] == "Str" and inlines[-1]["t"] == "Str":
            first, last = inlines[0], inlines[-1]
            if first["c"].startswith("(") and last["c"].endswith(")") and (first is not last or len(first["c"]) > 1):
                first["c"] = first["c"][1:]
                last["c"] = last["c"][:-1]
                inlines[:] = [node for node in inlines if not (node["t"] == "Str" and node["c"] == "")]
        return
    content = value.get("c")
    if isinstance(content, list):
        unbracket_note_citations(content, in_note or value["t"] == "Note")
