"""Schema.org metadata (JSON-LD), descriptions and canonical links of the site's pages.

URLs are relative to the page unless book.yaml gives `site_url`, the address the site will be published at; then
they are absolute. Authors are named only as the source names them: a chapter whose author is not stated has no
`author`, and a placeholder editor credit is not published as a person.
"""

from __future__ import annotations

from typing import Any

from anthology.config import BookConfig
from anthology.model import Book, Chapter

CONTEXT = "https://schema.org"
BOOK_FRAGMENT = "#book"


def page_url(config: BookConfig, href: str) -> str:
    """The address of a page: absolute under site_url, else relative (all pages share one folder)."""
    return f"{config.site_url}{href}" if config.site_url else href


def book_ref(config: BookConfig) -> dict[str, Any]:
    """The book as other pages refer to it (isPartOf): by its @id on the home page."""
    return {"@type": "Book", "@id": page_url(config, "index.html") + BOOK_FRAGMENT, "name": config.title}


def people(names: list[str]) -> list[dict[str, str]]:
    return [{"@type": "Person", "name": name} for name in names]


def book_jsonld(book: Book, page_of_text: dict[str, str]) -> dict[str, Any]:
    """The home page's Book: title, edition, language, identifiers, named editors, and its chapters."""
    config = book.config
    data: dict[str, Any] = {
        "@context": CONTEXT,
        **book_ref(config),
        "url": page_url(config, "index.html"),
        "inLanguage": config.lang,
        "bookEdition": config.edition,
        "datePublished": config.date,
        "identifier": config.identifier,
    }
    if config.subtitle:
        data["alternativeHeadline"] = config.subtitle
    if config.isbn:
        data["isbn"] = config.isbn
    if config.publisher != "not stated":
        data["publisher"] = {"@type": "Organization", "name": config.publisher}
    editors = [editor.name for editor in config.editors if not editor.placeholder]
    if editors:
        data["editor"] = people(editors)
    data["hasPart"] = [
        {
            "@type": "Chapter",
            "name": chapter.title,
            "position": chapter.number,
            "url": page_url(config, page_of_text[chapter.slug]),
        }
        for chapter in book.chapters
    ]
    return data


def chapter_jsonld(book: Book, chapter: Chapter, page: str) -> dict[str, Any]:
    """A chapter: an article that is a chapter of the book, with its authors when the source names them."""
    config = book.config
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": ["Chapter", "Article"],
        "name": chapter.title,
        "headline": chapter.title,
        "position": chapter.number,
        "url": page_url(config, page),
        "inLanguage": config.lang,
        "isPartOf": book_ref(config),
    }
    authors = chapter.chapter_meta.authors
    if authors:
        data["author"] = people(authors)
    return data


def matter_jsonld(book: Book, title: str, page: str) -> dict[str, Any]:
    """Editorial matter and part pages: a web page that is part of the book."""
    config = book.config
    return {
        "@context": CONTEXT,
        "@type": "WebPage",
        "name": title,
        "url": page_url(config, page),
        "inLanguage": config.lang,
        "isPartOf": book_ref(config),
    }


DESCRIPTION_LIMIT = 160  # characters: what search engines show of a page's description


def description(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """A page's meta description from its opening text: whole words, cut with an ellipsis when longer than `limit`."""
    words = " ".join(text.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(",;:") + "…"


def canonical(config: BookConfig, href: str) -> str | None:
    """The canonical address of a page, only when the book gives site_url: a relative one names no address at all."""
    return page_url(config, href) if config.site_url else None
