"""Check stage: what `invoke check` reports about the book without building it (completeness, rights, links)."""

from __future__ import annotations

from anthology.check.debris import debris_warnings
from anthology.diagnostics import Collector
from anthology.load import load_book_partly
from anthology.model import Project
from anthology.resolve.bibliography import bibliography_warnings
from anthology.resolve.book import resolve_book


def check_book(project: Project) -> Collector:
    """Load and resolve the whole book, then report what an editor must still supply."""
    collector = Collector()
    book, loaded = load_book_partly(project.book_dir)
    resolved = resolve_book(book, project.styles_dir, loaded)  # the problems of both stages, in one report
    collector.items.extend(bibliography_warnings(book, resolved.citations).items)
    document = book.config_document
    for index, editor in enumerate(book.config.editors):
        if editor.placeholder:
            collector.warning(
                "W101",
                f"editor credit '{editor.name}' is a placeholder: the book's editors are not named yet",
                file=document.path,
                line=document.line_of(("editors", index)),
                hint="replace it with the editors' real names and set 'placeholder: false'",
            )
    for chapter in book.chapters:
        if chapter.meta.rights.strip().lower() in ("", "not stated", "unknown"):
            collector.warning(
                "W102",
                f"rights for '{chapter.title}' are not recorded as cleared (rights: {chapter.meta.rights})",
                file=chapter.path,
                line=2,
                hint="record the permission in the source's recipe (meta.rights) and run `invoke ingest`",
            )
    collector.items.extend(debris_warnings(list(book.chapters)).items)
    return collector
