"""The iframe pages Atlassian loads (Confluence macro, Jira issue panel, glance, project page,
OKR and admin pages) and the form posts those pages make (check-in, link, unlink, digest
channels).

Authentication: Atlassian signs iframe URLs with a JWT whose `qsh` binds the exact request, so
those routes refuse context tokens. Requests the page itself makes (forms, search) carry a
Connect *context* token that the page was given (`qsh: context-qsh`, 15 minutes), and every
POST also carries a CSRF token bound to (site, account, form, expiry). With `OKRLINK_DEV=1`
only, `?dev_token=` stands in for Atlassian's JWT so the local demo opens in a plain browser.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, redirect, request, url_for
from markupsafe import Markup, escape

from connect.doors.atlassian_connect.verify import authenticate_connect, tenants
from connect.errors import (
    ApiError,
    AuthError,
    BadRequest,
    Conflict,
    ForbiddenError,
    NotFound,
    ValidationError,
)
from connect.retro_publish import publish_closed_cycle
from connect.services import services
from connect.ui import panels
from connect.ui.admin import DigestForm, load_admin, render_admin_page
from connect.ui.alignment import load_alignment, pick_cycle
from connect.ui.cache import PageCache
from connect.ui.editor import FORMS as EDIT_FORMS
from connect.ui.editor import Editor, parse_kr_form
from connect.ui.headers import page_headers
from connect.ui.i18n import pick_locale, translator
from connect.ui.panel_page import TEAM_KEY, PanelRequest, panel_request, serve_panel, team_param
from connect.ui.render import (
    render_checkin_page,
    render_empty_panel,
    render_glance_label,
    render_issue_panel,
    render_kr_page,
    render_message_page,
    render_okrs_page,
    render_panel,
    render_retro,
    render_review,
)
from connect.ui.retro import load_retro
from connect.ui.review import load_review
from connect.ui.tokens import (
    DEV_ACCOUNT_ID,
    FormTokens,
    context_token,
    dev_token_client_key,
)
from connect.ui.viewmodel import PanelView
from sync.core.progress import STATUSES
from sync.core.spec import CycleSpec, quarter, quarter_of
from sync.cycles import close_cycle as close_team_cycle
from sync.cycles import parse_close
from sync.digest import ChannelSpec, add_channel, list_channels, remove_channel
from sync.engine import recompute
from sync.errors import Closed, Duplicate, Invalid
from sync.okrs import (
    abandon,
    changes_of,
    create_key_result,
    create_objective,
    get_or_create_cycle,
    link_work,
    record_check_in,
    unlink_work,
    update_key_result,
    update_objective,
)
from sync.profiles import site_profile
from sync.store import check_ins_of, find_cycle, find_kr, find_objective, find_team

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

blueprint = Blueprint("ui", __name__)

HOST_PARAMS = ("xdm_e", "xdm_c", "cp", "cv", "lic", "loc", "lang")
"""Atlassian's iframe parameters (all.js reads some), carried into the URLs our pages build."""

ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,63}-\d{1,12}")
CHECKIN_PURPOSE = "check-in"
EDIT_PURPOSE = CHECKIN_PURPOSE
"""The project page's forms (check-in, writing, close) share the one token the page carries."""
LINK_PURPOSE = "issue-links"
CHECKIN_FIELDS = ("value", "status", "score", "confidence", "what", "why", "next", "decisions",
                  "risks", "learnings")  # fmt: skip
FIELD_MESSAGES = {"score": "error.score_range", "status": "error.status", "what": "error.required",
                  "confidence": "error.confidence_range"}  # fmt: skip


# --- services ------------------------------------------------------------------------------


def page_cache() -> PageCache:
    return services().ui_page_cache


def form_tokens() -> FormTokens:
    return services().ui_form_tokens


def now() -> datetime:
    return services().jobs.ports.clock.now()


# --- authentication ------------------------------------------------------------------------


def _dev_login() -> None:
    """Accept `?dev_token=` in place of a Connect JWT, only when `OKRLINK_DEV=1`."""
    if not services().settings.dev:
        raise ForbiddenError(
            "development tokens are refused unless OKRLINK_DEV=1", code="dev_token_refused"
        )
    client_key = dev_token_client_key(services().ui_key, request.args["dev_token"])
    tenant = tenants().tenant(client_key) if client_key else None
    if tenant is None or not tenant.enabled:
        raise AuthError("invalid development token", code="dev_token_invalid")
    g.tenant, g.site_id, g.account_id, g.claims = tenant, tenant.site_id, DEV_ACCOUNT_ID, None


