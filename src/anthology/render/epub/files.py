"""What the package's finishing steps (fonts.py, ncx.py) need of the EPUB's files, as a protocol: package.py holds
the files and imports those modules, so they name its shape here rather than import it."""

from __future__ import annotations

from typing import Protocol

from lxml import etree


class Package(Protocol):
    """The EPUB's files as package.py holds them: raw bytes and parsed trees by path, and a manifest href's path."""

    files: dict[str, bytes]
    trees: dict[str, etree._ElementTree]

    def path(self, href: str) -> str: ...
