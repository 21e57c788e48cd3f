"""Screen PDF: derived from the printer's PDF of the same layout instead of being drawn a second time.

Writing a PDF is a third of WeasyPrint's time on a segment (painting every page, subsetting the fonts, compressing),
and the reader's PDF differs from the printer's only in colour and in what surrounds the pages: sRGB black for
the printer's CMYK black, links in blue, link annotations and named destinations, an sRGB output intent and no
PDF/X identification. So the worker writes the printer's PDF once and this module makes the reader's from it with
pikepdf (QPDF), in a twentieth of the time WeasyPrint takes to write it.

The content streams are recoloured operator by operator. What is a link is known only to the layout, so while the
printer's PDF is written the text of every link is drawn inside a marked-content sequence (`/AnthologyLink BMC …
EMC`, which PDF viewers, printers and PDF/X ignore) with its colour set explicitly at both ends (WeasyPrint
otherwise leaves out a colour operator that repeats the previous one); inside such a sequence every colour becomes
the link colour, and outside it the CMYK black becomes sRGB black (print.css uses no other colour).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, Operator, String

LINK_TAG = "AnthologyLink"
LINK_COLOUR = "#1f3a6e"  # the screen PDF's link colour (a darker blue than the site's #1d4e89, as before)
LINK_RGB = tuple(round(Decimal(int(LINK_COLOUR[i : i + 2], 16)) / 255, 6) for i in (1, 3, 5))
BLACK_RGB = (Decimal(0), Decimal(0), Decimal(0))
SRGB_PROFILE = "sRGB2014.icc"  # WeasyPrint's own copy of the ICC's sRGB profile
SRGB_SPACE = "/screen-srgb"
CMYK_SPACE = "/device-cmyk"  # the printer's profile, as print.css's @color-profile names it
PX_TO_PT = 0.75  # WeasyPrint lays out in CSS pixels and writes points (at zoom 1)

FILL_OPERATORS = {"sc", "scn", "k", "g", "rg"}
STROKE_OPERATORS = {"SC", "SCN", "K", "G", "RG"}
SPACE_OPERATORS = {"cs", "CS"}


# ---- While the printer's PDF is written --------------------------------------------------------------------------


def link_text_boxes(document: Any, links: set[int]) -> set[int]:
    """The text boxes (by id) drawn inside a link: those of the elements in `links` (by id) and their descendants."""
    found: set[int] = set()

    def walk(box: Any, in_link: bool) -> None:
        element = box.element
        in_link = in_link or (element is not None and id(element) in links and box.element_tag == element.tag)
        if in_link and box.__class__.__name__ == "TextBox":
            found.add(id(box))
        for child in getattr(box, "children", []):
            walk(child, in_link)

    for page in document.pages:
        walk(page._page_box, False)
    return found


@dataclass
class PageLinks:
    """A page's link annotations ([internal?, target, x1, y1, x2, y2], PDF points) and named destinations
    ([name, x, y]), as WeasyPrint would have written them."""

    links: list[list[Any]] = field(default_factory=list)
    anchors: list[list[Any]] = field(default_factory=list)


def interactive_parts(document: Any) -> list[PageLinks]:
    """Every page's links and anchors, in PDF coordinates: read from the layout before the printer's PDF is
    stripped of them (WeasyPrint's own resolution: a link to a missing anchor is dropped, the first anchor of a
    name wins)."""
    from weasyprint.pdf.anchors import resolve_links

    pages = []
    for page, (links, anchors) in zip(document.pages, resolve_links(document.pages), strict=True):
        found = PageLinks()
        for kind, target, (x1, y1, x2, y2), _box in links:
            if kind in ("internal", "external"):
                corners = [*pdf_point(page, x1, y1), *pdf_point(page, x2, y2)]
                found.links.append([kind == "internal", target, *corners])
        found.anchors = [[name, *pdf_point(page, x, y)] for name, x, y in anchors]
        pages.append(found)
    return pages


def pdf_point(page: Any, x: float, y: float) -> tuple[float, float]:
    """A point of the layout (CSS pixels from the top left) in PDF points from the bottom left."""
    return x * PX_TO_PT, (page.height - y) * PX_TO_PT


# ---- The reader's PDF from the printer's ---------------------------------------------------------------------


def recolour(operations: list[Any]) -> list[Any]:
    """Content-stream operations with sRGB colours: link colour inside the link marks, black elsewhere."""
    result: list[Any] = []
    marks: list[bool] = []  # open marked-content sequences: whether each is a link mark
    for operands, operator in operations:
        name = str(operator)
        if name in ("BMC", "BDC"):
            ours = name == "BMC" and operands[0] == Name("/" + LINK_TAG)
            marks.append(ours)
            if ours:
                continue
        elif name == "EMC" and marks and marks.pop():
            continue
        in_link = any(marks)
        if name in SPACE_OPERATORS:
            if in_link or operands[0] == Name.DeviceCMYK:
                continue  # the colour operator that follows becomes an RGB one
        elif name in FILL_OPERATORS or name in STROKE_OPERATORS:
            is_cmyk = name in ("k", "K") or (name in ("sc", "scn", "SC", "SCN") and len(operands) == 4)
            if in_link or is_cmyk:
                rgb = LINK_RGB if in_link else BLACK_RGB
                result.append((list(rgb), Operator("rg" if name in FILL_OPERATORS else "RG")))
                continue
        result.append((operands, operator))
    return result


def srgb_profile(pdf: pikepdf.Pdf) -> tuple[str, pikepdf.Object]:
    """The sRGB ICC profile as a PDF stream, and its name (as WeasyPrint names a profile: its description)."""
    from weasyprint.css import ColorProfile

    with (resources.files("weasyprint.pdf") / SRGB_PROFILE).open("rb") as handle:
        profile = ColorProfile(handle, SRGB_PROFILE, "relative-colorimetric", (["r"], ["g"], ["b"]))
    stream = pdf.make_stream(profile.content)
    stream.N = 3
    return profile.name, stream


def forms_of(resources_dictionary: Any, seen: set[tuple[int, int]]) -> Iterator[pikepdf.Object]:
    """Form XObjects under a resource dictionary, nested forms included, each once."""
    xobjects = resources_dictionary.get("/XObject") if resources_dictionary is not None else None
    for xobject in (xobjects or {}).values():
        if xobject.get("/Subtype") == Name.Form and xobject.objgen not in seen:
            seen.add(xobject.objgen)
            yield xobject
            yield from forms_of(xobject.get("/Resources"), seen)


def recolour_document(pdf: pikepdf.Pdf) -> None:
    seen: set[tuple[int, int]] = set()
    for page in pdf.pages:
        page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(recolour(pikepdf.parse_content_stream(page))))
        for form in list(forms_of(page.obj.get("/Resources"), seen)):
            operations = recolour(pikepdf.parse_content_stream(form))
            form.write(pikepdf.unparse_content_stream(operations))


def add_interactive(pdf: pikepdf.Pdf, pages: list[PageLinks]) -> None:
    """Link annotations and the named destinations, as WeasyPrint writes them (pdf/anchors.py)."""
    names: list[tuple[str, Any]] = []
    for page, found in zip(pdf.pages, pages, strict=True):
        annotations = Array()
        for internal, target, x1, y1, x2, y2 in found.links:
            annotation = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[x1, y1, x2, y2], BS=Dictionary(W=0))
            if internal:
                annotation.Dest = String(target)
            else:
                annotation.A = Dictionary(Type=Name.Action, S=Name.URI, URI=String(target))
            annotations.append(pdf.make_indirect(annotation))
        if len(annotations):
            page.obj.Annots = annotations
        names += [(name, Array([page.obj, Name.XYZ, x, y, 0])) for name, x, y in found.anchors]
    if names:
        flat = Array()
        for name, destination in sorted(names, key=lambda item: item[0]):
            flat.append(String(name))
            flat.append(destination)
        pdf.Root.Names = Dictionary(Dests=Dictionary(Names=flat))


def screen_catalogue(pdf: pikepdf.Pdf) -> None:
    """sRGB output intent and colour space instead of the printer's CMYK; no PDF/X identification (XMP, trapping)."""
    name, profile = srgb_profile(pdf)
    intent = Dictionary(
        Type=Name.OutputIntent,
        S=Name.GTS_PDFX,
        OutputConditionIdentifier=String(name),
        Info=String(name),
        DestOutputProfile=profile,
    )
    pdf.Root.OutputIntents = Array([intent])
    if "/Metadata" in pdf.Root:
        del pdf.Root["/Metadata"]
    if "/Trapped" in pdf.docinfo:
        del pdf.docinfo["/Trapped"]
    spaces: set[tuple[int, int]] = set()
    for page in pdf.pages:
        space = page.obj.get("/Resources", {}).get("/ColorSpace")
        if space is None or space.objgen in spaces:
            continue
        spaces.add(space.objgen)
        if CMYK_SPACE in space:
            del space[CMYK_SPACE]
        space[SRGB_SPACE] = Array([Name.ICCBased, profile])


def derive(print_pdf: Path, target: Path, pages: list[PageLinks] | None = None) -> None:
    """Write the reader's PDF of `print_pdf`: recoloured, its links and destinations added (`pages`, one entry per
    page, None for a document without any), sRGB instead of CMYK."""
    with pikepdf.open(print_pdf) as pdf:
        recolour_document(pdf)
        if pages is not None:
            add_interactive(pdf, pages)
        screen_catalogue(pdf)
        pdf.save(target, min_version="1.7", deterministic_id=True)