def page_auth(*, allow_context_qsh: bool) -> Callable[[F], F]:
    """Verify the Connect JWT (or, in development, the dev token) before the view runs."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if "dev_token" in request.args:
                _dev_login()
            else:
                authenticate_connect(allow_context_qsh=allow_context_qsh)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def _page_token() -> dict[str, str]:
    """How the page authenticates its own requests: the dev token, or a fresh context JWT."""
    if "dev_token" in request.args:
        return {"dev_token": request.args["dev_token"]}
    secret = tenants().secret_for(g.tenant.client_key)
    if not secret:
        raise AuthError("unknown or disabled installation", code="unknown_issuer")
    return {"jwt": context_token(client_key=g.tenant.client_key, shared_secret=secret,
                                 account_id=g.account_id)}  # fmt: skip


def _page_url(endpoint: str, **params: str) -> str:
    """A URL to one of our routes for the page to call, with its token and the host params."""
    carried = {name: request.args[name] for name in HOST_PARAMS if name in request.args}
    return url_for(endpoint, **carried, **params, **_page_token())


def _check_csrf(purpose: str) -> None:
    if not form_tokens().check(request.form.get("csrf_token"), site_id=g.site_id,
                               account=g.account_id, purpose=purpose):  # fmt: skip
        raise ForbiddenError("the form expired or did not come from this page", code="csrf")


# --- responses -----------------------------------------------------------------------------


def locale() -> str:
    return pick_locale(query=request.args, accept_language=request.headers.get("Accept-Language"))


def html_response(
    html: str, *, status: int = 200, scripts: bool = True, private: bool = True
) -> Response:
    """An iframe page with its CSP; `private` pages carry tokens and are never stored."""
    tenant = g.get("tenant")
    headers = page_headers(scripts=scripts, private=private,
                           base_url=tenant.base_url if tenant is not None else None)  # fmt: skip
    return Response(html, status=status, mimetype="text/html", headers=headers)


def _see_other(url: str) -> Response:
    """A 303 to one of our pages; its Location carries the page token, so it is not stored."""
    response = redirect(url, code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response  # type: ignore[return-value]


@blueprint.errorhandler(ApiError)
def error_page(error: ApiError) -> Response:
    """Errors on these pages are shown as a page inside the iframe, not as JSON."""
    html = render_message_page(
        f"{error.status} {error.code.replace('_', ' ')}", error.message, locale(),
        host_script=True,
    )  # fmt: skip
    return html_response(html, status=error.status)


# --- the OKR panel (Confluence macro) ------------------------------------------------------


def _team_param(name: str) -> str:
    return team_param(request.args, name)


def _empty(query: panels.PanelQuery, lang: str) -> str:
    cycle = query.cycle or panels.current_cycle_name(now().date())
    return render_empty_panel(team=query.team, cycle=cycle, locale=lang)


def _cached_panel(*, static: bool) -> Response:
    """The panel from the page cache, rendered on a miss (hits mostly never get here: they are
    answered by `connect/http/panel.py` before Flask runs)."""
    today = now().date()
    store = services().store

    def render(panel: PanelRequest) -> str:
        if panel.mode == "retro":
            with store.session() as session:
                retro = load_retro(session, g.site_id, team=panel.query.team,
                                   cycle=panel.query.cycle)  # fmt: skip
            if retro is None:
                return _empty(panel.query, panel.locale)
            return render_retro(retro, locale=panel.locale, host_script=not panel.static)
        if panel.mode == "review":
            with store.session() as session:
                review = load_review(session, g.site_id, team=panel.query.team,
                                     cycle=panel.query.cycle, now=now())  # fmt: skip
            if review is None:
                return _empty(panel.query, panel.locale)
            return render_review(review, locale=panel.locale, host_script=not panel.static)
        with store.session() as session:
            view = panels.load_panel(session, g.site_id, panel.query, today=today)
        if view is None:
            return _empty(panel.query, panel.locale)
        return render_panel(view, mode=panel.mode, locale=panel.locale, static=panel.static,
                            host_script=not panel.static)  # fmt: skip

    panel = panel_request(request.args, static=static,
                          accept_language=request.headers.get("Accept-Language"))  # fmt: skip
    answer = serve_panel(
        panel,
        cache=page_cache(),
        versions=services().ui_panel_versions,
        site_id=g.site_id,
        base_url=g.tenant.base_url,
        today=today,
        if_none_match=request.headers.get("If-None-Match"),
        accept_encoding=request.headers.get("Accept-Encoding"),
        render=render,
    )
    assert answer is not None  # given `render`, a miss is rendered
    return Response(answer.body, status=answer.status, headers=answer.headers)


@blueprint.get("/confluence/macro/okr-panel")
@page_auth(allow_context_qsh=False)
def confluence_panel() -> Response:
    """The Confluence dynamic content macro."""
    return _cached_panel(static=False)


@blueprint.get("/confluence/macro/okr-panel/static")
@page_auth(allow_context_qsh=False)
def confluence_panel_static() -> Response:
    """The macro's PDF / email / export rendering: the same content, no script."""
    return _cached_panel(static=True)


