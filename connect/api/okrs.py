"""REST API `/api/v1` (JSON): cycles, objectives, key results, links, check-ins, KR history.

Every request is authenticated first and carries its site from there on (`g.site_id`); a
row of another site is answered 404 as if it did not exist.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, Final

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.orm import Session

from connect.api.limits import MAX_LENGTHS
from connect.errors import AuthError, BadRequest, Conflict, NotFound, ValidationError
from connect.services import services
from sync import okrs, store
from sync.core import asana_refs, okrfile
from sync.core.practice import check_key_result
from sync.core.spec import (
    DORA_SCOPE,
    GITHUB_MEASURES,
    KR_KINDS,
    KeyResultSpec,
    TeamOkrs,
    quarter,
    quarter_of,
    scope_of,
)
from sync.engine import recompute
from sync.model import CheckIn, Cycle, KeyResult, Link, Objective
from sync.okrs import (
    KR_FIELDS,
    ImportRefused,
    export_team_okrs,
    import_team_okrs,
    link_work,
    string_list_field,
    text_field,
    unlink_work,
)
from sync.okrs import number_field as _number
from sync.sources import refresh_github, source_state
from sync.store import (
    SiteNotFound,
    check_ins_of,
    find_cycle,
    find_kr,
    find_objective,
    find_site,
    history_of,
    key_result_exists,
    links_of,
)

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

Authenticator = Callable[[], int | None]
"""Returns the site id of a verified caller, None when its kind of credential is absent."""


# --- authentication ----------------------------------------------------------------------


def admin_token_site() -> int | None:
    """`Authorization: Bearer <OKRLINK_ADMIN_TOKEN>`; the site from `X-Okrlink-Site`, else
    `OKRLINK_API_SITE` (the demo sets its own), else the local site."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    expected = services().settings.admin_token
    if not expected:
        raise AuthError("the REST API is closed: set OKRLINK_ADMIN_TOKEN on the server")
    if not hmac.compare_digest(header[7:].encode(), expected.encode()):
        raise AuthError("invalid admin token")
    with services().store.session() as session:
        try:
            site = request.headers.get("X-Okrlink-Site") or services().settings.api_site
            return find_site(session, site or None).id
        except SiteNotFound as exc:
            raise NotFound(str(exc), field="X-Okrlink-Site") from exc


def authenticators() -> list[Authenticator]:
    return list(services().api_authenticators)


@blueprint.before_request
def authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    for authenticator in authenticators():
        site_id = authenticator()
        if site_id is not None:
            g.site_id = site_id
            return
    raise AuthError("send `Authorization: Bearer <admin token>` or a Connect JWT")


# --- request parsing ---------------------------------------------------------------------


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("send a JSON object with Content-Type: application/json")
    return data


