"""Bad GitHub deliveries (correctly signed) are answered 400 and record nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync.db.model import InboxEvent, PullRequest
from tests.support.github_app import count, deliver, fixture


def _opened(**changes: Any) -> dict[str, Any]:
    payload = fixture("pull_request.opened.json")
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("installation is a number", _opened(installation=5)),
        ("installation id past any id", _opened(installation={"id": 10**30})),
        ("installation id not a number", _opened(installation={"id": "12"})),
        ("pull_request is a list", _opened(pull_request=[1])),
    ],
)
def test_shapes_github_never_sends_are_refused(
    app: Flask, client: FlaskClient, name: str, payload: dict[str, Any]
) -> None:
    answer = deliver(client, "pull_request", payload, delivery=f"d-{name}")
    assert answer.status_code == 400, name
    assert answer.get_json()["error"]["code"] == "invalid_payload"
    assert count(app, InboxEvent) == 0
    assert count(app, PullRequest) == 0


def test_a_body_nested_100000_deep_is_refused(app: Flask, client: FlaskClient) -> None:
    body = b'{"action":"opened","a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = deliver(client, "pull_request", body, delivery="d-deep")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"] == "the body is nested too deeply"
    assert count(app, InboxEvent) == 0


def test_not_a_number_is_refused(app: Flask, client: FlaskClient) -> None:
    body = json.dumps(_opened(number=float("nan"))).encode()
    assert b"NaN" in body
    answer = deliver(client, "pull_request", body, delivery="d-nan")
    assert answer.status_code == 400
    assert count(app, InboxEvent) == 0


def test_unstorable_text_in_a_title_is_repaired(app: Flask, client: FlaskClient) -> None:
    payload = _opened()
    payload["pull_request"]["title"] = "PLAT-12 fail\u0000over \ud800"
    answer = deliver(client, "pull_request", json.dumps(payload).encode(), delivery="d-title")
    assert answer.status_code == 202, answer.get_json()
    with services_of(app).store.session() as session:
        pull = session.query(PullRequest).one()
        assert pull.title == "PLAT-12 fail\ufffdover \ufffd"
