"""Citations and the consolidated bibliography.

Every text's citations are rendered by pandoc's citeproc in the house CSL style (book.yaml `citation_style`, a file
in styles/csl/). Each text is processed on its own, so first (full) citations and *Ibid.* restart in every chapter.
Each rendered citation becomes a link to its bibliography entry and gets an id, so the bibliography — generated back
matter named `bibliography` — can say where each work is cited: chapters (linked) in every edition, and pages in
print. Editions and volumes of one work (the `x-work` field of references.yaml) are cross-noted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import cache
from pathlib import Path
from typing import Any

from anthology import pandoc, yamlfile
from anthology.ast import Node, clone, para, str_inlines, to_json, walk_structure
from anthology.diagnostics import BuildError, Collector, Diagnostic
from anthology.limits import inside
from anthology.model import Book, Chapter, CitationIndex, Generated, ResolvedBook, Text
from anthology.resolve.entries import print_entries, unbracket_note_citations
from anthology.safety import line_in

BIBLIOGRAPHY_FILE = "references.yaml"
BIBLIOGRAPHY_SLUG = "bibliography"
XREF_PREFIX = "xref:"
NOT_FOUND = re.compile(r"[Cc]itation (\S+) not found")
# What the citation audit (check/citations.py) flags in a resolved citation: its warning code, what it means
# and the hint an editor acts on.
AUDIT_FLAGS = {
    "no-work": ("W075", "a locator with no work", "give the entry a title (or an author) the note can print"),
    "assumed": (
        "W076",
        "a work resolved by assumption",
        "record the assumption as `x-assumed: <why>` in the entry (printed as '[edition assumed]')",
    ),
    "lost": ("W077", "a lost field", "add the field to the entry in references.yaml, or correct the alias"),
    "guess": (
        "W078",
        "a back-reference resolved by a guess",
        "add a `resolve` entry ({note, rule, key}) with its reason to the essay's alias table",
    ),
}


def csl_path(book: Book, styles_dir: Path) -> Path:
    """The house style's file; an unknown style is an error at its line in book.yaml."""
    name = book.config.citation_style
    own = book.root / "styles" / "csl" / f"{name}.csl"  # a book's own styles/ wins over the project's
    candidates = [(own, book.root), (styles_dir / "csl" / f"{name}.csl", styles_dir), (book.root / name, book.root)]
    for candidate, root in candidates:
        if candidate.is_file() and inside(candidate, root):  # never a file outside styles/ or the book folder
            return candidate
    known = ", ".join(sorted(p.stem for p in (styles_dir / "csl").glob("*.csl")))
    raise BuildError(
        [
            Diagnostic(
                "E071",
                f"unknown citation style '{name}'",
                file=book.config_document.path,
                line=book.config_document.line_of(("citation_style",)),
                hint=f"use one of: {known} (files in styles/csl/), or a .csl file path relative to the book folder",
            )
        ]
    )


def cite_keys(blocks: list[Node]) -> list[str]:
    """Bibliography keys cited in the blocks (cross-references, `@xref:…`, are not citations)."""
    return [
        citation["citationId"]
        for node in walk_structure(blocks)
        if node["t"] == "Cite"
        for citation in node["c"][0]
        if not citation["citationId"].startswith(XREF_PREFIX)
    ]


def citeproc_args(bibliography: Path, csl: Path, lang: str, suppress_bibliography: bool = False) -> list[str]:
    """pandoc's arguments for citeproc on a JSON AST, in the house style and the book's language."""
    args = [
        "--from",
        "json",
        "--to",
        "json",
        "--citeproc",
        f"--bibliography={bibliography}",
        f"--csl={csl}",
        f"--metadata=lang:{lang}",
    ]
    return [*args, "--metadata=suppress-bibliography:true"] if suppress_bibliography else args


def note_style(csl: Path) -> bool:
    """True for a note style (`class="note"`), whose citations in the running text become footnotes."""
    return note_class(csl.read_bytes()[:4000])


