"""Shared fixtures: the real anthology is built once per test session into a temporary folder, and every
whole-book test reads those outputs (a full build takes tens of seconds, mostly WeasyPrint).

Two tiers: a test that builds, resolves or reads the real anthology in book/ (or builds a book as large) is marked
`book`, by its fixtures here or by a marker in its module, and `pytest -m "not book"` runs the rest: unit,
fixture-book and golden-file tests. A test outside the book tier that opens, lists or passes to a command a path
under book/ fails (BookReads)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from anthology.build import build, output_path
from anthology.load import load_book
from anthology.model import Book, Project, ResolvedBook
from anthology.resolve.book import resolve_book

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STYLES = ROOT / "styles"
MINIBOOK = ROOT / "tests" / "fixtures" / "minibook"

# The outputs are dated by their book, not by a SOURCE_DATE_EPOCH of the caller's: the golden files hold those dates.
os.environ.pop("SOURCE_DATE_EPOCH", None)

# The fixtures that build or resolve the real anthology: a test that uses one, even indirectly, is in the book tier.
REAL_BOOK_FIXTURES = frozenset({"built", "resolved_real_book"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="write tests/golden/ from this build instead of comparing the outputs with it",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REAL_BOOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.book)


class BookReads:
    """Paths under book/ used by a test outside the book tier, seen by an audit hook in this process: files
    opened, folders listed or copied, commands given such a path or running an invoke task on the default book.
    Only absolute paths: a relative one may name a file in a folder given by descriptor (shutil.rmtree opens them
    so). Only this process: a worker forked from it keeps the hook but not its place in a test."""

    FILE_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "shutil.copytree"})

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.watching = False
        self.found: list[str] = []
        self.book_path = re.compile(re.escape(str(BOOK)) + r"(?![^/])")
        sys.addaudithook(self.audit)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.watching or os.getpid() != self.pid:
            return
        if event in self.FILE_EVENTS and isinstance(args[0], str | os.PathLike):
            path = os.fspath(args[0])
            if isinstance(path, str) and os.path.isabs(path) and self.book_path.match(os.path.normpath(path)):
                self.found.append(f"{event} {path}")
        elif event == "subprocess.Popen":
            command = [os.fspath(word) for word in args[1]] if isinstance(args[1], list | tuple) else [args[1]]
            words = [word for word in command if isinstance(word, str)]
            default_book = "invoke" in words and not {"--book", "--list", "-l", "--help", "-h"} & set(words)
            if default_book or any(self.book_path.search(word) for word in words):
                self.found.append(f"command {' '.join(words)}")

    @contextmanager
    def watch(self, item: pytest.Item) -> Iterator[None]:
        self.watching, self.found = item.get_closest_marker("book") is None, []
        try:
            yield
        finally:
            self.watching = False
        if self.found:
            found = list(dict.fromkeys(self.found))
            shown = "\n  ".join(found[:10])
            message = f"a test outside the book tier used the real book ({len(found)} paths); mark it `book`"
            pytest.fail(f"{message}:\n  {shown}", pytrace=False)


BOOK_READS = BookReads()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with BOOK_READS.watch(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with BOOK_READS.watch(item):
        return (yield)


@dataclass
class Built:
    """A finished build: the book model and the paths of its three editions."""

    book: Book
    project: Project
    pdf: Path
    epub: Path
    html: Path  # the site's folder


def build_into(book_dir: Path, build_dir: Path) -> Built:
    project = Project(book_dir=book_dir, styles_dir=STYLES, build_dir=build_dir)
    build(project)
    book = load_book(book_dir)
    slug = book.config.slug
    return Built(
        book,
        project,
        output_path(project, slug, "pdf"),
        output_path(project, slug, "epub"),
        output_path(project, slug, "html"),
    )


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The real anthology, built once for the whole session."""
    return build_into(BOOK, tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def built_minibook(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The two-chapter fixture book, for fast tests of the machinery."""
    return build_into(MINIBOOK, tmp_path_factory.mktemp("minibuild"))


@pytest.fixture
def book_copy(tmp_path: Path) -> Path:
    """A writable copy of the minibook, for tests that break its input on purpose."""
    target = tmp_path / "book"
    shutil.copytree(MINIBOOK, target)
    return target


@pytest.fixture(scope="session")
def resolved_real_book() -> ResolvedBook:
    """The real anthology's resolved model (cross-references, index markers), to compare the built editions
    against: resolving re-parses the texts (seconds); it lays nothing out."""
    return resolve_book(load_book(BOOK), STYLES)
