"""E-book edition: the resolved book as one pandoc document, written by pandoc's EPUB 3 writer."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .. import pandoc
from ..ast import Node, div, header, para, span, str_inlines
from ..resolve import ResolvedBook, ResolvedText
from .common import FONT_FILES, Project, atomic_file, shift_headings, source_date_epoch

# Parts are level 1 and chapters level 2, so pandoc splits one XHTML file per part and per chapter.
SPLIT_LEVEL = 2


def chapter_blocks(resolved: ResolvedBook, item: ResolvedText) -> list[Node]:
    chapter = item.chapter
    meta = chapter.chapter_meta
    blocks: list[Node] = [
        header(SPLIT_LEVEL, str_inlines(chapter.title), item.anchor, ["chapter"]),
        div([para([span(str_inlines(meta.byline), classes=["byline"])])], classes=["byline"]),
    ]
    headnote = resolved.get(chapter.headnote)
    if headnote is not None:
        blocks.append(div(shift_headings(headnote.blocks, SPLIT_LEVEL), headnote.anchor, ["headnote"]))
    if meta.standfirst:
        blocks.append(div([para(str_inlines(meta.standfirst))], classes=["standfirst"]))
    return blocks + shift_headings(item.blocks, SPLIT_LEVEL - 1)


def matter_blocks(item: ResolvedText) -> list[Node]:
    """Front and back matter: a top-level file of its own; its sections sit below the split level."""
    return [header(1, str_inlines(item.text.title), item.anchor, ["matter"]), *shift_headings(item.blocks, SPLIT_LEVEL)]


def book_ast(resolved: ResolvedBook) -> dict[str, Any]:
    blocks: list[Node] = []
    for item in resolved.front:
        blocks.extend(matter_blocks(item))
    for part in resolved.book.parts:
        blocks.append(header(1, str_inlines(f"Part {part.number}: {part.title}"), part.anchor, ["part"]))
        intro = resolved.get(part.intro)
        if intro is not None:
            blocks.append(div(shift_headings(intro.blocks, SPLIT_LEVEL), intro.anchor, ["part-intro"]))
        for chapter in part.chapters:
            blocks.extend(chapter_blocks(resolved, resolved.chapter(chapter.slug)))
    for item in resolved.back:
        blocks.extend(matter_blocks(item))
    first = next(iter(resolved.texts.values())).ast
    return {"pandoc-api-version": first["pandoc-api-version"], "meta": {}, "blocks": blocks}


def metadata(resolved: ResolvedBook) -> dict[str, Any]:
    """EPUB package metadata from book.yaml and the chapters (editors as editors, essay authors as authors)."""
    config = resolved.book.config
    creators = [{"text": editor.name, "role": "edt"} for editor in config.editors]
    authors = sorted({name for chapter in resolved.book.chapters for name in chapter.chapter_meta.authors})
    contributors = [{"text": name, "role": "aut"} for name in authors]
    data: dict[str, Any] = {
        "title": [{"type": "main", "text": config.title}],
        "lang": config.lang,
        "identifier": [
            {
                "scheme": "UUID" if config.identifier.startswith("urn:uuid:") else "ISBN",
                "text": config.identifier,
            }
        ],
        "creator": creators,
        "contributor": contributors,
        "publisher": config.publisher,
        "date": config.date,
        "rights": "; ".join(
            f"{chapter.title}: rights {chapter.chapter_meta.rights}" for chapter in resolved.book.chapters
        ),
    }
    if config.subtitle:
        data["title"].append({"type": "subtitle", "text": config.subtitle})
    return data


def render_epub(resolved: ResolvedBook, project: Project, target: Path) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        meta_file = Path(scratch) / "metadata.yaml"
        meta_file.write_text(yaml.safe_dump(metadata(resolved), allow_unicode=True, sort_keys=True))
        args = [
            "--from",
            "json",
            "--to",
            "epub3",
            f"--metadata-file={meta_file}",
            f"--css={project.styles_dir / 'epub.css'}",
            f"--split-level={SPLIT_LEVEL}",
            "--toc",
            "--toc-depth=3",
            *[f"--epub-embed-font={project.fonts_dir / name}" for name in FONT_FILES],
        ]
        with atomic_file(target) as temporary:
            pandoc.run(
                [*args, "--output", str(temporary)],
                json.dumps(book_ast(resolved)),
                epoch=source_date_epoch(resolved),
                sandbox=False,
            )
    return target
