"""The e-book's fonts cut to the characters its text uses, each shipped with its licence, faces no text uses left
out: whole, the fonts were 63 % of the file (493 of 787 KB on the anthology).

The cut is made by fontTools' subsetter, which is deterministic given the same fonts and characters (the font's
own timestamp is kept). A face is told by its own style bits (head.macStyle), not by its file name; the bold
italic face is shipped only when the text sets bold inside italic or italic inside bold (elements whose style
sheet rules make them bold or italic: strong, b, th; em, i, cite, h4). Each font's licence is the text file beside
it whose name ends with the font file's family part: `OFL-EBGaramond12.txt` for `EBGaramond12-Italic.ttf`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path, PurePosixPath

from fontTools import subset
from fontTools.ttLib import TTFont
from lxml import etree

from anthology.diagnostics import BuildError, Diagnostic
from anthology.render.epub.files import Package

XHTML = "http://www.w3.org/1999/xhtml"
OPF = "http://www.idpf.org/2007/opf"
BOLD = "self::h:strong or self::h:b or self::h:th"
ITALIC = "self::h:em or self::h:i or self::h:cite or self::h:h4"
BOLD_ITALIC = f"//*[{BOLD}]//*[{ITALIC}] | //*[{ITALIC}]//*[{BOLD}]"
# Characters a reading system may set though the text has none: spaces, and hyphens where it breaks words.
ALWAYS = " \u00a0-\u2010\u00ad"
FEATURES = ["smcp"]  # small capitals (the stylesheet's font-variant), beside fontTools' default features


def characters(package: Package) -> set[str]:
    """Every character of the XHTML bodies (the text, the contents list, the notes), with its other case: small
    capitals may be synthesised from capitals."""
    found = set(ALWAYS)
    for name, tree in package.trees.items():
        if name.endswith(".xhtml"):
            for text in tree.xpath("//h:body//text()", namespaces={"h": XHTML}):
                found.update(str(text))
    return found | {c.upper() for c in found if len(c.upper()) == 1} | {c.lower() for c in found if len(c.lower()) == 1}


def bold_italic_used(package: Package) -> bool:
    return any(
        tree.xpath(BOLD_ITALIC, namespaces={"h": XHTML})
        for name, tree in package.trees.items()
        if name.endswith(".xhtml")
    )


def cut(data: bytes, chars: set[str]) -> tuple[bytes, int]:
    """The font reduced to `chars`, and its style bits (1 bold, 2 italic)."""
    font = TTFont(io.BytesIO(data), recalcTimestamp=False)
    style = int(font["head"].macStyle) & 3
    options = subset.Options()
    options.layout_features = [*options.layout_features, *FEATURES]
    options.name_IDs, options.name_languages = ["*"], ["*"]  # the licence's name records stay in the font
    options.drop_tables = [*options.drop_tables, "FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue(), style


def licence_for(font: str, fonts_dir: Path) -> Path:
    family = font.split("-")[0]
    found = sorted(path for path in fonts_dir.glob("*.txt") if path.stem.split("-")[-1] == family)
    if not found:
        raise BuildError(
            [
                Diagnostic(
                    "E156",
                    f"the font {font} has no licence file beside it (a .txt whose name ends with '-{family}')",
                    file=fonts_dir / font,
                    hint="put the font's licence (e.g. OFL-<family>.txt) in the fonts folder: the EPUB ships it",
                )
            ]
        )
    return found[0]


def subset_fonts(package: Package, opf: etree._ElementTree, fonts_dir: Path) -> None:
    """Each font of the package cut to the book's characters, with its licence added; unused faces removed."""
    manifest = opf.find(f"{{{OPF}}}manifest")
    assert manifest is not None
    chars, keep_bold_italic = characters(package), bold_italic_used(package)
    licences: dict[str, Path] = {}
    dropped: list[str] = []
    for item in list(manifest):
        href = str(item.get("href", ""))
        if not href.endswith((".ttf", ".otf")):
            continue
        name = package.path(href)
        data, style = cut(package.files[name], chars)
        if style == 3 and not keep_bold_italic:
            del package.files[name]
            manifest.remove(item)
            dropped.append(PurePosixPath(href).name)
            continue
        package.files[name] = data
        licence = licence_for(PurePosixPath(href).name, fonts_dir)
        licences[str(PurePosixPath(href).parent / licence.name)] = licence
    tail = manifest[-1].tail if len(manifest) else "\n  "
    for href, licence in sorted(licences.items()):
        package.files[package.path(href)] = licence.read_bytes()
        item = etree.SubElement(manifest, f"{{{OPF}}}item", id=f"licence-{licence.stem}", href=href)
        item.set("media-type", "text/plain")
        item.tail = tail
    if len(manifest):
        manifest[-1].tail = "\n  "
    for name in [name for name in package.files if name.endswith(".css")]:
        package.files[name] = without_faces(package.files[name], dropped)


def without_faces(css: bytes, fonts: list[str]) -> bytes:
    """The stylesheet without the @font-face rules of fonts not shipped (a reading system would look for them)."""
    text = css.decode()
    for font in fonts:
        text = re.sub(r"@font-face\s*\{[^}]*/" + re.escape(font) + r"\)[^}]*\}\n?", "", text)
    return text.encode()
