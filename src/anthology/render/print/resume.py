"""Resuming a segment's layout at the page where its text first changed: the pages before are the previous layout's.

WeasyPrint lays pages out one after another, and a page's layout depends only on what comes before it and on the
paragraph it breaks before. So when an edit leaves a chapter unchanged up to a paragraph that opened a page in the
previous layout (its first line at the head of the page), the pages before that paragraph are already laid out:
they are taken from the previous layout's PDFs and measurements, and only the rest of the chapter is laid out
again. A one-word edit in the middle of a chapter then costs half a chapter's layout instead of a whole one.

The rest is laid out as the whole chapter would lay it out from that page on: the same document with everything
before the paragraph hidden (`display: none`, emptied, so that it costs no styling either) but present, so every
selector that counts siblings (`h2 + p`, `:first-child`) matches as before and every element keeps its place in
document order; the page on the same side (the document's first page is made a left or a right page); the
footnote counter where the chapter had it; the running heads set by the chapter's element, as on every page; the
opener's page style left to the opener (the rest is on a page of another name, which no rule of the style sheet
may name: checked); the page's top edges of the paragraph's containers, which a continued box does not repeat,
set to nothing.

What makes a page an opening is checked on the layout that recorded it, in every pass that mended footnotes
(`OpeningWatch`): a body paragraph whose first line is the page's first thing, with no margin, padding or border
above it and no forced break before it, and no footnote called before it printed on or after its page. That the
text before it is unchanged is checked by the worker that resumes, on the new document: a digest of everything
before the paragraph, and the paragraph itself, as parsed; and that the style sheets carry nothing else across
the cut (`nothing_carried`, `continued_page_ok`). The footnote mending then runs as the whole chapter's would have
(`tail_passes`), so the resumed layout is the layout of the whole chapter; tests compare the two.

The layout also stops as soon as it can: at the first opening after the edit from which the document is the one
the previous layout was given (`rest_digest`, recorded with each opening: everything from the paragraph on, and
what `Hider` would leave of what comes before it). If the new layout sets that paragraph at the head of the same
page, in every pass, with the previous layout's footnote breaks before it, then from that page on the two layouts
are laid out from the same document in the same state, and the previous layout's pages are taken there too
(`reusable`, `reuse_tail`): a one-word edit lays out the few pages between two openings. If the pages after the
edit moved, the rest is laid out to the end.

When a worker would otherwise be idle (an edit to one chapter), that rest is split again at a later opening of the
previous layout and its two parts are laid out at once (`render_part`, `join`). That cut is a guess, as the text
before it changed: the first part's layout must confirm that the cut's paragraph still opens the same page in every
pass, with the previous layout's footnote breaks before it; if not, the rest is laid out again in one piece.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anthology.model import Project
from anthology.render.print import segments
from anthology.render.print.measure import parent_map
from anthology.render.print.openings import (
    MAX_KEPT_FILES,
    START,
    Hider,
    OpeningWatch,
    Resumption,
    Signature,
    choose,
    continued_page_ok,
    kept_files,
    nothing_carried,
    opening_box,
    prefix_digest,
    rest_digest,
    signatures,
    style_sheets,
)
from anthology.render.print.segment_layout import (
    MAX_PASSES,
    Lay,
    lay_out_segment,
    measure_segment,
    segment_body,
    write_segment,
)
from anthology.render.print.typeset import IGNORED_WARNINGS, PRINT, force_breaks, layout

if TYPE_CHECKING:
    pass


def tail_passes(previous: segments.Result, at: Resumption, head_breaks: list[int]) -> int:
    """The footnote passes left to the rest: the whole chapter's mending reaches the rest only once the pages
    before are mended (one break a pass), and not at all if a note stays separated there."""
    if any(call < at.page for _slug, _number, call, _text in previous.separated):
        return 1
    return max(1, MAX_PASSES - len(head_breaks))


def link_pieces(
    previous: segments.Result, old: Path, new: Path, first: int, last: int, variants: tuple[str, ...]
) -> list:
    """The previous layout's files holding its pages [first, last), linked into the new entry: [prefix, start,
    stop] of each, in order. A file keeps one name however many of its pages are taken, before and after a part
    laid out again: the merge opens it once, and its fonts come once."""
    pieces, seen, names = [], 0, {}
    for number, (prefix, start, stop) in enumerate(previous.pieces()):
        name = names.setdefault(prefix, f"part{number}-")
        low, high = max(first, seen), min(last, seen + stop - start)
        seen += stop - start
        if low >= high:
            continue
        # A screen PDF not (intactly) derived yet is derived in this build.
        derived = ["screen.pdf", segments.SCREEN_DIGEST] if segments.screen_intact(old, prefix) else []
        for suffix in [*segments.piece_files("", variants), *derived]:
            source, target = old / f"{prefix}{suffix}", new / f"{name}{suffix}"
            target.unlink(missing_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        offset = seen - (stop - start)
        pieces.append([name, start + low - offset, start + high - offset])
    return pieces


def shifted(items: list[list[Any]], position: int, by: int) -> list[list[Any]]:
    return [[*item[:position], item[position] + by, *item[position + 1 :]] for item in items]


def combine(
    previous: segments.Result, rest: segments.Result, at: Resumption, head_breaks: list[int], taken: list
) -> None:
    """`rest` (laid out from the opening on) becomes the whole segment's result: the previous layout's pages
    before the opening, then its own; `taken` holds the openings of the pages taken (`taken_openings`)."""
    before = lambda items, position: [item for item in items if item[position] < at.page]  # noqa: E731
    anchors = {name: page + at.page for name, page in rest.anchors.items()}
    anchors.update({name: page for name, page in previous.anchors.items() if page < at.page})  # first page wins
    rest.separated, rest.footnotes = segments.measure(anchors)
    rest.anchors = anchors
    rest.folios = previous.folios[: at.page] + rest.folios
    rest.lines = previous.lines[: at.page] + rest.lines
    rest.bookmarks = before(previous.bookmarks, 0) + shifted(rest.bookmarks, 0, at.page)
    rest.stamps = before(previous.stamps, 1) + shifted(rest.stamps, 1, at.page)
    rest.short_pages = [page for page in previous.short_pages if page < at.page] + [
        page + at.page for page in rest.short_pages
    ]
    rest.breaks = sorted({*head_breaks, *rest.breaks})
    rest.passes += len(head_breaks)
    rest.pages += at.page
    rest.warnings = list(dict.fromkeys([*previous.warnings, *rest.warnings]))
    kept = [opening for opening in taken if opening[0] <= at.page]
    rest.openings = kept + [opening for opening in rest.openings if opening[0] > at.page]


class NoOpening(Exception):
    """The new document differs from the previous layout's before its first opening, or the style sheets carry
    something across, or a split has no second opening to cut at."""


# A layout resumed at an opening may also be split at a later one, the two parts laid out at once by the workers
# (`Part`): when the rest is at least this many pages on each side of the cut.
MIN_SPLIT_PAGES = 6


def second_cut(previous: segments.Result, at: Resumption) -> Resumption | None:
    """The opening of the previous layout nearest the middle of the pages after `at`, for a split: a guess, since
    the text after `at` changed; the first part's layout confirms it (`Part.confirmed`)."""
    middle = (at.page + previous.pages) / 2
    candidates = [
        Resumption(page, element, digest)
        for page, element, digest, *_ in previous.openings
        if page - at.page >= MIN_SPLIT_PAGES and previous.pages - page >= MIN_SPLIT_PAGES
    ]
    return min(candidates, key=lambda cut: (abs(cut.page - middle), cut.page), default=None)


