"""Forge Invocation Token verification against a local JWKS served through `responses`."""

from __future__ import annotations

import copy
import json
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.datastructures import Headers

from connect.doors.forge.token import (
    FIT_ISSUER,
    ForgeJwks,
    bearer_token_from_headers,
    system_token_from_headers,
    user_token_from_headers,
    verify_forge_request,
    verify_forge_token,
)
from connect.errors import AuthError

JWKS_URL = "https://forge.example.test/.well-known/jwks.json"
APP_UUID = "8db33809-1f32-48bb-8c52-5877dab48107"
APP_ID = f"ari:cloud:ecosystem::app/{APP_UUID}"
ISSUED = 1700175149

# The FIT example from the Forge Remote essentials page ("The Forge Invocation Token (FIT)").
DOCUMENTED_FIT: dict[str, Any] = {
    "app": {
        "id": APP_ID,
        "version": "16",
        "appVersion": "16.0.1",
        "installationId": "ari:cloud:ecosystem::installation/0a3a7799-53ae-4a5b-9e7e-03338980abb5",
        "apiBaseUrl": "https://api.stg.atlassian.com/ex/confluence/d0d52620-3203-4cfa-8db5-f2587155f0dd",
        "environment": {
            "type": "DEVELOPMENT",
            "id": f"ari:cloud:ecosystem::environment/{APP_UUID}/"
            "aa911f10-c54b-4b93-9e27-dd2947840b9e",
        },
        "module": {"type": "xen:macro", "key": "forge-remote-app-boot"},
    },
    "context": {
        "localId": "4654fa12-4c7c-4792-95a9-6019edb27953",
        "cloudId": "d0d52620-3203-4cfa-8db5-f2587155f0dd",
        "moduleKey": "forge-remote-app-boot",
        "siteUrl": "https://pbray2.jira-dev.com",
        "extension": {"type": "macro", "content": {"id": "5341185"}, "isEditing": False},
    },
    "principal": "655362:312d3308-8954-42b0-aa38-771a10c88656",
    "aud": APP_ID,
    "iss": FIT_ISSUER,
    "iat": ISSUED,
    "nbf": ISSUED,
    "exp": ISSUED + 25,
    "jti": "d8a496253ec8c18a54631e4c82cbedd5d0ae8570",
}


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


SIGNING_KEY = _rsa_key()
ROTATED_KEY = _rsa_key()
STRANGER_KEY = _rsa_key()


def _jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def _jwks(*pairs: tuple[rsa.RSAPrivateKey, str]) -> dict[str, Any]:
    return {"keys": [_jwk(key, kid) for key, kid in pairs]}


def _fit(
    private_key: rsa.RSAPrivateKey = SIGNING_KEY,
    *,
    kid: str = "key-1",
    algorithm: str = "RS256",
    **changes: Any,
) -> str:
    payload = copy.deepcopy(DOCUMENTED_FIT)
    payload.update(changes)
    return jwt.encode(payload, private_key, algorithm=algorithm, headers={"kid": kid})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> responses.RequestsMock:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks(clock: Clock) -> ForgeJwks:
    return ForgeJwks(JWKS_URL, clock=clock, min_refresh_seconds=60)


def _serve(mock: responses.RequestsMock, document: dict[str, Any]) -> None:
    mock.get(JWKS_URL, json=document)


def _rejection(token: str, jwks: ForgeJwks, **kwargs: Any) -> AuthError:
    kwargs.setdefault("app_id", APP_ID)
    kwargs.setdefault("now", ISSUED + 5)
    with pytest.raises(AuthError) as caught:
        verify_forge_token(token, jwks=jwks, **kwargs)
    assert caught.value.http_status == 401
    return caught.value


def test_valid_token_yields_installation_site_user_and_api_base(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    claims = verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED + 5)

    assert claims.app_id == APP_ID
    assert claims.installation_id == DOCUMENTED_FIT["app"]["installationId"]
    assert claims.api_base_url == DOCUMENTED_FIT["app"]["apiBaseUrl"]
    assert claims.cloud_id == "d0d52620-3203-4cfa-8db5-f2587155f0dd"
    assert claims.site_url == "https://pbray2.jira-dev.com"
    assert claims.account_id == "655362:312d3308-8954-42b0-aa38-771a10c88656"
    assert claims.environment_type == "DEVELOPMENT"
    assert claims.module_key == "forge-remote-app-boot"
    assert claims.claims["jti"] == DOCUMENTED_FIT["jti"]