@cache
def note_class(start: bytes) -> bool:
    head = start.decode("utf-8", errors="replace")
    return re.search(r"<style\b[^>]*\bclass=\"note\"", head) is not None


def name_authors_in_notes(value: Any) -> None:
    """A citation of the running text that leaves out its author (`[-@key]`: the sentence names the author) gets
    the author back in a note style: the note stands apart from the sentence, and printed without the author it
    names a title alone. Inside an author's own note the sentence is beside it, so those are left as written."""
    if isinstance(value, list):
        for item in value:
            name_authors_in_notes(item)
    elif isinstance(value, dict) and value.get("t") != "Note":
        if value.get("t") == "Cite":
            for citation in value["c"][0]:
                if citation["citationMode"]["t"] == "SuppressAuthor":
                    citation["citationMode"] = {"t": "NormalCitation"}
        content = value.get("c")
        if isinstance(content, list):
            name_authors_in_notes(content)


def citing_blocks(blocks: list[Node]) -> list[int]:
    """Where the blocks citeproc must see are: those that hold a citation or a note. Notes count too: a note
    between two citations decides whether the second is 'Ibid.', and numbers the notes citations become."""
    return [
        position
        for position, block in enumerate(blocks)
        if any(node["t"] in ("Cite", "Note") for node in walk_structure(block))
    ]


def run_citeproc(ast: dict[str, Any], text: Text, bibliography: Path, csl: Path, lang: str) -> list[Node]:
    """The text's blocks with its citations rendered; an unknown key is an error at the line where the key is
    written. citeproc is given only the blocks it renders citations in or counts notes from (citing_blocks), in
    their order, and they are put back in their places: pandoc read and wrote the whole text before, for a few
    citations (four essays' runs took 0.86 CPU-s that way, 0.69 this way)."""
    blocks = ast["blocks"]
    positions = citing_blocks(blocks)
    rendered = citeproc_blocks(dict(ast, blocks=[blocks[p] for p in positions]), text, bibliography, csl, lang)
    if len(rendered) != len(positions):  # not seen: citeproc keeps a block for each it is given
        return citeproc_blocks(ast, text, bibliography, csl, lang)
    result = list(blocks)
    for position, block in zip(positions, rendered, strict=True):
        result[position] = block
    return result


def citeproc_blocks(ast: dict[str, Any], text: Text, bibliography: Path, csl: Path, lang: str) -> list[Node]:
    args = citeproc_args(bibliography, csl, lang, suppress_bibliography=True)
    try:
        return json.loads(pandoc.run(args, to_json(ast), source=text.path))["blocks"]
    except BuildError as error:
        raise BuildError([located(d, text) for d in error.diagnostics]) from None


def located(diagnostic: Diagnostic, text: Text) -> Diagnostic:
    match = NOT_FOUND.search(diagnostic.message)
    if not match:
        return diagnostic
    key = match[1]
    return Diagnostic(
        "E070",
        f"unknown citation key '@{key}'",
        file=text.path,
        line=line_in(text, f"@{key}"),
        hint=f"add an entry with id '{key}' to book/{BIBLIOGRAPHY_FILE}, or correct the key",
    )


def first_str(inlines: list[Node]) -> Node | None:
    """The first Str of inline content, looking inside formatting and nested citations."""
    for inline in inlines:
        if inline["t"] == "Str":
            return inline
        if inline["t"] in ("Emph", "Strong", "Span", "Cite", "Link", "SmallCaps", "Quoted"):
            content = inline["c"][-1] if inline["t"] in ("Span", "Cite", "Link", "Quoted") else inline["c"]
            if inline["t"] == "Link":
                content = inline["c"][1]
            found = first_str(content)
            if found is not None:
                return found
        if inline["t"] not in ("Space", "SoftBreak"):
            return None
    return None


