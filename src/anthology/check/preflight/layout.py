"""What a print-on-demand printer (KDP, IngramSpark, Lulu) measures on the pages: the trim, embedded fonts, the page
count, and (pdfminer: where each character lands and how big it is) margins, text size, blank runs, image resolution.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTContainer, LTImage, LTItem
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

from anthology.check.preflight.report import Check, page_ranges
from anthology.config import minimum_gutter_in

POINTS_PER_INCH = 72.0
MINIMUM_OUTSIDE_IN = 0.25  # KDP, no bleed: outside, top and bottom margins
MINIMUM_TEXT_PT = 7.0
MAXIMUM_BLANK_RUN = 2
MINIMUM_IMAGE_PPI = 300.0
TRIM_TOLERANCE_PT = 0.5
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


# ---- Structure (pypdf) -------------------------------------------------------------------------------------------


def resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def check_trim(reader: PdfReader, trim: tuple[float, float]) -> Check:
    """Every page's TrimBox (its MediaBox when it has none) is the configured trim size."""
    wrong: dict[tuple[float, float], list[int]] = {}
    for number, page in enumerate(reader.pages, start=1):
        box = page.trimbox
        size = (round(float(box.width), 2), round(float(box.height), 2))
        if abs(size[0] - trim[0]) > TRIM_TOLERANCE_PT or abs(size[1] - trim[1]) > TRIM_TOLERANCE_PT:
            wrong.setdefault(size, []).append(number)
    expected = f"{trim[0]:g} x {trim[1]:g} pt"
    if not wrong:
        return Check("trim size", True, f"all {len(reader.pages)} pages {expected}")
    found = "; ".join(f"{w:g} x {h:g} pt on pages {page_ranges(pages)}" for (w, h), pages in wrong.items())
    return Check("trim size", False, f"expected {expected}, found {found}")


def page_fonts(resources: Any, seen: set[int] | None = None) -> Iterator[tuple[str, DictionaryObject | None]]:
    """Every font reachable from a resource dictionary (including form XObjects), with its font descriptor."""
    seen = set() if seen is None else seen
    resources = resolve(resources) or {}
    for font in (resolve(resources.get("/Font")) or {}).values():
        font = resolve(font)
        if font.get("/Subtype") == "/Type3":
            continue  # glyphs drawn by the PDF itself: nothing to embed
        targets = [resolve(d) for d in resolve(font["/DescendantFonts"])] if "/DescendantFonts" in font else [font]
        for target in targets:
            yield str(target.get("/BaseFont")), resolve(target.get("/FontDescriptor"))
    for xobject in (resolve(resources.get("/XObject")) or {}).values():
        if isinstance(xobject, IndirectObject):
            if xobject.idnum in seen:
                continue
            seen.add(xobject.idnum)
        xobject = resolve(xobject)
        if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
            yield from page_fonts(xobject["/Resources"], seen)


def check_fonts(reader: PdfReader) -> Check:
    """Every font used is embedded (a font program in its descriptor)."""
    missing: dict[str, list[int]] = {}
    names: set[str] = set()
    for number, page in enumerate(reader.pages, start=1):
        for name, descriptor in page_fonts(page.get("/Resources")):
            names.add(name)
            if descriptor is None or not any(key in descriptor for key in FONT_FILES):
                missing.setdefault(name, []).append(number)
    if missing:
        found = "; ".join(f"{name} on pages {page_ranges(pages)}" for name, pages in missing.items())
        return Check("fonts embedded", False, f"not embedded: {found}")
    return Check("fonts embedded", bool(names), f"{len(names)} fonts, all embedded" if names else "no fonts found")


def check_even(reader: PdfReader) -> Check:
    count = len(reader.pages)
    return Check("even page count", count % 2 == 0, f"{count} pages")


# ---- Layout (pdfminer) -------------------------------------------------------------------------------------------


@dataclass
class PageLayout:
    """Where the ink of one page lies: the text's extent, its smallest size, its images."""

    number: int
    width: float
    height: float
    left: float | None = None
    right: float | None = None
    top: float | None = None
    bottom: float | None = None
    smallest: float | None = None
    small_sample: str = ""
    images: list[tuple[str, float]] = field(default_factory=list)  # (name, effective ppi)

    @property
    def blank(self) -> bool:
        return self.left is None and not self.images

    def add_char(self, char: LTChar) -> None:
        if not char.get_text().strip():
            return
        self.left = char.x0 if self.left is None else min(self.left, char.x0)
        self.right = char.x1 if self.right is None else max(self.right, char.x1)
        self.bottom = char.y0 if self.bottom is None else min(self.bottom, char.y0)
        self.top = char.y1 if self.top is None else max(self.top, char.y1)
        size = char_size(char)
        if self.smallest is None or size < self.smallest - 0.01:
            self.smallest = size
            self.small_sample = char.get_text()

    def add_image(self, image: LTImage) -> None:
        width_px, height_px = image.srcsize
        width_in, height_in = image.width / POINTS_PER_INCH, image.height / POINTS_PER_INCH
        if width_px and height_px and width_in > 0 and height_in > 0:
            self.images.append((image.name, min(width_px / width_in, height_px / height_in)))


