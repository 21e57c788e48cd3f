"""Typography: curly quotation marks, dashes, ellipses and spaces, as the renderers read `markdown-smart`."""

from __future__ import annotations

import re

_OPEN_CONTEXT = set(" \t([{‘“—–-/\u00a0")
_WORD = re.compile(r"\w")


def restore_lost_dashes(text: str, pattern: str | None) -> str:
    """Where a source lost its dashes and kept only the spaces around them, put a spaced em dash back."""
    if not pattern:
        return text
    return re.sub(pattern, " — ", text)


def normalise_spaces(text: str) -> str:
    """No-break spaces used as sentence spacing or padding become one ordinary space."""
    text = text.replace("\u00a0", " ").replace("\t", " ")
    return re.sub(r" {2,}", " ", text)


def curl_quotes(text: str) -> str:
    """Straight quotation marks and apostrophes become curly ones, judged by their neighbours."""
    out: list[str] = []
    for i, char in enumerate(text):
        prev = out[-1] if out else " "
        nxt = text[i + 1] if i + 1 < len(text) else " "
        if char == '"':
            out.append("“" if prev in _OPEN_CONTEXT or prev in "‘“" else "”")
        elif char == "'":
            if _WORD.match(prev) and _WORD.match(nxt):
                out.append("’")
            elif prev in _OPEN_CONTEXT or prev in "“":
                out.append("‘" if not nxt.isspace() else "’")
            else:
                out.append("’")
        else:
            out.append(char)
    return "".join(out)


def repair_quote_direction(text: str) -> str:
    """Fix curly quotes that face the wrong way (`. . . “65` at the end, `”mistake”` at the start,
    `scruples . . . ‘”147`)."""
    text = re.sub(r"“(?=$|\[\^)", "”", text)
    text = re.sub(r"(?<=\S)“(?=$|[\s.,;:!?)\]])", "”", text)
    text = re.sub(r"\s+”(?=$|\[\^)", "”", text)
    text = re.sub(r"‘(?=”|$|\[\^)", "’", text)
    return re.sub(r"(?:(?<=^)|(?<=[\s(\[]))”(?=\w)", "“", text)


def ellipses(text: str) -> str:
    """Spaced or unspaced three-dot ellipses become `…`; a fourth (sentence) dot stays a full stop."""
    text = re.sub(r"(?<=\w)\.( ?)\. ?\. ?\.(?!\.)", r".\1…", text)
    return re.sub(r"\. ?\. ?\.", "…", text)


def dashes(text: str) -> str:
    """En dashes in number ranges (`1917-21`, `pp. 185-6`); a spaced hyphen used as a dash becomes `–`."""
    text = re.sub(r"(?<=\d)-(?=\d)", "–", text)
    return re.sub(r"(?<=\S) - (?=\S)", " – ", text)


_SLASH_INSERTION = re.compile(r"/([^/\s][^/\n]{0,80}?)/")


def slash_insertions_to_brackets(text: str, keep: list[str]) -> str:
    """Editorial insertions marked with slashes (`/I/n`, `/of 1920/`) get the usual square brackets.

    Strings listed in `keep` (slashes that are not insertions) are left as they are.
    """
    spans = [(m.start(), m.end()) for k in keep for m in re.finditer(re.escape(k), text)]

    def bracket(match: re.Match[str]) -> str:
        if any(a <= match.start() < b for a, b in spans):
            return match.group()
        return f"[{match.group(1)}]"

    return _SLASH_INSERTION.sub(bracket, text)


# What typography leaves as it stands: an autolink, a Markdown link's target, an HTML tag (quotes inside its
# attributes are not the author's quotation marks) and an ISO date (its hyphens are not ranges).
_AUTOLINK = re.compile(
    r"(<https?://[^>\s]+>"
    r"|\]\([^()\s]+(?:\s+\"[^\"]*\")?\)"
    r"|</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>"
    r"|\b\d{4}-\d{2}-\d{2}\b)"
)
# A pandoc citation key (`@trotsky-writings-1934-35`): letters, digits and `_`, with single punctuation
# marks inside. Its hyphens between digits are not ranges, so typography must not touch it.
CITATION_KEY = re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:\w|[:.#$%&+?<>~/-](?=\w))*")
_KEY_SLOT = re.compile("\ue000(\\d+)\ue001")


def apply_typography(text: str, lost_dash: str | None = None) -> str:
    """All typographic normalisation of one run of author's text, in a fixed order.

    URLs (a link's target too), HTML tags, ISO dates and citation keys are left alone; keys are set aside in
    place-holders, so that the text around them (a locator range, a quotation mark) is typeset as if they were
    ordinary words.
    """
    keys: list[str] = []

    def slot(match: re.Match[str]) -> str:
        keys.append(match.group())
        return f"\ue000{len(keys) - 1}\ue001"

    parts = _AUTOLINK.split(CITATION_KEY.sub(slot, text) if "@" in text else text)
    out = "".join(part if i % 2 else _typeset(part, lost_dash) for i, part in enumerate(parts)).strip()
    return _KEY_SLOT.sub(lambda m: keys[int(m.group(1))], out) if keys else out


def _typeset(text: str, lost_dash: str | None) -> str:
    """Typography for text that contains no URL."""
    text = restore_lost_dashes(text, lost_dash)
    text = normalise_spaces(text)
    text = curl_quotes(text)
    text = repair_quote_direction(text)
    text = ellipses(text)
    return dashes(text)
