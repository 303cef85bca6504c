"""The Forge Remote door: lifecycle and product events from Forge triggers, the Custom UI panel
and the dashboard gadget.

Every route verifies the Forge Invocation Token before it reads the body, then the module
that called it: the lifecycle route takes only the lifecycle trigger's endpoint, the events
route only the issue events', the Custom UI routes neither (a UI module's `invokeRemote` cannot
disable the installation or feed issue states). The tenant is the installation the FIT names
(`forge:<installationId>`), grouped into its site by signed data only: the cloud id of the FIT
(`context.cloudId`, else the one in `app.apiBaseUrl`) and its `siteUrl`, never the body, so
a site that moved from the Connect door keeps its OKRs and two customers stay two sites. Issue
events are mapped to the same webhook shape the Connect door receives and go through the same
normaliser, inbox and job.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final, cast

from flask import Blueprint, Response, jsonify, request

from connect.doors import intake
from connect.doors.forge.token import ForgeClaims, ForgeRequest, verify_forge_request
from connect.errors import BadRequest, ForbiddenError, ValidationError
from connect.ops.metrics import count_answer
from connect.services import services
from connect.ui.gadget import GadgetConfig, choices
from connect.ui.i18n import normalize_locale, translator
from connect.ui.panel_page import TEAM_KEY, PanelRequest, render_panel_request, serve_panel
from connect.ui.panels import PanelQuery, current_cycle_name, load_panel
from connect.ui.render import (
    render_empty_panel,
    render_gadget,
    render_message_page,
    render_panel,
    render_retro,
    render_review,
)
from connect.ui.retro import load_retro
from connect.ui.review import load_review
from integrations.atlassian.events import JiraPayloadError, parse_webhook
from integrations.atlassian.forge import ForgeTokens
from sync.apply.jira import EVENT_NAME
from sync.tenants import Tenant, Tenants, record_install, record_uninstall, tenant_of

SOURCE: Final = "forge"
CLIENT_KEY_PREFIX: Final = "forge:"
ISSUE_EVENTS: Final[Mapping[str, str]] = {
    "avi:jira:created:issue": "jira:issue_created",
    "avi:jira:updated:issue": "jira:issue_updated",
    "avi:jira:deleted:issue": "jira:issue_deleted",
}
INSTALLED_EVENTS: Final = frozenset({"avi:forge:installed:app", "avi:forge:upgraded:app"})
UNINSTALLED_EVENTS: Final = frozenset({"avi:forge:uninstalled:app"})
PANEL_VIEWS: Final = frozenset({"full", "compact", "review", "retro"})
LIFECYCLE_MODULES: Final = frozenset({"okrlink-lifecycle", "okrlink-lifecycle-events"})
"""The lifecycle trigger's endpoint, or the trigger itself (`descriptors/manifest.yml`)."""
EVENT_MODULES: Final = frozenset({"okrlink-events", "okrlink-issue-events"})
"""The issue events trigger's endpoint, or the trigger itself."""
BACKEND_MODULES: Final = LIFECYCLE_MODULES | EVENT_MODULES
GATEWAY_CLOUD_ID: Final = re.compile(
    r"^https://[^/]+/ex/(?:jira|confluence)/([0-9A-Za-z-]{8,64})/?$"
)
TEXT_LIMIT: Final = 128

blueprint = Blueprint("forge", __name__, url_prefix="/forge")


def client_key_of(claims: ForgeClaims) -> str:
    """The installation's client key in our table: `forge:<installationId>`."""
    return CLIENT_KEY_PREFIX + claims.installation_id


def product_of(claims: ForgeClaims) -> str:
    """`confluence` when the FIT's API base URL is Confluence's, else `jira`."""
    return "confluence" if "/ex/confluence/" in (claims.api_base_url or "") else "jira"


def _tenants() -> Tenants:
    return services().tenants


def verify() -> ForgeRequest:
    settings = services().settings
    return verify_forge_request(
        cast("Mapping[str, str]", request.headers),
        jwks=services().forge_jwks,
        app_id=settings.forge_app_id,
    )


def json_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    return intake.parse(raw or b"{}")


def module_of(claims: ForgeClaims) -> str | None:
    """The module that made the call: the FIT's `app.module.key`, else `context.moduleKey`."""
    if claims.module_key:
        return claims.module_key
    context = claims.claims.get("context")
    key = context.get("moduleKey") if isinstance(context, Mapping) else None
    return key if isinstance(key, str) and key else None


def require_module(forge: ForgeRequest, allowed: frozenset[str] | None) -> None:
    """403 unless the call came from one of `allowed` (None: any module but the lifecycle and
    events triggers', which are the Custom UI routes' callers)."""
    module = module_of(forge.claims)
    ok = module not in BACKEND_MODULES if allowed is None else module in allowed
    if not ok:
        raise ForbiddenError(
            f"the Forge module {module or 'none'} may not call {request.path}", code="forbidden"
        )


