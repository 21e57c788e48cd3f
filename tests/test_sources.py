"""The raw sources are the seeds byte for byte: each recipe records the seed's name and SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "book" / "sources"
SEEDS = ROOT.parent / "shared" / "seeds"
RECIPES = sorted(p for p in SOURCES.glob("*.yaml") if not p.name.endswith(".works.yaml"))

pytestmark = pytest.mark.book  # reads the real anthology in book/


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_source_has_a_recipe_and_every_recipe_a_source() -> None:
    texts = {p.stem for p in SOURCES.glob("*.txt")}
    recipes = {p.stem for p in RECIPES}
    assert texts == recipes
    assert len(texts) == 5


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_source_bytes_match_recorded_sha256(recipe: Path) -> None:
    data = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    assert data["source"] == f"{recipe.stem}.txt"
    assert sha256(SOURCES / data["source"]) == data["sha256"]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_source_is_the_seed_it_was_received_as(recipe: Path) -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not present on this machine")
    data = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    seed = SEEDS / data["received_as"]
    assert seed.is_file(), f"{recipe.name}: received_as names a missing seed {seed}"
    assert (SOURCES / data["source"]).read_bytes() == seed.read_bytes()
    assert sha256(seed) == data["sha256"]
