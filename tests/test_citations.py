"""Tests for src/anthology/citations.py (issue 4): every citation form of the five essays, on small inline fixtures,
plus checks of the real data (the bibliography loads in pandoc's citeproc without a warning; every alias table
points at real keys; the converter recognises every citation of the raw sources except the documented ones).

Run ``python tests/test_citations.py`` for the coverage report (entries, works shared by essays, citations per
essay, what is left unconverted); ``--update-comments`` also rewrites the ``# cited:`` comments of references.yaml.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from anthology.ingest.citations import (  # noqa: E402
    ChunkResult,
    CitationState,
    citation_candidates,
    convert_chunk,
    convert_chunks,
    format_locator,
)
from anthology.ingest.works import WorksTable, load_references, load_works  # noqa: E402
from anthology.pandoc import pandoc_binary  # noqa: E402

REFERENCES = ROOT / "book" / "references.yaml"
SOURCES = ROOT / "book" / "sources"
SLUGS = {
    "000": "collins-isolation-and-degeneration",
    "001": "to-lead-the-people-part-ii",
    "002": "collins-final-part",
    "003": "molyneux-leninism-stalinism",
    "004": "hampton-bureaucracy",
}

# ------------------------------------------------------------------------------------------------- fixtures

REFS: dict[str, dict[str, object]] = {
    key: {"id": key, "type": "book", "author": [{"family": family}], "issued": year}
    for key, family, year in [
        ("serge-fls", "Serge", 1973),
        ("serge-year-one", "Serge", 1992),
        ("serge-memoirs", "Serge", 1980),
        ("platform", "Trotsky", 1927),
        ("state-rev", "Lenin", None),
        ("carr-1", "Carr", 1950),
        ("carr-2", "Carr", 1952),
        ("meyer", "Meyer", 1962),
        ("frame-up", "Trotsky", 1950),
        ("deutscher-2", "Deutscher", 1959),
        ("hill", "Hill", 1971),
        ("rees-52", "Rees", None),
        ("rees-55", "Rees", None),
        ("farber-article", "Farber", None),
        ("smith-2002", "Smith", 2002),
        ("smith-1983", "Smith", 1983),
        ("farber-1990", "Farber", 1990),
        ("rabinowitch-2004", "Rabinowitch", 2004),
        ("rabinowitch-2007", "Rabinowitch", 2007),
        ("pirani-2010", "Pirani", 2010),
        ("rigby-1979", "Rigby", 1979),
        ("lewin-2005", "Lewin", 2005),
    ]
}


def table(tmp_path: Path, text: str) -> WorksTable:
    path = tmp_path / "essay.works.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_works(path, REFS)  # type: ignore[arg-type]


@pytest.fixture
def paren_table(tmp_path: Path) -> WorksTable:
    return table(
        tmp_path,
        """
        styles: [parenthetical]
        aliases:
          From Lenin to Stalin: serge-fls
          The Platform of the Joint Opposition: platform
          Carr, The Bolshevik Revolution: carr-1
        mentions:
          The State and Revolution: state-rev
        """,
    )


@pytest.fixture
def ad_table(tmp_path: Path) -> WorksTable:
    return table(
        tmp_path,
        """
        styles: [author-date]
        keys: [smith-2002, smith-1983, farber-1990, rabinowitch-2004, rabinowitch-2007, pirani-2010, rigby-1979]
        """,
    )


@pytest.fixture
def note_table(tmp_path: Path) -> WorksTable:
    return table(
        tmp_path,
        """
        styles: [notes]
        aliases:
          "The Bolshevik Revolution, Vol. I": carr-1
          "The Bolshevik Revolution, Vol. II": carr-2
          "Alfred G. Meyer, Leninism": meyer
          "Stalin’s Frame-Up System and the Moscow Trials": frame-up
          "Deutscher, Vol. II": deutscher-2
          "Christopher Hill, Lenin and the Russian Revolution": hill
          "Year One of the Russian Revolution": serge-year-one
          "Memoirs of a Revolutionary": serge-memoirs
          "'In Defence of October', International Socialism 52": rees-52
          "'Dedicated followers of fashion'": rees-55
          "'In defence of democratic revolutionary socialism'": farber-article
          "Lenin's Last Struggle": lewin-2005
        authors:
          Levin: [lewin-2005]
        resolve:
          - {note: 9, rule: ibid, key: deutscher-2}
          - {note: 22, rule: as-above, key: rees-52}
        """,
    )


def run(chunks: list[tuple[str, str | None, str]], t: WorksTable) -> list[ChunkResult]:
    return convert_chunks(chunks, t)


def words_outside(text: str, result: ChunkResult) -> list[str]:
    """The words of ``text`` outside the converted spans: they must all survive, in order."""
    kept, pos = [], 0
    for c in sorted(result.conversions, key=lambda c: c.start):
        kept.append(text[pos : c.start])
        pos = c.end
    kept.append(text[pos:])
    return " ".join(kept).split()


def assert_faithful(text: str, result: ChunkResult) -> None:
    for c in result.conversions:
        assert text[c.start : c.end] == c.original
    out_words = result.text.split()
    it: Iterator[str] = iter(out_words)
    for word in words_outside(text, result):
        # each word of the prose appears in the output, in order (a word glued to a citation's bracket counts)
        assert any(word in w for w in it), word


# ------------------------------------------------------------------------------------------------- parenthetical


def test_parenthetical_title_and_page(paren_table: WorksTable) -> None:
    text = "“… deliver their wheat to the state.” (From Lenin to Stalin, page 40)"
    (r,) = run([("body", None, text)], paren_table)
    assert r.text == "“… deliver their wheat to the state.” [@serge-fls, 40]"
    assert r.conversions[0].original == "(From Lenin to Stalin, page 40)"
    assert r.conversions[0].keys == ("serge-fls",) and r.conversions[0].locator == "40"
    assert_faithful(text, r)


def test_parenthetical_quoted_in_keeps_prefix_and_pages(paren_table: WorksTable) -> None:
    (r,) = run([("body", None, "“…” (Quoted in The Platform of the Joint Opposition, pages 6-7)")], paren_table)
    assert r.text == "“…” [Quoted in @platform, 6-7]"


def test_parenthetical_author_alone_is_their_last_work(paren_table: WorksTable) -> None:
    results = run(
        [
            ("body", None, "“A purge.” (Quoted by Carr, The Bolshevik Revolution, page 212)"),
            ("body", None, "“the best workers,” (Quoted by Carr, pages 232-233)."),
        ],
        paren_table,
    )
    assert results[1].text == "“the best workers,” [Quoted by @carr-1, 232-233]."


def test_bare_page_refers_to_the_work_named_in_the_prose(paren_table: WorksTable) -> None:
    results = run(
        [
            ("body", None, "Lenin explained it in his book The State and Revolution:"),
            ("body", None, "“… a transitional state.” (see pages 107-110)"),
            ("body", None, "“… the armed masses” (page 110)"),
        ],
        paren_table,
    )
    assert results[0].text == "Lenin explained it in his book The State and Revolution:"
    assert results[1].text == "“… a transitional state.” [see @state-rev, 107-110]"
    assert results[2].text == "“… the armed masses” [@state-rev, 110]"


def test_parenthetical_negatives_stay_and_unknown_sources_are_reported(paren_table: WorksTable) -> None:
    text = (
        "a total membership of 2.8 million (only 550,000 in the USSR), the USSR (formed on January 30, 1922) and "
        "57.5 percent in 1921. “(Carr) brought (the bureaucracy) guarantees.” (Resolution of ECCI, March 1926)"
    )
    (r,) = run([("body", None, text)], paren_table)
    assert r.text == text
    assert r.unresolved == ["(Resolution of ECCI, March 1926)"]


# ------------------------------------------------------------------------------------------------- author-date


def test_author_date_forms(ad_table: WorksTable) -> None:
    text = "soviets of peasants' deputies (Smith 2002). Wages rose (Smith 1983: 45). Both (Smith 2002; Farber 1990)."
    (r,) = run([("body", None, text)], ad_table)
    assert r.text == (
        "soviets of peasants' deputies [@smith-2002]. Wages rose [@smith-1983, 45]. Both [@smith-2002; @farber-1990]."
    )
    assert [c.rule for c in r.conversions] == ["author-date"] * 3
    assert_faithful(text, r)


def test_bare_year_after_a_named_author(ad_table: WorksTable) -> None:
    results = run(
        [
            (
                "body",
                None,
                'Rabinowitch explains Bolshevik success: "… mass character" (2004). Later (Rabinowitch 2007).',
            ),
            ("body", None, "Pirani (2010) argues that by 1922 the unions had changed."),
            ("body", None, "According to Rigby, the sacking decapitated the resistance."),
            ("body", None, "Within three weeks the back of the rebellion was broken (1979)."),
        ],
        ad_table,
    )
    assert (
        results[0].text
        == 'Rabinowitch explains Bolshevik success: "… mass character" [-@rabinowitch-2004]. Later [@rabinowitch-2007].'
    )
    assert results[1].text == "Pirani [-@pirani-2010] argues that by 1922 the unions had changed."
    assert results[3].text == "Within three weeks the back of the rebellion was broken [-@rigby-1979]."
    assert results[3].conversions[0].rule == "bare-year"


def test_years_in_prose_are_not_citations(ad_table: WorksTable) -> None:
    text = (
        "In *The State and Revolution* (1917), Lenin wrote; in 1905 there were only 8,400 Bolsheviks, 57.5 percent "
        "of them (passed November 1917), after the uprising (March 1921), and the congress (14–16 March 1918)."
    )
    (r,) = run([("body", None, text)], ad_table)
    assert r.text == text
    assert r.unresolved == ["(1917)"]  # looks like a citation, but no author with a work of 1917 is named
    assert [t for _, _, t in citation_candidates(text)] == ["(1917)"]


# ------------------------------------------------------------------------------------------------- notes


def test_full_note_citation_with_hard_wraps(note_table: WorksTable) -> None:
    note = "E.H. Carr, The Bolshevik Revolution, Vol. I, Baltimore,\n\nMaryland: Penguin Books, 1950, p. 65."
    (r,) = run([("note", "3", note)], note_table)
    assert r.text == "[@carr-1, 65]"  # a note's opening citation owns its full stop: the style supplies it
    assert r.conversions[0].original == note


def test_ibid_repeats_the_work_and_the_place(note_table: WorksTable) -> None:
    results = run(
        [
            (
                "note",
                "3",
                "E.H. Carr, The Bolshevik Revolution, Vol. I, Baltimore, Maryland: Penguin Books, 1950, p. 65.",
            ),
            ("note", "4", "Ibid."),
            ("note", "5", "Ibid., p. 73."),
            ("note", "6", "Ibid., pp. 196, 198."),
        ],
        note_table,
    )
    assert [r.text for r in results[1:]] == ["[@carr-1, 65]", "[@carr-1, 73]", "[@carr-1, 196, 198]"]
    assert results[1].conversions[0].rule == "ibid"


def test_op_cit_by_author_and_by_title_and_volume(note_table: WorksTable) -> None:
    results = run(
        [
            (
                "note",
                "3",
                "E.H. Carr, The Bolshevik Revolution, Vol. I, Baltimore, Maryland: Penguin Books, 1950, p. 65.",
            ),
            ("note", "6", "Alfred G. Meyer, Leninism, Frederick A. Praeger, Inc., New\n\nYork: 1962, p. 169."),
            (
                "note",
                "16",
                "E.H. Carr, The Bolshevik Revolution, Vol. II, Baltimore, Maryland: Penguin Books, 1952, pp. 185-6.",
            ),
            ("note", "9", "E.H. Carr, op. cit., p. 90."),
            ("note", "18", "Quoted in Meyer, op. cit., p. 42."),
            ("note", "27", "Carr, The Bolshevik Revolution, Vol. I, op. cit., p. 129."),
        ],
        note_table,
    )
    assert results[1].text == "[@meyer, 169]"
    assert results[3].text == "[@carr-2, 90]"  # op. cit. = the last work of that author cited
    assert results[4].text == "[Quoted in @meyer, 42]"
    assert results[5].text == "[@carr-1, 129]"  # title and volume given: that work
    assert {c.rule for r in results[3:] for c in r.conversions} == {"op-cit"}


def test_as_above_forms(note_table: WorksTable) -> None:
    results = run(
        [
            ("note", "15", "Victor Serge, *Year One of the Russian Revolution*, London, 1992, p.76."),
            ("note", "16", "Victor Serge, as above, p.76."),
            (
                "note",
                "13",
                "See John Rees 'In Defence of October', *International Socialism* 52, and the debate: "
                "Samuel Farber, 'In defence of democratic revolutionary socialism'; "
                "John Rees 'Dedicated followers of fashion'.",
            ),
            ("note", "22", "John Rees, as above, p.33."),
            ("note", "23", "See above, p. 36. This article provides detailed descriptions."),
            ("note", "58", "Samuel Farber, 'In defence of democratic revolutionary socialism', p.87."),
            ("note", "59", "As above p.91."),
        ],
        note_table,
    )
    assert results[1].text == "[@serge-year-one, 76]"
    # citations separated by a semicolon are one group; a stop after an opening citation goes with it
    assert results[2].text == ("[See @rees-52], and the debate: [@farber-article; @rees-55].")
    assert results[3].text == "[@rees-52, 33]"  # per-note decision of the table (the last Rees would be rees-55)
    assert results[4].text == "[See @rees-52, 36] This article provides detailed descriptions."
    assert results[6].text == "[@farber-article, 91]"


def test_commentary_in_a_note_is_kept(note_table: WorksTable) -> None:
    note = (
        "Victor Serge, *Memoirs of a Revolutionary*, Oxford, 1980, pp. 80-81. Were Serge and Mandel correct on "
        "this point? Possibly, but the matter was complex. Lenin, 'Letter to Molotov', 22 March 1922, "
        "Cited in Serge, as above p.184."
    )
    (r,) = run([("note", "35", note)], note_table)
    assert r.text == (
        "[@serge-memoirs, 80-81] Were Serge and Mandel correct on this point? Possibly, but the matter was "
        "complex. Lenin, 'Letter to Molotov', 22 March 1922, [Cited in @serge-memoirs, 184]."
    )
    assert_faithful(note, r)


def test_prefix_names_in_and_spelling_variants(note_table: WorksTable) -> None:
    results = run(
        [
            (
                "note",
                "152",
                "Joseph Hansen, in Leon Trotsky, Stalin’s Frame-Up System and the Moscow Trials, New York: "
                "Pioneer Publishers, 1950,\n\np. xiii.",
            ),
            (
                "note",
                "45",
                "For accounts of this period see Moshe Levin, *Lenin's Last Struggle*, Ann Arbor, 2005, and more.",
            ),
        ],
        note_table,
    )
    assert results[0].text == "[Joseph Hansen, in @frame-up, xiii]"
    assert results[1].text == "For accounts of this period [see @lewin-2005], and more."


def test_several_citations_in_one_note_and_ibid_override(note_table: WorksTable) -> None:
    results = run(
        [
            (
                "note",
                "7",
                "Christopher Hill, Lenin and the Russian Revolution, Middlesex, England: Penguin Books Ltd., "
                "1971, p. 156.",
            ),
            ("note", "8", "Deutscher, Vol. II, op. cit., p. 4; See also: Hill, op. cit., p. 132."),
            ("note", "9", "Ibid., p. 5."),
        ],
        note_table,
    )
    assert results[1].text == "[@deutscher-2, 4; See also: @hill, 132]"  # one group, one closing stop
    assert results[1].conversions[0].keys == ("deutscher-2", "hill")
    assert results[2].text == "[@deutscher-2, 5]"  # the table's decision; the bare rule would give Hill


def test_a_notes_opening_citation_owns_its_closing_stop(note_table: WorksTable) -> None:
    """pandoc renders a note's opening citation with the style's stop: the source's own would double it."""
    chunks: list[tuple[str, str | None, str]] = [
        ("note", "7", "Christopher Hill, Lenin and the Russian Revolution, London, 1971, pp. 195, 202,"),
        ("note", "8", "Year One of the Russian Revolution. <https://example.org/serge>"),
        ("note", "9", "As Hill says in Christopher Hill, Lenin and the Russian Revolution, p. 5. More."),
    ]
    results = run(chunks, note_table)
    assert results[0].text == "[@hill, 195, 202]"  # a stray comma at the note's end
    assert results[1].text == "[@serge-year-one] <https://example.org/serge>"
    assert results[2].text == "As Hill says in [@hill, 5]. More."  # not the opening citation: its stop stays
    for (_, _, text), r in zip(chunks, results, strict=True):
        assert_faithful(text, r)


