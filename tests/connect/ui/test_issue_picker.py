"""The issue picker on the new KR form: `/jira/issues` asks Jira's issue picker (a stand-in
Jira over HTTPS) as the app for the team's project's issues; the picked keys fill `issues`."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync.db.model import KeyResult, Link, Person
from tests.connect.ui.test_people_names import _quarter, jira, site
from tests.support.app import CLIENT_KEY, install, signed_url
from tests.support.jira import ISSUE_PICKER, StandInJira
from tests.support.ui import follow, submit, the_form

__all__ = ["jira", "site"]  # the stand-in Jira and the site installed against it

PAGE = "/jira/project-page"


def _issues(jira: StandInJira) -> None:
    jira.add_issue("PLAT-40", "Fail over the database between regions")
    jira.add_issue("PLAT-41", "Write the failover runbook")
    jira.add_issue("PLAT-42", "Rotate the on-call schedule")
    jira.add_issue("OPS-7", "Failover drill for the payments team")


def test_the_search_asks_jiras_issue_picker_for_the_teams_project(
    app: Flask, client: FlaskClient, site: int, jira: StandInJira
) -> None:
    _issues(jira)
    url = signed_url("/jira/issues", {"projectKey": "PLAT", "q": "failover"}, context=True)
    found = client.get(url)
    assert found.status_code == 200, found.text
    # "failover" is in PLAT-41's summary only; OPS-7 is another project's.
    assert found.json == {"issues": [{"key": "PLAT-41", "summary": "Write the failover runbook"}]}
    by_key = client.get(
        signed_url("/jira/issues", {"projectKey": "PLAT", "q": "plat-4"}, context=True)
    )
    assert [i["key"] for i in by_key.json["issues"]] == ["PLAT-40", "PLAT-41", "PLAT-42"]
    calls = jira.calls(ISSUE_PICKER)
    assert len(calls) == 2
    assert calls[0]["currentJQL"] == ['project = "PLAT"']
    assert calls[0]["query"] == ["failover"]
    assert all(auth.startswith("JWT ") for _p, _q, auth in jira.requests)  # as the app
    empty = client.get(signed_url("/jira/issues", {"projectKey": "PLAT", "q": " "}, context=True))
    assert empty.json == {"issues": []}
    assert len(jira.calls(ISSUE_PICKER)) == 2  # nothing typed: Jira is not asked


def test_a_forged_or_teamless_search_is_refused_and_asks_nothing(
    app: Flask, client: FlaskClient, site: int, jira: StandInJira
) -> None:
    _issues(jira)
    forged = client.get(
        signed_url("/jira/issues", {"projectKey": "PLAT", "q": "fail"}, secret="x" * 40)
    )
    assert forged.status_code == 401
    assert forged.json["error"]["code"] == "token_signature"
    teamless = client.get(signed_url("/jira/issues", {"q": "fail"}, context=True))
    assert teamless.status_code == 400
    assert teamless.json["error"]["code"] == "team"
    assert jira.calls(ISSUE_PICKER) == []
    with services_of(app).store.session() as session:
        assert session.query(Link).count() == 0 and session.query(Person).count() == 0


def test_a_jira_that_does_not_answer_is_said_so(app: Flask, client: FlaskClient) -> None:
    install(app, base_url="https://127.0.0.1:9")  # nothing listens there
    found = client.get(
        signed_url("/jira/issues", {"projectKey": "PLAT", "q": "fail"}, context=True)
    )
    assert found.status_code == 502
    assert found.json["error"]["code"] == "jira_unavailable"
    assert found.json["issues"] == []


def test_the_new_kr_form_offers_the_picker_and_keeps_the_issues_field(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int, jira: StandInJira
) -> None:
    _quarter(client, admin)
    params = {"projectKey": "PLAT", "cycle": "2026-Q4"}
    page = client.get(signed_url(PAGE, params)).text
    form = the_form(page, "new-key-result", "PLAT-1")
    field = form.find("textarea", name="issues")
    search = form.find("input", data_issue_picker=True)
    assert search.attrs["data-issues-field"] == field.attrs["id"]
    assert "name" not in search.attrs  # the search box is not posted: `issues` is the field
    picker = search.attrs["data-issue-picker"]
    assert picker.startswith("/jira/issues?") and "projectKey=PLAT" in picker
    # What the picker puts in the field, one key a line, is what the form saves.
    follow(
        client,
        submit(
            client,
            page,
            "new-key-result",
            "PLAT-1",
            kind="issues",
            title="Fail over between regions in under 5 minutes",
            issues="PLAT-40\nPLAT-41",
        ),
    )
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    made = client.get("/api/v1/key-results/PLAT-1.6", headers=headers)
    assert made.status_code == 200, made.json
    assert made.json["kind"] == "issues"
    with services_of(app).store.session() as session:
        kr = session.query(KeyResult).filter_by(kind="issues").one()
        linked = session.query(Link).filter_by(kr_id=kr.id, target_kind="jira").all()
        assert sorted(link.target_key for link in linked) == ["PLAT-40", "PLAT-41"]
