"""Finishing the EPUB pandoc wrote: what its writer cannot express, edited as XML trees, then a reproducible zip.

- content files: a real <title>, front/back/body matter semantics, page-break markers kept out of headings, notes
  that link back to their reference, a cover page with a text alternative;
- navigation document: the contents (parts, chapters and their sections, front and back matter with theirs),
  landmarks (made from the texts present: cover, title page, contents, body, bibliography, index) and the page list;
- package document: reading order (cover, title page, contents, text), accessibility metadata and the page source;
- the zip: mimetype first and stored, then every file in a fixed order with a fixed time and mode.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from lxml import etree

from anthology.diagnostics import BuildError, Diagnostic
from anthology.render.epub import fonts, ncx
from anthology.render.epub import metadata as book_metadata

if TYPE_CHECKING:
    from pathlib import Path

    from anthology.model import ResolvedBook

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = f"{{{OPS}}}type"
NS = {"h": XHTML, "epub": OPS, "opf": OPF, "dc": DC}
ROOT = "EPUB"
NAV = "nav.xhtml"
OPF_FILE = "content.opf"
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BODY_TYPES = {"title-page": "frontmatter", "front": "frontmatter", "part": "bodymatter", "chapter": "bodymatter"}
CONFORMANCE = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA"
# epub:type values with a DPUB-ARIA role of the same meaning (doc-<type>): an element carrying one gets the role
# too, as assistive technology reads roles, not epub:type (DAISY Ace's epub-type-has-matching-role).
DPUB_ROLES = {
    "abstract", "acknowledgments", "afterword", "appendix", "bibliography", "chapter", "colophon", "conclusion",
    "credits", "dedication", "epigraph", "epilogue", "errata", "foreword", "glossary", "index", "introduction",
    "part", "preface", "prologue", "pullquote", "qna", "subtitle",
}  # fmt: skip
# The structural semantics of the blocks edition.py and the texts mark by class: an epigraph; a publisher's
# standfirst, which summarises the essay (abstract); the editors' headnote, which introduces it; verse (pandoc's
# line block), typed by the Z39.98 vocabulary EPUB reserves, as no DPUB-ARIA role names verse.
Z3998 = "z3998: http://www.daisy.org/z3998/2012/vocab/structure/#"
CLASS_TYPES = {
    "epigraph": "epigraph",
    "standfirst": "abstract",
    "headnote": "introduction",
    "line-block": "z3998:verse",
}
ZIP_EPOCH_FLOOR = 315532800  # 1980-01-01, the earliest time a zip entry can hold


@dataclass(frozen=True)
class EpubDocument:
    """One XHTML file of the e-book as the package step needs to know it: its anchor, title and role."""

    anchor: str
    title: str
    role: str  # title-page, front, part, chapter, back
    sections: tuple[tuple[int, str, str], ...] = ()  # (level, id, title) listed in the table of contents
    number: int = 0  # a chapter's number
    authors: tuple[str, ...] = ()  # a chapter's named authors
    byline: str = ""  # a chapter's author credit as printed

    @property
    def label(self) -> str:
        """How the contents list names the file: a chapter as the print contents does, number, title and author."""
        if self.role != "chapter":
            return self.title
        return f"{self.number}. {self.title} — {self.byline}" if self.byline else f"{self.number}. {self.title}"


def editors_line(resolved: ResolvedBook) -> str:
    names = [editor.name for editor in resolved.book.config.editors]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Edited by {joined}"


@dataclass(frozen=True)
class Finishing:
    """What the finishing step needs from the build: the book, its files, the page markers and their source."""

    resolved: ResolvedBook
    documents: list[EpubDocument]
    page_ids: list[str]
    page_source: str
    fonts_dir: Path | None = None  # where the embedded fonts' licences are; None: the fonts are left whole


def q(tag: str) -> str:
    return f"{{{XHTML}}}{tag}"


def parse(data: bytes) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.ElementTree(etree.fromstring(data, parser))


def serialize(tree: etree._ElementTree, doctype: str | None = "<!DOCTYPE html>") -> bytes:
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", doctype=doctype)


class Package:
    """The EPUB's files in memory, in the order pandoc wrote them, with the XHTML ones parsed."""

    def __init__(self, source: Path):
        with zipfile.ZipFile(source) as archive:
            self.files: dict[str, bytes] = {name: archive.read(name) for name in archive.namelist()}
        self.trees: dict[str, etree._ElementTree] = {
            name: parse(data) for name, data in self.files.items() if name.endswith((".xhtml", ".opf"))
        }

    def path(self, href: str) -> str:
        return f"{ROOT}/{href}"

    def content(self) -> dict[str, etree._ElementTree]:
        """The text files (not nav, not cover), by href relative to the package document."""
        prefix = f"{ROOT}/text/"
        return {
            name[len(ROOT) + 1 :]: tree
            for name, tree in self.trees.items()
            if name.startswith(prefix) and not name.endswith("cover.xhtml")
        }

    def text_bodies(self) -> list[etree._Element]:
        """The text files' bodies in reading order (pandoc's spine)."""
        content = {self.path(href): tree for href, tree in self.content().items()}
        bodies = [content[name].find(q("body")) for name in spine_files(self) if name in content]
        return [body for body in bodies if body is not None]

    def id_files(self) -> dict[str, str]:
        """Which file (href) holds each id."""
        owners: dict[str, str] = {}
        for href, tree in self.content().items():
            for ident in tree.xpath("//@id"):
                owners.setdefault(str(ident), href)
        return owners


