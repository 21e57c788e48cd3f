"""YAML loading that remembers the line of every key, so schema errors can point at the line to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from anthology.diagnostics import BuildError, Diagnostic

KeyPath = tuple[str | int, ...]
# Editors on Windows may start a UTF-8 file with it; it is not part of the text.
BYTE_ORDER_MARK = "\ufeff"


@dataclass
class YamlDocument:
    """Parsed YAML data plus the 1-based line where each key path starts."""

    path: Path
    data: Any
    lines: dict[KeyPath, int]

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of the deepest existing prefix of key_path (a missing key points at its parent)."""
        for end in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:end]))
            if line is not None:
                return line
        return None


def _index_lines(node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*prefix, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*prefix, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*prefix, index)] = item.start_mark.line + 1
            _index_lines(item, (*prefix, index), lines)


def opened_on(exc: yaml.YAMLError, line: int | None, line_offset: int) -> str:
    """Where the construct the parser was in started, when that is another line than where it stopped: an
    unclosed `[` or quote is found only on a later line."""
    context, mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if not context or mark is None or mark.line + 1 + line_offset == line:
        return ""
    return f" ({context} that starts on line {mark.line + 1 + line_offset})"


# libyaml's parser when PyYAML was built with it (the wheels are): about ten times faster than the pure-Python one,
# which took most of a second of every build on the book's YAML. Errors are re-parsed by the pure-Python parser,
# whose messages (context, marks) the diagnostics are written for.
FAST_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What one YAML document may stand for once its aliases are expanded, and how deep it may nest. An alias is a
# reference, so a few hundred bytes of aliases of aliases (the "billion laughs") stand for a billion nodes: every
# walk over the data (line numbers, the schema, a later stage) would expand them. The graph is measured before any
# of that, counting each node as often as it is reached, without expanding it. Both limits are generous: over ten
# times the node count and depth of the largest YAML of a real anthology (its bibliography) when they were set.
MAX_YAML_NODES = 1_000_000
MAX_YAML_DEPTH = 100


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document beyond the limits above: refused before its data is built. A YAMLError, so that every
    reader of YAML that reports malformed YAML reports this too."""


def _too_deep(node: yaml.Node) -> YamlLimitError:
    return YamlLimitError(problem=f"nested more than {MAX_YAML_DEPTH} levels deep", problem_mark=node.start_mark)


def _measure(node: yaml.Node, depth: int, sizes: dict[int, tuple[int, int]], open_nodes: set[int]) -> tuple[int, int]:
    """(values, levels) of the node with its aliases expanded, each distinct node measured once: how many nodes it
    stands for, and how many collections deep it nests. `depth`: the collections around it."""
    key = id(node)
    if key in sizes:
        nodes, height = sizes[key]
        if depth + height > MAX_YAML_DEPTH:
            raise _too_deep(node)
        return nodes, height
    if key in open_nodes:
        raise YamlLimitError(problem="an alias inside the node it names (a loop)", problem_mark=node.start_mark)
    if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        sizes[key] = (1, 0)
        return 1, 0
    if depth + 1 > MAX_YAML_DEPTH:
        raise _too_deep(node)
    children = [child for pair in node.value for child in pair] if isinstance(node, yaml.MappingNode) else node.value
    open_nodes.add(key)
    nodes, height = 1, 1
    for child in children:
        child_nodes, child_height = _measure(child, depth + 1, sizes, open_nodes)
        nodes, height = nodes + child_nodes, max(height, child_height + 1)
        if nodes > MAX_YAML_NODES:
            raise YamlLimitError(
                problem=f"its aliases expand to more than {MAX_YAML_NODES:,} values", problem_mark=node.start_mark
            )
    open_nodes.discard(key)
    sizes[key] = (nodes, height)
    return nodes, height


def check_bounds(node: yaml.Node | None) -> None:
    """Refuse a document whose aliases expand beyond MAX_YAML_NODES or that nests beyond MAX_YAML_DEPTH."""
    if node is not None:
        _measure(node, 0, {}, set())


def duplicate_keys(node: yaml.Node | None) -> list[tuple[str, int, int]]:
    """(key, first line, repeated line) of every key given twice in one mapping: YAML keeps the last one silently."""
    found: list[tuple[str, int, int]] = []
    seen_nodes: set[int] = set()
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    line = key_node.start_mark.line + 1
                    if key_node.value in first:
                        found.append((key_node.value, first[key_node.value], line))
                    first.setdefault(key_node.value, line)
                stack += [key_node, value_node]
        elif isinstance(current, yaml.SequenceNode):
            stack += current.value
    return sorted(found, key=lambda item: item[2])


def _fast_compose(text: str) -> tuple[yaml.Node | None, Any]:
    loader = FAST_LOADER(text)
    try:
        node = loader.get_single_node()
        check_bounds(node)
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def too_deep(text: str) -> YamlLimitError:
    """Where a document nested too deep for the composer (which recurses) passes MAX_YAML_DEPTH: found from the
    parser's events (the pure-Python parser, which has no depth of its own), one at a time."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
            if depth > MAX_YAML_DEPTH:
                return YamlLimitError(
                    problem=f"nested more than {MAX_YAML_DEPTH} levels deep", problem_mark=event.start_mark
                )
    except yaml.YAMLError:
        pass
    return YamlLimitError(problem=f"nested more than {MAX_YAML_DEPTH} levels deep")


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data, from one fast parse; a syntax error from the slow one. The
    document's bounds are checked before its data is built."""
    try:
        return _fast_compose(text)
    except YamlLimitError:
        raise
    except (yaml.YAMLError, RecursionError):
        pass
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise too_deep(text) from None
    check_bounds(node)
    return node, yaml.safe_load(text)


