"""REST API `/api/v1/kpis`: a team's health signals, their values and their history.

Parse and answer only: the rules (ranges, health, history) live in `sync.kpis` and
`sync.core.practice.check_kpi`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.orm import Session

from connect.api.okrs import _author, _now, _text, authenticate, body, enqueue_write_backs
from connect.errors import NotFound, ValidationError
from connect.permissions import require_check_in, require_write
from connect.services import services
from sync import kpis
from sync.core.practice import check_kpi
from sync.core.spec import DORA_SCOPE
from sync.db.model import Kpi
from sync.engine.snapshots import recompute
from sync.errors import Invalid
from sync.fields import number_field as _number

blueprint = Blueprint("api_kpis", __name__, url_prefix="/api/v1")
blueprint.before_request(authenticate)
blueprint.after_request(enqueue_write_backs)

ALLOWED = frozenset({*(kpis.FIELDS - {"healthy_min", "healthy_max"}), "key", "team", "healthy"})
"""The JSON fields: the OKR file's, with the healthy range as `healthy: {min, max}`."""


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


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object as the domain's KPI fields (`healthy` flattened); unknown ones refused."""
    unknown = sorted(set(data) - ALLOWED)
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]}: use {', '.join(sorted(ALLOWED))}", field=unknown[0]
        )
    fields = {name: value for name, value in data.items() if name not in ("team", "healthy")}
    if "healthy" in data:
        healthy = data["healthy"]
        if not isinstance(healthy, dict) or set(healthy) - {"min", "max"}:
            raise ValidationError("healthy must be an object with min and/or max", field="healthy")
        fields["healthy_min"] = _number(healthy, "min")
        fields["healthy_max"] = _number(healthy, "max")
    return fields


@contextmanager
def _json_names() -> Iterator[None]:
    """A domain refusal named by the JSON field: `healthy`, not `healthy_min`/`healthy_max`."""
    try:
        yield
    except Invalid as error:
        if error.field in ("healthy_min", "healthy_max"):
            raise ValidationError(error.message, field="healthy") from error
        raise


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
    fields = _fields(data)
    require_write(team)
    with services().store.session() as session:
        with _json_names():
            kpi, touched = kpis.create_kpi(
                session, g.site_id, team, fields, author=_author(), now=_now()
            )
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
    fields = _fields(data)
    with services().store.session() as session:
        kpi = _kpi_or_404(session, key)
        require_write(kpi.team.key)
        with _json_names():
            kpi, touched = kpis.update_kpi(session, kpi, fields, author=_author(), now=_now())
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
        require_check_in(kpi.team.key, owner=kpi.owner)
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