def reusable(
    previous: segments.Result, at: Resumption, signs: list[Signature], elements: list[Any]
) -> Resumption | None:
    """The first opening of the previous layout after `at` from which the new document is the previous one (the
    same rest digest: the edit lies before it), and whose pages come from no more files than a resumption keeps:
    if the text before it still sets it at the head of the same page, the previous layout's pages from there on
    are the new layout's (`reuse_tail`). None if there is none. Elements added or removed by the edit shift the
    paragraph's index (by the difference in count); the previous layout's footnote breaks between `at` and the
    opening, which could then not be compared with the new layout's, must be none."""

    if not previous.elements:
        return None
    parents = parent_map(elements)
    shift = len(elements) - previous.elements
    for page, element, digest, *rest in sorted(previous.openings):
        index = element + shift
        if page <= at.page or not rest or not 0 <= index < len(elements) or elements[index].tag != "p":
            continue
        if shift and any(at.element <= breaking < element for breaking in previous.breaks):
            continue
        if rest_digest(signs, elements, parents, index) != rest[0]:
            continue
        if len(kept_files(previous, 0, at.page) | kept_files(previous, page, previous.pages)) <= MAX_KEPT_FILES:
            return Resumption(page, index, digest, rest[0], shift)
    return None


class Resumer:
    """The layout's `prepare`: on the first pass, chooses where to resume on the document as parsed; on every
    pass, hides what comes before (and for the first part of a split, what comes after its end).

    `role` is "" for a layout of the whole rest, "head" or "rest" for the parts of a split: both workers choose
    the same two openings from the same document. With `reuse`, a layout ends at the first opening from which the
    document is unchanged (`reusable`), whose pages the previous layout has: the first part of a split is then
    all there is to lay out, and the second part's worker has nothing to do."""

    def __init__(
        self, previous: segments.Result, styles_dir: Path, watch: OpeningWatch, role: str = "", reuse: bool = True
    ):
        self.previous, self.styles_dir, self.watch, self.role = previous, styles_dir, watch, role
        self.reuse = reuse
        self.at: Resumption | None = None
        self.stop: Resumption | None = None
        self.reused: Resumption | None = None
        self.hider: Hider | None = None
        self.signs: list[Signature] = []

    def __call__(self, elements: list[Any]) -> None:
        if self.hider is None:
            signs = signatures(elements)
            start = choose(self.previous, signs, elements)
            if start is None and (self.role or self.reuse):
                start = START  # laid out from the segment's first page (to a cut, or to the pages taken)
            css = PRINT.css + style_sheets(elements, self.styles_dir)
            if start is None or not continued_page_ok(css) or not nothing_carried(css, elements):
                raise NoOpening
            self.reused = reusable(self.previous, start, signs, elements) if self.reuse else None
            if start == START and not self.role and self.reused is None:
                raise NoOpening  # nothing to resume at, no pages to take: the caller lays the segment out whole
            if self.reused is not None and self.role == "rest":
                raise NoOpening  # the first part's worker lays out all that changed: nothing is left to lay out here
            cut = self.reused or (second_cut(self.previous, start) if self.role else None)
            if cut is not None and (cut.element >= len(elements) or elements[cut.element].tag != "p"):
                cut = None
            if self.role == "rest" and cut is None:
                raise NoOpening  # no split: the first part's worker lays out the whole rest
            self.at, self.stop = (cut, None) if self.role == "rest" else (start, cut)
            assert self.at is not None
            self.watch.signs, self.watch.offset = signs, self.at.page
            self.signs = signs
            self.hider = Hider(self.at, self.stop)
        self.hider(elements)

    def passes(self) -> int:
        assert self.at is not None
        return tail_passes(self.previous, self.at, self.head_breaks())

    def head_breaks(self) -> list[int]:
        """The previous layout's breaks before where this layout starts (for the rest of a split: on the guess
        that the first part keeps them, which the build checks)."""
        assert self.at is not None
        return [index for index in self.previous.breaks if index < self.at.element]

    def last_page(self) -> int | None:
        """The first part of a split mends footnotes only on its own pages, before the cut's."""
        return None if self.stop is None or self.at is None else self.stop.page - self.at.page


