"""The policy for untrusted text: what a text's markup may do, enforced on pandoc's AST before any writer sees it.

A text comes from a contributor, a scrape or a word processor, and its markup reaches three writers (pandoc's HTML
and EPUB writers, WeasyPrint through pandoc's HTML). A text may format; it may not run code, load or embed anything,
or link to anything but the web, e-mail and the book itself. So:

- raw HTML (in every raw format the writers pass through) keeps only an allow-list of formatting elements and
  attributes, and is written back well-formed (as XHTML can take it), tag by tag, from what was parsed: a writer
  never sees markup this module has not read;
- raw content in any other format is refused: no edition would show it;
- pandoc attributes (`{…}` on spans, divs, links, images, headings, code, tables) carry no event handler, no URL
  and no style that loads or runs anything;
- every link and image URL is read as a browser reads it (entities decoded, tabs, newlines and control characters
  dropped, any case) and its scheme must be http, https or mailto (links), or none: an in-book link or fragment.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from anthology.ast import ATTR_POSITION, Node, walk_structure
from anthology.diagnostics import Collector
from anthology.model import Text

# Raw formats pandoc 3.9's html5 and epub3 writers write out, compared case-folded as pandoc does (measured: a raw
# block of each format given to both writers); every other format is left out of both, so a text may not use it.
HTML_FORMATS = frozenset({"html", "html4", "html5", "revealjs", "s5", "slidy", "slideous", "dzslides"})

# Elements raw HTML may use: formatting only. Phrasing elements may stand anywhere; block elements only in a raw
# block (inside a paragraph they would make an invalid document, and the browser would split the paragraph).
PHRASING = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "del", "dfn", "em", "i", "img", "ins", "kbd", "mark"}
    | {"q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"}
)
BLOCKS = frozenset(
    {"blockquote", "caption", "col", "colgroup", "dd", "div", "dl", "dt", "figcaption", "figure", "hr", "li"}
    | {"ol", "p", "pre", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)
# HTML's void elements: they have no end tag (the refused ones too, so that a refusal does not also say "never closed").
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# Elements that play, embed or draw another document: refused with their own code and hint.
MEDIA = frozenset(
    {"applet", "audio", "canvas", "embed", "fencedframe", "frame", "frameset", "iframe", "image", "math"}
    | {"noembed", "object", "param", "picture", "portal", "source", "svg", "track", "video"}
)
# Attributes raw HTML may use, on every allowed element and on some. `id` is not among them: ids are given with
# pandoc's `{#id}`, which the build keeps unique across the book.
GLOBAL_ATTRIBUTES = frozenset({"class", "dir", "lang", "style", "title"})
ELEMENT_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "hreflang"}),
    "img": frozenset({"alt", "height", "src", "width"}),
    "td": frozenset({"colspan", "headers", "rowspan"}),
    "th": frozenset({"abbr", "colspan", "headers", "rowspan", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"reversed", "start", "type"}),
    "li": frozenset({"value"}),
    "q": frozenset({"cite"}),
    "blockquote": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "ins": frozenset({"cite", "datetime"}),
    "time": frozenset({"datetime"}),
}
URL_ATTRIBUTES = frozenset({"cite", "href", "src"})

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
REMOTE_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ws", "wss"})
# What a style must not contain once its escapes and comments are gone and it is lower-cased: each loads a
# resource or runs code in some engine (WeasyPrint, a reading system, an old browser).
LOADING_CSS = ("url(", "@import", "expression(", "behavior", "-moz-binding", "image-set(", "image(", "javascript:")
# pandoc attributes that a writer passes on as HTML attributes which load, embed, submit or navigate.
ACTIVE_KEYS = frozenset(
    {"action", "archive", "background", "classid", "codebase", "content", "data", "dynsrc", "formaction", "href"}
    | {"http-equiv", "is", "lowsrc", "manifest", "ping", "poster", "src", "srcdoc", "srcset", "usemap"}
)
NAMESPACED_KEYS_ALLOWED = frozenset({"epub:type", "xml:lang"})
ELEMENT_NAMES = {
    "Header": "a heading",
    "Div": "a division",
    "Span": "a span",
    "Link": "a link",
    "Image": "an image",
    "Code": "inline code",
    "CodeBlock": "a code block",
    "Table": "a table",
    "Figure": "a figure",
}


def line_in(text: Text, needle: str) -> int | None:
    """The file line where needle first occurs in the text's body (pandoc's AST carries no positions)."""
    index = text.body.find(needle)
    return None if index < 0 else text.body_line + text.body.count("\n", 0, index)


def line_of(text: Text, *needles: str) -> int:
    """The line of the first needle found in the body, exactly or else in any case; the body's first line if none
    is (what a diagnostic names is then at least in the right file)."""
    folded = text.body.casefold()
    for needle in needles:
        if not needle:
            continue
        index = text.body.find(needle)
        if index < 0:
            index = folded.find(needle.casefold())
        if index >= 0:
            return text.body_line + text.body.count("\n", 0, index)
    return text.body_line


# ---- URLs ----------------------------------------------------------------------------------------------------------

SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
C0_OR_SPACE = "".join(chr(c) for c in range(0x21))


def url_scheme(url: str) -> str | None:
    """The scheme a browser would read in url, lower-cased; None for a relative URL. As the URL standard says:
    character references decoded (raw HTML's are decoded by the parser; a second decoding only finds more), leading
    and trailing C0 controls and spaces stripped, every tab and newline removed."""
    cleaned = html.unescape(url).strip(C0_OR_SPACE)
    cleaned = re.sub(r"[\t\n\r]", "", cleaned)
    match = SCHEME.match(cleaned)
    return match[1].lower() if match else None


def is_remote(url: str) -> bool:
    cleaned = re.sub(r"[\t\n\r]", "", html.unescape(url)).strip(C0_OR_SPACE)
    return url_scheme(url) in REMOTE_SCHEMES or cleaned.startswith("//") or cleaned.startswith("\\\\")


def link_allowed(url: str) -> bool:
    """A link may lead to the web, to an e-mail address, or within the book (a relative path or a fragment)."""
    scheme = url_scheme(url)
    cleaned = re.sub(r"[\t\n\r]", "", html.unescape(url)).strip(C0_OR_SPACE)
    return scheme in LINK_SCHEMES or (scheme is None and not cleaned.startswith(("//", "\\\\")))


def kind(url: str) -> str:
    scheme = url_scheme(url)
    return f"{scheme}:" if scheme else "scheme-relative"


def check_link(url: str, text: Text, collector: Collector, line: int | None = None) -> None:
    """A link of a text, refused (E057) unless link_allowed."""
    if link_allowed(url):
        return
    scheme = url_scheme(url)
    shown = url if len(url) <= 60 else url[:57] + "…"
    collector.error(
        "E057",
        f"link to {shown!r}: a {kind(url)} link is not allowed in a text",
        file=text.path,
        line=line or line_of(text, url, f"{scheme}:" if scheme else url[:20]),
        hint="link only to http:, https: or mailto: addresses, or within the book ([text](#id)); "
        "write a full https:// address for a web page",
    )


def check_made_links(asts: list[dict[str, Any]], references: Path, collector: Collector) -> None:
    """The links citeproc made from the bibliography's URL and DOI fields (the texts' own links were checked as
    they were parsed): references.yaml is a contributor's input too, and `javascript://%0Aalert(1)` stayed a link."""
    seen: set[str] = set()
    for ast in asts:
        for node in walk_structure(ast["blocks"]):
            url = node["c"][2][0] if node["t"] == "Link" else None
            if url is None or url in seen or link_allowed(url):
                continue
            seen.add(url)
            try:
                lines = references.read_text(encoding="utf-8").split("\n")
            except (OSError, UnicodeDecodeError):
                lines = []
            found = [n for n, line in enumerate(lines, 1) if url in line or unquote(url) in line]
            collector.error(
                "E057",
                f"link to {url[:60]!r} from the bibliography: a {kind(url)} link is not allowed",
                file=references,
                line=found[0] if found else None,
                hint="give a work's URL as an http: or https: address (a DOI as 10.…)",
            )


