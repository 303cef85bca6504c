"""Events applied in large drain batches end exactly where events applied one by one end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import InboxEvent, Link, WorkItem
from tests.connect.doors.atlassian_connect.test_jira_stream import (
    API_LINKS,
    KRS,
    SNAPSHOT_FIELDS,
    deliveries,
    generate,
)
from tests.support.jira import create_okrs, get_kr, install_jira, issue_event, link, post_webhook

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _deliver(client: FlaskClient, secret: str, site: str, events: list[tuple[str, Any]]) -> None:
    for delivery, payload in events:
        response = post_webhook(client, payload, secret=secret, client_key=site, delivery=delivery)
        assert response.status_code == 200, response.json


def _snapshots(client: FlaskClient, admin: dict[str, str], site: str) -> dict[str, dict]:
    return {
        kr["key"]: {
            name: get_kr(client, admin, site=site, kr=kr["key"])[name] for name in SNAPSHOT_FIELDS
        }
        for kr in KRS
    }


def _site_id(app: Flask, site: str) -> int:
    from sync.db.store import find_site

    with services_of(app).store.session() as session:
        return find_site(session, site).id


def _setup(app: Flask, client: FlaskClient, admin: dict[str, str], site: str) -> str:
    secret = install_jira(app, site, base_url=f"https://{site}.atlassian.net")
    create_okrs(client, admin, site=site, krs=KRS)
    for kr, targets in API_LINKS.items():
        for target in targets:
            link(client, admin, site=site, kr=kr, target=target)
    return secret


def _drain_at_once(app: Flask, monkeypatch: pytest.MonkeyPatch, deliver: Any, site: str) -> None:
    """Record every delivery with the queue held back, then drain the site in batches."""
    jobs = services_of(app).jobs
    with monkeypatch.context() as held:
        held.setattr(jobs, "nudge", lambda site_id: None)
        deliver()
    with services_of(app).store.session() as session:
        assert session.scalar(select(InboxEvent.id).where(InboxEvent.state == "pending"))
    jobs.drain(_site_id(app, site))
    with services_of(app).store.session() as session:
        assert session.scalar(select(InboxEvent.id).where(InboxEvent.state != "done")) is None


def test_the_shuffled_doubled_stream_drained_in_batches_ends_like_one_by_one(
    app: Flask, client: FlaskClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = generate()
    streams = deliveries(stream)
    one_by_one = _setup(app, client, admin, "jira-one")
    _deliver(client, one_by_one, "jira-one", streams["in-order"])
    batched = _setup(app, client, admin, "jira-batched")
    _drain_at_once(
        app,
        monkeypatch,
        lambda: _deliver(client, batched, "jira-batched", streams["twice"]),
        "jira-batched",
    )
    assert _snapshots(client, admin, "jira-batched") == _snapshots(client, admin, "jira-one")


def test_a_rename_and_label_links_inside_one_batch_end_like_one_by_one(
    app: Flask, client: FlaskClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [
        issue_event("created", key="WEB-5", issue_id="5", updated=T0, parent="WEB-1"),
        issue_event("created", key="WEB-6", issue_id="6", updated=T0, labels=["kr-plat-1.3"]),
        issue_event(
            "updated",
            key="WEB-5",
            issue_id="5",
            category="indeterminate",
            updated=T0 + timedelta(minutes=1),
            parent="WEB-1",
        ),
        issue_event(
            "updated",
            key="OPS-5",
            issue_id="5",
            category="indeterminate",
            updated=T0 + timedelta(minutes=2),
            labels=["kr-plat-1.3"],
            changes=[("key", "Key", "WEB-5", "OPS-5")],
        ),
        issue_event(
            "updated",
            key="OPS-5",
            issue_id="5",
            category="done",
            updated=T0 + timedelta(minutes=3),
            labels=["kr-plat-1.3"],
        ),
        issue_event(
            "updated",
            key="WEB-6",
            issue_id="6",
            category="done",
            updated=T0 + timedelta(minutes=4),
            labels=["kr-plat-1.3"],
        ),
        issue_event(
            "created",
            key="WEB-7",
            issue_id="7",
            updated=T0 + timedelta(minutes=5),
            parent="WEB-1",
            category="done",
        ),
    ]
    numbered = [(f"d-{n}", payload) for n, payload in enumerate(events)]
    one_by_one = _setup(app, client, admin, "jira-one")
    _deliver(client, one_by_one, "jira-one", numbered)
    batched = _setup(app, client, admin, "jira-batched")
    _drain_at_once(
        app,
        monkeypatch,
        lambda: _deliver(client, batched, "jira-batched", numbered),
        "jira-batched",
    )
    assert _snapshots(client, admin, "jira-batched") == _snapshots(client, admin, "jira-one")
    with services_of(app).store.session() as session:
        for site in ("jira-one", "jira-batched"):
            site_id = _site_id(app, site)
            items = session.scalars(select(WorkItem.key).where(WorkItem.site_id == site_id))
            links = session.scalars(
                select(Link.target_key).where(Link.site_id == site_id, Link.source == "label")
            )
            assert (sorted(items), sorted(links)) == (
                ["OPS-5", "WEB-6", "WEB-7"],
                ["OPS-5", "WEB-6"],
            )
    assert get_kr(client, admin, site="jira-batched", kr="PLAT-1.3")["done"] == 2
