"""The e-book's cover image: title, subtitle and editors set in the bundled EB Garamond on a plain ground.

Drawn with Pillow so that no design file is needed; the same book gives the same PNG bytes (Pillow writes no
timestamp into a PNG, and the fonts are bundled), which keeps the EPUB reproducible.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# 1600 x 2560 px (1 : 1.6) is the size the main e-book retailers recommend for covers.
WIDTH, HEIGHT = 1600, 2560
MARGIN = 160
GROUND = (92, 24, 26)  # a deep red, as the book's subject suggests
INK = (246, 238, 222)  # warm paper white
RULE_WIDTH = 6


@dataclass(frozen=True)
class CoverText:
    """What the cover says."""

    title: str
    subtitle: str | None
    editors: str  # "Edited by …"


def wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy line breaking by measured width: a long title takes as many lines as it needs."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def draw_centered(
    draw: ImageDraw.ImageDraw, lines: list[str], font: ImageFont.FreeTypeFont, top: int, leading: float
) -> int:
    """Set lines centred from `top`; returns the y below the last line."""
    size = font.size
    for number, line in enumerate(lines):
        y = top + int(number * size * leading)
        draw.text((WIDTH // 2, y), line, font=font, fill=INK, anchor="ma")
    return top + int(len(lines) * size * leading)


def cover_png(text: CoverText, fonts_dir: Path) -> bytes:
    """The cover as PNG bytes."""
    buffer = io.BytesIO()
    cover_image(text, fonts_dir).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def cover_image(text: CoverText, fonts_dir: Path) -> Image.Image:
    """The cover drawn at full size: the e-book's cover, and the site's icons and sharing image cut from it."""
    image = Image.new("RGB", (WIDTH, HEIGHT), GROUND)
    draw = ImageDraw.Draw(image)
    regular = fonts_dir / "EBGaramond12-Regular.ttf"
    italic = fonts_dir / "EBGaramond12-Italic.ttf"
    title_font = ImageFont.truetype(str(regular), 150)
    subtitle_font = ImageFont.truetype(str(italic), 96)
    editors_font = ImageFont.truetype(str(regular), 72)
    inner = WIDTH - 2 * MARGIN
    draw.rectangle((MARGIN // 2, MARGIN // 2, WIDTH - MARGIN // 2, HEIGHT - MARGIN // 2), outline=INK, width=RULE_WIDTH)
    y = draw_centered(draw, wrap(draw, text.title, title_font, inner), title_font, 520, 1.18)
    y += 90
    draw.line((WIDTH // 2 - 180, y, WIDTH // 2 + 180, y), fill=INK, width=RULE_WIDTH)
    if text.subtitle:
        draw_centered(draw, wrap(draw, text.subtitle, subtitle_font, inner), subtitle_font, y + 90, 1.25)
    editors_lines = wrap(draw, text.editors, editors_font, inner)
    draw_centered(draw, editors_lines, editors_font, HEIGHT - 420 - len(editors_lines) * 90, 1.25)
    return image