def _text(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """The domain's text reader, and at most the width of the column the value is stored in."""
    value = text_field(data, name, required=required)
    limit = MAX_LENGTHS.get(name)
    if value is not None and limit is not None and len(value) > limit:
        raise ValidationError(f"{name} must be at most {limit} characters", field=name)
    return value


def _string_list(data: Mapping[str, Any], name: str) -> list[str]:
    """The domain's list reader; issue keys at most as wide as a link's target column."""
    values = string_list_field(data, name)
    limit = MAX_LENGTHS["target"] if name == "issues" else None
    if limit is not None and any(len(v) > limit for v in values):
        raise ValidationError(f"each of {name} must be at most {limit} characters", field=name)
    return values


def _cycle_for(session: Session, name: str | None) -> Cycle:
    """A named cycle of the site, or the current quarter (created on first use)."""
    spec = quarter(name) if name else quarter_of(datetime.now(UTC).date())
    cycle = find_cycle(session, g.site_id, spec.name)
    if cycle is None:
        if name and not name[:4].isdigit():
            raise NotFound(f"no cycle {name}", field="cycle")
        cycle = Cycle(site_id=g.site_id, name=spec.name, start=spec.start, end=spec.end)
        session.add(cycle)
        session.flush()
    return cycle


def _kr_or_404(session: Session, key: str) -> KeyResult:
    kr = find_kr(session, g.site_id, key)
    if kr is None:
        raise NotFound(f"no key result {key}", field="key")
    return kr


def _objective_or_404(session: Session, key: str, cycle: str | None = None) -> Objective:
    objective = find_objective(session, g.site_id, key, cycle)
    if objective is None:
        raise NotFound(f"no objective {key}", field="objective")
    return objective


def _now() -> datetime:
    """The jobs' clock, so that what the API plans falls due when the jobs think it does."""
    return services().jobs.ports.clock.now()


def _refresh(session: Session, kr_ids: list[int]) -> None:
    if recompute(session, g.site_id, kr_ids, now=_now()):
        g.flush_site = g.site_id


@blueprint.after_request
def enqueue_write_backs(response: Response) -> Response:
    site_id = g.pop("flush_site", None)
    if site_id is not None and response.status_code < 400:
        services().jobs.flush_soon(site_id)
    return response


# --- serialisation -----------------------------------------------------------------------


def kr_json(kr: KeyResult) -> dict[str, Any]:
    growth = None
    if kr.total is not None and kr.total_at_start is not None:
        growth = kr.total - kr.total_at_start
    return {
        "key": kr.key,
        "objective": kr.objective.key,
        **{name: getattr(kr, name) for name in KR_FIELDS},
        "current": kr.current,
        "progress": round(kr.progress, 4),
        "score": round(kr.score, 4),
        "status": kr.status,
        "done": kr.done,
        "total": kr.total,
        "scope_growth": growth,
        # Whether its source (Jira, GitHub) could be read, and if not how to connect it.
        "source_state": source_state(kr),
        "source_message": kr.source_message,
        "version": kr.version,
        "kpi": kr.kpi,
        **{name: (kr.params or {}).get(name) for name in DORA_SCOPE},
    }


def objective_json(objective: Objective, *, with_krs: bool = True) -> dict[str, Any]:
    from sync.core.progress import objective_progress

    data: dict[str, Any] = {
        "key": objective.key,
        "title": objective.title,
        "parent": objective.parent_key,
        "team": objective.team.key,
        "cycle": objective.cycle.name,
        "progress": round(
            objective_progress(
                (kr.progress, kr.weight, kr.state == "active") for kr in objective.key_results
            ),
            4,
        ),
    }
    if with_krs:
        data["key_results"] = [kr_json(kr) for kr in objective.key_results]
    return data


def checkin_json(checkin: CheckIn) -> dict[str, Any]:
    return {
        "id": checkin.id,
        "at": checkin.at.isoformat(),
        "author": checkin.author,
        "value": checkin.value,
        "status": checkin.status,
        "score": checkin.score,
        "what": checkin.what,
        "why": checkin.why,
        "next": checkin.next,
        "decisions": checkin.decisions,
        "risks": checkin.risks,
        "learnings": checkin.learnings,
    }


def _date(value: date) -> str:
    return value.isoformat()


# --- routes ------------------------------------------------------------------------------


@blueprint.get("/cycles")
def list_cycles() -> Response:
    with services().store.session() as session:
        cycles = store.list_cycles(session, g.site_id)
        return jsonify(
            {
                "cycles": [
                    {"name": c.name, "start": _date(c.start), "end": _date(c.end)} for c in cycles
                ]
            }
        )


@blueprint.get("/objectives")
def list_objectives() -> Response:
    with services().store.session() as session:
        objectives = store.list_objectives(
            session, g.site_id, team=request.args.get("team"), cycle=request.args.get("cycle")
        )
        return jsonify({"objectives": [objective_json(o) for o in objectives]})


@blueprint.post("/objectives")
def create_objective() -> tuple[Response, int]:
    data = body()
    team_key = _text(data, "team", required=True)
    title = _text(data, "title", required=True)
    with services().store.session() as session:
        try:
            cycle = _cycle_for(session, _text(data, "cycle"))
        except ValueError as exc:
            raise ValidationError(str(exc), field="cycle") from exc
        objective = okrs.create_objective(
            session, g.site_id, cycle, team=team_key or "", title=title or "",
            key=_text(data, "key"), parent=_text(data, "parent"),
        )  # fmt: skip
        return jsonify(objective_json(objective)), 201


@blueprint.get("/objectives/<key>")
def get_objective(key: str) -> Response:
    with services().store.session() as session:
        return jsonify(objective_json(_objective_or_404(session, key, request.args.get("cycle"))))


@blueprint.patch("/objectives/<key>")
def update_objective(key: str) -> Response:
    data = body()
    with services().store.session() as session:
        objective = _objective_or_404(session, key, request.args.get("cycle"))
        if "title" in data:
            objective.title = _text(data, "title", required=True) or objective.title
        if "parent" in data:
            objective.parent_key = _text(data, "parent")
        if session.is_modified(objective):
            # Panels are cached by their KRs' versions: the objective's text is part of them.
            for kr in objective.key_results:
                kr.version += 1
        return jsonify(objective_json(objective))


@blueprint.get("/key-results")
def list_key_results() -> Response:
    with services().store.session() as session:
        krs = store.list_key_results(
            session, g.site_id, team=request.args.get("team"), cycle=request.args.get("cycle"),
            status=request.args.get("status"),
        )  # fmt: skip
        return jsonify({"key_results": [kr_json(kr) for kr in krs]})


CREATE_ONLY: Final = ("key", "objective", "issues")
"""KR fields a POST sets and a PATCH refuses (the OpenAPI document's KeyResultPatch omits them)."""


def _kr_spec_from(data: Mapping[str, Any], base: KeyResultSpec) -> KeyResultSpec:
    """Overlay JSON fields on a spec, checking each type; unknown fields are refused."""
    allowed = {*KR_FIELDS, "current", *CREATE_ONLY, "kpi", *DORA_SCOPE}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]}: use {', '.join(sorted(allowed))}", field=unknown[0]
        )
    changes: dict[str, Any] = {}
    texts = ("title", "unit", "owner", "abandon_reason", "jql", "jql_field", "measure", "kpi",
             "repository", "environment", "incident_jql", "asana_goal", "asana_field")  # fmt: skip
    for name in texts:
        if name in data:
            changes[name] = _text(data, name, required=name == "title")
    for name in ("baseline", "target", "current", "weight", "window_days", "incident_window_hours"):
        if name in data:
            changes[name] = _number(data, name)
    if "kind" in data:
        if data["kind"] not in KR_KINDS:
            raise ValidationError(f"kind must be one of {', '.join(KR_KINDS)}", field="kind")
        changes["kind"] = data["kind"]
    if "measure" in data and data["measure"] not in (None, *GITHUB_MEASURES):
        raise ValidationError(
            f"measure must be one of {', '.join(GITHUB_MEASURES)}", field="measure"
        )
    if "state" in data:
        if data["state"] not in ("active", "abandoned"):
            raise ValidationError("state must be active or abandoned", field="state")
        changes["state"] = data["state"]
    if "unit" in changes and changes["unit"] is None:
        changes["unit"] = ""
    if "weight" in changes and changes["weight"] is None:
        raise ValidationError("weight must be a positive number", field="weight")
    spec = replace(base, **changes)
    errors = [f for f in check_key_result(spec) if f.level == "error"]
    if errors:
        raise ValidationError(errors[0].message, field=_field_of(errors[0].code))
    return spec


