"""REST API `/api/v1/kpis`: a team's health signals, their values and their history.

Parse and answer only: the rules (ranges, health, history) live in `sync.kpis` and
`sync.core.practice.check_kpi`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.orm import Session

from connect.api.okrs import _now, _text, authenticate, body, enqueue_write_backs
from connect.errors import Conflict, NotFound, ValidationError
from connect.services import services
from sync import kpis
from sync.core.practice import check_kpi
from sync.core.spec import DORA_SCOPE, KpiSpec
from sync.engine import recompute
from sync.model import Kpi
from sync.okrs import number_field as _number

blueprint = Blueprint("api_kpis", __name__, url_prefix="/api/v1")
blueprint.before_request(authenticate)
blueprint.after_request(enqueue_write_backs)

_TEXTS = ("title", "kind", "measure", "unit", "owner", "jql", "jql_field", "repository",
          "environment", "incident_jql")  # fmt: skip
_NUMBERS = ("drop_alert", "window_days", "incident_window_hours")
ALLOWED = frozenset({*_TEXTS, *_NUMBERS, "key", "team", "healthy", "current"})


def kpi_json(kpi: Kpi) -> dict[str, Any]:
    """A KPI as the API answers it; `findings` are its practice warnings."""
    spec = kpis.as_spec(kpi)
    return {
        "key": kpi.key,
        "team": kpi.team.key,
        "title": kpi.title,
        "kind": kpi.kind,
        "measure": kpi.measure,
        "unit": kpi.unit,
        "healthy": {"min": kpi.healthy_min, "max": kpi.healthy_max},
        "drop_alert": kpi.drop_alert,
        "owner": kpi.owner,
        "jql": kpi.jql,
        "jql_field": kpi.jql_field,
        **{name: (kpi.params or {}).get(name) for name in DORA_SCOPE},
        "value": kpi.current,
        "health": kpi.health,
        "reason": kpi.reason,
        "version": kpi.version,
        "findings": [
            {"level": f.level, "code": f.code, "message": f.message} for f in check_kpi(spec)
        ],
    }


def _spec_from(data: Mapping[str, Any], base: KpiSpec) -> KpiSpec:
    """Overlay JSON fields on a spec, checking each type; unknown fields are refused."""
    unknown = sorted(set(data) - ALLOWED)
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]}: use {', '.join(sorted(ALLOWED))}", field=unknown[0]
        )
    changes: dict[str, Any] = {}
    for name in _TEXTS:
        if name in data:
            changes[name] = _text(data, name, required=name in ("title", "kind"))
    for name in (*_NUMBERS, "current"):
        if name in data:
            changes[name] = _number(data, name)
    if "healthy" in data:
        healthy = data["healthy"]
        if not isinstance(healthy, dict) or set(healthy) - {"min", "max"}:
            raise ValidationError("healthy must be an object with min and/or max", field="healthy")
        changes["healthy_min"] = _number(healthy, "min")
        changes["healthy_max"] = _number(healthy, "max")
    if changes.get("unit", "") is None:
        changes["unit"] = ""
    spec = replace(base, **changes)
    errors = [f for f in check_kpi(spec) if f.level == "error"]
    if errors:
        field = {"unknown-kind": "kind", "unknown-measure": "measure", "missing-jql": "jql",
                 "kpi-empty-range": "healthy", "kpi-drop-alert": "drop_alert"}  # fmt: skip
        raise ValidationError(errors[0].message, field=field.get(errors[0].code))
    return spec


def _kpi_or_404(session: Session, key: str) -> Kpi:
    kpi = kpis.find_kpi(session, g.site_id, key)
    if kpi is None:
        raise NotFound(f"no KPI {key}", field="key")
    return kpi


def _refresh(session: Session, kr_ids: set[int]) -> None:
    if recompute(session, g.site_id, kr_ids, now=_now()):
        g.flush_site = g.site_id


@blueprint.get("/kpis")
def list_kpis() -> Response:
    with services().store.session() as session:
        rows = kpis.list_kpis(session, g.site_id, team=request.args.get("team"))
        return jsonify({"kpis": [kpi_json(kpi) for kpi in rows]})


@blueprint.post("/kpis")
def create_kpi() -> tuple[Response, int]:
    data = body()
    team = _text(data, "team", required=True) or ""
    title = _text(data, "title", required=True) or ""
    with services().store.session() as session:
        count = len(kpis.list_kpis(session, g.site_id, team=team))
        key = _text(data, "key") or f"{team}-K{count + 1}"
        if kpis.find_kpi(session, g.site_id, key) is not None:
            raise Conflict(f"KPI {key} already exists", field="key")
        spec = _spec_from(data, KpiSpec(key=key, title=title))
        kpi, touched = kpis.upsert_kpi(session, g.site_id, team, spec, position=count, now=_now())
        _refresh(session, touched)
        return jsonify(kpi_json(kpi)), 201


@blueprint.get("/kpis/<key>")
def get_kpi(key: str) -> Response:
    with services().store.session() as session:
        return jsonify(kpi_json(_kpi_or_404(session, key)))


@blueprint.patch("/kpis/<key>")
def update_kpi(key: str) -> Response:
    data = body()
    for frozen in ("key", "team"):
        if frozen in data:
            raise ValidationError(f"{frozen} cannot be changed here", field=frozen)
    with services().store.session() as session:
        kpi = _kpi_or_404(session, key)
        spec = _spec_from(data, kpis.as_spec(kpi))
        position = kpi.position
        kpi, touched = kpis.upsert_kpi(
            session, g.site_id, kpi.team.key, spec, position=position, now=_now()
        )
        _refresh(session, touched)
        return jsonify(kpi_json(kpi))


@blueprint.post("/kpis/<key>/values")
def record_kpi_value(key: str) -> tuple[Response, int]:
    """A new value of a `metric` KPI (the others are measured)."""
    data = body()
    if "value" not in data:
        raise ValidationError("value is required", field="value")
    value = _number(data, "value")
    with services().store.session() as session:
        kpi = _kpi_or_404(session, key)
        if kpi.kind != "metric":
            raise ValidationError(f"{key} is measured ({kpi.kind}), not typed in", field="kind")
        _refresh(session, kpis.record_value(session, kpi, value, now=_now()))
        return jsonify(kpi_json(kpi)), 201


@blueprint.get("/kpis/<key>/history")
def kpi_history(key: str) -> Response:
    with services().store.session() as session:
        kpi = _kpi_or_404(session, key)
        points = [
            {"at": p.at.isoformat(), "value": p.value, "health": p.health, "reason": p.reason}
            for p in kpis.history_of(session, kpi)
        ]
        return jsonify({"key": kpi.key, "history": points})