def char_size(char: LTChar) -> float:
    """The printed size of a character: its box's extent across the line (pdfminer's `size` is the extent along
    the page's vertical axis, which for text turned 90 degrees, as on a spine, is the advance width)."""
    a, b = char.matrix[0], char.matrix[1]
    return char.height if abs(a) >= abs(b) else char.width


def visit(item: LTItem, page: PageLayout) -> None:
    if isinstance(item, LTChar):
        page.add_char(item)
    elif isinstance(item, LTImage):
        page.add_image(item)
    elif isinstance(item, LTContainer):
        for child in item:
            visit(child, page)


def page_layouts(path: Path) -> list[PageLayout]:
    layouts = []
    for number, ltpage in enumerate(extract_pages(str(path), laparams=None), start=1):
        page = PageLayout(number, ltpage.width, ltpage.height)
        for item in ltpage:
            visit(item, page)
        layouts.append(page)
    return layouts


def check_margins(pages: list[PageLayout], trim_box_offset: tuple[float, float] = (0.0, 0.0)) -> Check:
    """Measured text positions keep the gutter (inside: left on rectos, right on versos) and the outside,
    top and bottom margins at least at KDP's minimums for the page count."""
    gutter = minimum_gutter_in(len(pages)) * POINTS_PER_INCH
    outside = MINIMUM_OUTSIDE_IN * POINTS_PER_INCH
    problems: list[str] = []
    smallest = {"inside": 1e9, "outside": 1e9, "top": 1e9, "bottom": 1e9}
    for page in pages:
        if page.left is None or page.right is None or page.top is None or page.bottom is None:
            continue
        left, right = page.left - trim_box_offset[0], page.width - page.right - trim_box_offset[0]
        inside, outer = (left, right) if page.number % 2 == 1 else (right, left)
        top, bottom = page.height - page.top - trim_box_offset[1], page.bottom - trim_box_offset[1]
        for name, value, minimum in (
            ("inside", inside, gutter),
            ("outside", outer, outside),
            ("top", top, outside),
            ("bottom", bottom, outside),
        ):
            smallest[name] = min(smallest[name], value)
            if value < minimum - 0.01:
                problems.append(f"page {page.number}: {name} margin {value / 72:.3f} in < {minimum / 72:.3f} in")
    measured = ", ".join(f"{name} {value / 72:.3f} in" for name, value in smallest.items())
    limits = f"minimums for {len(pages)} pages: inside {gutter / 72:.3f} in, others {outside / 72:.3f} in"
    if problems:
        more = f" (and {len(problems) - 5} more pages)" if len(problems) > 5 else ""
        return Check("margins", False, "; ".join(problems[:5]) + more + f"; {limits}")
    return Check("margins", True, f"smallest measured: {measured}; {limits}")


def check_text_size(pages: list[PageLayout]) -> Check:
    small = [p for p in pages if p.smallest is not None and p.smallest < MINIMUM_TEXT_PT - 0.01]
    sizes = [p.smallest for p in pages if p.smallest is not None]
    if small:
        first = small[0]
        return Check(
            "text size",
            False,
            f"text below {MINIMUM_TEXT_PT:g} pt on pages {page_ranges(p.number for p in small)} "
            f"(page {first.number}: {first.smallest:.2f} pt, {first.small_sample!r})",
        )
    return Check("text size", True, f"smallest text {min(sizes):.2f} pt" if sizes else "no text")


def check_blank_runs(pages: list[PageLayout]) -> Check:
    """No more than two blank pages in a row (printers query longer runs as a mistake)."""
    longest, run, start, longest_start = 0, 0, 0, 0
    for page in pages:
        run = run + 1 if page.blank else 0
        if run == 1:
            start = page.number
        if run > longest:
            longest, longest_start = run, start
    blanks = sum(page.blank for page in pages)
    if longest > MAXIMUM_BLANK_RUN:
        return Check(
            "blank pages",
            False,
            f"{longest} consecutive blank pages from page {longest_start} (at most {MAXIMUM_BLANK_RUN})",
        )
    return Check("blank pages", True, f"{blanks} blank pages, at most {longest} in a row")


def check_images(pages: list[PageLayout]) -> Check:
    images = [(page.number, name, ppi) for page in pages for name, ppi in page.images]
    low = [(n, name, ppi) for n, name, ppi in images if ppi < MINIMUM_IMAGE_PPI]
    if low:
        listed = "; ".join(f"page {n}: {name} at {ppi:.0f} ppi" for n, name, ppi in low[:5])
        return Check("image resolution", False, f"below {MINIMUM_IMAGE_PPI:g} ppi: {listed}")
    if not images:
        return Check("image resolution", True, "no images")
    return Check("image resolution", True, f"{len(images)} images, lowest {min(p for _, _, p in images):.0f} ppi")
