"""A team's KRs pushed to a Geckoboard dataset, against a real local HTTPS receiver standing in
for the Datasets API (`trustme` certificates): the schema then the records after a change, at
most one push a minute, 429 and `Retry-After` honoured, a refused key parked and shown, the key
encrypted at rest and never logged, every push counted."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import select

from connect.services import services_of
from connect.settings import Settings
from connect.ui.panels import PanelQuery, load_panel
from sync.db.model import GeckoboardDataset, Outbound
from sync.engine.parking import parked_writes
from sync.geckoboard import FIELDS, add_dataset, list_datasets
from tests.support.app import CLIENT_KEY, panel_site
from tests.support.base import ADMIN_TOKEN, FakeClock
from tests.support.chat import Answer, Receiver, receiver, trust

KEY = "4b1f0d6e9a2c48e7b3a5c9d1e2f3a4b5"
DATASET = "/datasets/okrlink.plat.key_results"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Okrlink-Site": CLIENT_KEY}


@pytest.fixture
def geckoboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    with receiver(default=Answer(200, "{}", {"Content-Type": "application/json"}), tls=ca) as found:
        yield found


@pytest.fixture
def settings(settings: Settings, geckoboard: Receiver) -> Settings:
    return settings.replace(geckoboard_api_url=geckoboard.base_url)


@pytest.fixture
def site(app: Flask) -> int:
    return panel_site(app)


def pushes(geckoboard: Receiver) -> list[list[str]]:
    """The receiver's requests, two by two (schema, records), as (method path) pairs."""
    calls = [f"{post.method} {post.path}" for post in geckoboard.posts]
    return [calls[i : i + 2] for i in range(0, len(calls), 2)]


def add(app: Flask, site: int, clock: FakeClock, key: str = KEY) -> None:
    services = services_of(app)
    with services.store.session() as session:
        add_dataset(
            session,
            site,
            team="PLAT",
            api_key=key,
            encrypt=services.tenants.encrypt,
            now=clock.now(),
        )
    services.jobs.flush_outbound(site)


def check_in(client: FlaskClient, key: str, value: float) -> None:
    answer = client.post(
        f"/api/v1/key-results/{key}/check-ins", headers=ADMIN, json={"value": value}
    )
    assert answer.status_code == 201, answer.json


def flush(app: Flask, site: int) -> None:
    services_of(app).jobs.flush_outbound(site)


def written(outcome: str) -> float:
    labels = {"target": "geckoboard", "outcome": outcome}
    return REGISTRY.get_sample_value("okrlink_outbound_writes_total", labels) or 0.0


def queued(app: Flask) -> Outbound | None:
    with services_of(app).store.session() as session:
        row = session.scalar(select(Outbound).where(Outbound.kind == "geckoboard"))
        if row is not None:
            session.expunge(row)
        return row


def test_the_teams_krs_reach_the_dataset_after_a_change_once_a_minute_at_most(
    app: Flask, client: FlaskClient, site: int, clock: FakeClock, geckoboard: Receiver
) -> None:
    ok = written("ok")
    add(app, site, clock)
    assert pushes(geckoboard) == [[f"PUT {DATASET}", f"PUT {DATASET}/data"]]
    schema, data = geckoboard.posts
    assert schema.body == {"fields": FIELDS, "unique_by": ["cycle", "kr"]}
    assert len(FIELDS) <= 10
    assert (
        schema.headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    )
    assert [r["kr"] for r in data.body["data"]][:2] == ["PLAT-1.1", "PLAT-1.2"]
    assert len(data.body["data"]) == 8

    clock.current += timedelta(seconds=10)
    check_in(client, "PLAT-1.1", 99.8)
    clock.current += timedelta(seconds=10)
    check_in(client, "PLAT-1.1", 99.9)
    assert len(pushes(geckoboard)) == 1  # the minute since the last push is not over
    assert queued(app) is not None
    clock.current += timedelta(seconds=41)
    flush(app, site)
    assert len(pushes(geckoboard)) == 2  # the two check-ins, in one push
    latest = {r["kr"]: r for r in geckoboard.posts[-1].body["data"]}
    with services_of(app).store.session() as session:
        view = load_panel(
            session, site, PanelQuery(team="PLAT", cycle="2026-Q4"), today=clock.now().date()
        )
    assert view is not None
    shown = {kr.key: kr for o in view.objectives for kr in o.krs}
    assert latest["PLAT-1.1"]["value"] == 99.9
    assert latest["PLAT-1.1"]["progress"] == shown["PLAT-1.1"].progress
    assert latest["PLAT-1.1"]["status"] == shown["PLAT-1.1"].status
    assert queued(app) is None
    assert written("ok") == ok + 2


