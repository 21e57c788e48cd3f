"""Generated matter: texts the pipeline writes itself (bibliography, index, note on the texts, permissions).

A generator is registered under the name used in book.yaml's `front`/`back` lists. The load stage makes a
placeholder text for it (no file needed); the resolve stage calls the generator once every authored text is
parsed, so it can draw on the whole book. A generator returns the text's blocks (a pandoc AST block list) and may
register a print override: a function that, given the page number of every anchor after a first layout of the
PDF, returns the blocks to print instead (e.g. the index with collapsed page ranges).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anthology.ast import Node

if TYPE_CHECKING:
    from anthology.resolve.book import ResolvedBook

PrintOverride = Callable[[dict[str, int]], list[Node]]


@dataclass(frozen=True)
class Generated:
    blocks: list[Node]
    print_override: PrintOverride | None = None


@dataclass(frozen=True)
class Generator:
    title: str
    make: Callable[[ResolvedBook, str], Generated]  # (book, the text's slug) -> its content


GENERATORS: dict[str, Generator] = {}
# Modules that register generators; imported on first use so that every name is known before book.yaml is read.
GENERATOR_MODULES = ("anthology.resolve.bibliography", "anthology.resolve.editorial", "anthology.resolve.indexing")


def generators() -> dict[str, Generator]:
    """Every registered generator, by the name used in book.yaml."""
    for module in GENERATOR_MODULES:
        importlib.import_module(module)
    return GENERATORS


def register(name: str, title: str) -> Callable[[Callable[[ResolvedBook, str], Generated]], Callable]:
    """Decorator: make `name` usable in book.yaml's front/back lists."""

    def decorate(make: Callable[[ResolvedBook, str], Generated]) -> Callable[[ResolvedBook, str], Generated]:
        GENERATORS[name] = Generator(title, make)
        return make

    return decorate