def first_heading_text(tree: etree._ElementTree) -> str:
    found = tree.xpath("//h:body//*[self::h:h1 or self::h:h2]", namespaces=NS)
    return " ".join("".join(found[0].itertext()).split()) if found else ""


def set_title(tree: etree._ElementTree, title: str) -> None:
    for element in tree.xpath("/h:html/h:head/h:title", namespaces=NS):
        element.text = title


def heading_opened_by(span: etree._Element) -> etree._Element | None:
    """The heading this element begins (nothing before it inside the heading), if any."""
    element = span
    while True:
        parent = element.getparent()
        if parent is None or element.getprevious() is not None or (parent.text or "").strip():
            return None
        if etree.QName(parent).localname in HEADINGS:
            return parent
        element = parent


def lift_page_breaks(tree: etree._ElementTree) -> None:
    """A page that begins with a heading gets its marker just before the heading, not inside it (the marker's label
    must not become part of the heading's name)."""
    for span in tree.xpath("//h:span[@role='doc-pagebreak']", namespaces=NS):
        heading = heading_opened_by(span)
        if heading is None:
            continue
        parent = span.getparent()
        parent.text = (parent.text or "") + (span.tail or "")
        span.tail = None
        heading.addprevious(span)


def link_notes_back(tree: etree._ElementTree) -> None:
    """Each note starts with its number, a link back to where it is called (the reference's own number)."""
    calls = {
        str(a.get("href"))[1:]: a
        for a in tree.xpath("//h:a[@role='doc-noteref']", namespaces=NS)
        if str(a.get("href", "")).startswith("#")
    }
    for aside in tree.xpath("//h:aside[@role='doc-footnote']", namespaces=NS):
        call = calls.get(str(aside.get("id")))
        if call is None or not call.get("id"):
            continue
        number = "".join(call.itertext()).strip()
        back = etree.Element(q("a"), href=f"#{call.get('id')}", role="doc-backlink")
        back.set("aria-label", f"Back to note {number} in the text")
        back.text = number
        back.tail = ". "
        first = aside[0] if len(aside) and etree.QName(aside[0]).localname == "p" else None
        if first is None:
            first = etree.SubElement(aside, q("p"))
            aside.insert(0, first)
        back.tail += first.text or ""
        first.text = None
        first.insert(0, back)


def class_semantics(tree: etree._ElementTree) -> None:
    for element in tree.xpath("//h:body//h:div[@class][not(@epub:type)]", namespaces=NS):
        kinds = [CLASS_TYPES[name] for name in str(element.get("class")).split() if name in CLASS_TYPES]
        if kinds:
            element.set(EPUB_TYPE, kinds[0])
            if kinds[0].startswith("z3998:"):
                tree.getroot().set(f"{{{OPS}}}prefix", Z3998)