def test_429_waits_its_retry_after(
    app: Flask, client: FlaskClient, site: int, clock: FakeClock, geckoboard: Receiver
) -> None:
    add(app, site, clock)
    clock.current += timedelta(minutes=2)
    geckoboard.answer_next(
        Answer(429, '{"error": {"message": "Too many requests"}}', {"Retry-After": "120"})
    )
    retries = written("retry")
    check_in(client, "PLAT-1.2", 1.5)
    row = queued(app)
    assert row is not None and row.failed_at is None
    assert row.due_at == clock.now() + timedelta(seconds=120)
    assert written("retry") == retries + 1
    clock.current += timedelta(seconds=119)
    flush(app, site)
    assert len(geckoboard.posts) == 3  # 2 of the first push, the refused schema PUT
    clock.current += timedelta(seconds=1)
    flush(app, site)
    assert len(geckoboard.posts) == 5 and queued(app) is None


def test_a_refused_key_is_parked_shown_and_replaced(
    app: Flask,
    client: FlaskClient,
    site: int,
    clock: FakeClock,
    geckoboard: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    geckoboard.answer_next(Answer(401, '{"error": {"message": "Your API key is invalid"}}'))
    add(app, site, clock)
    with services_of(app).store.session() as session:
        (view,) = list_datasets(session, site)
        assert view.state == "parked" and "401" in (view.parked_reason or "")
        assert view.key_hint == "…" + KEY[-4:]
        (parked,) = parked_writes(session, site)
        assert (parked.kind, parked.target) == ("geckoboard", "okrlink.plat.key_results")
        stored = session.scalars(select(GeckoboardDataset)).one()
        assert KEY not in (stored.api_key, stored.key_hint)
        assert services_of(app).tenants.decrypt(stored.api_key) == KEY
    clock.current += timedelta(minutes=5)
    check_in(client, "PLAT-1.1", 99.7)
    assert len(geckoboard.posts) == 1  # parked: changes wait for a new key
    add(app, site, clock, key=KEY[::-1])
    assert [p.method for p in geckoboard.posts] == ["PUT", "PUT", "PUT"]
    with services_of(app).store.session() as session:
        (view,) = list_datasets(session, site)
        assert view.state == "active" and view.pushed_at == clock.now()
    encoded = base64.b64encode(f"{KEY}:".encode()).decode()
    assert KEY not in caplog.text and encoded not in caplog.text
    assert KEY[::-1] not in caplog.text


def test_abandoned_krs_and_a_closed_cycle_leave_the_dataset(
    app: Flask, client: FlaskClient, site: int, clock: FakeClock, geckoboard: Receiver
) -> None:
    add(app, site, clock)
    clock.current += timedelta(seconds=5)
    abandoned = client.post(
        "/api/v1/key-results/PLAT-1.2/abandon", headers=ADMIN, json={"reason": "Superseded"}
    )
    assert abandoned.status_code == 200, abandoned.json
    row = queued(app)
    assert row is not None and row.due_at == clock.now() + timedelta(seconds=55)
    clock.current += timedelta(seconds=55)
    flush(app, site)
    keys = [r["kr"] for r in geckoboard.posts[-1].body["data"]]
    assert len(pushes(geckoboard)) == 2 and "PLAT-1.2" not in keys and "PLAT-1.1" in keys

    clock.current += timedelta(minutes=5)
    closed = client.post("/api/v1/cycles/2026-Q4/close?team=PLAT", headers=ADMIN, json={})
    assert closed.status_code == 200, closed.json
    flush(app, site)
    assert len(pushes(geckoboard)) == 3
    assert geckoboard.posts[-1].body == {"data": []}
