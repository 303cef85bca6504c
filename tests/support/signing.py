"""Sign requests the way Atlassian does, for tests that drive the real routes."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import jwt
from flask import Flask

from connect.services import services_of
from integrations.atlassian.qsh import query_string_hash
from sync.tenants import record_install

JIRA_BASE = "https://acme.atlassian.net"
CONFLUENCE_BASE = "https://acme.atlassian.net/wiki"


def connect_token(
    secret: str,
    *,
    client_key: str,
    method: str,
    url: str,
    account_id: str | None = "5b10ac8d",
    lifetime: int = 180,
    qsh: str | None = None,
    now: float | None = None,
    **claims: Any,
) -> str:
    """An HS256 Connect JWT for `method url` (a path with its query) as the product sends it."""
    parts = urlsplit(url)
    issued = int(now if now is not None else time.time())
    body: dict[str, Any] = {
        "iss": client_key,
        "iat": issued,
        "exp": issued + lifetime,
        "qsh": qsh or query_string_hash(method, parts.path, parts.query),
        **claims,
    }
    if account_id:
        body["sub"] = account_id
    return jwt.encode(body, secret, algorithm="HS256")


def install(
    app: Flask,
    *,
    client_key: str,
    base_url: str = JIRA_BASE,
    product: str = "jira",
    secret: str | None = None,
) -> str:
    """Record an installation directly (the signed lifecycle is tested on its own)."""
    secret = secret or f"{client_key}-shared-secret-0123456789abcdef"
    services = services_of(app)
    tenants = services.tenants
    with services.store.session() as session:
        record_install(
            session,
            client_key=client_key,
            base_url=base_url,
            product=product,
            shared_secret=secret,
            encrypt=tenants.encrypt,
        )
    tenants.forget(client_key)
    return secret


def signed_headers(
    secret: str, *, client_key: str, method: str, url: str, **kw: Any
) -> dict[str, str]:
    token = connect_token(secret, client_key=client_key, method=method, url=url, **kw)
    return {"Authorization": f"JWT {token}"}
