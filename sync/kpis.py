"""A team's KPIs: declared (OKR file, API, page), measured, judged healthy or breached, kept.

Every new value goes into the KPI's history with the health it gave; a KR that takes its value
from a KPI (`kpi:` on the KR) is re-derived whenever the KPI moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import dora
from sync.core import kpi as health_rules
from sync.core.dora import KEYS as DORA_KEYS
from sync.core.spec import KpiSpec, scope_of
from sync.errors import Invalid
from sync.model import KeyResult, Kpi, KpiValue, Team
from sync.store import get_or_create_team

SPEC_FIELDS = ("title", "kind", "measure", "unit", "owner", "healthy_min", "healthy_max",
               "drop_alert", "jql", "jql_field")  # fmt: skip


def find_kpi(session: Session, site_id: int, key: str) -> Kpi | None:
    return session.scalar(select(Kpi).where(Kpi.site_id == site_id, Kpi.key == key))


def list_kpis(session: Session, site_id: int, *, team: str | None = None) -> list[Kpi]:
    query = select(Kpi).join(Team, Team.id == Kpi.team_id).where(Kpi.site_id == site_id)
    if team:
        query = query.where(Team.key == team)
    return list(session.scalars(query.order_by(Team.key, Kpi.position, Kpi.key)))


def upsert_kpi(
    session: Session, site_id: int, team: str, spec: KpiSpec, *, position: int, now: datetime
) -> tuple[Kpi, set[int]]:
    """Create or update a KPI from its spec; KRs to re-derive because its value moved."""
    team_row = get_or_create_team(session, site_id, team)
    row = find_kpi(session, site_id, spec.key)
    values: dict[str, Any] = {name: getattr(spec, name) for name in SPEC_FIELDS}
    values["params"] = scope_of(spec)
    if row is None:
        row = Kpi(site_id=site_id, team_id=team_row.id, key=spec.key, position=position, **values)
        session.add(row)
        session.flush()
    else:
        if row.team_id != team_row.id:
            raise Invalid(f"KPI {spec.key} belongs to another team", field="key")
        for name, value in values.items():
            setattr(row, name, value)
        row.position = position
    if spec.current is not None and row.kind == "metric":
        return row, record_value(session, row, spec.current, now=now)
    return row, refresh(session, [row], now=now)


def import_kpis(
    session: Session, site_id: int, team: str, specs: Iterable[KpiSpec], *, now: datetime
) -> set[int]:
    """The OKR file's `kpis:`, keyed by KPI key; KPIs the file does not name are kept."""
    touched: set[int] = set()
    for position, spec in enumerate(specs):
        touched |= upsert_kpi(session, site_id, team, spec, position=position, now=now)[1]
    return touched


def krs_taking(session: Session, site_id: int, keys: Iterable[str]) -> set[int]:
    """KRs whose value comes from one of these KPIs."""
    names = list(keys)
    if not names:
        return set()
    return set(
        session.scalars(
            select(KeyResult.id).where(KeyResult.site_id == site_id, KeyResult.kpi.in_(names))
        )
    )


def record_value(session: Session, kpi: Kpi, value: float | None, *, now: datetime) -> set[int]:
    """Judge a new value against the range and the last 7 days; keep it; KRs that follow it.

    An unchanged value and health add nothing to the history.
    """
    since = now - timedelta(days=health_rules.DROP_DAYS)
    recent = session.execute(
        select(KpiValue.at, KpiValue.value).where(KpiValue.kpi_id == kpi.id, KpiValue.at >= since)
    ).all()
    judged = health_rules.health(
        value,
        healthy_min=kpi.healthy_min,
        healthy_max=kpi.healthy_max,
        drop_alert=kpi.drop_alert,
        recent=[(at, v) for at, v in recent],
        now=now,
    )
    if (kpi.current, kpi.health, kpi.reason) == (value, judged.state, judged.reason) and recent:
        return set()
    kpi.current, kpi.health, kpi.reason = value, judged.state, judged.reason
    kpi.version += 1
    kpi.updated_at = now
    session.add(KpiValue(site_id=kpi.site_id, kpi_id=kpi.id, at=now, value=value,
                         health=judged.state, reason=judged.reason))  # fmt: skip
    session.flush()
    return krs_taking(session, kpi.site_id, [kpi.key])


def measured(session: Session, kpi: Kpi, *, now: datetime) -> float | None:
    """The value a `github` KPI measures now (DORA keys over its rolling window)."""
    if kpi.kind == "github" and kpi.measure in DORA_KEYS:
        return dora.measure(session, kpi.site_id, kpi.measure, kpi.params, now=now)
    return kpi.current


def refresh(session: Session, kpis: Iterable[Kpi], *, now: datetime) -> set[int]:
    """Re-measure `github` KPIs; KRs to re-derive because a KPI moved."""
    touched: set[int] = set()
    for kpi in kpis:
        if kpi.kind == "github":
            touched |= record_value(session, kpi, measured(session, kpi, now=now), now=now)
    return touched


STALE = "okrlink.kpis_stale"  # session.info: sites whose github KPIs await a re-measure


def mark_stale(session: Session, site_id: int) -> None:
    """New deployments, PRs or incidents: re-measure the site's KPIs at the next recompute."""
    session.info.setdefault(STALE, set()).add(site_id)


def refresh_if_stale(session: Session, site_id: int, *, now: datetime) -> set[int]:
    """Re-measure the site's `github` KPIs once if marked stale; KRs that follow them."""
    stale: set[int] = session.info.get(STALE) or set()
    if site_id not in stale:
        return set()
    stale.discard(site_id)
    return refresh_site(session, site_id, now=now)


def refresh_site(session: Session, site_id: int, *, now: datetime) -> set[int]:
    """After a deployment or an incident: every `github` KPI of the site, re-measured."""
    rows = session.scalars(select(Kpi).where(Kpi.site_id == site_id, Kpi.kind == "github"))
    return refresh(session, list(rows), now=now)


def history_of(session: Session, kpi: Kpi) -> list[KpiValue]:
    return list(
        session.scalars(
            select(KpiValue).where(KpiValue.kpi_id == kpi.id).order_by(KpiValue.at, KpiValue.id)
        )
    )


def as_spec(kpi: Kpi) -> KpiSpec:
    params: Mapping[str, Any] = kpi.params or {}
    return KpiSpec(
        key=kpi.key,
        current=kpi.current if kpi.kind == "metric" else None,
        **{name: getattr(kpi, name) for name in SPEC_FIELDS},
        **params,
    )
