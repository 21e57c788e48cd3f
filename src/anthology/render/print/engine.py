"""WeasyPrint, confined: it reads only the book's and the styles' files, and its warnings are collected.

Imported by the worker processes that lay pages out (and by the cover), never by the build's main process:
importing WeasyPrint takes a second that would slow reading the book.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint.urls import URLFetcher

from anthology.render.print.patches import compress_at_flate_level

compress_at_flate_level()  # every PDF a process writes is written with it (patches.py)


class ConfinedFetcher(URLFetcher):
    """WeasyPrint may read only files inside the allowed folders and data: URLs; the network is never reached."""

    def __init__(self, allowed: list[Path], restyled: Callable[[Path], Path] = lambda path: path):
        super().__init__(allowed_protocols={"file", "data"})
        self.allowed = [folder.resolve() for folder in allowed]
        self.restyled = restyled  # Project.restyled: a style file is the book's own copy when it has one

    def fetch(self, url: str, headers: dict | None = None):  # type: ignore[no-untyped-def]
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = self.restyled(Path(unquote(parsed.path))).resolve()
            url = path.as_uri()
            if not any(path.is_relative_to(folder) for folder in self.allowed):
                raise ValueError(f"reading {path} is not allowed: only files in the book and styles folders")
        elif parsed.scheme != "data":
            raise ValueError(f"fetching {url} is not allowed: the build never uses the network")
        return super().fetch(url, headers)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def weasyprint_warnings() -> Iterator[list[str]]:
    """Collect WeasyPrint's warnings (a missing font or a refused URL must not pass silently)."""
    logger = logging.getLogger("weasyprint")
    handler = _Collect()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
