"""Readers for the built editions, shared by the tests: text of the PDF, the EPUB and the site."""

from __future__ import annotations

import html
import re
import subprocess
import zipfile
from pathlib import Path

from lxml import html as lxml_html


def letters(text: str) -> str:
    """Only letters and digits, lowercased: compares texts across line breaks, hyphenation and typography."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def pdf_pages_text(path: Path) -> list[str]:
    """Each page's text in reading order (poppler's pdftotext: by position, not by the order the PDF draws it in;
    the folios and the page numbers printed at the merge are drawn after the rest of the page)."""
    return pdf_pages_text_fast(path)


def pdf_pages_text_fast(path: Path) -> list[str]:
    """Each page's text read by poppler's pdftotext: a tenth of pypdf's time, for PDFs of hundreds of pages."""
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout.split("\f")[:-1]  # every page ends with a form feed


def pdf_body_text(path: Path, min_size: float = 9.5) -> str:
    """Text set at body size or larger: leaves out footnotes, folios and running heads, which interrupt sentences
    at page breaks. Read by poppler in reading order (the page numbers printed at the merge are drawn after the
    rest of the page), a word's size being the height of its box."""
    done = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True)
    chunks = []
    for page in done.stdout.split("</page>"):
        found = re.findall(r'xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', page)
        sized = [html.unescape(word) for top, bottom, word in found if float(bottom) - float(top) >= min_size - 0.01]
        chunks.append(" ".join(sized))
    return "\n".join(chunks)


def epub_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        names = sorted(name for name in archive.namelist() if name.endswith(".xhtml"))
        return "\n".join(lxml_html.fromstring(archive.read(name)).text_content() for name in names)


def site_text(folder: Path) -> str:
    return "\n".join(lxml_html.parse(str(page)).getroot().text_content() for page in sorted(folder.glob("*.html")))
