"""Print segments: the book's print HTML cut into texts that each start on a recto, laid out separately.

Every text of the book (a part title, a chapter, an introduction, the index…) starts on a recto, so its pages do
not depend on what comes before it except through the folio and through page numbers printed as text (contents,
cross-references, bibliography, index). Folios are therefore stamped on at the merge (`merge.py`), and page
numbers are given to each segment as text; a segment's layout then depends only on its own HTML. That makes three
things possible: segments are laid out in parallel processes, a segment whose HTML has not changed is taken from a
cache keyed by its content, and an edit to one chapter re-lays out that chapter alone.

Page numbers printed as text would make a segment depend on every text before it. So a segment is laid out with
each page number masked (every digit a zero, the span hidden; the figures are tabular, so any number of that many
digits takes the same room): the worker records where each number falls, and the merge prints the real numbers
there, with the folios. A segment is laid out again only when a number gains or loses a digit. The index and the
bibliography print their page numbers as plain text, since the numbers decide what is printed around them (an index
range, "p." or "pp."): they are laid out again when their numbers change.

A worker lays a segment out once and writes the printer's PDF (CMYK black, nothing interactive) with, beside it,
the links and destinations the layout found (links.json). The screen PDF (sRGB, links, destinations) is derived
from the two by a worker, as a job queued after the layouts before it (screen.py, `derive_screen`). Footnotes that
WeasyPrint separates from their calls are mended inside the segment by forced page breaks (`typeset.footnote_breaks`);
they depend only on the segment's HTML.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from anthology import manifest
from anthology.atomic import Damaged, read_sealed, write_sealed

# Links to an anchor in another segment: WeasyPrint would drop them ("No anchor"), so they leave the segment as
# URIs of this scheme and the merge turns them back into links to the book's named destinations.
DEST_SCHEME = "anthology-dest:"
# Added to each segment's style sheets: no folio (stamped at the merge, where the page number is known) but an
# empty box where the folio goes, so the worker can tell which pages carry one; and a last page that only marks the
# next recto (the merge drops it), so a segment that ends on a recto gets its blank verso as in the whole book.
SEGMENT_CSS = """
@page { @bottom-center { content: ""; } }
.segment-end { page: end; break-before: right; height: 1pt; }
.pnum { visibility: hidden; }
.pnum::before { visibility: visible; }
"""
# A page number as print_html writes it (ast.page_number, the contents' template), and as masked in a segment.
PAGE_NUMBER = re.compile(r'<span class="pnum">(\d*)</span>')
MASKED_NUMBER = re.compile(r'<span class="pnum" data-n="(\d+)">\d*</span>')
FRONT_CLASSES = {"half-title", "title-page", "copyright-page"}


@dataclass(frozen=True)
class Segment:
    """One text's pages: its name (the section's id or class), its HTML document, the ids it holds."""

    name: str
    html: str  # page numbers masked (mask_numbers)
    ids: frozenset[str]
    last: bool
    numbers: tuple[str, ...] = ()  # the page numbers masked, in document order
    targets: tuple[str, ...] = ()  # the anchor each of them is the page of (the link it is printed in), or ""


def mask_numbers(html: str) -> tuple[str, tuple[str, ...]]:
    """Each page number's digits as zeros, the span numbered (data-n) so the layout can say where it fell."""
    numbers: list[str] = []

    def mask(match: re.Match[str]) -> str:
        numbers.append(match[1])
        return f'<span class="pnum" data-n="{len(numbers) - 1}">{"0" * len(match[1])}</span>'

    return PAGE_NUMBER.sub(mask, html), tuple(numbers)


def unmask_numbers(html: str, numbers: tuple[str, ...]) -> str:
    return MASKED_NUMBER.sub(lambda match: f'<span class="pnum">{numbers[int(match[1])]}</span>', html)


def _head(root: Any) -> str:
    head = root.find("head")
    style = lxml_html.Element("style")
    style.text = SEGMENT_CSS
    head.append(style)
    text = lxml_html.tostring(head, encoding="unicode")
    head.remove(style)
    return text


def _classes(element: Any) -> set[str]:
    return set((element.get("class") or "").split())


