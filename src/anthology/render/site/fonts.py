"""The site's fonts as WOFF2 subsets: Latin and every character the book's pages use, nothing else.

The bundled TTF faces weigh 0.9 MB; a reader's phone needs only the glyphs the book shows. The subset is computed
from the finished pages at each build, so an edit that brings a new character brings its glyph, and it is
deterministic: same faces and same characters give the same bytes (the font's own timestamp is kept, not renewed).
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

# Basic Latin and Latin-1: a search box or a later edit may show any of these, so they are always in.
LATIN = frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100))
# The OpenType features screen.css asks for (kerning, ligatures, figure styles, small caps, superiors).
FEATURES = ["kern", "liga", "clig", "calt", "onum", "lnum", "tnum", "pnum", "smcp", "c2sc", "sups", "ccmp", "mark"]


def woff2_name(ttf_name: str) -> str:
    return Path(ttf_name).with_suffix(".woff2").name


def characters(texts: list[str]) -> frozenset[int]:
    """The code points of the pages (markup included: it is ASCII, in the subset anyway) and of Latin."""
    return LATIN | frozenset(ord(char) for text in texts for char in set(text) if ord(char) >= 0x20)


def subset_woff2(face: Path, codepoints: frozenset[int]) -> bytes:
    """The face cut down to `codepoints`, as WOFF2 (cached: the live preview rebuilds the site on every save)."""
    digest = hashlib.sha256(face.read_bytes()).hexdigest()
    return _subset(face, digest, codepoints)


@functools.lru_cache(maxsize=16)
def _subset(face: Path, digest: str, codepoints: frozenset[int]) -> bytes:
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = FEATURES
    options.name_IDs = ["*"]  # the licence and copyright notices stay in the font
    options.notdef_outline = True
    options.hinting = False  # browsers on high-resolution screens ignore TrueType hints; they are a third of a face
    options.desubroutinize = True
    options.ignore_missing_unicodes = True
    options.drop_tables = [*options.drop_tables, "FFTM"]  # FontForge's timestamps: nothing a browser reads
    font = TTFont(face, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(font)
    out = io.BytesIO()
    font.flavor = "woff2"
    font.save(out, reorderTables=True)
    return out.getvalue()


def write_fonts(fonts_dir: Path, names: tuple[str, ...], texts: list[str], target: Path) -> None:
    """Each face in `names` (TTF files of `fonts_dir`) as a WOFF2 subset in `target`."""
    target.mkdir(parents=True, exist_ok=True)
    codepoints = characters(texts)
    for name in names:
        (target / woff2_name(name)).write_bytes(subset_woff2(fonts_dir / name, codepoints))