# --- the Jira project page and check-ins ---------------------------------------------------


def _cycle_view(team: str, cycle: str) -> PanelView:
    """An empty page of the team's cycle (named, else the current quarter): its forms start it."""
    try:
        spec = quarter(cycle) if cycle else quarter_of(now().date())
    except ValueError:
        with services().store.session() as session:
            row = find_cycle(session, g.site_id, cycle)
        if row is None:
            raise NotFound(f"no cycle {cycle}", field="cycle") from None
        spec = CycleSpec(name=row.name, start=row.start, end=row.end)
    return PanelView(team=team, cycle=spec.name, cycle_start=spec.start, cycle_end=spec.end,
                     objectives=())  # fmt: skip


def _tabs(carried: dict[str, str], *, review: bool, lang: str) -> Markup:
    """The project page's tabs: its OKRs, and the weekly review."""
    t = translator(lang)
    okrs_url = _page_url("ui.project_page_view", **carried)
    review_url = _page_url("ui.project_page_view", **carried, view="review")
    return Markup(  # noqa: S704 - every part is escaped here
        '<nav class="meta" data-tabs>'
        + (f'<a href="{escape(okrs_url)}" data-tab="okrs">{escape(t("review.okrs_tab"))}</a>'
           if review else f'<strong data-tab="okrs">{escape(t("review.okrs_tab"))}</strong>')
        + " "
        + (f'<strong data-tab="review">{escape(t("review.tab"))}</strong>' if review else
           f'<a href="{escape(review_url)}" data-tab="review">{escape(t("review.tab"))}</a>')
        + "</nav>"
    )  # fmt: skip


def _project_page(team: str, *, cycle: str = "", editor: Editor | None = None,
                  status: int = 200) -> Response:  # fmt: skip
    query = panels.PanelQuery(team=team, cycle=cycle)
    lang = locale()
    with services().store.session() as session:
        view = panels.load_panel(session, g.site_id, query, today=now().date())
    if view is None:
        view = _cycle_view(team, cycle)
    carried = {"projectKey": team, "cycle": view.cycle}
    tabs = _tabs(carried, review=request.args.get("view") == "review", lang=lang)
    if request.args.get("view") == "review":
        with services().store.session() as session:
            review = load_review(session, g.site_id, team=team, cycle=view.cycle, now=now())
        if review is not None:
            return html_response(render_review(review, locale=lang, tabs=tabs))
    with services().store.session() as session:
        retro = load_retro(session, g.site_id, team=team, cycle=view.cycle)
    if retro is not None:  # a closed cycle is read-only: no forms
        html = render_panel(view, mode="full", locale=lang, is_editor=True, tabs=tabs,
                            retro=retro)  # fmt: skip
        return html_response(html, status=status)
    csrf = form_tokens().issue(site_id=g.site_id, account=g.account_id, purpose=CHECKIN_PURPOSE)
    if editor is None:
        editor = Editor(action_url=_page_url("ui.edit_okrs", **carried), csrf_token=csrf,
                        saved=request.args.get("saved", ""))  # fmt: skip
    if view.objectives:
        editor = replace(editor, close_url=_page_url("ui.close_cycle", **carried),
                         kr_url=_page_url("ui.kr_page", projectKey=team))  # fmt: skip
    html = render_panel(
        view, mode="full", locale=lang, is_editor=True, csrf_token=csrf,
        checkin_url=_page_url("ui.check_in", **carried), editor=editor, tabs=tabs,
    )  # fmt: skip
    return html_response(html, status=status)


