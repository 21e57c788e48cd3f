"""Caches belong to the book (issue 25): each book builds into its own folder, books that share a folder never use
each other's caches, `clean` removes one book's folder only, and a damaged pandoc cache entry is never used."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from anthology import cli, pandoc
from anthology.config import SLUG_PATTERN
from conftest import MINIBOOK, STYLES, Built, build_into
from runs import build_here


def other_book(folder: Path, slug: str) -> Path:
    """A second book made from the minibook: another title, another first chapter's text, the given slug."""
    shutil.copytree(MINIBOOK, folder)
    config = folder / "book.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace("slug: minibook", f"slug: {slug}")
        .replace("title: A Small Test Book", "title: Another Test Book"),
        encoding="utf-8",
    )
    alpha = folder / "texts" / "alpha.md"
    text = alpha.read_text(encoding="utf-8")
    assert "Closing sentence of alpha." in text
    alpha.write_text(text.replace("Closing sentence of alpha.", "Closing words of the other book."), encoding="utf-8")
    return folder


def outputs(folder: Path, slug: str) -> dict[str, bytes]:
    """A book's editions in an output folder, file by file: the PDFs, the EPUB and every file of the site."""
    found = {name: (folder / name).read_bytes() for name in (f"{slug}.pdf", f"{slug}-screen.pdf", f"{slug}.epub")}
    for page in sorted((folder / "html").rglob("*")):
        if page.is_file():
            found[str(page.relative_to(folder))] = page.read_bytes()
    return found


