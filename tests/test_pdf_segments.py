"""The print edition is laid out in segments (one text each, in parallel processes, cached by content) and merged.
These tests hold it to the promise that makes that acceptable: the merged book is the book WeasyPrint makes of the
whole document at once, and an edit re-lays out only what it changes, giving the file a clean build gives."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pypdf
from weasyprint import HTML

from anthology.render.print.engine import ConfinedFetcher
from anthology.render.print.patches import keep_footnotes_with_calls
from anthology.render.print.typeset import PRINT, layout_css, report_path
from conftest import MINIBOOK, ROOT, STYLES
from outputs import letters


def pages_text(path: Path) -> list[str]:
    """Each page's text, letters and digits only (extraction order differs for a stamped folio)."""
    return [letters(page.extract_text() or "") for page in pypdf.PdfReader(path).pages]


def sorted_letters(text: str) -> str:
    return "".join(sorted(text))


def page_lines(path: Path) -> list[dict[int, list[tuple[int, str]]]]:
    """Each page's lines (by baseline, in points) as (x, word) pairs, from pdftotext's word boxes."""
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        lines: dict[int, list[tuple[int, str]]] = {}
        for x, y, word in re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<', page):
            lines.setdefault(round(float(y)), []).append((round(float(x)), word))
        pages.append({y: sorted(words) for y, words in lines.items()})
    return pages


def misplaced(merged: dict[int, list[tuple[int, str]]], alone: dict[int, list[tuple[int, str]]]) -> list[str]:
    """Lines whose words differ, or whose words do not start where the whole document starts them. A printed page
    number is drawn on its own, so the merged PDF may split a word there ("110" and ")."): its lines are compared
    without spaces, and each word of the whole document must start where one of the merged line's words does."""
    problems = []
    for y in sorted(set(merged) | set(alone)):
        ours, theirs = merged.get(y, []), alone.get(y, [])
        if "".join(w for _, w in ours) != "".join(w for _, w in theirs):
            problems.append(f"line at {y} pt: {' '.join(w for _, w in ours)!r} != {' '.join(w for _, w in theirs)!r}")
            continue
        starts = [x for x, _ in ours]
        for x, word in theirs:
            if not any(abs(x - start) <= 1 for start in starts):
                problems.append(f"line at {y} pt: {word!r} at x {x} pt is not where the merged PDF starts a word")
    return problems


def print_cache(book: Path, out: Path) -> Path:
    """The print layout's cache of this book in this output folder (pages.json, segments/, book-print.html)."""
    from anthology.build import book_slug
    from anthology.model import Project
    from anthology.render.print import renderer

    return renderer.cache_folder(Project(book_dir=book, styles_dir=STYLES, build_dir=out), book_slug(book) or "")


def assert_whole_document(pdf: Path, book_dir: Path, build_dir: Path, tmp_path: Path) -> None:
    """The merged PDF has the pages WeasyPrint makes of the whole book's print HTML laid out at once."""
    whole = print_cache(book_dir, build_dir) / "book-print.html"
    fetcher = ConfinedFetcher([STYLES, book_dir])
    base = str(STYLES.resolve()) + "/"
    stylesheet, profiles = layout_css(PRINT, base, fetcher)
    reference = tmp_path / "whole.pdf"
    keep_footnotes_with_calls()  # the one rule of WeasyPrint's the build switches off, in its workers as here
    HTML(filename=str(whole), base_url=base, url_fetcher=fetcher).write_pdf(
        reference, stylesheets=[stylesheet], color_profiles=profiles
    )
    merged, alone = pages_text(pdf), pages_text(reference)
    assert len(merged) == len(alone) > 150
    # Same pages with the same text (folios included: the merge stamps them, the whole document prints them).
    different = [
        n for n, (a, b) in enumerate(zip(merged, alone, strict=True), 1) if sorted_letters(a) != sorted_letters(b)
    ]
    assert different == [], f"pages whose text differs: {different[:10]}"
    # And every word where the whole document puts it: the page numbers printed at the merge included.
    wrong = {
        n: problems[:2]
        for n, (ours, theirs) in enumerate(zip(page_lines(pdf), page_lines(reference), strict=True), 1)
        if (problems := misplaced(ours, theirs))
    }
    assert wrong == {}, f"{len(wrong)} pages with words out of place: {dict(list(wrong.items())[:3])}"


