"""A team's KPIs: declared (OKR file, API, page), measured, judged healthy or breached, kept.

Every new value goes into the KPI's history with the health it gave; a KR that takes its value
from a KPI (`kpi:` on the KR) is re-derived whenever the KPI moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from sync.core import kpis as health_rules
from sync.core.dora import KEYS as DORA_KEYS
from sync.core.practice import check_kpi
from sync.core.spec import DORA_SCOPE, KpiSpec, scope_of
from sync.db.model import KeyResult, Kpi, KpiValue, Team
from sync.db.store import get_or_create_team
from sync.dora import keys as dora
from sync.engine import snapshots
from sync.errors import Duplicate, Invalid
from sync.fields import number_field, text_field
from sync.history import record_change

SPEC_FIELDS = (
    "title",
    "kind",
    "measure",
    "unit",
    "owner",
    "healthy_min",
    "healthy_max",
    "drop_alert",
    "jql",
    "jql_field",
)

TEXT_FIELDS = (
    "title",
    "kind",
    "measure",
    "unit",
    "owner",
    "jql",
    "jql_field",
    "repository",
    "environment",
    "incident_jql",
)
NUMBER_FIELDS = (
    "current",
    "healthy_min",
    "healthy_max",
    "drop_alert",
    "window_days",
    "incident_window_hours",
)
FIELDS = frozenset({*TEXT_FIELDS, *NUMBER_FIELDS})
"""A KPI's fields as the OKR file names them, the healthy range flattened (`healthy_min`,
`healthy_max`): what every door (file, API, project page) hands to `kpi_spec_from`."""

ERROR_FIELDS = {
    "unknown-kind": "kind",
    "unknown-measure": "measure",
    "missing-jql": "jql",
    "kpi-empty-range": "healthy_min",
    "kpi-drop-alert": "drop_alert",
}
"""The field at fault for each error `check_kpi` can find."""


def find_kpi(session: Session, site_id: int, key: str) -> Kpi | None:
    return session.scalar(select(Kpi).where(Kpi.site_id == site_id, Kpi.key == key))


def list_kpis(session: Session, site_id: int, *, team: str | None = None) -> list[Kpi]:
    query = select(Kpi).join(Team, Team.id == Kpi.team_id).where(Kpi.site_id == site_id)
    if team:
        query = query.where(Team.key == team)
    return list(session.scalars(query.order_by(Team.key, Kpi.position, Kpi.key)))


def _width(name: str) -> int | None:
    """How many characters the column storing field `name` holds (None: unbounded)."""
    column = Kpi.__table__.c.get(name)
    kind = column.type if column is not None else None
    return kind.length if isinstance(kind, String) else None


def kpi_spec_from(data: Mapping[str, Any], base: KpiSpec) -> KpiSpec:
    """Overlay `data` (the file's KPI fields, from JSON or a parsed form) on a spec, checking
    each type and every rule that refuses a save; unknown fields are refused.

    Practice warnings (no healthy range, a person as owner) never refuse: `check_kpi` says
    them beside the saved KPI.
    """
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise Invalid(
            f"unknown field {unknown[0]}: use {', '.join(sorted(FIELDS))}", field=unknown[0]
        )
    changes: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if name in data:
            value = text_field(data, name) or None
            width = _width(name)
            if value is not None and width is not None and len(value) > width:
                raise Invalid(f"{name} must be at most {width} characters", field=name)
            changes[name] = value
    for name in NUMBER_FIELDS:
        if name in data:
            changes[name] = number_field(data, name)
    if "unit" in changes and changes["unit"] is None:
        changes["unit"] = ""
    spec = replace(base, **changes)
    for name in ("title", "kind"):
        if not (getattr(spec, name) or "").strip():
            raise Invalid(f"{name} is required", field=name)
    errors = [f for f in check_kpi(spec) if f.level == "error"]
    if errors:
        raise Invalid(errors[0].message, field=ERROR_FIELDS.get(errors[0].code))
    return spec


def definition(kpi: Kpi) -> dict[str, Any]:
    """What a KPI says (not its value): the fields its definition history compares."""
    params: Mapping[str, Any] = kpi.params or {}
    return {
        **{name: getattr(kpi, name) for name in SPEC_FIELDS},
        **{name: params.get(name) for name in DORA_SCOPE},
    }


def create_kpi(
    session: Session,
    site_id: int,
    team: str,
    data: Mapping[str, Any],
    *,
    author: str | None,
    now: datetime,
) -> tuple[Kpi, set[int]]:
    """A new KPI of `team` from the file's fields (`key` optional: `<team>-K<n>`)."""
    fields = {name: value for name, value in data.items() if name != "key"}
    taken = {kpi.key for kpi in list_kpis(session, site_id, team=team)}
    position = len(taken)
    key = text_field(data, "key")
    width = _width("key") or 0
    if key and len(key) > width:
        raise Invalid(f"key must be at most {width} characters", field="key")
    if key and find_kpi(session, site_id, key) is not None:
        raise Duplicate(f"KPI {key} already exists", field="key")
    number = position + 1
    while not key and (
        f"{team}-K{number}" in taken or find_kpi(session, site_id, f"{team}-K{number}") is not None
    ):
        number += 1
    spec = kpi_spec_from(fields, KpiSpec(key=key or f"{team}-K{number}", title=""))
    return upsert_kpi(session, site_id, team, spec, position=position, now=now, author=author)


def update_kpi(
    session: Session, kpi: Kpi, data: Mapping[str, Any], *, author: str | None, now: datetime
) -> tuple[Kpi, set[int]]:
    """Change a KPI's definition (absent fields stay); its key and team stay put."""
    for frozen in ("key", "team"):
        if frozen in data:
            raise Invalid(f"{frozen} cannot be changed here", field=frozen)
    spec = kpi_spec_from(data, as_spec(kpi))
    return upsert_kpi(
        session, kpi.site_id, kpi.team.key, spec, position=kpi.position, now=now, author=author
    )


def upsert_kpi(
    session: Session,
    site_id: int,
    team: str,
    spec: KpiSpec,
    *,
    position: int,
    now: datetime,
    author: str | None = None,
) -> tuple[Kpi, set[int]]:
    """Create or update a KPI from its spec; KRs to re-derive because its value moved.

    The one writer of KPI definitions (file import, API and project page all end here): it
    refuses what `check_kpi` calls an error, keeps each created or changed definition in the
    history, and bumps `version` so that panels showing the KPI are rendered anew.
    """
    errors = [f for f in check_kpi(spec) if f.level == "error"]
    if errors:
        raise Invalid(errors[0].message, field=ERROR_FIELDS.get(errors[0].code))
    team_row = get_or_create_team(session, site_id, team)
    row = find_kpi(session, site_id, spec.key)
    values: dict[str, Any] = {name: getattr(spec, name) for name in SPEC_FIELDS}
    values["params"] = scope_of(spec)
    if row is None:
        row = Kpi(site_id=site_id, team_id=team_row.id, key=spec.key, position=position, **values)
        session.add(row)
        session.flush()
        record_change(
            session,
            site_id=site_id,
            cycle_id=None,
            kind="kpi",
            key=row.key,
            action="create",
            author=author,
            at=now,
            before={},
            after=definition(row),
        )
    else:
        if row.team_id != team_row.id:
            raise Invalid(f"KPI {spec.key} belongs to another team", field="key")
        before = definition(row)
        for name, value in values.items():
            setattr(row, name, value)
        moved = row.position != position
        row.position = position
        if (
            record_change(
                session,
                site_id=site_id,
                cycle_id=None,
                kind="kpi",
                key=row.key,
                action="update",
                author=author,
                at=now,
                before=before,
                after=definition(row),
            )
            is not None
            or moved
        ):
            row.version += 1
            row.updated_at = now
    if spec.current is not None and row.kind == "metric":
        return row, record_value(session, row, spec.current, now=now)
    return row, refresh(session, [row], now=now)


def import_kpis(
    session: Session,
    site_id: int,
    team: str,
    specs: Iterable[KpiSpec],
    *,
    now: datetime,
    author: str | None = None,
) -> set[int]:
    """The OKR file's `kpis:`, keyed by KPI key; KPIs the file does not name are kept."""
    touched: set[int] = set()
    for position, spec in enumerate(specs):
        touched |= upsert_kpi(
            session, site_id, team, spec, position=position, now=now, author=author
        )[1]
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
    session.add(
        KpiValue(
            site_id=kpi.site_id,
            kpi_id=kpi.id,
            at=now,
            value=value,
            health=judged.state,
            reason=judged.reason,
        )
    )
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


snapshots.refresh_before_recompute(refresh_if_stale)  # stale KPIs move their KRs first


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
