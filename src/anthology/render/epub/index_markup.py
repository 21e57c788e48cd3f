"""The EPUB's back-of-book index: the print edition's page numbers as its locators, marked up as EPUB Indexes 1.0.

pandoc writes the index the site has (locators named by chapter and section, resolve/indexing.py). Once the page
markers are known, every index marker's print page is known too (the page its first word is on), so the index is
written again here with the locators print gives: each page once, consecutive pages as a range, each linking to the
first occurrence on its page. The markup is the one EPUB Indexes 1.0 defines: the document's body is the `index`,
each letter an `index-group` with its heading and an `index-entry-list` of `index-entry` items, each holding its
`index-term`, its `index-locator` links, a nested list of sub-entries, and its "see" (`index-xref-preferred`) or
"see also" (`index-xref-related`) references; the package names the document with the manifest property `index`.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from lxml import etree

from anthology.model import Entry
from anthology.render.epub.package import EPUB_TYPE, NS, OPF_FILE, Package, q
from anthology.resolve.indexing import INDEX_SLUG, IndexLayout, entry_id, index_layout, page_locators

BLOCKS = {"section", "h2", "ul", "li"}  # written each on a line of its own

if TYPE_CHECKING:
    from anthology.model import ResolvedBook


def rewrite(package: Package, resolved: ResolvedBook, pages_of: dict[str, str]) -> bool:
    """The index document written again with print pages and EPUB Indexes markup; False if the book has none."""
    if resolved.index is None:
        return False
    owners = package.id_files()
    href = owners.get(INDEX_SLUG)
    tree = package.content().get(href) if href else None
    if tree is None:
        return False
    listing = next(iter(tree.xpath("//h:div[@class='index']", namespaces=NS)), None)
    if listing is None:
        return False
    pages = {ident: int(label) for ident, label in pages_of.items() if label.isdigit()}
    links = {ident: relative(owner, str(href)) for ident, owner in owners.items()}
    layout = index_layout(resolved.index)
    groups = [letter_group(listing, letter, entries, layout, pages, links) for letter, entries in layout.letters]
    parent = listing.getparent()
    assert parent is not None
    for group in groups:
        listing.addprevious(group)
    parent.remove(listing)
    body = tree.find(q("body"))
    assert body is not None
    body.set(EPUB_TYPE, "index")  # the whole document is the index (the idx 'index-only' rule)
    for section in tree.xpath("//h:section[@epub:type='index']", namespaces=NS):
        del section.attrib[EPUB_TYPE]  # one index element: the body
        section.set("role", "doc-index")  # for assistive technology, which reads roles (the body takes none)
    declare_index(package, str(href))
    return True


def relative(owner: str, index_href: str) -> str:
    """The file holding an id, as a link from the index's file."""
    folder = posixpath.dirname(index_href)
    return posixpath.relpath(owner, folder) if folder else owner


def element(
    parent: etree._Element, tag: str, kind: str | None = None, text: str | None = None, **attrs: str
) -> etree._Element:
    """A new XHTML element made inside `parent` (so it takes the document's namespace prefixes)."""
    made = etree.SubElement(parent, q(tag), {key.rstrip("_"): value for key, value in attrs.items()})
    if kind:
        made.set(EPUB_TYPE, kind)
    made.text = text
    made.tail = "\n" if tag in BLOCKS else None
    return made


def letter_group(
    place: etree._Element,
    letter: str,
    entries: list[tuple[Entry, list[Entry]]],
    layout: IndexLayout,
    pages: dict[str, int],
    links: dict[str, str],
) -> etree._Element:
    parent = place.getparent()
    assert parent is not None
    group = element(parent, "section", "index-group", class_="index-group")
    element(group, "h2", None, letter, class_="index-letter")
    group.text = "\n"
    listing = element(group, "ul", "index-entry-list", class_="index-entries")
    listing.text = "\n"
    for entry, subs in entries:
        item = entry_item(listing, entry, layout, pages, links, "index-entry")
        if subs:
            nested = element(item, "ul", "index-entry-list", class_="index-entries")
            nested.text = "\n"
            for sub in subs:
                entry_item(nested, sub, layout, pages, links, "index-entry index-sub")
    return group


def entry_item(
    listing: etree._Element,
    entry: Entry,
    layout: IndexLayout,
    pages: dict[str, int],
    links: dict[str, str],
    classes: str,
) -> etree._Element:
    """One entry: its term, its pages, its see-references; the same words as the printed entry."""
    item = element(listing, "li", "index-entry", id=entry_id(entry), class_=classes)
    last = element(item, "span", "index-term", entry.term)
    for label, marker in page_locators(layout.occurrences.get(entry.key, []), pages):
        last.tail = ", "
        last = element(item, "a", "index-locator", label, href=f"{links[marker]}#{marker}", class_="index-locator")
    if entry.see and entry.see in layout.shown:
        last.tail = ", "
        xref(item, "index-xref-preferred", "see", [entry.see])
    also = [name for name in entry.see_also if name in layout.shown]
    if also:
        last.tail = ". "
        xref(item, "index-xref-related", "See also", also)
    return item


def xref(item: etree._Element, kind: str, words: str, terms: list[str]) -> None:
    """'see X' or 'See also X; Y', each term linked to its entry."""
    span = element(item, "span", kind)
    last = element(span, "em", None, words)
    for position, term in enumerate(terms):
        last.tail = "; " if position else " "
        last = element(span, "a", "index-term", term, href=f"#{entry_id(Entry(term, []))}", class_="index-see")


def declare_index(package: Package, href: str) -> None:
    """The manifest item of the index's document gets the property `index` (EPUB Indexes 1.0, 2.3.2)."""
    opf = package.trees[package.path(OPF_FILE)]
    for item in opf.xpath("//opf:item", namespaces=NS):
        if item.get("href") == href:
            properties = (item.get("properties") or "").split()
            item.set("properties", " ".join([*properties, "index"]))
