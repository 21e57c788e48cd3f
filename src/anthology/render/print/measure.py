"""Measurements read from a laid-out document's boxes: anchors' pages, lines of text per page, where each
masked page number fell (stamps), bookmarks, folios and the links the screen PDF colours.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from anthology.render.print import segments

if TYPE_CHECKING:  # WeasyPrint is imported by the workers alone: a second of every build's main process otherwise
    from weasyprint.document import Document


def anchor_pages(document: Document) -> dict[str, int]:
    """The 1-based page number of every anchor (id) in a laid-out document."""
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    return pages


def flow_lines(page: Any) -> Iterator[Any]:
    """The line boxes of a page's main flow (not its footnote area or margin boxes), in order."""
    from weasyprint.formatting_structure import boxes

    for child in page._page_box.children:  # the footnote area and the margin boxes are the page's own children
        if not isinstance(child, (boxes.FootnoteAreaBox, boxes.MarginBox)):
            yield from line_boxes(child)


def parent_map(elements: list[Any]) -> dict[int, Any]:
    """Each element's parent, by id (the parsed tree's elements do not know their parents)."""
    return {id(child): parent for parent in elements for child in parent}


def screen_links(elements: list[Any], parents: dict[int, Any]) -> set[int]:
    """The links the screen PDF shows in colour (screen.py): cross-references, every link in editorial matter,
    and a chapter's links within the book."""
    chosen: set[int] = set()
    for element in elements:
        href = element.get("href") if element.tag == "a" else None
        if not href:
            continue
        internal = href.startswith(("#", segments.DEST_SCHEME))
        ancestors: list[str] = []
        node = parents.get(id(element))
        while node is not None:
            ancestors += (node.get("class") or "").split()
            node = parents.get(id(node))
        is_xref = "xref" in (element.get("class") or "").split()
        if is_xref or "matter-body" in ancestors or (internal and "chapter-body" in ancestors):
            chosen.add(id(element))
    return chosen


def descendants(box: Any) -> Iterator[Any]:
    stack = [box]
    while stack:
        box = stack.pop()
        yield box
        stack.extend(reversed(getattr(box, "children", [])))


def number_stamps(document: Document, count: int, links: set[int], parents: dict[int, Any]) -> list[list[Any]]:
    """Where each masked page number fell (segments.Result.stamps): the merge prints the real number there, in the
    same type, so the page is the one the whole book laid out at once would have."""
    from weasyprint.formatting_structure import boxes

    stamps = []
    for number, page in enumerate(document.pages[:count]):
        x, y = page._page_box.content_box_x(), page._page_box.content_box_y()
        for box in descendants(page._page_box):
            index = box.element.get("data-n") if isinstance(box, boxes.TextBox) and box.element_tag == "span" else None
            if index is not None:
                where = [round(box.position_x - x, 4), round(box.position_y - y, 4), round(box.width, 4)]
                stamps.append([int(index), number, *where, stamp_css(box.style), linked(box.element, parents, links)])
    return stamps


def linked(element: Any, parents: dict[int, Any], links: set[int]) -> bool:
    while element is not None:
        if id(element) in links:
            return True
        element = parents.get(id(element))
    return False


def css_length(value: Any, number_unit: str = "") -> str:
    """A computed length (WeasyPrint's Dimension, 'normal', or a number) as CSS. A number is a factor (line-height)
    or, with `number_unit`, a length WeasyPrint computed in that unit (letter-spacing, in px)."""
    if hasattr(value, "unit"):
        return f"{value.value}{value.unit}"
    if isinstance(value, (int, float)):
        return f"{value}{number_unit}"
    return str(value)


def stamp_css(style: Any) -> str:
    """The type a page number was laid out in, as CSS for the folio document."""
    family = ", ".join(f"'{name}'" for name in style["font_family"])
    numeric = style["font_variant_numeric"]
    features = style["font_feature_settings"]
    declarations = {
        "font-family": family,
        "font-size": f"{style['font_size']}px",
        "font-style": style["font_style"],
        "font-weight": str(style["font_weight"]),
        "font-stretch": style["font_stretch"],
        "font-variant-caps": style["font_variant_caps"],
        "font-variant-numeric": numeric if isinstance(numeric, str) else " ".join(numeric),
        "font-feature-settings": (
            features if isinstance(features, str) else ", ".join(f"'{tag}' {value}" for tag, value in features)
        ),
        "font-kerning": style["font_kerning"],
        "letter-spacing": css_length(style["letter_spacing"], "px"),
        "line-height": css_length(style["line_height"]),
    }
    return "; ".join(f"{key}: {value}" for key, value in declarations.items())


def has_folio(page: Any) -> bool:
    """Whether the page has a box where the folio goes (SEGMENT_CSS): openers, blank and front pages have none."""
    from weasyprint.formatting_structure import boxes

    return any(
        isinstance(box, boxes.MarginBox) and box.at_keyword == "@bottom-center" for box in page._page_box.children
    )


def line_boxes(box: Any) -> Iterator[Any]:
    """The line boxes in a box, in order; a line's text includes the lines of an inline block inside it."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.LineBox):
        yield box
        return
    for child in getattr(box, "children", []):
        yield from line_boxes(child)


def page_lines(page: Any) -> list[str]:
    """A page's lines of text in the order pdftotext reads them from the PDF (running heads, the text, its
    footnotes, then the other margins), for the EPUB's page list (pagemap.py). Read from the layout, not back from the
    book's PDF with pdftotext, which would be on the EPUB's path. Hidden text (a masked page number)
    is not drawn, so not read."""
    from weasyprint.formatting_structure import boxes

    children = page._page_box.children
    top = [box for box in children if isinstance(box, boxes.MarginBox) and box.at_keyword.startswith("@top")]
    margins = [box for box in children if isinstance(box, boxes.MarginBox) and box not in top]
    notes = [box for box in children if isinstance(box, boxes.FootnoteAreaBox)]
    flow = [box for box in children if not isinstance(box, (boxes.MarginBox, boxes.FootnoteAreaBox))]
    lines = []
    for area in (*top, *flow, *notes, *margins):
        for line in line_boxes(area):
            text = "".join(
                box.text
                for box in descendants(line)
                if isinstance(box, boxes.TextBox) and box.style["visibility"] == "visible"
            )
            if text.strip():
                lines.append(text)
    return lines


def page_bookmarks(document: Document, count: int) -> list[list[Any]]:
    """[page, level, label, x, y] of every bookmark, in PDF points (as WeasyPrint writes them)."""
    found = []
    for number, page in enumerate(document.pages[:count]):
        for level, label, (x, y), _state in page.bookmarks:
            found.append([number, level, label, round(x * 0.75, 3), round((page.height - y) * 0.75, 3)])
    return found