def matching_roles(tree: etree._ElementTree) -> None:
    """The DPUB-ARIA role beside each epub:type that has one (the body, whose type names matter, takes none)."""
    for element in tree.xpath("//h:body//*[@epub:type][not(@role)]", namespaces=NS):
        kinds = [kind for kind in str(element.get(EPUB_TYPE)).split() if kind in DPUB_ROLES]
        if kinds:
            element.set("role", f"doc-{kinds[0]}")


def finish_content(package: Package, finishing: Finishing, owners: dict[str, str]) -> None:
    roles = {owners[doc.anchor]: doc for doc in finishing.documents if doc.anchor in owners}
    for href, tree in package.content().items():
        doc = roles.get(href)
        set_title(tree, doc.title if doc else first_heading_text(tree))
        body = tree.find(q("body"))
        if doc is not None and body is not None and body.get(EPUB_TYPE) != "index":  # an index is typed as one
            body.set(EPUB_TYPE, BODY_TYPES.get(doc.role, "backmatter"))
        if doc is not None and doc.authors:
            book_metadata.chapter_head(tree, list(doc.authors), XHTML)
        lift_page_breaks(tree)
        link_notes_back(tree)
        class_semantics(tree)
        matching_roles(tree)


def finish_cover(package: Package, finishing: Finishing, cover_href: str | None, image_href: str | None) -> None:
    """The cover page as an image with a text alternative (pandoc's SVG wrapper has none)."""
    if cover_href is None or image_href is None:
        return
    tree = package.trees[package.path(cover_href)]
    body = tree.find(q("body"))
    assert body is not None
    for child in list(body):
        body.remove(child)
    body.attrib.clear()
    body.set(EPUB_TYPE, "cover")
    section = etree.SubElement(body, q("section"), {"class": "cover-page"})
    section.set(EPUB_TYPE, "cover")
    config = finishing.resolved.book.config
    image = etree.SubElement(section, q("img"), src=relative(cover_href, image_href), role="doc-cover")
    subtitle = f": {config.subtitle}" if config.subtitle else ""
    image.set("alt", f"Cover: {config.title}{subtitle}. {editors_text(finishing)}.")
    set_title(tree, "Cover")


def editors_text(finishing: Finishing) -> str:
    return editors_line(finishing.resolved)


def relative(from_href: str, to_href: str) -> str:
    """A link from one file of the package to another (both relative to the package document)."""
    start = PurePosixPath(from_href).parent
    target = PurePosixPath(to_href)
    ups = len(start.parts)
    common = 0
    while common < min(ups, len(target.parts) - 1) and start.parts[common] == target.parts[common]:
        common += 1
    return "/".join([".."] * (ups - common) + list(target.parts[common:]))


def nav_item(parent: etree._Element, href: str, label: str) -> etree._Element:
    li = etree.SubElement(parent, q("li"))
    link = etree.SubElement(li, q("a"), href=href)
    link.text = label
    return li


def contents_list(parent: etree._Element, finishing: Finishing, owners: dict[str, str]) -> None:
    """Parts hold their chapters; every text lists its sections, nested by level."""
    top = etree.SubElement(parent, q("ol"))
    part_list: etree._Element | None = None
    for doc in finishing.documents:
        if doc.role == "title-page" or doc.anchor not in owners:
            continue
        holder = part_list if doc.role == "chapter" and part_list is not None else top
        item = nav_item(holder, f"{owners[doc.anchor]}#{doc.anchor}", doc.label)
        sections_list(item, doc, owners)
        if doc.role == "part":
            part_list = etree.SubElement(item, q("ol"))
        elif doc.role in ("front", "back"):
            part_list = None
    for ol in parent.iter(q("ol")):
        if not len(ol):
            ol.getparent().remove(ol)


