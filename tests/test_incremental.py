"""An incremental build equals a clean build of the same sources (issue 25): the differential test.

A Hypothesis state machine edits a copy of the two-chapter fixture book (tests/fixtures/minibook) at random,
builds every edition after each edit into one output folder (which keeps the previous builds' caches: the page
numbers of pages.json, the segments' layouts, the folio documents, the manifest), builds the same sources into a
fresh folder (once a session for each state of a book), and compares: each page of both PDFs as text (pdftotext)
and as an image (pdftoppm at a low resolution), unless the two PDFs are the same bytes; the EPUB and every file of
the site byte for byte. The edit kinds, one rule each:

- a word of a chapter replaced;
- sentences added to a paragraph of a chapter (enough to move its page breaks);
- a footnote added to a chapter;
- a section heading (with its paragraph) added to a chapter;
- a chapter added, removed, or moved to another place (book.yaml's part);
- the book's title or subtitle changed (book.yaml);
- the trim size changed (book.yaml `trim`);
- the running heads changed (book.yaml `running_heads`);
- the citation style changed (book.yaml `citation_style`).

The sequences are derived from a fixed seed (no example database) and bounded, so that every run tries the same
edits in a few minutes. The whole-book cases (marked `book`) make the edits that crashed the incremental build on
a copy of the anthology, one build each: the subtitle, a sixth essay, the trim, the citation style, the running
heads, and a second book built into the first's output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from anthology.build import build, output_path
from anthology.model import Project
from conftest import BOOK, MINIBOOK, STYLES, Built

# The bounds of the state machine's run (each step builds the fixture book twice): with the fixed seed, one example
# of twelve steps (the first initialises) makes every kind of edit once. ANTHOLOGY_INCREMENTAL_EXAMPLES=3 makes
# three examples, 34 edits.
EXAMPLES = int(os.environ.get("ANTHOLOGY_INCREMENTAL_EXAMPLES", "1"))
STEPS = 12
IMAGE_DPI = "30"  # enough for a moved line or a wrong number to change the page's pixels

WORDS = ("revolution", "bureaucracy", "soviet", "a", "internationalism", "Kronstadt", "1921", "—")
# The first value of each is not the fixture book's: Hypothesis's first example takes the first.
TRIMS = ("5.5x8.5in", "A5", "5x8in", "6x9in")
RUNNING_HEADS = ("book-title", "none", "author-title")
CITATION_STYLES = ("chicago-author-date", "chicago-note-bibliography", "chicago-note-bibliography-with-ibid")


# ---- Comparing two builds ----------------------------------------------------------------------------------------


def build_all(book: Path, out: Path) -> dict[str, Path]:
    return build(Project(book_dir=book, styles_dir=STYLES, build_dir=out))


def pdf_pages(pdf: Path, scratch: Path) -> tuple[list[str], list[bytes]]:
    """Each page's text (pdftotext) and image (pdftoppm's PNG at IMAGE_DPI)."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    scratch.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", IMAGE_DPI, "-png", str(pdf), str(scratch / "page")], check=True)
    return text.split("\f")[:-1], [path.read_bytes() for path in sorted(scratch.glob("page-*.png"))]


def folder_files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def pdf_differences(name: str, ours: Path, clean: Path, scratch: Path) -> list[str]:
    """The pages on which two PDFs read or look different. Two PDFs of the same bytes read and look the same on
    every page (pdftotext and pdftoppm are functions of the file), so only PDFs whose bytes differ are read page by
    page: an incremental build usually writes the clean build's bytes, and reading hundreds of pages is the costly
    part of a comparison."""
    if ours.read_bytes() == clean.read_bytes():
        return []
    (our_text, our_images), (clean_text, clean_images) = (
        pdf_pages(ours, scratch / f"{name}-ours"),
        pdf_pages(clean, scratch / f"{name}-clean"),
    )
    if len(our_text) != len(clean_text) or len(our_images) != len(clean_images):
        return [f"{name}: {len(our_text)} pages, the clean build's {len(clean_text)}"]
    pages = zip(our_text, clean_text, our_images, clean_images, strict=True)
    found = []
    for number, (our_page, clean_page, our_image, clean_image) in enumerate(pages, start=1):
        if our_page != clean_page:
            found.append(f"{name}: page {number} reads differently")
        if our_image != clean_image:
            found.append(f"{name}: page {number} looks different")
    return found