@blueprint.get("/jira/project-page")
@page_auth(allow_context_qsh=False)
def project_page() -> Response:
    """The Jira project page: the team's OKRs (team key = project key) with check-in forms."""
    return _project_page(_team_param("projectKey"), cycle=request.args.get("cycle", "").strip())


@blueprint.get("/jira/project-page/view")
@page_auth(allow_context_qsh=True)
def project_page_view() -> Response:
    """The project page as the page itself reloads it (after a check-in)."""
    return _project_page(_team_param("projectKey"), cycle=request.args.get("cycle", "").strip())


def _form_number(raw: str, field: str, errors: dict[str, str]) -> float | None:
    text = raw.strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors[field] = "error.number"
        return None
    return value


def parse_checkin_form(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The check-in form as `record_check_in` data, and the fields that are not numbers."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "value": _form_number(form.get("value", ""), "value", errors),
        "score": _form_number(form.get("score", ""), "score", errors),
        "status": form.get("status", "").strip() or None,
        "confidence": _form_number(form.get("confidence", ""), "confidence", errors),
    }
    if data["confidence"] is not None and not 0 <= data["confidence"] <= 1:
        errors["confidence"] = "error.confidence_range"
    if data["score"] is not None and not 0 <= data["score"] <= 1:
        errors["score"] = "error.score_range"
    if data["status"] is not None and data["status"] not in STATUSES:
        errors["status"] = "error.status"
    for name in ("what", "why", "next", "decisions", "risks", "learnings"):
        data[name] = form.get(name, "")
    return data, errors


def _checkin_error(error: Invalid) -> tuple[str, str]:
    field = error.field if error.field in CHECKIN_FIELDS else "what"
    return field, FIELD_MESSAGES.get(field, error.message)


@blueprint.post("/jira/check-in")
@page_auth(allow_context_qsh=True)
def check_in() -> Response:
    """Record a check-in from the form; errors are shown next to their fields (422)."""
    _check_csrf(CHECKIN_PURPOSE)
    kr_key = request.form.get("kr", "")
    data, errors = parse_checkin_form(request.form)
    changed: list[int] = []
    with services().store.session() as session:
        kr = find_kr(session, g.site_id, kr_key)
        if kr is None:
            raise NotFound(f"no key result {kr_key}", field="kr")
        if not errors:
            try:
                record_check_in(session, kr, data, author=g.account_id, at=now())
            except Invalid as error:
                field, message = _checkin_error(error)
                errors[field] = message
            else:
                changed = recompute(session, g.site_id, [kr.id], now=now())
        if errors:
            return _checkin_page_with_errors(session, kr_key, errors)
    if changed:
        services().jobs.flush_soon(g.site_id)
    team = request.args.get("projectKey", "")
    params = {"projectKey": team} if TEAM_KEY.fullmatch(team) else {}
    if cycle := request.args.get("cycle", ""):
        params["cycle"] = cycle
    return _see_other(_page_url("ui.project_page_view", **params))


def _checkin_page_with_errors(session: Any, kr_key: str, errors: dict[str, str]) -> Response:
    where = panels.find_kr_panel(session, g.site_id, kr_key)
    view = panels.load_panel(session, g.site_id, where, today=now().date()) if where else None
    kr = next((k for o in (view.objectives if view else ()) for k in o.krs if k.key == kr_key),
              None)  # fmt: skip
    if kr is None:
        raise NotFound(f"no key result {kr_key}", field="kr")
    values = {name: request.form.get(name, "") for name in CHECKIN_FIELDS}
    csrf = form_tokens().issue(site_id=g.site_id, account=g.account_id, purpose=CHECKIN_PURPOSE)
    carried = {n: request.args[n] for n in ("projectKey", "cycle") if n in request.args}
    html = render_checkin_page(
        kr, locale=locale(), csrf_token=csrf, action_url=_page_url("ui.check_in", **carried),
        errors=errors, values=values,
    )  # fmt: skip
    return html_response(html, status=422)


