"""`bench/all.py --readme`: the README's Benchmarks table is the one the benches print."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def bench_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_all", ROOT / "bench" / "all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


OUTPUT = """\
[sqlite] intake: 3,120 events/s acknowledged; goal >= 4,000/s: misses
noise that is not a goal line
[sqlite] one scrape after a change: median 19.6 ms, goal < 50 ms: meets
"""


def test_each_goal_line_of_a_bench_becomes_a_row() -> None:
    rows = bench_all().rows_of(OUTPUT)
    assert [(row.figure, row.goal, row.verdict) for row in rows] == [
        ("[sqlite] intake: 3,120 events/s acknowledged", ">= 4,000/s", "misses"),
        ("[sqlite] one scrape after a change: median 19.6 ms", "< 50 ms", "meets"),
    ]


def test_the_readme_table_is_rewritten_between_its_markers_only() -> None:
    module = bench_all()
    readme = (ROOT / "README.md").read_text()
    assert readme.count(module.TABLE_START) == 1 and readme.count(module.TABLE_END) == 1
    table = module.markdown(
        module.rows_of(OUTPUT), when="2026-12-07 07:00 UTC, 2 CPUs", loads="load 1.0", seconds=5
    )
    rewritten = module.with_table(readme, table)
    before, after = readme.split(module.TABLE_START)[0], readme.split(module.TABLE_END)[1]
    assert rewritten.startswith(before) and rewritten.endswith(after)
    assert "| [sqlite] intake: 3,120 events/s acknowledged | >= 4,000/s | misses |" in rewritten
    assert "Measured 2026-12-07 07:00 UTC, 2 CPUs" in rewritten
    assert module.with_table(rewritten, table) == rewritten  # rewriting again changes nothing