def test_a_speakers_name_before_a_notes_citation_is_its_prefix(note_table: WorksTable) -> None:
    results = run(
        [
            ("note", "7", "Christopher Hill, Lenin and the Russian Revolution, London, 1971, p. 156."),
            ("note", "97", "Sarah Lovell, Hill, op. cit., p. 174."),
            ("note", "98", "Lenin, 'A speech', Hill, op. cit., p. 175."),
        ],
        note_table,
    )
    assert results[1].text == "[Sarah Lovell, @hill, 174]"
    assert results[2].text.startswith("Lenin, 'A speech', ")  # more than a name before it: the author's text


def test_unresolved_back_reference_is_reported_not_guessed(note_table: WorksTable) -> None:
    r = convert_chunk("Ibid., p. 5.", note_table, CitationState(), kind="note", note="1")
    assert r.text == "Ibid., p. 5."
    assert r.unresolved == ["Ibid."]


def test_note_numbers_are_not_locators(note_table: WorksTable) -> None:
    text = "Production fell to 57.5 percent, 1.9 percent in 1921, as the Peasant War showed."
    (r,) = run([("note", "1", text)], note_table)
    assert r.text == text and not r.conversions


def test_format_locator() -> None:
    assert format_locator("pp.", "196,198") == "196, 198"
    assert format_locator("Ch.", "11 - 12") == "chap. 11-12"
    assert format_locator("page", "xiii") == "xiii"


