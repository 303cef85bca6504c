"""`POST /webhooks/jira` end to end: signed fixture payloads move KRs, and KRs move Jira back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from connect.services import services_of
from sync.db.model import Installation, Link, Outbound, WorkItem
from tests.support.base import FakeClock
from tests.support.jira import (
    fixture,
    get_kr,
    glance_property,
    inbox_count,
    install_jira,
    issue_event,
    link,
    post_webhook,
    property_url,
    snapshot_count,
    verify_outbound_jwt,
)

CLIENT = "jira-acme"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KRS = [
    {
        "key": "PLAT-1.1",
        "title": "Cut checkout p95 latency from 900 ms to 300 ms",
        "kind": "issues",
    },
    {"key": "PLAT-1.2", "title": "Raise deploys per week from 3 to 10", "kind": "issues"},
]


@pytest.fixture
def jira(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> Iterator[responses.RequestsMock]:
    """A tenant with two issues KRs, and Jira's REST API answered by `responses`."""
    from tests.support.jira import create_okrs

    app.config["JIRA_SECRET"] = install_jira(app, CLIENT)
    create_okrs(client, admin, site=CLIENT, krs=KRS)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, _issue_url("PLAT-7"), status=404)
        mock.add(responses.PUT, property_url("PLAT-7"), status=200)
        mock.add(responses.PUT, property_url("PLAT-7", glance_property()), status=200)
        yield mock


def _issue_url(key: str) -> str:
    return f"https://acme.atlassian.net/rest/api/3/issue/{key}"


def _send(client: FlaskClient, app: Flask, payload: dict, delivery: str | None = None):
    return post_webhook(
        client, payload, secret=app.config["JIRA_SECRET"], client_key=CLIENT, delivery=delivery
    )


def _property_writes(mock: responses.RequestsMock, key: str = "PLAT-7") -> list[dict]:
    return [
        json.loads(call.request.body)
        for call in mock.calls
        if call.request.method == "PUT" and call.request.url == property_url(key)
    ]