def check_image(url: str, text: Text, book_dir: Path, collector: Collector, line: int | None = None) -> None:
    """An image is a file inside the book folder, named by a relative path: never downloaded, never a data: URL
    or another scheme (the build makes its own images), never outside the book."""
    where = {"file": text.path, "line": line or line_in(text, url) or line_of(text, url[:40])}
    scheme = url_scheme(url)
    if is_remote(url):
        collector.error(
            "E050",
            f"remote image {url}: the build never downloads",
            hint="save the image under book/ (e.g. book/images/) and refer to it by a relative path",
            **where,
        )
        return
    if scheme is not None:
        shown = url if len(url) <= 60 else url[:57] + "…"
        collector.error(
            "E057",
            f"image {shown!r}: a {scheme}: image is not allowed in a text",
            hint="save the image as a file under book/ (e.g. book/images/) and refer to it by a relative path",
            **where,
        )
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


# ---- Styles and pandoc attributes ------------------------------------------------------------------------------------

CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n\r\f]?|\\(.)", re.DOTALL)
CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.DOTALL)


def css_char(match: re.Match[str]) -> str:
    if match[1]:
        code = int(match[1], 16)
        return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
    return match[2]


def loading_css(style: str) -> str | None:
    """What in a style loads or runs something (`url(`, `@import`, …), read as a CSS engine reads it: escapes
    decoded, comments and white space dropped, any case; None when nothing does."""
    plain = CSS_COMMENT.sub("", CSS_ESCAPE.sub(css_char, style))
    plain = re.sub(r"[\s\x00-\x1f]", "", plain).lower()
    return next((token for token in LOADING_CSS if token in plain), None)


