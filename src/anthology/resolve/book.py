"""Resolve stage: every text parsed to a pandoc AST, ids made unique across the whole book, sections collected.

Nothing is rendered before the whole book is resolved, so all three editions are built from the same trees.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from anthology import pandoc
from anthology.ast import attr_of, stringify, walk_structure
from anthology.diagnostics import BuildError, Collector, Diagnostic
from anthology.model import Book, ResolvedBook, ResolvedText, Section, Text, book_id
from anthology.policy import check_made_links
from anthology.resolve import crossref, indexing
from anthology.resolve.bibliography import bibliography_file, process_citations
from anthology.resolve.generated import GENERATORS
from anthology.safety import check_source, check_text

PANDOC_API_VERSION = [1, 23, 1, 1]  # pandoc 3.9's AST version, for generated texts


def prefix_ids(ast: dict[str, Any], slug: str) -> None:
    """Prefix every id and every in-text link target with the text's slug."""
    for node in walk_structure(ast["blocks"]):
        attr = attr_of(node)
        if attr is not None and attr[0]:
            attr[0] = book_id(slug, attr[0])
        if node["t"] == "Link":
            target = node["c"][2]
            if target[0].startswith("#") and len(target[0]) > 1:
                target[0] = "#" + book_id(slug, target[0][1:])


def collect_sections(ast: dict[str, Any]) -> list[Section]:
    return [
        Section(node["c"][0], node["c"][1][0], stringify(node["c"][2]))
        for node in walk_structure(ast["blocks"])
        if node["t"] == "Header"
    ]


DUPLICATE_ID = re.compile(r"Duplicate identifier '([^']+)'")


def relocate_duplicate_ids(error: BuildError, text: Text) -> BuildError:
    """pandoc places a duplicate id after the element; point instead at the line that repeats the explicit id."""
    fixed = []
    for diagnostic in error.diagnostics:
        match = DUPLICATE_ID.search(diagnostic.message)
        lines = [n for n, line in enumerate(text.body.split("\n")) if match and f"#{match[1]}" in line]
        if match and len(lines) > 1:
            diagnostic = replace(diagnostic, line=text.body_line + lines[1], column=None)
        fixed.append(diagnostic)
    return BuildError(fixed)


def resolve_text(text: Text, book_dir: Path) -> ResolvedText:
    check_source(text).raise_if_errors()
    try:
        ast = pandoc.markdown_to_ast(text.body, source=text.path, line_offset=text.body_line - 1)
    except BuildError as error:
        raise relocate_duplicate_ids(error, text) from None
    check_text(ast, text, book_dir).raise_if_errors()
    prefix_ids(ast, text.slug)
    return ResolvedText(text, ast, collect_sections(ast))


def resolve_book(book: Book, styles_dir: Path, loaded: Collector | None = None) -> ResolvedBook:
    """Parse all texts (in parallel: each is a pandoc process) and report every text's problems together.

    `loaded`: the load stage's problems, when the book is the part of it that loaded (load.load_book_partly). Each
    step goes on past the problems of the step before with what is sound (the texts that parsed; references and
    citations that resolved), so that one run reports every problem found before the layout."""
    collector = Collector(list(loaded.items) if loaded is not None else [])
    resolved: dict[str, ResolvedText] = {}
    texts = [text for text in book.texts if text.kind != "generated"]
    # The longest texts first: an edited essay's parse (half a second of pandoc) starts at once, and the other
    # texts, read from the cache, are done while it runs.
    longest_first = sorted(texts, key=lambda text: -len(text.body))
    calls = pandoc.each_at_once(lambda t: resolve_text(t, book.root), longest_first)
    parsed = {text.slug: call for text, call in zip(longest_first, calls, strict=True)}
    for text in texts:
        try:
            resolved[text.slug] = parsed[text.slug].result()
        except BuildError as error:
            collector.items.extend(error.diagnostics)
    result = ResolvedBook(book, resolved, styles_dir=styles_dir)
    # Cross-references before any citeproc step (which must never see an xref key: a reference that does not
    # resolve is dropped from its text), and before the index is marked (so an index marker never lands inside a
    # cross-reference's link text).
    references = Collector()
    crossref.resolve_xrefs(result, references)
    unresolved = unresolved_texts(book, resolved)
    collector.items.extend(d for d in references.items if consequence_of(d, unresolved) is None)
    # Citations after cross-references (citeproc must never see an xref key) and before the index is marked: each
    # text is marked as soon as its citations are rendered, while the other texts' citeproc runs go on.
    marker = indexing.book_marker(result, collector)
    items = [(item.text, item.ast) for item in result.texts.values()]
    try:
        result.citations = process_citations(items, book, styles_dir, then=marker.mark if marker else lambda *_: None)
    except BuildError as error:
        collector.items.extend(error.diagnostics)
    if collector.errors:  # the book cannot be built: the index's problems in the texts marked join the others
        if marker is not None and marker.spec is not None:
            collector.items.extend(problem for _marks, found in marker.marked.values() for problem in found.items)
        raise_all(collector)
    # Notes are named by their printed numbers, which citeproc may have changed. (Marking left alone the words of
    # the references it relabels: they are a link's.)
    crossref.number_notes(result)
    if marker is not None:
        marker.finish(result)
    raise_all(collector)
    generate_texts(result)
    check_made_links([item.ast for item in result.texts.values()], bibliography_file(book), collector)
    raise_all(collector)
    result.texts = {text.slug: result.texts[text.slug] for text in book.texts}  # reading order
    return result


def unresolved_texts(book: Book, resolved: dict[str, ResolvedText]) -> set[str]:
    """The texts book.yaml lists that are not resolved: they failed to load or to parse (their problems are
    reported already)."""
    listed = {*book.config.chapter_slugs, *book.config.front, *book.config.back}
    listed |= {text.slug for text in book.texts if text.kind != "generated"}
    return listed - set(resolved) - {text.slug for text in book.texts if text.kind == "generated"}


UNRESOLVED_REFERENCE = re.compile(rf"^cross-reference '@{re.escape(crossref.PREFIX)}([^'#]+)")


def consequence_of(diagnostic: Diagnostic, unresolved: set[str]) -> str | None:
    """The text whose failure (to load or to parse) alone makes this cross-reference dangling, if it is one: a
    reference to that text, or to an id in it. Not reported: the text's own problems are, and its ids are known
    once they are fixed."""
    match = UNRESOLVED_REFERENCE.match(diagnostic.message) if diagnostic.code == "E075" else None
    return match[1] if match and match[1] in unresolved else None


def raise_all(collector: Collector) -> None:
    """Stop with every problem found, once each, by file and line (the book's own problems first)."""
    if not collector.errors:
        return
    unique = list(dict.fromkeys(collector.items))
    unique.sort(key=lambda d: (d.file is not None, str(d.file or ""), d.line or 0, d.column or 0))
    raise BuildError(unique)


def generate_texts(resolved: ResolvedBook) -> None:
    """Generated matter is made last, from the whole resolved book."""
    for text in resolved.book.texts:
        if text.kind != "generated":
            continue
        generated = GENERATORS[text.slug](resolved, text.slug)
        ast = {"pandoc-api-version": PANDOC_API_VERSION, "meta": {}, "blocks": generated.blocks}
        resolved.texts[text.slug] = ResolvedText(text, ast, collect_sections(ast))
        if generated.print_override is not None:
            resolved.print_overrides[text.slug] = generated.print_override
