"""The site's offline search index: every passage of the book with the text and section it belongs to.

Written at build time as a JavaScript file (`assets/search-index.js`) that sets one global, because a page opened
from `file://` may load a script but may not fetch() a JSON file. The output is deterministic: reading order,
no timestamps, keys in a fixed order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from anthology.render.site.passages import Passage

INDEX_FILE = "search-index.js"
GLOBAL_NAME = "anthologySearchIndex"


@dataclass(frozen=True)
class SearchText:
    """A text as named in results: "Chapter 3: …" and the page that holds it."""

    label: str
    href: str


@dataclass
class SearchIndex:
    texts: list[SearchText] = field(default_factory=list)
    passages: list[tuple[int, Passage]] = field(default_factory=list)  # (index into texts, passage)

    def add(self, text: SearchText, passages: list[Passage]) -> None:
        """A text's passages; a headnote and its chapter share one entry (same label, same page)."""
        if not passages:
            return
        if not self.texts or self.texts[-1] != text:
            self.texts.append(text)
        self.passages.extend((len(self.texts) - 1, passage) for passage in passages)

    def as_data(self) -> dict[str, list]:
        return {
            "texts": [[text.label, text.href] for text in self.texts],
            "passages": [[number, passage.ident, passage.section, passage.text] for number, passage in self.passages],
        }

    def script(self) -> str:
        """`window.anthologySearchIndex = {...};` — compact, non-ASCII kept as is (the file is UTF-8)."""
        data = json.dumps(self.as_data(), ensure_ascii=False, separators=(",", ":"))
        return f"window.{GLOBAL_NAME} = {data};\n"