def test_merged_print_pdf_is_the_whole_document_laid_out_at_once(built, tmp_path):
    assert_whole_document(built.pdf, built.project.book_dir, built.project.build_dir, tmp_path)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_an_edit_lays_out_only_its_chapter_and_gives_the_clean_build(tmp_path):
    book, out, clean = tmp_path / "book", tmp_path / "out", tmp_path / "clean"
    shutil.copytree(MINIBOOK, book)
    assert run("pdf", "--book", str(book), "--out", str(out)).returncode == 0
    first = json.loads(report_path(out / "minibook.pdf").read_text())
    unchanged = run("pdf", "--book", str(book), "--out", str(out))
    assert "nothing to do" in unchanged.stderr, unchanged.stderr
    text = (book / "texts" / "beta.md").read_text()
    (book / "texts" / "beta.md").write_text(
        text.replace("Closing sentence of beta.", "Closing sentence of beta, edited.")
    )
    edited = run("pdf", "--book", str(book), "--out", str(out))
    assert edited.returncode == 0, edited.stderr
    report = json.loads(report_path(out / "minibook.pdf").read_text())
    # The chapter's segment alone is laid out again (the others, and every page number, are unchanged).
    assert report["segments_laid_out"] == 1 < first["segments_laid_out"]
    assert run("pdf", "--book", str(book), "--out", str(clean)).returncode == 0
    assert (out / "minibook.pdf").read_bytes() == (clean / "minibook.pdf").read_bytes()
    assert "edited" in "".join(pages_text(out / "minibook.pdf"))


