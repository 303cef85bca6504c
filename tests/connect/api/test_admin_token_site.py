"""Which site the admin token acts on: `X-Okrlink-Site`, else `OKRLINK_API_SITE`, else local."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from connect.app import create_app
from connect.services import services_of
from connect.settings import SettingError, Settings
from sync.ports import Ports
from tests.support.app import install
from tests.support.jira import create_okrs

KRS = [
    {
        "key": "PLAT-1.1",
        "title": "Raise availability from 99.5% to 99.9%",
        "baseline": 99.5,
        "target": 99.9,
    }
]


@pytest.fixture
def opened(app: Flask, settings: Settings, ports: Ports) -> Iterator[Flask]:
    """The app with OKRLINK_API_SITE naming acme's site, whose OKRs exist; local has none."""
    install(app, client_key="jira:acme", base_url="https://acme.atlassian.net")
    create_okrs(
        app.test_client(),
        {"Authorization": f"Bearer {settings.admin_token}"},
        site="jira:acme",
        krs=KRS,
    )
    opened = create_app(settings.replace(api_site="acme.atlassian.net"), ports=ports)
    yield opened
    services_of(opened).store.dispose()


def test_without_the_header_the_token_acts_on_the_api_site(
    opened: Flask, admin: dict[str, str]
) -> None:
    response = opened.test_client().get("/api/v1/key-results/PLAT-1.1", headers=admin)
    assert response.status_code == 200
    assert response.json["title"] == "Raise availability from 99.5% to 99.9%"


def test_the_header_still_chooses_another_site(opened: Flask, admin: dict[str, str]) -> None:
    response = opened.test_client().get(
        "/api/v1/key-results/PLAT-1.1", headers={**admin, "X-Okrlink-Site": "local"}
    )
    assert response.status_code == 404


def test_an_api_without_a_token_says_it_is_closed_and_how_to_open_it(
    settings: Settings, ports: Ports
) -> None:
    closed = create_app(settings.replace(admin_token=""), ports=ports)
    try:
        response = closed.test_client().get(
            "/api/v1/objectives", headers={"Authorization": "Bearer anything"}
        )
    finally:
        services_of(closed).store.dispose()
    assert response.status_code == 401
    assert "set OKRLINK_ADMIN_TOKEN" in response.json["error"]["message"]


@pytest.mark.parametrize(
    "token,words",
    [
        ("short-token", "11 characters long: give at least 32"),
        ("x" * 31, "31 characters long"),
        ("replace-with-a-long-random-token", "the example Secret's placeholder"),
    ],
)
def test_a_short_or_example_admin_token_stops_the_app_with_a_clear_message(
    settings: Settings, ports: Ports, token: str, words: str
) -> None:
    with pytest.raises(SettingError) as caught:
        create_app(settings.replace(admin_token=token), ports=ports)
    assert "OKRLINK_ADMIN_TOKEN" in str(caught.value) and words in str(caught.value)
    assert token not in str(caught.value)


def test_a_command_with_a_short_admin_token_is_a_usage_error_naming_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from connect.cli import main

    monkeypatch.setenv("OKRLINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OKRLINK_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("OKRLINK_ADMIN_TOKEN", "too-short")
    result = CliRunner().invoke(main, ["digest", "list"])
    assert result.exit_code == 2
    assert "OKRLINK_ADMIN_TOKEN is 9 characters long" in result.output
    assert "Traceback" not in result.output
