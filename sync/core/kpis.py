"""A KPI's health, values in, values out: inside its healthy range with no sudden change.

KPIs are the team's thermometer, not its course: while a value stays healthy nothing is asked
of anyone, so the only outcome here is `healthy` or `breached`, and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

HEALTHY = "healthy"
BREACHED = "breached"
OUT_OF_RANGE = "out_of_range"
DROP = "drop"
KPI_KINDS = ("metric", "jql", "github")
# "a change of more than drop_alert % of the range within 7 days"
DROP_DAYS = 7


@dataclass(frozen=True, slots=True)
class Health:
    state: str
    reason: str | None = None


def span(healthy_min: float | None, healthy_max: float | None) -> float | None:
    """The size of the healthy range; a one-sided range measures changes against its bound."""
    if healthy_min is not None and healthy_max is not None:
        return abs(healthy_max - healthy_min) or None
    bound = healthy_max if healthy_max is not None else healthy_min
    return abs(bound) if bound else None


def health(
    value: float | None,
    *,
    healthy_min: float | None,
    healthy_max: float | None,
    drop_alert: float | None = None,
    recent: Iterable[tuple[datetime, float | None]] = (),
    now: datetime,
) -> Health:
    """Healthy, or breached: out of range, or moved by more than `drop_alert` % in 7 days.

    `recent` is the KPI's earlier values; those older than 7 days before `now` are ignored.
    No value yet is healthy: there is nothing to alert on.
    """
    if value is None:
        return Health(HEALTHY)
    if (healthy_min is not None and value < healthy_min) or (
        healthy_max is not None and value > healthy_max
    ):
        return Health(BREACHED, OUT_OF_RANGE)
    size = span(healthy_min, healthy_max)
    if drop_alert and size:
        limit = size * drop_alert / 100.0
        since = now - timedelta(days=DROP_DAYS)
        if any(v is not None and since <= at <= now and abs(value - v) > limit for at, v in recent):
            return Health(BREACHED, DROP)
    return Health(HEALTHY)
