"""`okrlink github map | list | configure`, and how the app wires the GitHub side."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.app import create_app
from connect.cli import main
from connect.services import services_of
from connect.settings import Settings
from integrations.github.publisher import GitHubChecks, repository_settings
from sync.db.model import GitHubInstallation, Link
from sync.ports import Ports
from tests.support.github_app import deliver, fixture, load_okrs, store


@pytest.fixture
def runner(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The shared CLI runner, its queue applying jobs at once."""
    monkeypatch.setenv("OKRLINK_QUEUE_IMMEDIATE", "1")
    return runner


def test_map_links_an_installation_and_its_prs_to_the_site(
    app: Flask, client: FlaskClient, runner: CliRunner, clock
) -> None:
    load_okrs(app, clock.now())
    deliver(client, "installation", fixture("installation.created.json"), delivery="i-1")
    opened = fixture("pull_request.opened.json")
    opened["installation"]["id"] = 957387
    opened["pull_request"]["body"] = "KR: PLAT-1.2"
    deliver(client, "pull_request", opened, delivery="p-1")

    result = runner.invoke(main, ["github", "map", "957387", "local"])
    assert result.exit_code == 0, result.output
    # The result on stdout (stderr says the check runs were skipped: no GitHub App here).
    assert result.stdout.strip() == "installation 957387 -> site local (1 pull requests linked)"
    with store(app).session() as session:
        assert session.get_one(GitHubInstallation, 957387).site_id is not None
        refs = session.scalars(select(Link.target_key).where(Link.source == "pr")).all()
        assert refs == ["Codertocat/Hello-World#2"]


def test_map_to_an_unknown_site_fails_and_changes_nothing(
    app: Flask, client: FlaskClient, runner: CliRunner
) -> None:
    deliver(client, "installation", fixture("installation.created.json"), delivery="i-1")
    result = runner.invoke(main, ["github", "map", "957387", "https://nowhere.atlassian.net"])
    assert result.exit_code == 1
    assert "no site 'https://nowhere.atlassian.net'" in result.output
    with store(app).session() as session:
        assert session.get_one(GitHubInstallation, 957387).site_id is None


def test_list_shows_each_installation_with_its_site_and_state(
    app: Flask, client: FlaskClient, runner: CliRunner, clock
) -> None:
    load_okrs(app, clock.now())
    deliver(client, "installation", fixture("installation.created.json"), delivery="i-1")
    deliver(client, "installation", fixture("installation.deleted.json"), delivery="i-2")
    runner.invoke(main, ["github", "map", "957387", "local"])
    result = runner.invoke(main, ["github", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2\toctocat\t(unmapped)\tdeleted\t{}",
        "957387\tCodertocat\tlocal\tactive\t{}",
    ]


def test_list_without_installations_says_how_to_get_one(runner: CliRunner) -> None:
    result = runner.invoke(main, ["github", "list"])
    assert result.exit_code == 0
    assert "no GitHub installations yet" in result.output


def test_configure_sets_installation_and_repository_options(app: Flask, runner: CliRunner) -> None:
    runner.invoke(main, ["github", "configure", "957387", "--no-kr-message"])
    result = runner.invoke(
        main,
        [
            "github",
            "configure",
            "957387",
            "--repo",
            "Codertocat/Hello-World",
            "--conclusion",
            "success",
            "--kr-message",
        ],
    )
    assert result.exit_code == 0, result.output
    with store(app).session() as session:
        settings = session.get_one(GitHubInstallation, 957387).settings
    assert repository_settings(settings, "Codertocat/Hello-World") == repository_settings(
        {"conclusion": "success", "no_kr_message": True}, "any"
    )
    other = repository_settings(settings, "Codertocat/Other")
    assert (other.conclusion, other.no_kr_message) == ("neutral", False)


def test_configure_without_an_option_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["github", "configure", "957387"])
    assert result.exit_code == 2


def test_repository_settings_ignore_conclusions_that_could_block_a_merge() -> None:
    chosen = repository_settings({"conclusion": "failure"}, "Codertocat/Hello-World")
    assert chosen.conclusion == "neutral"


def test_the_app_builds_the_github_checks_port_from_its_settings(settings: Settings, clock) -> None:
    app = create_app(settings, ports=Ports(clock=clock))
    try:
        port = services_of(app).jobs.ports.checks
        assert isinstance(port, GitHubChecks)
        assert port.app.config.api_url == settings.github_api_url
        assert "/webhooks/github" in {rule.rule for rule in app.url_map.iter_rules()}
    finally:
        services_of(app).store.dispose()


def test_without_app_credentials_there_is_no_checks_port(settings: Settings, clock) -> None:
    app = create_app(
        settings.replace(github_app_id="", github_private_key=""), ports=Ports(clock=clock)
    )
    try:
        assert services_of(app).jobs.ports.checks is None
    finally:
        services_of(app).store.dispose()
