"""Folio documents: the folios and the page numbers held open in the segments, laid out as documents of
their own, in the type each number was laid out in, and stamped onto the segments' pages at the merge.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from anthology import manifest
from anthology.atomic import Damaged, atomic_file, read_sealed, write_sealed
from anthology.model import Project
from anthology.render.print import screen, segments
from anthology.render.print.page_plan import Layout
from anthology.render.print.patches import marking_links
from anthology.render.print.typeset import IGNORED_WARNINGS, PRINT, SCREEN, layout

FOLIO_CSS = """
@page { @bottom-center { content: counter(page); } }
html, body { margin: 0; padding: 0; }
.folio-page { break-before: page; height: 1pt; }
.folio-page:first-child { break-before: auto; }
.no-folio { page: no-folio; }
.folio-page { position: relative; }
.folio-page span { white-space: pre; margin: 0; padding: 0; text-indent: 0; }
@page no-folio { @bottom-center { content: none; } }
"""


def page_rules(project: Project, sheet: str) -> str:
    """Only the style sheet's pages and fonts: the folio document has no text of the book to style, and matching
    every rule against each of its thousands of numbers made it as slow to lay out as a chapter."""
    import tinycss2

    rules = tinycss2.parse_stylesheet(project.style_file(sheet).read_text(encoding="utf-8"))
    kept = [r for r in rules if r.type == "at-rule" and r.lower_at_keyword in ("font-face", "page", "color-profile")]
    return tinycss2.serialize(kept)


# Pages of a folio document: the book's are cut into documents of about this many, laid out at once by the
# workers (a folio document's layout time grows with its pages: docs/performance.md). Fixed, not the number of
# cores, so that the PDFs are the same on every machine.
OVERLAY_PAGES = 100


def folio_regions(parts: list[segments.Segment], exact: set[str]) -> list[tuple[int, int]]:
    """The segments (first, past the last) in up to three runs, which no folio document straddles: the last texts
    laid out (from the first that prints exact page numbers: the bibliography, the index), the segments before
    them that print a page of theirs (the contents), and the rest. The rest's folio documents can then be laid out
    while the last texts are (speculate_folios), the index alone at the end of a cold build."""
    late = next((i for i, part in enumerate(parts) if part.ids & exact), len(parts))
    later = {anchor for part in parts[late:] for anchor in part.ids}
    front = max((i + 1 for i, part in enumerate(parts[:late]) if later.intersection(part.targets)), default=0)
    return [(first, last) for first, last in ((0, front), (front, late), (late, len(parts))) if first < last]


def overlay_chunks(book: Layout, regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The segments (first, past the last) of each folio document: each region, segments of `book`, cut into
    documents of about OVERLAY_PAGES pages (no region, no document). A document starts where a segment does, on a
    recto with an odd page number, as the first page of a WeasyPrint document is a right-hand page."""
    ends = [*book.starts[1:], book.total + 1]  # the page after each segment
    chunks: list[tuple[int, int]] = []
    for first, last in regions:
        if not 0 <= first < last <= len(book.starts):
            raise ValueError(f"folio region {first}-{last} is not within the {len(book.starts)} segments laid out")
        opening, pages = book.starts[first], ends[last - 1] - book.starts[first]
        count = max(1, round(pages / OVERLAY_PAGES))
        cuts = [first]
        for number in range(1, count):
            wanted = opening + pages * number / count
            rectos = [i for i in range(cuts[-1] + 1, last) if book.starts[i] % 2 == 1]
            if rectos:
                cuts.append(min(rectos, key=lambda i: abs(book.starts[i] - wanted)))
        cuts.append(last)
        chunks += itertools.pairwise(cuts)
    return chunks


