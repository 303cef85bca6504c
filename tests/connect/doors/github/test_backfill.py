"""`okrlink github backfill`: a new team starts with its history, each deployment counted once.

GitHub's REST API is mocked with `responses` and answers with the objects of the real webhook
payloads (a REST deployment, status or pull request has the same shape as the webhook's).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses
from click import ClickException
from flask import Flask
from flask.testing import FlaskClient

from connect.cli.github_backfill import backfill
from connect.settings import Settings
from integrations.github.backfill import Pacer
from integrations.github.client import GitHubApp, GitHubAppConfig
from sync.db.model import Deployment
from tests.connect.doors.github.test_deployments import (
    EXPECTED,
    NOW,
    SHIPPED,
    currents,
    site,
    week,
)
from tests.support.deployments import INSTALLATION, REPO, Deliveries, shipped_pairs
from tests.support.github_app import API, SleepRecorder, at, count

__all__ = ["site"]  # the fixture, shared with the webhook tests

RATE = {
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4990",
    "x-ratelimit-reset": str(int(NOW.timestamp()) + 600),
}


def _url(path: str) -> re.Pattern[str]:
    return re.compile(at(f"{API}{path}") + r"(\?.*)?$")


def serve_history(github: responses.RequestsMock, *, remaining: str = "4990") -> None:
    """GitHub's answers for the week of tests/connect/doors/github/test_deployments.py."""
    headers = {**RATE, "x-ratelimit-remaining": remaining}
    events = week()
    deployments = [p for e, p in events if e == "deployment"]
    statuses: dict[int, list[dict[str, Any]]] = {}
    for event, payload in events:
        if event == "deployment_status":
            statuses.setdefault(payload["deployment"]["id"], []).append(
                payload["deployment_status"]
            )
    repository = deployments[0]["repository"]
    github.get(
        _url("/installation/repositories"),
        headers=headers,
        json={"total_count": 1, "repositories": [repository]},
    )
    github.get(
        _url(f"/repos/{REPO}/deployments"),
        headers=headers,
        json=[p["deployment"] for p in reversed(deployments)],
    )  # newest first, as GitHub
    for number, items in statuses.items():
        github.get(
            _url(f"/repos/{REPO}/deployments/{number}/statuses"), headers=headers, json=items
        )
    pulls = [p["pull_request"] for e, p in events if e == "pull_request"]
    github.get(_url(f"/repos/{REPO}/pulls"), headers=headers, json=list(reversed(pulls)))


@pytest.fixture
def api(settings: Settings, sleeps: SleepRecorder) -> GitHubApp:
    config = GitHubAppConfig.from_settings(settings)
    assert config is not None
    return GitHubApp(config, sleep=sleeps)


def test_the_backfill_alone_gives_the_values_the_webhooks_give(
    app: Flask, site: int, github: responses.RequestsMock, api: GitHubApp
) -> None:
    serve_history(github)
    summary = backfill(app, api, INSTALLATION, days=90)
    assert summary == (
        "installation 1: 1 repositories, 4 deployments, 4 statuses, "
        "4 merged pull requests over 90 days (12 new)"
    )
    assert currents(app, site) == EXPECTED
    assert count(app, Deployment) == 4
    assert shipped_pairs(app) == SHIPPED


def test_backfill_and_webhooks_together_count_each_deployment_once(
    app: Flask, client: FlaskClient, site: int, github: responses.RequestsMock, api: GitHubApp
) -> None:
    sender = Deliveries(client)
    for event, payload in week()[:6]:  # the webhook saw the first two deployments
        sender.send(event, payload)
    serve_history(github)
    backfill(app, api, INSTALLATION, days=90)
    again = backfill(app, api, INSTALLATION, days=90)
    assert again.endswith("(0 new)")
    for event, payload in week()[6:]:  # and then the rest arrives by webhook too
        sender.send(event, payload)
    assert count(app, Deployment) == 4
    assert currents(app, site) == EXPECTED
    assert shipped_pairs(app) == SHIPPED


def test_the_backfill_waits_for_the_reset_when_the_hourly_budget_runs_low(
    app: Flask, site: int, github: responses.RequestsMock, api: GitHubApp
) -> None:
    serve_history(github, remaining="150")
    clock = NOW.timestamp()
    waits: list[float] = []
    backfill(app, api, INSTALLATION, days=90, pacer=Pacer(clock=lambda: clock, sleep=waits.append))
    # Every call left fewer than the 200 kept back: each next call waited for the reset.
    calls = 1 + 1 + 4 + 1  # repositories, deployments, 4 status lists, pulls
    assert waits == [601.0] * (calls - 1)  # until the reset, and a second more
    assert currents(app, site) == EXPECTED


def test_older_than_the_window_is_not_read(
    app: Flask, site: int, github: responses.RequestsMock, api: GitHubApp
) -> None:
    serve_history(github)
    summary = backfill(app, api, INSTALLATION, days=3)  # since the 22nd, 12:00
    assert "1 deployments, 1 statuses, 2 merged pull requests over 3 days" in summary


def test_an_unmapped_installation_is_refused(app: Flask, api: GitHubApp) -> None:
    with pytest.raises(ClickException, match="not mapped"):
        backfill(app, api, 424242, days=90)