@blueprint.get("/jira/project-page/kr")
@page_auth(allow_context_qsh=True)
def kr_page() -> Response:
    """A KR of the project page on its own: every check-in and every change to its definition."""
    team = _project_team()
    key = request.args.get("kr", "").strip()
    with services().store.session() as session:
        kr = find_kr(session, g.site_id, key)
        if kr is None or kr.objective.team.key != team:
            raise NotFound(f"no key result {key}", field="kr")
        html = render_kr_page(
            kr, check_ins=check_ins_of(session, kr),
            changes=changes_of(session, g.site_id, kr.cycle_id, kr.key), locale=locale(),
            back_url=_page_url("ui.project_page_view", projectKey=team),
            trend=panels.load_kr_trend(session, g.site_id, kr),
        )  # fmt: skip
    return html_response(html)


# --- writing OKRs on the project page -------------------------------------------------------


def _project_team() -> str:
    team = request.args.get("projectKey", "").strip()
    if not TEAM_KEY.fullmatch(team):
        raise BadRequest("give the project key in projectKey", code="team")
    return team


def _edit(session: Any, form: str, team: str, cycle: str) -> tuple[str, list[int]]:
    """Apply one writing form through the domain; returns the key saved and KRs to re-derive.

    Values that are not numbers were refused before; the domain refuses the rest (`Invalid`).
    """
    fields = request.form
    author, at = g.account_id, now()
    if form == "new-objective":
        spec = quarter(cycle) if cycle[:4].isdigit() else quarter_of(at.date())
        cycle_row = get_or_create_cycle(session, g.site_id, spec)
        objective = create_objective(session, g.site_id, cycle_row, team=team,
                                     title=fields.get("title", ""),
                                     parent=fields.get("parent", "").strip() or None,
                                     author=author, at=at)  # fmt: skip
        return objective.key, []
    if form in ("edit-objective", "abandon-objective", "new-key-result"):
        key = fields.get("objective", "")
        objective = find_objective(session, g.site_id, key, cycle or None)
        if objective is None or objective.team.key != team:
            raise NotFound(f"no objective {key}", field="objective")
        if form == "edit-objective":
            update_objective(session, objective, {"title": fields.get("title", ""),
                                                  "parent": fields.get("parent", "")},
                             author=author, at=at)  # fmt: skip
            return objective.key, []
        if form == "abandon-objective":
            krs = abandon(session, objective, fields.get("abandon_reason"), author=author, at=at)
            return objective.key, [kr.id for kr in krs]
        data, errors = parse_kr_form(fields, new=True)
        if errors:
            raise _FormErrors(errors)
        kr = create_key_result(session, objective, data, author=author, at=at)
        return kr.key, [kr.id]
    kr_key = fields.get("kr", "")
    kr = find_kr(session, g.site_id, kr_key)
    if kr is None or kr.objective.team.key != team:
        raise NotFound(f"no key result {kr_key}", field="kr")
    if form == "abandon-key-result":
        abandon(session, kr, fields.get("abandon_reason"), author=author, at=at)
        return kr.key, [kr.id]
    data, errors = parse_kr_form(fields, new=False)
    if errors:
        raise _FormErrors(errors)
    update_key_result(session, kr, data, author=author, at=at)
    return kr.key, [kr.id]


