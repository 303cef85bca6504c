"""Signed install / uninstall calls: RS256 by kid, audience, issuer, qsh, key cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connect.doors.atlassian_connect.connect_jwt import (
    UNKNOWN_KID_SECONDS,
    ConnectClaims,
    InstallKeys,
    verify_install_jwt,
)
from connect.errors import AuthError
from integrations.atlassian.qsh import query_string_hash

KEYS_URL = "https://connect-install-keys.atlassian.com"
KID = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
BASE_URL = "https://okrlink.example.com"
CLIENT_KEY = "8a1c6f0e-3b2d-4e5f-9a7b-1c2d3e4f5a6b"
SHARED_SECRET = "0b7f2c1e-9a4d-4c3b-8e6f-5a2d1c0b9e8f-shared"
NOW = 1_750_000_000
PATH = "/lifecycle/installed"


@pytest.fixture(scope="module")
def atlassian_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def forger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_server(atlassian_key: rsa.RSAPrivateKey) -> Iterator[responses.RequestsMock]:
    pem = atlassian_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{KEYS_URL}/{KID}", body=pem, content_type="application/x-pem-file")
        mock.get(f"{KEYS_URL}/unknown-kid", status=404)
        yield mock


@pytest.fixture
def keys(key_server: responses.RequestsMock) -> InstallKeys:
    return InstallKeys(KEYS_URL)


def _install_token(
    key: Any,
    *,
    claims: dict[str, Any] | None = None,
    kid: str | None = KID,
    algorithm: str = "RS256",
) -> str:
    body: dict[str, Any] = {
        "iss": CLIENT_KEY,
        "aud": BASE_URL,
        "qsh": query_string_hash("POST", PATH, ""),
        "iat": NOW,
        "exp": NOW + 180,
        "context": {},
    }
    body.update(claims or {})
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def _verify(token: str, keys: InstallKeys, **overrides: Any) -> ConnectClaims:
    arguments: dict[str, Any] = {
        "method": "POST",
        "path": PATH,
        "query": "",
        "base_url": BASE_URL,
        "client_key": CLIENT_KEY,
        "keys": keys,
        "now": NOW,
    }
    arguments.update(overrides)
    return verify_install_jwt(token, **arguments)


def _rejected(token: str, keys: InstallKeys, code: str, **overrides: Any) -> None:
    with pytest.raises(AuthError) as caught:
        _verify(token, keys, **overrides)
    assert caught.value.http_status == 401
    assert caught.value.code == code


def test_signed_install_verifies(atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys) -> None:
    claims = _verify(_install_token(atlassian_key), keys)
    assert claims.client_key == CLIENT_KEY
    assert claims.context_qsh is False
    assert claims.expires_at == NOW + 180


@pytest.mark.parametrize("audience", [BASE_URL + "/", [BASE_URL]])
def test_audience_with_trailing_slash_or_as_list_is_ours(
    atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys, audience: Any
) -> None:
    assert _verify(_install_token(atlassian_key, claims={"aud": audience}), keys)
    assert _verify(_install_token(atlassian_key), keys, base_url=BASE_URL + "/")


def test_public_key_is_fetched_once_per_kid(
    atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys, key_server: responses.RequestsMock
) -> None:
    token = _install_token(atlassian_key)
    _verify(token, keys)
    _verify(token, keys)
    _verify(_install_token(atlassian_key, claims={"iat": NOW + 1}), keys)
    fetches = [call for call in key_server.calls if call.request.url == f"{KEYS_URL}/{KID}"]
    assert len(fetches) == 1


def test_install_signed_by_another_key_is_rejected(
    forger_key: rsa.RSAPrivateKey, keys: InstallKeys
) -> None:
    _rejected(_install_token(forger_key), keys, "token_signature")


def test_expired_install_is_rejected(atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys) -> None:
    _rejected(_install_token(atlassian_key), keys, "token_expired", now=NOW + 180 + 31)


@pytest.mark.parametrize(
    "audience", ["https://attacker.example.com", "https://okrlink.example.com.evil", None]
)
def test_install_addressed_to_another_app_is_rejected(
    atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys, audience: str | None
) -> None:
    _rejected(_install_token(atlassian_key, claims={"aud": audience}), keys, "token_audience")


def test_unknown_kid_is_rejected(atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys) -> None:
    _rejected(_install_token(atlassian_key, kid="unknown-kid"), keys, "install_key_unknown")


def test_install_signed_with_the_shared_secret_is_rejected(keys: InstallKeys) -> None:
    token = _install_token(SHARED_SECRET, algorithm="HS256")
    _rejected(token, keys, "token_algorithm")


def test_unsigned_install_is_rejected(keys: InstallKeys) -> None:
    token = _install_token(None, algorithm="none") + "c2lnbmF0dXJl"
    _rejected(token, keys, "token_algorithm")


def test_install_without_kid_is_rejected(
    atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys
) -> None:
    _rejected(_install_token(atlassian_key, kid=None), keys, "install_key_invalid")


@pytest.mark.parametrize("kid", ["../../etc/passwd", "..", "a/b", "kid?x=1", "%2e%2e", ""])
def test_kid_that_is_not_a_plain_name_is_refused_without_a_fetch(
    atlassian_key: rsa.RSAPrivateKey,
    keys: InstallKeys,
    key_server: responses.RequestsMock,
    kid: str,
) -> None:
    _rejected(_install_token(atlassian_key, kid=kid), keys, "install_key_invalid")
    assert len(key_server.calls) == 0


def test_issuer_must_be_the_client_key_of_the_body(
    atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys
) -> None:
    token = _install_token(atlassian_key)
    _rejected(token, keys, "token_issuer", client_key="some-other-installation")


def test_install_token_replayed_on_another_lifecycle_route_fails_qsh(
    atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys
) -> None:
    token = _install_token(atlassian_key)
    _rejected(token, keys, "token_qsh", path="/lifecycle/uninstalled")


def test_context_qsh_is_not_accepted_for_install(
    atlassian_key: rsa.RSAPrivateKey, keys: InstallKeys
) -> None:
    token = _install_token(atlassian_key, claims={"qsh": "context-qsh"})
    _rejected(token, keys, "token_qsh")


def test_key_server_error_is_not_cached(atlassian_key: rsa.RSAPrivateKey) -> None:
    pem = atlassian_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with responses.RequestsMock() as mock:
        mock.get(f"{KEYS_URL}/{KID}", status=503)
        mock.get(f"{KEYS_URL}/{KID}", body=pem)
        keys = InstallKeys(KEYS_URL)
        _rejected(_install_token(atlassian_key), keys, "install_key_unavailable")
        assert _verify(_install_token(atlassian_key), keys).client_key == CLIENT_KEY
        assert len(mock.calls) == 2


def test_non_rsa_key_from_the_key_server_is_refused(atlassian_key: rsa.RSAPrivateKey) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{KEYS_URL}/{KID}", body=b"-----BEGIN PUBLIC KEY-----\nnope\n")
        _rejected(_install_token(atlassian_key), InstallKeys(KEYS_URL), "install_key_invalid")


def test_an_unknown_kid_is_remembered_for_a_while_not_fetched_each_time(
    atlassian_key: rsa.RSAPrivateKey, key_server: responses.RequestsMock
) -> None:
    now = [1000.0]
    keys = InstallKeys(KEYS_URL, clock=lambda: now[0])
    token = _install_token(atlassian_key, kid="unknown-kid")
    for _ in range(10):
        _rejected(token, keys, "install_key_unknown")
    assert len(key_server.calls) == 1
    now[0] += UNKNOWN_KID_SECONDS + 1
    _rejected(token, keys, "install_key_unknown")
    assert len(key_server.calls) == 2
    _verify(_install_token(atlassian_key), keys)  # a known kid is not held up by it
