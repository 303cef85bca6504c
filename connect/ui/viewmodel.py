"""Frozen values the pages are rendered from; the integrator fills them from the store."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from connect.ui.charts import KpiPoint
from connect.ui.i18n import PracticeNote

STATUSES: tuple[str, ...] = ("on_track", "at_risk", "off_track")
"""Every KR status, best first."""

ABANDONED = "abandoned"
"""The `KrView.state` of a KR dropped mid-cycle: struck through, out of the counts, no check-in."""

METRIC_KINDS: frozenset[str] = frozenset({"metric", "jql", "github"})
"""KR kinds whose check-in carries a value (issues KRs derive theirs from linked work)."""


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")


@dataclass(frozen=True, slots=True)
class CheckInView:
    """One check-in by a KR's owner: the numbers and the notes."""

    at: datetime
    author: str | None
    status: str | None
    score: float | None
    value: float | None
    what: str
    why: str
    next: str
    confidence: float | None = None
    decisions: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    learnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KrView:
    """A key result as shown: numbers, progress, score, status, owner, last check-in, history."""

    key: str
    title: str
    kind: str
    unit: str
    baseline: float | None
    current: float | None
    target: float | None
    progress: float
    score: float
    status: str  # on_track | at_risk | off_track
    owner: str | None
    state: str
    abandon_reason: str | None
    last_checkin: CheckInView | None
    history: tuple[tuple[datetime, float], ...]  # (time, progress) over the cycle
    done: float | None = None
    total: float | None = None
    scope_growth: float | None = None
    warnings: tuple[PracticeNote, ...] = ()
    source_state: str = "manual"  # manual | connected | missing | unreachable (sync.sources)
    source_kind: str = ""  # jira | github: what to connect when missing
    weight: float = 1.0
    jql: str | None = None
    confidence: tuple[tuple[datetime, float], ...] = ()  # (check-in time, 0..1) over the cycle
    # How each kind is measured, as the OKR file names it (the edit form shows them).
    jql_field: str | None = None
    measure: str | None = None
    kpi: str | None = None
    scope: Mapping[str, object] = field(default_factory=dict)  # a DORA key's repository...
    asana_goal: str | None = None  # the Asana goal it moves
    asana_field: str | None = None  # the Asana number field summed over its tasks

    def __post_init__(self) -> None:
        _check_status(self.status)

    @property
    def source_problem(self) -> bool:
        """True when the KR cannot move by itself until its source is connected or answers."""
        return self.source_state in ("missing", "unreachable") and not self.abandoned

    @property
    def abandoned(self) -> bool:
        """True when the KR was dropped mid-cycle."""
        return self.state == ABANDONED


@dataclass(frozen=True, slots=True)
class ObjectiveView:
    """An objective, its alignment to a parent objective and its key results."""

    key: str
    title: str
    parent_key: str | None
    parent_title: str | None
    progress: float
    krs: tuple[KrView, ...]
    warnings: tuple[PracticeNote, ...] = ()
    state: str = "active"
    abandon_reason: str | None = None
    description: str | None = None  # its why

    @property
    def abandoned(self) -> bool:
        """True when the objective was dropped with all its KRs."""
        return self.state == ABANDONED


@dataclass(frozen=True, slots=True)
class KpiView:
    """A team's health signal as shown: its value, and a breach only when there is one."""

    key: str
    title: str
    unit: str
    value: float | None
    health: str  # healthy | breached
    reason: str | None  # out_of_range | drop, when breached
    healthy_min: float | None
    healthy_max: float | None
    drop_alert: float | None = None
    # What the project page's edit form shows: the rest of the definition, and practice notes.
    kind: str = "metric"
    measure: str | None = None
    owner: str | None = None
    jql: str | None = None
    jql_field: str | None = None
    scope: Mapping[str, object] = dataclasses.field(default_factory=dict)
    warnings: tuple[PracticeNote, ...] = ()
    history: tuple[KpiPoint, ...] = ()  # its values over the cycle shown, oldest first

    @property
    def breached(self) -> bool:
        return self.health == "breached"


@dataclass(frozen=True, slots=True)
class PanelView:
    """A team's OKRs for one cycle."""

    team: str
    cycle: str
    cycle_start: date
    cycle_end: date
    objectives: tuple[ObjectiveView, ...]
    warnings: tuple[PracticeNote, ...] = ()
    okr_page_url: str | None = None
    kpis: tuple[KpiView, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)  # account id -> name, for `person`

    @property
    def people(self) -> list[str | None]:
        """Every owner and check-in author the panel shows."""
        found: list[str | None] = [k.owner for k in self.kpis]
        for objective in self.objectives:
            for kr in objective.krs:
                found.append(kr.owner)
                found.append(kr.last_checkin.author if kr.last_checkin else None)
        return found

    @property
    def charts_confidence(self) -> bool:
        """True when a KR's chart shows confidence, so the page carries the charts' legend."""
        return any(kr.confidence and not kr.abandoned for o in self.objectives for kr in o.krs)

    def only_objective(self, key: str) -> PanelView:
        """The same panel narrowed to one objective (the macro's `objective` parameter)."""
        return dataclasses.replace(
            self, objectives=tuple(o for o in self.objectives if o.key == key)
        )


@dataclass(frozen=True, slots=True)
class IssueKrView:
    """A KR that a Jira issue contributes to, directly or through its epic (`via`)."""

    key: str
    title: str
    objective_title: str
    progress: float
    score: float
    status: str
    owner: str | None
    via: str | None  # epic key when linked through the epic

    def __post_init__(self) -> None:
        _check_status(self.status)
