"""`invoke new PATH`: a minimal book that builds at once, for an editor to replace piece by piece.

The files are those of `scaffold_files/` (a sample essay's raw source with its recipe, the text ingest makes of it,
a headnote, references.yaml, index.yaml and a book.yaml of the required keys), with the new book's slug, title,
identifier, date and the source's digest filled in. An existing folder with anything in it is refused: the
scaffold must never overwrite an editor's files.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import uuid
from pathlib import Path
from string import Template

from anthology.diagnostics import BuildError, Diagnostic

FILES = Path(__file__).parent / "scaffold_files"
# The files whose ${placeholders} are filled in; the others are copied byte for byte.
TEMPLATES = {"book.yaml", "sources/sample-essay.yaml"}
SAMPLE_SOURCE = "sources/sample-essay.txt"


def slug_for(folder: Path) -> str:
    """A slug (config.SLUG_PATTERN) from the folder's name: lower case, runs of other characters as hyphens."""
    slug = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")
    return slug or "book"


def title_for(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("-"))


def refuse_non_empty(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        what = "a file" if not folder.is_dir() else "a folder that is not empty"
        raise BuildError(
            [
                Diagnostic(
                    "E016",
                    f"{folder} is {what}: `invoke new` writes a book only into a new or empty folder",
                    file=folder,
                    hint="name a folder that does not exist yet (it is created), or an empty one",
                )
            ]
        )


def create_book(folder: Path, today: datetime.date | None = None) -> list[Path]:
    """Write the scaffold into `folder` (created if need be); returns the files written."""
    refuse_non_empty(folder)
    slug = slug_for(folder)
    values = {
        "slug": slug,
        "title": title_for(slug),
        "uuid": str(uuid.uuid4()),
        "year": str((today or datetime.date.today()).year),
        "sha256": hashlib.sha256((FILES / SAMPLE_SOURCE).read_bytes()).hexdigest(),
    }
    written = []
    for source in sorted(path for path in FILES.rglob("*") if path.is_file()):
        relative = source.relative_to(FILES).as_posix()
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative in TEMPLATES:
            target.write_text(Template(source.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
        else:
            target.write_bytes(source.read_bytes())
        written.append(target)
    return written
