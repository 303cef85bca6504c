"""`GET /asana/oauth/callback`: the end of `okrlink asana connect --oauth`.

The CLI prints Asana's authorization URL with a `state` that names the site, signed with the
app's key and valid for `STATE_SECONDS`; Asana sends the admin's browser back here with a
one-time code, which is exchanged for an access and a refresh token, stored encrypted.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Final

from flask import Blueprint, Response, request

from connect.errors import AuthError, BadRequest
from connect.services import services
from integrations.asana.oauth import exchange_code
from integrations.errors import OutsideError
from sync.asana_accounts import save_connection

CALLBACK_PATH: Final = "/asana/oauth/callback"
STATE_SECONDS: Final = 900

blueprint = Blueprint("asana_oauth", __name__)


def sign_state(key: bytes, site_id: int, *, now: float | None = None) -> str:
    """`<site id>.<expiry>.<hmac>`: the site an authorization is for, unforgeable."""
    expires = int((now or time.time()) + STATE_SECONDS)
    message = f"{site_id}.{expires}"
    mac = hmac.new(key, f"asana-oauth:{message}".encode(), hashlib.sha256).hexdigest()
    return f"{message}.{mac}"


def site_of_state(key: bytes, state: str, *, now: float | None = None) -> int | None:
    """The site a valid, unexpired state names; None otherwise."""
    parts = state.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    message = f"{parts[0]}.{parts[1]}"
    mac = hmac.new(key, f"asana-oauth:{message}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, parts[2]) or int(parts[1]) < (now or time.time()):
        return None
    return int(parts[0])


def redirect_uri(base_url: str) -> str:
    return base_url.rstrip("/") + CALLBACK_PATH


@blueprint.get(CALLBACK_PATH)
def callback() -> Response:
    found = services()
    site_id = site_of_state(found.oauth_state_key, request.args.get("state", ""))
    if site_id is None:
        raise AuthError(
            "the authorization state is missing, forged or expired: "
            "run okrlink asana connect --oauth again",
            code="invalid_state",
        )
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
    return response