def check_style(style: str, text: Text, collector: Collector, line: int) -> None:
    found = loading_css(style)
    if found:
        collector.error(
            "E034",
            f"style {style[:60]!r} loads or runs something ({found})",
            file=text.path,
            line=line,
            hint="a style may only format (color, font-style, text-align…); put an image in the text as "
            "![description](images/file.png)",
        )


def is_active_key(name: str) -> bool:
    """An event handler, an attribute that loads, embeds or navigates, or one in another namespace (xlink:href)."""
    namespaced = ("xmlns" in name or ":" in name) and name not in NAMESPACED_KEYS_ALLOWED
    return name.startswith("on") or name in ACTIVE_KEYS or namespaced


def check_attributes(node: Node, text: Text, collector: Collector) -> None:
    """The key=value attributes pandoc keeps on an element, which its writers pass on as HTML attributes."""
    attr = node["c"][ATTR_POSITION[node["t"]]]
    for key, value in attr[2]:
        name = str(key).strip().casefold()
        line = line_of(text, f"{key}=", str(key))
        if name == "style":
            check_style(str(value), text, collector, line)
        elif is_active_key(name):
            what = "an event handler" if name.startswith("on") else "an attribute that loads or embeds"
            collector.error(
                "E059",
                f"attribute {key}= on {ELEMENT_NAMES.get(node['t'], 'an element')} is {what}, not allowed in a text",
                file=text.path,
                line=line,
                hint="remove it: a text's attributes may set ids, classes, language and plain styles; links are "
                "written [text](https://…), images ![description](images/file.png)",
            )


# ---- Raw HTML ----------------------------------------------------------------------------------------------------


@dataclass
class Token:
    """One piece of raw HTML as parsed: a tag (start, end or empty), text, or markup that is no element."""

    kind: str  # "start", "end", "empty", "data", "comment", "other"
    name: str = ""
    attrs: list[tuple[str, str]] = field(default_factory=list)
    line: int = 1  # of the raw content, from 1


