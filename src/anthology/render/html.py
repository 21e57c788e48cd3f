"""HTML edition: a multi-page site from Jinja2 templates, one page per chapter, notes with back-links."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import pandoc
from ..ast import Node, div, para, transform_lists, walk
from ..load import Text
from ..resolve import ResolvedBook, ResolvedText, book_id
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


def text_html(item: ResolvedText, links: dict[str, str]) -> str:
    """A text's HTML, its notes gathered at the end, every link to another page made to point at that page."""
    slug = item.text.slug
    blocks, notes = notes_to_links(slug, item.blocks)
    if notes:
        blocks = [*blocks, div(notes, book_id(slug, "footnotes"), ["footnotes"])]
    blocks = retarget_links(blocks, links)
    return pandoc.ast_to_html(dict(item.ast, blocks=blocks), source=item.text.path)


def retarget_links(blocks: list[Node], links: dict[str, str]) -> list[Node]:
    """'#id' becomes 'page.html#id' when the id lives on another page of the site."""
    for node in walk(blocks):
        if node["t"] == "Link" and node["c"][2][0].startswith("#"):
            ident = node["c"][2][0][1:]
            if ident in links:
                node["c"][2][0] = links[ident]
    return blocks


@dataclass
class SitePlan:
    """Every page of the site in reading order, and where each id of the book lives."""

    pages: list[Page]
    page_of_text: dict[str, str]  # text slug -> page href

    def links(self, resolved: ResolvedBook, current: str) -> dict[str, str]:
        result = {}
        for ident, slug in resolved.owner_of().items():
            page = self.page_of_text.get(slug)
            if page and page != current:
                result[ident] = f"{page}#{ident}"
        for part in resolved.book.parts:
            if self.page_of_text.get(part.anchor) != current:
                result[part.anchor] = self.page_of_text[part.anchor]
        return result


def plan_site(resolved: ResolvedBook) -> SitePlan:
    pages = [Page("index.html", "Contents")]
    page_of: dict[str, str] = {}

    def add(slug: str, title: str, *embedded: str) -> None:
        href = f"{slug}.html"
        pages.append(Page(href, title))
        for owner in (slug, *embedded):
            page_of[owner] = href

    for text in resolved.book.front:
        add(text.slug, text.title)
    for part in resolved.book.parts:
        add(part.anchor, f"Part {part.number}: {part.title}", *([part.intro.slug] if part.intro else []))
        for chapter in part.chapters:
            add(chapter.slug, chapter.title, *([chapter.headnote.slug] if chapter.headnote else []))
    for text in resolved.book.back:
        add(text.slug, text.title)
    return SitePlan(pages, page_of)


def render_site(resolved: ResolvedBook, project: Project, target: Path) -> Path:
    """Write the whole site into a temporary folder, then swap it in: a failed build leaves the old site."""
    environment = jinja_environment(project)
    plan = plan_site(resolved)
    book = resolved.book
    common = {"book": book, "config": book.config, "plan": plan}

    def html_of(text: Text | None, href: str) -> str | None:
        item = resolved.get(text)
        return text_html(item, plan.links(resolved, href)) if item else None

    def write(folder: Path, index: int, template: str, **context: object) -> None:
        page = plan.pages[index]
        neighbours = {
            "previous": plan.pages[index - 1] if index > 0 else None,
            "next": plan.pages[index + 1] if index + 1 < len(plan.pages) else None,
        }
        html = environment.get_template(template).render(**common, page=page, **neighbours, **context)
        (folder / page.href).write_text(html)

    with atomic_dir(target) as folder:
        write(folder, 0, "site/index.html.j2")
        index = 1
        for text in book.front:
            write(folder, index, "site/matter.html.j2", text=text, body=html_of(text, plan.pages[index].href))
            index += 1
        for part in book.parts:
            write(folder, index, "site/part.html.j2", part=part, body=html_of(part.intro, plan.pages[index].href))
            index += 1
            for chapter in part.chapters:
                href = plan.pages[index].href
                write(
                    folder,
                    index,
                    "site/chapter.html.j2",
                    chapter=chapter,
                    body=html_of(chapter, href),
                    headnote=html_of(chapter.headnote, href),
                )
                index += 1
        for text in book.back:
            write(folder, index, "site/matter.html.j2", text=text, body=html_of(text, plan.pages[index].href))
            index += 1
        assets = folder / "assets"
        (assets / "fonts").mkdir(parents=True)
        shutil.copy(project.styles_dir / "screen.css", assets / "screen.css")
        for name in FONT_FILES:
            shutil.copy(project.fonts_dir / name, assets / "fonts" / name)
    return target / "index.html"
