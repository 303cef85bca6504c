"""REST API `/api/v1` (JSON): cycles, objectives, key results, links, check-ins, KR history.

Every request is authenticated first and carries its site from there on (`g.site_id`); a
row of another site is answered 404 as if it did not exist.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.orm import Session

from connect.api.limits import MAX_LENGTHS
from connect.api.metrics import dashboard_token, dashboard_token_site
from connect.errors import (
    AuthError,
    BadRequest,
    Conflict,
    ForbiddenError,
    NotFound,
    ValidationError,
)
from connect.permissions import (
    confine_jql,
    request_caller,
    require_admin,
    require_check_in,
    require_jql,
    require_write,
)
from connect.services import services
from connect.ui.kr_preview import preview
from sync import cycles, monthly, okrs
from sync.core import asana_refs, okrfile
from sync.core.spec import DORA_SCOPE, TeamOkrs, quarter, quarter_of
from sync.db import store
from sync.db.model import CheckIn, Cycle, DefinitionChange, KeyResult, Objective, Team
from sync.db.store import (
    check_ins_of,
    find_cycle,
    find_kr,
    find_objective,
    find_site,
    history_of,
    links_of,
)
from sync.engine.snapshots import recompute
from sync.errors import Invalid
from sync.fields import text_field
from sync.okrs import (
    KR_FIELDS,
    ImportRefused,
    export_team_okrs,
    import_team_okrs,
    link_work,
    string_list_field,
    unlink_work,
)
from sync.retro import publish_closed_cycle
from sync.sources import refresh_github, source_state

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
    g.operator = True  # the operator's token: every write, as the operator
    site = request.headers.get("X-Okrlink-Site") or services().settings.api_site
    with services().store.session() as session:
        return find_site(session, site or None).id  # SiteNotFound: a 404, from its class


def authenticators() -> list[Authenticator]:
    return list(services().api_authenticators)


def refuse_dashboard_token() -> None:
    """A live dashboard token reads `/api/v1/metrics` and nothing else: 403 here. A forged or
    revoked one goes on to the authenticators, which refuse it (401) like any wrong token."""
    token = dashboard_token()
    if token is not None and dashboard_token_site(token) is not None:
        raise ForbiddenError(
            "a dashboard token reads GET /api/v1/metrics only", code="dashboard_token_read_only"
        )


@blueprint.before_request
def authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    refuse_dashboard_token()
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
        raise BadRequest(
            "send a JSON object with Content-Type: application/json", code="malformed_body"
        )
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
    """A named cycle of the site (a quarter is created on first use), or the current quarter."""
    if name and (named := find_cycle(session, g.site_id, name)) is not None:
        return named
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


def _author() -> str | None:
    """Who makes the change: the Atlassian account of a page's token; None for the admin token."""
    account = g.get("account_id")
    return account if isinstance(account, str) else None


def _checkin_author(data: Mapping[str, Any]) -> str | None:
    """Who checks in: the caller's account for a user token (the body's `author` is ignored);
    the operator's imports and scripts may name one."""
    if g.get("operator"):
        return _text(data, "author")
    return _author()


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
        "final_score": kr.final_score,
        "final_score_reason": kr.final_score_reason,
        "carried_from": cycles.carried_from(kr),
    }


