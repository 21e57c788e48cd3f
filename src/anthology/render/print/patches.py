"""PLACEHOLDER"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # WeasyPrint is imported by the workers alone: a second of every build's main process otherwise
    from weasyprint.document import Document


# WeasyPrint 70, layout/block.py: when a paragraph's first line does not fit at the foot of a page and its orphans
# would force the paragraph to the next page, WeasyPrint instead moves footnotes already called higher on the page to
# the next page, to make room for the line. Those notes then print a page after their calls. The book wants the
# other choice: the paragraph goes to the next page (the page runs a line or two short), every note stays with its
# call. This switches that one decision off, in the pinned release, and fails loudly if the code is not the one it
# was written for.
REPORT_DECISION = "report = not context.in_column and can_break_now and not could_break_before"


def keep_footnotes_with_calls() -> None:
    import inspect
    import textwrap

    from weasyprint.layout import block

    if getattr(block, "_anthology_patched", False):
        return
    source = textwrap.dedent(inspect.getsource(block._linebox_layout))
    if source.count(REPORT_DECISION) != 1:
        raise RuntimeError("WeasyPrint's _linebox_layout is not the one anthology patches: check the pinned version")
    namespace: dict[str, Any] = {}
    exec(compile(source.replace(REPORT_DECISION, "report = False"), block.__file__, "exec"), block.__dict__, namespace)
    block._linebox_layout = namespace["_linebox_layout"]
    block._anthology_patched = True


RANDOM_DOCUMENT_ID = re.compile(rb"xmp\.did:[0-9a-f-]{36}")


def fix_document_id(document: Document, stable: str) -> None:
    """A reproducible XMP DocumentID: WeasyPrint writes a random UUID into PDF/X-4 metadata (uuid4 in
    pdf/metadata.py), so two builds of the same sources would differ; ours is derived from the book's identifier."""
    generate = getattr(document.metadata, "_original_rdf", document.metadata.generate_rdf_metadata)
    document.metadata._original_rdf = generate

    def generate_fixed(*args: Any) -> bytes:
        return RANDOM_DOCUMENT_ID.sub(f"xmp.did:{stable}".encode(), generate(*args))

    document.metadata.generate_rdf_metadata = generate_fixed
