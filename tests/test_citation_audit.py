"""The citation audit (`invoke check --citations`, check/citations.py): each printed citation beside its source's
words, and flags for what the data cannot justify.

The fixture book's citations are resolved by citeproc for real; the flags are checked on entries broken on purpose
(a work with neither title nor author, a newspaper whose date the note drops, an assumption recorded or not)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

from anthology.check.citations import audit_book, lost_fields, report_markdown
from anthology.ingest.citations import convert_chunks
from anthology.ingest.works import load_works
from anthology.model import Project

ROOT = Path(__file__).resolve().parents[1]


def add_entries(book: Path, *entries: dict[str, object]) -> None:
    path = book / "references.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["references"].extend(entries)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def cite_in_alpha(book: Path, citations: str) -> None:
    path = book / "texts" / "alpha.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\n\nMore citations {citations}.\n", encoding="utf-8")


def audit(book: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    return audit_book(Project(book_dir=book, styles_dir=ROOT / "styles", build_dir=tmp_path / "out"))


def test_every_printed_citation_is_listed_with_its_note(book_copy: Path, tmp_path: Path) -> None:
    result, _warnings = audit(book_copy, tmp_path)
    markdown = (book_copy / "texts" / "alpha.md").read_text(encoding="utf-8")
    written = markdown.count("[@")  # each bracketed citation of the text is one printed citation
    rows = [row for row in result.rows if row.slug == "alpha"]
    assert len(rows) == written
    # A note style: each citation of the running text is a note of its own, numbered with the author's notes.
    numbers = [row.note for row in rows]
    assert numbers == sorted(set(numbers)) and None not in numbers
    assert all(row.printed for row in rows)
    assert result.notes["alpha"] == markdown.count("\n[^") + written


def test_a_work_without_title_or_author_is_flagged(book_copy: Path, tmp_path: Path) -> None:
    add_entries(book_copy, {"id": "review-33", "type": "article-magazine", "container-title": "Review", "issue": 33})
    cite_in_alpha(book_copy, "[See @review-33, 43]")
    result, warnings = audit(book_copy, tmp_path)
    row = next(row for row in result.rows if row.keys == ("review-33",))
    assert [flag.kind for flag in row.unexplained] == ["no-work"]
    assert "Review" not in row.printed  # the flag is true: the note prints only the locator
    assert any(d.code == "W075" and "review-33" in d.message for d in warnings.items)
    assert "**no-work**: 'review-33'" in report_markdown(result)


def test_a_newspaper_date_must_print_in_the_note() -> None:
    times = {"id": "t", "type": "article-newspaper", "title": "Trotsky versus Stalin", "issued": "1927-12-02"}
    assert lost_fields("(December 2, 1927)", "“Trotsky Versus Stalin.”", [times]) == ["2", "1927", "December"]
    assert lost_fields("(December 2, 1927)", "“Trotsky Versus Stalin,” December 2, 1927.", [times]) == []
    book = {"id": "b", "type": "book", "title": "Leninism", "issued": 1962}
    # A book's year is the bibliography's to print; an abbreviated range loses no page.
    assert lost_fields("Leninism, New York: 1962, pp. 232-233", "Meyer, Leninism, 232–33.", [book]) == []
    assert lost_fields("Leninism, vol. 27, p. 9", "Meyer, Leninism, 9.", [book]) == ["27"]


def test_an_assumption_is_explained_only_when_recorded(book_copy: Path, tmp_path: Path) -> None:
    sources = book_copy / "sources"
    sources.mkdir()
    (sources / "x.works.yaml").write_text('aliases:\n  "Year One": serge-year-one  # edition assumed\n')
    result, warnings = audit(book_copy, tmp_path)
    flagged = [row for row in result.rows if "serge-year-one" in row.keys]
    assert flagged and all(flag.kind == "assumed" for row in flagged for flag in row.unexplained)
    assert any(d.code == "W076" for d in warnings.items)
    path = book_copy / "references.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in data["references"]:
        if item["id"] == "serge-year-one":
            item["x-assumed"] = "the essay names the title only; the 1992 Pluto edition is assumed"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result, warnings = audit(book_copy, tmp_path)
    rows = [row for row in result.rows if "serge-year-one" in row.keys]
    assert all(not row.unexplained for row in rows) and all(row.flags for row in rows)
    assert not any(d.code == "W076" for d in warnings.items)


def test_back_references_record_how_their_work_was_found(tmp_path: Path) -> None:
    refs = {
        "serge-a": {"id": "serge-a", "author": [{"family": "Serge"}], "title": "A"},
        "serge-b": {"id": "serge-b", "author": [{"family": "Serge"}], "title": "B"},
        "carr": {"id": "carr", "author": [{"family": "Carr"}], "title": "C"},
    }
    table_text = """\
        styles: [notes]
        aliases: {"Book A": serge-a, "Book B": serge-b, "Book C": carr}
        resolve:
          - {note: 5, rule: as-above, key: serge-a}
    """
    path = tmp_path / "t.works.yaml"
    path.write_text(textwrap.dedent(table_text), encoding="utf-8")
    table = load_works(path, refs)  # type: ignore[arg-type]
    chunks = [
        ("note", 1, "Serge, Book A, p. 1."),
        ("note", 2, "Serge, Book B, p. 2."),
        ("note", 3, "Serge, as above, p. 3."),  # two works of Serge: a guess
        ("note", 4, "Carr, as above, p. 4."),  # Carr's only work
        ("note", 5, "Serge, as above, p. 5."),  # decided by the table
        ("note", 6, "Book A, p. 6; Book C, p. 7."),
        ("note", 7, "Ibid., p. 8."),  # the note before cites two works
    ]
    results = convert_chunks(chunks, table)
    bases = [r.conversions[0].basis for r in results]
    assert bases[2] == ("author-last",)
    assert bases[3] == ("author-only",)
    assert bases[4] == ("decided",)
    assert bases[5] == ("named", "named")
    assert bases[6] == ("previous:several",)


def test_a_source_that_does_not_ingest_is_reported_and_the_rest_audited(book_copy: Path, tmp_path: Path) -> None:
    sources = book_copy / "sources"
    sources.mkdir()
    (sources / "orphan.txt").write_text("A text without its recipe.\n", encoding="utf-8")
    result, collector = audit(book_copy, tmp_path)
    assert [d.code for d in collector.errors] == ["E201"]
    assert str(collector.errors[0].file).endswith("orphan.txt")
    assert any(row.slug == "alpha" for row in result.rows)