def _groups(body: Any) -> list[list[Any]]:
    """Top-level elements grouped by the page they must start on: the front pages go together (the copyright
    page is a verso), the final blank page goes with the last text."""
    groups: list[list[Any]] = []
    for element in body:
        if not isinstance(element.tag, str):
            continue
        classes = _classes(element)
        joins_front = bool(classes & FRONT_CLASSES) and bool(groups) and bool(_classes(groups[-1][0]) & FRONT_CLASSES)
        if ("final-blank" in classes and groups) or joins_front:
            groups[-1].append(element)
        else:
            groups.append([element])
    return groups


def _name(group: list[Any], number: int) -> str:
    first = group[0]
    return first.get("id") or f"{number:02d}-{(first.get('class') or first.tag).split()[0]}"


def _relink(group: list[Any], ids: set[str]) -> None:
    for element in group:
        for link in element.iter("a"):
            href = link.get("href") or ""
            if href.startswith("#") and href[1:] not in ids:
                link.set("href", DEST_SCHEME + href[1:])


def _targets(group: list[Any]) -> tuple[str, ...]:
    """The anchor each page number in the group is the page of: the link the number is printed in ("" for a
    number in no link). In document order, as mask_numbers counts them."""
    targets = []
    for element in group:
        for number in element.iter("span"):
            if number.get("class") == "pnum":
                link = next(number.iterancestors("a"), None)
                href = "" if link is None else link.get("href") or ""
                targets.append(href.removeprefix("#").removeprefix(DEST_SCHEME) if href else "")
    return tuple(targets)


def split(document: str) -> list[Segment]:
    """Cut the whole book's print HTML into segments, each a complete HTML document with the same head."""
    root = lxml_html.document_fromstring(document)
    head = _head(root)
    lang = root.get("lang") or ""
    groups = _groups(root.find("body"))
    segments = []
    for number, group in enumerate(groups):
        ids = {node.get("id") for element in group for node in element.iter() if node.get("id")}
        _relink(group, ids)
        last = number == len(groups) - 1
        body = "".join(lxml_html.tostring(element, encoding="unicode") for element in group)
        end = "" if last else '<div class="segment-end"></div>'
        html = f'<!DOCTYPE html>\n<html lang="{lang}">{head}<body>{body}{end}</body></html>\n'
        masked, numbers = mask_numbers(html)
        targets = _targets(group)
        if len(targets) != len(numbers):  # a number mask_numbers does not count (it has attributes): none known
            targets = ("",) * len(numbers)
        segments.append(Segment(_name(group, number), masked, frozenset(ids), last, numbers, targets))
    return segments


def whole_book(segments: list[Segment], bodies: list[str]) -> str:
    """The book as one document again, from the segments as finally laid out (with their footnote breaks): what
    the engine alone would render, and what a test compares the merged PDF with."""
    root = lxml_html.document_fromstring(segments[0].html)
    head = root.find("head")
    head.remove(head.findall("style")[-1])
    lang = root.get("lang") or ""
    text = "".join(unmask_numbers(body, segment.numbers) for segment, body in zip(segments, bodies, strict=True))
    text = text.replace(f'href="{DEST_SCHEME}', 'href="#')
    head_text = lxml_html.tostring(head, encoding="unicode")
    return f'<!DOCTYPE html>\n<html lang="{lang}">{head_text}<body>{text}</body></html>\n'


# ---- Jobs and results --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """What a worker needs: the segment, where to write, and which PDFs."""

    key: str
    segment: Segment
    folder: str  # the cache entry: print.pdf, links.json, screen.pdf (derived from the two), result.json
    styles_dir: str
    book_dir: str
    variants: tuple[str, ...]
    options: dict[str, dict[str, Any]]  # the printer's PDF: its XMP DocumentID and PDF/X flavour
    previous: str = ""  # the cache entry of this segment's last layout (same style and code), to resume from