def site_differences(ours: Path, clean: Path) -> list[str]:
    our_files, clean_files = folder_files(ours), folder_files(clean)
    found = [f"site: {path} in one build only" for path in sorted(our_files.keys() ^ clean_files.keys())]
    return found + [
        f"site: {path} differs"
        for path in sorted(our_files.keys() & clean_files.keys())
        if our_files[path] != clean_files[path]
    ]


def differences(ours: dict[str, Path], clean: dict[str, Path], scratch: Path) -> list[str]:
    """How the incremental build's editions differ from the clean build's (none: they are equal)."""
    assert ours.keys() == clean.keys() == {"pdf", "screen", "epub", "html"}
    found = pdf_differences("pdf", ours["pdf"], clean["pdf"], scratch)
    found += pdf_differences("screen", ours["screen"], clean["screen"], scratch)
    if ours["epub"].read_bytes() != clean["epub"].read_bytes():
        found.append("epub: the files differ")
    return found + site_differences(ours["html"].parent, clean["html"].parent)


def book_digest(book: Path) -> str:
    """The digest of a book folder's files, their names and bytes: what a clean build's outputs depend on besides the
    styles and the code, which one test session does not change (builds of one book in two folders give the same
    bytes, tests/test_caches.py)."""
    digest = hashlib.sha256()
    for name, data in folder_files(book).items():
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


class CleanBuilds:
    """Clean builds of the books the tests compare with, each made once in a session, by the book's digest: the
    tests that edit a copy of the fixture book the same way, or not at all, compare with one clean build."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.made: dict[str, dict[str, Path]] = {}

    def add(self, book: Path, outputs: dict[str, Path]) -> None:
        """A clean build made elsewhere (the session's build of the fixture book, conftest's built_minibook)."""
        self.made.setdefault(book_digest(book), outputs)

    def of(self, book: Path) -> dict[str, Path]:
        key = book_digest(book)
        if key not in self.made:
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="clean-builds-"))
            out = self.folder / key[:16]
            self.made[key] = build_all(book, out)
            shutil.rmtree(out / ".cache")  # only the outputs are compared; a later clean build makes its own
        return self.made[key]

    def remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder, self.made = None, {}


CLEAN_BUILDS = CleanBuilds()


@pytest.fixture(scope="module", autouse=True)
def clean_builds() -> Iterator[CleanBuilds]:
    yield CLEAN_BUILDS
    CLEAN_BUILDS.remove()


def fixture_book_built(built: Built) -> None:
    """conftest's session build of the fixture book, as the clean build of an unchanged copy of it."""
    project, slug = built.project, built.book.config.slug
    outputs = {name: output_path(project, slug, name) for name in ("pdf", "screen", "epub")}
    CLEAN_BUILDS.add(project.book_dir, outputs | {"html": built.html / "index.html"})


def assert_equals_clean_build(book: Path, out: Path, scratch: Path) -> None:
    """Build the book into `out` (which holds earlier builds) and compare with a clean build of the same sources,
    made in a fresh folder (once a session for each state of a book: CleanBuilds)."""
    ours = build_all(book, out)
    clean = CLEAN_BUILDS.of(book)
    try:
        assert differences(ours, clean, scratch / "pages") == []
    finally:
        shutil.rmtree(scratch / "pages", ignore_errors=True)


# ---- Editing a book ----------------------------------------------------------------------------------------------


