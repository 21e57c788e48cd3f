"""Every change the print engine makes to WeasyPrint's and pydyf's code, each checked against the pinned release.

WeasyPrint and pydyf are pinned in pyproject.toml (`PINNED` here, which a test holds equal to the pins). Before each
patch, `check_pinned` makes sure that the installed release is the pinned one and that the function patched still
holds the code the patch was written for; if not, the build stops with a message naming the pin, instead of
laying the book out some other way.

- `keep_footnotes_with_calls` (weasyprint.layout.block._linebox_layout): WeasyPrint moves footnotes already called
  on a page to the next page to make room for a paragraph's orphans; the book wants the paragraph moved instead
  (the page runs a line short) and every note on its call's page.
- `fix_document_id` (a document's DocumentMetadata.generate_rdf_metadata): WeasyPrint writes a random XMP DocumentID
  into PDF/X metadata; a stable one, derived from the book's identifier, makes two builds of the same sources equal.
- `compress_at_flate_level` (pydyf.zlib): pydyf compresses every stream at zlib's level 9; the build uses level 6,
  and compresses a long stream that every segment's PDF carries (the ICC profile) once per process.
- `marking_links` (weasyprint.draw.draw_text, for the length of one PDF's writing): the text of the links the
  screen PDF colours is drawn inside a marked-content sequence, which screen.py finds in the printer's PDF.
"""

from __future__ import annotations

import inspect
import re
import textwrap
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from anthology.render.print.screen import LINK_TAG

if TYPE_CHECKING:  # WeasyPrint is imported by the workers alone: a second of every build's main process otherwise
    from weasyprint.document import Document

# The releases these patches were written for: the pins of pyproject.toml.
PINNED = {"weasyprint": "70.0", "pydyf": "0.13.0"}


class UnpinnedRelease(RuntimeError):
    """The installed WeasyPrint or pydyf is not the code a patch was written for."""


def check_pinned(package: str, function: Any, *expected: str) -> str:
    """The function's source, once the installed `package` is the pinned release and the source holds each of
    `expected` (the code the patch replaces or relies on)."""
    installed = metadata.version(package)
    source = textwrap.dedent(inspect.getsource(function))
    missing = [text for text in expected if text not in source]
    if installed != PINNED[package] or missing:
        where = getattr(function, "__qualname__", getattr(function, "__name__", str(function)))
        raise UnpinnedRelease(
            f"{package} {installed} is installed, but anthology patches {package}=={PINNED[package]} (pinned in "
            f"pyproject.toml): {where} "
            + ("does not hold the code the patch expects" if missing else "may differ")
            + f"; install the pinned release (pip install {package}=={PINNED[package]})"
        )
    return source


# ---- The paragraph moves, not the footnotes ----------------------------------------------------------------------

# WeasyPrint 70, layout/block.py: when a paragraph's first line does not fit at the foot of a page and its orphans
# would force the paragraph to the next page, WeasyPrint instead moves footnotes already called higher on the page to
# the next page, to make room for the line. Those notes then print a page after their calls. This switches that one
# decision off.
REPORT_DECISION = "report = not context.in_column and can_break_now and not could_break_before"


def keep_footnotes_with_calls() -> None:
    from weasyprint.layout import block

    if getattr(block, "_anthology_patched", False):
        return
    source = check_pinned("weasyprint", block._linebox_layout, REPORT_DECISION)
    if source.count(REPORT_DECISION) != 1:
        raise UnpinnedRelease(
            f"weasyprint's _linebox_layout decides more than once as anthology's patch of weasyprint=="
            f"{PINNED['weasyprint']} (pinned in pyproject.toml) expects"
        )
    namespace: dict[str, Any] = {}
    exec(compile(source.replace(REPORT_DECISION, "report = False"), block.__file__, "exec"), block.__dict__, namespace)
    block._linebox_layout = namespace["_linebox_layout"]
    block._anthology_patched = True


# ---- A stable XMP DocumentID -------------------------------------------------------------------------------------

RANDOM_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")
RANDOM_ID_CODE = "f'xmp.did:{uuid4()}'"  # how WeasyPrint 70 writes it (pdf/metadata.py)


@cache
def metadata_checked() -> None:
    from weasyprint.pdf.metadata import DocumentMetadata

    check_pinned("weasyprint", DocumentMetadata.generate_rdf_metadata, RANDOM_ID_CODE)


def fix_document_id(document: Document, stable: str) -> None:
    """A reproducible XMP DocumentID: WeasyPrint writes a random UUID into PDF/X-4 metadata (uuid4 in
    pdf/metadata.py), so two builds of the same sources would differ; ours is derived from the book's identifier."""
    metadata_checked()
    generate = getattr(document.metadata, "_original_rdf", document.metadata.generate_rdf_metadata)
    document.metadata._original_rdf = generate

    def generate_fixed(*args: Any) -> bytes:
        return RANDOM_DOCUMENT_ID.sub(f"xmp.did:{stable}".encode(), generate(*args))

    document.metadata.generate_rdf_metadata = generate_fixed


# ---- pydyf's compression -----------------------------------------------------------------------------------------

# zlib's default level and qpdf's (the merge); pydyf 0.13 uses 9.
FLATE_LEVEL = 6
# A stream this long is kept compressed for the next PDF the process writes: the printer's output intent, the
# ICC profile, is in every segment's PDF. Compressed once per process, not once per segment.
REPEATED_STREAM = 256 * 1024
PYDYF_COMPRESSION = ("zlib.compressobj(level=9)", "zlib.compress(raw_data)")


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


def compress_at_flate_level() -> None:
    import pydyf

    if pydyf.zlib is _FlateForPydyf:  # type: ignore[attr-defined]
        return
    check_pinned("pydyf", pydyf, *PYDYF_COMPRESSION)
    pydyf.zlib = _FlateForPydyf  # type: ignore[attr-defined]


# ---- Links' text marked in the printer's PDF ---------------------------------------------------------------------

DRAW_TEXT_CODE = "def draw_text(stream, textbox, offset_x, text_overflow, block_ellipsis):"


@cache
def draw_text_checked() -> None:
    import weasyprint.draw as draw
    from weasyprint.pdf.stream import Stream

    check_pinned("weasyprint", draw.draw_text, DRAW_TEXT_CODE)
    check_pinned("weasyprint", Stream, "self._current_color = self._current_color_stroke = None")


@contextmanager
def marking_links(text_boxes: set[int]) -> Iterator[None]:
    """Draw the given text boxes inside `/AnthologyLink BMC … EMC`, their colour set explicitly at both ends."""
    import weasyprint.draw as draw

    draw_text_checked()
    original = draw.draw_text

    def draw_text(stream: Any, textbox: Any, *args: Any, **kwargs: Any) -> None:
        if id(textbox) not in text_boxes:
            original(stream, textbox, *args, **kwargs)
            return
        stream._current_color = stream._current_color_stroke = None
        stream.begin_marked_content(LINK_TAG)
        try:
            original(stream, textbox, *args, **kwargs)
        finally:
            stream.end_marked_content()
            stream._current_color = stream._current_color_stroke = None

    draw.draw_text = draw_text
    try:
        yield
    finally:
        draw.draw_text = original
