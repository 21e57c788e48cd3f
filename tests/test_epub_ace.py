"""The EPUB under DAISY Ace (issue 28), the accessibility checker retailers and auditors run: `@daisy/ace` from
package.json (`npm ci --ignore-scripts`), its puppeteer runner driving Debian's Chromium, offline."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
ACE = ROOT / "node_modules" / ".bin" / "ace-puppeteer"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OPF = {"opf": "http://www.idpf.org/2007/opf"}


def ace(epub: Path, out: Path) -> dict[str, Any]:
    """Ace's report (report.json) on `epub`; the runner's own launch passes --no-sandbox to Chromium."""
    assert ACE.exists(), "run `npm ci --ignore-scripts` (package.json lists @daisy/ace)"
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), "install chromium (README, System packages)"
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": CHROMIUM, "PUPPETEER_SKIP_DOWNLOAD": "1"}
    done = subprocess.run(
        [str(ACE), "--force", "--silent", "--outdir", str(out), str(epub)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    report = out / "report.json"
    assert report.exists(), (done.stdout + done.stderr)[-3000:]
    return json.loads(report.read_text())


def violations(report: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(impact, rule) → how many times Ace found it."""
    found: Counter[tuple[str, str]] = Counter()
    for document in report["assertions"]:
        for assertion in document["assertions"]:
            test = assertion["earl:test"]
            found[(test["earl:impact"], test["dct:title"])] += 1
    return found


def headings_read(report: dict[str, Any]) -> str:
    """The headings Ace read from the content documents (its outline, as HTML), as plain text: it checked the
    text, not an empty shell."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", report["outlines"]["headings"])).split())


def claims(epub: Path) -> dict[str, list[str]]:
    with zipfile.ZipFile(epub) as archive:
        opf = etree.fromstring(archive.read("EPUB/content.opf"))
    found: dict[str, list[str]] = {}
    for meta in opf.iterfind(".//opf:metadata/opf:meta[@property]", OPF):
        found.setdefault(meta.get("property"), []).append(meta.text or "")
    return found


def assert_ace_clean(built: Any, out: Path) -> Counter[tuple[str, str]]:
    report = ace(built.epub, out)
    found = violations(report)
    assert not {key: count for key, count in found.items() if key[0] in ("critical", "serious")}, found
    outline = headings_read(report)
    assert all(" ".join(chapter.title.split()) in outline for chapter in built.book.chapters), outline[:500]
    # What the package says of its accessibility is what Ace found in it.
    metadata = report["a11y-metadata"]
    assert "schema:accessibilitySummary" in metadata["present"] and not metadata["empty"]
    return found


def test_ace_finds_no_violation_in_the_minibook_epub(built_minibook, tmp_path):
    found = assert_ace_clean(built_minibook, tmp_path / "ace")
    assert not found, found
    # The minibook names no accessibility certifier: its package claims no conformance and names no certifier.
    package = claims(built_minibook.epub)
    assert "dcterms:conformsTo" not in package and "a11y:certifiedBy" not in package
    assert "No conformance" in package["schema:accessibilitySummary"][0]


def test_ace_finds_no_critical_or_serious_violation_in_the_anthologys_epub(built, tmp_path):
    assert_ace_clean(built, tmp_path / "ace")
    package = claims(built.epub)
    certifier = built.book.config.accessibility_certifier
    if certifier:
        assert package["a11y:certifiedBy"] == [certifier]
    else:
        assert "dcterms:conformsTo" not in package and "a11y:certifiedBy" not in package
