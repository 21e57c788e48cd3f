"""The benchmark's own logic (benchmarks/bench.py): the scaling figures mean something only if the ten-times-larger
book is a valid book, the memory and CPU figures only if they count the build's whole process tree, and the mechanisms
table only if it measures every mechanism and judges it by the issue's thresholds (on fake times: no real build). No
timing here: timing belongs to the benchmark, not to noisy test machines."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest

from anthology.load import load_book

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """benchmarks/bench.py is a script, not part of the package: load it from its file."""
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.mark.book
def test_synthetic_anthology_loads_with_fifty_unique_chapters(bench: ModuleType, tmp_path: Path) -> None:
    book = load_book(bench.make_synthetic_book(ROOT / "book", tmp_path / "book"))
    original = load_book(ROOT / "book")
    slugs = [chapter.slug for chapter in book.chapters]
    assert len(slugs) == 50
    assert len(set(slugs)) == 50
    assert [chapter.number for chapter in book.chapters] == list(range(1, 51))
    # Each copy is its original's text, with its headnote: the same five essays, ten times over.
    assert [chapter.body for chapter in book.chapters] == [chapter.body for chapter in original.chapters] * 10
    assert all(chapter.headnote is not None for chapter in book.chapters)


def test_peak_memory_leaves_out_a_child_that_has_not_exec_d(bench: ModuleType) -> None:
    """A child between fork and exec maps its parent's pages: the memory the target is judged on must not count
    them twice (the column beside it does)."""
    size = 200 * 2**20
    data = bytearray(size)
    data[::4096] = b"\1" * len(range(0, size, 4096))  # every page resident
    child = os.fork()
    if child == 0:  # still the parent's program, holding the parent's pages
        time.sleep(30)
        os._exit(0)
    try:
        time.sleep(0.5)
        total, with_forks = bench.tree_rss(psutil.Process())
        assert total >= size
        assert with_forks - total >= 0.8 * size
        exec_d = subprocess.Popen(["sleep", "30"])  # a child running a program of its own is counted
        try:
            time.sleep(0.5)
            assert bench.tree_rss(psutil.Process())[0] - total > 0
        finally:
            exec_d.kill()
            exec_d.wait()
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_peak_memory_counts_the_workers_a_fork_server_forks(bench: ModuleType) -> None:
    """The build's workers are forked by multiprocessing's fork server and never exec: they keep the server's
    command line, yet they are the build's layout, and their memory counts."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = 150 * 2**20
    hold = f"import time; x = bytearray({size}); x[::4096] = b'1' * len(range(0, {size}, 4096)); time.sleep(20)"
    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(1, mp_context=context)
    workers: list[psutil.Process] = []
    try:
        pool.submit(exec, hold)
        me = psutil.Process()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            servers = [p for p in me.children() if "multiprocessing.forkserver" in " ".join(p.cmdline())]
            workers = [w for s in servers for w in s.children() if w.memory_info().rss >= size]
            if workers:
                break
            time.sleep(0.2)
        assert workers, "the fork server's worker never held the memory"
        total, _ = bench.tree_rss(me)
        assert total >= me.memory_info().rss + workers[0].memory_info().rss
    finally:
        for worker in workers:
            worker.kill()
        pool.shutdown(wait=False, cancel_futures=True)


def test_cpu_time_counts_a_descendant_that_outlives_the_command(tmp_path: Path) -> None:
    """The build's fork server exits after the build's main process: the benchmark adopts and reaps it, so that its
    CPU time (and its workers') is the command's. Measured in a process of its own, as the benchmark is."""
    burn = "import time; end = time.process_time() + 1.0\nwhile time.process_time() < end: pass"
    # The command's child starts a grandchild that burns a CPU-second, and exits at once: the grandchild is orphaned.
    command = [sys.executable, "-c", f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {burn!r}])"]
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('bench', {str(ROOT / 'benchmarks' / 'bench.py')!r})\n"
        "bench = importlib.util.module_from_spec(spec); sys.modules['bench'] = bench; spec.loader.exec_module(bench)\n"
        "bench.adopt_orphans()\n"
        "import os, pathlib\n"
        f"sample = bench.measure({command!r}, pathlib.Path({str(tmp_path / 'log')!r}), dict(os.environ))\n"
        "print(sample.cpu, sample.seconds)\n"
    )
    cpu, seconds = map(float, subprocess.check_output([sys.executable, "-c", script], text=True).split())
    assert cpu >= 0.9
    assert seconds < cpu  # the command itself ended before its grandchild's work did