def sections_list(item: etree._Element, doc: EpubDocument, owners: dict[str, str]) -> None:
    if not doc.sections:
        return
    stack: list[tuple[int, etree._Element]] = [(0, etree.SubElement(item, q("ol")))]
    last: etree._Element | None = None
    base = min(level for level, _, _ in doc.sections)
    for level, ident, title in doc.sections:
        if ident not in owners:
            continue
        depth = level - base
        while depth > stack[-1][0] and last is not None:
            stack.append((stack[-1][0] + 1, etree.SubElement(last, q("ol"))))
        while depth < stack[-1][0]:
            stack.pop()
        last = nav_item(stack[-1][1], f"{owners[ident]}#{ident}", title)


def landmarks(finishing: Finishing, owners: dict[str, str], cover_href: str | None) -> list[tuple[str, str, str]]:
    """(epub:type, href, label) for what exists: cover, title page, contents, body, bibliography and index."""
    marks: list[tuple[str, str, str]] = []
    if cover_href:
        marks.append(("cover", cover_href, "Cover"))
    by_role = {doc.role: doc for doc in reversed(finishing.documents)}
    if "title-page" in by_role:
        marks.append(("titlepage", owners[by_role["title-page"].anchor], "Title page"))
    marks.append(("toc", f"{NAV}#toc", "Contents"))
    body = by_role.get("part") or by_role.get("chapter")
    if body is not None:
        marks.append(("bodymatter", f"{owners[body.anchor]}#{body.anchor}", "Start of the text"))
    for doc in finishing.documents:
        if doc.anchor in ("bibliography", "index") and doc.anchor in owners:
            marks.append((doc.anchor, f"{owners[doc.anchor]}#{doc.anchor}", doc.title))
    return marks


def hidden_nav(body: etree._Element, epub_type: str, role: str | None, heading: str) -> etree._Element:
    nav = etree.SubElement(body, q("nav"), id=epub_type, hidden="hidden")
    nav.set(EPUB_TYPE, epub_type)
    if role:
        nav.set("role", role)
    title = etree.SubElement(nav, q("h2"))
    title.text = heading
    return etree.SubElement(nav, q("ol"))


def finish_nav(package: Package, finishing: Finishing, owners: dict[str, str], cover_href: str | None) -> None:
    tree = package.trees[package.path(NAV)]
    body = tree.find(q("body"))
    assert body is not None
    for child in list(body):
        body.remove(child)
    toc = etree.SubElement(body, q("nav"), id="toc", role="doc-toc")
    toc.set(EPUB_TYPE, "toc")
    heading = etree.SubElement(toc, q("h1"), id="toc-title")
    heading.text = "Contents"
    contents_list(toc, finishing, owners)
    marks = hidden_nav(body, "landmarks", None, "Landmarks")
    for epub_type, href, label in landmarks(finishing, owners, cover_href):
        nav_item(marks, href, label)[0].set(EPUB_TYPE, epub_type)
    if finishing.page_ids:
        pages = hidden_nav(body, "page-list", "doc-pagelist", "Pages of the print edition")
        for ident in finishing.page_ids:
            nav_item(pages, f"{owners[ident]}#{ident}", ident.removeprefix("page-").split("-")[0])
    set_title(tree, "Contents")


def manifest_href(opf: etree._ElementTree, **match: str) -> str | None:
    for item in opf.xpath("//opf:manifest/opf:item", namespaces=NS):
        if all(match_value in str(item.get(key, "")).split() for key, match_value in match.items()):
            return str(item.get("href"))
    return None


def reorder_spine(opf: etree._ElementTree, owners: dict[str, str], finishing: Finishing) -> None:
    """Reading order: cover, title page, contents, then the texts (pandoc puts the contents first)."""
    spine = opf.find(f"{{{OPF}}}spine")
    assert spine is not None
    refs = {str(ref.get("idref")): ref for ref in spine}
    hrefs = {str(item.get("id")): str(item.get("href")) for item in opf.xpath("//opf:item", namespaces=NS)}
    title_href = owners.get(finishing.documents[0].anchor)
    nav_ref = next((ref for idref, ref in refs.items() if hrefs.get(idref) == NAV), None)
    title_ref = next((ref for idref, ref in refs.items() if hrefs.get(idref) == title_href), None)
    if nav_ref is None or title_ref is None:
        return
    spine.remove(nav_ref)
    title_ref.addnext(nav_ref)