def page_images(path: Path, first: int, last: int, folder: Path) -> list[bytes]:
    """Pages first..last (1-based) of a PDF as greyscale images."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / f"{path.stem}-{first}"
    subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-f", str(first), "-l", str(last), str(path), str(prefix)], check=True
    )
    return [image.read_bytes() for image in sorted(folder.glob(f"{prefix.name}-*.pgm"))]


def edit_late_in(text: Path) -> None:
    """One word changed three quarters of the way through a text's prose, as an editor proofing would."""
    lines = text.read_text(encoding="utf-8").split("\n")
    prose = [i for i, line in enumerate(lines) if " the " in line and not line.startswith(("#", ">", "[", "|", "-"))]
    index = prose[len(prose) * 3 // 4]
    lines[index] = lines[index].replace(" the ", " thy ", 1)
    text.write_text("\n".join(lines), encoding="utf-8")


def edited_copy(built, tmp_path: Path) -> tuple[Path, Path, Any]:
    """A copy of the built book and of its build's cache (a later build resumes from it), and the longest
    chapter's layout there."""
    from anthology.render.print import segments

    book, out = tmp_path / "book", tmp_path / "out"
    shutil.copytree(built.project.book_dir, book)
    shutil.copytree(built.project.build_dir / ".cache", out / ".cache")
    print_cache(built.project.book_dir, out).rename(print_cache(book, out))  # the book's copy owns the copied cache
    state = json.loads((print_cache(book, out) / "pages.json").read_text())
    results = [segments.Result.load(print_cache(book, out) / "segments" / key) for key in state["segments"].values()]
    longest = max((r for r in results if (book / "texts" / f"{r.name}.md").exists()), key=lambda r: r.pages)
    shutil.copytree(print_cache(book, out) / "segments" / state["segments"][longest.name], tmp_path / "previous")
    return book, out, longest


def whole_layout(book: Path, out: Path, name: str, folder: Path) -> tuple[Any, Any]:
    """The segment laid out whole, here, from the HTML the last build gave the worker; and that job."""
    from anthology.load import load_book
    from anthology.model import Project
    from anthology.render.print import book_html, segments, typeset, worker
    from anthology.resolve.book import resolve_book

    state = json.loads((print_cache(book, out) / "pages.json").read_text())
    resolved = resolve_book(load_book(book), STYLES)
    project = Project(book_dir=book, styles_dir=STYLES, build_dir=out)
    html = book_html.print_html(resolved, project, state["anchors"], state["page_count"])
    segment = next(part for part in segments.split(html) if part.name == name)
    options = {typeset.PRINT.name: typeset.variant_options(resolved.book.config, typeset.PRINT)}
    job = segments.Job("whole", segment, str(folder), str(STYLES), str(book), ("print", "screen"), options)
    result = worker.render_segment(job)
    derive_screens(folder, result)
    return result, job


def derive_screens(folder: Path, result: Any) -> None:
    """The screen PDFs of a layout made here, not by a build: derived as the build's workers do."""
    from anthology.render.print import segments

    for prefix in segments.underived(folder, result):
        segments.derive_screen(str(folder), prefix)


def assert_same_layout(ours: Any, folder: Path, whole: Any, whole_folder: Path, tmp_path: Path) -> None:
    """A resumed layout has the whole layout's measurements and page images (its pages from several files)."""
    from dataclasses import asdict

    derive_screens(folder, ours)
    assert whole.files == [] and ours.files != []
    files = ("files", "digests")  # which files hold its pages, and their digests
    mine = {key: value for key, value in asdict(ours).items() if key not in files}
    assert mine == {key: value for key, value in asdict(whole).items() if key not in files}
    for variant in ("print", "screen"):
        alone = page_images(whole_folder / f"{variant}.pdf", 1, whole.pages, tmp_path / f"alone-{whole_folder.name}")
        pieces = [
            image
            for prefix, start, stop in ours.files
            for image in page_images(folder / f"{prefix}{variant}.pdf", start + 1, stop, tmp_path / folder.name)
        ]
        assert len(pieces) == len(alone) == whole.pages
        assert [n for n, (a, b) in enumerate(zip(pieces, alone, strict=True)) if a != b] == [], (folder, variant)


def font_programs(path: Path) -> int:
    """How many embedded font programs (subsets) a PDF holds."""
    import pikepdf

    with pikepdf.open(path) as document:
        return sum(
            1
            for obj in document.objects
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor"
        )


def build_pdf(book: Path, out: Path) -> dict[str, Any]:
    from anthology.build import build
    from anthology.model import Project

    build(Project(book_dir=book, styles_dir=STYLES, build_dir=out), ["pdf", "screen"])
    return json.loads((print_cache(book, out) / "pages.json").read_text())


def test_an_edit_resumes_its_chapter_where_the_text_changed_and_gives_the_whole_layout(built, tmp_path):
    """An edit late in the longest chapter lays the chapter out again only from the last page the previous layout
    opened with a paragraph before the edit, and only to the first such page after it whose paragraph the new
    layout still sets there: the pages from there on are the previous layout's, as the text from there on is the
    same (resume.py). What comes of it is what laying the chapter out whole gives: the same measurements (pages,
    anchors, lines, footnote breaks and passes, the pages a later edit may resume at), the same page images, and a
    book with the whole document's pages. The same holds for the rest laid out to the end, in two parts at once
    (a worker idle) or in one piece (several chapters edited at once), as when the pages after the edit move."""
    from dataclasses import replace

    from anthology.render.print import resume, segments, worker

    book, out, longest = edited_copy(built, tmp_path)
    edit_late_in(book / "texts" / f"{longest.name}.md")
    after = build_pdf(book, out)
    report = json.loads(report_path(out / built.pdf.name).read_text())
    assert report["segments_laid_out"] == 1
    folder = print_cache(book, out) / "segments" / after["segments"][longest.name]
    resumed = segments.Result.load(folder)
    # The previous layout's pages before the edit, the pages laid out, the previous layout's pages after them.
    assert [prefix for prefix, *_ in resumed.files] == ["part0-", "part1-", "part0-"]
    (_, _, kept), (_, _, laid_out), (_, tail, _) = resumed.files
    assert longest.pages / 2 < kept and kept + laid_out == tail < resumed.pages and laid_out < resumed.pages / 4
    # The previous layout's file gives pages before and after the part laid out, and its fonts come once: the book
    # holds no more font subsets than the files its pages and folios come from.
    files = {
        print_cache(book, out) / "segments" / key / f"{prefix}print.pdf"
        for key in after["segments"].values()
        for prefix, *_ in segments.Result.load(print_cache(book, out) / "segments" / key).pieces()
    } | set(print_cache(book, out).glob("folios-print-*.pdf"))
    assert font_programs(out / built.pdf.name) <= sum(font_programs(path) for path in files)

    whole, job = whole_layout(book, out, longest.name, tmp_path / "whole")
    assert_same_layout(resumed, folder, whole, tmp_path / "whole", tmp_path)
    previous = str(tmp_path / "previous")
    # The rest laid out to the end, in two parts at once, and in one piece.
    parts = replace(job, folder=str(tmp_path / "parts"), previous=previous)
    head, rest = (resume.render_part(parts, role, reuse=False) for role in ("head", "rest"))
    split = resume.join(parts, head, rest)
    assert split is not None and [prefix for prefix, *_ in split.files] == ["part0-", "part1-", "part2-"]
    assert split.files[0][2] == kept
    assert_same_layout(split, tmp_path / "parts", whole, tmp_path / "whole", tmp_path)
    single = worker.render_segment(replace(job, folder=str(tmp_path / "single"), previous=previous), reuse=False)
    assert [prefix for prefix, *_ in single.files] == ["part0-", "part1-"] and single.files[0][2] == kept
    assert_same_layout(single, tmp_path / "single", whole, tmp_path / "whole", tmp_path)

    assert "thy" in "".join(pages_text(out / built.pdf.name))
    assert_whole_document(out / built.pdf.name, book, out, tmp_path)


def test_an_edit_that_adds_an_element_takes_the_pages_after_it_too(built, tmp_path):
    """A word set in italics adds an element: the paragraphs after it keep their text but not their place in
    document order. The pages after the edit are still taken from the previous layout, their paragraphs counted
    one further on (their footnote breaks and the pages a later edit may resume at), and the chapter is its whole
    layout."""
    from anthology.render.print import segments

    book, out, longest = edited_copy(built, tmp_path)
    text = book / "texts" / f"{longest.name}.md"
    lines = text.read_text(encoding="utf-8").split("\n")
    prose = [i for i, line in enumerate(lines) if " the " in line and not line.startswith(("#", ">", "[", "|", "-"))]
    index = prose[len(prose) * 2 // 3]
    lines[index] = lines[index].replace(" the ", " *the* ", 1)
    text.write_text("\n".join(lines), encoding="utf-8")

    after = build_pdf(book, out)
    folder = print_cache(book, out) / "segments" / after["segments"][longest.name]
    resumed = segments.Result.load(folder)
    assert resumed.elements == longest.elements + 1
    assert [prefix for prefix, *_ in resumed.files] == ["part0-", "part1-", "part0-"]
    whole, _job = whole_layout(book, out, longest.name, tmp_path / "whole")
    assert_same_layout(resumed, folder, whole, tmp_path / "whole", tmp_path)


def test_a_split_whose_guess_fails_is_laid_out_in_one_piece(built, tmp_path):
    """The second cut of a split is a guess, and so is the page where the previous layout's pages are taken up
    again: text added between the two cuts moves the pages after it, the first part's layout says so (for both),
    and the rest is laid out in one piece, which is again the whole chapter's layout."""
    from dataclasses import replace

    from anthology.render.print import openings, resume, segments

    book, out, longest = edited_copy(built, tmp_path)
    first = min(longest.openings, key=lambda opening: abs(opening[0] - longest.pages / 3))
    cut = resume.second_cut(longest, openings.Resumption(*first))
    assert cut is not None and cut.page > first[0] + 1
    # A paragraph of the second page after the first cut (not the cut's own paragraph) gets three more sentences.
    text = book / "texts" / f"{longest.name}.md"
    lines = text.read_text(encoding="utf-8").split("\n")
    words = [re.sub(r"[^\w’]", "", word) for line in longest.lines[first[0] + 2][2:-2] for word in line.split()]
    index = next(
        i
        for i, line in enumerate(lines)
        if not line.startswith("[^")
        and any(" ".join(words[k : k + 4]) in re.sub(r"[^\w’ ]", "", line) for k in range(40))
    )
    lines[index] += " The editors add this sentence to move the pages that follow it." * 3
    text.write_text("\n".join(lines), encoding="utf-8")

    after = build_pdf(book, out)
    whole, job = whole_layout(book, out, longest.name, tmp_path / "whole")
    guess = replace(job, folder=str(tmp_path / "parts"), previous=str(tmp_path / "previous"))
    head, rest = (resume.render_part(guess, role) for role in ("head", "rest"))
    assert head is not None and head.reused and rest is None  # the first part is all there would be to lay out
    assert not head.confirmed and resume.join(guess, head, rest) is None
    parts = [resume.render_part(guess, role, reuse=False) for role in ("head", "rest")]
    assert parts[0] is not None and parts[1] is not None and parts[0].stop == parts[1].at
    assert not parts[0].confirmed and resume.join(guess, *parts) is None
    folder = print_cache(book, out) / "segments" / after["segments"][longest.name]
    resumed = segments.Result.load(folder)
    assert [prefix for prefix, *_ in resumed.files] == ["part0-", "part1-"]
    assert_same_layout(resumed, folder, whole, tmp_path / "whole", tmp_path)


def test_an_edit_before_every_opening_is_laid_out_from_the_start_in_two_parts(built, tmp_path):
    """An edit in a chapter's first paragraph leaves no page to resume at: the chapter is laid out from its start,
    to the first page after the edit from which the previous layout's pages are taken, and gives the whole layout.
    So does a layout from the start to the end in two parts, cut where the previous layout suggests, as when a
    worker is idle and the pages after the edit moved. A link from the first part to a section of the second (the
    chapter's own cross-reference) survives the cut."""
    from dataclasses import replace

    import pikepdf

    from anthology.render.print import resume, segments

    book, out, longest = edited_copy(built, tmp_path)
    text = book / "texts" / f"{longest.name}.md"
    lines = text.read_text(encoding="utf-8").split("\n")
    body = lines.index("---", 1) + 1
    index = next(i for i in range(body, len(lines)) if lines[i].startswith(("A", "T")) and " the " in lines[i])
    lines[index] = lines[index].replace(" the ", " thy ", 1)
    text.write_text("\n".join(lines), encoding="utf-8")

    after = build_pdf(book, out)
    folder = print_cache(book, out) / "segments" / after["segments"][longest.name]
    resumed = segments.Result.load(folder)
    # Laid out from the start; the previous layout's pages after the edit.
    assert [prefix for prefix, *_ in resumed.files] == ["part1-", "part0-"]
    whole, job = whole_layout(book, out, longest.name, tmp_path / "whole")
    assert_same_layout(resumed, folder, whole, tmp_path / "whole", tmp_path)
    parts = replace(job, folder=str(tmp_path / "parts"), previous=str(tmp_path / "previous"))
    head, rest = (resume.render_part(parts, role, reuse=False) for role in ("head", "rest"))
    split = resume.join(parts, head, rest)
    assert split is not None and [prefix for prefix, *_ in split.files] == ["part1-", "part2-"]
    assert_same_layout(split, tmp_path / "parts", whole, tmp_path / "whole", tmp_path)
    cut = resumed.files[0][2]
    targets = {name for name in re.findall(r'href="#([^"]+)"', job.segment.html) if whole.anchors[name] >= cut}
    assert targets  # links from the first part into the second
    with pikepdf.open(out / built.pdf.name.replace(".pdf", "-screen.pdf")) as screen:
        names = {str(a.get("/Dest")) for page in screen.pages for a in page.obj.get("/Annots", []) if "/Dest" in a}
    assert targets <= names


def test_style_sheets_that_carry_state_across_a_cut_are_not_resumed():
    """A resumed layout hides what precedes its first paragraph and sets again only the footnote counter, the
    running heads of the text's element and the page side: style sheets that carry anything else across (strings
    or counters set elsewhere, page references, rules for a text's later pages, styling by contents) make the
    chapter be laid out whole. The book's own style sheet carries nothing else."""
    from anthology.render.print.openings import continued_page_ok, nothing_carried

    css = (STYLES / "print.css").read_text(encoding="utf-8")
    assert nothing_carried(css, []) and continued_page_ok(css)
    for rule in (
        "h2 { string-set: section content(); }",
        "@media print { figure { counter-increment: figure; } }",
        ".chapter, blockquote { counter-reset: quote; }",
        "a::after { content: target-counter(attr(href url), page); }",
        ".chapter-body:has(figure) { margin-top: 1em; }",
    ):
        assert not nothing_carried(f"{css}\n{rule}", []), rule
    assert not continued_page_ok(f"{css}\n@page chapter {{ margin-top: 1in; }}")
    assert not continued_page_ok(f"{css}\n@page :nth(2 of chapter) {{ margin-top: 1in; }}")


def test_no_two_font_subsets_share_a_name(built):
    """Each segment brings its own subset of the book face; each must have its own tag (a clash is what preflight
    tools of printers report when two different subsets carry one name)."""
    import hashlib

    import pikepdf

    programs: dict[str, set[str]] = {}
    with pikepdf.open(built.pdf) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                program = obj.get("/FontFile2") or obj.get("/FontFile3") or obj.get("/FontFile")
                digest = hashlib.sha256(program.read_raw_bytes()).hexdigest()
                programs.setdefault(str(obj.FontName), set()).add(digest)
    assert len(programs) > 4
    assert {name: len(found) for name, found in programs.items() if len(found) > 1} == {}


def test_folio_documents_start_on_rectos_where_segments_start():
    """The folios are laid out as documents of about OVERLAY_PAGES pages, at once in the workers; each starts with a
    segment, on an odd page (a WeasyPrint document begins on a right-hand page), and together they are the book."""
    from anthology.render.print.folios import overlay_chunks
    from anthology.render.print.page_plan import Layout

    def chunks(starts: list[int], total: int) -> list[tuple[int, int]]:
        return overlay_chunks(Layout([], starts, {}, total), [(0, len(starts))])

    starts = [1, 3, 5, 9, 15, 41, 67, 101, 131, 157, 171, 181]
    found = chunks(starts, 190)
    assert found == [(0, 7), (7, 12)]  # cut at page 101, the odd start nearest the middle
    starts[7] = 100  # an even page is no place to cut
    assert chunks(starts, 190) == [(0, 6), (6, 12)]  # the nearest odd start, page 67
    long = list(range(1, 1900, 38))  # 50 segments of 38 pages
    found = chunks(long, 1900)
    assert found[0][0] == 0 and found[-1][1] == len(long)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(found))
    assert all(long[first] % 2 == 1 for first, _ in found)
    assert chunks([1], 4) == [(0, 1)]
    assert overlay_chunks(Layout([], [], {}, 0), []) == []  # nothing laid out yet (the first segment changed)


def test_a_screen_pdf_not_yet_derived_is_derived_and_not_laid_out_again(built, tmp_path):
    """A worker writes the printer's PDF and the links; the screen PDFs are derived by a process of their own.
    A build that stopped before deriving them (the cache holds a layout without its screen PDF) derives them and
    lays nothing out, and its screen PDF is the one a build that derived every piece gives."""
    from anthology.render.print import segments

    book, out, longest = edited_copy(built, tmp_path)
    folder = (
        print_cache(book, out)
        / "segments"
        / json.loads((print_cache(book, out) / "pages.json").read_text())["segments"][longest.name]
    )
    assert (folder / "links.json").exists()
    (folder / "screen.pdf").unlink()
    assert segments.cached(folder, ("print", "screen")) is not None  # a complete layout, its screen PDF to derive
    build_pdf(book, out)
    report = json.loads(report_path(out / built.pdf.name).read_text())
    assert report["segments_laid_out"] == 0
    assert (folder / "screen.pdf").exists()
    screen = built.pdf.with_name(built.pdf.stem + "-screen.pdf")
    assert (out / screen.name).read_bytes() == screen.read_bytes()


def test_the_guessed_pages_are_not_given_to_the_texts_that_wait_for_the_measured_ones(tmp_path):
    """A book's first layout guesses its pages to lay out all but the texts that print exact page numbers (the
    bibliography's page lists, the index), which wait for the measured pages: their print form on the guessed
    pages would be converted by pandoc and never laid out, so they keep their form without page numbers."""
    from anthology.load import load_book
    from anthology.model import Project
    from anthology.render.print.book_html import print_html
    from anthology.render.print.segments import split
    from anthology.resolve.book import resolve_book

    resolved = resolve_book(load_book(MINIBOOK), STYLES)
    project = Project(MINIBOOK, STYLES, tmp_path)
    pages = {ident: 7 for _slug, ident in (place for places in resolved.citations.places.values() for place in places)}

    def bibliography(html: str) -> str:
        return next(part.html for part in split(html) if "bibliography" in part.ids)

    without = bibliography(print_html(resolved, project, {}))
    assert bibliography(print_html(resolved, project, pages, exact=False)) == without
    assert "p. 7" in bibliography(print_html(resolved, project, pages)) and "p. 7" not in without


def test_a_layout_weasyprint_warned_about_is_not_cached(tmp_path, monkeypatch):
    """A WeasyPrint warning stops the build, and may come of the system rather than the sources (HarfBuzz unable to
    subset a font): the layout it came with is no cache entry, so the next build, on a fixed system, lays the
    segment out again instead of reporting the old warning."""
    import logging

    from anthology.load import load_book
    from anthology.model import Project
    from anthology.render.print import book_html, segments, typeset, worker
    from anthology.resolve.book import resolve_book

    resolved = resolve_book(load_book(MINIBOOK), STYLES)
    segment = segments.split(book_html.print_html(resolved, Project(MINIBOOK, STYLES, tmp_path), {}))[-1]
    options = {typeset.PRINT.name: typeset.variant_options(resolved.book.config, typeset.PRINT)}
    entry = tmp_path / "entry"
    job = segments.Job("key", segment, str(entry), str(STYLES), str(MINIBOOK), ("print", "screen"), options)
    message = 'Unable to subset "Example" with HarfBuzz'
    write = worker.write_segment

    def write_with_warning(*args: Any) -> None:
        logging.getLogger("weasyprint").warning(message)
        write(*args)

    monkeypatch.setattr(worker, "write_segment", write_with_warning)
    assert worker.render_segment(job).warnings == [message]
    assert segments.cached(entry, job.variants) is None
    monkeypatch.setattr(worker, "write_segment", write)
    assert worker.render_segment(job).warnings == []
    assert segments.cached(entry, job.variants) is not None


def test_each_layout_switch_off_gives_the_same_pdfs_after_an_edit(tmp_path, monkeypatch):
    """What ANTHOLOGY_DISABLE switches off of the layout (renderer.SWITCHES: the segment cache, the kept pages,
    the resumed layout, its split, the folio documents laid out ahead) changes how fast an edit is built, not what
    is built: each build of the same edit, from the same previous build, with one of them off, gives the bytes of
    both PDFs the build with all of them gives. Without the segment cache every segment is laid out again."""
    from anthology.build import DISABLE_VARIABLE, MECHANISMS
    from anthology.render.print.renderer import SWITCHES
    from anthology.render.print.segments import split

    assert set(SWITCHES) <= MECHANISMS.keys()
    book, first = tmp_path / "book", tmp_path / "first"
    shutil.copytree(MINIBOOK, book)
    build_pdf(book, first)
    segment_count = len(split((print_cache(book, first) / "book-print.html").read_text(encoding="utf-8")))
    text = book / "texts" / "alpha.md"
    text.write_text(text.read_text(encoding="utf-8").replace("Closing sentence of", "Closing words of"), "utf-8")

    def edit_build(name: str, off: str) -> Path:
        out = tmp_path / name
        shutil.copytree(first, out)
        monkeypatch.setenv(DISABLE_VARIABLE, off)
        build_pdf(book, out)
        return out

    reference = edit_build("all-on", "")
    slug = next(reference.glob("*-screen.pdf")).name.removesuffix("-screen.pdf")
    assert (reference / f"{slug}.pdf").read_bytes() != (first / f"{slug}.pdf").read_bytes()  # the edit prints
    for switch in SWITCHES:
        out = edit_build(switch, switch)
        for name in (f"{slug}.pdf", f"{slug}-screen.pdf"):
            assert (out / name).read_bytes() == (reference / name).read_bytes(), f"{name} differs with {switch} off"
        if switch == "segment-cache":
            report = json.loads((out / f"{slug}.pdf.json").read_text(encoding="utf-8"))
            assert report["segments_laid_out"] >= segment_count