class _FormErrors(Exception):
    """Fields of a form that are not numbers: nothing is saved, they are shown beside them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@blueprint.post("/jira/okrs/edit")
@page_auth(allow_context_qsh=True)
def edit_okrs() -> Response:
    """Save one writing form of the project page; a practice finding saves and is shown beside
    its field, a bad value saves nothing and answers 422 with the error beside the field."""
    _check_csrf(EDIT_PURPOSE)
    form = request.form.get("form", "")
    if form not in EDIT_FORMS:
        raise ValidationError(f"form must be one of {', '.join(EDIT_FORMS)}", field="form")
    team = _project_team()
    cycle = request.args.get("cycle", "").strip()
    target = request.form.get("objective" if "objective" in request.form else "kr", "")
    errors: dict[str, str] = {}
    try:
        with services().store.session() as session:
            saved, kr_ids = _edit(session, form, team, cycle)
            changed = recompute(session, g.site_id, kr_ids, now=now()) if kr_ids else []
    except _FormErrors as failed:
        errors = failed.errors
    except Closed as closed:
        raise Conflict(closed.message, code="cycle_closed", field="cycle") from closed
    except (Invalid, Duplicate) as invalid:
        errors = {invalid.field or "title": _form_message(invalid)}
    if errors:
        editor = Editor(
            action_url=_page_url("ui.edit_okrs", projectKey=team, cycle=cycle),
            csrf_token=form_tokens().issue(site_id=g.site_id, account=g.account_id,
                                           purpose=EDIT_PURPOSE),
            form=form, target="" if form == "new-objective" else target, errors=errors,
            values={name: request.form.get(name, "") for name in request.form},
        )  # fmt: skip
        return _project_page(team, cycle=cycle, editor=editor, status=422)
    if changed:
        services().jobs.flush_soon(g.site_id)
    params = {"projectKey": team, "saved": saved}
    if cycle:
        params["cycle"] = cycle
    return _see_other(_page_url("ui.project_page_view", **params))


def _form_message(error: Invalid | Duplicate) -> str:
    """A refusal as the page says it: a catalogue key when there is one, else the message."""
    if error.field in ("title", "abandon_reason") and "required" in error.message:
        return "error.required"
    if error.field == "abandon_reason":
        return "error.required"
    return error.message


@blueprint.post("/jira/okrs/close")
@page_auth(allow_context_qsh=True)
def close_cycle() -> Response:
    """Close the team's cycle from the `close-cycle` form: final scores (the derived score
    unless changed, with a reason), the retrospective, the KRs ticked to carry over."""
    _check_csrf(EDIT_PURPOSE)
    team = _project_team()
    cycle = request.args.get("cycle", "").strip()
    form = request.form
    scores: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for name in form:
        if name.startswith("score:"):
            key = name[6:]
            value = _form_number(form[name], name, errors)
            if value is not None:
                scores[key] = {"score": value, "reason": form.get(f"reason:{key}", "")}
    data = {"scores": scores, "carry_over": form.getlist("carry_over"),
            "retro": {"learned": form.get("learned", ""),
                      "differently": form.get("differently", ""),
                      "space": form.get("space", "")}}  # fmt: skip
    if not errors:
        try:
            with services().store.session() as session:
                cycle_row = find_cycle(session, g.site_id, cycle)
                if cycle_row is None or find_team(session, g.site_id, team) is None:
                    raise NotFound(f"no cycle {cycle} of team {team}", field="cycle")
                report = close_team_cycle(session, g.site_id, team=team, cycle=cycle_row,
                                          request=parse_close(data), author=g.account_id,
                                          at=now())  # fmt: skip
                recompute(session, g.site_id, [kr.id for kr in [*report.scored, *report.carried]],
                          now=now())  # fmt: skip
        except Closed as closed:
            raise Conflict(closed.message, code="cycle_closed", field="cycle") from closed
        except Invalid as invalid:
            errors[_close_field(invalid.field)] = invalid.message
    if errors:
        editor = Editor(action_url=_page_url("ui.edit_okrs", projectKey=team, cycle=cycle),
                        csrf_token=form_tokens().issue(site_id=g.site_id, account=g.account_id,
                                                       purpose=EDIT_PURPOSE),
                        form="close-cycle", errors=errors,
                        values={name: form.get(name, "") for name in form})  # fmt: skip
        return _project_page(team, cycle=cycle, editor=editor, status=422)
    params = {"projectKey": team, "cycle": cycle}
    space = form.get("space", "").strip()
    if space:
        page = publish_closed_cycle(services(), g.site_id, team=team, cycle=cycle)
        if "error" in page:  # queued or parked: the retrospective view says which
            log.warning("retrospective of %s %s not published (%s): %s", team, cycle,
                        page["status"], page["error"])  # fmt: skip
    # After the page's own try, so a flush does not take up its row while it is being written.
    services().jobs.flush_soon(g.site_id)
    return _see_other(_page_url("ui.project_page_view", **params))


def _close_field(field: str | None) -> str:
    """The form field of a refusal: `scores.PLAT-1.1.reason` is `reason:PLAT-1.1`."""
    if field and field.startswith("scores."):
        key, _, part = field[7:].rpartition(".")
        if part in ("reason", "score"):
            return f"{part}:{key}"
        return f"score:{field[7:]}"
    return field or "learned"


# --- the Jira issue panel and glance ------------------------------------------------------


def _issue_param(*names: str) -> str:
    for name in names:
        value = request.args.get(name, "").strip()
        if value:
            if not ISSUE_KEY.fullmatch(value):
                raise BadRequest(f"{name} is not an issue key", code="issue_key")
            return value
    raise BadRequest("give the issue key in issueKey", code="issue_key")


def _issue_panel(issue_key: str) -> Response:
    lang = locale()
    q = request.args.get("q", "").strip()
    with services().store.session() as session:
        krs = panels.issue_krs(session, g.site_id, issue_key)
        results = panels.search_krs(session, g.site_id, q) if "q" in request.args else None
    html = render_issue_panel(
        issue_key=issue_key, krs=krs,
        search_url=_page_url("ui.issue_panel_view", issue=issue_key),
        link_url=_page_url("ui.issue_link"), unlink_url=_page_url("ui.issue_unlink"),
        csrf_token=form_tokens().issue(site_id=g.site_id, account=g.account_id,
                                       purpose=LINK_PURPOSE),
        locale=lang, results=results, query=q,
    )  # fmt: skip
    return html_response(html)


@blueprint.get("/jira/issue-panel")
@page_auth(allow_context_qsh=False)
def issue_panel() -> Response:
    """The issue panel: KRs the issue contributes to (directly or via its epic), link, search."""
    return _issue_panel(_issue_param("issueKey"))


@blueprint.get("/jira/issue-panel/view")
@page_auth(allow_context_qsh=True)
def issue_panel_view() -> Response:
    """The issue panel as the page itself reloads it (search, after link or unlink)."""
    return _issue_panel(_issue_param("issue", "issueKey"))


@blueprint.get("/jira/issue-glance")
@page_auth(allow_context_qsh=False)
def issue_glance() -> Response:
    """The glance's panel (the issue panel), or with `format=json` the glance label."""
    issue_key = _issue_param("issueKey")
    if request.args.get("format") == "json":
        with services().store.session() as session:
            krs = panels.issue_krs(session, g.site_id, issue_key)
        response = jsonify(render_glance_label(krs, locale=locale()))
        response.headers["Cache-Control"] = "no-store"
        return response
    return _issue_panel(issue_key)