def safe_load(text: str) -> Any:
    """`yaml.safe_load` with the fast parser and the bounds checked; the same data."""
    return compose_and_load(text)[1]


def _problem_and_line(exc: yaml.YAMLError, text: str, line_offset: int) -> tuple[str, int | None]:
    """The parser's own words and the line it stopped on. A character YAML may not hold (a NUL, a form feed) is
    found by the reader, whose error has a position instead of a mark and names no file."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1 + line_offset
        return f"unacceptable character #x{exc.character:04x} ({exc.reason})", line
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 + line_offset if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).replace('"<unicode string>"', "this file")
    return problem + opened_on(exc, line, line_offset), line


def parse_yaml(text: str, path: Path, line_offset: int = 0) -> YamlDocument:
    """Parse YAML text; a syntax error, a document beyond the bounds or a key given twice is a diagnostic with the
    file and line (every key given twice, together)."""
    try:
        node, data = compose_and_load(text)
    except YamlLimitError as exc:
        problem, line = _problem_and_line(exc, text, line_offset)
        raise BuildError(
            [
                Diagnostic(
                    "E005",
                    f"YAML too large or deep: {problem}",
                    file=path,
                    line=line,
                    hint=f"write the values out: at most {MAX_YAML_NODES:,} values once aliases (*name) are "
                    f"expanded, nested at most {MAX_YAML_DEPTH} levels",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        problem, line = _problem_and_line(exc, text, line_offset)
        raise BuildError(
            [
                Diagnostic(
                    "E001",
                    f"malformed YAML: {problem}",
                    file=path,
                    line=line,
                    hint="check the indentation and quoting on this line (a colon in a value needs quotes)",
                )
            ]
        ) from None
    repeated = [
        Diagnostic(
            "E004",
            f"key '{key}' is given twice, on lines {first + line_offset} and {line + line_offset}",
            file=path,
            line=line + line_offset,
            hint="keep one of them: YAML would silently use the last",
        )
        for key, first, line in duplicate_keys(node)
    ]
    if repeated:
        raise BuildError(repeated)
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    if line_offset:
        lines = {key: value + line_offset for key, value in lines.items()}
    return YamlDocument(path=path, data=data, lines=lines)


def read_text(path: Path) -> str:
    """Read a UTF-8 file; a file in another encoding is a diagnostic, not a crash."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BuildError([Diagnostic("E002", "file not found", file=path)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BuildError(
            [
                Diagnostic(
                    "E003",
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    file=path,
                    line=line,
                    hint="save the file as UTF-8 (e.g. iconv -f cp1252 -t utf-8)",
                )
            ]
        ) from None
    return text.removeprefix(BYTE_ORDER_MARK)


def load_yaml(path: Path) -> YamlDocument:
    return parse_yaml(read_text(path), path)
