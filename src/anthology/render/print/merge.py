"""Merge: the segments' PDFs joined into the book, with folios stamped on and (screen) links and bookmarks made
whole again. pikepdf (QPDF) does the joining: it copies pages between files with their resources intact.

The first segment's file gives the document its catalogue: PDF/X identification, output intent, XMP and document
information are the same in every segment (one head, one configuration), so nothing is rewritten there. Each segment
brings its own copy of what every segment has (the output intent's ICC profile, about 270 KB), so identical streams
are shared before saving: one copy of each in the book.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem, PageLocation, String

from anthology.render.print.segments import DEST_SCHEME


@dataclass(frozen=True)
class Part:
    path: Path
    start: int  # the pages taken, [start, stop): a segment's PDF ends with a page that only marks the next recto,
    stop: int  # and a resumed layout's earlier PDF holds pages that a later one replaces


SUBSET_TAG = re.compile(r"^/([A-Z]{6})\+(.+)$")


def retag_subsets(document: pikepdf.Pdf, salt: str) -> None:
    """Give each font subset of a segment its own tag: WeasyPrint derives the tag from the font, not the glyphs, so
    every segment would bring a different subset under the same name, which preflight tools flag as a clash."""
    for obj in document.objects:
        if not isinstance(obj, pikepdf.Dictionary):
            continue
        for key in ("/BaseFont", "/FontName"):
            value = obj.get(key)
            match = SUBSET_TAG.match(str(value)) if isinstance(value, Name) else None
            if match:
                digest = hashlib.sha256(f"{match[1]}/{salt}".encode()).digest()
                tag = "".join(chr(65 + byte % 26) for byte in digest[:6])
                obj[key] = Name(f"/{tag}+{match[2]}")


PageMap = dict[tuple[int, tuple[int, int]], Any]  # (source, page object's number) -> the book's page


def join(parts: list[Part]) -> tuple[pikepdf.Pdf, list[pikepdf.Pdf], PageMap]:
    """One PDF of all the segments' pages, in order; returns it, the opened sources (kept open until saved) and
    where each source page went."""
    book = pikepdf.open(parts[0].path)
    del book.pages[parts[0].stop :]
    del book.pages[: parts[0].start]
    sources: list[pikepdf.Pdf] = []
    opened: dict[Path, int] = {}  # a file that gives pages before and after others (resume.py) is opened once
    where: PageMap = {}
    for part in parts[1:]:
        if part.path not in opened:
            sources.append(pikepdf.open(part.path))
            opened[part.path] = len(sources)
            retag_subsets(sources[-1], str(len(sources)))
        number = opened[part.path]
        pages = list(sources[number - 1].pages)[part.start : part.stop]
        offset = len(book.pages)
        with warnings.catch_warnings():  # named destinations are carried over by named_destinations()
            warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
            book.pages.extend(pages)
        for index, page in enumerate(pages):
            where[(number, page.obj.objgen)] = book.pages[offset + index].obj
    return book, sources, where


def stamp_folios(book: pikepdf.Pdf, overlays: list[Path], folios: list[bool]) -> list[pikepdf.Pdf]:
    """Each page that carries a folio or a page number gets the overlays' page of the same number (those alone);
    the overlays are the folio documents in page order."""
    documents = [pikepdf.open(path) for path in overlays]
    for number, document in enumerate(documents):
        retag_subsets(document, "folios" if number == 0 else f"folios-{number}")
    pages = [page for document in documents for page in document.pages]
    if len(pages) != len(book.pages):
        raise ValueError(f"folio overlays have {len(pages)} pages for {len(book.pages)}")
    for index, carries in enumerate(folios):
        if carries:
            stamp(book, book.pages[index], pages[index], Name(f"/AnthologyFolio{index + 1}"))
    return documents


def stamp(book: pikepdf.Pdf, page: pikepdf.Page, folio: pikepdf.Page, name: Name) -> None:
    """Draw the folio page over the page, as a form XObject under a resource name of its own page (pikepdf's
    add_overlay picks a random one, and the book would differ from build to build; a segment's pages share one
    resource dictionary, so the name must differ from page to page). Both pages have the same size and origin."""
    form = book.copy_foreign(folio.as_form_xobject())
    page.add_resource(form, Name.XObject, name)
    page.contents_add(pikepdf.Stream(book, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(book, b"\nQ\nq " + name.unparse() + b" Do Q\n"), prepend=False)


def named_destinations(book: pikepdf.Pdf, sources: list[pikepdf.Pdf], where: PageMap) -> None:
    """Every segment's named destinations in one name tree (sorted, as the PDF format requires)."""
    found: dict[str, Any] = {}
    for number, document in enumerate([book, *sources]):
        names = document.Root.get("/Names")
        dests = names.get("/Dests") if names is not None else None
        if dests is None:
            continue
        flat = dests.get("/Names", [])
        for index in range(0, len(flat), 2):
            name = str(flat[index])
            dest = flat[index + 1]
            if name not in found and (number == 0 or (number, dest[0].objgen) in where):
                page = dest[0] if number == 0 else where[(number, dest[0].objgen)]
                found[name] = Array([page, *list(dest)[1:]])
    if not found:
        return
    flat_array = Array()
    for name in sorted(found, key=lambda n: n.encode("utf-8")):
        flat_array.append(String(name))
        flat_array.append(found[name])
    if "/Names" not in book.Root:
        book.Root.Names = Dictionary()
    book.Root.Names.Dests = book.make_indirect(Dictionary(Names=flat_array))