class Tokenizer(HTMLParser):
    """HTML as the standard library's parser reads it: names lower-cased, character references decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []

    def add(self, kind: str, name: str = "", attrs: list[tuple[str, str | None]] | None = None) -> None:
        pairs = [(key, "" if value is None else value) for key, value in attrs or []]
        self.tokens.append(Token(kind, name, pairs, self.getpos()[0]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.add("start", tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.add("empty", tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.add("end", tag)

    def handle_data(self, data: str) -> None:
        self.add("data", data)

    def handle_comment(self, data: str) -> None:
        self.add("comment")

    def handle_decl(self, decl: str) -> None:
        self.add("other", decl.split()[0] if decl.split() else decl)

    def handle_pi(self, data: str) -> None:
        self.add("other", "?" + data[:20])

    def unknown_decl(self, data: str) -> None:
        self.add("other", data[:20])


def tokens_of(raw: str) -> list[Token]:
    parser = Tokenizer()
    parser.feed(raw)
    parser.close()
    merged: list[Token] = []
    for token in parser.tokens:  # the parser may give one text in pieces
        if token.kind == "data" and merged and merged[-1].kind == "data":
            merged[-1].name += token.name
        else:
            merged.append(token)
    return merged


NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str, quote: bool) -> str:
    """Text escaped, without the control characters XML cannot hold."""
    return html.escape(NOT_XML.sub("", value), quote=quote)


BOOLEAN_ATTRIBUTES = frozenset({"reversed"})


def written_attributes(token: Token) -> list[tuple[str, str]]:
    """A tag's attributes as written back: a boolean one valued by its name, an empty one left out. pandoc's EPUB
    writer rewrites raw HTML and writes an empty value as a bare name (`reversed`, `title`), which XHTML refuses."""
    pairs = [(key, key if key in BOOLEAN_ATTRIBUTES else value) for key, value in token.attrs]
    return [(key, value) for key, value in pairs if value]


def serialise(tokens: list[Token]) -> str:
    """The tokens as markup both HTML and XHTML read alike: values quoted and escaped, void elements closed,
    empty elements written as a start and an end tag, text escaped, comments dropped."""
    out: list[str] = []
    for token in tokens:
        if token.kind == "data":
            out.append(xml_text(token.name, quote=False))
        elif token.kind in ("start", "empty"):
            attrs = "".join(f' {key}="{xml_text(value, quote=True)}"' for key, value in written_attributes(token))
            if token.name in VOID:
                out.append(f"<{token.name}{attrs} />")
            else:
                out.append(f"<{token.name}{attrs}>" + (f"</{token.name}>" if token.kind == "empty" else ""))
        elif token.kind == "end" and token.name not in VOID:
            out.append(f"</{token.name}>")
    return "".join(out)


@dataclass
class RawHtml:
    """One raw HTML element of a text's AST, parsed, with where it starts in the text."""

    node: Node
    tokens: list[Token]
    line: int

    def line_of(self, token: Token) -> int:
        return self.line + token.line - 1


