"""Bad Jira input is answered 400 and records nothing; unstorable text is repaired and applied.

Jira redelivers anything answered 5xx, so each of these used to come back for ever; the poison
cases (NUL, lone surrogates, a key that comes back with a new issue id) used to be acknowledged
and then fail on every retry.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import InboxEvent, WorkItem
from sync.ports import Ports
from tests.support.base import FakeClock
from tests.support.jira import (
    FakeTracker,
    create_okrs,
    get_kr,
    inbox_count,
    install_jira,
    issue_event,
    link,
    post_webhook,
)

CLIENT = "jira-bad-input"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ports(clock: FakeClock) -> Ports:
    return Ports(clock=clock, tracker=FakeTracker())


@pytest.fixture
def secret(app: Flask, client: FlaskClient, admin: dict[str, str]) -> str:
    secret = install_jira(app, CLIENT)
    create_okrs(
        client,
        admin,
        site=CLIENT,
        krs=[{"key": "PLAT-1.1", "title": "Close the failover work", "kind": "issues"}],
    )
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-7")
    return secret


def send(client: FlaskClient, secret: str, body: dict | bytes, delivery: str):
    return post_webhook(client, body, secret=secret, client_key=CLIENT, delivery=delivery)


def test_a_deleted_event_stamped_past_any_calendar_is_refused(
    app: Flask, client: FlaskClient, secret: str
) -> None:
    payload = issue_event("deleted", key="PLAT-7", issue_id="7", updated=T0)
    payload["timestamp"] = 10**20
    answer = send(client, secret, payload, "d-timestamp")
    assert answer.status_code == 400
    assert "timestamp" in answer.json["error"]["message"]
    assert inbox_count(app) == 0


def test_an_updated_time_that_overflows_in_utc_is_refused(
    app: Flask, client: FlaskClient, secret: str
) -> None:
    payload = issue_event("deleted", key="PLAT-7", issue_id="7", updated=T0)
    payload["issue"]["fields"]["updated"] = "9999-12-31T23:59:59-14:00"
    answer = send(client, secret, payload, "d-updated")
    assert answer.status_code == 400
    assert "out of range" in answer.json["error"]["message"]
    assert inbox_count(app) == 0


@pytest.mark.parametrize("points", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_story_points_that_are_not_finite_numbers_are_refused(
    app: Flask, client: FlaskClient, secret: str, points: str
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    payload["issue"]["fields"]["customfield_10016"] = "__POINTS__"
    body = json.dumps(payload).replace('"__POINTS__"', points).encode()
    answer = send(client, secret, body, f"d-{points}")
    assert answer.status_code == 400
    assert inbox_count(app) == 0


def test_a_body_nested_100000_deep_is_refused(app: Flask, client: FlaskClient, secret: str) -> None:
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    answer = send(client, secret, body, "d-deep")
    assert answer.status_code == 400
    assert answer.json["error"]["message"] == "the body is nested too deeply"
    assert inbox_count(app) == 0


@pytest.mark.parametrize("issue_id", ["1" * 40, "7; DROP", "-7"])
def test_an_issue_id_that_is_not_jiras_is_refused(
    app: Flask, client: FlaskClient, secret: str, issue_id: str
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id=issue_id, updated=T0)
    answer = send(client, secret, payload, "d-id")
    assert answer.status_code == 400
    assert "not a Jira issue id" in answer.json["error"]["message"]
    assert inbox_count(app) == 0


def test_a_key_that_is_not_an_issue_key_is_refused(
    app: Flask, client: FlaskClient, secret: str
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    payload["issue"]["key"] = "x" * 300
    answer = send(client, secret, payload, "d-key")
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "malformed_event"
    assert inbox_count(app) == 0


@pytest.mark.parametrize("poison", ["\u0000", "\ud800"], ids=["nul", "lone-surrogate"])
def test_unstorable_text_is_repaired_and_the_issue_applied(
    app: Flask, client: FlaskClient, admin: dict[str, str], secret: str, poison: str
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", category="done", updated=T0)
    payload["issue"]["fields"]["summary"] = f"Fail{poison}over"
    payload["issue"]["fields"]["labels"] = [f"team{poison}"]
    # json.dumps escapes both as \u0000 and \ud800, exactly as a sender's JSON carries them.
    answer = send(client, secret, json.dumps(payload).encode(), "d-poison")
    assert answer.status_code == 200, answer.json
    with services_of(app).store.session() as session:
        item = session.scalars(select(WorkItem).where(WorkItem.key == "PLAT-7")).one()
        assert item.summary == "Fail\ufffdover"
        assert item.labels == ["team\ufffd"]
        assert session.scalars(select(InboxEvent.state)).all() == ["done"]
    kr = get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")
    assert (kr["done"], kr["total"]) == (1.0, 1.0)


def test_a_known_key_with_a_new_issue_id_updates_its_one_row(
    app: Flask, client: FlaskClient, admin: dict[str, str], secret: str
) -> None:
    first = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    assert send(client, secret, first, "d-first").status_code == 200
    recreated = issue_event(
        "created",
        key="PLAT-7",
        issue_id="10070",
        category="done",
        updated=T0 + timedelta(minutes=5),
    )
    assert send(client, secret, recreated, "d-recreated").status_code == 200
    with services_of(app).store.session() as session:
        rows = session.execute(select(WorkItem.key, WorkItem.issue_id)).all()
        assert [tuple(row) for row in rows] == [("PLAT-7", "10070")]
        assert set(session.scalars(select(InboxEvent.state))) == {"done"}
    kr = get_kr(client, admin, site=CLIENT, kr="PLAT-1.1")
    assert (kr["done"], kr["total"]) == (1.0, 1.0)
