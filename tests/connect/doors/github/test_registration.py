"""Registering the GitHub App from its manifest, then closing the door behind it."""

from __future__ import annotations

import html
import json
import re

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from connect.settings import Settings
from sync.ports import Ports
from tests.support.base import BASE_URL, FakeClock

CONVERSION = "https://api.github.com/app-manifests/a1b2c3/conversions"
# The answer's shape, from GitHub's "Create a GitHub App from a manifest" REST reference.
CREATED = {
    "id": 424242,
    "slug": "okrlink-acme",
    "node_id": "MDM6QXBwNTk=",
    "owner": {"login": "acme", "id": 1, "type": "Organization"},
    "name": "okrlink",
    "html_url": "https://github.com/apps/okrlink-acme",
    "client_id": "Iv1.8a61f9b3a7aba766",
    "client_secret": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
    "webhook_secret": "e340154128314309424b7c8e90325147d99fdafa",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAuEPzOUE=\n"
    "-----END RSA PRIVATE KEY-----\n",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A service not registered with GitHub yet: no app id, key or webhook secret."""
    return settings.replace(
        github_app_id="",
        github_private_key="",
        github_webhook_secret="",
        github_api_url="https://api.github.com",
    )


@pytest.fixture
def ports(clock: FakeClock) -> Ports:
    """No GitHub client: there is no app to call GitHub as."""
    return Ports(clock=clock)


def test_register_page_posts_the_manifest_with_this_service_s_urls(client: FlaskClient) -> None:
    page = client.get("/github/register").get_data(as_text=True)
    assert 'action="https://github.com/settings/apps/new"' in page
    value = re.search(r'name="manifest" value="([^"]+)"', page)
    assert value is not None
    manifest = json.loads(html.unescape(value.group(1)))
    assert manifest["hook_attributes"]["url"] == f"{BASE_URL}/webhooks/github"
    assert manifest["redirect_url"] == f"{BASE_URL}/github/manifest/callback"
    assert manifest["default_permissions"]["checks"] == "write"


def test_callback_exchanges_the_code_and_shows_the_settings_once(client: FlaskClient) -> None:
    with responses.RequestsMock() as github:
        github.post(CONVERSION, status=201, json=CREATED)
        response = client.get("/github/manifest/callback?code=a1b2c3")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "OKRLINK_GITHUB_APP_ID=424242" in page
    assert f"OKRLINK_GITHUB_WEBHOOK_SECRET={CREATED['webhook_secret']}" in page


def test_a_refused_or_missing_code_is_400(client: FlaskClient) -> None:
    assert client.get("/github/manifest/callback").status_code == 400
    assert client.get("/github/manifest/callback?code=../../x").status_code == 400
    with responses.RequestsMock() as github:
        github.post(CONVERSION, status=404, json={"message": "Not Found"})
        assert client.get("/github/manifest/callback?code=a1b2c3").status_code == 400


@pytest.fixture
def configured(settings: Settings) -> Settings:
    return settings.replace(github_app_id="424242")


def test_both_routes_close_once_the_app_is_configured(configured: Settings) -> None:
    from connect.app import create_app

    app: Flask = create_app(configured)
    try:
        client = app.test_client()
        assert client.get("/github/register").status_code == 404
        assert client.get("/github/manifest/callback?code=a1b2c3").status_code == 404
    finally:
        services_of(app).store.dispose()