def relink(book: pikepdf.Pdf) -> None:
    """Links that left their segment as `anthology-dest:` URIs point at the book's named destinations again."""
    for page in book.pages:
        for annotation in page.obj.get("/Annots", []):
            action = annotation.get("/A")
            if action is None or action.get("/S") != Name.URI:
                continue
            uri = str(action.URI)
            if uri.startswith(DEST_SCHEME):
                name = uri[len(DEST_SCHEME) :]
                del annotation["/A"]
                annotation.Dest = String(name)
                if "/Contents" in annotation:
                    annotation.Contents = String(name)


def outline(book: pikepdf.Pdf, bookmarks: list[list[Any]]) -> None:
    """The bookmarks of the whole book: [page, level, label, x, y], nested by level."""
    if "/Outlines" in book.Root:
        del book.Root["/Outlines"]
    with book.open_outline() as tree:
        stack: list[tuple[int, list[OutlineItem]]] = [(0, tree.root)]
        for page, level, label, x, y in bookmarks:
            item = OutlineItem(label, page, PageLocation.XYZ, left=x, top=y, zoom=0)
            while stack[-1][0] >= level:
                stack.pop()
            stack[-1][1].append(item)
            stack.append((level, item.children))


def stream_key(stream: pikepdf.Stream) -> bytes:
    """What makes two streams interchangeable: their dictionary (references by object number) and encoded bytes."""
    fields = Dictionary({key: value for key, value in stream.items() if key != "/Length"})
    return hashlib.sha256(fields.unparse() + b"\0" + stream.read_raw_bytes()).digest()


def replace_references(container: Any, remap: dict[tuple[int, int], Any]) -> None:
    """Point every reference to a dropped object, in a container and the direct containers inside it, at its keeper."""
    items = list(enumerate(container)) if isinstance(container, Array) else list(container.items())
    for key, value in items:
        if not isinstance(value, pikepdf.Object):
            continue
        if value.is_indirect:
            if value.objgen in remap:
                container[key] = remap[value.objgen]
        elif isinstance(value, (Array, Dictionary)):
            replace_references(value, remap)


def share_identical_streams(book: pikepdf.Pdf) -> int:
    """Keep one of each set of identical streams (the first in object order, so the result is reproducible) and
    refer to it everywhere; the others are left unreferenced and not written. Repeated until nothing changes, as
    streams that refer to identical streams become identical themselves. Returns how many streams were dropped."""
    dropped: set[tuple[int, int]] = set()
    while True:
        keepers: dict[bytes, pikepdf.Stream] = {}
        remap: dict[tuple[int, int], Any] = {}
        for obj in book.objects:
            if isinstance(obj, pikepdf.Stream) and obj.objgen not in dropped:
                keeper = keepers.setdefault(stream_key(obj), obj)
                if keeper is not obj:
                    remap[obj.objgen] = keeper
        if not remap:
            return len(dropped)
        dropped |= set(remap)
        for obj in book.objects:
            if isinstance(obj, (Array, Dictionary, pikepdf.Stream)) and obj.objgen not in dropped:
                replace_references(obj, remap)
        replace_references(book.trailer, remap)


def merge(
    parts: list[Part], overlays: list[Path], folios: list[bool], target: Path, bookmarks: list[list[Any]] | None = None
) -> None:
    """Write the book's PDF: segments joined, folios stamped; with bookmarks (the screen PDF), links and named
    destinations across segments too; identical streams shared. The file identifier is derived from the content
    (reproducible)."""
    book, sources, where = join(parts)
    stamps = stamp_folios(book, overlays, folios)
    if bookmarks is not None:
        named_destinations(book, sources, where)
        relink(book)
        outline(book, bookmarks)
    share_identical_streams(book)
    book.save(target, deterministic_id=True)
    for document in [*stamps, *sources, book]:
        document.close()
