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
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, redirect, request, url_for

from connect.doors.atlassian_connect.verify import authenticate_connect, tenants
from connect.errors import (
    ApiError,
    AuthError,
    BadRequest,
    ForbiddenError,
    NotFound,
    ValidationError,
)
from connect.permissions import permissions, request_caller, require_admin, require_check_in
from connect.services import services
from connect.ui import panels
from connect.ui.admin import DigestForm, GeckoboardForm, load_admin, render_admin_page
from connect.ui.alignment import load_alignment, pick_cycle
from connect.ui.cache import PageCache
from connect.ui.editor import NEW_CYCLE_FORM
from connect.ui.gadget import PROPERTY_KEY, GadgetConfig, choices
from connect.ui.headers import page_headers
from connect.ui.i18n import pick_locale, translator
from connect.ui.kr_preview import post_preview
from connect.ui.panel_page import (
    TEAM_KEY,
    panel_request,
    render_panel_request,
    serve_panel,
    team_param,
)
from connect.ui.project_forms import (
    CLOSE_FORM,
    MONTHLY_FORM,
    Posted,
    Poster,
    check_csrf,
    post_check_in,
    post_close,
    post_edit,
    post_monthly_score,
)
from connect.ui.project_page import (
    ProjectPage,
    render_checkin_failure,
    render_project_kr_page,
    render_project_page,
)
from connect.ui.render import (
    render_empty_panel,
    render_gadget,
    render_glance_label,
    render_issue_panel,
    render_message_page,
    render_okrs_page,
)
from connect.ui.tokens import (
    DEV_ACCOUNT_ID,
    FormTokens,
    context_token,
    dev_token_client_key,
)
from sync.db.store import find_kr
from sync.digest import ChannelSpec, add_channel, list_channels, remove_channel
from sync.engine.snapshots import recompute
from sync.errors import Invalid, OutsideError
from sync.geckoboard import add_dataset, list_datasets, remove_dataset
from sync.okrs import (
    link_work,
    unlink_work,
)
from sync.people import UNKNOWN
from sync.permissions import Refused, Unavailable
from sync.profiles import site_profile

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)

blueprint = Blueprint("ui", __name__)

HOST_PARAMS = ("xdm_e", "xdm_c", "cp", "cv", "lic", "loc", "lang")
"""Atlassian's iframe parameters (all.js reads some), carried into the URLs our pages build."""

ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,63}-\d{1,12}")
LINK_PURPOSE = "issue-links"


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
    client_key = dev_token_client_key(services().dev_token_key, request.args["dev_token"])
    tenant = tenants().tenant(client_key) if client_key else None
    if tenant is None or not tenant.enabled:
        raise AuthError("invalid development token", code="dev_token_invalid")
    g.tenant, g.site_id, g.account_id, g.claims = tenant, tenant.site_id, DEV_ACCOUNT_ID, None
    g.operator = True  # the local demo's operator: no Jira to ask who may write


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
    return {
        "jwt": context_token(
            client_key=g.tenant.client_key, shared_secret=secret, account_id=g.account_id
        )
    }


def _page_url(endpoint: str, **params: str) -> str:
    """A URL to one of our routes for the page to call, with its token and the host params."""
    carried: dict[str, Any] = {
        name: request.args[name] for name in HOST_PARAMS if name in request.args
    }
    return url_for(endpoint, **{**carried, **params, **_page_token()})


def _check_csrf(purpose: str) -> None:
    if not form_tokens().check(
        request.form.get("csrf_token"), site_id=g.site_id, account=g.account_id, purpose=purpose
    ):
        raise ForbiddenError("the form expired or did not come from this page", code="csrf")


# --- responses -----------------------------------------------------------------------------


def locale() -> str:
    return pick_locale(query=request.args, accept_language=request.headers.get("Accept-Language"))


def html_response(
    html: str,
    *,
    status: int = 200,
    scripts: bool = True,
    private: bool = True,
    gadget: bool = False,
) -> Response:
    """An iframe page with its CSP; `private` pages carry tokens and are never stored."""
    tenant = g.get("tenant")
    headers = page_headers(
        scripts=scripts,
        private=private,
        base_url=tenant.base_url if tenant is not None else None,
        gadget=gadget,
    )
    return Response(html, status=status, mimetype="text/html", headers=headers)


