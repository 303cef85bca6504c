"""Every place a person is shown reads the name the people cache knows, never the account id:
the Confluence panel (live, static and full view), the dashboard gadget's panel, the issue
panel, the KR page, the retrospective (view and Confluence page), the GitHub check run, the
digest as text and the CLI (`digest preview`, `cycle close`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from connect.cli import main
from connect.services import services_of
from connect.settings import Settings
from integrations.atlassian.retro_page import retro_body
from integrations.github.checks import render_check_run
from sync.db.model import Link, PullRequest
from sync.retro import load_retro
from sync.write.check_run import impacts_for
from tests.connect.ui.test_people_names import ALICE, BOB, GONE, NOBODY, _quarter, jira, site
from tests.support.app import ACCOUNT, CLIENT_KEY, signed_url
from tests.support.base import FakeClock
from tests.support.ui import parse

__all__ = ["jira", "site"]  # the stand-in Jira and the site installed against it

ACCOUNTS = (ALICE, BOB, GONE, NOBODY, ACCOUNT)
MACRO = {"team": "PLAT", "cycle": "2026-Q4", "objective": ""}


def _no_ids(text: str) -> None:
    shown = [account for account in ACCOUNTS if account in text]
    assert shown == [], shown


def _owners_named(text: str) -> None:
    for name in ("Owner: Alice Dupont", "Owner: Bob Lee", "Owner: Former user"):
        assert name in text
    assert "Owner: Unknown user" in text and "Owner: SRE lead" in text
    _no_ids(text)


def _check_in(client: FlaskClient) -> None:
    """A check-in on PLAT-1.1 written by the signed-in account (Camille Martin)."""
    page = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": "2026-Q4"}))
    form = parse(page.text).find("form", data_form="check-in")
    data = {n.attrs["name"]: n.attrs.get("value", "") for n in form.find_all("input")}
    data.update(value="99.7", what="Failover drill passed")
    assert client.post(form.attrs["action"], data=data).status_code == 303


@pytest.mark.parametrize("view", ["compact", "full"])
def test_the_confluence_panel_names_the_owners(
    client: FlaskClient, admin: dict[str, str], site: int, view: str
) -> None:
    _quarter(client, admin)
    _check_in(client)
    for path in ("/confluence/macro/okr-panel", "/confluence/macro/okr-panel/static"):
        shown = client.get(signed_url(path, {**MACRO, "view": view}))
        assert shown.status_code == 200, shown.text
        text = parse(shown.text).find("main").text
        if view == "full":
            _owners_named(text)
            assert "by Camille Martin" in text  # the last check-in's author
        else:  # the compact view shows no owner at all
            assert "Owner:" not in text
            _no_ids(text)


def test_the_dashboard_gadgets_panel_names_the_owners(
    client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    _quarter(client, admin)
    _check_in(client)
    for view in ("compact", "full"):
        params = {"team": "PLAT", "cycle": "2026-Q4", "view": view}
        shown = client.get(signed_url("/jira/dashboard-item/panel", params, context=True))
        assert shown.status_code == 200, shown.text
        text = parse(shown.text).find("main").text
        if view == "full":
            _owners_named(text)
            assert "by Camille Martin" in text  # the last check-in's author
        else:  # the compact view shows no owner at all
            assert "Owner:" not in text
            _no_ids(text)


def test_the_issue_panel_names_the_owner(
    client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    _quarter(client, admin)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    made = client.post(
        "/api/v1/key-results",
        json={
            "objective": "PLAT-1",
            "kind": "issues",
            "title": "Ship the failover runbook",
            "issues": ["PLAT-40"],
            "owner": ALICE,
        },
        headers=headers,
    )
    assert made.status_code == 201, made.json
    shown = client.get(signed_url("/jira/issue-panel", {"issueKey": "PLAT-40"}))
    assert shown.status_code == 200
    text = parse(shown.text).find("body").text
    assert "Owner: Alice Dupont" in text
    _no_ids(text)


def test_the_kr_page_names_the_check_in_author_and_the_owner_changes(
    client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    _quarter(client, admin)
    _check_in(client)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    client.patch("/api/v1/key-results/PLAT-1.1", json={"owner": GONE}, headers=headers)
    url = signed_url("/jira/project-page/kr", {"projectKey": "PLAT", "kr": "PLAT-1.1"})
    text = parse(client.get(url).text).find("main").text
    assert "by Camille Martin" in text
    assert "owner: Alice Dupont → Former user" in text
    _no_ids(text)


def test_the_review_names_the_owners(client: FlaskClient, admin: dict[str, str], site: int) -> None:
    _quarter(client, admin)
    url = signed_url(
        "/jira/project-page", {"projectKey": "PLAT", "cycle": "2026-Q4", "view": "review"}
    )
    _owners_named(parse(client.get(url).text).find("main").text)


def test_the_check_run_names_the_owner(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int, clock: FakeClock
) -> None:
    _quarter(client, admin)
    services = services_of(app)
    with app.app_context(), services.store.session() as session:
        from sync.db.store import find_kr

        kr = find_kr(session, site, "PLAT-1.1")
        assert kr is not None
        pull = PullRequest(
            site_id=site, installation_id=1, repo="acme/api", number=7, ref="acme/api#7"
        )
        session.add_all(
            [
                pull,
                Link(
                    site_id=site,
                    kr_id=kr.id,
                    target_kind="github",
                    target_key="acme/api#7",
                    source="pr",
                ),
            ]
        )
        session.flush()
        impacts = impacts_for(
            session, site, pull, people=services.jobs.ports.people, now=clock.now()
        )
    body = render_check_run(impacts=impacts, okr_page_url=None)
    assert body is not None
    text = str(body)
    assert "Alice Dupont" in text
    _no_ids(text)


def test_the_cli_digest_preview_names_the_owners_in_each_format(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    site: int,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
) -> None:
    clock.current = datetime.now(UTC)  # the CLI reads the real clock: the week is this one
    _quarter(client, admin)
    _check_in(client)
    for name, value in (
        ("OKRLINK_DATABASE_URL", settings.resolved_database_url),
        ("OKRLINK_DATA_DIR", str(settings.data_dir)),
        ("OKRLINK_SECRET_KEY", settings.secret_key),
    ):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    for fmt in ("text", "slack", "teams"):
        shown = runner.invoke(
            main, ["digest", "preview", "--site", CLIENT_KEY, "--team", "PLAT", "--format", fmt]
        )
        assert shown.exit_code == 0, shown.output
        for name in ("Alice Dupont", "Bob Lee", "Former user", "Unknown user", "SRE lead"):
            assert name in shown.output  # owners at risk and owners to remind
        _no_ids(shown.output)


def test_closing_a_cycle_shows_no_account_in_the_cli_the_retro_or_its_page(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    site: int,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
) -> None:
    clock.current = datetime.now(UTC)  # the CLI reads the real clock: the week is this one
    _quarter(client, admin)
    _check_in(client)
    for name, value in (
        ("OKRLINK_DATABASE_URL", settings.resolved_database_url),
        ("OKRLINK_DATA_DIR", str(settings.data_dir)),
        ("OKRLINK_SECRET_KEY", settings.secret_key),
    ):
        monkeypatch.setenv(name, value)
    closed = CliRunner().invoke(
        main,
        [
            "cycle",
            "close",
            "--site",
            CLIENT_KEY,
            "--team",
            "PLAT",
            "--cycle",
            "2026-Q4",
            "--learned",
            "Drills find the gaps",
        ],
    )
    assert closed.exit_code == 0, closed.output
    assert "PLAT 2026-Q4 closed" in closed.output
    _no_ids(closed.output)
    url = signed_url("/confluence/macro/okr-panel", {**MACRO, "view": "retro"})
    text = parse(client.get(url).text).find("main").text
    assert "Drills find the gaps" in text
    _no_ids(text)
    with services_of(app).store.session() as session:
        retro = load_retro(session, site, team="PLAT", cycle="2026-Q4")
    assert retro is not None
    page = retro_body(retro)
    assert "Drills find the gaps" in page
    _no_ids(page)


def test_a_kpi_owner_reads_as_a_name_on_the_project_page(
    client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    from tests.support.ui import the_form

    _quarter(client, admin)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    created = client.post(
        "/api/v1/kpis",
        json={"team": "PLAT", "key": "PLAT-UP", "title": "Uptime", "kind": "metric", "owner": BOB},
        headers=headers,
    )
    assert created.status_code == 201, created.json
    assert created.json["owner"] == BOB  # the API keeps the account id
    page = client.get(
        signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": "2026-Q4"})
    ).text
    form = the_form(page, "edit-kpi", "PLAT-UP")
    assert form.find("input", name="owner").attrs["value"] == "Bob Lee"
    assert form.find("input", name="owner_account").attrs["value"] == BOB
    _no_ids(parse(page).find("main").text)  # (a hidden input posts the account id back)
