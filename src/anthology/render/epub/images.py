"""A text's images handed to pandoc's EPUB writer as data: pandoc runs sandboxed (pandoc.py) and reads no file its
command line does not name, so each image reaches it as a `data:` URL, which it writes into the EPUB as a media
file of its own. Only images the policy (policy.py) accepted are in a text by now: relative paths to files inside
the book folder; any other URL is left as it is, for pandoc to refuse."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlparse

from anthology.ast import Node, walk_structure
from anthology.policy import serialise, tokens_of, url_scheme

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}


def data_url(url: str, folder: Path) -> str | None:
    """The image file `url` names, relative to `folder`, as a data: URL; None for a URL that names no file."""
    if url_scheme(url) is not None or url.startswith("//"):
        return None
    path = folder / unquote(urlparse(url).path)
    if not path.is_file():
        return None
    kind = IMAGE_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def raw_with_data(raw: str, folder: Path) -> str:
    """Raw HTML (as the policy wrote it back) with each <img src> as a data: URL."""
    tokens = tokens_of(raw)
    for token in tokens:
        if token.name == "img" and token.kind in ("start", "empty"):
            token.attrs = [
                (key, data_url(value, folder) or value if key == "src" else value) for key, value in token.attrs
            ]
    return serialise(tokens)


def embedded(blocks: list[Node], folder: Path) -> list[Node]:
    """A copy of a text's blocks (changed in place) with its images as data: URLs; `folder` is the text's own, the
    one its relative paths start from."""
    for node in walk_structure(blocks):
        if node["t"] == "Image":
            target = node["c"][2]
            target[0] = data_url(target[0], folder) or target[0]
        elif node["t"] in ("RawInline", "RawBlock") and "<img" in node["c"][1]:
            node["c"][1] = raw_with_data(node["c"][1], folder)
    return blocks
