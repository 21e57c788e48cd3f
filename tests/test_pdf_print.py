"""The print PDF as a reader and a printer see it: book structure, running heads and folios, footnotes per chapter,
the two variants, and what the layout measured. Reads the session's one build of the real book (`built`)."""

from __future__ import annotations

import io
import itertools
import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pikepdf
import pytest
from fontTools.ttLib import TTFont
from PIL import ImageCms
from pypdf import PdfReader
from pypdf.generic import ContentStream

from anthology.check.preflight import minimum_gutter_in
from anthology.check.preflight.pdfx import claimed_versions
from anthology.render.print.book_html import RunningHeads, geometry_for, sentence
from anthology.render.print.typeset import ICC_PROFILE, report_path
from outputs import letters

STYLES = Path(__file__).resolve().parents[1] / "styles"
HEAD_ZONE = 0.62 * 72  # running heads sit above the text block (top margin 0.8 in)
FOLIO_ZONE = 0.62 * 72  # folios sit below it (bottom margin 0.8 in)
FOOTNOTE_SIZE = (8.0, 9.0)


def screen_path(built) -> Path:
    return built.pdf.with_name(built.pdf.stem + "-screen.pdf")


@cache
def page_lines(path: Path) -> list[list[tuple[float, float, str]]]:
    """Per page, the text runs as (y from the bottom, font size, text)."""
    pages = []
    for page in PdfReader(path).pages:
        runs: list[tuple[float, float, str]] = []

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float, runs=runs) -> None:
            if text.strip():
                scale = abs(tm[3] * cm[3]) if tm and cm else 1.0
                runs.append((tm[5] * cm[3] + cm[5], round(size * scale, 2), text))

        page.extract_text(visitor_text=visit)
        pages.append(runs)
    return pages


def zone_text(path: Path, number: int, top: bool) -> str:
    """Text in the top (running head) or bottom (folio) margin of a 1-based page."""
    height = float(PdfReader(path).pages[number - 1].mediabox.height)
    runs = page_lines(path)[number - 1]
    chosen = [t for y, _, t in runs if (y > height - HEAD_ZONE if top else y < FOLIO_ZONE)]
    return " ".join(chosen).strip()


@cache
def destinations(path: Path) -> dict[str, int]:
    """The 1-based page of every named destination of the screen PDF (same pages as the print PDF)."""
    reader = PdfReader(path)
    return {str(name): reader.get_destination_page_number(dest) + 1 for name, dest in reader.named_destinations.items()}


def section_end(built, starts: dict[str, int], slug: str) -> int:
    """The page after the last page of a top-level text: where the next part, chapter or matter begins."""
    book = built.book
    anchors = [p.anchor for p in book.parts] + [c.slug for c in book.chapters] + [t.slug for t in book.back]
    later = [starts[a] for a in anchors if a in starts and starts[a] > starts[slug]]
    return min(later, default=len(PdfReader(built.pdf).pages) + 1)


@pytest.fixture(scope="module")
def starts(built) -> dict[str, int]:
    """The first page of each chapter, part and matter text."""
    assert len(PdfReader(screen_path(built)).pages) == len(PdfReader(built.pdf).pages)
    return destinations(screen_path(built))


def assert_bundled_cmyk_intent(intent) -> None:
    """The output intent embeds the bundled profile unchanged, a CMYK output (printer) profile, and is named by
    its description."""
    profile = intent["/DestOutputProfile"].get_object().get_data()
    bundled = (STYLES / ICC_PROFILE).read_bytes()
    assert profile == bundled
    assert profile[12:20] == b"prtrCMYK"  # ICC header: device class, colour space
    description = ImageCms.ImageCmsProfile(io.BytesIO(bundled)).profile.profile_description
    assert str(intent["/OutputConditionIdentifier"]) == description


