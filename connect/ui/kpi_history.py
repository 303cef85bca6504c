"""What the pages show of a KPI's past: under its forms on the project page, its newest values
with the health each gave and the changes to its definition, newest first; in its chart, its
values over the cycle (all kept by `sync.kpis`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connect.ui.charts import KpiPoint
from sync.core.kpis import BREACHED
from sync.db.model import DefinitionChange, Kpi, KpiValue, Team

SHOWN = 8
"""Events shown per KPI: the page is for acting, the API gives the whole history."""


@dataclass(frozen=True, slots=True)
class KpiEvent:
    """One line of a KPI's history: a value (and its health), its creation or a change."""

    at: datetime
    what: str  # value | created | changed
    fields: tuple[str, ...] = ()
    value: float | None = None
    health: str = ""


def load_kpi_history(
    session: Session, site_id: int, team: str
) -> Mapping[str, tuple[KpiEvent, ...]]:
    """Per KPI key of the team, its newest `SHOWN` events (a team has a handful of KPIs: one
    bounded query of values each, one of definition changes for them all)."""
    rows = session.execute(
        select(Kpi.id, Kpi.key)
        .join(Team, Team.id == Kpi.team_id)
        .where(Kpi.site_id == site_id, Team.key == team)
    ).all()
    keys = {kpi_id: key for kpi_id, key in rows}
    if not keys:
        return {}
    events: dict[str, list[KpiEvent]] = {key: [] for key in keys.values()}
    for kpi_id, key in keys.items():
        for at, value, health in session.execute(
            select(KpiValue.at, KpiValue.value, KpiValue.health)
            .where(KpiValue.site_id == site_id, KpiValue.kpi_id == kpi_id)
            .order_by(KpiValue.at.desc(), KpiValue.id.desc())
            .limit(SHOWN)
        ):
            events[key].append(KpiEvent(at=at, what="value", value=value, health=health))
    for change in session.scalars(
        select(DefinitionChange).where(
            DefinitionChange.site_id == site_id,
            DefinitionChange.target_kind == "kpi",
            DefinitionChange.target_key.in_(events),
        )
    ):
        what = "created" if change.action == "create" else "changed"
        fields = () if what == "created" else tuple(sorted({*change.before, *change.after}))
        events[change.target_key].append(KpiEvent(at=change.at, what=what, fields=fields))
    order = {"created": 0, "changed": 1, "value": 2}
    return {
        key: tuple(sorted(found, key=lambda e: (e.at, order[e.what]), reverse=True)[:SHOWN])
        for key, found in events.items()
        if found
    }


def load_kpi_series(
    session: Session, site_id: int, kpi_ids: Sequence[int], *, start: date, end: date
) -> Mapping[int, tuple[KpiPoint, ...]]:
    """Per KPI id, its values recorded from `start` to the end of the `end` day with whether
    each breached, oldest first (one query for them all: a KPI's chart over the cycle)."""
    if not kpi_ids:
        return {}
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    found: dict[int, list[KpiPoint]] = {}
    for kpi_id, at, value, health in session.execute(
        select(KpiValue.kpi_id, KpiValue.at, KpiValue.value, KpiValue.health)
        .where(
            KpiValue.site_id == site_id,
            KpiValue.kpi_id.in_(list(kpi_ids)),
            KpiValue.at >= since,
            KpiValue.at < until,
        )
        .order_by(KpiValue.kpi_id, KpiValue.at, KpiValue.id)
    ):
        found.setdefault(kpi_id, []).append(
            KpiPoint(at=at, value=value, breached=health == BREACHED)
        )
    return {kpi_id: tuple(points) for kpi_id, points in found.items()}