@dataclass
class Result:
    """What a segment's layout measured, kept as JSON beside its PDFs. Pages are counted without the last page
    that only marks the next recto."""

    name: str
    pages: int
    anchors: dict[str, int]  # id -> 0-based page within the segment
    folios: list[bool]  # whether each page carries a folio
    bookmarks: list[list[Any]]  # [page, level, label, x, y] in PDF points
    breaks: list[int]  # elements (document order) that start a page to keep footnotes with their calls
    separated: list[list[Any]]  # [slug, note number, call page, text page] (pages 0-based; text -1: lost)
    footnotes: dict[str, int]  # notes per text
    short_pages: list[int]
    passes: int
    body: str  # the segment's body as laid out (breaks applied), for the whole-book document
    # Where each masked page number fell: [data-n, page (0-based), x, y (CSS px from the page's content box), width,
    # CSS of its type, whether the screen PDF colours it as a link]
    stamps: list[list[Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)  # each page's lines of text (measure.page_lines)
    # Pages a later layout may resume at (resume.py): [page, the paragraph that opens it, digest of all before]
    openings: list[list[Any]] = field(default_factory=list)
    # The PDFs the pages are in, when not print.pdf and screen.pdf alone: [file prefix, first page, past the last]
    files: list[list[Any]] = field(default_factory=list)
    elements: int = 0  # the segment's elements as parsed (a later layout's pages taken after an edit shift by their
    # difference in count: resume.py)
    digests: dict[str, str] = field(default_factory=dict)  # sha256 of each file of its pieces, as written (save)

    def pieces(self) -> list[list[Any]]:
        """The segment's pages as [file prefix, first page, past the last] of its PDFs, in order (the page that
        only marks the next recto left out)."""
        return self.files or [["", 0, self.pages]]

    def save(self, folder: Path) -> None:
        """Make the layout a cache entry, once its files are written. A layout WeasyPrint warned about is not one:
        the warning stops the build, and the next build lays the segment out again (a fixed system then passes).
        The pieces' files are digested, so that one changed or cut short since makes the entry no entry."""
        target = folder / "result.json"
        if self.warnings:
            target.unlink(missing_ok=True)
            return
        names = [name for prefix, _start, _stop in self.pieces() for name in piece_files(prefix, ("print", "screen"))]
        self.digests = {name: file_digest(folder / name) for name in names if (folder / name).exists()}
        write_sealed(target, asdict(self))

    @classmethod
    def load(cls, folder: Path) -> Result:
        """The result as saved: FileNotFoundError if there is none, Damaged if it is not as it was written."""
        return cls(**read_sealed(folder / "result.json"))


def job_key(segment: Segment, fingerprint: str) -> str:
    """A layout's cache key: what it depends on (the PDFs written are always both variants)."""
    digest = hashlib.sha256()
    for piece in (fingerprint, segment.html):
        digest.update(piece.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


LINKS = "links.json"


def piece_files(prefix: str, variants: tuple[str, ...]) -> list[str]:
    """The files a laid-out piece of a segment needs: the printer's PDF, and for a screen PDF the links it is
    derived with (the screen PDF itself may still be being derived: `underived`)."""
    return [f"{prefix}print.pdf", *([f"{prefix}{LINKS}"] if "screen" in variants else [])]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cached(folder: Path, variants: tuple[str, ...]) -> Result | None:
    """A complete cache entry: its result, of the form this code writes, with no warning, and the files of each of
    its pieces (piece_files) as they were written. An entry with no result (never finished) is none; one that is
    there but not as written (cut short, altered, or written by other code) is discarded with a warning (W064):
    either way the segment is laid out again."""
    try:
        result = Result.load(folder)
    except FileNotFoundError:
        return None
    except (Damaged, ValueError, TypeError) as error:
        return discard(folder, f"its result.json is damaged ({error})")
    try:
        if not well_formed(result):
            return discard(folder, "its result.json is not of the form this build writes")
        if result.warnings:
            return None
        names = [name for prefix, _start, _stop in result.pieces() for name in piece_files(prefix, variants)]
        for name in names:
            if name not in result.digests or file_digest(folder / name) != result.digests[name]:
                return discard(folder, f"its file {name} is not the file its layout wrote (cut short or altered)")
    except (OSError, ValueError, TypeError, AttributeError) as error:
        return discard(folder, f"it cannot be read ({error})")
    return result


def discard(folder: Path, reason: str) -> None:
    """A damaged segment entry removed, with a warning naming it: the segment is laid out again."""
    manifest.discarded(folder, "a print segment's cache entry", reason)


def well_formed(result: Result) -> bool:
    """Whether a result read back has the types and lengths this code writes (the merge and the folio documents
    index its lists by page)."""
    lists = (result.folios, result.lines, result.bookmarks, result.stamps, result.openings, result.files)
    return (
        isinstance(result.pages, int)
        and result.pages >= 0
        and isinstance(result.anchors, dict)
        and all(isinstance(page, int) and 0 <= page <= result.pages for page in result.anchors.values())
        and all(isinstance(items, list) for items in lists)
        and len(result.folios) == len(result.lines) == result.pages
        and all(isinstance(stamp, list) and len(stamp) == 7 and 0 <= stamp[1] < result.pages for stamp in result.stamps)
        and all(isinstance(piece, list) and len(piece) == 3 for piece in result.files)
        and isinstance(result.digests, dict)
    )


SCREEN_DIGEST = "screen.sha256"  # beside each piece's screen PDF: its digest, written once the PDF is


def underived(folder: Path, result: Result) -> list[str]:
    """The pieces (by file prefix) of a cache entry whose screen PDF is not derived yet, or not as it was derived
    (changed or cut short since)."""
    return [prefix for prefix, _start, _stop in result.pieces() if not screen_intact(folder, prefix)]


def screen_intact(folder: Path, prefix: str) -> bool:
    """Whether a piece's screen PDF is derived and as it was derived. One not derived yet (no digest) is simply
    derived; one whose file or digest changed since is discarded with a warning (W064), then derived again."""
    recorded_at = folder / f"{prefix}{SCREEN_DIGEST}"
    try:
        recorded = recorded_at.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        recorded = ""
    try:
        if recorded == file_digest(folder / f"{prefix}screen.pdf"):
            return True
    except OSError:
        pass
    recorded_at.unlink(missing_ok=True)
    manifest.discarded(folder / f"{prefix}screen.pdf", "a derived screen PDF", "it is not the file derived")
    return False


def save_links(folder: Path, prefix: str, pages: list[Any]) -> None:
    """The links and destinations of a layout's pages (screen.PageLinks), for deriving its screen PDF later."""
    (folder / f"{prefix}{LINKS}").write_text(json.dumps([asdict(page) for page in pages]), encoding="utf-8")


def derive_screen(folder: str, prefix: str) -> None:
    """A worker's job: a piece's screen PDF from its printer's PDF and its links."""
    from anthology.atomic import atomic_file
    from anthology.render.print import screen

    where = Path(folder)
    pages = [screen.PageLinks(**page) for page in json.loads((where / f"{prefix}{LINKS}").read_text(encoding="utf-8"))]
    with atomic_file(where / f"{prefix}screen.pdf") as temporary:
        screen.derive(where / f"{prefix}print.pdf", temporary, pages)
    with atomic_file(where / f"{prefix}{SCREEN_DIGEST}") as temporary:
        temporary.write_text(file_digest(where / f"{prefix}screen.pdf"), encoding="utf-8")


def prune(cache: Path, keep: set[str]) -> None:
    """Drop cache entries the last build did not use: the cache holds one book's segments, not its history."""
    if not cache.exists():
        return
    for entry in cache.iterdir():
        if entry.is_dir() and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)


# ---- The worker --------------------------------------------------------------------------------------------------

FOOTNOTE_ID = re.compile(r"^(?P<slug>.+)--fncall-(?P<number>\d+)$")


def measure(anchors: dict[str, int]) -> tuple[list[list[Any]], dict[str, int]]:
    """Footnotes whose text is on another page than the call, and the number of notes per text."""
    separated: list[list[Any]] = []
    totals: dict[str, int] = {}
    for anchor, page in anchors.items():
        match = FOOTNOTE_ID.match(anchor)
        if match is None:
            continue
        slug, number = match["slug"], int(match["number"])
        totals[slug] = max(totals.get(slug, 0), number)
        text = anchors.get(f"{slug}--fn-{number}", -1)
        if text != page:
            separated.append([slug, number, page, text])
    separated.sort(key=lambda item: (item[2], item[1]))
    return separated, totals


# What the workers' fork server imports once, before it forks them (build.worker_context).
PRELOAD = ("weasyprint", "pikepdf", "anthology.render.print.worker", "anthology.render.print.folios")