def test_backend_invocation_without_context_or_principal_is_accepted(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    payload = copy.deepcopy(DOCUMENTED_FIT)
    del payload["context"], payload["principal"]
    token = jwt.encode(payload, SIGNING_KEY, algorithm="RS256", headers={"kid": "key-1"})

    claims = verify_forge_token(token, jwks=jwks, app_id=APP_ID, now=ISSUED)

    assert (claims.cloud_id, claims.site_url, claims.account_id) == (None, None, None)
    assert claims.installation_id.startswith("ari:cloud:ecosystem::installation/")


def test_app_id_configured_as_bare_uuid_matches_the_app_ari(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    claims = verify_forge_token(_fit(), jwks=jwks, app_id=APP_UUID, now=ISSUED)

    assert claims.app_id == APP_ID


def test_expired_token_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    error = _rejection(_fit(), jwks, now=DOCUMENTED_FIT["exp"] + 31, leeway=30)

    assert error.code == "token_expired"


def test_token_just_past_expiry_is_accepted_within_leeway(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    claims = verify_forge_token(
        _fit(), jwks=jwks, app_id=APP_ID, now=DOCUMENTED_FIT["exp"] + 30, leeway=30
    )

    assert claims.installation_id


def test_token_used_before_not_before_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    error = _rejection(_fit(), jwks, now=ISSUED - 31, leeway=30)

    assert error.code == "token_not_yet_valid"


def test_token_for_another_app_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    error = _rejection(_fit(), jwks, app_id="ari:cloud:ecosystem::app/someone-else")

    assert error.code == "token_audience"


def test_app_claim_that_disagrees_with_audience_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    app = {**DOCUMENTED_FIT["app"], "id": "ari:cloud:ecosystem::app/someone-else"}

    error = _rejection(_fit(app=app), jwks)

    assert error.code == "token_audience"


def test_token_from_another_issuer_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    error = _rejection(_fit(iss="https://evil.example"), jwks)

    assert error.code == "token_issuer"


def test_token_without_expiry_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    payload = copy.deepcopy(DOCUMENTED_FIT)
    del payload["exp"]
    token = jwt.encode(payload, SIGNING_KEY, algorithm="RS256", headers={"kid": "key-1"})

    assert _rejection(token, jwks).code == "token_claims"


def test_token_without_installation_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    app = {k: v for k, v in DOCUMENTED_FIT["app"].items() if k != "installationId"}

    assert _rejection(_fit(app=app), jwks).code == "token_claims"


def test_unsigned_token_is_rejected_without_fetching_keys(served, jwks):
    unsigned = jwt.encode(DOCUMENTED_FIT, None, algorithm="none", headers={"kid": "key-1"})

    assert _rejection(unsigned, jwks).code == "token_algorithm"
    assert len(served.calls) == 0


def test_hs256_token_keyed_with_the_public_key_is_rejected(served, jwks):
    # Algorithm confusion: an attacker signs with HMAC using the published public key as secret.
    secret = _jwk(SIGNING_KEY, "key-1")["n"]
    token = jwt.encode(DOCUMENTED_FIT, secret, algorithm="HS256", headers={"kid": "key-1"})

    assert _rejection(token, jwks).code == "token_algorithm"


def test_token_signed_by_another_key_under_a_known_kid_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    assert _rejection(_fit(STRANGER_KEY, kid="key-1"), jwks).code == "token_signature"


def test_garbage_is_rejected_as_malformed(jwks):
    assert _rejection("not.a.jwt", jwks).code == "token_malformed"


def test_keys_are_fetched_once_and_reused(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    for _ in range(3):
        verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED)

    assert len(served.calls) == 1


def test_rotated_key_is_found_by_one_refresh(served, jwks, clock):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    _serve(served, _jwks((SIGNING_KEY, "key-1"), (ROTATED_KEY, "key-2")))
    verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED)
    clock.now += 61

    claims = verify_forge_token(
        _fit(ROTATED_KEY, kid="key-2"), jwks=jwks, app_id=APP_ID, now=ISSUED
    )

    assert claims.app_id == APP_ID
    assert len(served.calls) == 2


def test_unknown_kid_after_refresh_is_rejected(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))

    assert _rejection(_fit(STRANGER_KEY, kid="nobody"), jwks).code == "forge_key_unknown"
    assert len(served.calls) == 1


def test_refresh_on_unknown_kid_is_rate_limited(served, jwks, clock):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED)

    for kid in ("forged-1", "forged-2", "forged-3"):
        _rejection(_fit(STRANGER_KEY, kid=kid), jwks)
    assert len(served.calls) == 1

    clock.now += 60
    _rejection(_fit(STRANGER_KEY, kid="forged-4"), jwks)
    assert len(served.calls) == 2


