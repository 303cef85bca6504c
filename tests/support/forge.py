"""Forge calls signed as Forge signs them: a local JWKS and Forge Invocation Tokens (FITs)."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from connect.doors.forge.token import FIT_ISSUER

JWKS_URL = "https://forge.example.test/.well-known/jwks.json"
APP_UUID = "8db33809-1f32-48bb-8c52-5877dab48107"
APP_ID = f"ari:cloud:ecosystem::app/{APP_UUID}"
INSTALLATION = "ari:cloud:ecosystem::installation/0a3a7799-53ae-4a5b-9e7e-03338980abb5"
CLOUD_ID = "d0d52620-3203-4cfa-8db5-f2587155f0dd"
SITE_URL = "https://acme.atlassian.net"
KID = "forge-key-1"
ENVIRONMENT = f"ari:cloud:ecosystem::environment/{APP_UUID}/e1"
SYSTEM_TOKEN = "forge-system-token-for-tests"
# The modules that call the remote (`descriptors/manifest.yml`): the two triggers' endpoints,
# and a Custom UI module (its FIT names the UI module, typed by its product module).
EVENTS_MODULE = ("core:endpoint", "okrlink-events")
LIFECYCLE_MODULE = ("core:endpoint", "okrlink-lifecycle")
UI_MODULE = ("jira:projectPage", "okr-project-page")


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


SIGNING_KEY = _rsa_key()
STRANGER_KEY = _rsa_key()


def jwks_document(private_key: rsa.RSAPrivateKey = SIGNING_KEY, kid: str = KID) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}


def fit_claims(
    *,
    installation: str = INSTALLATION,
    cloud_id: str = CLOUD_ID,
    site_url: str = SITE_URL,
    product: str = "jira",
    lifetime: int = 60,
    now: float | None = None,
    module: tuple[str, str] = EVENTS_MODULE,
) -> dict[str, Any]:
    """Claims shaped as the FIT example of the Forge Remote documentation, from `module`
    (its type and key)."""
    issued = int(time.time() if now is None else now)
    return copy.deepcopy(
        {
            "app": {
                "id": APP_ID,
                "version": "16",
                "installationId": installation,
                "apiBaseUrl": f"https://api.atlassian.com/ex/{product}/{cloud_id}",
                "environment": {"type": "PRODUCTION", "id": ENVIRONMENT},
                "module": {"type": module[0], "key": module[1]},
            },
            "context": {"cloudId": cloud_id, "siteUrl": site_url, "moduleKey": module[1]},
            "principal": "655362:312d3308-8954-42b0-aa38-771a10c88656",
            "aud": APP_ID,
            "iss": FIT_ISSUER,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
            "jti": f"jti-{issued}",
        }
    )


def fit(
    claims: dict[str, Any] | None = None,
    *,
    key: rsa.RSAPrivateKey = SIGNING_KEY,
    kid: str = KID,
    algorithm: str = "RS256",
) -> str:
    """A signed FIT (`algorithm="none"` makes an unsigned one)."""
    body = claims if claims is not None else fit_claims()
    if algorithm == "none":
        return jwt.encode(body, None, algorithm="none", headers={"kid": kid})
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})


def forge_headers(
    token: str | None = None,
    *,
    system_token: str | None = SYSTEM_TOKEN,
    module: tuple[str, str] = EVENTS_MODULE,
) -> dict:
    """A Forge call's headers: `token`, else a FIT from `module`, and the system token."""
    token = token or fit(fit_claims(module=module))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if system_token:
        headers["x-forge-oauth-system"] = system_token
    return headers


def forge_issue_event(webhook: dict[str, Any]) -> dict[str, Any]:
    """The Forge product event that reports the same change as a Jira webhook payload."""
    kind = webhook["webhookEvent"].removeprefix("jira:issue_")
    event: dict[str, Any] = {
        "eventType": f"avi:jira:{kind}:issue",
        "issue": copy.deepcopy(webhook["issue"]),
        "atlassianId": (webhook.get("user") or {}).get("accountId"),
    }
    if "changelog" in webhook:
        event["changelog"] = copy.deepcopy(webhook["changelog"])
    if event["atlassianId"]:
        event["associatedUsers"] = [{"accountId": event["atlassianId"]}]
    return event


def installed_event(*, cloud_id: str = CLOUD_ID) -> dict[str, Any]:
    """An `avi:forge:installed:app` lifecycle event."""
    return {
        "eventType": "avi:forge:installed:app",
        "id": "ari:cloud:ecosystem::event/install-1",
        "installerAccountId": "655362:312d3308-8954-42b0-aa38-771a10c88656",
        "context": {"cloudId": cloud_id},
        "app": {"id": APP_ID, "version": "16"},
        "environment": {"id": ENVIRONMENT},
    }
