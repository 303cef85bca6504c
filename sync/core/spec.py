"""OKRs as people write them: values shared by the OKR file, practice checks, store and API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KR_KINDS = ("metric", "issues", "jql", "github")
KR_STATES = ("active", "abandoned")
GITHUB_MEASURES = ("merged_prs", "lead_time_hours")

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
    jql: str | None = None
    jql_field: str | None = None
    measure: str | None = None
    state: str = "active"
    abandon_reason: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ObjectiveSpec:
    """One objective of a team, optionally aligned to a parent (company) objective."""

    key: str
    title: str
    parent: str | None = None
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
