"""The `okrlink` issue property is on every issue a KR counts, the children of a linked epic
included, and KRs leave it when the issue stops counting (unlinked, moved out of the epic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sync.ports import Ports
from tests.support.base import FakeClock
from tests.support.jira import (
    FakeTracker,
    create_okrs,
    get_kr,
    install_jira,
    issue_event,
    link,
    post_webhook,
)

CLIENT = "jira-epics"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CHILDREN = [f"PLAT-{n}" for n in range(20, 37)]  # 17 children of the epic


@pytest.fixture
def tracker() -> FakeTracker:
    return FakeTracker()


@pytest.fixture
def ports(clock: FakeClock, tracker: FakeTracker) -> Ports:
    return Ports(clock=clock, tracker=tracker)


def _latest(tracker: FakeTracker) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for _site, key, document in tracker.writes:
        latest[key] = document
    return latest


def test_an_epic_linked_kr_is_on_the_property_of_every_issue_it_counts(
    app: Flask, client: FlaskClient, admin: dict[str, str], tracker: FakeTracker
) -> None:
    secret = install_jira(app, CLIENT)
    create_okrs(
        client,
        admin,
        site=CLIENT,
        krs=[{"key": "PLAT-1.4", "title": "Close the failover epic", "kind": "issues"}],
    )

    def send(payload: dict, delivery: str) -> None:
        tracker.issues[payload["issue"]["key"]] = payload["issue"]  # Jira's REST view agrees
        answer = post_webhook(client, payload, secret=secret, client_key=CLIENT, delivery=delivery)
        assert answer.status_code == 200, answer.json

    send(issue_event("created", key="PLAT-12", issue_id="12", issue_type="Epic", updated=T0), "e")
    for n, key in enumerate(CHILDREN):
        category = "done" if n % 3 == 0 else "new"
        send(
            issue_event(
                "created",
                key=key,
                issue_id=key[5:],
                parent="PLAT-12",
                category=category,
                updated=T0 + timedelta(minutes=n),
            ),
            f"c-{key}",
        )
    link(client, admin, site=CLIENT, kr="PLAT-1.4", target="PLAT-12")
    link(client, admin, site=CLIENT, kr="PLAT-1.4", target="PLAT-40")
    send(issue_event("created", key="PLAT-40", issue_id="40", updated=T0), "direct")

    kr = get_kr(client, admin, site=CLIENT, kr="PLAT-1.4")
    assert kr["total"] == 18.0  # the epic's 17 children and PLAT-40 (an epic counts its children)
    latest = _latest(tracker)
    counted = {"PLAT-12", "PLAT-40", *CHILDREN}  # the linked epic shows the KR too
    assert {key for key, doc in latest.items() if doc["krKeys"] == ["PLAT-1.4"]} == counted
    child = latest["PLAT-25"]["krs"][0]
    assert (child["progress"], child["status"]) == (kr["progress"], kr["status"])

    moved = issue_event(
        "updated", key="PLAT-20", issue_id="20", parent=None, updated=T0 + timedelta(hours=2)
    )
    send(moved, "moved-out")
    assert _latest(tracker)["PLAT-20"]["krKeys"] == []
    assert get_kr(client, admin, site=CLIENT, kr="PLAT-1.4")["total"] == 17.0

    unlinked = client.delete(
        "/api/v1/key-results/PLAT-1.4/links/PLAT-12", headers={**admin, "X-Okrlink-Site": CLIENT}
    )
    assert unlinked.status_code == 204
    latest = _latest(tracker)
    assert {key for key, doc in latest.items() if doc["krKeys"]} == {"PLAT-40"}
    assert latest["PLAT-12"]["krKeys"] == [] and latest["PLAT-36"]["krKeys"] == []
