"""Generated matter: texts the pipeline writes itself (bibliography, index, note on the texts, permissions).

book.yaml's `front`/`back` lists name them by the names of `model.GENERATED_TITLES`. The load stage makes a
placeholder text for each (no file needed); the resolve stage calls its generator once every authored text is
parsed, so it can draw on the whole book. A generator returns the text's blocks (a pandoc AST block list) and may
give a print override: a function that, given the page number of every anchor after a first layout of the PDF,
returns the blocks to print instead (e.g. the index with collapsed page ranges).
"""

from __future__ import annotations

from anthology.model import Generator
from anthology.resolve import bibliography, editorial, indexing

GENERATORS: dict[str, Generator] = {
    bibliography.BIBLIOGRAPHY_SLUG: bibliography.make_bibliography,
    indexing.INDEX_SLUG: indexing.make_index,
    editorial.NOTE_SLUG: editorial.make_note_on_texts,
    editorial.PERMISSIONS_SLUG: editorial.make_permissions,
}
