"""Colour, transparency and ink in what the pages draw, judged by the PDF/X variant's rules.

Every place a PDF can paint from is read: the pages' content streams (colour operators, inline images), image and
form XObjects, shadings and patterns, soft masks and transparency groups, and annotations' appearances. The
interior is black and white, so RGB of any kind and spot inks are refused under every variant; device-independent
colour (ICC, CIE) only under PDF/X-1a, which allows device colour alone; transparency under X-1a and X-3.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name

from anthology.check.preflight.report import Finding, variant_name

DEVICE_SPACES = {
    "/DeviceRGB": ("rgb", 3),
    "/RGB": ("rgb", 3),
    "/DeviceCMYK": ("cmyk", 4),
    "/CMYK": ("cmyk", 4),
    "/DeviceGray": ("gray", 1),
    "/G": ("gray", 1),
}
ICC_KINDS = {1: "icc-gray", 3: "icc-rgb", 4: "icc-cmyk"}
RGB_KINDS = {"rgb", "icc-rgb", "calrgb"}
INDEPENDENT_KINDS = {"icc-gray", "icc-rgb", "icc-cmyk", "icc", "calrgb", "calgray", "lab"}
CMYK_KINDS = {"cmyk", "icc-cmyk"}
PROCESS_COLOURANTS = {"/Cyan", "/Magenta", "/Yellow", "/Black", "/All", "/None"}
NO_TRANSPARENCY = {"pdf/x-1a", "pdf/x-3"}
TEXT_OPERATORS = {"Tj", "TJ", "'", '"'}
USING_RESOURCES = {"Do": "/XObject", "sh": "/Shading", "gs": "/ExtGState", "scn": "/Pattern", "SCN": "/Pattern"}
OPAQUE_BLENDS = {"/Normal", "/Compatible"}
TRANSPARENCY_HINT = "flatten it (no opacity, soft mask or blend mode), or set book.yaml's pdf_variant to pdf/x-4"
INDEPENDENT_HINT = "use DeviceCMYK or DeviceGray colour, or set book.yaml's pdf_variant to pdf/x-4"
INK_HINT = "lighten the colour (C+M+Y+K), or raise book.yaml's ink_limit if the printer allows more"


@dataclass(frozen=True)
class Space:
    """A colour space as far as the rules care: its kind, how it is named in a report, its inks."""

    kind: str
    label: str
    spots: tuple[str, ...] = ()
    base: Space | None = None  # what an Indexed or Pattern space draws with

    @property
    def rgb(self) -> bool:
        return self.kind in RGB_KINDS or (self.base is not None and self.base.rgb)

    @property
    def independent(self) -> bool:
        return self.kind in INDEPENDENT_KINDS or (self.base is not None and self.base.independent)


GRAY = Space("gray", "DeviceGray")


def space_of(value: Any, resources: Any) -> Space:
    """The colour space a name (device, or one of the resources' /ColorSpace entries) or an array describes."""
    if isinstance(value, Name):
        name = str(value)
        if name in DEVICE_SPACES:
            return Space(DEVICE_SPACES[name][0], name[1:])
        if name == "/Pattern":
            return Space("pattern", "Pattern")
        named = resources.get("/ColorSpace", {}).get(name) if isinstance(resources, Dictionary) else None
        return space_of(named, None) if named is not None else Space("unknown", name)
    if not isinstance(value, Array) or len(value) == 0:
        return Space("unknown", str(value))
    family = str(value[0])
    if family == "/ICCBased":
        channels = int(value[1].get("/N", 0))
        return Space(ICC_KINDS.get(channels, "icc"), f"ICCBased, {channels} channels")
    if family in ("/CalRGB", "/CalGray", "/Lab"):
        return Space(family[1:].lower(), family[1:])
    if family in ("/Indexed", "/I"):
        base = space_of(value[1], resources)
        return Space("indexed", f"Indexed {base.label}", base.spots, base)
    if family == "/Separation":
        return Space("separation", f"Separation {value[1]}", (str(value[1]),))
    if family == "/DeviceN":
        names = tuple(str(name) for name in value[1])
        return Space("devicen", f"DeviceN {' '.join(names)}", names)
    if family == "/Pattern":
        base = space_of(value[1], resources) if len(value) > 1 else None
        return Space("pattern", "Pattern", base.spots if base else (), base)
    return space_of(value[0], resources) if len(value) == 1 else Space("unknown", family)


def numbers(operands: Any) -> list[float]:
    """The numeric operands (pikepdf gives PDF reals as Decimal); a pattern's name is left out."""
    return [float(value) for value in operands if isinstance(value, (int, float, Decimal))]


@dataclass
class Graphics:
    """The part of the graphics state the rules read: the fill and stroke colours."""

    fill: Space = GRAY
    fill_values: tuple[float, ...] = (0.0,)
    stroke: Space = GRAY
    stroke_values: tuple[float, ...] = (0.0,)


@dataclass
class ColourWalk:
    """Walks every page once, collecting what breaks the variant's colour, transparency and ink rules."""

    variant: str
    ink_limit: int
    findings: dict[Finding, None] = field(default_factory=dict)  # ordered, each problem once per page
    seen: set[tuple[int, int]] = field(default_factory=set)  # objects shared by pages are read once

    def add(self, code: str, page: int, message: str, hint: str | None = None) -> None:
        self.findings[Finding(code, page, message, hint)] = None

    def first_time(self, obj: Any) -> bool:
        """Whether an indirect object is met for the first time (direct objects always are)."""
        if not isinstance(obj, pikepdf.Object) or not obj.is_indirect:
            return True
        if obj.objgen in self.seen:
            return False
        self.seen.add(obj.objgen)
        return True

    def judge(self, space: Space, page: int, where: str) -> None:
        """The rules every colour space used is held to, whatever draws with it."""
        if space.rgb:
            self.add("E123", page, f"RGB colour ({space.label}) in {where}")
        elif space.independent and self.variant == "pdf/x-1a":
            self.add("E124", page, f"device-independent colour ({space.label}) in {where}", INDEPENDENT_HINT)
        spots = [name for name in space.spots if name not in PROCESS_COLOURANTS]
        if spots:
            self.add("E132", page, f"spot colour {', '.join(spots)} in {where}")

    def transparency(self, page: int, what: str) -> None:
        if self.variant in NO_TRANSPARENCY:
            self.add("E125", page, f"{what}, under {variant_name(self.variant)}", TRANSPARENCY_HINT)

    def ink(self, space: Space, values: tuple[float, ...], page: int, where: str) -> None:
        if space.kind in CMYK_KINDS and len(values) == 4 and sum(values) * 100 > self.ink_limit + 0.01:
            colour = " ".join(f"{value:g}" for value in values)
            message = f"{sum(values) * 100:.0f} % ink (CMYK {colour}) in {where}, over the limit of {self.ink_limit} %"
            self.add("E134", page, message, INK_HINT)

    def page(self, number: int, page: pikepdf.Page) -> None:
        resources = page.obj.get("/Resources", Dictionary())
        self.group(number, page.obj.get("/Group"), "the page")
        self.content(number, page, resources, "the page's content")
        for annotation in page.obj.get("/Annots", []):
            for appearance in annotation.get("/AP", Dictionary()).values():
                streams = [appearance] if isinstance(appearance, pikepdf.Stream) else list(appearance.values())
                for stream in streams:
                    self.form(number, stream, resources, "an annotation's appearance")

    def content(self, page: int, stream: Any, resources: Any, where: str, start: Graphics | None = None) -> None:
        """One content stream, operator by operator, with the colours set as the painting sees them (a form starts
        with those of the stream that draws it)."""
        state, stack = copy(start) if start else Graphics(), []
        for instruction in pikepdf.parse_content_stream(stream):
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                self.inline_image(page, instruction.iimage, resources, where)
                continue
            operator, operands = str(instruction.operator), instruction.operands
            if operator == "q":
                stack.append(Graphics(state.fill, state.fill_values, state.stroke, state.stroke_values))
            elif operator == "Q" and stack:
                state = stack.pop()
            elif operator in ("cs", "CS") and operands:
                space = space_of(operands[0], resources)
                self.judge(space, page, where)
                values = (0.0, 0.0, 0.0, 1.0) if space.kind in CMYK_KINDS else (0.0,)
                if operator == "cs":
                    state.fill, state.fill_values = space, values
                else:
                    state.stroke, state.stroke_values = space, values
            elif operator in ("sc", "scn", "SC", "SCN"):
                fill = operator.islower()
                values = tuple(numbers(operands))
                if fill:
                    state.fill_values = values
                else:
                    state.stroke_values = values
                self.ink(state.fill if fill else state.stroke, values, page, where)
                if operands and isinstance(operands[-1], Name):  # a pattern, by name
                    self.use(page, operator, operands[-1], resources, state)
            elif operator in ("g", "G", "k", "K", "rg", "RG"):
                kind = {"g": "/DeviceGray", "k": "/DeviceCMYK", "rg": "/DeviceRGB"}[operator.lower()]
                space, values = space_of(Name(kind), None), tuple(numbers(operands))
                self.judge(space, page, f"{where} ({operator})")
                self.ink(space, values, page, where)
                if operator.islower():
                    state.fill, state.fill_values = space, values
                else:
                    state.stroke, state.stroke_values = space, values
            elif operator in TEXT_OPERATORS:
                self.text(page, state, where)
            elif operator in USING_RESOURCES and operands and isinstance(operands[-1], Name):
                self.use(page, operator, operands[-1], resources, state)

    def text(self, page: int, state: Graphics, where: str) -> None:
        """Text is K only: no cyan, magenta or yellow under its black (a rich black misregisters in small type)."""
        if state.fill.kind in CMYK_KINDS and len(state.fill_values) == 4 and any(state.fill_values[:3]):
            colour = " ".join(f"{value:g}" for value in state.fill_values)
            self.add("E133", page, f"text in CMYK {colour} in {where}, not black only")

    def inline_image(self, page: int, image: pikepdf.PdfInlineImage, resources: Any, where: str) -> None:
        entries = list(image._image_object)  # the BI ... ID dictionary as written: pikepdf has no public accessor
        fields = {str(entries[i]): entries[i + 1] for i in range(0, len(entries) - 1, 2)}
        space = fields.get("/CS", fields.get("/ColorSpace"))
        if space is not None and not fields.get("/IM", fields.get("/ImageMask", False)):
            self.judge(space_of(space, resources), page, f"an inline image in {where}")

    def use(self, page: int, operator: str, name: Name, resources: Any, state: Graphics) -> None:
        """What a painting operator takes from the resources by name: an XObject (Do), a shading (sh), a pattern
        (scn, SCN), a graphics state (gs); each object is read where it is first used."""
        category = USING_RESOURCES[operator]
        found = resources.get(category, Dictionary()).get(name) if isinstance(resources, Dictionary) else None
        if found is None or not self.first_time(found):
            return
        label = f"{category[1:].lower()} {name}"
        if operator == "Do" and found.get("/Subtype") == Name.Image:
            self.image(page, found, f"image {name}")
        elif operator == "Do" and found.get("/Subtype") == Name.Form:
            self.form(page, found, resources, f"form {name}", state)
        elif operator == "sh":
            self.judge(space_of(found.get("/ColorSpace"), resources), page, f"shading {name}")
        elif operator == "gs":
            self.graphics_state(page, found, f"graphics state {name}")
        elif found.get("/PatternType") == 2:
            shading = found.get("/Shading", Dictionary())
            self.judge(space_of(shading.get("/ColorSpace"), resources), page, f"shading pattern {name}")
            self.graphics_state(page, found.get("/ExtGState"), label)
        else:
            self.form(page, found, resources, f"tiling pattern {name}")

    def graphics_state(self, page: int, state: Any, where: str) -> None:
        if not isinstance(state, Dictionary):
            return
        for key in ("/CA", "/ca"):
            if key in state and float(state[key]) < 1:
                self.transparency(page, f"opacity {float(state[key]):g} ({key[1:]}) in {where}")
        blend = state.get("/BM")
        blends = [str(b) for b in blend] if isinstance(blend, Array) else [str(blend)] if blend is not None else []
        if blends and not set(blends) & OPAQUE_BLENDS:
            self.transparency(page, f"blend mode {blends[0][1:]} in {where}")
        mask = state.get("/SMask")
        if isinstance(mask, Dictionary):
            self.transparency(page, f"a soft mask in {where}")
            group = mask.get("/G")
            if isinstance(group, pikepdf.Stream) and self.first_time(group):
                self.form(page, group, Dictionary(), f"the soft mask of {where}")

    def image(self, page: int, image: pikepdf.Stream, where: str) -> None:
        if image.get("/SMask") is not None or int(image.get("/SMaskInData", 0)):
            self.transparency(page, f"{where} with a soft mask (alpha)")
        if image.get("/ImageMask", False) or "/ColorSpace" not in image:
            return
        space = space_of(image.ColorSpace, None)
        self.judge(space, page, where)
        if space.kind in CMYK_KINDS and int(image.get("/BitsPerComponent", 8)) == 8:
            self.image_ink(page, image, where)

    def image_ink(self, page: int, image: pikepdf.Stream, where: str) -> None:
        """The darkest pixel of a CMYK image: its total ink."""
        picture = pikepdf.PdfImage(image).as_pil_image()
        if picture.mode != "CMYK":
            return
        darkest = max(map(sum, picture.getdata()), default=0)
        total = darkest * 100 / 255
        if total > self.ink_limit + 0.01:
            message = f"{total:.0f} % ink at the darkest pixel of {where}, over the limit of {self.ink_limit} %"
            self.add("E134", page, message, INK_HINT)

    def form(self, page: int, form: Any, parent: Any, where: str, state: Graphics | None = None) -> None:
        """A form XObject (or tiling pattern, soft mask, appearance): its group, then its content."""
        if not isinstance(form, pikepdf.Stream):
            return
        self.group(page, form.get("/Group"), where)
        self.content(page, form, form.get("/Resources", parent), where, state)

    def group(self, page: int, group: Any, where: str) -> None:
        if not isinstance(group, Dictionary) or group.get("/S") != Name.Transparency:
            return
        self.transparency(page, f"a transparency group on {where}")
        if "/CS" in group:
            self.judge(space_of(group.CS, None), page, f"the blending space of {where}")


def colour_findings(pdf: pikepdf.Pdf, variant: str, ink_limit: int) -> list[Finding]:
    walk = ColourWalk(variant, ink_limit)
    for number, page in enumerate(pdf.pages, start=1):
        walk.page(number, page)
    return list(walk.findings)