def fake_measurer(
    bench: ModuleType, cold: dict[str, float], edit: dict[str, float], calls: list[str]
) -> Callable[[Any, Any, Path], tuple[Any, Any]]:
    """A measurement of each configuration without building: the times given, or a failure for one not given."""

    def measurer(_: Any, config: Any, folder: Path) -> tuple[Any, Any]:
        calls.append(config.key)
        cold_s, edit_s = cold.get(config.key), edit.get(config.key)
        return tuple(bench.Sample(s or 0.0, 0, None if s else "no such build") for s in (cold_s, edit_s))

    return measurer


def test_mechanisms_plan_measures_every_configuration_once_a_round_in_turned_orders(bench: ModuleType) -> None:
    """Every name build.MECHANISMS lists (a new one too) is measured switched off alone, beside the reference, the
    plain path and all off; each round measures each configuration once, in an order that differs between rounds."""
    names = {"parallel": "", "segment-cache": "a name added later"}
    configs = bench.configurations(names)
    keys = [config.key for config in configs]
    assert sorted(keys) == sorted([bench.REFERENCE, *names, "plain", "all-off"])
    plan = bench.mechanism_plan(configs, 3)
    rounds = [[config.key for number, config in plan if number == r] for r in range(3)]
    assert all(sorted(order) == sorted(keys) for order in rounds)
    assert len({tuple(order) for order in rounds}) == 3
    settings = {
        config.key: config.env({"ANTHOLOGY_DISABLE": "gc", "ANTHOLOGY_PLAIN": "1", "KEEP": "x"}) for config in configs
    }
    assert settings[bench.REFERENCE] == {"KEEP": "x"}
    assert settings["segment-cache"] == {"KEEP": "x", "ANTHOLOGY_DISABLE": "segment-cache"}
    assert settings["plain"] == {"KEEP": "x", "ANTHOLOGY_PLAIN": "1"}
    assert set(settings["all-off"]["ANTHOLOGY_DISABLE"].split(",")) == set(names)
    assert settings["all-off"]["ANTHOLOGY_PLAIN"] == "1"


def test_mechanism_names_are_read_from_the_checkout(bench: ModuleType) -> None:
    from anthology.build import MECHANISMS

    assert list(bench.mechanism_names(bench.project_env())) == list(MECHANISMS)


def test_mechanisms_verdict_flips_at_the_thresholds(bench: ModuleType, tmp_path: Path) -> None:
    """A mechanism is kept when the build without it is slower by the issue's share of the cold build or of the edit
    build, dropped just below both, and not judged when a build failed; the table and the JSON say so."""
    cold_ref, edit_ref, step = 100.0, 10.0, 0.001
    cold = {bench.REFERENCE: cold_ref, "plain": cold_ref, "all-off": cold_ref}
    edit = {bench.REFERENCE: edit_ref, "plain": edit_ref, "all-off": edit_ref}
    cold |= {"cold-above": cold_ref * (1 + bench.KEEP_COLD + step), "below": cold_ref * (1 + bench.KEEP_COLD - step)}
    cold |= {"edit-above": cold_ref, "failed": cold_ref}
    edit |= {"cold-above": edit_ref, "below": edit_ref * (1 + bench.KEEP_EDIT - step)}
    edit |= {"edit-above": edit_ref * (1 + bench.KEEP_EDIT + step)}
    names = dict.fromkeys(["cold-above", "below", "edit-above", "failed"], "")
    configs = bench.configurations(names)
    calls: list[str] = []
    work = bench.Bench(book=tmp_path / "book", work=tmp_path, env={}, timeout=0)
    bench.run_mechanisms(work, configs, 2, keep=False, measurer=fake_measurer(bench, cold, edit, calls))
    assert sorted(calls) == sorted([config.key for config in configs] * 2)
    out = tmp_path / "mechanisms.json"
    lines = {line.key: line for line in bench.report_mechanisms(work, configs, 2, str(out))}
    assert lines[bench.REFERENCE].verdict == "reference"
    assert lines["cold-above"].verdict == "keep"
    assert lines["edit-above"].verdict == "keep"
    assert lines["below"].verdict == "drop"
    assert lines["failed"].verdict == "not measured"  # no faster cold, and its edit build failed: no figure
    assert lines["failed"].errors
    assert lines["below"].cold_slower == pytest.approx(bench.KEEP_COLD - step)
    assert lines["edit-above"].edit_slower == pytest.approx(bench.KEEP_EDIT + step)
    written = {entry["key"]: entry for entry in json.loads(out.read_text(encoding="utf-8"))["configurations"]}
    assert {key: entry["verdict"] for key, entry in written.items()} == {
        key: line.verdict for key, line in lines.items()
    }
    assert all(len(entry["runs"]["cold"]) == 2 for entry in written.values())
