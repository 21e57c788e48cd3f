"""A book's own design: a book folder may hold styles/ whose files override the project's styles/ one by one.

The project's styles/ is the default theme; every file the build reads from it (print.css, screen.css, epub.css,
templates/**, fonts/*, csl/*, icc/*, site/*) is looked up here, the book's copy first (model.Project.style_file).
A book's copy must stay inside the book folder, as every path a book names (issue 26)."""

from __future__ import annotations

from pathlib import Path

from anthology.diagnostics import BuildError, Diagnostic

OWN_STYLES = "styles"  # the book's own styles folder, in the book folder


def style_file(book_dir: Path, styles_dir: Path, relative: str | Path) -> Path:
    """The book's copy of `relative` when it has one, else the project's; E017 for a copy leading outside."""
    own = book_dir / OWN_STYLES / relative
    if not own.is_file():
        return styles_dir / relative
    if not own.resolve().is_relative_to(book_dir.resolve()):
        message = f"the book's style file {relative} leads outside the book folder, to {own.resolve()}"
        raise BuildError([Diagnostic("E017", message, file=own)])
    return own


def restyled(book_dir: Path, styles_dir: Path, path: Path) -> Path:
    """A path into either styles folder, as the file the build reads for it: a style sheet's relative URLs
    (fonts/…, icc/…) find the book's copies first, whichever folder the sheet came from."""
    resolved = path.resolve()
    for root in (book_dir / OWN_STYLES, styles_dir):
        if resolved.is_relative_to(root.resolve()):
            return style_file(book_dir, styles_dir, resolved.relative_to(root.resolve()))
    return path