def _see_other(url: str) -> Response:
    """A 303 to one of our pages; its Location carries the page token, so it is not stored."""
    response = redirect(url, code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response  # type: ignore[return-value]


@blueprint.errorhandler(ApiError)
def error_page(error: ApiError) -> Response:
    """Errors on these pages are shown as a page inside the iframe, not as JSON (but for the
    owner and issue pickers' searches and the preview's, which the page's script reads)."""
    wants_json = request.accept_mimetypes.best == "application/json"
    if request.endpoint in ("ui.people_search", "ui.issue_search") or (
        request.endpoint == "ui.preview_kr" and wants_json
    ):
        answer = jsonify(error.to_dict())
        answer.status_code = error.http_status
        return answer
    html = render_message_page(
        f"{error.http_status} {error.code.replace('_', ' ')}",
        error.message,
        locale(),
        host_script=True,
        code=error.code,
    )
    return html_response(html, status=error.http_status)


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
    panel = panel_request(
        request.args, static=static, accept_language=request.headers.get("Accept-Language")
    )
    answer = serve_panel(
        panel,
        cache=page_cache(),
        versions=services().ui_panel_versions,
        site_id=g.site_id,
        base_url=g.tenant.base_url,
        today=today,
        if_none_match=request.headers.get("If-None-Match"),
        accept_encoding=request.headers.get("Accept-Encoding"),
        render=functools.partial(render_panel_request, site_id=g.site_id, now=now()),
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


# --- the Jira dashboard gadget (dashboard item) --------------------------------------------

DASHBOARD_ID = re.compile(r"[0-9]{1,20}")
GADGET_MESSAGES = ("not_saved", "not_loaded", "no_host")


def _dev_param(token: Mapping[str, str]) -> dict[str, Any]:
    """The development token as a URL parameter (a page token that is not a JWT)."""
    return {name: value for name, value in token.items() if name == "dev_token"}


@blueprint.get("/jira/dashboard-item")
@page_auth(allow_context_qsh=False)
def dashboard_item() -> Response:
    """The dashboard gadget: anyone signed in on the site reads it. Its script reads the
    gadget's settings from its dashboard item property (as the viewer, through Jira), then
    loads the panel from `/jira/dashboard-item/panel`; without settings, or on Edit, it shows
    the settings form and saves them into the property, which Jira lets only the dashboard's
    editors do."""
    dashboard = request.args.get("dashboardId", "").strip()
    item = request.args.get("dashboardItemId", "").strip()
    if not DASHBOARD_ID.fullmatch(dashboard) or not DASHBOARD_ID.fullmatch(item):
        raise BadRequest(
            "give the dashboard and item ids in dashboardId and dashboardItemId",
            code="dashboard_item",
        )
    lang = locale()
    with services().store.session() as session:
        teams, cycles = choices(session, g.site_id)
    token = _page_token()
    t = translator(lang)
    attrs = [
        ("gadget", "connect"),
        ("dashboard", dashboard),
        ("item", item),
        ("property", PROPERTY_KEY),
        # The token goes in the Authorization header, so the panel's URL stays the same from
        # one load to the next and the browser revalidates it (304) instead of fetching it.
        ("panel-url", url_for("ui.dashboard_item_panel", **{"lang": lang, **_dev_param(token)})),
        ("token", token.get("jwt", "")),
        *((f"msg-{name.replace('_', '-')}", t(f"gadget.{name}")) for name in GADGET_MESSAGES),
    ]
    html = render_gadget(
        teams=teams,
        cycles=cycles,
        config=GadgetConfig(team=teams[0] if teams else ""),
        locale=lang,
        attrs=attrs,
        panel_slot=True,
        hidden_form=True,
    )
    return html_response(html, gadget=True)


@blueprint.get("/jira/dashboard-item/panel")
@page_auth(allow_context_qsh=True)
def dashboard_item_panel() -> Response:
    """The panel a dashboard gadget shows (`team`, `cycle`, `view`), as the gadget's script
    asks for it with the page's token: the macro's static rendering, from the same cache,
    with its ETag and 304s. Anyone signed in on the site reads it."""
    return _cached_panel(static=True)


# --- the Jira project page and check-ins ---------------------------------------------------

CONNECT_ROUTES = {
    "page": "ui.project_page_view",
    "kr": "ui.kr_page",
    "edit": "ui.edit_okrs",
    "preview": "ui.preview_kr",
    "check-in": "ui.check_in",
    "close": "ui.close_cycle",
    "monthly-score": "ui.monthly_score",
    "people": "ui.people_search",
    "issues": "ui.issue_search",
}
"""The project page's routes (`connect/ui/project_page.py`) as this door serves them."""


def _connect_link(route: str, **params: str) -> str:
    """A project page link through this door: the team is the `projectKey`, with the token."""
    if "team" in params:
        params["projectKey"] = params.pop("team")
    return _page_url(CONNECT_ROUTES[route], **params)


def _project_team() -> str:
    team = request.args.get("projectKey", "").strip()
    if not TEAM_KEY.fullmatch(team):
        raise BadRequest("give the project key in projectKey", code="team")
    return team


def _page(team: str, cycle: str, *, values: Mapping[str, str] | None = None) -> ProjectPage:
    return ProjectPage(
        site_id=g.site_id,
        account=g.account_id,
        operator=bool(g.get("operator")),
        team=team,
        cycle=cycle,
        view="review" if request.args.get("view") == "review" else "okrs",
        saved=request.args.get("saved", ""),
        locale=locale(),
        values=values or {},
    )


def _poster(team: str, cycle: str) -> Poster:
    return Poster(
        site_id=g.site_id,
        account=g.account_id,
        team=team,
        cycle=cycle,
        operator=bool(g.get("operator")),
    )


def _posted_values() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in request.form}


@blueprint.get("/jira/project-page")
@page_auth(allow_context_qsh=False)
def project_page() -> Response:
    """The Jira project page: the team's OKRs (team key = project key) with check-in forms."""
    team, cycle = _team_param("projectKey"), request.args.get("cycle", "").strip()
    return html_response(render_project_page(_page(team, cycle), _connect_link))


@blueprint.get("/jira/project-page/view")
@page_auth(allow_context_qsh=True)
def project_page_view() -> Response:
    """The project page as the page itself reloads it (after a check-in)."""
    team, cycle = _team_param("projectKey"), request.args.get("cycle", "").strip()
    return html_response(render_project_page(_page(team, cycle), _connect_link))


@blueprint.post("/jira/check-in")
@page_auth(allow_context_qsh=True)
def check_in() -> Response:
    """Record a check-in from the form; errors are shown next to their fields (422)."""
    check_csrf(request.form.get("csrf_token"), site_id=g.site_id, account=g.account_id)
    team = request.args.get("projectKey", "")
    posted = post_check_in(_poster(team, request.args.get("cycle", "")), request.form)
    if not posted.ok:
        carried = {n: request.args[n] for n in ("projectKey", "cycle") if n in request.args}
        if "projectKey" in carried:
            carried["team"] = carried.pop("projectKey")
        page = _page(team, "", values=_posted_values())
        return html_response(
            render_checkin_failure(page, _connect_link, posted, carried), status=422
        )
    params = {"projectKey": team} if TEAM_KEY.fullmatch(team) else {}
    if cycle := request.args.get("cycle", ""):
        params["cycle"] = cycle
    return _see_other(_page_url("ui.project_page_view", **params))


@blueprint.get("/jira/project-page/kr")
@page_auth(allow_context_qsh=True)
def kr_page() -> Response:
    """A KR of the project page on its own: every check-in and every change to its definition."""
    page = _page(_project_team(), "")
    return html_response(
        render_project_kr_page(page, _connect_link, request.args.get("kr", "").strip())
    )


# --- writing OKRs on the project page -------------------------------------------------------


@blueprint.post("/jira/okrs/edit")
@page_auth(allow_context_qsh=True)
def edit_okrs() -> Response:
    """Save one writing form of the project page; a practice finding saves and is shown beside
    its field, a bad value saves nothing and answers 422 with the error beside the field."""
    check_csrf(request.form.get("csrf_token"), site_id=g.site_id, account=g.account_id)
    team, cycle = _project_team(), request.args.get("cycle", "").strip()
    posted = post_edit(_poster(team, cycle), request.form.get("form", ""), request.form)
    return _after_post(team, cycle, posted)


@blueprint.post("/jira/okrs/preview")
@page_auth(allow_context_qsh=True)
def preview_kr() -> Response:
    """A KR form's "Preview", for whoever may write the team's OKRs: what its source gives now
    (or why it cannot), measured as the saved KR will be; nothing is stored. The page again
    with the value beside the form and the typed values kept, or (`Accept: application/json`,
    the page's script) the preview alone; a bad field answers 422."""
    check_csrf(request.form.get("csrf_token"), site_id=g.site_id, account=g.account_id)
    team, cycle = _project_team(), request.args.get("cycle", "").strip()
    posted = post_preview(_poster(team, cycle), request.form)
    if request.accept_mimetypes.best == "application/json":
        return _preview_json(posted)
    shown = _page(team, cycle, values=_posted_values())
    html = render_project_page(shown, _connect_link, failed=posted)
    return html_response(html, status=200 if posted.ok else 422)


def _preview_json(posted: Posted) -> Response:
    """The preview as the page's script shows it: the API's fields and the value as worded."""
    if posted.preview is None:
        field, message = next(iter(posted.errors.items()))
        text = translator(locale()).maybe(message)
        answer = jsonify({"error": {"code": "invalid", "message": text, "field": field}})
        answer.status_code = 422
        return answer
    shown = translator(locale()).quantity(posted.preview.value, posted.preview.unit)
    return jsonify({**posted.preview.as_json(), "shown": shown})


PICKER_LIMIT = 10
"""How many people the owner picker (and issues the issue picker) offers at once."""


@blueprint.get("/jira/people")
@page_auth(allow_context_qsh=True)
def people_search() -> tuple[Response, int]:
    """The owner picker's search, for anyone the project page was signed for: the users
    matching `q` who may browse the team's project, asked of Jira as the app."""
    team, query = _project_team(), request.args.get("q", "").strip()[:100]
    finder = services().jobs.ports.people
    if not query or finder is None:
        return jsonify({"people": []}), 200
    try:
        found = finder.find_users(g.site_id, project=team, query=query, limit=PICKER_LIMIT)
    except OutsideError as exc:
        log.info("people search for %s not answered: %s", team, exc)
        error = {
            "code": "jira_unavailable",
            "message": "Jira did not answer the search",
            "field": "q",
        }
        return jsonify({"people": [], "error": error}), 502
    people = [
        {"accountId": p["accountId"], "name": str(p.get("displayName") or UNKNOWN)}
        for p in found
        if p.get("active", True) is not False
    ]
    return jsonify({"people": people}), 200


@blueprint.get("/jira/issues")
@page_auth(allow_context_qsh=True)
def issue_search() -> tuple[Response, int]:
    """The issue picker's search on the new KR form (an `issues` KR's keys), for anyone the
    project page was signed for, as the people search: Jira's issue picker, asked as the app,
    for the issues of the team's project matching `q` (a key or words of a summary)."""
    team, query = _project_team(), request.args.get("q", "").strip()[:100]
    finder = services().jobs.ports.issues
    if not query or finder is None:
        return jsonify({"issues": []}), 200
    try:
        found = finder.find_issues(g.site_id, project=team, query=query, limit=PICKER_LIMIT)
    except OutsideError as exc:
        log.info("issue search for %s not answered: %s", team, exc)
        error = {
            "code": "jira_unavailable",
            "message": "Jira did not answer the search",
            "field": "q",
        }
        return jsonify({"issues": [], "error": error}), 502
    issues = [{"key": i["key"], "summary": i.get("summary", "")} for i in found]
    return jsonify({"issues": issues}), 200


@blueprint.post("/jira/okrs/close")
@page_auth(allow_context_qsh=True)
def close_cycle() -> Response:
    """Close the team's cycle from the `close-cycle` form: final scores (the derived score
    unless changed, with a reason), the retrospective, the KRs ticked to carry over."""
    check_csrf(request.form.get("csrf_token"), site_id=g.site_id, account=g.account_id)
    team, cycle = _project_team(), request.args.get("cycle", "").strip()
    return _after_post(team, cycle, post_close(_poster(team, cycle), request.form))


@blueprint.post("/jira/okrs/monthly-score")
@page_auth(allow_context_qsh=True)
def monthly_score() -> Response:
    """Store the month's score from the review tab's `monthly-score` form. Anyone who may check
    in on the KR may score its month; the author is the page token's account. A bad score,
    month or reason saves nothing and answers 422 with the review and the errors beside them."""
    check_csrf(request.form.get("csrf_token"), site_id=g.site_id, account=g.account_id)
    team, cycle = _project_team(), request.args.get("cycle", "").strip()
    return _after_post(team, cycle, post_monthly_score(_poster(team, cycle), request.form))


def _after_post(team: str, cycle: str, posted: Posted) -> Response:
    """Saved: back to the page (showing what was saved); refused: the page again with the
    form's errors beside their fields (422)."""
    if not posted.ok:
        shown = _page(team, cycle, values=_posted_values())
        if posted.form == MONTHLY_FORM:
            shown = replace(shown, view="review")
        html = render_project_page(shown, _connect_link, failed=posted)
        return html_response(html, status=422)
    params = {"projectKey": team}
    if posted.form == MONTHLY_FORM:  # back to the review tab, which shows the score given
        params["view"] = "review"
        if cycle:
            params["cycle"] = cycle
    elif posted.form == CLOSE_FORM:
        params["cycle"] = cycle
    elif posted.form == NEW_CYCLE_FORM:  # the new cycle's page, to write its objectives
        params["cycle"] = posted.saved
    else:
        params["saved"] = posted.saved
        if cycle:
            params["cycle"] = cycle
    return _see_other(_page_url("ui.project_page_view", **params))


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
        linkable = _linkable(session, [k.key for k in [*krs, *(results or [])]])
    html = render_issue_panel(
        issue_key=issue_key,
        krs=krs,
        search_url=_page_url("ui.issue_panel_view", issue=issue_key),
        link_url=_page_url("ui.issue_link"),
        unlink_url=_page_url("ui.issue_unlink"),
        csrf_token=form_tokens().issue(
            site_id=g.site_id, account=g.account_id, purpose=LINK_PURPOSE
        ),
        locale=lang,
        results=results,
        query=q,
        linkable=linkable,
    )
    return html_response(html)


def _linkable(session: Any, keys: list[str]) -> set[str]:
    """The KRs among `keys` the reader may link work to (the forms of the others are hidden;
    posted anyway, they are refused). Jira not answering hides them all."""
    caller, found = request_caller(), set()
    for key in dict.fromkeys(keys):
        kr = find_kr(session, g.site_id, key)
        if kr is None:
            continue
        try:
            permissions().require_check_in(caller, kr.objective.team.key, owner=kr.owner)
        except (Refused, Unavailable):
            continue
        found.add(key)
    return found


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
        require_check_in(kr.objective.team.key, owner=kr.owner)
        link_work(
            session,
            g.site_id,
            kr,
            kind="jira",
            target=issue,
            source="panel",
            on_link=services().jira_sync.on_link,
        )
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
        require_check_in(kr.objective.team.key, owner=kr.owner)
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
        team = request.args.get("team", "").strip() or (
            alignment.teams[0] if alignment.teams else ""
        )
        query = panels.PanelQuery(team=team, cycle=cycle_row.name)
        view = panels.load_panel(session, g.site_id, query, today=today) if team else None
    links = [
        (key, _page_url("ui.okrs_page_view", team=key, cycle=alignment.cycle))
        for key in alignment.teams
    ]
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
"""The admin page's digest forms. The token only says the poster opened a page okrlink gave
them: who may open the page and post its forms is asked of Jira (`require_admin`) each time."""


GECKOBOARD_PURPOSE = "geckoboard-datasets"
"""The admin page's Geckoboard forms, issued and checked like the digest forms."""


def _admin_page(
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    error: Invalid | None = None,
    gecko_team: str = "",
    gecko_error: str | None = None,
) -> Response:
    require_admin()
    with services().store.session() as session:
        installations, github = load_admin(session, g.site_id)
        channels = list_channels(session, g.site_id)
        profile = site_profile(session, g.site_id)
        datasets = list_datasets(session, g.site_id)
    geckoboard_form = GeckoboardForm(
        add_url=_page_url("ui.geckoboard_dataset_add"),
        remove_url=_page_url("ui.geckoboard_dataset_remove"),
        csrf_token=form_tokens().issue(
            site_id=g.site_id, account=g.account_id, purpose=GECKOBOARD_PURPOSE
        ),
        team=gecko_team,
        error=gecko_error,
    )
    form = DigestForm(
        add_url=_page_url("ui.digest_channel_add"),
        remove_url=_page_url("ui.digest_channel_remove"),
        csrf_token=form_tokens().issue(
            site_id=g.site_id, account=g.account_id, purpose=DIGEST_PURPOSE
        ),
        values=values or {},
        error=error.message if error else None,
        error_field=error.field if error else None,
        error_code=error.code if error else None,
    )
    html = render_admin_page(
        installations=installations,
        github=github,
        locale=locale(),
        channels=channels,
        digest_form=form,
        profile=profile,
        datasets=datasets,
        geckoboard_form=geckoboard_form,
    )
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
    require_admin()
    form = {
        name: request.form.get(name, "").strip()
        for name in ("team", "kind", "day", "time", "tz", "lang")
    }
    spec = ChannelSpec(
        team=form["team"].upper(),
        kind=form["kind"],
        url=request.form.get("url", ""),
        day=form["day"] or "mon",
        at=form["time"] or "09:00",
        tz=form["tz"] or "UTC",
        lang=form["lang"] or "en",
    )
    try:
        with services().store.session() as session:
            add_channel(
                session,
                g.site_id,
                spec,
                encrypt=services().tenants.encrypt,
                now=now(),
                urls=services().outbound,
            )
    except Invalid as error:
        return _admin_page(status=422, values=form, error=error)
    return _see_other(_page_url("ui.admin_page_view"))


@blueprint.post("/jira/admin/geckoboard-datasets")
@page_auth(allow_context_qsh=True)
def geckoboard_dataset_add() -> Response:
    """Push a team's KRs to Geckoboard with an API key (site administrators: the admin page's
    form token); a refused one shows the page again with the reason (422), never the key."""
    _check_csrf(GECKOBOARD_PURPOSE)
    team = request.form.get("team", "").strip().upper()
    try:
        with services().store.session() as session:
            add_dataset(
                session,
                g.site_id,
                team=team,
                api_key=request.form.get("api_key", ""),
                encrypt=services().tenants.encrypt,
                now=now(),
            )
    except Invalid as error:
        return _admin_page(status=422, gecko_team=team, gecko_error=error.message)
    services().jobs.flush_soon(g.site_id)  # the first push
    return _see_other(_page_url("ui.admin_page_view"))


@blueprint.post("/jira/admin/geckoboard-datasets/remove")
@page_auth(allow_context_qsh=True)
def geckoboard_dataset_remove() -> Response:
    """Stop pushing one of this site's Geckoboard datasets and forget its key."""
    _check_csrf(GECKOBOARD_PURPOSE)
    raw = request.form.get("dataset", "")
    if not raw.isdigit():
        raise ValidationError("not a dataset id", field="dataset")
    with services().store.session() as session:
        if not remove_dataset(session, int(raw), site_id=g.site_id):
            raise NotFound(f"no geckoboard dataset {raw}", field="dataset")
    return _see_other(_page_url("ui.admin_page_view"))


@blueprint.post("/jira/admin/digest-channels/remove")
@page_auth(allow_context_qsh=True)
def digest_channel_remove() -> Response:
    """Remove one of this site's digest channels."""
    _check_csrf(DIGEST_PURPOSE)
    require_admin()
    raw = request.form.get("channel", "")
    if not raw.isdigit():
        raise ValidationError("not a channel id", field="channel")
    with services().store.session() as session:
        if not remove_channel(session, int(raw), site_id=g.site_id):
            raise NotFound(f"no digest channel {raw}", field="channel")
    return _see_other(_page_url("ui.admin_page_view"))
