"""The demo: example OKRs and sample events through the real pipeline, pages in a browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from connect.app import create_app
from connect.demo import load_demo
from connect.settings import Settings
from sync.jobs import Ports
from tests.support.ui import parse


@pytest.fixture
def dev_app(app: Flask, settings: Settings, ports: Ports) -> Iterator[Flask]:
    """The app in development mode, on the same (emptied) test database."""
    dev = create_app(settings.replace(dev=True), ports=ports)
    yield dev
    dev.extensions["okrlink"].store.dispose()


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
    # GitHub events: merged PRs with lead times 34, 29 and 22 hours; median 29 of 48 -> 24.
    assert shown["PLAT-1.5"] == "0.79"
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


def test_the_demo_sends_its_digest_to_a_local_receiver_shown_at_dev_chat(dev_app: Flask) -> None:
    from sync.digest import list_channels

    base = "http://127.0.0.1:8080"
    urls = load_demo(dev_app, base=base)
    assert urls["Weekly digest (local Slack receiver)"] == f"{base}/dev/chat"
    assert load_demo(dev_app, base=base) == urls  # twice: still one channel
    services = dev_app.extensions["okrlink"]
    with services.store.session() as session:
        (channel,) = list_channels(session)
    assert (channel.team, channel.kind, channel.url_hint) == ("PLAT", "slack",
                                                              "http://127.0.0.1/…lack")
    # What the demo's queued send posts, through the receiver's route, then its page.
    sent: list[tuple[str, dict[str, object]]] = []

    class Client:
        def post(self, *, kind: str, url: str, payload: dict[str, object]) -> None:
            assert url == f"{base}/dev/chat/slack"
            answer = client.post("/dev/chat/slack", json=payload)
            assert answer.status_code == 200 and answer.text == "ok"
            sent.append((kind, payload))

    client = dev_app.test_client()
    services.jobs.ports.chat = Client()
    site_id = channel_site(dev_app)
    assert services.digest.send_now(site_id, "PLAT") == [(channel.id, "sent")]
    shown = client.get("/dev/chat")
    assert shown.status_code == 200
    assert "PLAT · weekly OKR digest" in shown.text and "PLAT-1.4" in shown.text
    assert [kind for kind, _ in sent] == ["slack"]


def channel_site(app: Flask) -> int:
    from sqlalchemy import select

    from sync.model import DigestChannel

    with app.extensions["okrlink"].store.session() as session:
        return session.scalars(select(DigestChannel.site_id)).one()


def test_the_local_chat_receiver_exists_only_in_development(app: Flask) -> None:
    assert app.test_client().post("/dev/chat/slack", json={"text": "x"}).status_code == 404
