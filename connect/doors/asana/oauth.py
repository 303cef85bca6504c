"""`GET /asana/oauth/start` and `GET /asana/oauth/callback`: `okrlink asana connect --oauth`.

The CLI prints an okrlink URL (`/asana/oauth/start`) holding a `state` that names the site and
a random nonce, signed with the app's key and valid for `STATE_SECONDS`. Opening it sets a
cookie bound to that state in the admin's browser and sends the browser on to Asana, which
sends it back to the callback with a one-time code. The callback takes the state only from the
browser holding its cookie, and only once (its nonce is recorded): a leaked or replayed state
URL connects nothing. The code is exchanged for an access and a refresh token, stored
encrypted. Who may use these: whoever holds a state the CLI signed (a site admin at a shell).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from flask import Blueprint, Response, request

from connect.errors import AuthError, BadRequest
from connect.services import services
from integrations.asana.oauth import authorize_url, exchange_code
from integrations.errors import OutsideError
from sync.asana_accounts import save_connection
from sync.oauth_states import use_state

START_PATH: Final = "/asana/oauth/start"
CALLBACK_PATH: Final = "/asana/oauth/callback"
STATE_SECONDS: Final = 900
COOKIE: Final = "okrlink_asana_oauth"

blueprint = Blueprint("asana_oauth", __name__)


@dataclass(frozen=True, slots=True)
class State:
    site_id: int
    nonce: str


def _mac(key: bytes, label: str, message: str) -> str:
    return hmac.new(key, f"{label}:{message}".encode(), hashlib.sha256).hexdigest()


def sign_state(key: bytes, site_id: int, *, now: float | None = None) -> str:
    """`<site id>.<expiry>.<nonce>.<hmac>`: the site an authorization is for, unforgeable,
    and unique (the nonce makes each one usable once)."""
    expires = int((now or time.time()) + STATE_SECONDS)
    message = f"{site_id}.{expires}.{secrets.token_hex(16)}"
    return f"{message}.{_mac(key, 'asana-oauth', message)}"


def read_state(key: bytes, state: str, *, now: float | None = None) -> State | None:
    """The site and nonce of a valid, unexpired state; None otherwise."""
    parts = state.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    message = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, "asana-oauth", message), parts[3]):
        return None
    if int(parts[1]) < (now or time.time()) or not parts[2]:
        return None
    return State(int(parts[0]), parts[2])


def site_of_state(key: bytes, state: str, *, now: float | None = None) -> int | None:
    """The site a valid, unexpired state names; None otherwise."""
    found = read_state(key, state, now=now)
    return found.site_id if found else None


def browser_mark(key: bytes, state: str) -> str:
    """The cookie value binding `state` to the browser that opened the start URL."""
    return _mac(key, "asana-oauth-browser", state)


def start_url(base_url: str, state: str) -> str:
    from urllib.parse import urlencode

    return base_url.rstrip("/") + START_PATH + "?" + urlencode({"state": state})


def redirect_uri(base_url: str) -> str:
    return base_url.rstrip("/") + CALLBACK_PATH


def _invalid_state() -> AuthError:
    return AuthError(
        "the authorization state is missing, forged or expired: "
        "run okrlink asana connect --oauth again",
        code="invalid_state",
    )


@blueprint.get(START_PATH)
def start() -> Response:
    """Bind the state to this browser (a cookie), then send it on to Asana."""
    found = services()
    state = request.args.get("state", "")
    if read_state(found.oauth_state_key, state) is None:
        raise _invalid_state()
    settings = found.settings
    url = authorize_url(
        api_url=settings.asana_api_url,
        client_id=settings.asana_client_id,
        redirect_uri=redirect_uri(settings.base_url),
        state=state,
    )
    response = Response(status=303, headers={"Location": url})
    response.set_cookie(
        COOKIE,
        browser_mark(found.oauth_state_key, state),
        max_age=STATE_SECONDS,
        path="/asana/oauth",
        secure=settings.base_url.startswith("https://"),
        httponly=True,
        samesite="Lax",  # sent on Asana's top-level redirect back to the callback
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get(CALLBACK_PATH)
def callback() -> Response:
    found = services()
    raw = request.args.get("state", "")
    state = read_state(found.oauth_state_key, raw)
    if state is None:
        raise _invalid_state()
    mark = request.cookies.get(COOKIE, "")
    if not hmac.compare_digest(mark.encode(), browser_mark(found.oauth_state_key, raw).encode()):
        raise AuthError(
            "this browser did not start the authorization: open the URL that "
            "okrlink asana connect --oauth printed, in this browser",
            code="state_not_this_browser",
        )
    with found.store.session() as session:
        fresh = use_state(
            session,
            state.nonce,
            now=datetime.now(UTC),
            lifetime=timedelta(seconds=STATE_SECONDS),
        )
    if not fresh:
        raise AuthError(
            "this authorization was used already: run okrlink asana connect --oauth again",
            code="state_used",
        )
    site_id = state.site_id
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
