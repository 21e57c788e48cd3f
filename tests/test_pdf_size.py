"""File size: the merged PDFs hold one copy of what every segment brings (the ICC profile above all, about 270 KB
each), so the printer's file grows with its pages, not with its segments (issue 31)."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pikepdf
import pytest

ICC_SIGNATURE = b"acsp"  # every ICC profile has it at byte 36 of its header


def icc_profiles(path: Path) -> list[tuple[int, int]]:
    """The streams of a PDF, as written, that are ICC profiles."""
    with pikepdf.open(path) as pdf:
        return [
            obj.objgen
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and obj.read_bytes()[36:40] == ICC_SIGNATURE
        ]


def repeated_streams(path: Path) -> list[int]:
    """How many copies there are of each stream written more than once (same dictionary, same bytes)."""
    with pikepdf.open(path) as pdf:
        keys = Counter(
            hashlib.sha256(
                pikepdf.Dictionary({k: v for k, v in obj.items() if k != "/Length"}).unparse() + obj.read_raw_bytes()
            ).hexdigest()
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream)
        )
    return [count for count in keys.values() if count > 1]


def segment_pdfs(built_minibook, variant: str) -> list[Path]:
    return sorted(built_minibook.project.build_dir.glob(f".cache/print/*/segments/*/{variant}.pdf"))


@pytest.mark.parametrize("variant", ["print", "screen"])
def test_the_merged_pdf_has_one_icc_profile_though_each_segment_brings_one(built_minibook, variant):
    segments = segment_pdfs(built_minibook, variant)
    assert len(segments) >= 2, "the minibook is laid out in several segments, each with its own profile"
    assert all(len(icc_profiles(segment)) == 1 for segment in segments)
    pdf = (
        built_minibook.pdf
        if variant == "print"
        else built_minibook.pdf.with_name(f"{built_minibook.pdf.stem}-screen.pdf")
    )
    assert len(icc_profiles(pdf)) == 1
    assert repeated_streams(pdf) == []


def test_the_printers_pdf_of_the_book_is_under_two_megabytes(built):
    size = built.pdf.stat().st_size
    print(f"\n{built.pdf.name}: {size / 1e6:.2f} MB, {len(icc_profiles(built.pdf))} ICC profile")
    assert len(icc_profiles(built.pdf)) == 1
    assert size < 2_000_000