def cloud_id_of(claims: ForgeClaims) -> str | None:
    """The site's cloud id from the FIT: `context.cloudId`, else the id in `app.apiBaseUrl`."""
    if claims.cloud_id:
        return claims.cloud_id
    found = GATEWAY_CLOUD_ID.match(claims.api_base_url or "")
    return found.group(1) if found else None


def _site_url(claims: ForgeClaims) -> str:
    """Where the site lives: the FIT's `siteUrl`, else its API base URL (the gateway's, which
    `site_for` never matches by host)."""
    for value in (claims.site_url, claims.api_base_url):
        if isinstance(value, str) and value.startswith("https://"):
            return value.rstrip("/")
    raise BadRequest("the call names no site", code="forge_no_site")


def _install(forge: ForgeRequest) -> Tenant:
    """Record (or re-enable) the installation the FIT names, in its site."""
    claims = forge.claims
    cloud_id = cloud_id_of(claims)
    site_url = _site_url(claims)
    if cloud_id is None and site_url == (claims.api_base_url or "").rstrip("/"):
        raise BadRequest("the call names no site: no cloud id, no site URL", code="forge_no_site")
    tenants = _tenants()
    with services().store.session() as session:
        row = record_install(
            session,
            client_key=client_key_of(claims),
            base_url=site_url,
            product=product_of(claims),
            shared_secret=None,
            encrypt=tenants.encrypt,
            door="forge",
            cloud_id=cloud_id,
        )
        tenant = tenant_of(row)
    tenants.forget(tenant.client_key)
    return tenant


def verified_tenant(forge: ForgeRequest) -> Tenant:
    """The enabled installation a verified FIT names; first seen here, it is recorded."""
    tenant = _tenants().tenant(client_key_of(forge.claims))
    if tenant is None:
        tenant = _install(forge)
    if not tenant.enabled:
        raise ForbiddenError("this installation is disabled", code="installation_disabled")
    _remember_token(forge, tenant)
    return tenant


def _remember_token(forge: ForgeRequest, tenant: Tenant) -> None:
    if forge.system_token and forge.claims.api_base_url:
        tokens: ForgeTokens = services().forge_tokens
        tokens.put(
            site_id=tenant.site_id,
            product=tenant.product,
            token=forge.system_token,
            api_base_url=forge.claims.api_base_url,
        )


@blueprint.post("/lifecycle")
def lifecycle() -> tuple[Response, int]:
    """Installed / upgraded: record the installation in its site; uninstalled: disable it."""
    forge = verify()
    require_module(forge, LIFECYCLE_MODULES)
    payload = json_body()
    event = payload.get("eventType")
    if event in UNINSTALLED_EVENTS:
        client_key = client_key_of(forge.claims)
        with services().store.session() as session:
            row = record_uninstall(session, client_key)
        _tenants().forget(client_key)
        return jsonify({"status": "uninstalled" if row else "unknown"}), 200
    if event not in INSTALLED_EVENTS:
        raise BadRequest(f"not a lifecycle event: {event or 'none'}", code="malformed_event")
    tenant = _install(forge)
    _remember_token(forge, tenant)
    return jsonify({"status": "installed", "site": tenant.site_id}), 200


