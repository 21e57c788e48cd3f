"""Writing the cleaned text: YAML front matter, then the body in pandoc Markdown, then the notes."""

from __future__ import annotations

import re
from collections.abc import Callable

import yaml

from anthology.ingest.model import Block, Document
from anthology.ingest.notes import MISSING_NOTE
from anthology.ingest.recipe import Recipe
from anthology.ingest.structure import BULLET_ITEM, LIST_ITEM
from anthology.ingest.typography import apply_typography

_BLOCK_START = re.compile(r"^(\d+\.\s|\d+\)\s|[-+*]\s|#|>|\||:::)")


def escape_start(text: str) -> str:
    """Keep prose that happens to start like Markdown syntax (`1918. Hyperinflation`) a paragraph."""
    match = _BLOCK_START.match(text)
    if not match:
        return text
    token = match.group(1)
    if token[0].isdigit():
        return re.sub(r"^(\d+)([.)])", r"\1\\\2", text)
    return "\\" + text


def front_matter(doc: Document, recipe: Recipe, lost_dash: str | None) -> str:
    """The recipe's `meta` keys verbatim, the source file name and the standfirst if there is one."""
    data = dict(recipe.meta)
    data["source"] = recipe.source
    if doc.standfirst:
        data["standfirst"] = apply_typography(doc.standfirst, lost_dash)
    dumped = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return f"---\n{dumped}---\n"


def _items(lines: list[str], pattern: re.Pattern[str]) -> list[str]:
    """Split list lines into items; a line that does not start an item continues the previous one."""
    items: list[str] = []
    for line in lines:
        if pattern.match(line) or not items:
            items.append(line.strip())
        else:
            items[-1] = f"{items[-1]} {line.strip()}"
    return items


def _list(block: Block, typeset: Callable[[str], str]) -> list[str]:
    """Render an ordered or bullet list block as Markdown list lines."""
    ordered = block.attrs.get("list") == "ordered" or block.kind == "olist"
    pattern = LIST_ITEM if ordered else BULLET_ITEM
    return [typeset(item) for item in _items(block.lines, pattern)]


def _table(block: Block, typeset: Callable[[str], str]) -> list[str]:
    """A tab-separated table as a pipe table, its caption above it as in the source (a call stays in place)."""
    rows = [[cell.strip() for cell in line.split("\t")] for line in block.lines]
    caption = block.attrs["caption"]
    out = [f"Table: {typeset(caption)}", ""]
    out.append("| " + " | ".join(typeset(c) for c in rows[0]) + " |")
    out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(rows[0]))) + "|")
    out.extend("| " + " | ".join(typeset(c) for c in row) + " |" for row in rows[1:])
    return out


def _markdown_table_line(line: str, typeset: Callable[[str], str]) -> str:
    """A pipe table's line, its cells' words typeset (a rule line is syntax), or its caption typeset."""
    caption = re.match(r"^(\s*(?::|Table:)\s+)(.*)$", line)
    if caption:
        return caption[1] + typeset(caption[2])
    cells = line.strip().strip("|").split("|")
    if not line.lstrip().startswith("|") or all(set(cell.strip()) <= set("-: ") for cell in cells):
        return line
    return "| " + " | ".join(typeset(cell) for cell in cells) + " |"


def render_block(block: Block, typeset: Callable[[str], str]) -> str:
    """One block as Markdown."""
    if block.kind == "heading":
        return "#" * block.level + " " + typeset(block.text)
    if block.kind == "epigraph":
        return "\n".join(
            [
                "::: epigraph",
                "> " + typeset(block.text),
                "",
                "::: attribution",
                typeset(block.attrs["attribution"]),
                ":::",
                ":::",
            ]
        )
    if block.kind == "poem":
        return "\n".join("| " + typeset(line) if line.strip() else "|" for line in block.lines)
    if block.kind == "table":
        return "\n".join(_table(block, typeset))
    if block.kind == "markdown-table":
        if any(line.lstrip().startswith("+") for line in block.lines):  # a grid table: its columns are counted
            return "\n".join(block.lines)
        return "\n".join(_markdown_table_line(line, typeset) for line in block.lines)
    if block.kind in ("olist", "ulist") or "list" in block.attrs:
        body = "\n".join(_list(block, typeset))
    else:
        body = escape_start(typeset(block.text))
    if block.kind == "quote":
        return "\n".join("> " + line for line in body.split("\n"))
    return body


def render_body(doc: Document, typeset: Callable[[str], str]) -> str:
    """The body blocks, end matter wrapped in its own div, then the note definitions in number order.

    Paragraphs of one quotation share a block quote; end matter is one `endmatter` div.
    """
    parts: list[str] = []
    in_endmatter = False
    prev: Block | None = None
    for block in doc.blocks:
        if block.attrs.get("endmatter") and not in_endmatter:
            parts.append("::: {.endmatter}")
            in_endmatter = True
        same_quotation = (
            prev is not None
            and prev.kind == block.kind == "quote"
            and (
                prev.attrs.get("quotation") is not None and prev.attrs.get("quotation") == block.attrs.get("quotation")
            )
        )
        if same_quotation:
            parts[-1] += "\n>\n" + render_block(block, typeset)
        else:
            parts.append(render_block(block, typeset))
        prev = block
    if in_endmatter:
        parts.append(":::")
    for number in sorted(doc.notes):
        note = doc.notes[number]
        text = MISSING_NOTE if note.text is None else typeset(note.text)
        parts.append(f"[^{number}]: {text}")
    return "\n\n".join(parts) + "\n"


def render_text(doc: Document, recipe: Recipe) -> str:
    """The whole cleaned text file."""
    lost_dash = recipe.rules.lost_dash

    def typeset(text: str) -> str:
        return apply_typography(text, lost_dash)

    return front_matter(doc, recipe, lost_dash) + "\n" + render_body(doc, typeset)
