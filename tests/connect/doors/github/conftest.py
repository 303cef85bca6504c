"""Fixtures of the GitHub App tests: a configured app and a real client against `responses`.

`settings` and `ports` override the ones in tests/conftest.py: the app gets a webhook secret,
an app key, and a real GitHub client whose one-write-per-second pacing sleeps on a recorder
instead of the wall clock.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import responses

from connect.settings import Settings
from integrations.github.client import GitHubApp, GitHubAppConfig
from integrations.github.publisher import GitHubChecks
from sync.ports import Ports
from tests.support.github_app import API, APP_ID, SECRET, SleepRecorder, app_private_key, at


@pytest.fixture(scope="session")
def pem() -> str:
    return app_private_key()


@pytest.fixture
def settings(settings: Settings, pem: str) -> Settings:
    return settings.replace(
        github_webhook_secret=SECRET,
        github_app_id=APP_ID,
        github_private_key=pem,
        github_api_url=API,
        app_key="okrlink-test",
    )


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def ports(ports: Ports, settings: Settings, sleeps: SleepRecorder) -> Ports:
    config = GitHubAppConfig.from_settings(settings)
    assert config is not None
    return replace(ports, checks=GitHubChecks(GitHubApp(config, sleep=sleeps)))


@pytest.fixture
def github() -> Iterator[responses.RequestsMock]:
    """GitHub's REST API, mocked: access tokens for any installation; check runs added per test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(
            responses.POST,
            re.compile(at(f"{API}/app/installations/") + r"\d+/access_tokens$"),
            json={
                "token": "ghs_installation_token",
                "expires_at": datetime.fromtimestamp(time.time() + 3600, tz=UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "permissions": {"checks": "write", "pull_requests": "read", "metadata": "read"},
                "repository_selection": "selected",
            },
            status=201,
        )
        yield rsps