def audit(package: Package, finishing: Finishing) -> list[str]:
    """Checks behind the accessibility claim: language on every document, headings that never skip a level in
    reading order, header cells in every table, a text alternative for every image, labelled page markers."""
    problems: list[str] = []
    previous = 0
    for name, tree in package.trees.items():
        if not name.endswith(".xhtml"):
            continue
        root = tree.getroot()
        if not root.get("lang") or not root.get(XML_LANG):
            problems.append(f"{name}: no lang on the document")
        for table in tree.xpath("//h:table[not(.//h:th)]", namespaces=NS):
            problems.append(f"{name}: a table without header cells (line {table.sourceline})")
        for image in tree.xpath("//h:img[not(normalize-space(@alt))]", namespaces=NS):
            problems.append(f"{name}: an image without a text alternative (line {image.sourceline})")
        for span in tree.xpath("//*[@role='doc-pagebreak'][not(@aria-label)]", namespaces=NS):
            problems.append(f"{name}: a page-break marker without a label (line {span.sourceline})")
    for name in spine_files(package):
        for heading in package.trees[name].xpath(
            "//h:body//*[self::h:h1 or self::h:h2 or self::h:h3 or self::h:h4 or self::h:h5 or self::h:h6]",
            namespaces=NS,
        ):
            level = int(etree.QName(heading).localname[1])
            if level > previous + 1:
                problems.append(f"{name}: heading level {level} follows level {previous} (line {heading.sourceline})")
            previous = level
    return problems


def spine_files(package: Package) -> list[str]:
    opf = package.trees[package.path(OPF_FILE)]
    hrefs = {str(item.get("id")): str(item.get("href")) for item in opf.xpath("//opf:item", namespaces=NS)}
    return [package.path(hrefs[str(ref.get("idref"))]) for ref in opf.xpath("//opf:spine/opf:itemref", namespaces=NS)]


def accessibility_metadata(package: Package, finishing: Finishing, conforms: bool) -> list[tuple[str, str]]:
    """schema.org accessibility properties, from what the package holds."""
    images = [image for tree in package.content().values() for image in tree.xpath("//h:img | //h:svg", namespaces=NS)]
    features = ["tableOfContents", "readingOrder", "structuralNavigation", "ARIA", "displayTransformability"]
    if finishing.page_ids:
        features += ["pageNavigation", "printPageNumbers"]
    if any(doc.anchor == "index" for doc in finishing.documents):
        features.append("index")
    if images:
        features.append("alternativeText")
    modes = ["textual"] + (["visual"] if images else [])
    summary = (
        ("Images have text alternatives. " if images else "Text only, but for the cover, which has a description. ")
        + "Reflowable text with a table of contents of parts, chapters and sections, headings in order, "
        "notes linked to and from their references"
        + (", and the print edition's page numbers as a page list and page-break markers" if finishing.page_ids else "")
        + ". No hazards."
    )
    summary += (
        " Checked automatically when the e-book is made: language, heading order, text alternatives, table header"
        " cells and labelled page markers."
    )
    summary += (
        f" Its conformance to {CONFORMANCE} is vouched for by {certifier(finishing)}."
        if conforms
        else " No conformance to an accessibility standard has been certified."
    )
    return (
        [("schema:accessMode", mode) for mode in modes]
        + [("schema:accessModeSufficient", "textual")]
        + [("schema:accessibilityFeature", feature) for feature in sorted(set(features))]
        + [("schema:accessibilityHazard", "none"), ("schema:accessibilitySummary", summary)]
    )


