"""The raw sources as received: which files are sources, their recorded digest, their encoding, their format.

The raw file is never changed: its bytes are checked against the recipe's `sha256`, decoded by the recipe's
`encoding`, and a Word, OpenDocument or web file is read by pandoc into Markdown, which the rules then clean (the
recipe's line numbers are lines of that Markdown: `invoke ingest --explain SOURCE` prints it).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from pathlib import Path

from anthology import pandoc
from anthology.diagnostics import BuildError, Diagnostic
from anthology.ingest.recipe import Recipe
from anthology.yamlfile import YamlDocument

# Suffix -> pandoc's reader; None: the text itself is what the rules read.
FORMATS: dict[str, str | None] = {
    ".txt": None,
    ".md": None,
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".odt": "odt",
}
MARKDOWN_SOURCES = {".md", ".html", ".htm", ".docx", ".odt"}

# pandoc's Markdown without what the book's texts must not hold: raw HTML, wrappers (divs, spans) and attributes.
CONVERTED = "markdown" + "".join(
    f"-{extension}"
    for extension in (
        "raw_html",
        "native_divs",
        "native_spans",
        "bracketed_spans",
        "fenced_divs",
        "link_attributes",
        "header_attributes",
        "fenced_code_attributes",
        "inline_code_attributes",
        "smart",
        "simple_tables",  # a table is a pipe table, or a grid table where a cell holds more than a line
        "multiline_tables",
    )
)
# A note call that a web page set as a superscript as well: the call alone.
_SUPERSCRIPT_CALL = re.compile(r"\^(\[\^\d+\])\^")


def find_sources(sources_dir: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The sources of the book (sorted), and a problem for each name held by two sources (`a.txt` and `a.docx`
    would both become `texts/a.md`)."""
    found = sorted(p for p in sources_dir.glob("*") if p.suffix.lower() in FORMATS and p.is_file())
    by_stem: dict[str, list[Path]] = {}
    for path in found:
        by_stem.setdefault(path.stem, []).append(path)
    problems = [
        Diagnostic(
            "E220",
            f"{len(paths)} sources are named {stem}: {', '.join(p.name for p in paths)}",
            file=paths[1],
            hint="keep one source per name (each becomes texts/<name>.md); rename or remove the others",
        )
        for stem, paths in by_stem.items()
        if len(paths) > 1
    ]
    return [paths[0] for paths in by_stem.values() if len(paths) == 1], problems


def has_source(recipe_path: Path) -> bool:
    """Whether any source file of a format ingest reads stands beside the recipe under its name."""
    return any(recipe_path.with_suffix(suffix).exists() for suffix in FORMATS)


def named(source: Path, recipe: Recipe, document: YamlDocument) -> list[Diagnostic]:
    """The recipe's `source:` must name the file beside it: the note on the texts reads the file it names."""
    if recipe.source == source.name:
        return []
    return [
        Diagnostic(
            "E222",
            f"source: names {recipe.source}, but the source beside this recipe is {source.name}",
            file=document.path,
            line=document.line_of(("source",)),
            hint=f"write source: {source.name}",
        )
    ]


def verify(source: Path, data: bytes, recipe: Recipe, document: YamlDocument) -> list[Diagnostic]:
    """The raw bytes must be those the recipe recorded: a source changed after its recipe was written is named."""
    digest = hashlib.sha256(data).hexdigest()
    if digest == recipe.sha256.strip().lower():
        return []
    return [
        Diagnostic(
            "E218",
            f"{source.name} is not the file its recipe recorded (sha256 {digest}, recorded {recipe.sha256})",
            file=document.path,
            line=document.line_of(("sha256",)),
            hint=f"if the new file is intended, record its digest: `sha256sum {source}` and put it in sha256:",
        )
    ]


def decode(source: Path, data: bytes, encoding: str) -> str:
    """The raw bytes as text in the recipe's encoding; bytes not valid in it are an error at their first line."""
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        name = "UTF-8" if codecs.lookup(encoding).name == "utf-8" else encoding
        message = f"not valid {name} (byte 0x{data[exc.start]:02x}): the recipe's encoding is {encoding}"
        hint = "declare the file's encoding in its recipe (encoding: latin-1, cp1252, ...); never re-encode the file"
        raise BuildError([Diagnostic("E219", message, file=source, line=line, hint=hint)]) from None


def read_source(source: Path, recipe: Recipe, document: YamlDocument) -> str:
    """The text the rules read: the raw file, verified against the recipe's digest, decoded or read by pandoc."""
    data = source.read_bytes()
    problems = named(source, recipe, document) + verify(source, data, recipe, document)
    try:
        text = rules_text(source, data, recipe.encoding)
    except BuildError as error:
        raise BuildError(problems + error.diagnostics) from None
    if problems:
        raise BuildError(problems)
    return text


def rules_text(source: Path, data: bytes, encoding: str) -> str:
    """The raw bytes as the rules read them (also what the note on the texts counts removals in): decoded by the
    recipe's encoding, or pandoc's Markdown of a Word, OpenDocument or web file."""
    reader = FORMATS.get(source.suffix.lower())
    text = decode(source, data, encoding) if reader is None or reader == "html" else ""
    if reader is None:
        return text
    stdin: str | bytes = text if reader == "html" else data
    converted = pandoc.run(["--from", reader, "--to", CONVERTED, "--wrap=none"], stdin, source=source)
    return _SUPERSCRIPT_CALL.sub(r"\1", converted)


def read_as(source: Path) -> str:
    """How the rules read a source, for the report: empty for a text read as it stands."""
    reader = FORMATS[source.suffix.lower()]
    return f"{reader}, read by pandoc into Markdown" if reader else ""


def find_one(sources_dir: Path, name: str) -> Path:
    """The source a user names by its file name or its slug."""
    sources, _ = find_sources(sources_dir)
    found = [path for path in sources if name in (path.name, path.stem)]
    if not found:
        names = ", ".join(path.name for path in sources) or "none"
        raise BuildError([Diagnostic("E221", f"no source named {name!r} (the sources: {names})", file=sources_dir)])
    return found[0]
