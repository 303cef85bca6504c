"""`okrlink practice set`: a site's thresholds, used by its pages' notes and shown to admins."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from connect.cli import main
from tests.support.app import CLIENT_KEY, install, signed_url
from tests.support.ui import parse


def _notes(client: FlaskClient) -> set[str]:
    page = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT"})).text
    return {n.attrs["data-practice"] for n in parse(page).find_all(data_practice=True)}


def test_a_site_profile_changes_the_notes_and_shows_on_the_admin_page(
    app: Flask, client: FlaskClient, admin: dict[str, str], runner: CliRunner
) -> None:
    install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    client.post(
        "/api/v1/objectives",
        headers=headers,
        json={"team": "PLAT", "title": "Make releases boring"},
    )
    for title in ("Cut change failure rate from 15% to 5%", "Cut lead time from 48 h to 24 h"):
        client.post(
            "/api/v1/key-results",
            headers=headers,
            json={
                "objective": "PLAT-1",
                "title": title,
                "baseline": 2,
                "target": 1,
                "owner": "Ops",
            },
        )
    assert "too-few-krs" in _notes(client)
    result = runner.invoke(
        main, ["practice", "set", "--site", CLIENT_KEY, "--max-objectives", "3", "--krs", "2-5"]
    )
    assert result.exit_code == 0, result.output
    assert "2-5 KRs per objective" in result.output
    assert "too-few-krs" not in _notes(client)
    admin_page = parse(client.get(signed_url("/jira/admin")).text)
    assert admin_page.find(data_krs="2-5")
    assert admin_page.find(data_max_objectives="3")
    shown = runner.invoke(main, ["practice", "show", "--site", CLIENT_KEY])
    assert "at most 3 objectives" in shown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--krs", "5-2"], "range"),
        (["--krs", "three"], "MIN-MAX"),
        (["--max-objectives", "0"], "0"),
    ],
)
def test_a_bad_profile_is_refused_and_changes_nothing(
    app: Flask, runner: CliRunner, args: list[str], message: str
) -> None:
    install(app)
    result = runner.invoke(main, ["practice", "set", "--site", CLIENT_KEY, *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    shown = runner.invoke(main, ["practice", "show", "--site", CLIENT_KEY])
    assert "3-5 KRs per objective" in shown.output