@dataclass
class Part:
    """What a worker laying out a resumed segment (or a part of it) returns: its result, pages counted from its
    first (`at`); for a split's first part, whether the cut's paragraph opened the cut's page in every pass, and
    whether a note stays separated from its call on its pages."""

    result: segments.Result
    at: Resumption
    stop: Resumption | None
    head_breaks: list[int]
    confirmed: bool = True
    separated_left: bool = False
    reused: bool = False  # `stop` is an opening from which the previous layout's pages are taken (reuse_tail)
    taken: list[list[Any]] = field(default_factory=list)  # the openings of the previous layout's pages taken


def lay_out_rest(
    job: segments.Job, previous: segments.Result | None, role: str = "", reuse: bool = True
) -> Part | None:
    """Lay out the segment from an opening of its previous layout (`role` "": from the last one its new text leaves
    unchanged, to the end; "head" and "rest": the two parts of that, split at a later opening, the first the whole
    rest if there is none; with `reuse`, only to the first opening from which the text is unchanged, if any), write
    its PDF and measure it; None if it cannot resume (the caller lays the segment out whole). `previous` is the
    result in `job.previous`."""
    old = Path(job.previous)
    if previous is None or not previous.openings:
        return None
    project = Project(Path(job.book_dir), Path(job.styles_dir), Path(job.folder))
    folder = Path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    watch = OpeningWatch()
    resumer = Resumer(previous, project.style_file("print.css").parent, watch, role, reuse)
    from anthology.render.print.engine import weasyprint_warnings

    with weasyprint_warnings() as warnings:
        lay: Lay = lambda breaks: layout(job.segment.html, project, PRINT, breaks, resumer)  # noqa: E731
        try:
            document, elements, breaks, passes = lay_out_segment(lay, resumer.passes, watch, resumer.last_page())
        except NoOpening:
            return None
        at, stop, hider = resumer.at, resumer.stop, resumer.hider
        assert at is not None and hider is not None
        first = opening_box(document.pages[0])
        if at != START and (first is None or first.element is not elements[at.element]):
            return None  # not what the previous layout promised: lay the segment out whole
        count = len(document.pages) - (0 if job.segment.last else 1)
        confirmed = True
        if stop is not None:
            count = stop.page - at.page
            confirmed = [count + at.page, stop.element] in [o[:2] for o in watch.openings(breaks, count + 1)]
        rest, links = measure_segment(job.segment.name, document, elements, breaks, passes, count)
        rest.anchors = {name: page for name, page in rest.anchors.items() if page < count}
        rest.short_pages = [page for page in rest.short_pages if page < count]
        rest.openings = watch.openings(breaks, count + (1 if stop is not None else 0))
        pieces = len(previous.pieces())
        linked = link_pieces(previous, old, folder, 0, at.page, job.variants) if role != "rest" else []
        prefix = f"part{pieces + (1 if role == 'rest' else 0)}-"  # the second part's file after the first's
        write_segment(document, job, folder, links, prefix)
        rest.files = [*linked, [prefix, 0, count]]
        rest.warnings = list(dict.fromkeys(m for m in warnings if not m.startswith(IGNORED_WARNINGS)))
    head_breaks = resumer.head_breaks()
    hider.restore()  # the document as parsed, for the body and the digests
    if stop is None or resumer.reused:  # the segment's body as laid out (a split's second part: with the guess's
        # breaks before it; a layout that ends where the previous layout's pages are taken: with theirs after it)
        tail_breaks = shifted_breaks(previous, stop) if stop is not None else []
        force_breaks(elements, [*head_breaks, *tail_breaks])
        rest.body = segment_body(elements)
    taken: list[list[Any]] = []
    if role != "rest":
        after = stop if stop is not None and resumer.reused else None
        taken = taken_openings(previous, at.page, after, resumer.signs, elements)
    separated = any(call < count for _slug, _number, call, _text in segments.measure(rest.anchors)[0])
    return Part(rest, at, stop, head_breaks, confirmed, separated, resumer.reused is not None, taken)