def _link_form() -> tuple[str, str]:
    _check_csrf(LINK_PURPOSE)
    issue, kr_key = request.form.get("issue", "").strip(), request.form.get("kr", "").strip()
    if not ISSUE_KEY.fullmatch(issue):
        raise ValidationError("not an issue key", field="issue")
    return issue, kr_key


def _after_link(session: Any, kr_id: int) -> bool:
    return bool(recompute(session, g.site_id, [kr_id], now=now()))


@blueprint.post("/jira/issue-panel/link")
@page_auth(allow_context_qsh=True)
def issue_link() -> Response:
    """Link the issue to a KR (source `panel`); progress is recomputed at once."""
    issue, kr_key = _link_form()
    with services().store.session() as session:
        kr = find_kr(session, g.site_id, kr_key)
        if kr is None:
            raise NotFound(f"no key result {kr_key}", field="kr")
        link_work(session, g.site_id, kr, kind="jira", target=issue, source="panel",
                  on_link=services().jira_sync.on_link)  # fmt: skip
        changed = _after_link(session, kr.id)
    if changed:
        services().jobs.flush_soon(g.site_id)
    return _see_other(_page_url("ui.issue_panel_view", issue=issue))


@blueprint.post("/jira/issue-panel/unlink")
@page_auth(allow_context_qsh=True)
def issue_unlink() -> Response:
    """Remove the issue's direct links to a KR; progress is recomputed at once."""
    issue, kr_key = _link_form()
    with services().store.session() as session:
        kr = find_kr(session, g.site_id, kr_key)
        if kr is None:
            raise NotFound(f"no key result {kr_key}", field="kr")
        unlink_work(session, g.site_id, kr, target=issue, now=now(), kinds=("jira",))
        _after_link(session, kr.id)
    services().jobs.flush_soon(g.site_id)  # the issue's property changed either way
    return _see_other(_page_url("ui.issue_panel_view", issue=issue))


# --- general and admin pages ---------------------------------------------------------------


