"""`invoke serve`, the live preview: the site is served, a change under book/ or styles/ rebuilds what it needs and
the pages learn of the new build; a broken text keeps the previous site and reports the problem to the page."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from anthology.load import load_book
from anthology.model import Project
from anthology.render.site.edition import render_site
from anthology.resolve.book import resolve_book
from anthology.serve import STATE_PATH, LivePreview, LiveState, Rebuilder
from conftest import ROOT, STYLES

TIMEOUT = 90  # seconds for a rebuild on a busy 2-core machine


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def state(preview: LivePreview) -> dict:
    return json.loads(fetch(preview.url.rstrip("/") + STATE_PATH))


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "the live preview did not react in time"
        time.sleep(0.3)


def touch_write(path: Path, text: str) -> None:
    """Write and make sure the modification time moves on (coarse file system clocks)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        time.sleep(0.05)
        path.write_text(text)


@pytest.fixture
def preview(book_copy: Path, tmp_path: Path) -> Iterator[LivePreview]:
    styles = tmp_path / "styles"
    shutil.copytree(STYLES, styles)
    project = Project(book_dir=book_copy, styles_dir=styles, build_dir=tmp_path / "build")
    live = LivePreview(project, port=0, console=Console(file=open(tmp_path / "console.txt", "w")))  # noqa: SIM115
    live.start()
    yield live
    live.stop()
    live.console.file.close()


def test_serves_the_site_with_the_live_reload_script(preview):
    home = fetch(preview.url + "index.html")
    assert '<script src="assets/live-reload.js" defer></script>' in home
    assert "window.location.reload" in fetch(preview.url + "assets/live-reload.js")
    assert state(preview) == {"generation": 1, "problems": None}


def test_a_changed_text_is_rebuilt_and_a_broken_one_reported(preview):
    alpha = preview.project.book_dir / "texts" / "alpha.md"
    assert "Zanzibar" not in fetch(preview.url + "alpha.html")
    touch_write(alpha, alpha.read_text().replace("Closing sentence of alpha.", "Closing sentence of Zanzibar."))
    wait_for(lambda: state(preview)["generation"] == 2)
    assert "Closing sentence of Zanzibar." in fetch(preview.url + "alpha.html")

    touch_write(alpha, "no front matter at all\n")
    wait_for(lambda: state(preview)["problems"] is not None)
    problems = state(preview)
    assert problems["generation"] == 2
    assert f"{alpha}:1: error E020" in problems["problems"]
    assert "Closing sentence of Zanzibar." in fetch(preview.url + "alpha.html")  # the last good site


def test_a_changed_stylesheet_is_copied_without_rebuilding_the_pages(preview):
    css = preview.project.styles_dir / "screen.css"
    page = preview.project.build_dir / "html" / "alpha.html"
    built = page.stat().st_mtime_ns
    touch_write(css, css.read_text() + "\n.live-preview-test { color: red; }\n")
    wait_for(lambda: state(preview)["generation"] == 2)
    assert ".live-preview-test" in fetch(preview.url + "assets/screen.css")
    assert page.stat().st_mtime_ns == built


def test_an_open_page_reloads_itself_after_a_rebuild(preview):
    """In headless Chromium: the page's live-reload script notices the new build and reloads the page."""
    browser = subprocess.Popen(
        ["node", str(ROOT / "tests" / "site" / "reload.js"), preview.url + "alpha.html"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert browser.stdout is not None and browser.stdout.readline().strip() == "ready"
        alpha = preview.project.book_dir / "texts" / "alpha.md"
        touch_write(alpha, alpha.read_text().replace("Closing sentence of alpha.", "Closing sentence of Tbilisi."))
        out, err = browser.communicate(timeout=TIMEOUT + 30)
    finally:
        browser.kill()
    assert browser.returncode == 0, err[-2000:]
    result = json.loads(out)
    assert result["reloaded"] and "Closing sentence of Tbilisi." in result["text"]


def test_a_changed_template_rerenders_the_pages_from_the_resolved_book(preview, tmp_path):
    template = preview.project.styles_dir / "templates" / "site" / "chapter.html.j2"
    touch_write(template, template.read_text().replace("Editors’ headnote", "Editors’ headnote, revised"))
    wait_for(lambda: state(preview)["generation"] == 2)
    assert "Editors’ headnote, revised" in fetch(preview.url + "alpha.html")
    preview.console.file.flush()
    assert "rebuilt (templates)" in (tmp_path / "console.txt").read_text()


def site_files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_a_rebuild_after_edits_is_the_site_a_clean_render_makes(book_copy, tmp_path):
    """The preview keeps each text's prepared fragment between rebuilds (edition.SiteCache): after a one-word edit,
    then a new paragraph (the passage ids after it change), then the only citation of a work taken out (the
    bibliography changes), the preview's site is, file for file, the one a fresh rendering of the edited book writes."""
    project = Project(book_dir=book_copy, styles_dir=STYLES, build_dir=tmp_path / "build")
    rebuilder = Rebuilder(project, LiveState(), Console(file=io.StringIO()))
    rebuilder.rebuild()
    alpha = book_copy / "texts" / "alpha.md"
    edits = [
        ("Closing sentence of alpha.", "Closing sentence of Zanzibar."),
        ("> A block quotation", "A new paragraph.\n\n> A block quotation"),
        ("And [@carr-1950, 12; @serge-year-one-1972, 3].", "And [@serge-year-one-1972, 3]."),
    ]
    for old, new in edits:
        before = site_files(rebuilder.target)
        touch_write(alpha, alpha.read_text().replace(old, new))
        rebuilder.rebuild({alpha})
        assert rebuilder.state.problems is None
        after = site_files(rebuilder.target)
        assert after["alpha.html"] != before["alpha.html"]
        render_site(resolve_book(load_book(book_copy), STYLES), project, tmp_path / "fresh", live_reload=True)
        fresh = site_files(tmp_path / "fresh")
        assert sorted(after) == sorted(fresh)
        assert [name for name in fresh if after[name] != fresh[name]] == []
    assert after["bibliography.html"] != before["bibliography.html"]  # the last edit's
