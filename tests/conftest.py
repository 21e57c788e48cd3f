"""Shared fixtures: the real anthology is built once per test session into a temporary folder, and every
whole-book test reads those outputs (a full build takes tens of seconds, mostly WeasyPrint)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from anthology.build import build, output_path
from anthology.load import load_book
from anthology.model import Book, Project, ResolvedBook
from anthology.resolve.book import resolve_book

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STYLES = ROOT / "styles"
MINIBOOK = ROOT / "tests" / "fixtures" / "minibook"


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