def _okrs_page() -> Response:
    lang = locale()
    cycle = request.args.get("cycle", "").strip()
    today = now().date()
    with services().store.session() as session:
        cycle_row = pick_cycle(session, g.site_id, cycle, today)
        if cycle_row is None:
            query = panels.PanelQuery(team=request.args.get("team", "").strip(), cycle=cycle)
            return html_response(_empty(query, lang))
        alignment = load_alignment(session, g.site_id, cycle_row)
        team = request.args.get("team", "").strip() or (alignment.teams[0] if alignment.teams
                                                        else "")  # fmt: skip
        query = panels.PanelQuery(team=team, cycle=cycle_row.name)
        view = panels.load_panel(session, g.site_id, query, today=today) if team else None
    links = [(key, _page_url("ui.okrs_page_view", team=key, cycle=alignment.cycle))
             for key in alignment.teams]  # fmt: skip
    return html_response(render_okrs_page(alignment, view, team_links=links, locale=lang))


@blueprint.get("/jira/okrs")
@page_auth(allow_context_qsh=False)
def okrs_page() -> Response:
    """The Jira general page: a team picker (`team`), the cycle's (`cycle`) alignment tree of
    every team's objectives, and the chosen team's OKRs (else the first team's)."""
    return _okrs_page()


@blueprint.get("/jira/okrs/view")
@page_auth(allow_context_qsh=True)
def okrs_page_view() -> Response:
    """The OKRs page as its team picker reloads it."""
    return _okrs_page()


DIGEST_PURPOSE = "digest-channels"
"""The admin page's digest forms. Its CSRF token is issued only on the admin page, which Jira
shows to site administrators only (its iframe JWT binds that exact URL), so a valid token also
says the poster opened the admin page."""


def _admin_page(*, status: int = 200, values: dict[str, str] | None = None,
                error: str | None = None) -> Response:  # fmt: skip
    with services().store.session() as session:
        installations, github = load_admin(session, g.site_id)
        channels = list_channels(session, g.site_id)
        profile = site_profile(session, g.site_id)
    form = DigestForm(
        add_url=_page_url("ui.digest_channel_add"),
        remove_url=_page_url("ui.digest_channel_remove"),
        csrf_token=form_tokens().issue(site_id=g.site_id, account=g.account_id,
                                       purpose=DIGEST_PURPOSE),
        values=values or {}, error=error,
    )  # fmt: skip
    html = render_admin_page(installations=installations, github=github, locale=locale(),
                             channels=channels, digest_form=form, profile=profile)  # fmt: skip
    return html_response(html, status=status)


@blueprint.get("/jira/admin")
@page_auth(allow_context_qsh=False)
def admin_page() -> Response:
    """The Jira admin page: installations, mapped GitHub installations, digest channels."""
    return _admin_page()


@blueprint.get("/jira/admin/view")
@page_auth(allow_context_qsh=True)
def admin_page_view() -> Response:
    """The admin page as the page itself reloads it (after adding or removing a channel)."""
    return _admin_page()


@blueprint.post("/jira/admin/digest-channels")
@page_auth(allow_context_qsh=True)
def digest_channel_add() -> Response:
    """Add a digest channel; a refused one shows the page again with the reason (422)."""
    _check_csrf(DIGEST_PURPOSE)
    form = {name: request.form.get(name, "").strip()
            for name in ("team", "kind", "day", "time", "tz", "lang")}  # fmt: skip
    spec = ChannelSpec(team=form["team"].upper(), kind=form["kind"],
                       url=request.form.get("url", ""), day=form["day"] or "mon",
                       at=form["time"] or "09:00", tz=form["tz"] or "UTC",
                       lang=form["lang"] or "en")  # fmt: skip
    try:
        with services().store.session() as session:
            add_channel(session, g.site_id, spec, encrypt=services().tenants.encrypt,
                        now=now(), allow_loopback_http=services().settings.dev)  # fmt: skip
    except Invalid as error:
        return _admin_page(status=422, values=form, error=error.message)
    return _see_other(_page_url("ui.admin_page_view"))


@blueprint.post("/jira/admin/digest-channels/remove")
@page_auth(allow_context_qsh=True)
def digest_channel_remove() -> Response:
    """Remove one of this site's digest channels."""
    _check_csrf(DIGEST_PURPOSE)
    raw = request.form.get("channel", "")
    if not raw.isdigit():
        raise ValidationError("not a channel id", field="channel")
    with services().store.session() as session:
        if not remove_channel(session, int(raw), site_id=g.site_id):
            raise NotFound(f"no digest channel {raw}", field="channel")
    return _see_other(_page_url("ui.admin_page_view"))
