"""A KR's "Preview" through every door: the value its source gives now, measured by the code
that measures the saved KR, or why it cannot; nothing is stored.

The stand-in Jira answers over HTTPS (`tests.support.jira.JiraServer`): the permission checks,
the JQL search. DORA values come from deployments recorded in the store.
"""

# The stand-in Jira, its sites and helpers are the permission suite's fixtures, imported by name
# (pytest finds a fixture by the parameter that names it, which ruff reads as a redefinition).
# ruff: noqa: F811

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync.db.model import Deployment, GitHubInstallation, Kpi, WorkItem
from sync.sources import NO_GITHUB
from tests.connect.test_permissions import (  # noqa: F401 (fixtures)
    CYCLE,
    PLAT_ADMIN,
    PLAT_VIEWER,
    api,
    ca,
    connect_site,
    forge_call,
    forge_keys,
    forge_site,
    jira,
    jira_permissions,
    page_post,
    settings,
    stored,
)
from tests.support.app import signed_url
from tests.support.base import FakeClock
from tests.support.jira import JiraServer
from tests.support.ui import parse

PREVIEW = "/api/v1/key-results/preview"
DORA_KR = {
    "objective": "PLAT-1",
    "title": "Lower change failure rate from 15 % to 5 %",
    "kind": "github",
    "measure": "change_failure_rate",
    "environment": "production",
    "window_days": 30,
    "baseline": 15,
    "target": 5,
    "unit": "%",
}


def record_deployments(app: Flask, site_id: int, clock: FakeClock, *, failed: int) -> None:
    """A mapped GitHub installation and ten production deployments in the last ten days,
    `failed` of them failed: a change failure rate of `failed` x 10 %."""
    now = clock.now()
    with services_of(app).store.session() as session:
        session.add(GitHubInstallation(installation_id=7, site_id=site_id))
        for n in range(10):
            created = now - timedelta(days=n + 1)
            done = created + timedelta(minutes=5)
            session.add(
                Deployment(
                    site_id=site_id,
                    installation_id=7,
                    deployment_id=100 + n,
                    repo="acme/platform",
                    environment="production",
                    created_at=created,
                    succeeded_at=None if n < failed else done,
                    failed_at=done if n < failed else None,
                )
            )


def test_a_dora_kr_previews_its_change_failure_rate_from_recorded_deployments(
    app: Flask, client: FlaskClient, connect_site: int, clock: FakeClock
) -> None:
    record_deployments(app, connect_site, clock, failed=1)
    before = stored(app)
    response = api(client, PLAT_ADMIN, "POST", PREVIEW, DORA_KR)
    assert response.status_code == 200, response.json
    assert response.json == {
        "value": pytest.approx(10.0),
        "unit": "%",
        "source_state": "connected",
        "message": None,
    }
    assert stored(app) == before


def test_an_edited_kr_previews_with_its_changes_over_what_is_stored(
    app: Flask, client: FlaskClient, connect_site: int, clock: FakeClock
) -> None:
    record_deployments(app, connect_site, clock, failed=3)
    body = {"key": "PLAT-1.1", "kind": "github", "measure": "change_failure_rate", "unit": "%"}
    response = api(client, PLAT_ADMIN, "POST", PREVIEW, body)
    assert response.status_code == 200, response.json
    assert response.json["value"] == pytest.approx(30.0)
    kr = api(client, PLAT_ADMIN, "GET", "/api/v1/key-results/PLAT-1.1", None).json
    assert kr["kind"] == "metric"  # the preview changed nothing


