"""`GET /asana/oauth/start` and `GET /asana/oauth/callback`: `okrlink asana connect --oauth`.

The CLI prints an okrlink URL (`/asana/oauth/start`) holding a `state` that names the site and
a random nonce, signed with the app's key and valid for `STATE_SECONDS`. Opening it sets a
cookie bound to that state in the admin's browser and sends the browser on to Asana, which
sends it back to the callback with a one-time code. The callback takes the state only from the
browser holding its cookie, and only once (its nonce is recorded): a leaked or replayed state
URL connects nothing (`connect.browser_states`). The code is exchanged for an access and a
refresh token, stored encrypted. Who may use these: whoever holds a state the CLI signed (a site
admin at a shell).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from flask import Blueprint, Response, request

from connect import browser_states
from connect.errors import AuthError, BadRequest
from connect.services import services
from integrations.asana.oauth import authorize_url, exchange_code
from integrations.errors import OutsideError
from sync.asana_accounts import save_connection

START_PATH: Final = "/asana/oauth/start"
CALLBACK_PATH: Final = "/asana/oauth/callback"
STATE_SECONDS: Final = browser_states.STATE_SECONDS
COOKIE: Final = "okrlink_asana_oauth"

blueprint = Blueprint("asana_oauth", __name__)


PURPOSE: Final = "asana-oauth"
AGAIN: Final = "run okrlink asana connect --oauth again"


def sign_state(key: bytes, site_id: int, *, now: float | None = None) -> str:
    """A state for connecting `site_id` (see `connect.browser_states`)."""
    return browser_states.sign_state(key, PURPOSE, site_id, now=now)


def site_of_state(key: bytes, state: str, *, now: float | None = None) -> int | None:
    """The site a valid, unexpired state names; None otherwise."""
    found = browser_states.read_state(key, PURPOSE, state, now=now)
    return found.subject if found else None


def browser_mark(key: bytes, state: str) -> str:
    """The cookie value binding `state` to the browser that opened the start URL."""
    return browser_states.browser_mark(key, PURPOSE, state)


def start_url(base_url: str, state: str) -> str:
    from urllib.parse import urlencode

    return base_url.rstrip("/") + START_PATH + "?" + urlencode({"state": state})


def redirect_uri(base_url: str) -> str:
    return base_url.rstrip("/") + CALLBACK_PATH


@blueprint.get(START_PATH)
def start() -> Response:
    """Bind the state to this browser (a cookie), then send it on to Asana."""
    found = services()
    state = request.args.get("state", "")
    if site_of_state(found.oauth_state_key, state) is None:
        raise AuthError(
            f"the authorization state is missing, forged or expired: {AGAIN}",
            code="invalid_state",
        )
    settings = found.settings
    url = authorize_url(
        api_url=settings.asana_api_url,
        client_id=settings.asana_client_id,
        redirect_uri=redirect_uri(settings.base_url),
        state=state,
    )
    return browser_states.bind_to_browser(
        Response(status=303, headers={"Location": url}),
        purpose=PURPOSE,
        state=state,
        cookie=COOKIE,
        path="/asana/oauth",
        secure=settings.base_url.startswith("https://"),
    )


@blueprint.get(CALLBACK_PATH)
def callback() -> Response:
    found = services()
    site_id = browser_states.finish(request, purpose=PURPOSE, cookie=COOKIE, again=AGAIN).subject
    code = request.args.get("code", "")
    if not code or len(code) > 512:
        raise BadRequest("Asana's one-time code is missing", code="missing_code", field="code")
    settings = found.settings
    try:
        grant = exchange_code(
            api_url=settings.asana_api_url,
            client_id=settings.asana_client_id,
            client_secret=settings.asana_client_secret,
            redirect_uri=redirect_uri(settings.base_url),
            code=code,
            now=datetime.now(UTC),
        )
    except OutsideError as exc:
        raise BadRequest(
            f"Asana refused the code ({exc.message}): start again", code="code_exchange_failed"
        ) from exc
    with found.store.session() as session:
        save_connection(
            session,
            site_id,
            token=grant.access_token,
            encrypt=found.tenants.encrypt,
            auth="oauth",
            user_gid=grant.user_gid,
            refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
        )
    found.asana_accounts.forget(site_id)
    response = Response(
        "Asana workspace connected to okrlink. You can close this page.\n", mimetype="text/plain"
    )
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(COOKIE, path="/asana/oauth")
    return response
