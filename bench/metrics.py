"""What counting costs the hot paths: `python bench/metrics.py`.

Every request is timed in the hot-path layer (`connect/http/hotpaths.py`): two clock reads and
one histogram observation (`connect/ops/metrics.observe_request`); a webhook also adds one to a
counter. This prints the cost of each, per call, in-process and in prometheus_client's
multiprocess mode (what a server with several processes runs: each value lives in a
memory-mapped file), so it can be set against a request's own cost (a cached panel load takes
about 330 µs of a core at 3,000 loads/s on two cores). `bench/panels.py --multiprocess-metrics`
measures the whole request with the metrics in multiprocess mode.

Options: `--calls N` (default 200,000).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself: its scripts must not shadow packages.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]


def measure(calls: int) -> dict[str, float]:
    """Nanoseconds per call of each piece, in this process's mode."""
    from connect.ops.metrics import count_webhook, now, observe_request

    def timed(step: object) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            step()  # type: ignore[operator]
        return (time.perf_counter() - started) / calls * 1e9

    def request() -> None:
        started = now()
        observe_request("/confluence/macro/okr-panel", 200, now() - started)

    timed(request)  # warm up: the labelled child is created once
    return {
        "request timing (2 clock reads + 1 observation)": timed(request),
        "webhook count (1 counter increment)": timed(lambda: count_webhook("jira", "recorded")),
        "empty loop (reference)": timed(lambda: None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        for name, ns in measure(args.calls).items():
            print(f"  {name}: {ns / 1000:.2f} µs")
        return
    for mode in ("in-process", "multiprocess (PROMETHEUS_MULTIPROC_DIR)"):
        with tempfile.TemporaryDirectory() as directory:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            if mode.startswith("multi"):
                env["PROMETHEUS_MULTIPROC_DIR"] = directory
            print(f"{mode}, {args.calls:,} calls each:", flush=True)
            subprocess.run(
                [sys.executable, __file__, "--child", "--calls", str(args.calls)],
                env=env,
                check=True,
            )


if __name__ == "__main__":
    main()