def taken_openings(
    previous: segments.Result, before: int, after: Resumption | None, signs: list[Signature], elements: list[Any]
) -> list[list[Any]]:
    """The previous layout's openings on the pages taken from it (up to page `before`, and from the page of the
    cut `after` on, their paragraphs shifted as the cut's): the same pages and paragraphs, their digests taken anew
    from the new document (the text after the first pages and before the last changed)."""

    parents = parent_map(elements)
    chosen = [(page, element) for page, element, *_ in previous.openings if page <= before]
    if after is not None:
        chosen += [(page, element + after.shift) for page, element, *_ in previous.openings if page >= after.page]
    return [
        [
            page,
            element,
            prefix_digest(signs, elements, parents, element),
            rest_digest(signs, elements, parents, element),
        ]
        for page, element in chosen
    ]


def shifted_breaks(previous: segments.Result, cut: Resumption) -> list[int]:
    """The previous layout's footnote breaks from the cut on, as indices of the new document."""
    return [index + cut.shift for index in previous.breaks if index >= cut.element - cut.shift]


def cut_holds(previous: segments.Result, head: Part) -> bool:
    """Whether a layout that ended at a cut (`head.stop`) set the cut's paragraph at the head of the cut's page in
    every pass, kept the previous layout's footnote breaks before it, and leaves a note separated from its call
    there only where the previous layout did: the layout from the cut on is then the previous layout's."""
    cut = head.stop
    assert cut is not None
    expected = [index for index in previous.breaks if head.at.element <= index < cut.element - cut.shift]
    was_separated = any(head.at.page <= call < cut.page for _slug, _number, call, _text in previous.separated)
    kept = sorted(head.result.breaks) == expected
    return head.confirmed and kept and head.separated_left == was_separated


