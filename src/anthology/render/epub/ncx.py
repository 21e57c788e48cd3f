"""The NCX, for EPUB 2 reading systems (and Kindle's ingestion, which reads it): made again from the finished
navigation document, so that it lists what the EPUB 3 contents list does (chapter numbers and authors included),
carries the page list, states the depth it has, and names the cover image by the id the manifest gives it. pandoc's
own NCX said depth 1 for a three-level map, had no page list, and named a cover id the manifest did not have."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from anthology.render.epub.files import Package

if TYPE_CHECKING:
    from anthology.model import ResolvedBook


NCX = "http://www.daisy.org/z3986/2005/ncx/"
XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
OPF = "http://www.idpf.org/2007/opf"
NS = {"h": XHTML, "epub": OPS, "opf": OPF}


def n(tag: str) -> str:
    return f"{{{NCX}}}{tag}"


def labelled(
    parent: etree._Element, tag: str, label: str, src: str, counter: list[int], **attrs: str
) -> etree._Element:
    counter[0] += 1
    point = etree.SubElement(parent, n(tag), id=f"{tag}-{counter[0]}", playOrder=str(counter[0]), **attrs)
    text = etree.SubElement(etree.SubElement(point, n("navLabel")), n("text"))
    text.text = label
    etree.SubElement(point, n("content"), src=src)
    return point


def nav_points(ol: etree._Element, parent: etree._Element, counter: list[int], depth: int) -> int:
    """The contents list's items as nested navPoints; the depth reached."""
    deepest = depth
    for li in ol.iterfind(f"{{{XHTML}}}li"):
        link = li.find(f"{{{XHTML}}}a")
        if link is None:
            continue
        label = " ".join("".join(link.itertext()).split())
        point = labelled(parent, "navPoint", label, str(link.get("href")), counter)
        inner = li.find(f"{{{XHTML}}}ol")
        if inner is not None:
            deepest = max(deepest, nav_points(inner, point, counter, depth + 1))
    return deepest


def rewrite(package: Package, resolved: ResolvedBook) -> None:
    """toc.ncx made from nav.xhtml (both in the package's root folder, so their links read the same)."""
    name = package.path("toc.ncx")
    if name not in package.files:
        return
    nav = package.trees[package.path("nav.xhtml")]
    opf = package.trees[package.path("content.opf")]
    root = etree.Element(n("ncx"), nsmap={None: NCX}, version="2005-1")
    root.set("{http://www.w3.org/XML/1998/namespace}lang", resolved.book.config.lang)
    head = etree.SubElement(root, n("head"))
    title = etree.SubElement(etree.SubElement(root, n("docTitle")), n("text"))
    identifier = opf.find(
        f".//{{http://purl.org/dc/elements/1.1/}}identifier[@id='{opf.getroot().get('unique-identifier')}']"
    )
    title.text = opf.findtext(".//{http://purl.org/dc/elements/1.1/}title")
    nav_map = etree.SubElement(root, n("navMap"))
    counter = [0]
    toc = nav.find(f".//{{{XHTML}}}nav[@id='toc']/{{{XHTML}}}ol")
    depth = nav_points(toc, nav_map, counter, 1) if toc is not None else 1
    pages = nav.xpath("//h:nav[@epub:type='page-list']//h:a", namespaces=NS)
    numbers = [int(label) for link in pages if (label := "".join(link.itertext()).strip()).isdigit()]
    if pages:
        page_list = etree.SubElement(root, n("pageList"))
        etree.SubElement(etree.SubElement(page_list, n("navLabel")), n("text")).text = "Pages"
        for link in pages:
            label = "".join(link.itertext()).strip()
            kind = "normal" if label.isdigit() else "front"
            target = labelled(page_list, "pageTarget", label, str(link.get("href")), counter, type=kind, value=label)
            if not label.isdigit():
                del target.attrib["value"]
    cover = opf.find(f".//{{{OPF}}}item[@properties='cover-image']")
    heads = [
        ("dtb:uid", identifier.text if identifier is not None else ""),
        ("dtb:depth", str(depth)),
        ("dtb:totalPageCount", str(len(pages))),
        ("dtb:maxPageNumber", str(max(numbers, default=0))),
    ] + ([("cover", str(cover.get("id")))] if cover is not None else [])
    for key, value in heads:
        etree.SubElement(head, n("meta"), name=key, content=value or "")
    etree.indent(root, space="  ")
    package.files[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