def test_print_pdf_is_pdfx_with_an_output_intent_even_and_six_by_nine(built):
    reader = PdfReader(built.pdf)
    with pikepdf.open(built.pdf) as pdf:
        assert "PDF/X-4" in claimed_versions(pdf)
    intents = reader.trailer["/Root"]["/OutputIntents"]
    assert intents[0].get_object()["/S"] == "/GTS_PDFX"
    assert_bundled_cmyk_intent(intents[0].get_object())
    assert len(reader.pages) % 2 == 0
    assert {(float(p.trimbox.width), float(p.trimbox.height)) for p in reader.pages} == {(432.0, 648.0)}


COLOUR_OPERATORS = {b"k", b"K", b"sc", b"SC", b"scn", b"SCN", b"g", b"G", b"rg", b"RG"}


def test_print_pdf_text_and_rules_are_black_ink_only(built):
    """Every colour set in the printer's file is DeviceCMYK 0 0 0 1: black ink, no rich black, no tint."""
    reader = PdfReader(built.pdf)
    colours = set()
    for page in reader.pages:
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator in COLOUR_OPERATORS:
                colours.add((operator.decode().lower(), tuple(float(o) for o in operands)))
            elif operator in (b"cs", b"CS"):
                colours.add(("space", (str(operands[0]),)))
    assert colours == {("scn", (0.0, 0.0, 0.0, 1.0)), ("space", ("/DeviceCMYK",))}, colours


def postscript_name(data: bytes) -> str:
    return str(TTFont(io.BytesIO(data))["name"].getDebugName(6))


def test_embedded_fonts_are_the_bundled_files(built):
    """The fonts in the PDF come from styles/fonts, never from an EB Garamond installed on the machine."""
    bundled = {postscript_name(path.read_bytes()) for path in (STYLES / "fonts").glob("*.ttf")}
    reader = PdfReader(built.pdf)
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            program = (descriptor.get("/FontFile3") or descriptor.get("/FontFile2")).get_object()
            embedded.add(postscript_name(program.get_data()))
    assert embedded and embedded <= bundled, embedded - bundled


def test_front_matter_in_order(built):
    config = built.book.config
    texts = [" ".join(t for _, _, t in page) for page in page_lines(built.pdf)[:5]]
    assert letters(config.title) in letters(texts[0])  # half-title
    assert texts[1] == ""  # its verso is blank
    assert letters(config.subtitle or "") in letters(texts[2]) and "Edited by" in texts[2]  # title page
    copyright_page = letters(texts[3])
    assert letters(config.edition) in copyright_page and letters(config.identifier) in copyright_page
    for chapter in built.book.chapters:
        assert letters(f"Chapter {chapter.number}, “{chapter.title}”") in copyright_page
        assert letters(f"Rights: {chapter.meta.rights}") in copyright_page
    assert texts[4].startswith("Contents")


