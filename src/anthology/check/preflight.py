"""Preflight: check a built print PDF against what a print-on-demand printer (KDP, IngramSpark, Lulu) rejects.

Each check reads the PDF itself (pypdf for its structure, pdfminer for where each character lands and how big it
is), never the HTML it came from, so a file edited or produced some other way is judged the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTContainer, LTImage, LTItem
from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, IndirectObject, NameObject

from anthology.config import minimum_gutter_in

POINTS_PER_INCH = 72.0
MINIMUM_OUTSIDE_IN = 0.25  # KDP, no bleed: outside, top and bottom margins
MINIMUM_TEXT_PT = 7.0
MAXIMUM_BLANK_RUN = 2
MINIMUM_IMAGE_PPI = 300.0
TRIM_TOLERANCE_PT = 0.5
RGB_OPERATORS = {b"rg", b"RG"}
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


@dataclass(frozen=True)
class Check:
    """The outcome of one check; `detail` says what was found, with page numbers where it matters."""

    name: str
    ok: bool
    detail: str


@dataclass
class PreflightReport:
    path: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def lines(self) -> list[str]:
        rows = [f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in self.checks]
        verdict = "passed" if self.ok else f"FAILED ({len(self.failures)} of {len(self.checks)} checks)"
        return [f"preflight {self.path}", *rows, f"preflight {verdict}"]


# ---- Structure (pypdf) -------------------------------------------------------------------------------------------


def resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def page_ranges(numbers: Iterable[int], limit: int = 8) -> str:
    """'3, 5, 9' (and how many more) for a report line."""
    listed = sorted(set(numbers))
    shown = ", ".join(map(str, listed[:limit]))
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


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


def xmp_text(reader: PdfReader) -> str:
    metadata = resolve(reader.trailer["/Root"].get("/Metadata"))
    return metadata.get_data().decode("utf-8", "replace") if metadata is not None else ""


def pdfx_version(reader: PdfReader) -> str | None:
    """The PDF/X version the file claims, from its document info (X-1a, X-3) or its XMP metadata (X-4)."""
    info = reader.metadata or {}
    if "/GTS_PDFXVersion" in info:
        return str(info["/GTS_PDFXVersion"])
    match = re.search(r"GTS_PDFXVersion(?:>|=\")\s*([^<\"]+)", xmp_text(reader))
    return match.group(1).strip() if match else None


def check_pdfx(reader: PdfReader) -> Check:
    """The file says which PDF/X it is and carries a PDF/X output intent with an embedded ICC profile."""
    version = pdfx_version(reader)
    intents = resolve(reader.trailer["/Root"].get("/OutputIntents")) or []
    pdfx_intents = [resolve(i) for i in intents if resolve(i).get("/S") == "/GTS_PDFX"]
    with_profile = [i for i in pdfx_intents if resolve(i.get("/DestOutputProfile")) is not None]
    problems = []
    if version is None:
        problems.append("no PDF/X identification (GTS_PDFXVersion)")
    if not with_profile:
        problems.append("no PDF/X output intent with an ICC profile")
    if problems:
        return Check("PDF/X", False, "; ".join(problems))
    condition = with_profile[0].get("/OutputConditionIdentifier")
    return Check("PDF/X", True, f"{version}, output intent {condition}")


def rgb_spaces(resources: Any) -> set[str]:
    """Names of the colour spaces in a resource dictionary that are RGB (DeviceRGB, CalRGB or a 3-channel ICC)."""
    names = set()
    for name, space in (resolve(resolve(resources or {}).get("/ColorSpace")) or {}).items():
        if is_rgb(space):
            names.add(str(name))
    return names


def is_rgb(space: Any) -> bool:
    space = resolve(space)
    if isinstance(space, NameObject):
        return space in ("/DeviceRGB", "/RGB", "/CalRGB")
    if isinstance(space, ArrayObject) and space:
        family = resolve(space[0])
        if family == "/ICCBased":
            return int(resolve(space[1]).get("/N", 0)) == 3
        if family == "/CalRGB":
            return True
        if family in ("/Indexed", "/Separation", "/DeviceN"):
            return any(is_rgb(part) for part in space[1:3])
    return False


def rgb_uses(obj: Any, reader: PdfReader, seen: set[int]) -> list[str]:
    """What in a page or form XObject is RGB: colour operators, colour spaces selected, images, groups."""
    found = []
    resources = resolve(obj.get("/Resources")) or {}
    spaces = rgb_spaces(resources)
    group = resolve(obj.get("/Group"))
    if group is not None and is_rgb(group.get("/CS")):
        found.append("an RGB transparency group")
    contents = obj.get_contents() if hasattr(obj, "get_contents") else obj
    if contents is not None:
        for operands, operator in ContentStream(contents, reader).operations:
            if operator in RGB_OPERATORS:
                found.append(f"RGB colour ({operator.decode()})")
            elif operator in (b"cs", b"CS") and operands and (operands[0] == "/DeviceRGB" or operands[0] in spaces):
                found.append(f"RGB colour space {operands[0]}")
    for name, xobject in (resolve(resources.get("/XObject")) or {}).items():
        key = xobject.idnum if isinstance(xobject, IndirectObject) else id(xobject)
        if key in seen:
            continue
        seen.add(key)
        xobject = resolve(xobject)
        if xobject.get("/Subtype") == "/Image" and is_rgb(xobject.get("/ColorSpace")):
            found.append(f"RGB image {name}")
        elif xobject.get("/Subtype") == "/Form":
            found.extend(rgb_uses(xobject, reader, seen))
    for name, shading in (resolve(resources.get("/Shading")) or {}).items():
        if is_rgb(resolve(shading).get("/ColorSpace")):
            found.append(f"RGB shading {name}")
    return found


def check_no_rgb(reader: PdfReader) -> Check:
    """The print variant uses no RGB colour anywhere (text, rules, images, shadings, transparency groups)."""
    pages: dict[int, list[str]] = {}
    seen: set[int] = set()
    for number, page in enumerate(reader.pages, start=1):
        uses = rgb_uses(page, reader, seen)
        if uses:
            pages[number] = uses
    if pages:
        first = min(pages)
        kinds = sorted({use for uses in pages.values() for use in uses})
        return Check("no RGB", False, f"{', '.join(kinds)} on pages {page_ranges(pages)} (first: page {first})")
    return Check("no RGB", True, "no RGB colour on any page")


def check_annotations(reader: PdfReader) -> Check:
    """No annotations (links, form fields, comments) and no bookmarks in the printer's file."""
    pages = [n for n, page in enumerate(reader.pages, start=1) if resolve(page.get("/Annots"))]
    outlines = "/Outlines" in reader.trailer["/Root"]
    problems = []
    if pages:
        count = sum(len(resolve(reader.pages[n - 1]["/Annots"])) for n in pages)
        problems.append(f"{count} annotations on pages {page_ranges(pages)}")
    if outlines:
        problems.append("bookmarks (an outline) present")
    return Check("no annotations", not problems, "; ".join(problems) or "no annotations, no bookmarks")


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


def preflight(path: Path, trim: tuple[float, float]) -> PreflightReport:
    """Run every check on a print PDF; the report says which failed and where."""
    reader = PdfReader(path)
    report = PreflightReport(path)
    report.checks += [
        check_trim(reader, trim),
        check_fonts(reader),
        check_pdfx(reader),
        check_no_rgb(reader),
        check_annotations(reader),
        check_even(reader),
    ]
    first = reader.pages[0] if reader.pages else None
    offset = (0.0, 0.0)
    if first is not None:
        offset = (float(first.trimbox.left) - float(first.mediabox.left), float(first.trimbox.bottom))
    pages = page_layouts(path)
    report.checks += [
        check_margins(pages, offset),
        check_text_size(pages),
        check_blank_runs(pages),
        check_images(pages),
    ]
    return report