def overlay_html(parts: list[segments.Segment], book: Layout, project: Project, chunk: tuple[int, int]) -> str:
    """A document of the pages of the segments in `chunk` with nothing but the folios and the page numbers the
    segments left room for (segments.py): the same page rules, font and margins (mirrored on versos), the page
    counter counting from the chunk's first page, each number where its segment's layout put it, in the type it
    was laid out in; the numbers that are links are marked `data-link` (blue in the screen PDF)."""
    first, last = chunk
    opening = book.starts[first]  # the page counter's value on the document's first page
    head = parts[0].html.split("<body>")[0].replace("</head>", f"<style>{FOLIO_CSS}</style></head>")
    head = re.sub(
        r'<link rel="stylesheet" href="([^"]+)">', lambda m: f"<style>{page_rules(project, m[1])}</style>", head
    )
    results = book.results[first:last]
    flags = [carries for result in results for carries in result.folios]
    stamps: list[list[str]] = [[] for _ in flags]
    types: dict[str, str] = {}  # a class per distinct type: a few rules, not a style sheet per number
    for part, start, result in zip(parts[first:last], book.starts[first:last], results, strict=True):
        for index, page, x, y, width, css, link in result.stamps:
            name = types.setdefault(css, f"t{len(types)}")
            where = f"left: {x}px; top: {y}px; width: {width}px"
            marked = ' data-link=""' if link else ""
            number = part.numbers[index]
            stamps[start - opening + page].append(f'<span class="{name}"{marked} style="{where}">{number}</span>')
    rules = "".join(f".{name} {{ position: absolute; {css} }}\n" for css, name in types.items())
    if opening > 1:
        rules += OPENING_CSS.replace("OPENING", str(opening))
    head = head.replace("</head>", f"<style>{rules}</style></head>")
    pages = [
        f'<div class="folio-page{"" if carries else " no-folio"}">{"".join(numbers)}</div>'
        for carries, numbers in zip(flags, stamps, strict=True)
    ]
    if opening > 1 and pages:
        named = "opening" if flags[0] else "opening-no-folio"
        pages[0] = pages[0].replace("<div ", f'<div style="page: {named}" ', 1)
    return f"{head}<body>{''.join(pages)}</body></html>"


OPENING_CSS = """
@page opening { counter-reset: page OPENING; }
@page opening-no-folio { counter-reset: page OPENING; @bottom-center { content: none; } }
"""


def overlay_job(html: str, project: Project, targets: dict[str, str]) -> list[str]:
    """A worker's job: lay out a folio document, write it for the printer and derive the reader's copy. Returns
    WeasyPrint's warnings; a document it warned about is not kept (the build stops on them, and the next build
    lays the document out again)."""
    from anthology.render.print.engine import weasyprint_warnings

    with weasyprint_warnings() as messages:
        document, elements = layout(html, project, PRINT)
        links = {id(element) for element in elements if element.get("data-link") is not None}
        marked = marking_links(screen.link_text_boxes(document, links))
        with atomic_file(Path(targets[PRINT.name])) as temporary, marked:
            document.write_pdf(temporary)
        with atomic_file(Path(targets[SCREEN.name])) as temporary:
            screen.derive(Path(targets[PRINT.name]), temporary)
    problems = list(dict.fromkeys(m for m in messages if not m.startswith(IGNORED_WARNINGS)))
    if problems:
        for target in targets.values():
            Path(target).unlink(missing_ok=True)
    return problems


FOLIO_DIGESTS = "folios.json"


def recorded_folios(folder: Path) -> dict[str, str]:
    """The digest of each folio document's file by name, as the last build recorded them ({} if there is no
    record; a damaged one is discarded with a warning, and every folio document is laid out again)."""
    path = folder / FOLIO_DIGESTS
    try:
        data = read_sealed(path)
    except FileNotFoundError:
        return {}
    except Damaged as error:
        manifest.discarded(path, "the folio documents' record", str(error))
        return {}
    if not (isinstance(data, dict) and all(isinstance(v, str) for v in data.values())):
        manifest.discarded(path, "the folio documents' record", "it is not of the form this build writes")
        return {}
    return data


def record_folios(folder: Path, paths: set[Path]) -> None:
    digests = {path.name: segments.file_digest(path) for path in sorted(paths)}
    write_sealed(folder / FOLIO_DIGESTS, digests)


def numbers_known(part: segments.Segment, pages: dict[str, int]) -> bool:
    """Whether every page number the segment prints is the page its anchor has in `pages`."""
    return len(part.targets) == len(part.numbers) and all(
        str(pages.get(target)) == number for number, target in zip(part.numbers, part.targets, strict=True)
    )