def capitalise_note_openings(blocks: list[Node]) -> None:
    """A note that opens with a citation starts with a capital ("Ibid.", not "ibid."): citeproc capitalises the
    notes it makes itself, but not a citation inside an author's own footnote (pandoc issue #7110)."""
    for node in walk_structure(blocks):
        if node["t"] != "Note" or not node["c"] or node["c"][0]["t"] not in ("Para", "Plain"):
            continue
        inlines = node["c"][0]["c"]
        if not inlines or inlines[0]["t"] != "Cite":
            continue
        word = first_str(inlines[0]["c"][1])
        if word is not None and word["c"][:1].islower():
            word["c"] = word["c"][:1].upper() + word["c"][1:]


def link_citations(blocks: list[Node], slug: str, index: CitationIndex) -> None:
    """Each rendered citation links to its bibliography entry and carries an id for the entry's back-links; a
    citation of several works links each work's part to its own entry (ids `<slug>--cite-N`, `-N-2`, …)."""
    number = 0
    for node in walk_structure(blocks):
        if node["t"] != "Cite":
            continue
        keys = [c["citationId"] for c in node["c"][0] if not c["citationId"].startswith(XREF_PREFIX)]
        if not keys:
            continue
        number += 1
        ident = f"{slug}--cite-{number}"
        content = node["c"][1]
        if len(content) == 1 and content[0]["t"] == "Note":  # a note style: the citation is the note's text
            targets = wrap_first_paragraph(content[0]["c"], ident, keys)
        else:
            node["c"][1], targets = link_items(content, ident, keys)
        for key, target in targets:
            index.add(key, slug, target)


def entry_target(key: str) -> str:
    return f"#{BIBLIOGRAPHY_SLUG}--ref-{key}"


def link(ident: str, inlines: list[Node], target: str) -> Node:
    return {"t": "Link", "c": [[ident, ["citation"], []], inlines, [target, ""]]}


def item_parts(inlines: list[Node], count: int) -> list[list[Node]] | None:
    """The rendered citation cut into its works' parts at the style's "; " between them, the semicolons left out
    (a title's own semicolon is inside its quotation or emphasis, not a word of the citation's own); None when the
    cuts do not match the number of works."""
    cuts = [i for i, node in enumerate(inlines) if node["t"] == "Str" and node["c"].endswith(";")]
    if len(cuts) != count - 1:
        return None
    parts, start = [], 0
    for cut in cuts:
        head = inlines[cut]["c"][:-1]
        parts.append(inlines[start:cut] + ([{"t": "Str", "c": head}] if head else []))
        start = cut + 1
    return [*parts, inlines[start:]]


def link_items(inlines: list[Node], ident: str, keys: list[str]) -> tuple[list[Node], list[tuple[str, str]]]:
    """The citation's inlines with each work's part linked to that work's entry, and (key, link id) of each."""
    if len(keys) > 1 and len(inlines) == 1 and inlines[0]["t"] == "Span":  # citeproc's wrapper in an author's note
        attr, content = inlines[0]["c"]
        if item_parts(content, len(keys)) is not None:
            linked, targets = link_items(content, ident, keys)
            return [{"t": "Span", "c": [attr, linked]}], targets
    parts = item_parts(inlines, len(keys)) if len(keys) > 1 else None
    if parts is None:  # one work, or parts that cannot be told apart: one link, to the first work
        return [link(ident, inlines, entry_target(keys[0]))], [(key, ident) for key in dict.fromkeys(keys)]
    result: list[Node] = []
    targets = []
    for number, (key, part) in enumerate(zip(keys, parts, strict=True)):
        part_ident = ident if number == 0 else f"{ident}-{number + 1}"
        lead = 0
        while lead < len(part) and part[lead]["t"] in ("Space", "SoftBreak"):
            lead += 1
        result += [{"t": "Str", "c": ";"}] if number else []
        result += [*part[:lead], link(part_ident, part[lead:], entry_target(key))]
        targets.append((key, part_ident))
    return result, targets