def _field_of(code: str) -> str | None:
    for name in ("target", "baseline", "weight", "kind", "abandon_reason", "measure", "jql"):
        if name.replace("_", "-") in code or name in code:
            return name
    return None


def _store_spec(kr: KeyResult, spec: KeyResultSpec) -> None:
    for name in KR_FIELDS:
        setattr(kr, name, getattr(spec, name))
    kr.current = spec.current
    kr.kpi, kr.params = spec.kpi, scope_of(spec)
    kr.version += 1


def _spec_of(kr: KeyResult) -> KeyResultSpec:
    return KeyResultSpec(
        key=kr.key, current=kr.current, kpi=kr.kpi, **(kr.params or {}),
        **{name: getattr(kr, name) for name in KR_FIELDS},
    )  # fmt: skip


@blueprint.post("/key-results")
def create_key_result() -> tuple[Response, int]:
    data = body()
    objective_key = _text(data, "objective", required=True) or ""
    _text(data, "title", required=True)
    with services().store.session() as session:
        objective = _objective_or_404(session, objective_key)
        position = len(objective.key_results)
        key = _text(data, "key") or f"{objective.key}.{position + 1}"
        if key_result_exists(session, g.site_id, objective.cycle_id, key):
            raise Conflict(f"key result {key} already exists", field="key")
        spec = _kr_spec_from(data, KeyResultSpec(key=key, title=""))
        kr = KeyResult(
            site_id=g.site_id,
            cycle_id=objective.cycle_id,
            objective_id=objective.id,
            key=key,
            position=position,
            version=0,
        )
        _store_spec(kr, spec)
        session.add(kr)
        session.flush()
        for issue in _string_list(data, "issues"):
            session.add(Link(site_id=g.site_id, kr_id=kr.id, target_key=issue, source="api"))
        session.flush()
        refresh_github(session, g.site_id)  # a github KR says whether GitHub is mapped
        _refresh(session, [kr.id])
        session.refresh(kr)
        return jsonify(kr_json(kr)), 201


@blueprint.get("/key-results/<key>")
def get_key_result(key: str) -> Response:
    with services().store.session() as session:
        return jsonify(kr_json(_kr_or_404(session, key)))


@blueprint.patch("/key-results/<key>")
def update_key_result(key: str) -> Response:
    data = body()
    for frozen in CREATE_ONLY:
        if frozen in data:
            raise ValidationError(f"{frozen} cannot be changed here", field=frozen)
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        _store_spec(kr, _kr_spec_from(data, _spec_of(kr)))
        session.flush()
        refresh_github(session, g.site_id)
        _refresh(session, [kr.id])
        return jsonify(kr_json(kr))


@blueprint.post("/key-results/<key>/abandon")
def abandon_key_result(key: str) -> Response:
    reason = _text(body(), "reason", required=True)
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        kr.state, kr.abandon_reason = "abandoned", reason
        kr.version += 1
        _refresh(session, [kr.id])
        return jsonify(kr_json(kr))


