"""The catalogue of diagnostic codes: every code the pipeline emits is in it, each with one meaning, in the number
range of the stage that finds the problem; a code outside it cannot be constructed."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import anthology
from anthology import diagnostics
from anthology.diagnostics import CATALOGUE, RANGES, BuildError, Code, Diagnostic, Severity, catalogue

SOURCE = Path(anthology.__file__).parent
CODE_LITERAL = re.compile(r"""["']([EW]\d{3})["']""")

# The stages of each part of the package, by its path under src/anthology/ (the longest matching prefix wins).
STAGES_OF = {
    "ingest/": {"ingest"},
    "yamlfile.py": {"input"},
    "config.py": {"config"},
    "scaffold.py": {"config"},  # `invoke new` writes a new book's folder and its book.yaml
    "styles.py": {"config"},  # a book's own styles/ over the project's
    "load.py": {"load"},
    "pandoc.py": {"load", "build"},  # pandoc reads the texts, and the build caches its runs
    "safety.py": {"load"},
    "policy.py": {"load"},
    "resolve/": {"resolve"},
    "render/": {"render"},
    "build.py": {"build"},
    "atomic.py": {"build"},  # the output folder: its staging, and its errors (a full disk)
    "manifest.py": {"build"},  # the caches: a damaged entry discarded
    "check/": {"check"},
}


def code_literals() -> list[tuple[str, Path, int]]:
    """Every string literal of src/anthology that is a diagnostic code, outside the catalogue: (code, module, line)."""
    found = []
    for module in sorted(set(SOURCE.rglob("*.py")) - {Path(diagnostics.__file__)}):
        for number, line in enumerate(module.read_text(encoding="utf-8").split("\n"), 1):
            found += [(match[1], module, number) for match in CODE_LITERAL.finditer(line)]
    return found


def stages_of(module: Path) -> set[str]:
    relative = module.relative_to(SOURCE).as_posix()
    prefixes = [prefix for prefix in STAGES_OF if relative.startswith(prefix)]
    return STAGES_OF[max(prefixes, key=len)] if prefixes else set()


def test_every_code_in_the_source_is_catalogued_and_every_catalogued_code_is_emitted() -> None:
    found = code_literals()
    unknown = [f"{module}:{line}: {code}" for code, module, line in found if code not in CATALOGUE]
    assert unknown == [], "codes missing from anthology.diagnostics.CATALOGUE"
    assert {code for code, _, _ in found} == set(CATALOGUE), "catalogued codes that nothing emits"


def test_each_code_is_emitted_only_by_its_own_stage() -> None:
    """A code found in a module of another stage than its number's is being reused for another problem (as E050,
    a remote resource in a text, once also meant the cover's missing print PDF)."""
    misplaced = [
        f"{module.relative_to(SOURCE)}:{line}: {code} ({CATALOGUE[code].title}) is a {CATALOGUE[code].stage} code"
        for code, module, line in code_literals()
        if CATALOGUE[code].stage not in stages_of(module)
    ]
    assert misplaced == []


def test_each_code_has_its_own_meaning() -> None:
    titles = [code.title for code in CATALOGUE.values()]
    assert sorted(t for t in titles if titles.count(t) > 1) == []


def test_the_ranges_are_ordered_disjoint_and_documented() -> None:
    assert all(a[1] < b[0] for a, b in itertools.pairwise(RANGES))
    documented = re.findall(r"^\s+[EW](\d{3})-[EW](\d{3})\s+(\w+)", diagnostics.__doc__ or "", flags=re.M)
    assert [(int(first), int(last), stage) for first, last, stage in documented] == [r[:3] for r in RANGES]


def test_the_catalogue_refuses_a_code_twice_and_a_code_outside_every_range() -> None:
    with pytest.raises(ValueError, match="catalogued twice"):
        catalogue(Code("E001", "one meaning"), Code("E001", "another"))
    with pytest.raises(ValueError, match="no stage's range"):
        catalogue(Code("E999", "nowhere"))
    with pytest.raises(ValueError, match="three digits"):
        catalogue(Code("X1", "not a code"))


def test_a_diagnostic_must_use_a_catalogued_code_of_its_severity() -> None:
    with pytest.raises(ValueError, match="not in the catalogue"):
        Diagnostic("E999", "a problem nobody catalogued")
    warning = next(code for code in CATALOGUE.values() if code.severity is Severity.WARNING)
    with pytest.raises(ValueError, match="warning code"):
        Diagnostic(warning.code, "given as an error")
    assert Diagnostic(warning.code, "a warning", severity=Severity.WARNING).title == warning.title


def test_the_catalogue_hint_is_the_default_and_a_given_hint_wins() -> None:
    hinted = next(code for code in CATALOGUE.values() if code.hint and code.severity is Severity.ERROR)
    assert Diagnostic(hinted.code, "m").hint == hinted.hint
    assert Diagnostic(hinted.code, "m", hint="this one").hint == "this one"
    assert hinted.hint in Diagnostic(hinted.code, "m", file=Path("f.md"), line=3).format()


def test_the_cover_without_a_print_pdf_is_not_a_remote_resource(tmp_path: Path) -> None:
    from anthology.render.print.cover import interior_pages

    with pytest.raises(BuildError) as raised:
        interior_pages(tmp_path / "none.pdf")
    assert [d.code for d in raised.value.diagnostics] == ["E041"]


def test_a_missing_index_file_is_not_a_malformed_one(tmp_path: Path) -> None:
    from anthology.resolve.indexing import load_spec

    with pytest.raises(BuildError) as raised:
        load_spec(tmp_path)
    assert [(d.code, d.file) for d in raised.value.diagnostics] == [("E083", tmp_path / "index.yaml")]
    (tmp_path / "index.yaml").write_text("entries:\n- see: nothing\n", encoding="utf-8")
    with pytest.raises(BuildError) as raised:
        load_spec(tmp_path)
    assert {d.code for d in raised.value.diagnostics} == {"E080"}