def finish_opf(package: Package, finishing: Finishing, owners: dict[str, str], epoch: int) -> None:
    opf = package.trees[package.path(OPF_FILE)]
    metadata = opf.find(f"{{{OPF}}}metadata")
    assert metadata is not None
    conforms = certifier(finishing) is not None
    for meta in metadata.xpath("opf:meta[starts-with(@property, 'schema:')]", namespaces=NS):
        metadata.remove(meta)
    # pandoc also binds the package namespace to "opf:" here; unbound, new elements take the default namespace.
    etree.cleanup_namespaces(opf.getroot(), keep_ns_prefixes=["dc"])
    cover = opf.find(f".//{{{OPF}}}item[@properties='cover-image']")
    page_source = finishing.page_source if finishing.page_ids else None
    book_metadata.write(opf, finishing.resolved, epoch, None if cover is None else cover.get("id"), page_source)
    entries = accessibility_metadata(package, finishing, conforms)
    if finishing.page_ids:
        entries.append(("pageBreakSource", finishing.page_source))
    if conforms:
        entries += [("dcterms:conformsTo", CONFORMANCE), ("a11y:certifiedBy", str(certifier(finishing)))]
    indent = metadata[-1].tail if len(metadata) else "\n    "
    for prop, value in entries:
        meta = etree.SubElement(metadata, f"{{{OPF}}}meta", property=prop)
        meta.text = value
        meta.tail = indent
    metadata[-1].tail = "\n  "
    reorder_spine(opf, owners, finishing)


def certifier(finishing: Finishing) -> str | None:
    """Who vouches for the conformance claim: book.yaml's `accessibility_certifier`, a person or body that has
    reviewed the e-book. The build's own checks and the tests' DAISY Ace run cover only what a machine can check,
    so without a certifier the package claims no conformance."""
    name = finishing.resolved.book.config.accessibility_certifier
    return name if book_metadata.known(name) else None


def drop_svg_property(opf: etree._ElementTree, cover_href: str) -> None:
    for item in opf.xpath("//opf:manifest/opf:item", namespaces=NS):
        if item.get("href") == cover_href and item.get("properties"):
            rest = [p for p in str(item.get("properties")).split() if p != "svg"]
            if rest:
                item.set("properties", " ".join(rest))
            else:
                del item.attrib["properties"]


def finish(package: Package, target: Path, finishing: Finishing, epoch: int) -> None:
    """Edit pandoc's EPUB (read into `package`) and write the finished one to `target`."""
    opf = package.trees[package.path(OPF_FILE)]
    owners = package.id_files()
    cover_href = next(
        (
            str(i.get("href"))
            for i in opf.xpath("//opf:item", namespaces=NS)
            if str(i.get("href")).endswith("cover.xhtml")
        ),
        None,
    )
    image_href = manifest_href(opf, properties="cover-image")
    finish_content(package, finishing, owners)
    finish_cover(package, finishing, cover_href, image_href)
    if cover_href:
        drop_svg_property(opf, cover_href)
    finish_nav(package, finishing, owners, cover_href)
    problems = audit(package, finishing)
    if problems:
        raise BuildError(
            [
                Diagnostic(
                    "E153",
                    f"EPUB accessibility: {problem}",
                    file=finishing.resolved.book.config_document.path,
                    hint="fix the text the file comes from (headings in order, tables with a header row)",
                )
                for problem in problems
            ]
        )
    finish_opf(package, finishing, owners, epoch)
    if finishing.fonts_dir is not None:
        fonts.subset_fonts(package, opf, finishing.fonts_dir)
    ncx.rewrite(package, finishing.resolved)
    for name, tree in package.trees.items():
        package.files[name] = serialize(tree, None if name.endswith(".opf") else "<!DOCTYPE html>")
    write_zip(package.files, target, epoch)


def write_zip(files: dict[str, bytes], target: Path, epoch: int) -> None:
    """mimetype first and stored (the OCF rule), then the other files in a fixed order, all with one timestamp."""
    stamp = datetime.fromtimestamp(max(epoch, ZIP_EPOCH_FLOOR), tz=UTC).timetuple()[:6]
    order = ["mimetype", *sorted(name for name in files if name.startswith("META-INF/"))]
    order += [name for name in files if name not in order]
    with zipfile.ZipFile(target, "w") as archive:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, files[name], compresslevel=9 if name != "mimetype" else None)