def differing(ours: dict[str, bytes], clean: dict[str, bytes]) -> list[str]:
    return sorted(name for name in ours.keys() | clean.keys() if ours.get(name) != clean.get(name))


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The second book (slug `otherbook`), built clean into a folder of its own."""
    book = other_book(tmp_path_factory.mktemp("other") / "book", "otherbook")
    return build_into(book, tmp_path_factory.mktemp("other-clean"))


def test_two_books_built_in_turn_into_one_folder_each_give_their_clean_build(built_minibook, other, tmp_path):
    """The minibook, then another book, then the minibook again, into one folder: each build equals that book's
    clean build (none used the other book's manifest records, pandoc results, segments or page lists). The first
    build is a copy of the session's (the same book folder's outputs, caches and manifest)."""
    shared = tmp_path / "shared"
    shutil.copytree(built_minibook.project.build_dir, shared)
    build_into(other.project.book_dir, shared)
    assert differing(outputs(shared, "otherbook"), outputs(other.project.build_dir, "otherbook")) == []
    build_into(MINIBOOK, shared)
    assert differing(outputs(shared, "minibook"), outputs(built_minibook.project.build_dir, "minibook")) == []


def test_two_books_of_one_slug_built_in_turn_into_one_folder_each_give_their_clean_build(built_minibook, tmp_path):
    """Two books with the same slug write the same files: each build replaces the other's, and equals its own
    clean build. The minibook's first build is a copy of the session's."""
    book = other_book(tmp_path / "book", "minibook")
    clean = build_into(book, tmp_path / "clean")
    shared = tmp_path / "shared"
    shutil.copytree(built_minibook.project.build_dir, shared)
    build_into(book, shared)
    assert differing(outputs(shared, "minibook"), outputs(clean.project.build_dir, "minibook")) == []
    build_into(MINIBOOK, shared)
    assert differing(outputs(shared, "minibook"), outputs(built_minibook.project.build_dir, "minibook")) == []


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    """A project root of its own (the tasks' default folders are under it): the styles, and no build/ yet."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "styles").symlink_to(STYLES, target_is_directory=True)
    return root


def test_each_book_builds_into_its_own_folder_by_default(built_minibook, other, project_root):
    """Without --out, each book's outputs and caches go to build/<slug>/, and each equals its clean build."""
    for book in (MINIBOOK, other.project.book_dir):
        cli.run_build(str(book), project_root)
    folders = sorted(path.name for path in (project_root / "build").iterdir())
    assert folders == ["minibook", "otherbook"]
    for slug, clean in (("minibook", built_minibook), ("otherbook", other)):
        folder = project_root / "build" / slug
        assert (folder / ".cache" / "pandoc").is_dir()
        assert differing(outputs(folder, slug), outputs(clean.project.build_dir, slug)) == []
    assert sorted(path.name for path in (project_root / "build").iterdir() if path.is_file()) == []


def test_the_tasks_default_folder_is_the_books_and_out_overrides_it(project_root, tmp_path):
    assert cli.project_for(str(MINIBOOK), project_root).build_dir == project_root / "build" / "minibook"
    assert cli.project_for(str(MINIBOOK), project_root, str(tmp_path / "x")).build_dir == tmp_path / "x"


@pytest.mark.parametrize(
    "config",
    [None, "slug: [not, a, string]\n", "slug: ../../escape\n", "title: no slug at all\n", "slug: 'x: [unclosed\n"],
    ids=["no-book-yaml", "slug-not-a-string", "slug-a-path", "no-slug", "yaml-error"],
)
def test_a_book_without_a_usable_slug_builds_into_a_folder_named_after_the_book(project_root, tmp_path, config):
    book = tmp_path / "My Book"
    book.mkdir()
    if config is not None:
        (book / "book.yaml").write_text(config, encoding="utf-8")
    assert cli.project_for(str(book), project_root).build_dir == project_root / "build" / "My Book"


def test_the_folder_slug_pattern_is_the_configurations():
    """cli repeats config's slug pattern (so that every task need not import config): the two must agree."""
    assert f"^{cli.SLUG.pattern}$" == SLUG_PATTERN
    for candidate in ("minibook", "a-b-1", "-x", "X", "a_b", "a/b", "..", "a.b", "é"):
        assert bool(cli.SLUG.fullmatch(candidate)) == bool(re.match(SLUG_PATTERN, candidate)), candidate


def test_clean_removes_only_the_given_books_folder(project_root, tmp_path):
    second = other_book(tmp_path / "second", "otherbook")
    for book in (MINIBOOK, second):
        cli.run_build(str(book), project_root, ["html"])
    kept = project_root / "build" / "otherbook"
    before = {path: path.read_bytes() for path in sorted(kept.rglob("*")) if path.is_file()}
    assert (project_root / "build" / "minibook" / "html" / "index.html").is_file()
    cli.run_clean(str(MINIBOOK), project_root)
    assert not (project_root / "build" / "minibook").exists()
    assert {path: path.read_bytes() for path in sorted(kept.rglob("*")) if path.is_file()} == before
    cli.run_clean(str(second), project_root, everything=True)
    assert not (project_root / "build").exists()


def test_clean_refuses_while_a_build_writes_to_the_folder(project_root):
    """A build holding the book's folder stops `clean` with a diagnostic; the folder stays."""
    from invoke.exceptions import Exit

    from anthology.build import build_lock

    folder = project_root / "build" / "minibook"
    with build_lock(folder), pytest.raises(Exit) as stopped:
        cli.run_clean(str(MINIBOOK), project_root)
    assert stopped.value.code == cli.EXIT_INPUT_ERROR
    assert folder.is_dir()


def run_build(book: Path, out: Path) -> str:
    """`invoke build --book BOOK --out OUT` as its task runs it, in this process (tests/runs.py): what it printed to
    stderr; a build that stops fails the test with its exit status and messages."""
    done = build_here(book, out)
    if done.returncode:
        pytest.fail(f"the build stopped (exit status {done.returncode}):\n{done.stderr}", pytrace=False)
    return done.stderr


def damage(entry: Path, how: str) -> None:
    data = entry.read_bytes()
    if how == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        entry.write_bytes(bytes(range(256)) * 4)
    else:  # the entry of another run, under this run's name
        other = next(path for path in sorted(entry.parent.parent.glob("*/*")) if path.name != entry.name)
        entry.write_bytes(other.read_bytes())


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The minibook with its last chapter's closing sentence changed, built clean."""
    book = tmp_path_factory.mktemp("edited") / "book"
    shutil.copytree(MINIBOOK, book)
    beta = book / "texts" / "beta.md"
    text = beta.read_text(encoding="utf-8")
    assert "Closing sentence of beta." in text
    beta.write_text(text.replace("Closing sentence of beta.", "Beta ends here."), encoding="utf-8")
    return build_into(book, tmp_path_factory.mktemp("edited-clean"))


@pytest.mark.parametrize("how", ["truncated", "garbage", "foreign"])
def test_a_damaged_pandoc_cache_entry_is_reported_and_made_again(built_minibook, edited, tmp_path, capsys, how):
    """The minibook's build folder with every pandoc result in its cache damaged, then the book with a chapter
    edited built into it: the build warns of each damaged entry it meets (those of the unchanged texts), makes
    those runs again and gives the edited book's clean build."""
    out = tmp_path / "out"
    shutil.copytree(built_minibook.project.build_dir, out)
    entries = sorted((out / ".cache" / "pandoc").glob("*/*"))
    assert entries
    for entry in entries:
        damage(entry, how)
    printed = run_build(edited.project.book_dir, out)
    warned = re.findall(r"^(\S+): warning W061: pandoc's cached result was discarded", printed, re.MULTILINE)
    assert warned, printed
    assert set(warned) <= {str(entry) for entry in entries}
    assert differing(outputs(out, "minibook"), outputs(edited.project.build_dir, "minibook")) == []
    kept = sorted((out / ".cache" / "pandoc").glob("*/*"))
    assert kept and all(pandoc.read_entry(entry, entry.name) is not None for entry in kept)


@pytest.mark.parametrize("how", ["truncated", "garbage", "foreign", "folder", "old-format"])
def test_a_damaged_entry_is_never_used(tmp_path, monkeypatch, capsys, how):
    """pandoc.run on a damaged entry: pandoc's own output, a warning naming the entry, and a sound entry after."""
    monkeypatch.setattr(pandoc, "CACHE_DIR", tmp_path)
    first = pandoc.run(["--from", "markdown", "--to", "html5"], "One *two* three four five.")
    pandoc.run(["--from", "markdown", "--to", "html5"], "Another text.")
    key = pandoc.cache_key(["--from", "markdown", "--to", "html5"], "One *two* three four five.", None)
    assert key is not None
    entry = tmp_path / key[:2] / key
    if how == "folder":
        entry.unlink()
        entry.mkdir()
    elif how == "old-format":  # the output alone, as entries were written before they carried a header
        entry.write_text(first[:10], encoding="utf-8")
    else:
        damage(entry, how)
    capsys.readouterr()
    again = pandoc.run(["--from", "markdown", "--to", "html5"], "One *two* three four five.")
    assert again == first == pandoc.run_pandoc(["--from", "markdown", "--to", "html5"], "One *two* three four five.")
    assert f"{entry}: warning W061:" in capsys.readouterr().err
    assert pandoc.read_entry(entry, key) == first


def test_the_cache_key_covers_pandocs_version_and_the_input(monkeypatch):
    args = ["--from", "markdown", "--to", "html5"]
    key = pandoc.cache_key(args, "text", None)
    assert pandoc.cache_key(args, "text.", None) != key
    assert pandoc.cache_key(args, "text", 1) != key
    version = subprocess.run([pandoc.pandoc_binary(), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.splitlines()[0] in pandoc.pandoc_identity()
    monkeypatch.setattr(pandoc, "pandoc_identity", lambda: "pandoc 9.9:elsewhere")
    assert pandoc.cache_key(args, "text", None) != key


def test_prune_keeps_the_entries_used_and_drops_everything_else(tmp_path, monkeypatch):
    monkeypatch.setattr(pandoc, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(pandoc, "USED_KEYS", set())
    pandoc.run(["--from", "markdown", "--to", "html5"], "Kept.")
    (tmp_path / "stray-file").write_text("x")
    (tmp_path / "zz").mkdir()  # not a bucket the keys (hexadecimal) ever name
    (tmp_path / "zz" / "not-used").write_text("x")
    (tmp_path / "zz" / next(iter(pandoc.USED_KEYS))).write_text("x")  # a used name in the wrong bucket
    pandoc.prune_cache()
    kept = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file())
    key = next(iter(pandoc.USED_KEYS))
    assert kept == [Path(key[:2]) / key]


MANIFESTS = {
    "garbage": b"\x00\xff not json",
    "a-list": b"[1, 2, 3]",
    "records-of-another-form": b'{"books": {"BOOK": {"pdf": "x", "html": {"key": 5, "output": null}}}}',
    "another-books-records": b'{"books": {"BOOK": {"pdf": {"key": "0", "output": "0"}}}}',
}


@pytest.mark.parametrize("damage", MANIFESTS, ids=list(MANIFESTS))
def test_a_damaged_or_foreign_manifest_is_no_record_and_the_build_gives_the_clean_build(
    built_minibook, tmp_path, capsys, damage
):
    """A build folder whose manifest is damaged, or records other outputs for this book, builds every edition
    again (never "nothing to do", never a crash), and gives the clean build; a garbage EPUB left in the cache
    folder (where the EPUB is made before it is moved into place) is replaced, never used."""
    out = tmp_path / "out"
    shutil.copytree(built_minibook.project.build_dir, out)
    manifest = out / ".cache" / "manifest.json"
    assert manifest.is_file()
    manifest.write_bytes(MANIFESTS[damage].replace(b"BOOK", str(MINIBOOK.resolve()).encode()))
    (out / ".cache" / "minibook.epub").write_bytes(b"PK\x03\x04 not an EPUB")
    printed = run_build(MINIBOOK, out)
    assert "nothing to do" not in printed
    assert differing(outputs(out, "minibook"), outputs(built_minibook.project.build_dir, "minibook")) == []
    again = run_build(MINIBOOK, out)
    assert "nothing to do" in again, again


def test_preflight_without_a_pdf_names_the_command_for_this_book(project_root, tmp_path, capsys):
    """The PDF preflight looks for is in the book's own folder: the command it asks for builds that book there."""
    from invoke.exceptions import Exit

    for out, expected in ((None, f"invoke pdf --book {MINIBOOK}`"), (str(tmp_path / "o"), f"--out {tmp_path / 'o'}`")):
        with pytest.raises(Exit):
            cli.run_preflight(str(MINIBOOK), project_root, out=out)
        printed = capsys.readouterr().out
        assert f"no PDF at {cli.project_for(str(MINIBOOK), project_root, out).build_dir / 'minibook.pdf'}" in printed
        assert expected in printed
    assert cli.task_command("pdf", cli.DEFAULT_BOOK) == "invoke pdf"