def wrap_first_paragraph(blocks: list[Node], ident: str, keys: list[str]) -> list[tuple[str, str]]:
    """Link the rendered citation inside its note (a link around the note call would nest links)."""
    for block in blocks:
        if block["t"] in ("Para", "Plain"):
            inlines = block["c"]
            end = len(inlines) - 1 if inlines and inlines[-1] == {"t": "Str", "c": "."} else len(inlines)
            linked, targets = link_items(inlines[:end], ident, keys)
            block["c"] = [*linked, *inlines[end:]]
            return targets
    return [(key, ident) for key in dict.fromkeys(keys)]


def load_entries(path: Path) -> dict[str, dict[str, Any]]:
    """The works of references.yaml by id; a key given twice in it is an error (E004), as in every YAML file the
    book holds, not a silent choice of the last. Kept by the file's content, not its name: the preview (serve)
    resolves the book again after each edit, references.yaml's included."""
    return entries_of(path, hashlib.sha256(path.read_bytes()).digest())


@cache
def entries_of(path: Path, digest: bytes) -> dict[str, dict[str, Any]]:
    data = yamlfile.load_yaml(path).data or {}
    return {item["id"]: item for item in data.get("references", [])}


def bibliography_file(book: Book) -> Path:
    return book.root / BIBLIOGRAPHY_FILE


def process_citations(
    items: list[tuple[Text, dict[str, Any]]],
    book: Book,
    styles_dir: Path,
    then: Callable[[Text, dict[str, Any]], None],
) -> CitationIndex:
    """Render citations in every text that has any; report every text's problems together.

    `then(text, ast)` is called on each text once its citations are rendered and linked, as soon as they are (the
    texts without citations first): the caller's work on the texts is done while the citeproc runs of others go
    on (an edited essay's takes half a second). The places of the index are in reading order all the same."""
    index = CitationIndex()
    collector = Collector()
    cites = [bool(cite_keys(ast["blocks"])) for _, ast in items]
    cited = [item for item, citing in zip(items, cites, strict=True) if citing]
    if not cited:
        for text, ast in items:
            then(text, ast)
        return index
    bibliography = bibliography_file(book)
    if not bibliography.is_file():
        text, ast = cited[0]
        key = cite_keys(ast["blocks"])[0]
        raise BuildError(
            [
                Diagnostic(
                    "E072",
                    f"'@{key}' is cited but the book has no {BIBLIOGRAPHY_FILE}",
                    file=text.path,
                    line=line_in(text, f"@{key}"),
                    hint=f"create book/{BIBLIOGRAPHY_FILE} (CSL-YAML: a 'references:' list)",
                )
            ]
        )
    csl = csl_path(book, styles_dir)
    if any(text.slug == BIBLIOGRAPHY_SLUG and text.kind == "generated" for text in book.texts):
        # The bibliography's citeproc run, which the resolve stage waits for at its end, runs beside the texts'
        # (the cores are not all busy while theirs run): the works the texts cite are known before their citations.
        keys = sorted({key for _, ast in cited for key in cite_keys(ast["blocks"])})
        beside = ThreadPoolExecutor(1)
        index.references = (keys, beside.submit(render_references, book, csl, keys))
        beside.shutdown(wait=False)
    if note_style(csl):
        for _, ast in cited:
            name_authors_in_notes(ast["blocks"])
    linked = [CitationIndex() for _ in cited]  # each text's places, joined in reading order
    failed: dict[int, BuildError] = {}  # by position in `cited`
    with ThreadPoolExecutor(max_workers=pandoc.PROCESSES) as pool:
        runs = {
            pool.submit(run_citeproc, ast, text, bibliography, csl, book.config.lang): position
            for position, (text, ast) in longest_first(cited)
        }
        for (text, ast), citing in zip(items, cites, strict=True):
            if not citing:
                then(text, ast)
        for run in as_completed(runs):
            position = runs[run]
            text, ast = cited[position]
            try:
                ast["blocks"] = run.result()
            except BuildError as error:
                failed[position] = error
                continue
            capitalise_note_openings(ast["blocks"])
            if note_style(csl):
                unbracket_note_citations(ast["blocks"])
            link_citations(ast["blocks"], text.slug, linked[position])
            then(text, ast)
    for position in sorted(failed):
        collector.items.extend(failed[position].diagnostics)
    collector.raise_if_errors()
    for places in linked:
        index.extend(places)
    return index