@blueprint.get("/key-results/<key>/links")
def list_links(key: str) -> Response:
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        links = links_of(session, kr)
        return jsonify(
            {
                "links": [
                    {"kind": link.target_kind, "target": link.target_key, "source": link.source}
                    for link in links
                ]
            }
        )


@blueprint.post("/key-results/<key>/links")
def add_link(key: str) -> tuple[Response, int]:
    data = body()
    target = _text(data, "target", required=True) or ""
    kind = data.get("kind", "jira")
    if target.startswith(asana_refs.PREFIX) or kind == "asana":
        gid = asana_refs.gid_of(target)
        if gid is None:
            raise ValidationError(
                "an Asana target is asana:<task or project gid> (or asana:<its URL>)",
                field="target",
            )
        kind, target = "asana", asana_refs.key_of(gid)
    if kind not in ("jira", "github", "asana"):
        raise ValidationError("kind must be jira, github or asana", field="kind")
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        on_link = (services().asana_sync if kind == "asana" else services().jira_sync).on_link
        if not link_work(session, g.site_id, kr, kind=kind, target=target, source="api",
                         on_link=on_link):  # fmt: skip
            raise Conflict(f"{target} is already linked to {key}", field="target")
        _refresh(session, [kr.id])
        return jsonify({"kind": kind, "target": target, "source": "api"}), 201


@blueprint.delete("/key-results/<key>/links/<path:target>")
def remove_link(key: str, target: str) -> tuple[str, int]:
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        if not unlink_work(session, g.site_id, kr, target=target, now=_now()):
            raise NotFound(f"{target} is not linked to {key}", field="target")
        _refresh(session, [kr.id])
        g.flush_site = g.site_id
        return "", 204


@blueprint.get("/key-results/<key>/check-ins")
def list_check_ins(key: str) -> Response:
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        rows = check_ins_of(session, kr)
        return jsonify({"check_ins": [checkin_json(c) for c in rows]})


@blueprint.post("/key-results/<key>/check-ins")
def create_check_in(key: str) -> tuple[Response, int]:
    data = body()
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        checkin = okrs.record_check_in(session, kr, data, author=_text(data, "author"), at=_now())
        _refresh(session, [kr.id])
        return jsonify({"check_in": checkin_json(checkin), "key_result": kr_json(kr)}), 201


@blueprint.get("/key-results/<key>/history")
def kr_history(key: str) -> Response:
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        rows = history_of(session, kr)
        return jsonify(
            {
                "history": [
                    {
                        "at": s.at.isoformat(),
                        "progress": s.progress,
                        "score": s.score,
                        "status": s.status,
                        "current": s.current,
                    }
                    for s in rows
                ]
            }
        )


@blueprint.post("/import")
def import_file() -> Response:
    """Import an OKR file (YAML body); the same file twice changes nothing."""
    text = request.get_data(as_text=True)
    try:
        teams = okrfile.parse_all(text, source="request")
    except okrfile.OkrFileError as exc:
        raise ValidationError(str(exc), field="body") from exc
    totals = {"created": 0, "updated": 0, "unchanged": 0, "warnings": [], "kept": []}
    with services().store.session() as session:
        for okrs in teams:
            try:
                report = import_team_okrs(session, g.site_id, okrs)
            except ImportRefused as exc:
                raise ValidationError(str(exc), field="body") from exc
            _refresh(session, sorted(report.changed_kr_ids))
            totals["created"] += report.created
            totals["updated"] += report.updated
            totals["unchanged"] += report.unchanged
            totals["warnings"] += [f.message for f in report.findings]
            totals["kept"] += report.kept
    fetch_linked_issues(g.site_id, teams)
    return jsonify(totals)


def fetch_linked_issues(site_id: int, teams: list[TeamOkrs]) -> None:
    """Fetch the file's linked issues (and epics' children) from Jira, as a link does."""
    refresh = services().jira_sync.refresh_later
    keys = sorted(
        {
            key
            for okrs in teams
            for o in okrs.objectives
            for kr in o.key_results
            for key in kr.issues
        }
    )
    if keys:
        refresh(site_id, keys)
    asana = sorted(
        okrs.asana_keys(
            reference
            for team in teams
            for o in team.objectives
            for kr in o.key_results
            for reference in kr.asana
        )
    )
    if asana:
        services().asana_sync.refresh_later(site_id, asana)


@blueprint.get("/export")
def export_file() -> Response:
    with services().store.session() as session:
        teams = export_team_okrs(
            session, g.site_id, team=request.args.get("team"), cycle=request.args.get("cycle")
        )
    text = okrfile.dump_all(teams)
    return Response(text, mimetype="application/yaml")


@blueprint.get("/openapi.json")
def openapi() -> Response:
    from connect.api.openapi import document

    return jsonify(document())