def test_a_github_kr_without_an_installation_says_why(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    response = api(client, PLAT_ADMIN, "POST", PREVIEW, DORA_KR)
    assert response.status_code == 200, response.json
    assert response.json["source_state"] == "missing"
    assert response.json["value"] is None
    assert response.json["message"] == NO_GITHUB


def test_a_jql_kr_previews_the_count_the_stand_in_jira_gives(
    app: Flask, client: FlaskClient, connect_site: int, jira: JiraServer
) -> None:
    jira.search_hits = 4
    before = stored(app)
    body = {
        "objective": "PLAT-1",
        "title": "Close 20 bugs",
        "kind": "jql",
        "jql": "project = PLAT AND type = Bug AND statusCategory = Done",
        "target": 20,
    }
    response = api(client, PLAT_ADMIN, "POST", PREVIEW, body)
    assert response.status_code == 200, response.json
    assert (response.json["value"], response.json["source_state"]) == (4.0, "connected")
    assert any(c.path.endswith("/rest/api/3/search/jql") for c in jira.calls)
    assert stored(app) == before


def test_a_jql_preview_beyond_what_the_author_browses_is_refused_and_not_run(
    app: Flask, client: FlaskClient, connect_site: int, jira: JiraServer
) -> None:
    jira.projects["HR"] = 10002  # exists, and PLAT_ADMIN may not browse it
    jira.search_hits = 9
    body = {"objective": "PLAT-1", "title": "Close bugs", "kind": "jql", "jql": "project = HR"}
    response = api(client, PLAT_ADMIN, "POST", PREVIEW, body)
    assert response.status_code == 200, response.json
    assert response.json["source_state"] == "refused"
    assert "HR" in response.json["message"]
    assert response.json["value"] is None
    assert not any(c.path.endswith("/rest/api/3/search/jql") for c in jira.calls)


def test_a_kpi_kr_previews_the_kpis_latest_value_or_says_there_is_none(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    body = {"objective": "PLAT-1", "title": "Keep uptime", "kpi": "UPTIME", "unit": "%"}
    missing = api(client, PLAT_ADMIN, "POST", PREVIEW, body)
    assert missing.json["source_state"] == "missing"
    assert "UPTIME" in missing.json["message"]
    made = api(
        client,
        PLAT_ADMIN,
        "POST",
        "/api/v1/kpis",
        {"team": "PLAT", "key": "UPTIME", "title": "Uptime", "current": 99.7, "unit": "%"},
    )
    assert made.status_code == 201, made.json
    found = api(client, PLAT_ADMIN, "POST", PREVIEW, body)
    assert (found.json["value"], found.json["source_state"]) == (99.7, "connected")
    with services_of(app).store.session() as session:
        assert session.query(Kpi).count() == 1


def test_an_issues_kr_previews_done_of_total_over_the_issues_and_tasks_typed(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    with services_of(app).store.session() as session:
        for key, category, parent in (
            ("PLAT-7", "done", None),
            ("PLAT-8", "new", None),
            ("PLAT-20", "new", None),  # an epic: its children count in its place
            ("PLAT-21", "done", "PLAT-20"),
            ("asana:1201", "done", None),
        ):
            session.add(
                WorkItem(site_id=connect_site, key=key, status_category=category, parent_key=parent)
            )
    before = stored(app)
    body = {
        "objective": "PLAT-1",
        "title": "Onboarding done",
        "kind": "issues",
        "issues": ["PLAT-7", "PLAT-8", "PLAT-20", "PLAT-99"],
        "asana": ["https://app.asana.com/0/1199/1201"],
    }
    response = api(client, PLAT_ADMIN, "POST", PREVIEW, body)
    assert response.status_code == 200, response.json
    assert (response.json["value"], response.json["source_state"]) == (3.0, "connected")
    assert response.json["message"].startswith("3 done of 4")
    assert "PLAT-99" in response.json["message"]  # not read yet: named, not counted
    assert stored(app) == before


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**DORA_KR, "baseline": "fifteen"}, 422, "invalid", "baseline"),
        ({**DORA_KR, "kind": "guess"}, 422, "invalid", "kind"),
        ({**DORA_KR, "measure": "stars"}, 422, "invalid", "measure"),
        ({"title": "No objective", "kind": "metric"}, 422, "invalid", "objective"),
        ({**DORA_KR, "objective": "NOPE-1"}, 404, "not_found", "objective"),
    ],
    ids=["not a number", "unknown kind", "unknown measure", "no objective", "unknown objective"],
)
def test_a_bad_preview_is_refused_with_its_field_and_stores_nothing(
    app: Flask,
    client: FlaskClient,
    connect_site: int,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    before = stored(app)
    response = api(client, PLAT_ADMIN, "POST", PREVIEW, body)
    assert response.status_code == status, response.json
    assert (response.json["error"]["code"], response.json["error"]["field"]) == (code, field)
    assert stored(app) == before


def test_who_may_not_write_the_teams_okrs_may_not_preview(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    before = stored(app)
    response = api(client, PLAT_VIEWER, "POST", PREVIEW, DORA_KR)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert stored(app) == before


# --- the Connect project page ---------------------------------------------------------------

PAGE_FIELDS = {
    "form": "new-key-result",
    "objective": "PLAT-1",
    "title": "Lower change failure rate from 15 % to 5 %",
    "kind": "github",
    "measure": "change_failure_rate",
    "environment": "production",
    "window_days": "30",
    "baseline": "15",
    "target": "5",
    "unit": "%",
}
PARAMS = {"projectKey": "PLAT", "cycle": CYCLE}


def test_the_page_previews_without_script_and_keeps_what_was_typed(
    app: Flask, client: FlaskClient, connect_site: int, clock: FakeClock
) -> None:
    record_deployments(app, connect_site, clock, failed=1)
    before = stored(app)
    response = page_post(
        app, client, connect_site, PLAT_ADMIN, "/jira/okrs/preview", PARAMS, PAGE_FIELDS
    )
    assert response.status_code == 200, response.text
    page = parse(response.text)
    form = next(f for f in page.find_all("form") if f.attrs.get("data-form") == "new-key-result")
    shown = form.find(data_preview_state=True)
    assert shown.attrs["data-preview-state"] == "connected"
    assert shown.find(data_preview_value=True).text == "10%"
    assert form.find("input", name="title").attrs["value"] == PAGE_FIELDS["title"]
    assert form.find("input", name="baseline").attrs["value"] == "15"
    button = form.find(data_preview_button=True)
    assert "/jira/okrs/preview" in button.attrs["formaction"]
    assert stored(app) == before


def test_the_pages_script_gets_the_preview_alone(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    tokens = services_of(app).ui_form_tokens
    csrf = tokens.issue(site_id=connect_site, account=PLAT_ADMIN, purpose="check-in")
    url = signed_url("/jira/okrs/preview", PARAMS, method="POST", context=True, account=PLAT_ADMIN)
    response = client.post(
        url,
        data={**PAGE_FIELDS, "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json["source_state"] == "missing"
    assert response.json["message"] == NO_GITHUB
    assert response.json["shown"] == "—"
    bad = client.post(
        url,
        data={**PAGE_FIELDS, "baseline": "lots", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 422
    assert bad.json["error"]["field"] == "baseline"


def test_the_page_shows_a_bad_value_beside_its_field_and_a_forged_token_is_refused(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    before = stored(app)
    bad = page_post(
        app,
        client,
        connect_site,
        PLAT_ADMIN,
        "/jira/okrs/preview",
        PARAMS,
        {**PAGE_FIELDS, "target": "five"},
    )
    assert bad.status_code == 422
    assert parse(bad.text).find(data_error="target")
    url = signed_url("/jira/okrs/preview", PARAMS, method="POST", context=True, account=PLAT_ADMIN)
    forged = client.post(url, data={**PAGE_FIELDS, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert stored(app) == before


# --- the Forge project page -----------------------------------------------------------------


def test_the_forge_page_previews_through_the_bridge(
    app: Flask, client: FlaskClient, forge_site: int, jira: JiraServer, clock: FakeClock
) -> None:
    record_deployments(app, forge_site, clock, failed=2)
    csrf = services_of(app).ui_form_tokens.issue(
        site_id=forge_site, account=PLAT_ADMIN, purpose="check-in"
    )
    before = stored(app)
    body = {"team": "PLAT", "cycle": CYCLE, "form": "preview-key-result", "csrf": csrf}
    response = client.post(
        "/forge/project/forms",
        data=json.dumps({**body, "fields": PAGE_FIELDS}),
        headers=forge_call(PLAT_ADMIN, jira),
    )
    assert response.status_code == 200, response.json
    assert response.json["preview"]["value"] == pytest.approx(20.0)
    page = parse(response.json["html"])
    assert page.find(data_preview_value=True).text == "20%"
    assert stored(app) == before
    viewer_csrf = services_of(app).ui_form_tokens.issue(
        site_id=forge_site, account=PLAT_VIEWER, purpose="check-in"
    )
    viewer = client.post(
        "/forge/project/forms",
        data=json.dumps({**body, "csrf": viewer_csrf, "fields": PAGE_FIELDS}),
        headers=forge_call(PLAT_VIEWER, jira),
    )
    assert viewer.status_code == 403
    assert viewer.json["error"]["code"] == "forbidden"
    assert stored(app) == before


def test_the_page_refuses_a_preview_to_who_may_not_write_the_teams_okrs(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    before = stored(app)
    response = page_post(
        app, client, connect_site, PLAT_VIEWER, "/jira/okrs/preview", PARAMS, PAGE_FIELDS
    )
    assert response.status_code == 403
    assert parse(response.text).find(data_error_code="forbidden")
    csrf = services_of(app).ui_form_tokens.issue(
        site_id=connect_site, account=PLAT_VIEWER, purpose="check-in"
    )
    url = signed_url("/jira/okrs/preview", PARAMS, method="POST", context=True, account=PLAT_VIEWER)
    answer = client.post(
        url, data={**PAGE_FIELDS, "csrf_token": csrf}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "forbidden"
    assert stored(app) == before
