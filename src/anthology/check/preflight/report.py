"""What preflight reports: one line per check, and for each failure diagnostics naming the pages and a fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from anthology.diagnostics import Diagnostic


@dataclass(frozen=True)
class Finding:
    """One rule broken on one page (0: the document as a whole)."""

    code: str
    page: int
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Check:
    """The outcome of one check; `detail` says what was found, with page numbers where it matters."""

    name: str
    ok: bool
    detail: str
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass
class PreflightReport:
    path: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [diagnostic for check in self.checks for diagnostic in check.diagnostics]

    def lines(self) -> list[str]:
        rows = [f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in self.checks]
        problems = [diagnostic.format() for diagnostic in self.diagnostics]
        verdict = "passed" if self.ok else f"FAILED ({len(self.failures)} of {len(self.checks)} checks)"
        return [f"preflight {self.path}", *rows, *problems, f"preflight {verdict}"]


def variant_name(variant: str) -> str:
    """book.yaml's 'pdf/x-1a' as the standard spells it: 'PDF/X-1a'."""
    return "PDF/X-" + variant.split("-", 1)[1]


def page_ranges(numbers: Iterable[int], limit: int = 8) -> str:
    """'3, 5, 9' (and how many more) for a report line."""
    listed = sorted(set(numbers))
    shown = ", ".join(map(str, listed[:limit]))
    return shown + (f" and {len(listed) - limit} more" if len(listed) > limit else "")


def where(pages: Iterable[int]) -> str:
    """'page 3', 'pages 3, 5' or 'the document' (page 0) for a diagnostic."""
    numbers = sorted(set(pages) - {0})
    if not numbers:
        return "the document"
    return f"page {numbers[0]}" if len(numbers) == 1 else f"pages {page_ranges(numbers)}"


def checked(name: str, path: Path, findings: list[Finding], passed: str) -> Check:
    """A check from its findings: one diagnostic per distinct problem, with every page it is on."""
    grouped: dict[tuple[str, str, str | None], list[int]] = {}
    for finding in findings:
        grouped.setdefault((finding.code, finding.message, finding.hint), []).append(finding.page)
    diagnostics = tuple(
        Diagnostic(code, f"{where(pages)}: {message}", file=path, hint=hint)
        for (code, message, hint), pages in grouped.items()
    )
    if not diagnostics:
        return Check(name, True, passed)
    detail = "; ".join(f"{message} ({where(pages)})" for (_, message, _), pages in list(grouped.items())[:4])
    more = f" (and {len(grouped) - 4} more problems)" if len(grouped) > 4 else ""
    return Check(name, False, detail + more, diagnostics)
