"""Fixtures shared by every layer: an app per test on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from connect.app import create_app
from connect.settings import Settings
from sync.db.store import Store, all_tables
from sync.engine.jobs import Ports
from tests.support.base import ADMIN_TOKEN, BASE_URL, LOCAL_RECEIVERS, FakeClock, FlaskCalls
from tests.support.servers import postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every test that uses the app runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'okrlink.db'}"
    return request.getfixturevalue("postgres_url")


def _empty(store: Store) -> None:
    with store.engine.begin() as connection:
        if store.engine.dialect.name == "postgresql":
            names = ", ".join(all_tables())
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(all_tables()):
                connection.execute(text(f"DELETE FROM {name}"))  # noqa: S608 (table names are ours)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        queue_immediate=True,
        admin_token=ADMIN_TOKEN,
        base_url=BASE_URL,
        secret_key="6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY=",
        # The local HTTPS receivers standing in for Slack and Teams listen on loopback.
        outbound_allow_networks=LOCAL_RECEIVERS,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ports(clock: FakeClock) -> Ports:
    return Ports(clock=clock)


@pytest.fixture
def app(settings: Settings, ports: Ports) -> Iterator[Flask]:
    app = create_app(settings, ports=ports)
    app.config["TESTING"] = True
    store: Store = app.extensions["okrlink"].store
    _empty(store)
    yield app
    _empty(store)
    store.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def flask_calls(app: Flask) -> Iterator[FlaskCalls]:
    from connect.http.hotpaths import HotPaths

    hot_paths = app.wsgi_app
    assert isinstance(hot_paths, HotPaths)
    inner, calls = hot_paths.app, FlaskCalls()

    def counting(environ: Any, start_response: Any) -> Any:
        calls.count += 1
        return inner(environ, start_response)

    hot_paths.app = counting
    yield calls
    hot_paths.app = inner