def webhook_shape(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Forge issue event in the shape of the Jira webhook that reports the same change."""
    event = payload.get("eventType")
    if event not in ISSUE_EVENTS:
        raise JiraPayloadError(f"not an issue event: {event or 'none'}")
    shaped: dict[str, Any] = {
        "webhookEvent": ISSUE_EVENTS[str(event)],
        "issue": payload.get("issue"),
    }
    if isinstance(payload.get("changelog"), Mapping):
        shaped["changelog"] = payload["changelog"]
    actor = payload.get("atlassianId")
    if isinstance(actor, str) and actor:
        shaped["user"] = {"accountId": actor}
    return shaped


def delivery_id(raw: bytes, payload: Mapping[str, Any]) -> str:
    """Forge's event id when the payload has one, else a hash of the body (redeliveries match)."""
    for name in ("id", "eventId"):
        value = payload.get(name)
        if isinstance(value, str) and value:
            return value[:255]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@blueprint.post("/events")
def events() -> tuple[Response, int]:
    """Record a Forge issue event in the inbox as the Connect webhook would, then apply it."""
    forge = verify()
    require_module(forge, EVENT_MODULES)
    payload = json_body()
    tenant = verified_tenant(forge)
    event = parse_webhook(webhook_shape(payload), fields=services().jira_field_map)
    delivery = intake.Delivery(
        source=SOURCE,
        scope=tenant.client_key,
        delivery_id=delivery_id(request.get_data(cache=True), payload),
        site_id=tenant.site_id,
        event=EVENT_NAME,
        payload=event.as_dict(),
    )
    row_id = intake.accept(services().store, services().jobs, delivery)
    if row_id is None:
        count_answer("forge", "duplicate")
        return jsonify({"status": "duplicate"}), 200
    count_answer("forge", "accepted")
    return jsonify({"status": "accepted", "id": row_id}), 200


def text_field(body: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > TEXT_LIMIT:
        raise ValidationError(f"{name} must be a short text", field=name)
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{name} is required", field=name)
    return value


@blueprint.post("/panel")
def panel() -> tuple[Response, int]:
    """The OKR panel for the Custom UI shell, as `{"html": ...}` from the Connect renderer."""
    forge = verify()
    require_module(forge, None)
    body = json_body()
    tenant = verified_tenant(forge)
    query = PanelQuery(
        team=text_field(body, "team", required=True),
        cycle=text_field(body, "cycle"),
        objective=text_field(body, "objective"),
    )
    mode = text_field(body, "view") or "full"
    if mode not in PANEL_VIEWS:
        raise ValidationError("view must be full, compact, review or retro", field="view")
    locale = text_field(body, "locale") or "en"
    now = services().jobs.ports.clock.now()
    today = now.date()
    with services().store.session() as session:
        view = load_panel(session, tenant.site_id, query, today=today)
        review = retro = None
        if mode == "review":
            review = load_review(
                session, tenant.site_id, team=query.team, cycle=query.cycle, now=now
            )
        elif mode == "retro":
            retro = load_retro(session, tenant.site_id, team=query.team, cycle=query.cycle)
    if review is not None:
        return jsonify({"html": render_review(review, locale=locale, host_script=False)}), 200
    if retro is not None:
        return jsonify({"html": render_retro(retro, locale=locale, host_script=False)}), 200
    if view is None:
        html = render_empty_panel(
            team=query.team,
            cycle=query.cycle or current_cycle_name(today),
            locale=locale,
            host_script=False,
        )
    else:
        compact = mode == "compact"
        html = render_panel(
            view,
            mode="compact" if compact else "full",
            locale=locale,
            static=True,
            host_script=False,
        )
    return jsonify({"html": html}), 200


# --- the dashboard gadget -------------------------------------------------------------------


def _gadget_config(body: Mapping[str, Any]) -> GadgetConfig:
    """The gadget's settings as the shell sends them (its gadget configuration)."""
    config = GadgetConfig.of({name: text_field(body, name) for name in ("team", "cycle", "view")})
    if config.team and not TEAM_KEY.fullmatch(config.team):
        raise ValidationError("team is not a team key", field="team")
    return config


def _locale(body: Mapping[str, Any]) -> str:
    return normalize_locale(text_field(body, "locale")) or "en"


@blueprint.post("/gadget")
def gadget_panel() -> Response:
    """The dashboard gadget's panel for its configuration (`team`, `cycle`, `view`): the
    macro's static rendering as `{"html": ...}`, from the panel cache with its ETag; a matching
    `If-None-Match` gets a 304. Anyone signed in on the site reads it."""
    forge = verify()
    body = json_body()
    require_module(forge, None)
    tenant = verified_tenant(forge)
    config, locale = _gadget_config(body), _locale(body)
    if not config.team:  # not configured yet: say how
        t = translator(locale)
        html = render_message_page(
            t("gadget.title"), t("gadget.unconfigured"), locale, host_script=False
        )
        return jsonify({"html": html, "configured": False})
    now = services().jobs.ports.clock.now()
    panel = PanelRequest(
        query=PanelQuery(team=config.team, cycle=config.cycle),
        mode=config.view,
        static=True,
        locale=locale,
    )
    answer = serve_panel(
        panel,
        cache=services().ui_page_cache,
        versions=services().ui_panel_versions,
        site_id=tenant.site_id,
        base_url=tenant.base_url,
        today=now.date(),
        if_none_match=request.headers.get("If-None-Match"),
        render=functools.partial(render_panel_request, site_id=tenant.site_id, now=now),
    )
    assert answer is not None  # given `render`, a miss is rendered
    etag = dict(answer.headers)["ETag"]
    if answer.status == 304:
        response = Response(status=304)
    else:
        response = jsonify({"html": answer.body.decode("utf-8"), "configured": True})
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@blueprint.post("/gadget/edit")
def gadget_edit() -> Response:
    """The dashboard gadget's edit view: its settings form, filled with its configuration, as
    `{"html": ...}`; the shell submits it to Jira as the gadget's configuration (Jira shows the
    edit view only to those who may edit the dashboard). Reading the site's teams and cycles is
    open to anyone signed in on it."""
    forge = verify()
    body = json_body()
    require_module(forge, None)
    tenant = verified_tenant(forge)
    config = _gadget_config(body)
    with services().store.session() as session:
        teams, cycles = choices(session, tenant.site_id)
    if not config.team and teams:
        config = GadgetConfig(team=teams[0], cycle=config.cycle, view=config.view)
    html = render_gadget(
        teams=teams,
        cycles=cycles,
        config=config,
        locale=_locale(body),
        attrs=(("gadget", "forge"),),
        host_script=False,
    )
    return jsonify({"html": html})
