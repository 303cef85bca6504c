"""OKRs as people write them: values shared by the OKR file, practice checks, store and API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KR_KINDS = ("metric", "issues", "jql", "github")
KR_STATES = ("active", "abandoned")
GITHUB_MEASURES = (
    "merged_prs",
    "lead_time_hours",
    # DORA's four keys, measured from deployments (see sync/core/dora.py)
    "deployment_frequency",
    "change_lead_time_hours",
    "change_failure_rate",
    "time_to_restore_hours",
)

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, slots=True)
class KeyResultSpec:
    """One key result: an outcome with a number, or a set of linked issues."""

    key: str
    title: str
    kind: str = "metric"
    baseline: float | None = None
    target: float | None = None
    current: float | None = None
    unit: str = ""
    owner: str | None = None
    weight: float = 1.0
    issues: tuple[str, ...] = ()
    asana: tuple[str, ...] = ()  # Asana task or project URLs or gids
    asana_goal: str | None = None  # the Asana goal this KR moves
    asana_field: str | None = None  # an Asana number custom field summed instead of counting
    jql: str | None = None
    jql_field: str | None = None
    measure: str | None = None
    state: str = "active"
    abandon_reason: str | None = None
    line: int | None = None
    # The KPI this KR takes its value from, and a DORA key's scope (see KpiSpec).
    kpi: str | None = None
    repository: str | None = None
    environment: str | None = None
    window_days: float | None = None
    incident_jql: str | None = None
    incident_window_hours: float | None = None


@dataclass(frozen=True, slots=True)
class KpiSpec:
    """A team's health signal: a value to keep inside `healthy_min`..`healthy_max`.

    `drop_alert` breaches it on a change of more than that % of the range within 7 days. A
    `github` KPI's DORA key is scoped by `repository` (default: every repository of the team's
    mapped installations), `environment` (default production) and `window_days`.
    """

    key: str
    title: str
    kind: str = "metric"
    measure: str | None = None
    unit: str = ""
    healthy_min: float | None = None
    healthy_max: float | None = None
    drop_alert: float | None = None
    owner: str | None = None
    current: float | None = None
    jql: str | None = None
    jql_field: str | None = None
    repository: str | None = None
    environment: str | None = None
    window_days: float | None = None
    incident_jql: str | None = None
    incident_window_hours: float | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    """One objective of a team, optionally aligned to a parent (company) objective.

    `description` is its why: what changes for whom if it is reached (seed 001: an objective says
    what and why)."""

    key: str
    title: str
    parent: str | None = None
    description: str | None = None
    key_results: tuple[KeyResultSpec, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class CycleSpec:
    """A named period, both ends inclusive."""

    name: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class TeamOkrs:
    """A team's objectives for one cycle."""

    team: str
    cycle: CycleSpec
    objectives: tuple[ObjectiveSpec, ...]
    line: int | None = None
    kpis: tuple[KpiSpec, ...] = ()


def quarter(name: str) -> CycleSpec:
    """The cycle for a quarter name such as "2026-Q4"."""
    match = _QUARTER.match(name.strip()) if isinstance(name, str) else None
    if match is None:
        raise ValueError(
            f"cycle {name!r} is not a quarter: write it as YEAR-Qn (e.g. 2026-Q4), "
            "or give start: and end: dates"
        )
    year, number = int(match.group(1)), int(match.group(2))
    if year < 1:
        raise ValueError(f"cycle {name!r} has no year 0: use a year from 0001 on")
    return _quarter_cycle(year, number)


def following(cycle: CycleSpec) -> CycleSpec:
    """The cycle after `cycle`: the next quarter, or the next period of the same length."""
    if _QUARTER.match(cycle.name):
        return quarter_of(cycle.end + timedelta(days=1))
    start = cycle.end + timedelta(days=1)
    end = start + (cycle.end - cycle.start)
    return CycleSpec(name=f"{start.isoformat()}..{end.isoformat()}", start=start, end=end)


def quarter_of(day: date) -> CycleSpec:
    """The quarter containing day."""
    return _quarter_cycle(day.year, (day.month - 1) // 3 + 1)


_QUARTER_LAST_DAY = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def _quarter_cycle(year: int, number: int) -> CycleSpec:
    month, day = _QUARTER_LAST_DAY[number]
    return CycleSpec(
        name=f"{year:04d}-Q{number}",
        start=date(year, 3 * number - 2, 1),
        end=date(year, month, day),
    )


# The fields that scope a DORA key, on a KR or a KPI; stored together as `params`.
DORA_SCOPE = ("repository", "environment", "window_days", "incident_jql", "incident_window_hours")


def scope_of(spec: KeyResultSpec | KpiSpec) -> dict[str, str | float] | None:
    """The DORA scope a KR or KPI gives, as stored in `params`; None when it gives none."""
    values = {name: getattr(spec, name) for name in DORA_SCOPE}
    given = {name: value for name, value in values.items() if value is not None}
    return given or None
