"""Installing okrlink on a site: signed install, sites shared by Jira and Confluence, isolation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connect.services import services_of
from integrations.atlassian.qsh import query_string_hash
from sync.db.model import Installation, Site
from tests.support.base import BASE_URL
from tests.support.signing import CONFLUENCE_BASE, JIRA_BASE, install, signed_headers

KEYS_URL = "https://connect-install-keys.atlassian.com"
KID = "install-key-1"
JIRA_KEY = "jira:8a1c6f0e-3b2d-4e5f-9a7b-1c2d3e4f5a6b"
SECRET = "aX3bC9dE2fG7hJ4kL8mN1pQ6rS5tU0vW-shared-secret"


@pytest.fixture(scope="module")
def atlassian_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_server(atlassian_key: rsa.RSAPrivateKey) -> Iterator[responses.RequestsMock]:
    pem = atlassian_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{KEYS_URL}/{KID}", body=pem)
        mock.get(f"{KEYS_URL}/other-kid", status=404)
        yield mock


def _payload(**extra: Any) -> dict[str, Any]:
    return {
        "key": "okrlink",
        "clientKey": JIRA_KEY,
        "sharedSecret": SECRET,
        "baseUrl": JIRA_BASE,
        "productType": "jira",
        "eventType": "installed",
        **extra,
    }


def _install_headers(
    key: Any,
    *,
    path: str = "/lifecycle/installed",
    kid: str = KID,
    algorithm: str = "RS256",
    **claims: Any,
) -> dict[str, str]:
    now = int(time.time())
    body = {
        "iss": JIRA_KEY,
        "aud": BASE_URL,
        "iat": now,
        "exp": now + 180,
        "qsh": query_string_hash("POST", path, ""),
        **claims,
    }
    token = jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})
    return {"Authorization": f"JWT {token}"}


def _installations(app: Flask) -> int:
    with services_of(app).store.session() as session:
        return session.scalar(select(func.count()).select_from(Installation)) or 0


def test_valid_signed_install_creates_the_tenant_with_its_secret_encrypted(
    app: Flask, client: FlaskClient, key_server: responses.RequestsMock, atlassian_key: Any
) -> None:
    response = client.post(
        "/lifecycle/installed", json=_payload(), headers=_install_headers(atlassian_key)
    )
    assert response.status_code == 204, response.json
    with services_of(app).store.session() as session:
        row = session.scalar(select(Installation))
        assert row is not None
        assert (row.client_key, row.base_url, row.enabled) == (JIRA_KEY, JIRA_BASE, True)
        assert SECRET not in (row.shared_secret or "")
    assert services_of(app).tenants.secret_for(JIRA_KEY) == SECRET


@pytest.mark.parametrize(
    ("case", "make_headers"),
    [
        ("forged key", lambda key, forger: _install_headers(forger)),
        (
            "expired",
            lambda key, forger: _install_headers(
                key, exp=int(time.time()) - 120, iat=int(time.time()) - 400
            ),
        ),
        ("wrong aud", lambda key, forger: _install_headers(key, aud="https://evil.example")),
        ("wrong kid", lambda key, forger: _install_headers(key, kid="other-kid")),
        (
            "HS256 with the shared secret",
            lambda key, forger: _install_headers(SECRET, algorithm="HS256"),
        ),
        ("wrong qsh", lambda key, forger: _install_headers(key, path="/lifecycle/uninstalled")),
        ("issuer is not the clientKey", lambda key, forger: _install_headers(key, iss="other")),
        ("no token", lambda key, forger: {}),
    ],
)
def test_bad_install_is_refused_and_creates_nothing(
    app: Flask,
    client: FlaskClient,
    key_server: responses.RequestsMock,
    atlassian_key: Any,
    case: str,
    make_headers: Any,
) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = client.post(
        "/lifecycle/installed", json=_payload(), headers=make_headers(atlassian_key, forger)
    )
    assert response.status_code == 401, case
    assert _installations(app) == 0


def test_reinstall_rotates_the_secret_and_uninstall_disables(
    app: Flask, client: FlaskClient, key_server: responses.RequestsMock, atlassian_key: Any
) -> None:
    client.post("/lifecycle/installed", json=_payload(), headers=_install_headers(atlassian_key))
    rotated = SECRET[::-1]
    client.post(
        "/lifecycle/installed",
        json=_payload(sharedSecret=rotated),
        headers=_install_headers(atlassian_key),
    )
    tenants = services_of(app).tenants
    assert tenants.secret_for(JIRA_KEY) == rotated
    path = "/lifecycle/uninstalled"
    response = client.post(
        path,
        json=_payload(eventType="uninstalled"),
        headers=_install_headers(atlassian_key, path=path),
    )
    assert response.status_code == 204
    assert tenants.secret_for(JIRA_KEY) is None
    assert _installations(app) == 1  # kept until `okrlink tenants purge`


def test_disabled_tenant_tokens_are_refused(app: Flask, client: FlaskClient) -> None:
    secret = install(app, client_key=JIRA_KEY)
    url = "/lifecycle/disabled"
    response = client.post(
        url,
        json={"clientKey": JIRA_KEY},
        headers=signed_headers(secret, client_key=JIRA_KEY, method="POST", url=url),
    )
    assert response.status_code == 204
    api = "/api/v1/objectives"
    refused = client.get(
        api, headers=signed_headers(secret, client_key=JIRA_KEY, method="GET", url=api)
    )
    assert refused.status_code == 401


def _create_objective(client: FlaskClient, secret: str, key: str, title: str) -> int:
    url = "/api/v1/objectives"
    response = client.post(
        url,
        json={"team": "PLAT", "cycle": "2026-Q4", "title": title},
        headers=signed_headers(secret, client_key=key, method="POST", url=url),
    )
    return response.status_code


def _titles(client: FlaskClient, secret: str, key: str) -> list[str]:
    url = "/api/v1/objectives?team=PLAT"
    response = client.get(
        url, headers=signed_headers(secret, client_key=key, method="GET", url=url)
    )
    assert response.status_code == 200, response.json
    return [o["title"] for o in response.json["objectives"]]


def test_jira_and_confluence_of_one_site_share_okrs_and_another_site_sees_none(
    app: Flask, client: FlaskClient
) -> None:
    jira = install(app, client_key="jira-acme")
    wiki = install(app, client_key="wiki-acme", base_url=CONFLUENCE_BASE, product="confluence")
    other = install(app, client_key="jira-globex", base_url="https://globex.atlassian.net")
    assert _create_objective(client, jira, "jira-acme", "Make the platform reliable") == 201
    assert _titles(client, wiki, "wiki-acme") == ["Make the platform reliable"]
    assert _titles(client, other, "jira-globex") == []
    with services_of(app).store.session() as session:
        assert session.scalar(select(func.count()).select_from(Site)) == 2


def test_a_token_of_one_site_cannot_reach_another_sites_key_result(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    acme = install(app, client_key="jira-acme")
    install(app, client_key="jira-globex", base_url="https://globex.atlassian.net")
    globex_site = {"X-Okrlink-Site": "jira-globex", **admin}
    client.post(
        "/api/v1/objectives",
        headers=globex_site,
        json={"team": "OPS", "cycle": "2026-Q4", "title": "Calm on-call"},
    )
    client.post(
        "/api/v1/key-results",
        headers=globex_site,
        json={
            "objective": "OPS-1",
            "title": "Cut pages from 40 to 10 a week",
            "baseline": 40,
            "target": 10,
            "owner": "On-call lead",
        },
    )
    url = "/api/v1/key-results/OPS-1.1"
    for method in ("GET", "PATCH"):
        response = client.open(
            url,
            method=method,
            json={"title": "hijacked"},
            headers=signed_headers(acme, client_key="jira-acme", method=method, url=url),
        )
        assert response.status_code == 404
    assert client.get(url, headers=globex_site).json["title"] == "Cut pages from 40 to 10 a week"


def test_token_with_a_tampered_query_is_refused(app: Flask, client: FlaskClient) -> None:
    secret = install(app, client_key="jira-acme")
    headers = signed_headers(
        secret, client_key="jira-acme", method="GET", url="/api/v1/objectives?team=PLAT"
    )
    assert client.get("/api/v1/objectives?team=OPS", headers=headers).status_code == 401


def test_alg_none_token_is_refused(app: Flask, client: FlaskClient) -> None:
    install(app, client_key="jira-acme")
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": "jira-acme",
            "iat": now,
            "exp": now + 60,
            "qsh": query_string_hash("GET", "/api/v1/objectives", ""),
        },
        None,
        algorithm="none",
    )
    response = client.get("/api/v1/objectives", headers={"Authorization": f"JWT {token}"})
    assert response.status_code == 401