def edit_config(book: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = book / "book.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


def set_config(book: Path, key: str, value: Any) -> None:
    edit_config(book, lambda config: config.__setitem__(key, value))


def chapters_of(book: Path) -> list[str]:
    return yaml.safe_load((book / "book.yaml").read_text(encoding="utf-8"))["parts"][0]["chapters"]


def set_chapters(book: Path, chapters: list[str]) -> None:
    edit_config(book, lambda config: config["parts"][0].__setitem__("chapters", chapters))


def body_lines(text: Path) -> tuple[list[str], list[int]]:
    """A text's lines, and the indexes of its plain paragraphs' lines (not its front matter, headings, quotations,
    tables or note definitions)."""
    lines = text.read_text(encoding="utf-8").split("\n")
    closing = lines.index("---", 1)
    plain = [
        index
        for index, line in enumerate(lines)
        if index > closing and line.strip() and not line.startswith(("#", ">", "|", "[^", " ", "Table:"))
    ]
    return lines, plain


def edit_paragraph(text: Path, choice: int, change: Callable[[str], str]) -> None:
    lines, plain = body_lines(text)
    index = plain[choice % len(plain)]
    lines[index] = change(lines[index])
    text.write_text("\n".join(lines), encoding="utf-8")


def replace_word(line: str, position: int, word: str) -> str:
    words = line.split(" ")
    words[position % len(words)] = word
    return " ".join(words)


NEW_CHAPTER = """---
title: {title}
authors: [Ann Other]
source: {slug}.txt
rights: cleared
---
A new chapter, {slug}, begins here.[^1] It cites a work [@carr-1950, 7].

## A Section of {slug}

{paragraphs}

[^1]: A note of {slug}.
"""


def write_chapter(book: Path, slug: str, paragraphs: int) -> None:
    text = "\n\n".join(
        f"Paragraph {n} of {slug}, long enough to fill a line or two of the page. " * 3 for n in range(paragraphs)
    )
    (book / "texts" / f"{slug}.md").write_text(
        NEW_CHAPTER.format(title=f"The Chapter Called {slug.title()}", slug=slug, paragraphs=text), encoding="utf-8"
    )


# ---- The state machine -------------------------------------------------------------------------------------------


KINDS = ("word", "sentence", "footnote", "heading", "add_chapter", "remove_chapter", "move_chapter", "title", "trim")
KINDS += ("running_heads", "citation_style")


def unused(kind: str) -> Any:
    """A rule runs again only once the example has run every other it can: Hypothesis, left to itself, repeats one
    rule through a short example, and every kind of edit should be tried in the few steps a run can afford."""
    return precondition(lambda machine: kind in machine.fresh_kinds())


class IncrementalBuilds(RuleBasedStateMachine):
    """Random edits to the fixture book, each followed by an incremental build compared with a clean one."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="incremental-"))
        self.book, self.out = self.folder / "book", self.folder / "out"
        self.added = 0
        self.edited = False
        self.used: set[str] = set()  # the kinds of edit this example has made since it last made every kind

    @property
    def removable(self) -> bool:
        return len(chapters_of(self.book)) > 1

    def fresh_kinds(self) -> set[str]:
        """The kinds of edit not made since the example last made every kind it could (all, once it has)."""
        possible = {kind for kind in KINDS if kind != "remove_chapter" or self.removable}
        return possible - self.used or possible

    def made(self, kind: str) -> None:
        self.used = {kind} if kind in self.used else self.used | {kind}  # in it: every kind was made, start again
        self.edited = True

    @initialize()
    def first_build(self) -> None:
        shutil.copytree(MINIBOOK, self.book)
        build_all(self.book, self.out)

    def chapter(self, choice: int) -> Path:
        chapters = chapters_of(self.book)
        return self.book / "texts" / f"{chapters[choice % len(chapters)]}.md"

    @unused("word")
    @rule(choice=st.integers(0, 50), position=st.integers(0, 50), word=st.sampled_from(WORDS))
    def word(self, choice: int, position: int, word: str) -> None:
        edit_paragraph(self.chapter(choice), position, lambda line: replace_word(line, position, word))
        self.made("word")

    @unused("sentence")
    @rule(choice=st.integers(0, 50), position=st.integers(0, 50), repeat=st.integers(30, 60))
    def sentence(self, choice: int, position: int, repeat: int) -> None:
        added = " The soviets met again, and the sentence added here runs on for a while." * repeat
        edit_paragraph(self.chapter(choice), position, lambda line: line + added)
        self.made("sentence")

    @unused("footnote")
    @rule(choice=st.integers(0, 50), position=st.integers(0, 50))
    def footnote(self, choice: int, position: int) -> None:
        text = self.chapter(choice)
        label = f"added{len(text.read_text(encoding='utf-8'))}"
        edit_paragraph(text, position, lambda line: line + f" A claim.[^{label}]")
        with text.open("a", encoding="utf-8") as handle:
            handle.write(f"\n\n[^{label}]: A footnote added by the test, with a few words in it.\n")
        self.made("footnote")

    @unused("heading")
    @rule(choice=st.integers(0, 50), position=st.integers(0, 50))
    def heading(self, choice: int, position: int) -> None:
        section = "\n\n## An Added Section\n\nThe added section's paragraph, which follows its heading."
        edit_paragraph(self.chapter(choice), position, lambda line: line + section)
        self.made("heading")

    @unused("add_chapter")
    @rule(place=st.integers(0, 10), paragraphs=st.integers(12, 40))
    def add_chapter(self, place: int, paragraphs: int) -> None:
        self.added += 1
        slug = f"added-{self.added}"
        write_chapter(self.book, slug, paragraphs)
        chapters = chapters_of(self.book)
        chapters.insert(place % (len(chapters) + 1), slug)
        set_chapters(self.book, chapters)
        self.made("add_chapter")

    @unused("remove_chapter")
    @rule(choice=st.integers(0, 50))
    def remove_chapter(self, choice: int) -> None:
        chapters = chapters_of(self.book)
        slug = chapters.pop(choice % len(chapters))
        set_chapters(self.book, chapters)
        (self.book / "headnotes" / f"{slug}.md").unlink(missing_ok=True)  # a headnote names its chapter
        self.made("remove_chapter")

    @unused("move_chapter")
    @rule(choice=st.integers(0, 50), place=st.integers(0, 50))
    def move_chapter(self, choice: int, place: int) -> None:
        chapters = chapters_of(self.book)
        slug = chapters.pop(choice % len(chapters))
        chapters.insert(place % (len(chapters) + 1), slug)
        set_chapters(self.book, chapters)
        self.made("move_chapter")

    @unused("title")
    @rule(key=st.sampled_from(["title", "subtitle"]), words=st.integers(1, 12))
    def title(self, key: str, words: int) -> None:
        set_config(self.book, key, " ".join(["Changed"] * words))
        self.made("title")

    @unused("trim")
    @rule(trim=st.sampled_from(TRIMS))
    def trim(self, trim: str) -> None:
        set_config(self.book, "trim", trim)
        self.made("trim")

    @unused("running_heads")
    @rule(mode=st.sampled_from(RUNNING_HEADS))
    def running_heads(self, mode: str) -> None:
        set_config(self.book, "running_heads", mode)
        self.made("running_heads")

    @unused("citation_style")
    @rule(style=st.sampled_from(CITATION_STYLES))
    def citation_style(self, style: str) -> None:
        set_config(self.book, "citation_style", style)
        self.made("citation_style")

    @invariant()
    def equals_a_clean_build(self) -> None:
        if self.edited:
            assert_equals_clean_build(self.book, self.out, self.folder / "scratch")
            self.edited = False

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


IncrementalBuilds.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as the sequence found
    suppress_health_check=list(HealthCheck),
)
test_incremental_builds_equal_clean_builds = IncrementalBuilds.TestCase


# ---- Caches damaged or of another book -----------------------------------------------------------------------------


def damage_caches(out: Path) -> list[str]:
    """Damage every kind of cache entry the print build keeps in `out`: pages.json, a segment's result, printer's
    PDF, links and screen PDF, the folio documents, the manifest. Returns what was damaged."""
    damaged = []
    for cache in (out / ".cache" / "print").iterdir():
        (cache / "pages.json").write_text('{"anchors": [], "total": "many"}', encoding="utf-8")
        entries = sorted(path for path in (cache / "segments").iterdir() if path.is_dir())
        result = json.loads((entries[0] / "result.json").read_text(encoding="utf-8"))
        (entries[0] / "result.json").write_text(json.dumps(result | {"pages": result["pages"] + 3}), encoding="utf-8")
        pdf = entries[1] / "print.pdf"
        pdf.write_bytes(pdf.read_bytes()[: len(pdf.read_bytes()) // 2])
        (entries[2] / "links.json").write_text("[{", encoding="utf-8")
        screen = entries[3] / "screen.pdf"
        screen.write_bytes(screen.read_bytes()[:100])
        for folio in cache.glob("folios-*.pdf"):
            folio.write_bytes(folio.read_bytes()[:100])
        damaged += [cache.name, *(entry.name for entry in entries[:4])]
    (out / ".cache" / "manifest.json").write_text('{"books": {"', encoding="utf-8")
    return damaged


def test_damaged_caches_are_ignored_and_rebuilt(built_minibook, tmp_path):
    """A build in a folder whose caches were damaged (cut short, edited) lays out again what they held, and gives
    what a clean build gives: with the sources unchanged, and after an edit."""
    fixture_book_built(built_minibook)
    book, out = tmp_path / "book", tmp_path / "out"
    shutil.copytree(MINIBOOK, book)
    build_all(book, out)
    assert len(damage_caches(out)) == 5
    assert_equals_clean_build(book, out, tmp_path / "scratch")
    damage_caches(out)
    edit_paragraph(book / "texts" / "beta.md", 0, lambda line: replace_word(line, 1, "edited"))
    assert_equals_clean_build(book, out, tmp_path / "scratch")


def test_two_books_built_into_one_folder_each_equal_a_clean_build(built_minibook, tmp_path):
    """Two books (the fixture book and a shorter one of another slug) built in turn into one folder: each build
    equals a clean build of its book, the other book's caches beside its own."""
    fixture_book_built(built_minibook)
    first, second, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    shutil.copytree(MINIBOOK, first)
    shutil.copytree(MINIBOOK, second)
    set_config(second, "slug", "second-book")
    set_config(second, "title", "Another Book Altogether")
    set_chapters(second, ["beta"])
    (second / "headnotes" / "alpha.md").unlink()
    build_all(first, out)
    assert_equals_clean_build(second, out, tmp_path / "scratch")
    edit_paragraph(first / "texts" / "beta.md", 0, lambda line: replace_word(line, 1, "edited"))
    assert_equals_clean_build(first, out, tmp_path / "scratch")
    assert len(list((out / ".cache" / "print").iterdir())) == 2  # a cache folder per book


# ---- The whole book ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The anthology copied and built once: each case starts from this book (in the same place) and a copy of its
    output folder, caches and all."""
    root = tmp_path_factory.mktemp("incremental-book")
    pristine, out = root / "pristine", root / "out"
    shutil.copytree(BOOK, pristine)
    shutil.copytree(pristine, root / "book")
    build_all(root / "book", out)
    return root / "book", pristine, out


def restored(built_copy: tuple[Path, Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """The built book as it was, and a copy of its output folder for this case."""
    book, pristine, out = built_copy
    shutil.rmtree(book)
    shutil.copytree(pristine, book)
    shutil.copytree(out, tmp_path / "out")
    return book, tmp_path / "out"


def add_sixth_essay(book: Path) -> None:
    """As README's "How to add an essay" ends: the essay's text in texts/ (what `invoke ingest` writes), its slug
    added to a part of book.yaml."""
    chapters = yaml.safe_load((book / "book.yaml").read_text(encoding="utf-8"))["parts"][-1]["chapters"]
    source = (book / "texts" / f"{chapters[-1]}.md").read_text(encoding="utf-8")
    head, body = source.split("\n---\n", 1)
    head = "\n".join("title: A Sixth Essay" if line.startswith("title:") else line for line in head.split("\n"))
    (book / "texts" / "sixth-essay.md").write_text(f"{head}\n---\n{body}", encoding="utf-8")
    edit_config(book, lambda config: config["parts"][-1]["chapters"].append("sixth-essay"))


BOOK_EDITS: dict[str, Callable[[Path], None]] = {
    "subtitle": lambda book: set_config(book, "subtitle", "A Changed Subtitle"),
    "sixth-essay": add_sixth_essay,
    "trim": lambda book: set_config(book, "trim", "5.5x8.5in"),
    "citation-style": lambda book: set_config(book, "citation_style", "chicago-author-date"),
    "running-heads": lambda book: set_config(book, "running_heads", "book-title"),
}


@pytest.mark.book
@pytest.mark.parametrize("edit", BOOK_EDITS)
def test_an_edit_to_the_anthology_builds_what_a_clean_build_does(edit, built_copy, tmp_path):
    book, out = restored(built_copy, tmp_path)
    BOOK_EDITS[edit](book)
    assert_equals_clean_build(book, out, tmp_path / "scratch")


@pytest.mark.book
def test_a_second_book_built_into_the_first_books_folder_is_what_a_clean_build_makes(
    built_copy, built_minibook, tmp_path
):
    """The fixture book built where the anthology was (its caches there): nothing of the anthology's is read."""
    fixture_book_built(built_minibook)
    _book, out = restored(built_copy, tmp_path)
    other = tmp_path / "other"
    shutil.copytree(MINIBOOK, other)
    assert_equals_clean_build(other, out, tmp_path / "scratch")
