"""Registering the GitHub App from its manifest: only from the link the operator's CLI prints,
in the browser that opened it, once; then the door closes behind it."""

from __future__ import annotations

import html
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect import browser_states
from connect.cli import main
from connect.doors.github.registration import PURPOSE, register_url
from connect.services import services_of
from connect.settings import Settings
from sync.db.model import OAuthState
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


def link(app: Flask) -> str:
    """The register page's link, as `okrlink github register` prints it."""
    url = urlsplit(register_url(BASE_URL, services_of(app).oauth_state_key))
    return f"{url.path}?{url.query}"


def state_of(path: str) -> str:
    return parse_qs(urlsplit(path).query)["state"][0]


def used_states(app: Flask) -> list[str]:
    with services_of(app).store.session() as session:
        return list(session.scalars(select(OAuthState.nonce)))


def test_register_page_posts_the_manifest_with_this_service_s_urls(
    app: Flask, client: FlaskClient
) -> None:
    opened = link(app)
    response = client.get(opened)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action is not None
    assert html.unescape(action.group(1)) == (
        f"https://github.com/settings/apps/new?state={state_of(opened)}"
    )
    value = re.search(r'name="manifest" value="([^"]+)"', page)
    assert value is not None
    manifest = json.loads(html.unescape(value.group(1)))
    assert manifest["hook_attributes"]["url"] == f"{BASE_URL}/webhooks/github"
    assert manifest["redirect_url"] == f"{BASE_URL}/github/manifest/callback"
    assert manifest["default_permissions"]["checks"] == "write"


@pytest.mark.parametrize(
    "state",
    ["", "0.9999999999.00.forged", "0.1.abc.0"],
    ids=["none", "forged", "malformed"],
)
def test_the_register_page_opens_only_from_a_signed_link(
    app: Flask, client: FlaskClient, state: str
) -> None:
    response = client.get("/github/register", query_string={"state": state} if state else {})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_state"
    assert "okrlink github register" in response.json["error"]["message"]
    assert "manifest" not in response.get_data(as_text=True)


def test_an_expired_link_is_refused(app: Flask, client: FlaskClient) -> None:
    key = services_of(app).oauth_state_key
    old = browser_states.sign_state(key, PURPOSE, 0, now=time.time() - 3600)
    response = client.get("/github/register", query_string={"state": old})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_state"


def test_a_state_signed_for_asana_does_not_open_the_github_flow(
    app: Flask, client: FlaskClient
) -> None:
    key = services_of(app).oauth_state_key
    asana = browser_states.sign_state(key, "asana-oauth", 0)
    assert client.get("/github/register", query_string={"state": asana}).status_code == 401


def test_callback_exchanges_the_code_and_shows_the_settings_once(
    app: Flask, client: FlaskClient
) -> None:
    opened = link(app)
    client.get(opened)
    with responses.RequestsMock() as github:
        github.post(CONVERSION, status=201, json=CREATED)
        response = client.get(
            "/github/manifest/callback", query_string={"code": "a1b2c3", "state": state_of(opened)}
        )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "OKRLINK_GITHUB_APP_ID=424242" in page
    assert f"OKRLINK_GITHUB_WEBHOOK_SECRET={CREATED['webhook_secret']}" in page
    assert len(used_states(app)) == 1


def test_the_callback_refuses_another_browser_and_a_replay_without_asking_github(
    app: Flask, client: FlaskClient
) -> None:
    opened = link(app)
    client.get(opened)
    query = {"code": "a1b2c3", "state": state_of(opened)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as github:
        conversion = github.post(CONVERSION, status=201, json=CREATED)
        stolen = app.test_client().get("/github/manifest/callback", query_string=query)
        assert stolen.status_code == 401
        assert stolen.json["error"]["code"] == "state_not_this_browser"
        assert used_states(app) == []
        assert client.get("/github/manifest/callback", query_string=query).status_code == 200
        client.set_cookie(
            "okrlink_github_manifest",
            browser_states.browser_mark(services_of(app).oauth_state_key, PURPOSE, query["state"]),
            path="/github",
        )  # the cookie as it was before the callback cleared it
        again = client.get("/github/manifest/callback", query_string=query)
        assert again.status_code == 401
        assert again.json["error"]["code"] == "state_used"
        assert conversion.call_count == 1  # neither refusal reached GitHub


def test_a_refused_or_missing_code_is_400(app: Flask, client: FlaskClient) -> None:
    opened = link(app)
    client.get(opened)
    state = state_of(opened)
    missing = client.get("/github/manifest/callback", query_string={"state": state})
    assert missing.status_code == 400
    assert missing.json["error"]["code"] == "missing_code"
    odd = client.get("/github/manifest/callback", query_string={"code": "../../x", "state": state})
    assert odd.status_code == 400
    assert used_states(app) == []  # a bad code does not spend the link
    with responses.RequestsMock() as github:
        github.post(CONVERSION, status=404, json={"message": "Not Found"})
        refused = client.get(
            "/github/manifest/callback", query_string={"code": "a1b2c3", "state": state}
        )
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "manifest_conversion_failed"


def test_the_cli_prints_a_link_that_opens_the_register_page(
    app: Flask, runner: CliRunner, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRLINK_BASE_URL", BASE_URL)
    result = runner.invoke(main, ["github", "register"])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert url.startswith(f"{BASE_URL}/github/register?state=")
    parts = urlsplit(url)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 200


def test_the_cli_prints_no_link_once_the_app_is_configured(
    app: Flask, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKRLINK_GITHUB_APP_ID", "424242")
    result = runner.invoke(main, ["github", "register"])
    assert result.exit_code == 1
    assert "configured already" in result.output
    assert "/github/register" not in result.output


@pytest.fixture
def configured(settings: Settings) -> Settings:
    return settings.replace(github_app_id="424242")


def test_both_routes_close_once_the_app_is_configured(configured: Settings) -> None:
    from connect.app import create_app

    app: Flask = create_app(configured)
    try:
        client = app.test_client()
        state = browser_states.sign_state(services_of(app).oauth_state_key, PURPOSE, 0)
        register = client.get("/github/register", query_string={"state": state})
        assert register.status_code == 404
        assert register.json["error"]["code"] == "github_app_configured"
        callback = client.get(
            "/github/manifest/callback", query_string={"code": "a1b2c3", "state": state}
        )
        assert callback.status_code == 404
    finally:
        services_of(app).store.dispose()
