"""Signed, expiring, single-use `state` values for flows an operator starts from the CLI and
finishes in a browser (Asana's OAuth, GitHub's app manifest).

The CLI signs a state naming what it is for (a `purpose` label and a subject, e.g. a site id)
with the app's key; opening the printed URL binds the state to that browser with a cookie;
the provider sends the browser back with the state, which is accepted only from the browser
holding its cookie, only before it expires, and only once (its nonce is recorded in
`oauth_states`, see `sync.oauth_states`). A leaked or replayed URL therefore does nothing.
Hand-written HMAC rather than a token library: the format is four dot-separated fields, and
`hmac.compare_digest` is the whole of the verification.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from flask import Request, Response

from connect.errors import AuthError
from connect.services import services
from sync.oauth_states import use_state

STATE_SECONDS: Final = 900


@dataclass(frozen=True, slots=True)
class State:
    subject: int  # what the state is for: a site id, or 0 for the service itself
    nonce: str


def _mac(key: bytes, purpose: str, message: str) -> str:
    return hmac.new(key, f"{purpose}:{message}".encode(), hashlib.sha256).hexdigest()


def sign_state(key: bytes, purpose: str, subject: int, *, now: float | None = None) -> str:
    """`<subject>.<expiry>.<nonce>.<hmac>`: unforgeable, expiring, and unique (the nonce makes
    each usable once)."""
    expires = int((now or time.time()) + STATE_SECONDS)
    message = f"{subject}.{expires}.{secrets.token_hex(16)}"
    return f"{message}.{_mac(key, purpose, message)}"


def read_state(key: bytes, purpose: str, state: str, *, now: float | None = None) -> State | None:
    """The subject and nonce of a valid, unexpired state signed for `purpose`; None otherwise."""
    parts = state.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    message = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, purpose, message), parts[3]):
        return None
    if int(parts[1]) < (now or time.time()) or not parts[2]:
        return None
    return State(int(parts[0]), parts[2])


def browser_mark(key: bytes, purpose: str, state: str) -> str:
    """The cookie value binding `state` to the browser that opened the start URL."""
    return _mac(key, f"{purpose}-browser", state)


def bind_to_browser(
    response: Response, *, purpose: str, state: str, cookie: str, path: str, secure: bool
) -> Response:
    """Set the cookie that lets only this browser finish the flow `state` started."""
    response.set_cookie(
        cookie,
        browser_mark(services().oauth_state_key, purpose, state),
        max_age=STATE_SECONDS,
        path=path,
        secure=secure,
        httponly=True,
        samesite="Lax",  # sent on the provider's top-level redirect back to the callback
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def finish(request: Request, *, purpose: str, cookie: str, again: str) -> State:
    """The state a callback may act on: signed for `purpose`, unexpired, sent by the browser
    that started the flow, and not used before (it is used now). `again` tells the user how to
    start over. Anything else is a 401 naming what was wrong."""
    key = services().oauth_state_key
    raw = request.args.get("state", "")
    state = read_state(key, purpose, raw)
    if state is None:
        raise AuthError(
            f"the authorization state is missing, forged or expired: {again}",
            code="invalid_state",
        )
    mark = request.cookies.get(cookie, "")
    if not hmac.compare_digest(mark.encode(), browser_mark(key, purpose, raw).encode()):
        raise AuthError(
            f"this browser did not start the authorization: {again}, and finish in the browser "
            "that opened its URL",
            code="state_not_this_browser",
        )
    with services().store.session() as session:
        fresh = use_state(
            session, state.nonce, now=datetime.now(UTC), lifetime=timedelta(seconds=STATE_SECONDS)
        )
    if not fresh:
        raise AuthError(f"this authorization was used already: {again}", code="state_used")
    return state
