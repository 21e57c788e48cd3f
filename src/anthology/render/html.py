"""HTML edition: a multi-page site from Jinja2 templates, one page per chapter, notes with back-links."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import pandoc
from ..ast import Node, div, para, transform_lists
from ..resolve import ResolvedBook, ResolvedChapter, book_id
from .common import FONT_FILES, Project, atomic_dir, jinja_environment


@dataclass(frozen=True)
class Page:
    """One page of the site: its file name and the title shown in navigation."""

    href: str
    title: str


def note_id(slug: str, number: int) -> str:
    return book_id(slug, f"fn{number}")


def note_ref_id(slug: str, number: int) -> str:
    return book_id(slug, f"fnref{number}")


def notes_to_links(slug: str, blocks: list[Node]) -> tuple[list[Node], list[Node]]:
    """Replace notes by numbered note references and return the notes' own blocks, each with a back-link."""
    notes: list[Node] = []

    def convert(items: list[Any]) -> list[Any]:
        result = []
        for item in items:
            if item.get("t") != "Note":
                result.append(item)
                continue
            number = len(notes) + 1
            backlink = {
                "t": "Link",
                "c": [
                    ["", ["footnote-back"], [("role", "doc-backlink")]],
                    [{"t": "Str", "c": "↩︎"}],
                    ["#" + note_ref_id(slug, number), ""],
                ],
            }
            body = copy.deepcopy(item["c"]) or [para([])]
            last = body[-1]
            if last["t"] in ("Para", "Plain"):
                last["c"] = [*last["c"], {"t": "Space"}, backlink]
            else:
                body.append(para([backlink]))
            notes.append(
                {
                    "t": "Div",
                    "c": [
                        [note_id(slug, number), ["footnote"], [("role", "doc-footnote")]],
                        [para([{"t": "Str", "c": f"{number}."}]), *body],
                    ],
                }
            )
            result.append(
                {
                    "t": "Link",
                    "c": [
                        [note_ref_id(slug, number), ["footnote-ref"], [("role", "doc-noteref")]],
                        [{"t": "Superscript", "c": [{"t": "Str", "c": str(number)}]}],
                        ["#" + note_id(slug, number), ""],
                    ],
                }
            )
        return result

    # Notes are numbered in document order: convert the top-level list last so nested notes keep their order.
    converted = transform_lists(copy.deepcopy(blocks), convert)
    return converted, notes


def chapter_html(item: ResolvedChapter) -> str:
    blocks, notes = notes_to_links(item.chapter.slug, item.blocks)
    if notes:
        blocks = [*blocks, div(notes, book_id(item.chapter.slug, "footnotes"), ["footnotes"])]
    return pandoc.ast_to_html(dict(item.ast, blocks=blocks), source=item.chapter.path)


def chapter_href(item: ResolvedChapter) -> str:
    return f"{item.chapter.slug}.html"


def render_site(resolved: ResolvedBook, project: Project, target: Path) -> Path:
    """Write the whole site into a temporary folder, then swap it in: a failed build leaves the old site."""
    environment = jinja_environment(project)
    config = resolved.book.config
    pages = [
        Page("index.html", "Contents"),
        *[Page(chapter_href(c), c.chapter.title) for c in resolved.chapters],
    ]
    with atomic_dir(target) as folder:
        common = {"book": resolved.book, "config": config}
        (folder / "index.html").write_text(
            environment.get_template("site/index.html.j2").render(**common, page=pages[0], chapters=resolved.chapters)
        )
        for index, item in enumerate(resolved.chapters, start=1):
            html = environment.get_template("site/chapter.html.j2").render(
                **common,
                page=pages[index],
                item=item,
                body=chapter_html(item),
                previous=pages[index - 1],
                next=pages[index + 1] if index + 1 < len(pages) else None,
            )
            (folder / pages[index].href).write_text(html)
        assets = folder / "assets"
        (assets / "fonts").mkdir(parents=True)
        shutil.copy(project.styles_dir / "screen.css", assets / "screen.css")
        for name in FONT_FILES:
            shutil.copy(project.fonts_dir / name, assets / "fonts" / name)
    return target / "index.html"
