"""The demo: example OKRs and sample events through the real pipeline, pages in a browser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from connect.app import create_app
from connect.demo import DEMO_BASE_URL, load_demo
from connect.demo_dora import quarter_of_deployments
from connect.settings import Settings
from sync.jobs import Ports
from sync.kpis import find_kpi, history_of
from sync.store import find_kr, find_site
from tests.support.ui import parse


@pytest.fixture
def dev_app(app: Flask, settings: Settings, ports: Ports) -> Iterator[Flask]:
    """The app in development mode, on the same (emptied) test database."""
    dev = create_app(settings.replace(dev=True), ports=ports)
    yield dev
    dev.extensions["okrlink"].store.dispose()


def deployments_in_last_30_days(app: Flask) -> tuple[int, int]:
    """(failed, finished) demo deployments of the 30 days before the clock, counted plainly."""
    now = app.extensions["okrlink"].jobs.ports.clock.now()
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
    with dev_app.extensions["okrlink"].store.session() as session:
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


def test_demo_urls_are_refused_without_dev_mode(app: Flask, dev_app: Flask) -> None:
    urls = load_demo(dev_app, base="")
    assert app.test_client().get(urls["Confluence OKR panel"]).status_code == 403
    assert "OKRLINK_DEV=1" in load_demo(app, base="")["Note"]
