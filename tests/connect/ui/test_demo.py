"""The demo: example OKRs and sample events through the real pipeline, pages in a browser."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from connect.demo.dora import quarter_of_deployments
from connect.demo.seed import (
    DEMO_BASE_URL,
    DEMO_HOST,
    api_token,
    load_demo,
    open_demo,
    reset_demo,
)
from connect.services import services_of
from connect.settings import Settings
from sync.db.store import find_kr, find_site
from sync.kpis import find_kpi, history_of
from sync.ports import Ports
from tests.support.ui import parse


@pytest.fixture
def dev_app(app: Flask, settings: Settings, ports: Ports) -> Iterator[Flask]:
    """The app in development mode, on the same (emptied) test database."""
    dev = open_demo(settings.replace(dev=True), ports)
    yield dev
    services_of(dev).store.dispose()


@pytest.fixture
def plain_demo(app: Flask, settings: Settings, ports: Ports) -> Iterator[Flask]:
    """The demo built without development mode, on the same (emptied) test database."""
    plain = open_demo(settings, ports)
    yield plain
    services_of(plain).store.dispose()


def deployments_in_last_30_days(app: Flask) -> tuple[int, int]:
    """(failed, finished) demo deployments of the 30 days before the clock, counted plainly."""
    now = services_of(app).jobs.ports.clock.now()
    statuses = [
        d.payload["deployment_status"]["state"]
        for d in quarter_of_deployments(datetime(2026, 10, 1, tzinfo=UTC), now)
        if d.event == "deployment_status" and now - timedelta(days=30) < d.at <= now
    ]
    return statuses.count("failure"), len(statuses)


def _krs(html: str) -> dict[str, str]:
    nodes = parse(html).find_all(data_kr=True)
    return {node.attrs["data-kr"]: node.attrs["data-progress"] for node in nodes}


def test_demo_pages_show_progress_moved_by_the_replayed_events(dev_app: Flask) -> None:
    urls = load_demo(dev_app, base="")
    client = dev_app.test_client()
    panel = client.get(urls["Confluence OKR panel"])
    assert panel.status_code == 200
    shown = _krs(panel.text)
    assert len(shown) == 8
    # Jira events: PLAT-13, PLAT-14 (epic PLAT-12 children) and PLAT-40 done: 11 of 18 points.
    assert shown["PLAT-1.4"] == "0.61"
    # A quarter of deployments moves the DORA KRs: 30 days of deployments before the clock.
    failures, finished = deployments_in_last_30_days(dev_app)
    cfr = round(100 * failures / finished, 2)
    with services_of(dev_app).store.session() as session:
        site_id = find_site(session, DEMO_BASE_URL).id
        assert find_kr(session, site_id, "PLAT-1.3").current == cfr  # type: ignore[union-attr]
        lead = find_kr(session, site_id, "PLAT-1.5").current  # type: ignore[union-attr]
        kpi = find_kpi(session, site_id, "PLAT-K1")
        assert kpi is not None and kpi.current == cfr
        healths = [point.health for point in history_of(session, kpi)]
    assert shown["PLAT-1.3"] == f"{min(max((15 - cfr) / 10, 0), 1):.2f}"
    assert lead is not None and 26 <= lead <= 40
    assert shown["PLAT-1.5"] == f"{(48 - lead) / 24:.2f}"
    # The bad week breached the change failure rate KPI once; it has healed since.
    episodes = [h for before, h in zip(["healthy", *healths], healths, strict=False) if h != before]
    assert episodes == ["breached", "healthy"]
    assert parse(panel.text).find(data_kpi="PLAT-K1").attrs["data-health"] == "healthy"
    issue = client.get(urls["Jira issue panel"])
    assert list(_krs(issue.text)) == ["PLAT-1.4"]
    assert "via PLAT-12" in issue.text
    project = client.get(urls["Jira project page (check-ins)"])
    assert project.status_code == 200 and "<form" in project.text


def test_demo_twice_changes_nothing(dev_app: Flask) -> None:
    first = load_demo(dev_app, base="")
    client = dev_app.test_client()
    before = client.get(first["Confluence OKR panel"]).text
    second = load_demo(dev_app, base="")
    assert second == first
    assert _krs(client.get(second["Confluence OKR panel"]).text) == _krs(before)


def test_demo_urls_are_refused_without_dev_mode(plain_demo: Flask, dev_app: Flask) -> None:
    urls = load_demo(dev_app, base="")
    assert plain_demo.test_client().get(urls["Confluence OKR panel"]).status_code == 403
    assert "OKRLINK_DEV=1" in load_demo(plain_demo, base="")["Note"]


def test_the_demo_loads_only_into_an_app_built_as_the_demo(app: Flask) -> None:
    with pytest.raises(TypeError, match="open_demo"):
        load_demo(app, base="")


def _title(app: Flask, key: str) -> str:
    from sync.db.model import KeyResult

    with services_of(app).store.session() as session:
        return session.query(KeyResult.title).filter(KeyResult.key == key).one()[0]


def test_a_restart_keeps_what_the_user_changed_and_reset_starts_over(dev_app: Flask) -> None:
    from sync.db.model import KeyResult

    first = load_demo(dev_app, base="")
    original = _title(dev_app, "PLAT-1.1")
    moved = _krs(dev_app.test_client().get(first["Confluence OKR panel"]).text)
    with services_of(dev_app).store.session() as session:
        session.query(KeyResult).filter(KeyResult.key == "PLAT-1.1").update(
            {KeyResult.title: "Raise availability to five nines"}
        )
    load_demo(dev_app, base="")  # a restart
    assert _title(dev_app, "PLAT-1.1") == "Raise availability to five nines"
    reset_demo(dev_app)
    urls = load_demo(dev_app, base="")
    assert _title(dev_app, "PLAT-1.1") == original
    shown = _krs(dev_app.test_client().get(urls["Confluence OKR panel"]).text)
    # The events are replayed again: the KRs they move are where the first load put them.
    assert (shown["PLAT-1.4"], shown["PLAT-1.5"]) == (moved["PLAT-1.4"], moved["PLAT-1.5"])
    assert shown["PLAT-1.4"] == "0.61"


def test_the_demos_token_opens_the_api_on_the_demo_site_without_extra_headers(
    settings: Settings, ports: Ports
) -> None:
    app = open_demo(settings.replace(dev=True, admin_token=""), ports)
    restarted = open_demo(settings.replace(dev=True, admin_token=""), ports)
    services_of(restarted).store.dispose()
    try:
        load_demo(app, base="")
        token = api_token(app)
        assert token == api_token(restarted)  # kept in the data directory: a restart keeps it
        assert (settings.data_dir / "demo-admin-token").stat().st_mode & 0o777 == 0o600
        client = app.test_client()
        response = client.get(
            "/api/v1/objectives?team=PLAT", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        keys = [kr["key"] for o in response.json["objectives"] for kr in o["key_results"]]
        assert len(keys) == 8 and "PLAT-1.5" in keys
        wrong = client.get("/api/v1/objectives", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    finally:
        services_of(app).store.dispose()


def test_the_demos_jql_kr_says_it_has_no_jira_and_the_poll_does_not_fail(
    dev_app: Flask, admin: dict[str, str]
) -> None:
    urls = load_demo(dev_app, base="")
    panel = parse(dev_app.test_client().get(urls["Confluence OKR panel"]).text)
    marked = [node.attrs["data-kr"] for node in panel.find_all(data_source_state="missing")]
    assert marked == ["PLAT-2.1"]  # at once, not after the first poll period
    assert services_of(dev_app).jira_sync.poll_jql() == {}
    response = dev_app.test_client().get(
        "/api/v1/key-results/PLAT-2.1", headers={**admin, "X-Okrlink-Site": DEMO_HOST}
    )
    assert response.json["source_state"] == "missing"
    assert "the demo site has no Jira to run JQL against" in response.json["source_message"]
    assert response.json["current"] == 22  # the value of its last check-in


def test_the_demos_reconcile_reads_its_own_issues_and_changes_nothing(dev_app: Flask) -> None:
    urls = load_demo(dev_app, base="")
    client = dev_app.test_client()
    before = _krs(client.get(urls["Confluence OKR panel"]).text)
    services_of(dev_app).jira_sync.reconcile()  # the periodic job: nothing raised
    assert _krs(client.get(urls["Confluence OKR panel"]).text) == before


def test_the_demo_keeps_its_check_runs_without_a_github_app(dev_app: Flask) -> None:
    from connect.demo.seed import DemoChecks

    load_demo(dev_app, base="")
    checks = services_of(dev_app).jobs.ports.checks
    assert isinstance(checks, DemoChecks)
    assert checks.runs, "the open demo PRs get their OKR impact run"
    assert {repo for _, repo, _ in checks.runs} == {"platform/deployer"}


def test_the_demo_sends_its_digest_to_a_local_receiver_shown_at_dev_chat(dev_app: Flask) -> None:
    from sync.digest import list_channels

    base = "http://127.0.0.1:8080"
    urls = load_demo(dev_app, base=base)
    assert urls["Weekly digest (local Slack receiver)"] == f"{base}/dev/chat"
    assert load_demo(dev_app, base=base) == urls  # twice: still one channel
    services = services_of(dev_app)
    with services.store.session() as session:
        (channel,) = list_channels(session)
    assert (channel.team, channel.kind, channel.url_hint) == (
        "PLAT",
        "slack",
        "http://127.0.0.1/…lack",
    )
    # What the demo's queued send posts, through the receiver's route, then its page.
    sent: list[tuple[str, dict[str, object]]] = []

    class Client:
        def post(self, *, kind: str, url: str, payload: dict[str, object]) -> None:
            assert url == f"{base}/dev/chat/slack"
            answer = client.post("/dev/chat/slack", json=payload)
            assert answer.status_code == 200 and answer.text == "ok"
            sent.append((kind, payload))

    client = dev_app.test_client()
    services.jobs.ports = replace(services.jobs.ports, chat=Client())
    site_id = channel_site(dev_app)
    assert services.digest.send_now(site_id, "PLAT") == [(channel.id, "sent")]
    shown = client.get("/dev/chat")
    assert shown.status_code == 200
    assert "PLAT · weekly OKR digest" in shown.text and "PLAT-1.4" in shown.text
    assert [kind for kind, _ in sent] == ["slack"]


def channel_site(app: Flask) -> int:
    from sqlalchemy import select

    from sync.db.model import DigestChannel

    with services_of(app).store.session() as session:
        return session.scalars(select(DigestChannel.site_id)).one()


def test_the_local_chat_receiver_exists_only_in_development(app: Flask) -> None:
    assert app.test_client().post("/dev/chat/slack", json={"text": "x"}).status_code == 404
