"""What every edition must (not) contain: no boilerplate of the sources, no unresolved citation, every note call
linked to its note (issues 3 and 4, checked on the built editions)."""

from __future__ import annotations

import json
import zipfile

import pytest
from lxml import etree
from lxml import html as lxml_html

from anthology.render.print.typeset import report_path
from outputs import epub_text, letters, pdf_pages_text, site_text
from test_ingest_texts import BANNED

PAGE_HEADER = "Bureaucracy and the Russian Revolution"
UNRESOLVED = ("???", "[@", "@xref:")
NOTES = {"to-lead-the-people-part-ii": 164, "molyneux-leninism-stalinism": 61}
MISSING = {"to-lead-the-people-part-ii": 2, "molyneux-leninism-stalinism": 2}


@pytest.fixture(scope="module")
def editions(built) -> dict[str, str]:
    return {"pdf": "\n".join(pdf_pages_text(built.pdf)), "epub": epub_text(built.epub), "html": site_text(built.html)}


@pytest.mark.parametrize("edition", ["pdf", "epub", "html"])
def test_no_boilerplate_or_unresolved_citation_in_any_edition(built, editions, edition):
    built_titles = built.book.texts
    text = editions[edition]
    found = [s for s in (*BANNED, *UNRESOLVED) if s in text]
    assert found == []
    # The page header of 004 was no title of any text of the book, so it may not appear at all.
    titles = " ".join(t.title for t in built_titles)
    assert PAGE_HEADER not in titles and PAGE_HEADER not in text


def epub_chapter(built, title: str) -> etree._Element:
    with zipfile.ZipFile(built.epub) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".xhtml"):
                root = etree.fromstring(archive.read(name))
                if root.findtext(".//{http://www.w3.org/1999/xhtml}title") == title:
                    return root
    raise AssertionError(f"no EPUB file titled {title!r}")


EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


@pytest.mark.parametrize("slug", sorted(NOTES))
def test_every_note_call_links_to_its_note_in_the_epub(built, slug):
    chapter = next(c for c in built.book.chapters if c.slug == slug)
    root = epub_chapter(built, chapter.title)
    ids = {el.get("id"): el for el in root.iter() if el.get("id")}
    refs = [a for a in root.iter("{*}a") if a.get(EPUB_TYPE) == "noteref"]
    notes = [el for el in root.iter() if el.get(EPUB_TYPE) == "footnote"]
    assert len(refs) == len(notes) == NOTES[slug]
    targets = [ids.get(a.get("href", "").split("#")[-1]) for a in refs]
    assert all(t is not None and t.get(EPUB_TYPE) == "footnote" for t in targets)
    missing = [n for n in notes if "missing in the source" in "".join(n.itertext())]
    assert len(missing) == MISSING[slug]


@pytest.mark.parametrize("slug", sorted(NOTES))
def test_every_note_call_links_to_its_note_on_the_site(built, slug):
    tree = lxml_html.parse(str(built.html / f"{slug}.html"))
    ids = {el.get("id"): el for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    refs = tree.xpath("//a[@role='doc-noteref']")
    notes = tree.xpath("//*[@role='doc-footnote']")
    assert len(refs) == len(notes) == NOTES[slug]
    assert all(ids.get(a.get("href").split("#")[-1]) in notes for a in refs)
    assert len([n for n in notes if "missing in the source" in n.text_content()]) == MISSING[slug]


@pytest.mark.parametrize("slug", sorted(NOTES))
def test_every_note_is_set_in_the_print_edition(built, slug):
    report = json.loads(report_path(built.pdf).read_text())
    assert report["footnotes_total"][slug] == NOTES[slug]
    text = letters("\n".join(pdf_pages_text(built.pdf)))  # letters only: hyphenation cannot hide a phrase
    assert text.count(letters("The text of this note is missing in the source")) == sum(MISSING.values())