def test_alias_to_unknown_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no-such-key"):
        table(tmp_path, "aliases:\n  Some Title: no-such-key\n")


# ------------------------------------------------------------------------------------------------- real data


def raw_chunks(slug: str) -> list[tuple[str, str | None, str, int]]:
    """The raw source cut roughly as the ingest will: body lines (without the end matter) or note texts."""
    lines = (SOURCES / f"{slug}.txt").read_text(encoding="utf-8").split("\n")
    if slug == "to-lead-the-people-part-ii":
        notes: list[list] = []
        for i, line in enumerate(lines[503:883], 504):
            m = re.match(r"^(\d+)\s*\.\s+(.*)$", line)
            if m:
                notes.append([m.group(1), m.group(2), i])
            elif line.strip() and notes:
                notes[-1][1] += " " + line.strip()
        return [("note", n, t, i) for n, t, i in notes]
    if slug == "molyneux-leninism-stalinism":
        sup = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
        out = []
        for i, line in enumerate(lines, 1):
            m = re.match(r"^([⁰¹²³⁴⁵⁶⁷⁸⁹]+)\s*(.*)$", line)
            if m:
                out.append(("note", m.group(1).translate(sup), m.group(2), i))
        return out
    end = {"collins-isolation-and-degeneration": 438, "collins-final-part": 341, "hampton-bureaucracy": 283}[slug]
    body: list[tuple[str, str | None, str, int]] = []
    for i, line in enumerate(lines[: end - 1], 1):
        if not line.strip():
            continue
        if body and re.search(r"[a-z]-$", body[-1][2]):  # a word split by a page break ("Rem-" / "ington")
            body[-1] = ("body", None, body[-1][2][:-1] + line, body[-1][3])
        else:
            body.append(("body", None, line, i))
    return body


