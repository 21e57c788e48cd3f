"""WeasyPrint, confined: it reads only the book's and the styles' files, and its warnings are collected.

Imported by the worker processes that lay pages out (and by the cover), never by the build's main process:
importing WeasyPrint takes a second that would slow reading the book.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pydyf
from weasyprint.urls import URLFetcher

# pydyf 0.13 compresses every stream at zlib's level 9. Level 6, zlib's default and qpdf's (the merge), took a fifth
# of the time on this book's segments (0.9 s against 4.3 s) for streams 0.6 % larger (5.01 MB against 4.98 MB).
FLATE_LEVEL = 6


# A stream this long is kept compressed for the next PDF the process writes: the printer's output intent, the
# 444 KB ICC profile, is in every segment's PDF, and compressing it was three quarters of the time WeasyPrint took to
# write a short segment (20 ms of 30, measured). Compressed once per worker, not once per segment.
REPEATED_STREAM = 256 * 1024


@lru_cache(maxsize=4)
def _deflate_repeated(data: bytes) -> bytes:
    return zlib.compress(data, FLATE_LEVEL)


class _Deflate:
    """One stream's compression as pydyf asks for it (the whole stream, then flush): the same bytes as zlib's
    compressobj at FLATE_LEVEL gives, a long stream taken from those already compressed in this process."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def compress(self, data: bytes) -> bytes:
        self.pieces.append(data)
        return b""

    def flush(self, mode: int = zlib.Z_FINISH) -> bytes:
        data = b"".join(self.pieces)
        self.pieces = []
        return _deflate_repeated(data) if len(data) >= REPEATED_STREAM else zlib.compress(data, FLATE_LEVEL)


class _FlateForPydyf:
    """The zlib pydyf calls (`compress` for inline images, `compressobj` for streams), at FLATE_LEVEL."""

    @staticmethod
    def compress(data: bytes, level: int = FLATE_LEVEL) -> bytes:
        return zlib.compress(data, FLATE_LEVEL)

    @staticmethod
    def compressobj(level: int = FLATE_LEVEL, *args: object, **kwargs: object) -> _Deflate:
        return _Deflate()


pydyf.zlib = _FlateForPydyf  # type: ignore[attr-defined]


class ConfinedFetcher(URLFetcher):
    """WeasyPrint may read only files inside the allowed folders and data: URLs; the network is never reached."""

    def __init__(self, allowed: list[Path]):
        super().__init__(allowed_protocols={"file", "data"})
        self.allowed = [folder.resolve() for folder in allowed]

    def fetch(self, url: str, headers: dict | None = None):  # type: ignore[no-untyped-def]
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path)).resolve()
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