def test_contents_gives_the_page_each_text_starts_on(built, starts):
    """Every contents line ends with the page its text starts on (a flex anchor would print 0). The text is read
    as laid out on the page: the numbers are drawn at the merge, after the rest of the page."""
    text = subprocess.run(
        ["pdftotext", "-layout", "-f", "5", "-l", "5", str(built.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for chapter in built.book.chapters:
        page = starts[chapter.slug]
        pattern = re.escape(chapter.title[-12:]) + r"[\s.\u00a0]*" + str(page)
        assert re.search(pattern, text), f"{chapter.title} → {page} not in contents:\n{text}"
    for part in built.book.parts:
        assert re.search(re.escape(part.title[-10:]) + r"[\s.\u00a0]*" + str(starts[part.anchor]), text)


def test_chapters_and_parts_open_on_rectos_without_heads_or_folios(built, starts):
    for anchor in [c.slug for c in built.book.chapters] + [p.anchor for p in built.book.parts]:
        page = starts[anchor]
        assert page % 2 == 1, f"{anchor} opens on verso page {page}"
        assert zone_text(built.pdf, page, top=True) == "", f"running head on the opener of {anchor}"
        assert zone_text(built.pdf, page, top=False) == "", f"folio on the opener of {anchor}"


def test_running_heads_author_on_versos_title_on_rectos_and_folios(built, starts):
    heads = RunningHeads(built.book.config)
    checked = 0
    for chapter in built.book.chapters:
        for page in range(starts[chapter.slug] + 1, section_end(built, starts, chapter.slug)):
            head = zone_text(built.pdf, page, top=True)
            if not head and not page_lines(built.pdf)[page - 1]:
                continue  # a blank verso before the next opener
            expected = heads.chapter_verso(chapter) if page % 2 == 0 else heads.chapter_recto(chapter)
            assert letters(head) == letters(expected), f"page {page}: {head!r}"
            assert zone_text(built.pdf, page, top=False) == str(page)
            checked += 1
    assert checked > 100


def test_blank_pages_are_truly_blank_and_the_last_page_is_blank(built):
    """Blank pages are versos before a recto opener, except at the end: the last page is blank (and, when the
    book's text ends on a verso, the recto before it)."""
    pages = page_lines(built.pdf)
    blank = [n for n, runs in enumerate(pages, start=1) if not runs]
    assert blank and blank[-1] == len(pages)
    trailing = len(pages) - 1 if len(pages) - 1 in blank else len(pages)
    for n in blank:
        assert n % 2 == 0 or n >= trailing, f"blank page {n} is a recto inside the book"
    assert len(pages) - trailing <= 1


@cache
def footnote_numbers(path: Path) -> list[set[int]]:
    """Per page, the numbers of the footnotes set at the foot (footnote size, starting 'n.')."""
    result = []
    for runs in page_lines(path):
        numbers = set()
        for _, size, text in runs:
            match = re.match(r"\s*(\d+)\.\u00a0", text)
            if match and FOOTNOTE_SIZE[0] <= size <= FOOTNOTE_SIZE[1]:
                numbers.add(int(match.group(1)))
        result.append(numbers)
    return result


def test_footnotes_are_numbered_from_one_in_each_chapter(built, starts):
    report = json.loads(report_path(built.pdf).read_text())
    per_page = footnote_numbers(built.pdf)
    with_notes = 0
    for chapter in built.book.chapters:
        # The headnote's notes, if any, come first: the count runs through the whole chapter.
        headnote = chapter.headnote.slug if chapter.headnote else None
        total = report["footnotes_total"].get(chapter.slug, 0) + report["footnotes_total"].get(headnote, 0)
        end = section_end(built, starts, chapter.slug)
        numbers = set().union(*per_page[starts[chapter.slug] - 1 : end - 1])
        assert numbers == set(range(1, total + 1)), f"{chapter.slug}: {sorted(numbers)[:10]}…"
        with_notes += bool(total)
    assert with_notes >= 2


def test_the_footnote_report_agrees_with_the_pages(built):
    """Each footnote reported as separated from its call is, in the PDF, on its reported page, not the call's."""
    report = json.loads(report_path(built.pdf).read_text())
    per_page = footnote_numbers(built.pdf)
    print(f"footnotes separated from their calls: {sum(len(v) for v in report['footnotes_separated'].values())}")
    for slug, separated in report["footnotes_separated"].items():
        print(f"  {slug}: {len(separated)} of {report['footnotes_total'][slug]}: {separated}")
        for number, call_page, text_page in separated:
            assert call_page != text_page
            if text_page:
                assert number in per_page[text_page - 1]
            else:  # reported missing: the note's text is on no page near its call
                assert not any(number in per_page[p] for p in range(max(0, call_page - 3), call_page + 3))
    assert report["pages"] == len(per_page)
    assert report["gutter_in"] >= minimum_gutter_in(report["pages"])


def test_no_footnote_text_is_lost(built):
    """WeasyPrint 70 can drop a footnote moved off its call's page; the build's passes must leave none lost."""
    report = json.loads(report_path(built.pdf).read_text())
    lost = {slug: [n for n, _, text in notes if not text] for slug, notes in report["footnotes_separated"].items()}
    assert not {slug: numbers for slug, numbers in lost.items() if numbers}


def test_screen_pdf_has_links_bookmarks_and_metadata(built):
    reader = PdfReader(screen_path(built))
    titles = []

    def walk(items: list) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(reader.outline)
    for part in built.book.parts:
        assert f"Part {part.number}: {part.title}" in titles
    for chapter in built.book.chapters:
        assert chapter.title in titles
    assert len(titles) > len(built.book.chapters) + len(built.book.parts)  # sections too
    links = sum(len(page.get("/Annots") or []) for page in reader.pages)
    assert links >= len(built.book.chapters)
    assert reader.metadata.title.startswith(built.book.config.title)
    intents = reader.trailer["/Root"]["/OutputIntents"]  # a reader's file: sRGB, not a printing condition
    assert [str(i.get_object()["/OutputConditionIdentifier"]) for i in intents] == [
        "IEC 61966-2-1 Default RGB Colour Space - sRGB"
    ]


def test_gutter_widens_to_the_printers_minimum_for_the_page_count(built):
    config = built.book.config
    for pages, inches in ((100, 0.75), (400, 0.75), (650, 0.75), (750, 0.875)):
        assert geometry_for(config, pages).inner == pytest.approx(inches * 72, abs=0.01)
        assert geometry_for(config, pages).inner >= minimum_gutter_in(pages) * 72


def test_front_matter_phrases_print_as_sentences():
    assert sentence("not stated in the source") == "Not stated in the source."
    assert sentence("Named in the byline (line 6).") == "Named in the byline (line 6)."


def test_the_patched_releases_are_the_pinned_ones():
    """patches.py checks the installed WeasyPrint and pydyf against its own list of pins: that list is
    pyproject.toml's, and the installed releases are those."""
    import tomllib
    from importlib import metadata

    from anthology.render.print.patches import PINNED

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    pins = dict(
        re.fullmatch(r"([A-Za-z0-9_.-]+)==([^;\s]+)", pin).groups()
        for pin in (d.split("#")[0].strip() for d in pyproject["project"]["dependencies"])
        if "==" in pin
    )
    assert {name: pins[name] for name in PINNED} == PINNED
    assert {name: metadata.version(name) for name in PINNED} == PINNED


def test_a_patch_stops_on_code_it_was_not_written_for():
    """Each patch first checks that the function it patches holds the code it expects: a function that does not
    stops the build with a message naming the pinned release, and nothing is patched."""
    import pydyf
    from weasyprint.layout import block

    from anthology.render.print import patches

    with pytest.raises(patches.UnpinnedRelease, match=r"weasyprint==70\.0 \(pinned in pyproject\.toml\)"):
        patches.check_pinned("weasyprint", block._linebox_layout, "code WeasyPrint does not have")
    with pytest.raises(patches.UnpinnedRelease, match=r"pydyf==0\.13\.0"):
        patches.check_pinned("pydyf", pydyf, *patches.PYDYF_COMPRESSION, "zlib.compressobj(level=1)")
    patches.keep_footnotes_with_calls()
    patches.compress_at_flate_level()
    assert block._anthology_patched and pydyf.zlib is patches._FlateForPydyf


# The figures of issue 31's targets this book's pages meet (render/print/composition.py measures them in the PDF;
# the others are reported beside the PDF and by `invoke preflight`, and are not yet met).
MET_TARGETS = ("stranded_captions",)


def test_the_real_books_pages_meet_the_typesetting_targets_reached(built):
    """Measured in the printer's PDF: the figures met stay within the issue's targets; no capitalised word (a name)
    is broken, no break leaves fewer than 3 letters on either side, and every ordered list keeps its `start`."""
    from anthology.check.typesetting import TARGETS
    from anthology.render.print.composition import read_pages

    figures = json.loads(report_path(built.pdf).read_text(encoding="utf-8"))["composition"]["figures"]
    assert {name: figures[name] for name in MET_TARGETS if figures[name] > TARGETS[name]} == {}
    broken = [
        (line.words[-1].text, after.words[0].text)
        for page in read_pages(built.pdf, 0, float("inf"))
        for line, after in itertools.pairwise(page.text)
        if line.block == after.block and line.words[-1].text.endswith("\u2010")
    ]
    assert broken
    assert [word for word, _ in broken if word[0].isupper()] == []
    short = [(word, rest) for word, rest in broken if len(word.rstrip("\u2010").split("-")[-1]) < 3]
    short += [(word, rest) for word, rest in broken if sum(ch.isalpha() for ch in rest) < 3]
    assert short == []