def longest_first(cited: list[tuple[Text, dict[str, Any]]]) -> list[tuple[int, tuple[Text, dict[str, Any]]]]:
    """The texts with their positions, the longest first: its citeproc run takes longest, and so starts at once."""
    return sorted(enumerate(cited), key=lambda item: -len(item[1][0].body))


def text_label(text: Text) -> str:
    return f"Chapter {text.number}" if isinstance(text, Chapter) else text.title


def owner_label(book: Book, slug: str) -> str:
    """Headnotes are cited under their chapter's label, as they are printed with it."""
    for chapter in book.chapters:
        if slug in (chapter.slug, chapter.headnote.slug if chapter.headnote else None):
            return text_label(chapter)
    return next((text_label(t) for t in book.texts if t.slug == slug), slug)


def cited_in(book: Book, places: list[tuple[str, str]], pages: dict[str, int] | None) -> list[Node]:
    """'Cited in Chapter 1, Chapter 3' (linked), with the pages in print: 'Chapter 1 (pp. 12, 15)'."""
    groups: dict[str, list[str]] = {}
    for slug, ident in places:
        groups.setdefault(owner_label(book, slug), []).append(ident)
    inlines: list[Node] = str_inlines("Cited in")
    for number, (label, idents) in enumerate(groups.items()):
        inlines += [{"t": "Str", "c": "," if number else ""}, {"t": "Space"}] if number else [{"t": "Space"}]
        text = label
        if pages is not None:  # plain text, not held open (ast.page_number): their count changes the wording
            numbers = sorted({pages[i] for i in idents if i in pages})
            if numbers:
                text += f" ({'p' if len(numbers) == 1 else 'pp'}. {', '.join(map(str, numbers))})"
        inlines.append({"t": "Link", "c": [["", ["cited-in"], []], str_inlines(text), [f"#{idents[0]}", ""]]})
    inlines.append({"t": "Str", "c": "."})
    return [para(inlines)]


def other_editions(key: str, entries: dict[str, dict[str, Any]], cited: set[str]) -> list[Node]:
    work = entries.get(key, {}).get("x-work")
    siblings = [k for k, item in entries.items() if k != key and k in cited and work and item.get("x-work") == work]
    if not siblings:
        return []
    labels = {}  # one link per label: two entries of one volume ("vol. 27") are one volume to the reader
    for sibling in siblings:
        labels.setdefault(describe(entries[sibling]), sibling)
    inlines: list[Node] = str_inlines("Other editions or volumes of this work:")
    for number, (label, sibling) in enumerate(labels.items()):
        inlines += [{"t": "Str", "c": ";"}] if number else []
        inlines += [
            {"t": "Space"},
            {
                "t": "Link",
                "c": [["", ["edition"], []], str_inlines(label), [f"#{BIBLIOGRAPHY_SLUG}--ref-{sibling}", ""]],
            },
        ]
    return [para([*inlines, {"t": "Str", "c": "."}])]


def describe(item: dict[str, Any]) -> str:
    """A short identification of an edition: volume, publisher and year, as far as the entry gives them; a part
    of the work (a chapter) by its title and volume."""
    if item.get("type") == "chapter" and item.get("title"):
        volume = f" (vol. {item['volume']})" if item.get("volume") else ""
        return f"\u201c{item['title']}\u201d{volume}"
    parts = [
        f"vol. {item['volume']}" if item.get("volume") else "",
        item.get("publisher", ""),
        str(item.get("issued", "")),
    ]
    return ", ".join(part for part in parts if part) or item.get("title", item["id"])


def entry_key(node: Node) -> str | None:
    ident = node["c"][0][0]
    prefix = f"{BIBLIOGRAPHY_SLUG}--ref-"
    return ident[len(prefix) :] if ident.startswith(prefix) else None


