"""Tokens the pages carry: CSRF form tokens, Connect context JWTs for the page's own requests,
and the development-only token that stands in for Atlassian's iframe JWT in the local demo.

CSRF tokens are HMAC-SHA256 over (site, account, purpose, expiry) with a key derived from
`OKRLINK_SECRET_KEY` by HKDF under its own label (`sync.keys.CSRF_LABEL`; development tokens
have theirs): stateless, so any worker checks them, and useless on another site, for another
user, another form, or once expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import jwt

from connect.doors.atlassian_connect.connect_jwt import CONTEXT_QSH

CSRF_TTL_SECONDS = 2 * 3600
CONTEXT_TOKEN_TTL_SECONDS = 15 * 60
DEV_ACCOUNT_ID = "demo-user"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(key: bytes, *parts: object) -> str:
    message = "\0".join(str(part) for part in parts).encode("utf-8")
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


@dataclass(frozen=True, slots=True)
class FormTokens:
    """Issues and checks CSRF tokens bound to (site, account, purpose, expiry)."""

    key: bytes
    ttl: int = CSRF_TTL_SECONDS

    def issue(
        self, *, site_id: int, account: str | None, purpose: str, now: float | None = None
    ) -> str:
        """A token for one form: `<expiry>.<mac>`."""
        expires = int((time.time() if now is None else now) + self.ttl)
        return f"{expires}.{_mac(self.key, 'csrf', site_id, account or '', purpose, expires)}"

    def check(
        self,
        token: str | None,
        *,
        site_id: int,
        account: str | None,
        purpose: str,
        now: float | None = None,
    ) -> bool:
        """True when `token` was issued for this site, account and purpose and has not expired."""
        if not token or token.count(".") != 1:
            return False
        expires, mac = token.split(".")
        if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
            return False
        expected = _mac(self.key, "csrf", site_id, account or "", purpose, int(expires))
        return hmac.compare_digest(mac.encode(), expected.encode())


def context_token(
    *, client_key: str, shared_secret: str, account_id: str | None, now: float | None = None
) -> str:
    """A Connect context JWT (`qsh: context-qsh`) for requests the page makes back to us."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "iss": client_key,
        "iat": issued,
        "exp": issued + CONTEXT_TOKEN_TTL_SECONDS,
        "qsh": CONTEXT_QSH,
    }
    if account_id:
        claims["sub"] = account_id
    return jwt.encode(claims, shared_secret, algorithm="HS256")


def dev_token(key: bytes, client_key: str) -> str:
    """The development token of an installation: `<clientKey b64>.<mac>`."""
    return f"{_b64(client_key.encode())}.{_mac(key, 'dev', client_key)}"


def dev_token_client_key(key: bytes, token: str) -> str | None:
    """The clientKey a development token was issued for, or None when it is not genuine."""
    encoded, _, mac = token.partition(".")
    try:
        client_key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not client_key or not hmac.compare_digest(
        mac.encode(), _mac(key, "dev", client_key).encode()
    ):
        return None
    return client_key