# Citation-like spans of the raw sources the converter leaves alone, each for a stated reason.
EXPECTED_LEFT = {
    "collins-final-part": {
        "(Resolution of ECCI, March 1926)": "a document with no publication: nothing to cite",
        "(1927)": "the date of the Platform named in the prose (l. 49), not a citation",
    },
    "hampton-bureaucracy": {
        "(1917)": "the date of The State and Revolution named in the prose (l. 183), not a citation",
        "(Rabinowitch 1989)": "l. 227: no Rabinowitch 1989 in the essay's References list",
    },
    "molyneux-leninism-stalinism": {
        "Ch.8": "n. 6 'especially Ch.8.': a chapter pointer after the citation, kept as the author's words",
    },
}


def coverage(
    slug: str, refs: dict[str, dict[str, object]]
) -> tuple[list[tuple[int, str | None, object]], list[tuple[int, str | None, str]]]:
    t = load_works(SOURCES / f"{slug}.works.yaml", refs)
    state = CitationState()
    done, left = [], []
    for kind, note, text, line in raw_chunks(slug):
        candidates = citation_candidates(text, kind)
        r = convert_chunk(text, t, state, kind=kind, note=note)
        done += [(line, note, c) for c in r.conversions]
        spans = [(c.start, c.end) for c in r.conversions]
        left += [(line, note, s) for a, b, s in candidates if not any(x <= a and b <= y for x, y in spans)]
    return done, left