def append_tail(previous: segments.Result, result: segments.Result, cut: Resumption, openings: list) -> None:
    """`result` (the segment's pages before the cut) followed by the previous layout's pages from the cut on, with
    their measurements as they were; `openings` are theirs (`taken_openings`)."""
    anchors = dict(result.anchors)
    for name, page in previous.anchors.items():
        if page >= cut.page:
            anchors.setdefault(name, page)
    result.separated, result.footnotes = segments.measure(anchors)
    result.anchors = anchors
    result.pages = previous.pages
    result.folios = result.folios[: cut.page] + previous.folios[cut.page :]
    result.lines = result.lines[: cut.page] + previous.lines[cut.page :]
    result.bookmarks = [b for b in result.bookmarks if b[0] < cut.page] + [
        b for b in previous.bookmarks if b[0] >= cut.page
    ]
    result.stamps = [s for s in result.stamps if s[1] < cut.page] + [s for s in previous.stamps if s[1] >= cut.page]
    result.short_pages = [p for p in result.short_pages if p < cut.page] + [
        p for p in previous.short_pages if p >= cut.page
    ]
    result.breaks = sorted({*result.breaks, *shifted_breaks(previous, cut)})
    result.passes = previous.passes  # the same breaks, before the cut (cut_holds) and after it
    result.warnings = list(dict.fromkeys([*result.warnings, *previous.warnings]))
    result.openings = [opening for opening in result.openings if opening[0] < cut.page] + openings


def reuse_tail(job: segments.Job, previous: segments.Result, head: Part) -> segments.Result | None:
    """The segment's result from a layout that ended at a reusable opening (`Resumer.reused`) and the previous
    layout's pages from there on; None if the layout did not set the opening where the previous one had it (the
    caller lays the rest out)."""
    cut = head.stop
    if cut is None or not cut_holds(previous, head):
        return None
    result = head.result
    combine(previous, result, head.at, head.head_breaks, head.taken)
    append_tail(previous, result, cut, [opening for opening in head.taken if opening[0] >= cut.page])
    folder = Path(job.folder)
    result.files += link_pieces(previous, Path(job.previous), folder, cut.page, previous.pages, job.variants)
    result.save(folder)
    return result


def render_resumed(job: segments.Job, reuse: bool = True) -> segments.Result | None:
    """Lay out the segment from the last page of its previous layout that its new text leaves unchanged, and
    write the result as a whole layout's; None if there is no such page (the caller lays the segment out whole).
    With `reuse`, only as far as the text changed, if the pages from there on are the previous layout's."""
    previous = segments.cached(Path(job.previous), job.variants)
    part = lay_out_rest(job, previous, reuse=reuse)
    if part is None or previous is None:
        return None
    if part.reused:
        result = reuse_tail(job, previous, part)
        return result if result is not None else render_resumed(job, reuse=False)
    combine(previous, part.result, part.at, part.head_breaks, part.taken)
    part.result.save(Path(job.folder))
    return part.result


def render_part(job: segments.Job, role: str, reuse: bool = True) -> Part | None:
    """A worker's job: one part of a split resumption (see `join`)."""
    return lay_out_rest(job, segments.cached(Path(job.previous), job.variants), role, reuse)


def discard(job: segments.Job, part: Part | None) -> None:
    """The files of a split's second part whose guess failed (the first part's are laid out again in place)."""
    for prefix, _start, _stop in part.result.files if part is not None else []:
        derived = [f"{prefix}screen.pdf", f"{prefix}{segments.SCREEN_DIGEST}"]
        for name in [*segments.piece_files(prefix, job.variants), *derived]:
            (Path(job.folder) / name).unlink(missing_ok=True)


def join(job: segments.Job, head: Part | None, rest: Part | None) -> segments.Result | None:
    """The segment's result from the two parts of a split, laid out at once, if the guess the second made holds:
    the first part's layout opened the cut's page with the cut's paragraph in every pass, kept the previous
    layout's footnote breaks before the cut, and leaves no note separated where the previous did not. None
    otherwise (the caller lays the rest out again in one piece). With no page to split at, the first part's
    worker laid out the whole rest, and that is the result."""
    previous = segments.cached(Path(job.previous), job.variants)
    if previous is not None and head is not None and head.reused:  # the first part was all there was to lay out
        return reuse_tail(job, previous, head)
    if previous is not None and head is not None and head.stop is None:  # no second cut: the rest in one piece
        combine(previous, head.result, head.at, head.head_breaks, head.taken)
        head.result.save(Path(job.folder))
        return head.result
    if previous is None or head is None or rest is None or head.stop != rest.at:
        return None
    cut = rest.at
    if not cut_holds(previous, head):
        return None
    files = head.result.files + rest.result.files
    combine(previous, head.result, head.at, head.head_breaks, head.taken)
    combine(head.result, rest.result, cut, rest.head_breaks, head.result.openings)
    rest.result.files = files
    rest.result.save(Path(job.folder))
    return rest.result
