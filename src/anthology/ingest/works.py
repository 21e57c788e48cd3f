"""An essay's alias table (``book/sources/<slug>.works.yaml``) joined with the bibliography (``references.yaml``).

The table says which strings of one essay name which bibliography key; ``ingest/citations.py`` converts the essay's
citations with it. What a string means is data, not code.

``load_references(path) -> dict[str, dict]``
    The CSL items of ``references.yaml`` by key.
``load_works(path, references) -> WorksTable``
    One essay's alias table, checked against the bibliography (an alias to an unknown key raises ``ValueError``).
    Its ``left_as_text`` maps citation-like spans that are not citations (or name no work the essay lists) to
    the reason; the ingest reports any other span it leaves as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anthology import yamlfile

__all__ = ["Alias", "WorksTable", "load_references", "load_works"]


@dataclass(frozen=True)
class Alias:
    """A string of one essay that names a bibliography key (matched ignoring spacing, ``*`` and quote style)."""

    text: str
    key: str
    pattern: re.Pattern[str]


@dataclass
class WorksTable:
    """One essay's alias table (``<slug>.works.yaml``) joined with the bibliography's names."""

    slug: str
    styles: frozenset[str]
    aliases: list[Alias]
    mentions: list[Alias]
    author_keys: dict[str, list[str]]  # surname (as written in the essay) -> keys, for op. cit. / as above
    author_year: dict[tuple[str, str], str]  # ("Smith", "2002") -> key
    resolve: dict[tuple[str, str], str]  # (note, rule) -> key: per-note decisions the rules cannot make
    surnames: list[str]  # every surname above, longest first (for regexes)
    key_surnames: dict[str, list[str]]  # key -> the surnames that may be written before its title
    left_as_text: dict[str, str] = field(default_factory=dict)  # citation-like span -> why it is not a citation


_SINGLE = "['\u2019\u2018]"
_DOUBLE = '["\u201c\u201d]'
_PUNCT_QUOTES = {"'": _SINGLE, "\u2019": _SINGLE, "\u2018": _SINGLE, '"': _DOUBLE, "\u201c": _DOUBLE, "\u201d": _DOUBLE}


def _alias_pattern(text: str) -> re.Pattern[str]:
    """Compile an alias so that hard wraps, no-break spaces, ``*emphasis*`` and quote styles do not matter."""
    plain = text.replace("*", "")
    parts: list[str] = [r"\**"]
    for i, ch in enumerate(plain):
        if i and ch.isalnum() != plain[i - 1].isalnum():
            parts.append(r"\**")
        if ch.isspace():
            parts.append(r"\s+")
        elif ch in _PUNCT_QUOTES:
            parts.append(_PUNCT_QUOTES[ch])
        else:
            parts.append(re.escape(ch))
    parts.append(r"\**")
    head = r"(?<![\w*])" if plain[:1].isalnum() else ""
    tail = r"(?![\w])" if plain[-1:].isalnum() else ""
    return re.compile(head + "".join(parts) + tail)


def load_references(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read the CSL-YAML bibliography; the keys are what the alias tables may point to."""
    data = yamlfile.safe_load(Path(path).read_text(encoding="utf-8"))
    items = data["references"] if isinstance(data, dict) else data
    return {item["id"]: item for item in items}


def _families(item: dict[str, Any]) -> list[str]:
    names = []
    for role in ("author", "editor", "container-author"):
        for person in item.get(role) or []:
            if "family" in person:
                names.append(str(person["family"]))
    return names


def _year(item: dict[str, Any]) -> str | None:
    issued = item.get("issued")
    if isinstance(issued, dict):
        parts = issued.get("date-parts") or [[None]]
        return str(parts[0][0]) if parts[0] and parts[0][0] else None
    if issued is None:
        return None
    return str(issued)[:4]


def load_works(path: str | Path, references: dict[str, dict[str, Any]]) -> WorksTable:
    """Read one essay's alias table and join it with the bibliography (unknown keys are an error, not a skip)."""
    path = Path(path)
    data = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
    slug = str(data.get("slug") or path.name.removesuffix(".works.yaml"))

    def check(key: str, where: str) -> str:
        if key not in references:
            raise ValueError(f"{path}: {where}: key {key!r} is not in the bibliography")
        return key

    aliases = [
        Alias(text, check(key, f"aliases[{text!r}]"), _alias_pattern(text))
        for text, key in (data.get("aliases") or {}).items()
    ]
    aliases.sort(key=lambda a: len(a.text), reverse=True)
    mentions = [
        Alias(text, check(key, f"mentions[{text!r}]"), _alias_pattern(text))
        for text, key in (data.get("mentions") or {}).items()
    ]
    keys_used = {a.key for a in aliases} | {a.key for a in mentions}
    for key in data.get("keys") or []:
        keys_used.add(check(key, "keys"))

    author_keys: dict[str, list[str]] = {}
    for key in sorted(keys_used):
        for family in _families(references[key]):
            author_keys.setdefault(family, []).append(key)
    for variant, key_list in (data.get("authors") or {}).items():
        for key in key_list if isinstance(key_list, list) else [key_list]:
            author_keys.setdefault(str(variant), []).append(check(key, f"authors[{variant!r}]"))

    author_year: dict[tuple[str, str], str] = {}
    if "author-date" in (data.get("styles") or []):
        for key in sorted(keys_used):
            item = references[key]
            year = _year(item)
            creators = [p.get("family") for p in (item.get("author") or item.get("editor") or [])]
            if year and creators and creators[0]:
                author_year.setdefault((str(creators[0]), year), key)
    for cite, key in (data.get("author_year") or {}).items():
        name, _, year = str(cite).rpartition(" ")
        author_year[(name, year)] = check(key, f"author_year[{cite!r}]")

    resolve = {
        (str(entry["note"]), str(entry["rule"])): check(entry["key"], f"resolve[note {entry['note']}]")
        for entry in data.get("resolve") or []
    }
    surnames = sorted(author_keys, key=len, reverse=True)
    key_surnames: dict[str, list[str]] = {}
    for surname, key_list in author_keys.items():
        for key in key_list:
            key_surnames.setdefault(key, []).append(surname)
    return WorksTable(
        slug=slug,
        styles=frozenset(data.get("styles") or []),
        aliases=aliases,
        mentions=mentions,
        author_keys=author_keys,
        author_year=author_year,
        resolve=resolve,
        surnames=surnames,
        key_surnames=key_surnames,
        left_as_text={" ".join(str(k).split()): str(v) for k, v in (data.get("left_as_text") or {}).items()},
    )
