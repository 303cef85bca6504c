"""Ordinary Jira deliveries are recorded before Flask runs; everything else is Flask's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import InboxEvent
from tests.support.base import FlaskCalls
from tests.support.jira import inbox_count, install_jira, issue_event, post_webhook

CLIENT = "jira-acme"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def secret(app: Flask) -> str:
    return install_jira(app, CLIENT)


def send(client: FlaskClient, secret: str, payload: dict | bytes, delivery: str = "d-1"):
    return post_webhook(client, payload, secret=secret, client_key=CLIENT, delivery=delivery)


def test_an_ordinary_delivery_is_recorded_without_flask(
    app: Flask, client: FlaskClient, secret: str, flask_calls: FlaskCalls
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    accepted = send(client, secret, payload)
    assert accepted.status_code == 200
    assert accepted.mimetype == "application/json"
    assert accepted.json == {"status": "accepted", "id": accepted.json["id"]}
    assert send(client, secret, payload).json == {"status": "duplicate"}
    assert (inbox_count(app), flask_calls.count) == (1, 0)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"webhookEvent": "jira:x"}'])
def test_a_malformed_delivery_gets_flasks_400_and_records_nothing(
    app: Flask, client: FlaskClient, secret: str, flask_calls: FlaskCalls, body: bytes
) -> None:
    refused = send(client, secret, body)
    assert refused.status_code == 400
    assert refused.json["error"]["code"] in {"malformed_body", "malformed_event"}
    assert (inbox_count(app), flask_calls.count) == (0, 1)


def test_a_forged_delivery_gets_flasks_401_and_records_nothing(
    app: Flask, client: FlaskClient, secret: str, flask_calls: FlaskCalls
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    forged = send(client, "not-the-shared-secret-0123456789abcdef", payload)
    assert forged.status_code == 401
    assert (inbox_count(app), flask_calls.count) == (0, 1)


def test_an_oversized_body_is_refused_by_flask(
    app: Flask, client: FlaskClient, secret: str, flask_calls: FlaskCalls
) -> None:
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    payload["padding"] = "x" * (3 * 1024 * 1024)
    assert send(client, secret, payload).status_code == 413
    assert (inbox_count(app), flask_calls.count) == (0, 1)


def test_a_failure_inside_the_hot_path_is_answered_by_flask_and_records_once(
    app: Flask,
    client: FlaskClient,
    secret: str,
    flask_calls: FlaskCalls,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = services_of(app).jobs
    real_nudge = jobs.nudge
    failures = []

    def nudge_failing_once(site_id: int) -> None:
        if not failures:
            failures.append(site_id)
            raise ConnectionError("the queue is unreachable")
        real_nudge(site_id)

    monkeypatch.setattr(jobs, "nudge", nudge_failing_once)
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    answered = send(client, secret, payload)
    assert answered.status_code == 200
    assert answered.json == {"status": "duplicate"}  # recorded by the hot path before it failed
    assert (inbox_count(app), flask_calls.count, len(failures)) == (1, 1, 1)
    # Flask's answer nudged the queue again, so the event did not wait for the sweeper.
    with services_of(app).store.session() as session:
        assert session.scalars(select(InboxEvent.state)).all() == ["done"]