class RawPolicy:
    """The raw HTML of one text: each tag checked against the allow-list, then the tags of each list of sibling
    elements (a paragraph's inlines, a division's blocks) checked to open and close in order, then written back."""

    def __init__(self, text: Text, book_dir: Path, collector: Collector):
        self.text, self.book_dir, self.collector = text, book_dir, collector
        self.parsed: dict[int, RawHtml] = {}

    def error(self, code: str, message: str, line: int, hint: str) -> None:
        self.collector.error(code, message, file=self.text.path, line=line, hint=hint)

    def check(self, node: Node) -> None:
        """One raw element; a format no writer shows is refused (E031)."""
        form, raw = str(node["c"][0]), str(node["c"][1])
        # pandoc gives the raw text as written, but for a tag's attribute values, which it escapes again.
        tag = re.match(r"\s*(</?[a-zA-Z][a-zA-Z0-9]*)", raw)
        line = line_in(self.text, raw.strip()[:40]) or line_of(
            self.text, html.unescape(raw.strip()[:40]), tag[1] if tag else "", f"{{={form}}}", raw.strip()[:20]
        )
        if form.casefold() not in HTML_FORMATS:
            self.error(
                "E031",
                f"raw {form} content {raw.strip()[:40]!r}: no edition of the book shows it",
                line,
                "write it as Markdown; a literal backslash is written \\\\, raw HTML as {=html}",
            )
            return
        parsed = RawHtml(node, tokens_of(raw), line)
        self.parsed[id(node)] = parsed
        for token in parsed.tokens:
            self.check_token(token, node["t"] == "RawInline", parsed.line_of(token))

    def check_token(self, token: Token, inline: bool, line: int) -> None:
        if token.kind == "other":
            self.error("E053", f"raw HTML <!{token.name}> is not allowed in a text", line, "remove it: it is not text")
            return
        if token.kind not in ("start", "empty"):  # an end tag: its start tag is the one reported
            return
        name = token.name
        if name in MEDIA:
            self.error(
                "E058",
                f"raw HTML <{name}> embeds or plays another document, not allowed in a text",
                line,
                "remove it: a text may not embed audio, video, frames or objects; describe the medium in words, "
                "or link to it with [text](https://…)",
            )
        elif name not in PHRASING | BLOCKS:
            self.error(
                "E053",
                f"raw HTML <{name}> is not allowed in a text",
                line,
                "remove it: raw HTML may only format (em, strong, sup, sub, span, br, tables, lists…); texts may not "
                "carry scripts, frames, forms, styles or event handlers; headings are written ## in Markdown",
            )
        elif inline and name in BLOCKS:
            self.error(
                "E033",
                f"raw HTML <{name}> inside a paragraph: it is a block element",
                line,
                f"put <{name}> on a line of its own, after a blank line (or use <span> within a paragraph)",
            )
        if name in PHRASING | BLOCKS:
            self.check_html_attributes(token, line)

    def check_html_attributes(self, token: Token, line: int) -> None:
        allowed = GLOBAL_ATTRIBUTES | ELEMENT_ATTRIBUTES.get(token.name, frozenset())
        for key, value in token.attrs:
            if key not in allowed:
                handler = key.startswith("on")
                self.error(
                    "E053",
                    f"raw HTML <{token.name}> attribute {key} is not allowed in a text",
                    line,
                    "remove it: texts may not carry event handlers"
                    if handler
                    else f"raw HTML may use {', '.join(sorted(allowed))} on <{token.name}>; an id is given with "
                    "pandoc's [text]{#id}",
                )
            elif key == "style":
                check_style(value, self.text, self.collector, line)
            elif key == "src" and token.name == "img":
                check_image(value, self.text, self.book_dir, self.collector, line)
            elif key in URL_ATTRIBUTES:
                check_link(value, self.text, self.collector, line)

    def balance(self, siblings: list[Any]) -> None:
        """The raw tags among one list of siblings open and close in order, so that every writer's document is
        well-formed; a tag left open or closed out of turn is refused with the line where it is written."""
        open_tags: list[tuple[str, int]] = []
        for node in siblings:
            parsed = self.parsed.get(id(node)) if isinstance(node, dict) else None
            for token in parsed.tokens if parsed else []:
                line = parsed.line_of(token) if parsed else self.text.body_line
                if token.kind == "start" and token.name not in VOID:
                    open_tags.append((token.name, line))
                elif token.kind == "end" and token.name not in VOID:
                    if open_tags and open_tags[-1][0] == token.name:
                        open_tags.pop()
                        continue
                    expected = f"</{open_tags[-1][0]}> first" if open_tags else "no open <" + token.name + ">"
                    self.error(
                        "E032",
                        f"raw HTML </{token.name}> closes a tag not open here ({expected})",
                        line,
                        "close tags in the order they were opened, in the same paragraph or block",
                    )
                    return
        for name, line in open_tags[:1]:
            self.error(
                "E032",
                f"raw HTML <{name}> is never closed in its paragraph or block",
                line,
                f"close it with </{name}> in the same paragraph (a block element: before the end of the division "
                "or quotation that holds it)",
            )

    def rewrite(self) -> None:
        """Each raw HTML element written back from its parsed tags: the writers see only markup read here."""
        for parsed in self.parsed.values():
            parsed.node["c"][1] = serialise(parsed.tokens)


def sibling_lists(value: Any) -> Iterator[list[Any]]:
    """Every list in the tree (a list of sibling elements, or of anything else)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            yield item
            stack.extend(child for child in item if isinstance(child, dict | list))
        elif isinstance(item, dict):
            stack.extend(child for child in item.values() if isinstance(child, dict | list))


def enforce(ast: dict[str, Any], text: Text, book_dir: Path, collector: Collector) -> None:
    """The policy on one text's tree: attributes, links, images and raw content checked, and its raw HTML written
    back well-formed. Problems go to collector; the caller stops the build on any."""
    raw = RawPolicy(text, book_dir, collector)
    for node in walk_structure(ast["blocks"]):
        kind = node["t"]
        if kind in ATTR_POSITION:
            check_attributes(node, text, collector)
        if kind == "Image":
            check_image(node["c"][2][0], text, book_dir, collector)
        elif kind == "Link":
            check_link(node["c"][2][0], text, collector)
        elif kind in ("RawInline", "RawBlock"):
            raw.check(node)
    if raw.parsed:
        for siblings in sibling_lists(ast["blocks"]):
            if any(isinstance(node, dict) and id(node) in raw.parsed for node in siblings):
                raw.balance(siblings)
        raw.rewrite()