@pytest.fixture(scope="module")
def refs() -> dict[str, dict[str, object]]:
    return load_references(REFERENCES)


@pytest.mark.book
def test_bibliography_keys_are_unique_and_fields_are_csl(refs: dict[str, dict[str, object]]) -> None:
    items = yaml.safe_load(REFERENCES.read_text(encoding="utf-8"))["references"]
    assert len({i["id"] for i in items}) == len(items)
    for item in items:
        assert item["type"] in {
            "book",
            "chapter",
            "article-journal",
            "article-magazine",
            "article-newspaper",
            "article",
            "speech",
        }
        # Something names the work: a title, its container, a volume, or (an unsigned newspaper report) its paper.
        assert any(key in item for key in ("title", "container-title", "volume", "author")), item["id"]


@pytest.mark.book
@pytest.mark.parametrize("slug", SLUGS.values())
def test_raw_citations_are_all_converted(slug: str, refs: dict[str, dict[str, object]]) -> None:
    _, left = coverage(slug, refs)
    assert sorted({s for _, _, s in left}) == sorted(EXPECTED_LEFT.get(slug, {}))


@pytest.mark.book
def test_every_entry_is_cited_or_marked_uncited(refs: dict[str, dict[str, object]]) -> None:
    cited = {k for slug in SLUGS.values() for _, _, c in coverage(slug, refs)[0] for k in c.keys}  # type: ignore[attr-defined]
    uncited = {k for k, item in refs.items() if item.get("x-uncited")}
    assert set(refs) - cited == uncited