def test_keys_older_than_max_age_are_refetched(served, clock):
    jwks = ForgeJwks(JWKS_URL, clock=clock, max_age_seconds=3600)
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED)
    clock.now += 3600

    verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED)

    assert len(served.calls) == 2


def test_cached_keys_still_verify_when_a_routine_refresh_fails(served, clock):
    jwks = ForgeJwks(JWKS_URL, clock=clock, max_age_seconds=3600)
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    served.get(JWKS_URL, status=503)
    verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED)
    clock.now += 3600

    claims = verify_forge_token(_fit(), jwks=jwks, app_id=APP_ID, now=ISSUED)

    assert claims.app_id == APP_ID
    assert len(served.calls) == 2


def test_unreachable_jwks_fails_closed(served, jwks):
    served.get(JWKS_URL, status=503)

    assert _rejection(_fit(), jwks).code == "forge_keys_unavailable"


def test_non_rsa_and_encryption_keys_are_not_used_for_signatures(served, jwks):
    document = _jwks((SIGNING_KEY, "key-1"))
    document["keys"][0]["use"] = "enc"
    document["keys"].append({"kty": "oct", "kid": "key-2", "k": "c2VjcmV0"})
    _serve(served, document)

    assert _rejection(_fit(), jwks).code == "forge_key_unknown"


def test_missing_app_id_setting_fails_closed(jwks):
    assert _rejection(_fit(), jwks, app_id="").code == "forge_not_configured"


def test_request_headers_give_claims_and_product_tokens(served, jwks):
    _serve(served, _jwks((SIGNING_KEY, "key-1")))
    headers = Headers(
        {
            "Authorization": f"Bearer {_fit()}",
            "X-Forge-Oauth-System": "system-token",
            "x-forge-oauth-user": "user-token",
        }
    )

    request = verify_forge_request(headers, jwks=jwks, app_id=APP_ID, now=ISSUED)

    assert request.claims.installation_id == DOCUMENTED_FIT["app"]["installationId"]
    assert request.system_token == "system-token"
    assert request.user_token == "user-token"
    assert "system-token" not in repr(request)


def test_request_without_bearer_token_is_rejected(jwks):
    with pytest.raises(AuthError) as caught:
        verify_forge_request({"x-forge-oauth-system": "t"}, jwks=jwks, app_id=APP_ID)

    assert caught.value.code == "token_missing"


def test_header_helpers_are_case_insensitive_on_plain_mappings():
    headers = {"AUTHORIZATION": "bearer abc.def.ghi", "X-Forge-OAuth-System": " sys "}

    assert bearer_token_from_headers(headers) == "abc.def.ghi"
    assert system_token_from_headers(headers) == "sys"
    assert user_token_from_headers(headers) is None


def test_non_bearer_authorization_is_not_a_forge_token():
    assert bearer_token_from_headers({"Authorization": "JWT abc.def.ghi"}) is None
    assert bearer_token_from_headers({"Authorization": "Bearer "}) is None
    assert system_token_from_headers({"x-forge-oauth-system": ""}) is None
