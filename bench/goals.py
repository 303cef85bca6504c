"""The performance goals (issue 29, "Fast again"), in one place for every bench and `bench/all.py`.

Each bench prints its figure beside its goal and says "meets" or "misses": a figure that only
says "pass" against a target ten times too loose is how the speed slipped unnoticed before.
"""

from __future__ import annotations

from typing import Final

LATENCY_P95_MS: Final = 100.0
"""Intake -> KR snapshot at 200 events/s, `okrlink web` and one `okrlink worker`: p95 under this."""
LATENCY_P99_MS: Final = 200.0
"""... and p99 under this, on SQLite and on PostgreSQL + Redis alike."""
LATENCY_RATE: Final = 200
"""Events per second the latency goal holds at."""

INTAKE_PER_SECOND: Final = {"sqlite": 4000.0, "postgresql": 3000.0}
"""Signed Jira webhooks acknowledged per second under `okrlink web`'s defaults, per database."""

PANEL_VS_ACE: Final = 4.0
"""Authenticated panel loads/s under `okrlink web`'s defaults over atlassian-connect-express's
(answering a fixed string after its own JWT check), in the same run."""
PANEL_VS_ACE_STRETCH: Final = 5.0
PANEL_P99_MS: Final = 10.0
"""... with a p99 latency at or under this."""

DASHBOARD_SCRAPE_MS: Final = 50.0
"""One scrape of `GET /api/v1/metrics` for a site of 50 teams x 15 KRs (issue 26): the median,
right after a change and with nothing changed alike, on SQLite and on PostgreSQL."""


def verdict(met: bool) -> str:
    """The word each bench prints after a goal."""
    return "meets" if met else "misses"


def latency_goal() -> str:
    return f"p95 < {LATENCY_P95_MS:.0f} ms, p99 < {LATENCY_P99_MS:.0f} ms"


def latency_met(p95_ms: float, p99_ms: float) -> bool:
    return p95_ms < LATENCY_P95_MS and p99_ms < LATENCY_P99_MS


def intake_goal(database: str) -> str:
    return f">= {INTAKE_PER_SECOND[database]:,.0f}/s"


def intake_met(database: str, rate: float) -> bool:
    return rate >= INTAKE_PER_SECOND[database]


def panel_goal() -> str:
    return f">= {PANEL_VS_ACE:.0f}x ACE, p99 <= {PANEL_P99_MS:.0f} ms"


def panel_met(ratio: float, p99_ms: float) -> bool:
    return ratio >= PANEL_VS_ACE and p99_ms <= PANEL_P99_MS


def dashboard_goal() -> str:
    return f"< {DASHBOARD_SCRAPE_MS:.0f} ms"


def dashboard_met(median_ms: float) -> bool:
    return median_ms < DASHBOARD_SCRAPE_MS
