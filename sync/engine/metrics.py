"""The engine's own figures: write-backs by target and outcome, and how long applying takes.

Process-wide Prometheus metrics (`prometheus_client`): in a multi-process server with
`PROMETHEUS_MULTIPROC_DIR` set, each process writes its values to a file there and a scrape
adds them up (`connect/ops/metrics.py`). The backlog (pending and failed events, pending
write-backs) is not kept here but read from the database at scrape time (`sync/engine/backlog.py`),
so every process reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from prometheus_client import Counter, Histogram

from sync.db.model import utcnow

WRITE_TARGETS: Final = {
    "issue_property": "jira_property",
    "check_run": "github_check",
    "asana_goal": "asana",
    "retro_page": "confluence_page",
    "geckoboard": "geckoboard",
}
"""Outbound kinds and the target they are reported as; other kinds report their own name."""

WRITE_OUTCOMES: Final = ("ok", "retry", "parked")
"""ok: written (or found unchanged); retry: a transient failure (or an unexpected one), due
again later; parked: refused for good (`Permanent`) or tried too often, until an operator
retries it (`okrlink outbound retry`)."""

OUTBOUND_WRITES = Counter(
    "okrlink_outbound_writes",
    "Write-backs to the outside tools, by target and outcome.",
    ("target", "outcome"),
)

APPLY_SECONDS = Histogram(
    "okrlink_apply_seconds",
    "From an event recorded to its KR snapshot committed.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

for _target in WRITE_TARGETS.values():
    for _outcome in WRITE_OUTCOMES:
        OUTBOUND_WRITES.labels(_target, _outcome)  # present (at 0) before the first write


def write_target(kind: str) -> str:
    """The `target` label of an outbound kind."""
    return WRITE_TARGETS.get(kind, kind)


def count_write(kind: str, outcome: str) -> None:
    OUTBOUND_WRITES.labels(write_target(kind), outcome).inc()


def observe_applied(received: Iterable[datetime]) -> None:
    """Record, for each applied event, the time from its recording until now (just committed)."""
    now = utcnow()
    for at in received:
        APPLY_SECONDS.observe(max(0.0, (now - at).total_seconds()))
