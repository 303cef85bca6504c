"""`okrlink accounts report`: stored account ids to Atlassian, 90 a call; closed ones erased."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from connect.cli import main
from connect.services import services_of
from connect.settings import Settings
from integrations.atlassian.privacy import REPORT_PATH
from sync.accounts import FORMER_USER
from sync.db.model import CheckIn, KeyResult, Kpi
from sync.db.store import find_kr
from tests.support.accounts import ACTIVE, AT, CLOSED, UPDATED, people_site

API = "https://api.atlassian.com"


@pytest.fixture
def runner(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose commands open the same database as the test's app."""
    monkeypatch.setenv("OKRLINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OKRLINK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRLINK_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("OKRLINK_ATLASSIAN_API_URL", API)
    return CliRunner()


def more_authors(app: Flask, site_id: int, count: int) -> list[str]:
    """`count` more people, each with one check-in on PLAT-1.3."""
    ids = [f"557058:0c0ffee0-0000-4000-8000-{n:012x}" for n in range(count)]
    with services_of(app).store.session() as session:
        kr = find_kr(session, site_id, "PLAT-1.3")
        assert kr is not None
        for account in ids:
            session.add(CheckIn(site_id=site_id, kr_id=kr.id, at=AT, author=account, what="."))
    return ids


def atlassian(calls: list[list[str]]) -> Any:
    """Answers as Atlassian: closed for CLOSED, updated for UPDATED, 204 when neither."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        sent = [item["accountId"] for item in json.loads(request.body)["accounts"]]
        assert request.headers["Authorization"].startswith("JWT ")
        calls.append(sent)
        found = [
            {"accountId": account, "status": "closed" if account == CLOSED else "updated"}
            for account in sent
            if account in (CLOSED, UPDATED)
        ]
        if not found:
            return 204, {}, ""
        return 200, {"Content-Type": "application/json"}, json.dumps({"accounts": found})

    return answer


@responses.activate
def test_report_sends_90_a_call_erases_the_closed_account_and_says_so(
    app: Flask, runner: CliRunner
) -> None:
    site = people_site(app)
    extra = more_authors(app, site.site_id, 92)
    calls: list[list[str]] = []
    responses.add_callback(responses.POST, API + REPORT_PATH, callback=atlassian(calls))

    result = runner.invoke(main, ["accounts", "report", "--site", "acme.atlassian.net"])

    assert result.exit_code == 0, result.output
    assert [len(call) for call in calls] == [90, 5]
    assert sorted(a for call in calls for a in call) == sorted([CLOSED, UPDATED, ACTIVE, *extra])
    lines = result.output.splitlines()
    assert lines[0] == "acme.atlassian.net: reported 95 account(s)"
    assert lines[1].startswith("  closed, erased (") and lines[1].endswith(CLOSED)
    assert lines[2] == f"  updated (cached profiles dropped): {UPDATED}"
    with services_of(app).store.session() as session:
        owners = dict(session.execute(select(KeyResult.key, KeyResult.owner)).all())
        assert owners["PLAT-1.1"] == FORMER_USER and owners["PLAT-1.2"] == ACTIVE
        assert session.scalar(select(Kpi.owner).where(Kpi.key == site.kpi_key)) == FORMER_USER
        authors = session.scalars(select(CheckIn.author)).all()
        assert CLOSED not in authors and authors.count(FORMER_USER) == 1
        assert session.scalar(select(func.count()).where(CheckIn.author.in_(extra))) == 92

    calls.clear()
    again = runner.invoke(main, ["accounts", "report"])  # every site: the erased id is gone
    assert again.exit_code == 0
    assert CLOSED not in [a for call in calls for a in call]
    assert "reported 94 account(s)" in again.output


@responses.activate
def test_a_long_429_stops_the_report_and_fails_the_command(app: Flask, runner: CliRunner) -> None:
    people_site(app)
    responses.post(API + REPORT_PATH, status=429, headers={"Retry-After": "3600"})
    result = runner.invoke(main, ["accounts", "report"])
    assert result.exit_code == 1
    assert "stopped: personal data reporting answered 429" in result.output
    assert "did not finish; run it again later" in result.output
    with services_of(app).store.session() as session:
        assert session.scalar(select(func.count()).where(KeyResult.owner == CLOSED)) == 1


def test_a_site_without_an_installation_is_refused(app: Flask, runner: CliRunner) -> None:
    result = runner.invoke(main, ["accounts", "report", "--site", "local"])
    assert result.exit_code == 1
    assert "has no enabled Atlassian installation" in result.output
    missing = runner.invoke(main, ["accounts", "report", "--site", "nowhere.example"])
    assert missing.exit_code == 1 and "no site 'nowhere.example'" in missing.output


def test_the_daily_job_is_registered_with_the_other_periodic_jobs(app: Flask) -> None:
    queue = services_of(app).queue
    (job,) = [task for task in queue._registry.periodic_tasks if task.name == "report_accounts"]
    runs = [hour for hour in range(24) if job.validate_datetime(datetime(2026, 12, 7, hour, 0))]
    assert runs == [0]  # once a day
    assert not job.validate_datetime(datetime(2026, 12, 7, 0, 1))
