"""The package's layout shows the pipeline: no import cycle, no module over 600 lines, and stages import only
earlier stages.

The import graph is read from the source, not from a running interpreter: every `import` and `from … import` at
any depth of every module (inside functions and `if TYPE_CHECKING:` blocks too, since an import hidden in a function
still ties the two modules together), resolved to modules of `anthology`. `from package import name` counts as
importing the submodule `package.name` when there is one, else the package itself.

Stage order (`TIERS`): a module may import modules of its own tier and of earlier tiers only.

1. the model and the shared tools: `model` (the book's data types), `diagnostics`, `ast`, `config`, `yamlfile`,
   `atomic` (output files), `processes` (children, temporary files), `pandoc`, `manifest`;
2. the stages that read the book folder: `ingest/` (raw sources to texts), `load` (texts to the model),
   `safety` (what a text may refer to, checked as each text is read) and `scaffold` (a new book's folder);
3. `resolve/` (the whole book parsed, ids, citations, cross-references, index, generated texts);
4. `render/` (`common`, `print/`, `epub/`, `site/`; the editions may use each other's helpers);
5. `check/` and `build`, which run the stages;
6. the entry points: `cli` and `serve`.

The modules of the print engine (`render/print/`) are checked by `test_print_engine_layout`, those of the rest of
the package by the three tests before it: each module is checked once, and the print engine's state is reported
apart from the rest's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from anthology.model import GENERATED_TITLES
from anthology.resolve.generated import GENERATORS

PACKAGE = "anthology"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE
MAX_LINES = 600
PRINT_ENGINE = "anthology.render.print"

TIERS: tuple[tuple[str, ...], ...] = (
    (
        "anthology",
        "anthology.model",
        "anthology.diagnostics",
        "anthology.ast",
        "anthology.config",
        "anthology.yamlfile",
        "anthology.limits",
        "anthology.styles",
        "anthology.atomic",
        "anthology.processes",
        "anthology.pandoc",
        "anthology.manifest",
    ),
    ("anthology.ingest", "anthology.load", "anthology.safety", "anthology.policy", "anthology.scaffold"),
    ("anthology.resolve",),
    ("anthology.render",),
    ("anthology.check", "anthology.build"),
    ("anthology.cli", "anthology.serve"),
)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def modules() -> dict[str, Module]:
    """Every module of the package, by dotted name."""
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = Module(name, path)
    return found


def imported_names(module: Module) -> Iterator[tuple[str, list[str]]]:
    """(module named, the names taken from it) for each import statement of the module, at any depth."""
    for node in ast.walk(ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, [alias.name for alias in node.names]


def imports_of(module: Module, known: dict[str, Module]) -> set[str]:
    """The package's modules this module imports."""
    targets: set[str] = set()
    for named, names in imported_names(module):
        if not (named == PACKAGE or named.startswith(PACKAGE + ".")):
            continue
        submodules = [f"{named}.{name}" for name in names if f"{named}.{name}" in known]
        if submodules:
            targets.update(submodules)
        if len(submodules) < len(names) or not names:
            while named not in known:  # `import a.b.c` of a name that is not a module: its package
                named = named.rpartition(".")[0]
            targets.add(named)
    targets.discard(module.name)
    return targets


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(module, known) for name, module in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path back to its start) for each strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_in(group, graph) for group in groups]


def cycle_in(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest path from the group's first module back to itself, through the group (breadth first)."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a strongly connected group always has one


def tier_of(name: str) -> int:
    matches = [
        (len(prefix), number)
        for number, tier in enumerate(TIERS)
        for prefix in tier
        if name == prefix or (prefix != PACKAGE and name.startswith(prefix + "."))
    ]
    if not matches:
        raise AssertionError(f"{name} is in no tier of TIERS: add it where it belongs in the pipeline")
    return max(matches)[1]


def in_print_engine(name: str) -> bool:
    return name == PRINT_ENGINE or name.startswith(PRINT_ENGINE + ".")


def cycle_problems(graph: dict[str, set[str]], print_engine: bool) -> list[str]:
    """Import cycles: those wholly inside the print engine when `print_engine`, else every other one."""
    return [
        "import cycle: " + " -> ".join(cycle)
        for cycle in cycles(graph)
        if all(in_print_engine(name) for name in cycle) == print_engine
    ]


def size_problems(print_engine: bool) -> list[str]:
    problems = []
    for name, module in modules().items():
        lines = len(module.path.read_text(encoding="utf-8").splitlines())
        if in_print_engine(name) == print_engine and lines > MAX_LINES:
            problems.append(f"{module.path.relative_to(SOURCE.parent)}: {lines} lines (at most {MAX_LINES})")
    return problems


def order_problems(graph: dict[str, set[str]], print_engine: bool) -> list[str]:
    """Imports of a later stage, by the importing module."""
    return [
        f"{name} (tier {tier_of(name) + 1}) imports {target} (tier {tier_of(target) + 1}), a later stage"
        for name, targets in sorted(graph.items())
        if in_print_engine(name) == print_engine
        for target in sorted(targets)
        if tier_of(target) > tier_of(name)
    ]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The graph builder finds the imports the checks depend on: at module level, inside functions, under
    TYPE_CHECKING, relative ones, and submodules named by `from package import name`."""
    source = tmp_path / "example.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import json\n"
        "import anthology.config\n"
        "from anthology import pandoc, ast as tree\n"
        "from anthology.load import load_book\n"
        "from . import model\n"
        "if TYPE_CHECKING:\n"
        "    from anthology.resolve.book import resolve_book\n"
        "def later():\n"
        "    import anthology.render.common\n",
        encoding="utf-8",
    )
    found = imports_of(Module("anthology.example", source), modules())
    named = ["config", "pandoc", "ast", "load", "model", "resolve.book", "render.common"]
    assert found == {f"anthology.{name}" for name in named}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    problems = cycle_problems(graph, print_engine=False)
    assert not problems, "\n".join(problems)


def test_no_module_over_600_lines() -> None:
    problems = size_problems(print_engine=False)
    assert not problems, "\n".join(problems)


def test_stages_import_only_earlier_stages(graph: dict[str, set[str]]) -> None:
    problems = order_problems(graph, print_engine=False)
    assert not problems, "\n".join(problems)


def test_print_engine_layout(graph: dict[str, set[str]]) -> None:
    """The same three checks for the modules under render/print/."""
    problems = cycle_problems(graph, True) + size_problems(True) + order_problems(graph, True)
    assert not problems, "\n".join(problems)


def test_every_generated_text_has_a_generator() -> None:
    """The load stage knows the generated texts' names from the model (it imports no later stage); the resolve
    stage has the generators: the two lists name the same texts."""
    assert set(GENERATORS) == set(GENERATED_TITLES)
