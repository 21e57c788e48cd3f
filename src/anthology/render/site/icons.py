"""The site's icons and its sharing image, cut from the e-book's cover: the book looks the same in a browser tab,
on a phone's home screen, in a link shared on social media and on a retailer's shelf, with no design file to keep.

The cover is drawn once per process (the preview renders the site at every save) and only when the book's title,
subtitle or editors change."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image

from anthology.render.epub.cover import CoverText, cover_image

# File name -> side in px: a browser tab's icon (drawn at 16-32 px, 64 for sharp screens) and the home-screen
# icon iOS asks for (180 px).
ICONS = {"favicon.png": 64, "apple-touch-icon.png": 180}
SHARE_IMAGE = "cover.png"
SHARE_WIDTH = 600  # px: Open Graph asks for 600 px or more across for a large preview; the cover's proportions kept


@lru_cache(maxsize=4)
def drawn_cover(text: CoverText, fonts_dir: Path) -> Image.Image:
    return cover_image(text, fonts_dir)


def png(image: Image.Image) -> bytes:
    """PNG bytes with no timestamp or other varying chunk: the same book gives the same file."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def squared(cover: Image.Image, side: int) -> Image.Image:
    """The whole cover, reduced to fit a square of `side` px and centred on the cover's own ground colour."""
    scale = side / max(cover.size)
    reduced = cover.resize((max(1, round(cover.width * scale)), max(1, round(cover.height * scale))), Image.LANCZOS)
    ground = cover.getpixel((0, 0))
    square = Image.new("RGB", (side, side), ground)
    square.paste(reduced, ((side - reduced.width) // 2, (side - reduced.height) // 2))
    return square


def write_icons(text: CoverText, fonts_dir: Path, assets: Path, share: bool) -> list[str]:
    """The icons (and, with `share`, the sharing image) written into `assets`: the names written."""
    cover = drawn_cover(text, fonts_dir)
    written = []
    for name, side in ICONS.items():
        (assets / name).write_bytes(png(squared(cover, side)))
        written.append(name)
    if share:
        height = round(cover.height * SHARE_WIDTH / cover.width)
        (assets / SHARE_IMAGE).write_bytes(png(cover.resize((SHARE_WIDTH, height), Image.LANCZOS)))
        written.append(SHARE_IMAGE)
    return written


def share_size(text: CoverText, fonts_dir: Path) -> tuple[int, int]:
    """The sharing image's width and height, for its Open Graph tags."""
    cover = drawn_cover(text, fonts_dir)
    return SHARE_WIDTH, round(cover.height * SHARE_WIDTH / cover.width)
