"""Safety checks on every resolved text: the build never downloads, never reads outside the book, never passes on
active content from a text, and refuses inputs beyond what it can lay out in bounded time."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from lxml import html as lxml_html

from anthology.ast import walk
from anthology.diagnostics import Collector
from anthology.model import Text

REMOTE_SCHEMES = {"http", "https", "ftp", "ftps", "sftp", "ws", "wss"}
ACTIVE_TAGS = {"script", "iframe", "object", "embed", "applet", "base", "meta", "link", "style", "form"}
MAX_NOTES_PER_TEXT = 5000  # far above any real essay (the largest here has 164); WeasyPrint slows sharply beyond


def line_in(text: Text, needle: str) -> int | None:
    """The file line where needle first occurs in the text's body (pandoc's AST carries no positions)."""
    index = text.body.find(needle)
    return None if index < 0 else text.body_line + text.body.count("\n", 0, index)


def is_remote(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme.lower() in REMOTE_SCHEMES or url.startswith("//")


def check_image(url: str, text: Text, book_dir: Path, collector: Collector) -> None:
    where = {"file": text.path, "line": line_in(text, url)}
    if is_remote(url):
        collector.error(
            "E050",
            f"remote image {url}: the build never downloads",
            hint="save the image under book/ (e.g. book/images/) and refer to it by a relative path",
            **where,
        )
        return
    if urlparse(url).scheme == "data":
        return
    path = (text.path.parent / unquote(urlparse(url).path)).resolve()
    if not path.is_relative_to(book_dir.resolve()):
        collector.error("E056", f"image {url} is outside the book folder", hint="keep images inside book/", **where)
    elif not path.is_file():
        collector.error(
            "E051",
            f"image {url} not found (looked for {path})",
            hint="check the file name and path, relative to the text's folder",
            **where,
        )


def check_raw_html(raw: str, text: Text, collector: Collector) -> None:
    """Raw HTML in a text may format, but not run code, load resources or restyle the edition."""
    try:
        fragments = lxml_html.fragments_fromstring(raw) if raw.strip() else []
    except Exception:  # lxml refuses some partial tags (a lone closing tag): nothing active to find in them
        fragments = []
    elements = [el for frag in fragments if not isinstance(frag, str) for el in frag.iter()]
    for element in elements:
        tag = str(element.tag).lower()
        handlers = [name for name in element.attrib if name.lower().startswith("on")]
        sources = [value for name, value in element.attrib.items() if name.lower() in ("src", "href", "srcset")]
        where = {"file": text.path, "line": line_in(text, raw.strip()[:40])}
        if tag in ACTIVE_TAGS or handlers:
            collector.error(
                "E053",
                f"raw HTML {' '.join([f'<{tag}>', *handlers])} is not allowed in a text",
                hint="remove it: texts may not carry scripts, frames, styles or event handlers",
                **where,
            )
        for url in sources:
            if tag != "a" and is_remote(url):
                collector.error(
                    "E050",
                    f"remote resource {url} in raw HTML: the build never downloads",
                    hint="save it under book/ and refer to it by a relative path",
                    **where,
                )


UNRESOLVED_NOTE = re.compile(r"\[\^([^\]\s]+)\]")
# What pandoc leaves as text when a note's bracket never closes: an inline note `^[…` or a call `[^label`; and
# what it also leaves when either character is escaped on purpose (`\^\[`, `\[\^`).
NOTE_OPENING = re.compile(r"\^\[|\[\^")
UNESCAPED_OPENING = re.compile(r"(?<!\\)(?:\^\[|\[\^)")
ESCAPED_OPENING = re.compile(r"\\\^\\\[|\\\^\[|\^\\\[|\\\[\\\^|\\\[\^|\[\\\^")


def check_unresolved_note(token: str, text: Text, collector: Collector) -> bool:
    """A note call left as text because no note has its label (E052); whether there was one."""
    match = UNRESOLVED_NOTE.search(token)
    if match:
        collector.error(
            "E052",
            f"footnote [^{match[1]}] is called but has no text",
            file=text.path,
            line=line_in(text, match[0]),
            hint=f"add a line '[^{match[1]}]: …' with the note's text (after a blank line)",
        )
    return match is not None


def unclosed_opening(tokens: list[str], text: Text) -> tuple[str, int | None]:
    """The first note opening in the source with no closing bracket after it in its paragraph, and its line; else
    the first opening left as text, and the line of its word."""
    for opening in UNESCAPED_OPENING.finditer(text.body):
        paragraph_end = text.body.find("\n\n", opening.end())
        if "]" not in text.body[opening.end() : paragraph_end if paragraph_end >= 0 else None]:
            return opening[0], text.body_line + text.body.count("\n", 0, opening.start())
    for token in tokens:
        if match := NOTE_OPENING.search(token):
            return match[0], line_in(text, token)
    return "", None


def check_unclosed_notes(tokens: list[str], text: Text, collector: Collector) -> None:
    """Openings left as text beyond those escaped in the source are notes never closed (E055)."""
    left = sum(len(NOTE_OPENING.findall(token)) for token in tokens)
    if left > len(ESCAPED_OPENING.findall(text.body)):
        opening, line = unclosed_opening(tokens, text)
        collector.error(
            "E055",
            f"footnote '{opening}' is opened but never closed",
            file=text.path,
            line=line,
            hint="close it with ']' in the same paragraph (^[inline note], [^label]); a literal bracket is written \\[",
        )


def check_text(ast: dict, text: Text, book_dir: Path) -> Collector:
    collector = Collector()
    notes = 0
    openings: list[str] = []  # text tokens holding a note opening
    for node in walk(ast["blocks"]):
        kind = node["t"]
        if kind == "Image":
            check_image(node["c"][2][0], text, book_dir, collector)
        elif kind in ("RawInline", "RawBlock") and node["c"][0] in ("html", "html5"):
            check_raw_html(node["c"][1], text, collector)
        elif kind == "Note":
            notes += 1
        elif kind == "Str" and NOTE_OPENING.search(node["c"]) and not check_unresolved_note(node["c"], text, collector):
            openings.append(node["c"])
    check_unclosed_notes(openings, text, collector)
    check_note_count(notes, text, collector)
    return collector


def check_note_count(notes: int, text: Text, collector: Collector) -> None:
    if notes > MAX_NOTES_PER_TEXT:
        collector.error(
            "E054",
            f"{notes} notes in one text; the limit is {MAX_NOTES_PER_TEXT}",
            file=text.path,
            line=text.body_line,
            hint="split the text, or check that its notes were converted correctly",
        )


NOTE_DEFINITION = re.compile(r"^\[\^[^\]\s]+\]:", re.MULTILINE)


def check_source(text: Text) -> Collector:
    """Checks on the Markdown before pandoc parses it: a text with far too many notes stops at once (pandoc takes
    20 s to parse 50,000); the parsed text's own count (check_text) also sees inline notes."""
    collector = Collector()
    check_note_count(len(NOTE_DEFINITION.findall(text.body)), text, collector)
    return collector
