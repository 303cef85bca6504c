"""Asana OAuth 2.0 (authorization code, refresh tokens) for the hosted app.

Hand-written over `requests`: the `asana` SDK 5.x only sends a token it is given and has no
OAuth flow of its own. The endpoints sit beside the API (`https://app.asana.com/-/oauth_*`),
so they follow `OKRLINK_ASANA_API_URL` in tests and behind proxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import requests

from integrations.errors import OutsideError, for_status

TIMEOUT: Final = 10.0


def oauth_base(api_url: str) -> str:
    """`https://app.asana.com/-/` for `https://app.asana.com/api/1.0`."""
    return api_url.rstrip("/").removesuffix("/api/1.0") + "/-/"


def authorize_url(*, api_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """Where an admin grants okrlink access to a workspace."""
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": state,
        }
    )
    return f"{oauth_base(api_url)}oauth_authorize?{query}"


@dataclass(frozen=True, slots=True)
class Grant:
    """Tokens from the token endpoint, and the user they act as."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    user_gid: str


def _token(api_url: str, form: dict[str, str], *, now: datetime) -> Grant:
    try:
        answer = requests.post(f"{oauth_base(api_url)}oauth_token", data=form, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise for_status(f"Asana token endpoint: {exc}", status=None) from exc
    if answer.status_code != 200:
        raise for_status(f"Asana token endpoint: {answer.status_code}", status=answer.status_code)
    try:
        body: dict[str, Any] = answer.json()
        expires_in = body.get("expires_in")
        return Grant(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token") or form.get("refresh_token"),
            expires_at=now + timedelta(seconds=float(expires_in)) if expires_in else None,
            user_gid=str((body.get("data") or {}).get("gid") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise OutsideError(f"Asana token endpoint answered an unexpected body: {exc}") from exc


def exchange_code(
    *, api_url: str, client_id: str, client_secret: str, redirect_uri: str, code: str, now: datetime
) -> Grant:
    """The authorization code's tokens."""
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uri": redirect_uri,
        "code": code,
    }
    return _token(api_url, form, now=now)


def refresh(
    *, api_url: str, client_id: str, client_secret: str, refresh_token: str, now: datetime
) -> Grant:
    """A fresh access token for a refresh token (which Asana keeps valid)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    return _token(api_url, form, now=now)