def objective_json(objective: Objective, *, with_krs: bool = True) -> dict[str, Any]:
    from sync.core.progress import objective_progress

    data: dict[str, Any] = {
        "key": objective.key,
        "title": objective.title,
        "description": objective.description,
        "parent": objective.parent_key,
        "state": objective.state,
        "abandon_reason": objective.abandon_reason,
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
        "confidence": checkin.confidence,
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


def cycle_json(session: Session, cycle: Cycle) -> dict[str, Any]:
    parent = session.get(Cycle, cycle.parent_id) if cycle.parent_id is not None else None
    team = session.get(Team, cycle.team_id) if cycle.team_id is not None else None
    return {
        "name": cycle.name,
        "start": _date(cycle.start),
        "end": _date(cycle.end),
        "parent": parent.name if parent is not None else None,
        "team": team.key if team is not None else None,
    }


@blueprint.get("/cycles")
def list_cycles() -> Response:
    """Every cycle of the caller's site, with the longer cycle each refreshes (`parent`)."""
    with services().store.session() as session:
        cycles = store.list_cycles(session, g.site_id)
        return jsonify({"cycles": [cycle_json(session, c) for c in cycles]})


@blueprint.post("/cycles")
def create_cycle() -> tuple[Response, int]:
    """A cycle of any length (`name`, `start`, `end`, `parent`, `team`): a team's by who may
    write the team's OKRs, a site-wide one by Jira admins; overlapping another of the team
    under the same parent is a 422 (`cycle_overlap`), a name taken with other dates a 409."""
    data = body()
    for name, width in (("name", "cycle"), ("parent", "cycle"), ("team", "team")):
        value = data.get(name)
        if isinstance(value, str) and len(value.strip()) > MAX_LENGTHS[width]:
            raise ValidationError(
                f"{name} must be at most {MAX_LENGTHS[width]} characters", field=name
            )
    team = data.get("team")
    if isinstance(team, str) and team.strip():
        require_write(team.strip())  # the team's own cycle: its project admins
    else:
        require_admin()  # a cycle for the whole site: Jira admins
    with services().store.session() as session:
        cycle, created = cycles.create_cycle(session, g.site_id, cycles.parse_cycle(data))
        return jsonify(cycle_json(session, cycle)), 201 if created else 200


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
    require_write(team_key or "")
    with services().store.session() as session:
        try:
            cycle = _cycle_for(session, _text(data, "cycle"))
        except ValueError as exc:
            raise ValidationError(str(exc), field="cycle") from exc
        objective = okrs.create_objective(
            session,
            g.site_id,
            cycle,
            team=team_key or "",
            title=title or "",
            key=_text(data, "key"),
            parent=_text(data, "parent"),
            description=_text(data, "description"),
            author=_author(),
            at=_now(),
        )
        return jsonify(objective_json(objective)), 201


@blueprint.get("/objectives/<key>")
def get_objective(key: str) -> Response:
    with services().store.session() as session:
        return jsonify(objective_json(_objective_or_404(session, key, request.args.get("cycle"))))


@blueprint.patch("/objectives/<key>")
def update_objective(key: str) -> Response:
    data = body()
    _check_lengths(data)
    with services().store.session() as session:
        objective = _objective_or_404(session, key, request.args.get("cycle"))
        require_write(objective.team.key)
        okrs.update_objective(session, objective, data, author=_author(), at=_now())
        return jsonify(objective_json(objective))


@blueprint.get("/key-results")
def list_key_results() -> Response:
    with services().store.session() as session:
        krs = store.list_key_results(
            session,
            g.site_id,
            team=request.args.get("team"),
            cycle=request.args.get("cycle"),
            status=request.args.get("status"),
        )
        return jsonify({"key_results": [kr_json(kr) for kr in krs]})


CREATE_ONLY: Final = ("key", "objective", "issues", "asana")
"""KR fields a POST sets and a PATCH refuses (the OpenAPI document's KeyResultPatch omits them)."""


def _check_lengths(data: Mapping[str, Any]) -> None:
    """Refuse a text longer than its column before the domain reads the fields (the domain
    checks types and rules; how wide a column is stays the API's business)."""
    for name in data:
        if name in MAX_LENGTHS and name not in ("target", "issues"):
            _text(data, name)
    _string_list(data, "issues")


@blueprint.post("/key-results")
def create_key_result() -> tuple[Response, int]:
    data = body()
    objective_key = _text(data, "objective", required=True) or ""
    _text(data, "title", required=True)
    with services().store.session() as session:
        objective = _objective_or_404(session, objective_key)
        require_write(objective.team.key)
        _check_lengths(data)
        kr = okrs.create_key_result(session, objective, data, author=_author(), at=_now())
        confine_jql(kr, data)
        for target in sorted(okrs.asana_keys(_string_list(data, "asana"))):
            services().asana_sync.on_link(session, g.site_id, kr, "asana", target)
        refresh_github(session, g.site_id)  # a github KR says whether GitHub is mapped
        _refresh(session, [kr.id])
        session.refresh(kr)
        return jsonify(kr_json(kr)), 201


@blueprint.post("/key-results/preview")
def preview_key_result() -> Response:
    """What a KR's source gives now, before it is saved: the KR's fields as the OKR file names
    them, with `objective` (a new KR) or `key` (an existing KR, these fields changed). Whoever
    may write the team's OKRs may preview; nothing is stored."""
    data = body()
    _check_lengths(data)
    fields = {
        name: value for name, value in data.items() if name not in ("key", "objective", "cycle")
    }
    kr, objective = _text(data, "key"), _text(data, "objective")
    if not kr and not objective:
        raise ValidationError(
            "give objective (a new KR) or key (an existing KR)", field="objective"
        )
    shown = preview(
        request_caller(), fields, objective=objective, kr=kr, cycle=_text(data, "cycle")
    )
    return jsonify(shown.as_json())


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
    _check_lengths(data)
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        require_write(kr.objective.team.key)
        kr = okrs.update_key_result(session, kr, data, author=_author(), at=_now())
        confine_jql(kr, data)
        refresh_github(session, g.site_id)
        _refresh(session, [kr.id])
        return jsonify(kr_json(kr))


@blueprint.post("/key-results/<key>/abandon")
def abandon_key_result(key: str) -> Response:
    reason = _text(body(), "reason", required=True)
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        require_write(kr.objective.team.key)
        okrs.abandon(session, kr, reason, author=_author(), at=_now())
        _refresh(session, [kr.id])
        return jsonify(kr_json(kr))


@blueprint.post("/objectives/<key>/abandon")
def abandon_objective(key: str) -> Response:
    """Abandon an objective and every active KR under it, with one reason."""
    reason = _text(body(), "reason", required=True)
    with services().store.session() as session:
        objective = _objective_or_404(session, key, request.args.get("cycle"))
        require_write(objective.team.key)
        krs = okrs.abandon(session, objective, reason, author=_author(), at=_now())
        _refresh(session, [kr.id for kr in krs])
        return jsonify(objective_json(objective))


def change_json(change: DefinitionChange) -> dict[str, Any]:
    return {
        "at": change.at.isoformat(),
        "author": change.author,
        "action": change.action,
        "before": change.before,
        "after": change.after,
    }


@blueprint.get("/key-results/<key>/changes")
def kr_changes(key: str) -> Response:
    """Who changed the KR's definition, when, and each changed field before and after."""
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        rows = okrs.changes_of(session, g.site_id, kr.cycle_id, kr.key)
        return jsonify({"changes": [change_json(c) for c in rows]})


@blueprint.get("/objectives/<key>/changes")
def objective_changes(key: str) -> Response:
    with services().store.session() as session:
        objective = _objective_or_404(session, key, request.args.get("cycle"))
        rows = [
            c
            for c in okrs.changes_of(session, g.site_id, objective.cycle_id, key)
            if c.target_kind == "objective"
        ]
        return jsonify({"changes": [change_json(c) for c in rows]})


@blueprint.post("/cycles/<cycle>/close")
def close_cycle(cycle: str) -> Response:
    """Close a team's cycle: final scores, the retrospective, the KRs carried over."""
    team = request.args.get("team", "").strip()
    if not team:
        raise ValidationError("give the team to close the cycle for: ?team=PLAT", field="team")
    close = cycles.parse_close(body())
    require_write(team)
    with services().store.session() as session:
        cycle_row = find_cycle(session, g.site_id, cycle)
        if cycle_row is None:
            raise NotFound(f"no cycle {cycle}", field="cycle")
        if store.find_team(session, g.site_id, team) is None:
            raise NotFound(f"no team {team}", field="team")
        report = cycles.close_cycle(
            session,
            g.site_id,
            team=team,
            cycle=cycle_row,
            request=close,
            author=_author(),
            at=_now(),
        )
        _refresh(session, [kr.id for kr in [*report.scored, *report.carried]])
        answer = close_json(report)
    if close.space:
        answer["retro_page"] = publish_closed_cycle(
            services().jobs, g.site_id, team=team, cycle=cycle
        )
    return jsonify(answer)


def close_json(report: cycles.CloseReport) -> dict[str, Any]:
    closed = report.closed
    return {
        "closed_at": closed.closed_at.isoformat(),
        "closed_by": closed.closed_by,
        "retro": {"learned": closed.learned, "differently": closed.differently},
        "scores": {
            kr.key: {"score": kr.final_score, "reason": kr.final_score_reason}
            for kr in report.scored
        },
        "next_cycle": report.next_cycle.name if report.next_cycle else None,
        "carried": [kr_json(kr) for kr in report.carried],
    }


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
        require_check_in(kr.objective.team.key, owner=kr.owner)
        on_link = (services().asana_sync if kind == "asana" else services().jira_sync).on_link
        if not link_work(
            session, g.site_id, kr, kind=kind, target=target, source="api", on_link=on_link
        ):
            raise Conflict(f"{target} is already linked to {key}", field="target")
        _refresh(session, [kr.id])
        return jsonify({"kind": kind, "target": target, "source": "api"}), 201


@blueprint.delete("/key-results/<key>/links/<path:target>")
def remove_link(key: str, target: str) -> tuple[str, int]:
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        require_check_in(kr.objective.team.key, owner=kr.owner)
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
        require_check_in(kr.objective.team.key, owner=kr.owner)
        checkin = okrs.record_check_in(session, kr, data, author=_checkin_author(data), at=_now())
        _refresh(session, [kr.id])
        return jsonify({"check_in": checkin_json(checkin), "key_result": kr_json(kr)}), 201


def monthly_json(given: monthly.GivenScore) -> dict[str, Any]:
    return {
        "month": given.month,
        "score": given.score,
        "reason": given.reason,
        "author": given.author,
        "at": given.at.isoformat(),
    }


@blueprint.get("/key-results/<key>/monthly-scores")
def list_monthly_scores(key: str) -> Response:
    """The scores owners gave the KR, month by month (oldest first); any caller of the API."""
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        return jsonify(
            {"monthly_scores": [monthly_json(g) for g in monthly.scores_of(session, kr)]}
        )


@blueprint.post("/key-results/<key>/monthly-scores")
def create_monthly_score(key: str) -> tuple[Response, int]:
    """Give the KR's score for a month (`month` YYYY-MM, `score` 0..1, one-line `reason`).

    The same callers as check-ins may (the admin token, a page's Connect JWT); the author is the
    token's account, never the body's. A bad month or score answers 422 and stores nothing.
    """
    data = body()
    with services().store.session() as session:
        kr = _kr_or_404(session, key)
        require_check_in(kr.objective.team.key, owner=kr.owner)
        row = monthly.record_monthly_score(session, kr, data, author=_author(), at=_now())
        given = monthly.GivenScore(
            month=row.month, score=row.score, reason=row.reason, author=row.author, at=row.at
        )
        return jsonify({"monthly_score": monthly_json(given), "key": kr.key}), 201


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
    authors: dict[str, str | None] = {}
    for team in teams:  # every team of the file, before anything is stored
        require_write(team.team)
        for spec in (kr for o in team.objectives for kr in o.key_results if kr.kind == "jql"):
            try:
                authors[spec.key] = require_jql(spec.jql)
            except Invalid as invalid:
                raise ValidationError(f"{spec.key}: {invalid.message}", field="jql") from invalid
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    warnings: list[str] = []
    kept: list[str] = []
    with services().store.session() as session:
        for okrs in teams:
            try:
                report = import_team_okrs(session, g.site_id, okrs)
            except ImportRefused as exc:
                raise ValidationError(str(exc), field="body") from exc
            for key, author in authors.items():
                if (saved := find_kr(session, g.site_id, key)) is not None:
                    saved.jql_author = author
            _refresh(session, sorted(report.changed_kr_ids))
            counts["created"] += report.created
            counts["updated"] += report.updated
            counts["unchanged"] += report.unchanged
            warnings += [f.message for f in report.findings]
            kept += report.kept
    fetch_linked_issues(g.site_id, teams)
    return jsonify({**counts, "warnings": warnings, "kept": kept})


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
