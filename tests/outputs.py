"""Readers for the built editions, shared by the tests: text of the PDF, the EPUB and the site."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

from lxml import html as lxml_html
from pypdf import PdfReader


def letters(text: str) -> str:
    """Only letters and digits, lowercased: compares texts across line breaks, hyphenation and typography."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def pdf_pages_text(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(path).pages]


def pdf_pages_text_fast(path: Path) -> list[str]:
    """Each page's text read by poppler's pdftotext: a tenth of pypdf's time, for PDFs of hundreds of pages."""
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout.split("\f")[:-1]  # every page ends with a form feed


def pdf_body_text(path: Path, min_size: float = 9.5) -> str:
    """Text set at body size or larger: leaves out footnotes, folios and running heads, which interrupt sentences
    at page breaks."""
    chunks: list[str] = []
    for page in PdfReader(path).pages:

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
            scale = abs(tm[3] * cm[3]) if tm and cm else 1.0
            if size * scale >= min_size:
                chunks.append(text)

        page.extract_text(visitor_text=visit)
        chunks.append("\n")
    return "".join(chunks)


def epub_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        names = sorted(name for name in archive.namelist() if name.endswith(".xhtml"))
        return "\n".join(lxml_html.fromstring(archive.read(name)).text_content() for name in names)


def site_text(folder: Path) -> str:
    return "\n".join(lxml_html.parse(str(page)).getroot().text_content() for page in sorted(folder.glob("*.html")))
