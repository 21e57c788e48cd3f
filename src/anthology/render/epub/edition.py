"""E-book edition: the resolved book as one pandoc document, written by pandoc's EPUB 3 writer, then finished.

Structure: parts are level-1 headings and chapters level-2, and pandoc splits at level 2, so every part (with its
introduction), every chapter and every piece of front and back matter is one XHTML file. A chapter's own sections
follow at levels 3 and 4. Front and back matter and part introductions keep their sections at level 2, directly
below their level-1 title (headings never skip a level); their body is wrapped in a division so that pandoc does
not split at those sections. Print page-break markers are placed in the XHTML pandoc wrote, once the print layout
is known (page_markers.py, by aligning the print pages' words with the e-book's); what pandoc cannot
express (page list, landmarks, accessibility metadata, note back-links, a described cover) is added to the written
EPUB by package.py.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from anthology import pandoc
from anthology.ast import Node, clone, div, header, para, span, str_inlines, walk_structure
from anthology.atomic import atomic_file, scratch_folder
from anthology.diagnostics import BuildError, Diagnostic
from anthology.model import Chapter, Project, ResolvedBook, ResolvedText
from anthology.render.common import FONT_FILES, source_date_epoch
from anthology.render.epub import images, index_markup, page_markers
from anthology.render.epub import package as epub_package
from anthology.render.epub.cover import CoverText, cover_png
from anthology.render.epub.package import EpubDocument, editors_line
from anthology.render.print import pagemap
from anthology.resolve import editorial

SPLIT_LEVEL = 2
TITLE_PAGE_ID = "title-page"
# EPUB structural semantics for matter named like this in book.yaml (the section's epub:type).
MATTER_TYPES = {
    "introduction",
    "preface",
    "foreword",
    "prologue",
    "epilogue",
    "afterword",
    "acknowledgments",
    "dedication",
    "epigraph",
    "appendix",
    "glossary",
    "bibliography",
    "index",
    "contributors",
    "colophon",
}


def shifted(item: ResolvedText, by: int) -> list[Node]:
    """A private copy of a text's blocks (markers are placed in it), headings `by` levels deeper, its images as
    data (images.py: pandoc's sandbox reads no image file)."""
    copied: list[Node] = images.embedded(clone(item.blocks), item.text.path.parent)
    if by:
        for node in walk_structure(copied):
            if node["t"] == "Header":
                node["c"][0] = min(6, node["c"][0] + by)
    return copied


def text_body(item: ResolvedText, shift: int, classes: list[str]) -> Node:
    """A text's blocks in a division inside a division: pandoc's sectioning then neither ends the text's file at a
    heading of the text's first level nor splits at it."""
    return div([div(shifted(item, shift), classes=["text-body"])], classes=classes)


def section_header(level: int, title: str, ident: str, classes: list[str], epub_type: str | None) -> Node:
    node = header(level, str_inlines(title), ident, classes)
    if epub_type:
        node["c"][1][2].append(["epub:type", epub_type])
    return node


def matter_blocks(item: ResolvedText) -> list[Node]:
    """Front or back matter: a file of its own under a level-1 title, its sections at level 2."""
    epub_type = item.text.slug if item.text.slug in MATTER_TYPES else None
    return [
        section_header(1, item.text.title, item.anchor, ["matter"], epub_type),
        text_body(item, 0, ["matter-body"]),
    ]


def part_blocks(resolved: ResolvedBook, number: int) -> list[Node]:
    part = resolved.book.parts[number - 1]
    blocks = [section_header(1, f"Part {part.number}: {part.title}", part.anchor, ["part"], "part")]
    intro = resolved.get(part.intro)
    if intro is not None:
        blocks.append(text_body(intro, 0, ["part-intro"]))
        blocks[-1]["c"][0][0] = intro.anchor
    return blocks


def as_sentence(text: str) -> str:
    """A front-matter phrase set as a sentence, as in print: capitalised, ending with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…’”)" else text + "."


def labelled(label: str, text: str) -> Node:
    return para([span(str_inlines(label), classes=["label"]), {"t": "Space"}, *str_inlines(text)])


def provenance(chapter: Chapter) -> list[Node]:
    """Where the essay comes from and what the source says of its author, as the print edition's opener gives it."""
    meta = chapter.chapter_meta
    lines: list[Node] = []
    source = editorial.provenance(meta)
    if source:
        lines.append(labelled("Source:", source))
    if meta.author_statement:
        lines.append(labelled("Author:", as_sentence(meta.author_statement)))
    return [div(lines, classes=["provenance"])] if lines else []


def chapter_heading(chapter: Chapter, anchor: str) -> Node:
    """The chapter's heading: its number as a label, then its title."""
    node = section_header(SPLIT_LEVEL, chapter.title, anchor, ["chapter"], "chapter")
    label = span(str_inlines(f"Chapter {chapter.number}"), classes=["chapter-number"])
    node["c"][2] = [label, {"t": "LineBreak"}, *node["c"][2]]
    return node


def chapter_blocks(resolved: ResolvedBook, item: ResolvedText) -> list[Node]:
    """A chapter's file: number and title, byline, provenance, headnote and standfirst, then the essay with its
    sections at level 3."""
    chapter = item.chapter
    meta = chapter.chapter_meta
    blocks: list[Node] = [
        chapter_heading(chapter, item.anchor),
        div([para([span(str_inlines(meta.byline), classes=["byline"])])], classes=["byline"]),
        *provenance(chapter),
    ]
    headnote = resolved.get(chapter.headnote)
    if headnote is not None:
        label = para([span(str_inlines("Editors’ headnote"), classes=["headnote-label"])])
        content = [label, *shifted(headnote, SPLIT_LEVEL - 1)]
        blocks.append(div(content, headnote.anchor, ["headnote"]))
    if meta.standfirst:
        blocks.append(div([para(str_inlines(meta.standfirst))], classes=["standfirst"]))
    return blocks + shifted(item, SPLIT_LEVEL - 1)


def body_blocks(resolved: ResolvedBook) -> list[Node]:
    """Everything the print edition sets after its contents page, in the same order (the page-numbered text)."""
    blocks: list[Node] = []
    for item in resolved.front:
        blocks.extend(matter_blocks(item))
    for part in resolved.book.parts:
        blocks.extend(part_blocks(resolved, part.number) if part.title else [])
        for chapter in part.chapters:
            blocks.extend(chapter_blocks(resolved, resolved.chapter(chapter.slug)))
    for item in resolved.back:
        blocks.extend(matter_blocks(item))
    return blocks


def isbn_urn(isbn: str) -> str:
    return f"urn:isbn:{isbn.replace('-', '').replace(' ', '')}"


def page_source(resolved: ResolvedBook) -> str:
    """How the page numbers' source edition is named: its ISBN, or a description when it has none."""
    config = resolved.book.config
    if config.print_isbn or config.isbn:
        return isbn_urn(config.print_isbn or config.isbn or "")
    subtitle = f": {config.subtitle}" if config.subtitle else ""
    return f"{config.title}{subtitle}, {config.edition}, {config.date}, print edition (PDF)"


def title_page_blocks(resolved: ResolvedBook, paginated: bool) -> list[Node]:
    """Title page and imprint: title, subtitle, editors; edition, identifiers, rights and the page-number source."""
    config = resolved.book.config
    blocks: list[Node] = [section_header(1, config.title, TITLE_PAGE_ID, ["unlisted", "unnumbered"], "titlepage")]
    if config.subtitle:
        blocks.append(div([para(str_inlines(config.subtitle))], classes=["subtitle"]))
    blocks.append(div([para(str_inlines(editors_line(resolved)))], classes=["editors"]))
    imprint = [
        para(str_inlines(f"{config.edition}, {config.date}. Publisher: {config.publisher}.")),
        para(str_inlines(f"ISBN: {config.isbn or 'not assigned'}. Identifier: {config.identifier}.")),
    ]
    imprint += [
        para(str_inlines(f"Chapter {chapter.number}, “{chapter.title}”, by {byline(chapter)}. Rights: {rights}."))
        for chapter in resolved.book.chapters
        for rights in [chapter.chapter_meta.rights]
    ]
    if paginated:
        imprint.append(para(str_inlines(page_note(resolved))))
    imprint_div = div(imprint, "imprint", ["imprint"])
    imprint_div["c"][0][2].append(["epub:type", "copyright-page"])
    blocks.append(imprint_div)
    return blocks


def page_note(resolved: ResolvedBook) -> str:
    """Tells the reader which edition the page numbers follow."""
    config = resolved.book.config
    edition = f"ISBN {config.isbn}" if config.isbn else f"{config.edition.lower()}, {config.date}"
    return (
        f"The page numbers in this e-book are those of the print edition ({edition}): a marker stands where each "
        "printed page begins, and the reading system’s list of pages goes to it."
    )


def byline(chapter: Chapter) -> str:
    meta = chapter.chapter_meta
    return meta.byline if meta.authors else "an author not stated in the source"


def documents(resolved: ResolvedBook) -> list[EpubDocument]:
    """The files of the e-book in reading order, with the sections the table of contents lists."""

    def listed(item: ResolvedText, shift: int, deepest: int) -> tuple[tuple[int, str, str], ...]:
        return tuple(
            (section.level + shift, section.ident, section.title)
            for section in item.sections
            if section.level + shift <= deepest
        )

    result = [EpubDocument(TITLE_PAGE_ID, resolved.book.config.title, "title-page")]
    result += [EpubDocument(item.anchor, item.text.title, "front", listed(item, 0, 2)) for item in resolved.front]
    for part in resolved.book.parts:
        intro = resolved.get(part.intro)
        sections = listed(intro, 0, 2) if intro else ()
        if part.title:  # a book without parts lists its chapters at the top
            result.append(EpubDocument(part.anchor, f"Part {part.number}: {part.title}", "part", sections))
        for chapter in part.chapters:
            item = resolved.chapter(chapter.slug)
            meta = chapter.chapter_meta
            credit = (chapter.number, tuple(meta.authors), meta.byline)
            result.append(EpubDocument(item.anchor, chapter.title, "chapter", listed(item, 1, 3), *credit))
    result += [EpubDocument(item.anchor, item.text.title, "back", listed(item, 0, 2)) for item in resolved.back]
    return result


def metadata(resolved: ResolvedBook, cover: Path) -> dict[str, Any]:
    """EPUB package metadata from book.yaml and the chapters (editors as editors, essay authors as authors)."""
    config = resolved.book.config
    creators = [{"text": editor.name, "role": "edt"} for editor in config.editors]
    authors: list[str] = []
    for chapter in resolved.book.chapters:
        authors += [name for name in chapter.chapter_meta.authors if name not in authors]
    identifier = (
        {"scheme": "ISBN-13", "text": isbn_urn(config.isbn)}
        if config.isbn
        else {"scheme": "URN", "text": config.identifier}
    )
    data: dict[str, Any] = {
        "title": [{"type": "main", "text": config.title}],
        "lang": config.lang,
        "identifier": [identifier],
        "creator": creators,
        "contributor": [{"text": name, "role": "aut"} for name in authors],
        "publisher": config.publisher,
        "date": config.date,
        "rights": "; ".join(f"“{chapter.title}”: {chapter.chapter_meta.rights}" for chapter in resolved.book.chapters),
        "toc-title": "Contents",
        "cover-image": str(cover),
    }
    if config.subtitle:
        data["title"].append({"type": "subtitle", "text": config.subtitle})
    return data


VERBATIM_METADATA = {"cover-image"}  # a path, not text


def literal(value: Any) -> Any:
    """The metadata's text as written: pandoc would read each string as Markdown (a title's `</title><script>`
    vanished from the package's dc:title, `it's` became curly)."""
    if isinstance(value, dict):
        return {key: item if key in VERBATIM_METADATA else literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [literal(item) for item in value]
    return pandoc.literal_markdown(value) if isinstance(value, str) else value


def print_pdf(resolved: ResolvedBook, project: Project) -> Path:
    """The print edition the page numbers come from: built before the EPUB (build order pdf, epub, html)."""
    pdf = project.build_dir / f"{resolved.book.config.slug}.pdf"
    if not pdf.exists():
        raise BuildError(
            [
                Diagnostic(
                    "E151",
                    f"no print PDF at {pdf}: the EPUB carries the print edition's page numbers",
                    file=resolved.book.config_document.path,
                    hint="build the PDF first: `invoke build` (or `invoke pdf`, then `invoke epub`)",
                )
            ]
        )
    return pdf


def page_labels(stream: pagemap.WordStream, pages: list[pagemap.PrintPage], pdf: Path) -> dict[int, str]:
    """The label of each print page of the body (the pages before it, title and contents, carry no marker)."""
    first = pagemap.first_body_page(stream.text, pages)
    if first is None:
        raise BuildError(
            [
                Diagnostic(
                    "E152",
                    "no page of the print PDF begins with the book's first text",
                    file=pdf,
                    hint="the PDF is older than the texts: build the PDF and the EPUB together (`invoke build`)",
                )
            ]
        )
    return pagemap.page_labels(pages, first)


def book_ast(resolved: ResolvedBook, body: list[Node]) -> dict[str, Any]:
    first = next(iter(resolved.texts.values())).ast
    blocks = title_page_blocks(resolved, paginated=True) + body
    return {"pandoc-api-version": first["pandoc-api-version"], "meta": {}, "blocks": blocks}


@dataclass
class Draft:
    """The e-book's body and its running text, made before the print pages are known: in a full build, while the
    PDF is laid out. The page markers then go into this body."""

    body: list[Node]
    stream: pagemap.WordStream
    cover: bytes  # the cover image (PNG), drawn while the PDF is laid out too

    def serialised(self, resolved: ResolvedBook) -> bytes:
        """The whole e-book as pandoc's JSON, the draft then emptied but for its running text's letters: a copy of
        every text's tree (0.3 GB on a 50-chapter book) would otherwise stay in memory beside pandoc's EPUB writer
        and the PDFs' merges. Written by the json module, not ast.to_json: given the same document without the
        spaces after commas and colons, pandoc's EPUB writer took 1.20 GB instead of 0.82 GB, and 5 % more time,
        on the 50-chapter book (measured with pandoc 3.9; the runs to HTML and citeproc showed no difference)."""
        document = json.dumps(book_ast(resolved, self.body)).encode()
        self.body, self.stream = [], self.stream.without_words()
        return document


def draft_epub(resolved: ResolvedBook, project: Project) -> Draft:
    body = body_blocks(resolved)
    config = resolved.book.config
    cover = cover_png(CoverText(config.title, config.subtitle, editors_line(resolved)), project.fonts_dir)
    return Draft(body, pagemap.WordStream.of(body), cover)


def render_epub(
    resolved: ResolvedBook,
    project: Project,
    target: Path,
    pages: list[pagemap.PrintPage] | None = None,
    draft: Draft | None = None,
) -> Path:
    """The EPUB, paginated as the print PDF: by `pages` (the build's layout) or else by the print PDF in the
    output folder."""
    if pages is None:
        pages = pagemap.read_print_pages(print_pdf(resolved, project))
    with EpubRun(resolved, project, draft) as run:
        run.write()
        return run.finish(target, pages)


class EpubRun:
    """The EPUB in two steps, so that a build runs pandoc's EPUB writer (seconds) while the print edition is laid
    out: pandoc writes the book without page markers, then the markers go into the XHTML it wrote once the pages
    are known (page_markers.py), and the package is finished."""

    def __init__(self, resolved: ResolvedBook, project: Project, draft: Draft | None = None):
        self.resolved, self.project = resolved, project
        self.draft = draft or draft_epub(resolved, project)
        self.stream = self.draft.stream.without_words()
        self.scratch = Path(tempfile.mkdtemp(prefix="epub-", dir=scratch_folder(project.build_dir)))
        self.epoch = source_date_epoch(resolved)
        self.writer = EpubWriter(resolved, project, self.scratch, self.draft.cover, self.epoch)
        self.package: epub_package.Package | None = None

    def __enter__(self) -> EpubRun:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def write(self, before_pandoc: Callable[[int], object] = lambda size: None) -> None:
        """pandoc's EPUB of the book. `before_pandoc` is called with the size of pandoc's input: for a large book
        the build waits there for the PDF's worker processes to end, as pandoc's EPUB writer needs most memory."""
        document = self.draft.serialised(self.resolved)
        before_pandoc(len(document))  # the draft's trees, freed above, go back to the system there
        self.package = self.writer(document)

    def finish(self, target: Path, pages: list[pagemap.PrintPage]) -> Path:
        """The page markers placed, the package finished and written to `target`."""
        assert self.package is not None
        pdf = self.project.build_dir / f"{self.resolved.book.config.slug}.pdf"
        labels = page_labels(self.stream, pages, pdf)
        package = self.package

        def index_pages(pages_of: dict[str, str]) -> bool:
            return index_markup.rewrite(package, self.resolved, pages_of)

        page_ids = page_markers.place(package.text_bodies(), pages, labels, TITLE_PAGE_ID, pdf, index_pages)
        finishing = epub_package.Finishing(
            self.resolved, documents(self.resolved), page_ids, page_source(self.resolved), self.project.fonts_dir
        )
        with atomic_file(target) as temporary:
            epub_package.finish(self.package, temporary, finishing, self.epoch)
        return target


class EpubWriter:
    """pandoc's EPUB writer on the book's JSON, sandboxed like every pandoc run, its EPUB read back for finishing.

    pandoc 3.9's sandbox lets its EPUB writer read the files named by `--epub-embed-font`, but neither the stylesheet
    named by `--css` nor the cover image the metadata names ("not found in resource path", measured): those two are
    named as fonts too, and the copies pandoc then packs among the fonts are taken out again (`without_copies`). A
    text's images reach it as data (images.py)."""

    def __init__(self, resolved: ResolvedBook, project: Project, scratch: Path, cover: bytes, epoch: int):
        self.scratch, self.epoch = scratch, epoch
        cover_file, stylesheet = scratch / "cover.png", project.style_file("epub.css")
        meta_file = scratch / "metadata.yaml"
        meta = literal(metadata(resolved, cover_file))
        # The files pandoc reads from the scratch folder, written as each run starts (`inputs`).
        self.inputs = {cover_file: cover, meta_file: yaml.safe_dump(meta, allow_unicode=True, sort_keys=True).encode()}
        self.readable = [cover_file, stylesheet]
        self.args = [
            "--from",
            "json",
            "--to",
            "epub3",
            f"--metadata-file={meta_file}",
            f"--css={stylesheet}",
            f"--split-level={SPLIT_LEVEL}",
            "--epub-title-page=false",
            "--toc",
            "--toc-depth=3",
            *[f"--epub-embed-font={project.style_file(f'fonts/{name}')}" for name in FONT_FILES],
            *[f"--epub-embed-font={path}" for path in self.readable],
            "--output",
            str(scratch / "pandoc.epub"),
        ]

    def __call__(self, document: bytes) -> epub_package.Package:
        self.scratch.mkdir(parents=True, exist_ok=True)
        for path, data in self.inputs.items():
            path.write_bytes(data)
        pandoc.run(self.args, document, epoch=self.epoch)
        package = without_copies(epub_package.Package(self.scratch / "pandoc.epub"), [p.name for p in self.readable])
        return dated(package, self.epoch)


def dated(package: epub_package.Package, epoch: int) -> epub_package.Package:
    """The package's dcterms:modified at the book's timestamp: sandboxed, pandoc reads no SOURCE_DATE_EPOCH and
    dates it 1970-01-01 (measured with pandoc 3.9)."""
    opf = package.trees[package.path(epub_package.OPF_FILE)]
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for meta in opf.iterfind(f".//{{{epub_package.OPF}}}meta[@property='dcterms:modified']"):
        meta.text = stamp
    return package


def without_copies(package: epub_package.Package, names: list[str]) -> epub_package.Package:
    """The package without the files pandoc packed as fonts only so that its sandbox let it read them."""
    hrefs = {f"fonts/{name}" for name in names}
    for href in hrefs:
        package.files.pop(package.path(href), None)
    opf = package.trees[package.path(epub_package.OPF_FILE)]
    for item in opf.iterfind(f".//{{{epub_package.OPF}}}item"):
        if item.get("href") in hrefs:
            item.getparent().remove(item)
    return package
