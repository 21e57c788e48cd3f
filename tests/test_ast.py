"""The AST helpers the editions' passes share: what they return, and that the trees they are given stay as they
were."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from anthology.ast import clone, replace_lists, to_json

WORDS = st.one_of(
    st.builds(lambda text: {"t": "Str", "c": text}, st.text(min_size=1, max_size=5)),
    st.just({"t": "Space"}),
)


def inline_lists(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.one_of(WORDS, children), max_size=5)


# Inlines and blocks as pandoc writes them: Emph and Note hold lists, a Span holds an Attr beside its inlines, a
# Cite holds citations (dicts without 't') whose prefixes are inlines.
TREES = st.recursive(
    WORDS,
    lambda children: st.one_of(
        st.builds(lambda c: {"t": "Emph", "c": c}, inline_lists(children)),
        st.builds(lambda c: {"t": "Note", "c": [{"t": "Para", "c": c}]}, inline_lists(children)),
        st.builds(lambda c: {"t": "Span", "c": [["", ["x"], []], c]}, inline_lists(children)),
        st.builds(
            lambda prefix, c: {"t": "Cite", "c": [[{"citationId": "k", "citationPrefix": prefix}], c]},
            inline_lists(children),
            inline_lists(children),
        ),
    ),
    max_leaves=25,
)
BLOCKS = st.lists(st.builds(lambda c: {"t": "Para", "c": c}, st.lists(TREES, max_size=6)), max_size=4)


def rebuilt(value: Any, fn) -> Any:
    """The plain meaning replace_lists must keep: every list and dict rebuilt, fn on each list of elements after
    its items."""
    if isinstance(value, dict):
        return {key: rebuilt(child, fn) for key, child in value.items()}
    if isinstance(value, list):
        items = [rebuilt(child, fn) for child in value]
        if items and all(isinstance(item, dict) and "t" in item for item in items):
            return fn(items)
        return items
    return value


def numbering_notes() -> tuple[Any, list[int]]:
    """A fn that replaces each Note by a numbered Str, numbering in the order fn meets them; the numbers given."""
    given_numbers: list[int] = []

    def fn(items: list[Any]) -> list[Any]:
        if not any(item["t"] == "Note" for item in items):
            return items
        result = []
        for item in items:
            if item["t"] == "Note":
                given_numbers.append(len(given_numbers) + 1)
                result.append({"t": "Str", "c": f"[{given_numbers[-1]}:{json.dumps(item['c'])}]"})
            else:
                result.append(item)
        return result

    return fn, given_numbers


@settings(max_examples=300, deadline=None)
@given(BLOCKS)
def test_replace_lists_gives_what_rebuilding_everything_gives_and_leaves_its_input_alone(blocks):
    before = copy.deepcopy(blocks)
    expected_fn, expected_numbers = numbering_notes()
    expected = rebuilt(copy.deepcopy(blocks), expected_fn)
    fn, numbers = numbering_notes()
    result = replace_lists(blocks, fn)
    assert result == expected  # same notes replaced, numbered in the same order (nested notes first)
    assert numbers == expected_numbers
    assert blocks == before


def test_replace_lists_shares_what_it_does_not_change():
    untouched = {"t": "Para", "c": [{"t": "Str", "c": "plain"}]}
    noted = {"t": "Para", "c": [{"t": "Str", "c": "a"}, {"t": "Note", "c": [untouched]}]}
    fn, _ = numbering_notes()
    result = replace_lists([untouched, noted], fn)
    assert result[0] is untouched
    assert result[1] is not noted and noted["c"][1]["t"] == "Note"
    assert result[1]["c"][1]["t"] == "Str"


@settings(max_examples=100, deadline=None)
@given(BLOCKS)
def test_clone_is_an_equal_tree_that_shares_no_container(blocks):
    copied = clone(blocks)
    assert copied == blocks
    assert json.loads(to_json(blocks)) == blocks
    if copied:
        copied[0]["c"].append({"t": "Space"})
        assert copied[0]["c"] != blocks[0]["c"]
