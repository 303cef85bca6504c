"""What the project page shows under a KPI's forms: its newest values with the health each
gave, and the changes to its definition, newest first (both are kept by `sync.kpis`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

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
