"""Asana in the OKR file, the API's links, the `okrlink asana` commands and the OAuth callback."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.cli import main
from connect.cli.asana import connect_token, oauth_url
from connect.doors.asana.oauth import browser_mark, sign_state
from connect.services import services_of
from sync.core import okrfile
from sync.db.model import AsanaConnection
from tests.support.app import CLIENT_KEY, install
from tests.support.asana import ME, FakeAsana
from tests.support.base import FakeClock
from tests.support.jira import get_kr

OKR_FILE = """\
team: PLAT
cycle: 2026-Q4
objectives:
  - key: PLAT-1
    title: Launch in every region
    key_results:
      - key: PLAT-1.1
        title: Every launch task done
        kind: issues
        owner: Platform lead
        asana: [1300000000000001, "https://app.asana.com/0/1300000000000001/1500000000000031"]
        asana_goal: 1400000000000001
"""


def test_the_okr_file_reads_asana_links_and_goal_and_writes_them_back() -> None:
    kr = okrfile.parse(OKR_FILE).objectives[0].key_results[0]
    task_url = "https://app.asana.com/0/1300000000000001/1500000000000031"
    assert kr.asana == ("1300000000000001", task_url)
    assert kr.asana_goal == "1400000000000001"
    assert okrfile.strip_lines(okrfile.parse(okrfile.dump(okrfile.parse(OKR_FILE)))) == (
        okrfile.strip_lines(okrfile.parse(OKR_FILE))
    )


def test_an_unreadable_asana_reference_is_an_error_that_says_how_to_fix_it() -> None:
    text = OKR_FILE.replace(
        '"https://app.asana.com/0/1300000000000001/1500000000000031"', "my-task"
    )
    from sync.core.practice import check_team_okrs

    errors = [f for f in check_team_okrs(okrfile.parse(text)) if f.level == "error"]
    assert [f.code for f in errors] == ["unknown-asana-reference"]
    assert "Asana URL" in errors[0].message


def test_importing_the_file_links_the_project_and_the_task_and_counts_them(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    fake_asana.add_project("1300000000000001")
    fake_asana.add_task(
        "1500000000000031",
        project="1300000000000001",
        completed=True,
        modified=clock.now() - timedelta(hours=1),
    )
    fake_asana.add_task(
        "1500000000000032", project="1300000000000001", modified=clock.now() - timedelta(hours=1)
    )
    fake_asana.add_goal("1400000000000001", target=2)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    answer = client.post("/api/v1/import", data=OKR_FILE, headers=headers)
    assert answer.status_code == 200, answer.json
    kr = get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")
    assert (kr["done"], kr["total"], kr["asana_goal"]) == (1, 2, "1400000000000001")
    exported = client.get("/api/v1/export", headers=headers).get_data(as_text=True)
    assert "asana: ['1300000000000001', '1500000000000031']" in exported
    assert "asana_goal: '1400000000000001'" in exported


def test_an_api_link_to_an_asana_target_that_names_nothing_is_422(
    live: Flask, site_id: int, admin: dict[str, str]
) -> None:
    client = live.test_client()
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    client.post(
        "/api/v1/import",
        data=OKR_FILE.replace("        asana:", "        # asana:"),
        headers=headers,
    )
    answer = client.post(
        "/api/v1/key-results/PLAT-1.1/links", json={"target": "asana:nope"}, headers=headers
    )
    assert answer.status_code == 422
    assert answer.json["error"]["field"] == "target"


def test_connect_needs_exactly_one_of_token_or_oauth() -> None:
    runner = CliRunner()
    neither = runner.invoke(main, ["asana", "connect", "--site", "x"])
    both = runner.invoke(main, ["asana", "connect", "--site", "x", "--token", "t", "--oauth"])
    assert neither.exit_code == both.exit_code == 2
    assert "exactly one of --token TOKEN or --oauth" in neither.output


def test_a_token_asana_refuses_is_not_stored(live: Flask, fake_asana: FakeAsana) -> None:
    import click
    import pytest

    install(live)
    with pytest.raises(click.ClickException, match="Asana refused the token"):
        connect_token(live, CLIENT_KEY, "wrong-token")
    with services_of(live).store.session() as session:
        assert session.scalars(select(AsanaConnection)).all() == []


def authorize(live: Flask, client: FlaskClient, fake_asana: FakeAsana) -> str:
    """Open the URL the CLI printed in `client` (the admin's browser): the state Asana gets."""
    url = oauth_url(live, CLIENT_KEY).splitlines()[-1]
    base = services_of(live).settings.base_url
    assert url.startswith(f"{base}/asana/oauth/start?state=")
    started = client.get(url.removeprefix(base))
    assert started.status_code == 303
    cookie = started.headers["Set-Cookie"]
    assert "okrlink_asana_oauth=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    location = started.headers["Location"]
    assert location.startswith(f"{fake_asana.url}/-/oauth_authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == [base + "/asana/oauth/callback"]
    return query["state"][0]


def connections(live: Flask) -> list[AsanaConnection]:
    with services_of(live).store.session() as session:
        return list(session.scalars(select(AsanaConnection)).all())


def test_oauth_connects_through_the_callback_and_refreshes_the_token(
    live: Flask, fake_asana: FakeAsana
) -> None:
    site = install(live)
    client = live.test_client()
    state = authorize(live, client, fake_asana)
    answer = client.get("/asana/oauth/callback", query_string={"code": "good-code", "state": state})
    assert answer.status_code == 200
    accounts = services_of(live).asana_accounts
    account = accounts.account(site)
    assert account is not None
    assert (account.token, account.user_gid) == ("oauth-access-1", ME["gid"])
    with services_of(live).store.session() as session:
        row = session.scalar(select(AsanaConnection))
        assert row is not None and row.auth == "oauth" and row.expires_at is not None
        assert "oauth-refresh" not in (row.refresh_token or "")
        row.expires_at = row.expires_at - timedelta(hours=1)  # about to expire
    accounts.forget(site)
    refreshed = accounts.account(site)
    assert refreshed is not None and refreshed.token != "oauth-access-1"
    assert ("POST", "/-/oauth_token") in fake_asana.requests


def test_a_forged_or_expired_oauth_state_is_401_and_stores_nothing(
    live: Flask, fake_asana: FakeAsana
) -> None:
    site = install(live)
    key = services_of(live).oauth_state_key
    client = live.test_client()
    forged_state = f"{site}.9999999999.00"
    forged = client.get(
        "/asana/oauth/callback", query_string={"code": "good-code", "state": forged_state}
    )
    expired = client.get(
        "/asana/oauth/callback",
        query_string={"code": "good-code", "state": sign_state(key, site, now=time.time() - 3600)},
    )
    assert forged.status_code == expired.status_code == 401
    with services_of(live).store.session() as session:
        assert session.scalars(select(AsanaConnection)).all() == []


def test_an_oauth_state_is_used_once_and_only_by_the_browser_that_started_it(
    live: Flask, fake_asana: FakeAsana
) -> None:
    install(live)
    admin = live.test_client()
    state = authorize(live, admin, fake_asana)
    other = live.test_client()  # another browser, holding the state URL but not the cookie
    stolen = other.get("/asana/oauth/callback", query_string={"code": "good-code", "state": state})
    assert stolen.status_code == 401
    assert stolen.json["error"]["code"] == "state_not_this_browser"
    assert connections(live) == []
    first = admin.get("/asana/oauth/callback", query_string={"code": "good-code", "state": state})
    assert first.status_code == 200
    admin.set_cookie(
        "okrlink_asana_oauth",
        browser_mark(services_of(live).oauth_state_key, state),
        path="/asana/oauth",
    )  # the cookie as it was before the callback cleared it
    again = admin.get("/asana/oauth/callback", query_string={"code": "good-code", "state": state})
    assert again.status_code == 401
    assert again.json["error"]["code"] == "state_used"
    assert len(connections(live)) == 1
    exchanges = [r for r in fake_asana.requests if r == ("POST", "/-/oauth_token")]
    assert len(exchanges) == 1  # the replay never reached Asana


def test_a_forged_state_cannot_start_an_authorization(live: Flask) -> None:
    site = install(live)
    started = live.test_client().get("/asana/oauth/start", query_string={"state": f"{site}.1.x.0"})
    assert started.status_code == 401
    assert started.json["error"]["code"] == "invalid_state"
    assert "Set-Cookie" not in started.headers
    assert connections(live) == []
