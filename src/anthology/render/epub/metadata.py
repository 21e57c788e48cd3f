"""The package document's bibliographic metadata, written here rather than by pandoc: pandoc's writer gives the
book two dc:titles (EPUBCheck named the book by its subtitle), lists the essays' authors as contributors and the
editors as creators (retailers and `ebook-meta` showed the book as by its editors), writes unknown values ("not
stated") into machine-readable fields and takes no sort keys.

What a field's value is not known for is left out. Sort keys (`file-as`) come from the data only: book.yaml's
`title_sort` and `name_sort`, else a name's family and given parts as references.yaml records them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from lxml import etree

if TYPE_CHECKING:
    from anthology.model import ResolvedBook

OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
NS = {"opf": OPF, "dc": DC}
UNKNOWN = {"", "not stated", "unknown"}
# What this module writes: pandoc's own elements of these kinds (and the metas refining them) are taken out first.
REPLACED = ("title", "creator", "contributor", "publisher", "rights", "description", "subject", "source", "date")
CSL_PEOPLE = ("author", "editor", "translator", "container-author", "collection-editor")


def known(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in UNKNOWN


def full_title(resolved: ResolvedBook) -> str:
    config = resolved.book.config
    return f"{config.title}: {config.subtitle}" if config.subtitle else config.title


def authors(resolved: ResolvedBook) -> list[str]:
    """The essays' named authors, once each, in reading order."""
    names: list[str] = []
    for chapter in resolved.book.chapters:
        names += [name for name in chapter.chapter_meta.authors if name not in names]
    return names


def reference_sort_names(root: Path) -> dict[str, str]:
    """'Forename Surname' → 'Surname, Forename' for every person references.yaml names by family and given name."""
    path = root / "references.yaml"
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, yaml.YAMLError):  # the load stage has read it already; a book without one has no names
        return {}
    if isinstance(items, dict):  # CSL YAML: the list under `references:`
        items = items.get("references")
    names: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        for key in CSL_PEOPLE:
            people = item.get(key) if isinstance(item, dict) else None
            for person in people if isinstance(people, list) else []:
                if isinstance(person, dict) and person.get("family") and person.get("given"):
                    family, given = str(person["family"]), str(person["given"])
                    names.setdefault(f"{given} {family}", f"{family}, {given}")
    return names


def sort_names(resolved: ResolvedBook) -> dict[str, str]:
    return {**reference_sort_names(resolved.book.root), **resolved.book.config.name_sort}


def rights(resolved: ResolvedBook) -> str | None:
    """The rights each essay's source states; None when no source states any."""
    stated = [
        f"“{chapter.title}”: {chapter.chapter_meta.rights}"
        for chapter in resolved.book.chapters
        if known(chapter.chapter_meta.rights)
    ]
    return "; ".join(stated) or None


def modified(resolved: ResolvedBook, epoch: int) -> str:
    """dcterms:modified: the build's timestamp, never before the publication date book.yaml gives."""
    parts = [int(piece) for piece in resolved.book.config.date.split("-")] + [1, 1]
    published = int(datetime(parts[0], parts[1], parts[2], tzinfo=UTC).timestamp())
    return datetime.fromtimestamp(max(epoch, published), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Writer:
    """Appends metadata elements after the identifier, each refined by metas that follow it."""

    def __init__(self, metadata: etree._Element):
        self.metadata, self.count = metadata, 0
        anchor = metadata.find(f"{{{DC}}}identifier")
        self.position = (list(metadata).index(anchor) + 1) if anchor is not None else 0
        while self.position < len(metadata) and metadata[self.position].get("refines"):
            self.position += 1  # the identifier's own refinements stay with it
        self.indent = metadata[0].tail if len(metadata) else "\n    "

    def add(self, tag: str, text: str, **refinements: str | None) -> None:
        element = etree.Element(f"{{{DC}}}{tag}")
        element.text = text
        refined = {key: value for key, value in refinements.items() if value}
        if refined:
            self.count += 1
            element.set("id", f"meta-{tag}-{self.count}")
        self.insert(element)
        for prop, value in refined.items():
            meta = etree.Element(f"{{{OPF}}}meta", refines=f"#{element.get('id')}", property=prop.replace("_", "-"))
            if prop == "role":
                meta.set("scheme", "marc:relators")
            meta.text = value
            self.insert(meta)

    def insert(self, element: etree._Element) -> None:
        element.tail = self.indent
        self.metadata.insert(self.position, element)
        self.position += 1


def clear(metadata: etree._Element) -> None:
    """pandoc's elements of the kinds written here, with their refinements, and its EPUB 2 cover meta."""
    removed = {f"{{{DC}}}{tag}" for tag in REPLACED}
    ids = set()
    for element in list(metadata):
        if element.tag in removed:
            ids.add(element.get("id"))
            metadata.remove(element)
    for meta in list(metadata):
        if (meta.get("refines") or "")[1:] in ids or meta.get("name") == "cover":
            metadata.remove(meta)


def write(
    opf: etree._ElementTree, resolved: ResolvedBook, epoch: int, cover_id: str | None, page_source: str | None = None
) -> None:
    """The package's title, people, publisher, date, rights, description, subjects, source and cover meta.
    `page_source`, when the e-book carries the print edition's page numbers: the `dc:source` they come from,
    marked as the source of the pagination (what EDUPUB's OPF-066 and reading systems that show print pages ask)."""
    metadata = opf.find(f"{{{OPF}}}metadata")
    assert metadata is not None
    clear(metadata)
    config, sorts = resolved.book.config, sort_names(resolved)
    out = Writer(metadata)
    out.add("title", full_title(resolved), title_type="main", file_as=config.title_sort)
    for name in authors(resolved):
        out.add("creator", name, role="aut", file_as=sorts.get(name))
    for editor in config.editors:
        if not editor.placeholder:
            out.add("contributor", editor.name, role="edt", file_as=sorts.get(editor.name))
    if known(config.publisher):
        out.add("publisher", config.publisher)
    out.add("date", config.date)
    for tag, value in (("rights", rights(resolved)), ("description", config.description)):
        if value and known(value):
            out.add(tag, value)
    for subject in config.subjects:
        out.add("subject", subject)
    if page_source:
        out.add("source", page_source, source_of="pagination")
    elif config.print_isbn:
        out.add("source", isbn_urn(config.print_isbn))
    for meta in metadata.iterfind(f"{{{OPF}}}meta[@property='dcterms:modified']"):
        meta.text = modified(resolved, epoch)
    if cover_id:  # EPUB 2 reading systems (and Kindle's ingestion) find the cover image by this meta
        cover = etree.SubElement(metadata, f"{{{OPF}}}meta", name="cover", content=cover_id)
        cover.tail = metadata[-2].tail = out.indent


def isbn_urn(isbn: str) -> str:
    return f"urn:isbn:{isbn.replace('-', '').replace(' ', '')}"


def chapter_head(tree: etree._ElementTree, names: list[str], xhtml: str) -> None:
    """A chapter's own author metadata in its XHTML head, one meta per named author."""
    head = tree.find(f"{{{xhtml}}}head")
    if head is None:
        return
    for name in names:
        meta = etree.SubElement(head, f"{{{xhtml}}}meta", name="author", content=name)
        meta.tail = "\n"
