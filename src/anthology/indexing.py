"""Back-of-book index (stub, being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .diagnostics import Collector

if TYPE_CHECKING:
    from .resolve import ResolvedBook


def mark_book(resolved: ResolvedBook, collector: Collector) -> None:
    """Mark index occurrences."""