@pytest.mark.book
def test_citeproc_renders_every_key_without_warning(tmp_path: Path) -> None:
    keys = list(load_references(REFERENCES))
    doc = tmp_path / "all.md"
    doc.write_text("\n\n".join(f"Cited [@{k}, 1]." for k in keys) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [pandoc_binary(), "--citeproc", "--bibliography", str(REFERENCES), "-t", "plain", str(doc)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stderr == ""
    assert "???" not in proc.stdout
    assert proc.stdout.count("Cited (") == len(keys)


@pytest.mark.book
@pytest.mark.parametrize("slug", SLUGS.values())
def test_converted_sources_parse_as_pandoc_citations(slug: str, refs: dict[str, dict[str, object]]) -> None:
    """Every key the converter writes into the raw text is one pandoc ``Cite`` that citeproc resolves silently."""
    import json

    t = load_works(SOURCES / f"{slug}.works.yaml", refs)
    state = CitationState()
    texts, keys = [], 0
    for kind, note, text, _ in raw_chunks(slug):
        r = convert_chunk(text, t, state, kind=kind, note=note)
        keys += sum(len(c.keys) for c in r.conversions)
        if r.conversions:
            texts.append(" ".join(r.text.split()))
    proc = subprocess.run(
        [pandoc_binary(), "--citeproc", "--bibliography", str(REFERENCES), "-f", "markdown", "-t", "json"],
        input="\n\n".join(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stderr == ""
    cites = 0

    def walk(node: object) -> None:
        nonlocal cites
        if isinstance(node, dict):
            if node.get("t") == "Cite":
                cites += len(node["c"][0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(proc.stdout)["blocks"])
    assert cites == keys > 0


# ------------------------------------------------------------------------------------------------- report


def report() -> None:
    """Print the figures of issue 4's closing note: entries, shared works, citations per essay, leftovers."""
    refs = load_references(REFERENCES)
    by_key: dict[str, set[str]] = {}
    print(f"bibliography entries: {len(refs)}")
    for num, slug in SLUGS.items():
        done, left = coverage(slug, refs)
        keys = {k for _, _, c in done for k in c.keys}  # type: ignore[attr-defined]
        for k in keys:
            by_key.setdefault(k, set()).add(num)
        rules: dict[str, int] = {}
        for _, _, c in done:
            rules[c.rule] = rules.get(c.rule, 0) + 1  # type: ignore[attr-defined]
        print(f"{num} {slug}: {len(done)} citations converted ({len(keys)} works), {len(left)} left; by rule {rules}")
        for line, note, s in left:
            print(
                f"    left: l. {line}{f' n. {note}' if note else ''}: {s!r} ({EXPECTED_LEFT.get(slug, {}).get(s, '?')})"
            )
    shared = {k: v for k, v in by_key.items() if len(v) > 1}
    print(f"works cited by two or more essays: {len(shared)}")
    for k, v in sorted(shared.items()):
        print(f"    {k}: {', '.join(sorted(v))}")
    groups: dict[str, set[str]] = {}
    for k, essays in by_key.items():
        groups.setdefault(str(refs[k].get("x-work") or k), set()).update(essays)
    multi = {g: v for g, v in groups.items() if len(v) > 1 and g not in shared}
    print(f"works cited by two or more essays in different editions or volumes (x-work): {len(multi)}")
    for g, v in sorted(multi.items()):
        print(f"    {g}: {', '.join(sorted(v))}")
    print("uncited entries:", [k for k in refs if k not in by_key])


def update_cited_comments() -> None:
    """Rewrite the ``# cited:`` comment above each entry of references.yaml from the converter's own findings."""
    import textwrap as tw

    refs = load_references(REFERENCES)
    where: dict[str, dict[str, list[int]]] = {}
    for num, slug in SLUGS.items():
        for line, note, c in coverage(slug, refs)[0]:
            for k in c.keys:  # type: ignore[attr-defined]
                where.setdefault(k, {}).setdefault(num, []).append(int(note) if note else line)

    def ranges(nums: list[int]) -> str:
        nums, out, i = sorted(set(nums)), [], 0
        while i < len(nums):
            j = i
            while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
                j += 1
            out.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
            i = j + 1
        return ", ".join(out)

    def comment(key: str) -> list[str]:
        if key not in where:
            return ["# cited nowhere in the text: 004's References list only (x-uncited)"]
        parts = [f"{n} ({'n.' if n in ('001', '003') else 'l.'} {ranges(where[key][n])})" for n in sorted(where[key])]
        return tw.wrap("cited: " + ", ".join(parts), 114, initial_indent="# ", subsequent_indent="#   ")

    out: list[str] = []
    for line in REFERENCES.read_text(encoding="utf-8").split("\n"):
        m = re.match(r"^- id: (\S+)", line)
        if m:
            while out and re.match(r"^# (cited|uncited|  )", out[-1]):
                out.pop()
            out.extend(comment(m.group(1)))
        out.append(line)
    REFERENCES.write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    if "--update-comments" in sys.argv:
        update_cited_comments()
    report()