def test_issue_events_move_the_linked_kr_and_write_the_property_back(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-7")
    created = _send(
        client, app, issue_event("created", key="PLAT-7", issue_id="7", updated=T0), delivery="d-1"
    )
    assert created.status_code == 200
    assert created.json["status"] == "accepted"
    kr = get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")
    assert (kr["done"], kr["total"], kr["progress"]) == (0.0, 1.0, 0.0)

    done = issue_event(
        "updated",
        key="PLAT-7",
        issue_id="7",
        category="done",
        updated=T0 + timedelta(hours=1),
        changes=[("status", "Status", "In Progress", "Done")],
    )
    assert _send(client, app, done, delivery="d-2").status_code == 200
    kr = get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")
    assert (kr["done"], kr["total"], kr["progress"]) == (1.0, 1.0, 1.0)

    written = _property_writes(jira)[-1]
    assert written["origin"] == "okrlink"
    assert written["krKeys"] == ["PLAT-1.1"]
    assert written["krs"] == [
        {
            "key": "PLAT-1.1",
            "title": KRS[0]["title"],
            "progress": 1.0,
            "score": kr["score"],
            "status": kr["status"],
        }
    ]
    assert written["status"] == kr["status"]
    put = next(c for c in jira.calls if c.request.url == property_url("PLAT-7"))
    verify_outbound_jwt(
        put.request.headers["Authorization"],
        secret=app.config["JIRA_SECRET"],
        method="PUT",
        url=property_url("PLAT-7"),
    )
    glance = [
        json.loads(c.request.body)
        for c in jira.calls
        if c.request.url == property_url("PLAT-7", glance_property())
    ]
    assert glance[-1]["type"] == "lozenge"


def test_duplicate_delivery_gets_200_and_changes_nothing(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-7")
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    assert _send(client, app, payload, delivery="same").json["status"] == "accepted"
    before = (inbox_count(app), snapshot_count(app), len(jira.calls))
    again = _send(client, app, payload, delivery="same")
    assert again.status_code == 200
    assert again.json == {"status": "duplicate"}
    assert (inbox_count(app), snapshot_count(app), len(jira.calls)) == before


def test_a_redelivery_without_identifier_is_deduplicated_by_its_body(
    app: Flask, client: FlaskClient, jira: responses.RequestsMock
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    assert _send(client, app, payload).json["status"] == "accepted"
    assert _send(client, app, payload).json == {"status": "duplicate"}
    assert inbox_count(app) == 1


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'{"webhookEvent": "jira:issue_updated"}']
)
def test_malformed_body_gets_400_and_records_nothing(
    app: Flask, client: FlaskClient, body: bytes
) -> None:
    install_jira(app, CLIENT)
    secret = install_jira(app, CLIENT)
    response = post_webhook(client, body, secret=secret, client_key=CLIENT, delivery="bad")
    assert response.status_code == 400
    code = "malformed_event" if body.startswith(b'{"webhookEvent"') else "malformed_body"
    assert response.json["error"]["code"] == code
    assert inbox_count(app) == 0


def test_forged_jwt_gets_401_and_records_nothing(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    forged = post_webhook(
        client,
        payload,
        secret="not-the-shared-secret-0123456789abcdef",
        client_key=CLIENT,
        delivery="forged",
    )
    assert forged.status_code == 401
    unsigned = client.post("/webhooks/jira", json=payload)
    assert unsigned.status_code == 401
    assert forged.json["error"]["code"] == "token_signature"
    assert unsigned.json["error"]["code"] == "token_missing"
    assert inbox_count(app) == 0
    with services_of(app).store.session() as session:
        assert session.scalars(select(WorkItem)).all() == []


def test_a_token_signed_for_another_request_is_refused(
    app: Flask, client: FlaskClient, jira: responses.RequestsMock
) -> None:
    from tests.support.signing import connect_token

    token = connect_token(
        app.config["JIRA_SECRET"], client_key=CLIENT, method="POST", url="/webhooks/github"
    )
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    response = client.post(
        "/webhooks/jira", json=payload, headers={"Authorization": f"JWT {token}"}
    )
    assert response.status_code == 401
    assert inbox_count(app) == 0


def test_an_echo_of_our_own_property_write_changes_nothing_and_writes_nothing(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-7")
    _send(client, app, issue_event("created", key="PLAT-7", issue_id="7", updated=T0), "d-1")
    writes = len(_property_writes(jira))
    assert writes == 1
    snapshots = snapshot_count(app)
    # Jira notifies the issue again after our property write: same state, new delivery.
    echo = issue_event("updated", key="PLAT-7", issue_id="7", updated=T0 + timedelta(seconds=1))
    assert _send(client, app, echo, "d-echo").status_code == 200
    assert (snapshot_count(app), len(_property_writes(jira))) == (snapshots, writes)
    # The same change made by our app account is dropped before it is even recorded.
    with services_of(app).store.session() as session:
        session.execute(update(Installation).values(app_account_id="557058:okrlink-app"))
    services_of(app).jira_app_accounts.forget(CLIENT)
    own = issue_event(
        "updated",
        key="PLAT-7",
        issue_id="7",
        category="done",
        updated=T0 + timedelta(seconds=2),
        actor="557058:okrlink-app",
    )
    inbox = inbox_count(app)
    response = _send(client, app, own, "d-own")
    assert response.json == {"status": "ignored", "reason": "echo"}
    assert (inbox_count(app), snapshot_count(app), len(_property_writes(jira))) == (
        inbox,
        snapshots,
        writes,
    )


def test_an_event_touching_only_our_property_is_dropped(
    app: Flask, client: FlaskClient, jira: responses.RequestsMock
) -> None:
    payload = issue_event(
        "updated",
        key="PLAT-7",
        issue_id="7",
        updated=T0,
        changes=[("okrlink", "okrlink", None, '{"origin":"okrlink"}')],
    )
    assert _send(client, app, payload, "d-prop").json["status"] == "ignored"
    assert inbox_count(app) == 0


def test_a_rate_limited_property_write_is_retried_after_retry_after(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    jira: responses.RequestsMock,
    clock: FakeClock,
) -> None:
    jira.replace(responses.PUT, property_url("PLAT-7"), status=429, headers={"Retry-After": "120"})
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-7")
    _send(client, app, issue_event("created", key="PLAT-7", issue_id="7", updated=T0), "d-1")
    with services_of(app).store.session() as session:
        row = session.scalars(select(Outbound).where(Outbound.target == "PLAT-7")).one()
        assert row.due_at == clock.current + timedelta(seconds=120)
        assert row.attempts == 1 and "429" in (row.last_error or "")
    jira.replace(responses.PUT, property_url("PLAT-7"), status=200)
    jobs = services_of(app).jobs
    jobs.flush_outbound(1)  # not due yet: nothing happens
    assert len(_property_writes(jira)) == 1
    clock.current += timedelta(seconds=121)
    site_id = row.site_id
    jobs.flush_outbound(site_id)
    assert _property_writes(jira)[-1]["krKeys"] == ["PLAT-1.1"]
    with services_of(app).store.session() as session:
        assert session.scalars(select(Outbound)).all() == []


def test_an_event_older_than_the_stored_state_is_ignored(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-7")
    newer = issue_event(
        "updated", key="PLAT-7", issue_id="7", category="done", updated=T0 + timedelta(hours=2)
    )
    older = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    _send(client, app, newer, "d-new")
    _send(client, app, older, "d-old")
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")["progress"] == 1.0


def test_kr_labels_link_and_unlink_issues(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    labelled = issue_event(
        "created", key="PLAT-7", issue_id="7", updated=T0, labels=["backend", "kr-plat-1.2"]
    )
    _send(client, app, labelled, "d-1")
    links = client.get(
        "/api/v1/key-results/PLAT-1.2/links", headers={**admin, "X-Okrlink-Site": CLIENT}
    ).json["links"]
    assert links == [{"kind": "jira", "target": "PLAT-7", "source": "label"}]
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.2")["total"] == 1.0
    unlabelled = issue_event(
        "updated", key="PLAT-7", issue_id="7", labels=["backend"], updated=T0 + timedelta(minutes=5)
    )
    _send(client, app, unlabelled, "d-2")
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.2")["total"] == 0.0


def test_a_project_move_renames_the_item_and_its_links(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    moved = fixture("jira_issue_updated__generic__jira-to-matrix.json")  # RN-83 -> BBCOM-1233
    before = issue_event(
        "created",
        key="RN-83",
        issue_id=moved["issue"]["id"],
        updated=datetime(2017, 12, 1, tzinfo=UTC),
    )
    jira.add(responses.GET, _issue_url("RN-83"), json=before["issue"])
    jira.add(
        responses.POST,
        "https://acme.atlassian.net/rest/api/3/search/jql",
        json={"issues": [], "isLast": True},
    )
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="RN-83")
    assert _send(client, app, moved, "d-move").status_code == 200
    with services_of(app).store.session() as session:
        assert session.scalars(select(WorkItem.key)).all() == ["BBCOM-1233"]
        assert session.scalars(select(Link.target_key)).all() == ["BBCOM-1233"]
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")["total"] == 1.0


def test_a_deleted_issue_leaves_the_kr(
    app: Flask, client: FlaskClient, admin: dict[str, str], jira: responses.RequestsMock
) -> None:
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-7")
    _send(client, app, issue_event("created", key="PLAT-7", issue_id="7", updated=T0), "d-1")
    deleted = issue_event("deleted", key="PLAT-7", issue_id="7", updated=T0)
    _send(client, app, deleted, "d-2")
    late = issue_event("updated", key="PLAT-7", issue_id="7", category="done", updated=T0)
    _send(client, app, late, "d-3")
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")["total"] == 0.0
