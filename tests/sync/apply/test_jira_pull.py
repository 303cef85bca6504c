"""What okrlink pulls from Jira: an epic's children at link time, JQL KRs, and the reconcile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from tests.support.base import FakeClock
from tests.support.jira import (
    CREATED,
    create_okrs,
    fixture,
    get_kr,
    glance_property,
    install_jira,
    issue_fields,
    link,
    property_url,
    verify_outbound_jwt,
)
from tests.support.signing import JIRA_BASE

CLIENT = "jira-acme"
SEARCH = f"{JIRA_BASE}/rest/api/3/search/jql"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KRS = [
    {"key": "PLAT-1.1", "title": "Raise checkout conversion from 2% to 3%", "kind": "issues"},
    {
        "key": "PLAT-1.2",
        "title": "Cut open customer bugs from 40 to 10",
        "kind": "jql",
        "jql": "project = WEB AND type = Bug AND statusCategory != Done",
        "baseline": 40,
        "target": 10,
    },
]


def issue(
    key: str,
    *,
    category: str = "new",
    parent: str | None = None,
    points: float | None = None,
    issue_type: str = "Story",
    updated: datetime = T0,
) -> dict:
    """A REST issue as `/issue/{key}` and `/search/jql` return it (the fixture's shape)."""
    return issue_fields(
        fixture(CREATED)["issue"],
        key=key,
        issue_id=key.split("-")[1],
        category=category,
        parent=parent,
        points=points,
        issue_type=issue_type,
        updated=updated,
    )


@pytest.fixture
def jira(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> Iterator[responses.RequestsMock]:
    app.config["JIRA_SECRET"] = install_jira(app, CLIENT)
    create_okrs(client, admin, site=CLIENT, krs=KRS)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.PUT, property_url("WEB-1"), status=200)
        mock.add(responses.PUT, property_url("WEB-1", glance_property()), status=200)
        yield mock


def _searches(mock: responses.RequestsMock) -> list[dict]:
    return [json.loads(c.request.body) for c in mock.calls if c.request.url == SEARCH]


def test_linking_an_epic_fetches_its_children_across_pages(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    jira: responses.RequestsMock,
    clock: FakeClock,
) -> None:
    jira.add(
        responses.GET, f"{JIRA_BASE}/rest/api/3/issue/WEB-1", json=issue("WEB-1", issue_type="Epic")
    )
    jira.add(
        responses.POST,
        SEARCH,
        json={
            "issues": [
                issue("WEB-2", parent="WEB-1", category="done", points=3),
                issue("WEB-3", parent="WEB-1", points=5),
            ],
            "nextPageToken": "page-2",
            "isLast": False,
        },
    )
    jira.add(
        responses.POST,
        SEARCH,
        json={
            "issues": [issue("WEB-4", parent="WEB-1", category="done", points=2)],
            "isLast": True,
        },
    )
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="WEB-1")
    kr = get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")
    assert (kr["done"], kr["total"]) == (5.0, 10.0)  # story points of the three children
    first, second = _searches(jira)
    assert first["jql"] == 'parent in ("WEB-1") ORDER BY updated ASC'
    assert "nextPageToken" not in first and second["nextPageToken"] == "page-2"
    call = next(c for c in jira.calls if c.request.url == SEARCH)
    verify_outbound_jwt(
        call.request.headers["Authorization"],
        secret=app.config["JIRA_SECRET"],
        method="POST",
        url=SEARCH,
    )
    clock.current += timedelta(days=1)  # the API dates its write-backs by the wall clock
    services_of(app).jobs.sweep()
    written = [
        json.loads(c.request.body) for c in jira.calls if c.request.url == property_url("WEB-1")
    ]
    assert written[-1]["krKeys"] == ["PLAT-1.1"] and written[-1]["progress"] == 0.5


def test_a_failed_fetch_at_link_time_still_links(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    jira.add(
        responses.GET,
        f"{JIRA_BASE}/rest/api/3/issue/WEB-1",
        status=503,
        headers={"Retry-After": "600"},
    )
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="WEB-1")
    links = client.get(
        "/api/v1/key-results/PLAT-1.1/links", headers={**admin, "X-Okrlink-Site": CLIENT}
    ).json["links"]
    assert links == [{"kind": "jira", "target": "WEB-1", "source": "api"}]


def test_polling_a_jql_kr_counts_matches_into_current_and_history(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    jira.add(
        responses.POST,
        SEARCH,
        json={
            "issues": [issue(f"WEB-{n}") for n in range(10, 30)],
            "nextPageToken": "2",
            "isLast": False,
        },
    )
    jira.add(
        responses.POST,
        SEARCH,
        json={"issues": [issue(f"WEB-{n}") for n in range(30, 35)], "isLast": True},
    )
    headers = {**admin, "X-Okrlink-Site": CLIENT}
    response = client.post("/api/v1/key-results/PLAT-1.2/poll", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["current"] == 25.0
    assert response.json["progress"] == 0.5  # from 40 towards 10
    assert _searches(jira)[0]["jql"] == KRS[1]["jql"]
    history = client.get("/api/v1/key-results/PLAT-1.2/history", headers=headers).json
    assert 25.0 in [point["current"] for point in history["history"]]


def test_a_jql_kr_with_a_field_sums_it(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    headers = {**admin, "X-Okrlink-Site": CLIENT}
    client.patch(
        "/api/v1/key-results/PLAT-1.2", headers=headers, json={"jql_field": "customfield_10016"}
    )
    jira.add(
        responses.POST,
        SEARCH,
        json={
            "isLast": True,
            "issues": [issue("WEB-10", points=8), issue("WEB-11", points=5), issue("WEB-12")],
        },
    )
    sync = services_of(app).jira_sync
    changed = sync.poll_jql()
    assert list(changed.values()) == [[_kr_id(app, "PLAT-1.2")]]
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.2")["current"] == 13.0
    assert _searches(jira)[0]["fields"] == ["customfield_10016"]


def test_polling_a_kr_that_is_not_jql_is_refused(
    client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    response = client.post(
        "/api/v1/key-results/PLAT-1.1/poll", headers={**admin, "X-Okrlink-Site": CLIENT}
    )
    assert response.status_code == 422


def test_reconcile_heals_a_missed_webhook(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    jira: responses.RequestsMock,
    clock: FakeClock,
) -> None:
    jira.add(responses.GET, f"{JIRA_BASE}/rest/api/3/issue/WEB-1", json=issue("WEB-1"))
    jira.add(responses.POST, SEARCH, json={"issues": [], "isLast": True})
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="WEB-1")
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")["progress"] == 0.0
    # WEB-1 is done in Jira, but that webhook never arrived.
    jira.replace(
        responses.POST,
        SEARCH,
        json={
            "issues": [issue("WEB-1", category="done", updated=T0 + timedelta(hours=3))],
            "isLast": True,
        },
    )
    sync = services_of(app).jira_sync
    sync.reconcile()
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")["progress"] == 1.0
    full = _searches(jira)[-1]["jql"]
    assert full == 'issuekey in ("WEB-1") OR parent in ("WEB-1") ORDER BY updated ASC'
    clock.current += timedelta(minutes=15)
    sync.reconcile()
    since = _searches(jira)[-1]["jql"]
    assert since == (
        '(issuekey in ("WEB-1") OR parent in ("WEB-1")) AND updated >= "-21m" ORDER BY updated ASC'
    )


def _kr_id(app: Flask, key: str) -> int:
    from sync.db.store import find_kr, find_site

    with services_of(app).store.session() as session:
        kr = find_kr(session, find_site(session, CLIENT).id, key)
        assert kr is not None
        return kr.id
