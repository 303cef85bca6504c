"""Fixtures of the Asana tests: a local HTTPS Asana, and the app served on 127.0.0.1.

`settings` and `ports` override the ones in tests/conftest.py: the app's base URL is the live
server's (Asana's handshake calls the real webhook route there), its Asana API is the local
HTTPS server (trusted through `REQUESTS_CA_BUNDLE`), and Jira is an in-memory tracker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from connect.settings import Settings
from sync.ports import Ports
from tests.support.app import install
from tests.support.asana import FakeAsana, asana_server
from tests.support.base import FakeClock
from tests.support.jira import FakeTracker


@dataclass
class LiveServer:
    """The app on 127.0.0.1, bound before the app exists (its URL is the app's base URL)."""

    server: BaseWSGIServer
    app: Callable[..., Any] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def fake_asana(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAsana]:
    (tmp_path / "tls").mkdir()
    with asana_server(tmp_path / "tls") as (state, ca):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        yield state


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    live = LiveServer(server=make_server("127.0.0.1", 0, lambda e, s: None, threaded=True))

    def dispatch(environ: Any, start_response: Any) -> Any:
        assert live.app is not None
        return live.app(environ, start_response)

    live.server.app = dispatch
    thread = threading.Thread(target=live.server.serve_forever, daemon=True)
    thread.start()
    yield live
    live.server.shutdown()


@pytest.fixture
def settings(settings: Settings, live_server: LiveServer, fake_asana: FakeAsana) -> Settings:
    return settings.replace(
        base_url=live_server.url,
        asana_api_url=f"{fake_asana.url}/api/1.0",
        asana_client_id="1200000000000123",
        asana_client_secret="asana-client-secret",
    )


@pytest.fixture
def tracker() -> FakeTracker:
    return FakeTracker()


@pytest.fixture
def ports(clock: FakeClock, tracker: FakeTracker) -> Ports:
    return Ports(clock=clock, tracker=tracker)


@pytest.fixture
def live(app: Flask, live_server: LiveServer) -> Flask:
    """The app, answering on the live server too."""
    live_server.app = app
    return app


@pytest.fixture
def site_id(live: Flask) -> int:
    """An installed Jira site, connected to the Asana workspace with a token."""
    from connect.cli.asana import connect_token
    from tests.support.app import CLIENT_KEY

    site = install(live)
    connect_token(live, CLIENT_KEY, "test-token")
    return site
