"""YAML loading that remembers the line of every key, so schema errors can point at the line to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from anthology.diagnostics import BuildError, Diagnostic

KeyPath = tuple[str | int, ...]


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


def safe_load(text: str) -> Any:
    """`yaml.safe_load` with the fast parser; the same data."""
    try:
        return yaml.load(text, Loader=FAST_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data, from one fast parse; a syntax error from the slow one."""
    try:
        loader = FAST_LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        return node, data
    except yaml.YAMLError:
        return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)


def parse_yaml(text: str, path: Path, line_offset: int = 0) -> YamlDocument:
    """Parse YAML text; a syntax error becomes a diagnostic with the file and line."""
    try:
        node, data = compose_and_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + line_offset if mark is not None else None
        problem = (getattr(exc, "problem", None) or str(exc)) + opened_on(exc, line, line_offset)
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
        return raw.decode("utf-8")
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


def load_yaml(path: Path) -> YamlDocument:
    return parse_yaml(read_text(path), path)
