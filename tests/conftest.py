"""Fixtures shared by every layer: an app per test on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from connect.app import create_app
from connect.services import services_of
from connect.settings import Settings
from sync.db.store import Store, all_tables
from sync.ports import JiraPermissions, Ports
from tests.support.base import (
    ADMIN_TOKEN,
    BASE_URL,
    LOCAL_RECEIVERS,
    SECRET_KEY,
    FakeClock,
    FlaskCalls,
)
from tests.support.jira import GrantingJira
from tests.support.servers import postgres_server

# Property tests judge correctness, not speed: a shared 2-core machine under load can take
# several hundred milliseconds for one example, which hypothesis's default deadline reports
# as a failure.
hypothesis_settings.register_profile("okrlink", deadline=None)
hypothesis_settings.load_profile("okrlink")


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database of this test process's own.

    The suite runs in one process per core (pytest-xdist): each worker gets a database of its
    own on the one server, so truncating between tests and LISTEN/NOTIFY never cross workers.
    """
    with postgres_server() as url:
        if worker_id == "master":  # one process (`-n 0`)
            yield url
            return
        name = f"okrlink_test_{worker_id}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


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
        secret_key=SECRET_KEY,
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
def jira_permissions() -> JiraPermissions | None:
    """Who may write, as Jira says: by default everyone may do everything (a Jira admin who
    administers every project), so tests that write with a user token are about their own
    subject. Permission tests override it with None: the app then asks the stand-in Jira
    (`tests.support.jira.JiraServer`) through the real client."""
    return GrantingJira()


@pytest.fixture
def app(
    settings: Settings, ports: Ports, jira_permissions: JiraPermissions | None
) -> Iterator[Flask]:
    if ports.permissions is None:
        ports = replace(ports, permissions=jira_permissions)
    app = create_app(settings, ports=ports)
    app.config["TESTING"] = True
    store: Store = services_of(app).store
    _empty(store)
    yield app
    _empty(store)
    store.dispose()


@pytest.fixture
def runner(app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose commands open the same database (and data directory) as the app."""
    monkeypatch.setenv("OKRLINK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("OKRLINK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OKRLINK_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("OKRLINK_OUTBOUND_ALLOW_NETWORKS", settings.outbound_allow_networks)
    return CliRunner()


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