def references_document(keys: list[str]) -> dict[str, Any]:
    """A document that cites every key and prints nothing else: citeproc's reference list of those works."""
    citations = [
        {
            "t": "Cite",
            "c": [
                [
                    {
                        "citationId": key,
                        "citationPrefix": [],
                        "citationSuffix": [],
                        "citationMode": {"t": "NormalCitation"},
                        "citationNoteNum": 0,
                        "citationHash": 0,
                    }
                ],
                [],
            ],
        }
        for key in keys
    ]
    return {
        "pandoc-api-version": pandoc.API_VERSION,
        "blocks": [{"t": "Div", "c": [["refs", [], []], []]}],
        "meta": {"nocite": {"t": "MetaInlines", "c": citations}},
    }


def render_references(book: Book, csl: Path, keys: list[str]) -> str:
    """The works of `keys` in the house style, as citeproc lists them: pandoc's JSON (one run)."""
    args = citeproc_args(bibliography_file(book), csl, book.config.lang)
    document = to_json(references_document(keys))
    return pandoc.run(args, document, source=bibliography_file(book))


def make_bibliography(resolved: ResolvedBook, slug: str) -> Generated:
    """All works cited anywhere in the book, in the house style, each with where it is cited."""
    book = resolved.book
    index = resolved.citations
    if not index.places:
        return Generated([para(str_inlines("No works are cited in this book."))])
    entries = load_entries(bibliography_file(book))
    keys = sorted(index.places)
    if index.references is not None and index.references[0] == keys:
        rendered = index.references[1].result()
    else:  # the rendered citations name other works than the texts' keys (not seen so far): rendered now
        rendered = render_references(book, csl_path(book, resolved.styles_dir), keys)
    blocks = json.loads(rendered)["blocks"]
    for node in walk_structure(blocks):
        if node["t"] in ("Div", "Span") and node["c"][0][0]:
            node["c"][0][0] = f"{slug}--{node['c'][0][0]}"
    print_entries(blocks, f"{slug}--ref-", entries)

    def with_places(pages: dict[str, int] | None) -> list[Node]:
        result = clone(blocks)
        cited = set(index.places)
        for node in walk_structure(result):
            if node["t"] == "Div" and (key := entry_key(node)) is not None:
                node["c"][1] += other_editions(key, entries, cited) + cited_in(book, index.places[key], pages)
        return result

    return Generated(with_places(None), print_override=with_places)


def bibliography_warnings(book: Book, index: CitationIndex) -> Collector:
    """Entries cited nowhere, and entries that look like the same work twice (same author, title and year)."""
    collector = Collector()
    path = bibliography_file(book)
    if not path.is_file():
        return collector
    entries = load_entries(path)
    lines = path.read_text(encoding="utf-8").splitlines()

    def line_of(key: str) -> int | None:
        return next((n for n, text in enumerate(lines, 1) if re.search(rf"id:\s*{re.escape(key)}\s*$", text)), None)

    for key in sorted(set(entries) - set(index.places)):
        collector.warning(
            "W073",
            f"bibliography entry '{key}' is cited nowhere",
            file=path,
            line=line_of(key),
            hint="cite it, or remove it from the bibliography",
        )
    for key, item in entries.items():
        if key in index.places and not str(item.get("title") or "").strip():
            collector.warning(
                "W079",
                f"bibliography entry '{key}' has no title: the bibliography would list it by author or date alone",
                file=path,
                line=line_of(key),
                hint="give it the title the source names (or, for a periodical issue, its name and number)",
            )
    seen: dict[tuple[str, str, str, str], str] = {}
    for key, item in entries.items():
        authors = "; ".join(a.get("family", a.get("literal", "")) for a in item.get("author", []))
        signature = (
            authors.lower(),
            str(item.get("title", "")).lower(),
            str(item.get("volume", "")),
            str(item.get("issued", "")),
        )
        if signature in seen:
            collector.warning(
                "W074",
                f"entries '{seen[signature]}' and '{key}' look like the same work",
                file=path,
                line=line_of(key),
                hint="merge them, or make their fields tell them apart",
            )
        seen[signature] = key
    return collector
