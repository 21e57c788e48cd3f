"""Diagnostics: every problem names its file, line and a hint, and all problems of a run are reported together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the book's input, located precisely enough for an editor to fix it."""

    code: str
    message: str
    file: Path | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def location(self) -> str:
        if self.file is None:
            return "<book>"
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def format(self) -> str:
        text = f"{self.location()}: {self.severity.value} {self.code}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class BuildError(Exception):
    """Raised when input problems stop the build; carries every diagnostic found, not just the first."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


@dataclass
class Collector:
    """Gathers diagnostics across a stage so that one run reports all of them."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def error(self, code: str, message: str, **where: object) -> None:
        self.items.append(Diagnostic(code, message, severity=Severity.ERROR, **where))  # type: ignore[arg-type]

    def warning(self, code: str, message: str, **where: object) -> None:
        self.items.append(Diagnostic(code, message, severity=Severity.WARNING, **where))  # type: ignore[arg-type]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def raise_if_errors(self, strict: bool = False) -> None:
        """Stop the build when there are errors (or, in strict mode, warnings)."""
        if self.errors or (strict and self.warnings):
            raise BuildError(self.items)
