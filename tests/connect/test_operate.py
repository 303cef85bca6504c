"""Probes: `/healthz` says the process answers; `/readyz` says whether to send it traffic."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from connect.app import create_app
from connect.cli.common import CONSUMER_POLLING
from connect.services import install, services_of
from connect.settings import Settings
from sync.db.store import ALEMBIC_DIR, MIGRATION_LOCK, Store, _scripts
from sync.ports import Ports
from tests.support.jira import install_jira, issue_event, post_webhook
from tests.support.servers import free_port

CLIENT = "jira-acme"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LAG_LIMIT = 3
"""Seconds of readiness lag the queued app allows: room for five deliveries on a loaded machine."""


def test_healthz_is_unchanged(client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert (answer.status_code, answer.json) == (
        200,
        {"status": "ok", "database": "ok", "queue": "ok"},
    )


def test_a_service_that_is_up_and_current_is_ready(client: FlaskClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json == {
        "status": "ready",
        "failing": [],
        "checks": {"database": "ok", "queue": "ok", "migrations": "ok", "lag": "ok"},
        "oldest_pending_seconds": 0.0,
        "max_lag_seconds": 60,
    }


@pytest.fixture
def queued_app(settings: Settings, ports: Ports, app: Flask) -> Iterator[Flask]:
    """The app with a real queue (huey on SQLite) that no worker consumes until told to, and a
    readiness limit of `LAG_LIMIT` seconds. `app` is requested first: it empties the database."""
    queued = create_app(
        settings.replace(queue_immediate=False, ready_max_lag_seconds=LAG_LIMIT), ports=ports
    )
    yield queued
    services_of(queued).store.dispose()


def test_events_piling_up_with_the_worker_stopped_make_it_unready_until_it_catches_up(
    queued_app: Flask,
) -> None:
    client = queued_app.test_client()
    secret = install_jira(queued_app, CLIENT)
    first_received = time.monotonic()
    for n in range(5):
        payload = issue_event("created", key=f"PLAT-{n}", issue_id=str(n), updated=T0)
        answer = post_webhook(client, payload, secret=secret, client_key=CLIENT, delivery=f"d-{n}")
        assert answer.json["status"] == "accepted"
    assert client.get("/readyz").status_code == 200  # behind, but within the limit
    # The worker stays stopped past the limit (counted from the first event: it is the oldest).
    time.sleep(max(0.0, LAG_LIMIT + 0.2 - (time.monotonic() - first_received)))
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json["status"] == "not_ready"
    assert behind.json["failing"] == ["lag"]
    assert behind.json["checks"]["lag"].startswith("behind: the oldest pending event is")
    assert behind.json["oldest_pending_seconds"] > LAG_LIMIT

    consumer = services_of(queued_app).queue.create_consumer(
        workers=1, worker_type="thread", periodic=False, **CONSUMER_POLLING
    )
    consumer.start()
    try:
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        consumer.stop(graceful=True)
    caught_up = client.get("/readyz")
    assert caught_up.status_code == 200
    assert caught_up.json["checks"]["lag"] == "ok"
    assert caught_up.json["oldest_pending_seconds"] == 0


def test_a_schema_behind_the_code_is_unready_until_migrated(
    app: Flask, client: FlaskClient
) -> None:
    store: Store = services_of(app).store
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")  # as a database restored from before the upgrade
    pending = client.get("/readyz")
    assert pending.status_code == 503
    assert (pending.json["failing"], pending.json["checks"]["migrations"]) == (
        ["migrations"],
        "pending",
    )
    store.migrate()
    assert client.get("/readyz").status_code == 200


def test_a_schema_newer_than_the_code_stays_ready(app: Flask, client: FlaskClient) -> None:
    """An older replica keeps serving while a newer one, upgraded first, has migrated."""
    store: Store = services_of(app).store
    head = _scripts().get_current_head()
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_migrations_of_another_database_on_the_server_leave_it_ready(postgres_url: str) -> None:
    """PostgreSQL lists every database's locks in pg_locks: only this database's count."""
    name = f"okrlink_elsewhere_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    store = Store.connect(postgres_url)
    elsewhere = create_engine(postgres_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        store.migrate()
        with elsewhere.begin() as connection:
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            assert store.migration_state() == "ok"
    finally:
        store.dispose()
        elsewhere.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_running_in_another_process_make_it_unready(postgres_url: str) -> None:
    """PostgreSQL: the migration lock held elsewhere (another replica starting) is seen."""
    store = Store.connect(postgres_url)
    store.migrate()
    other = Store.connect(postgres_url)
    try:
        assert store.migration_state() == "ok"
        with other.engine.begin() as connection:
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            assert store.migration_state() == "running"
        assert store.migration_state() == "ok"
    finally:
        store.dispose()
        other.dispose()


def test_an_unreachable_queue_is_unready(settings: Settings, ports: Ports, app: Flask) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    unreachable = create_app(settings.replace(queue_immediate=False, queue_url=closed), ports=ports)
    try:
        answer = unreachable.test_client().get("/readyz")
    finally:
        services_of(unreachable).store.dispose()
    assert answer.status_code == 503
    assert answer.json["failing"] == ["queue"]
    assert answer.json["checks"]["queue"].startswith("error: ")


def test_an_unreachable_database_is_unready(app: Flask) -> None:
    services = services_of(app)
    gone = Store.connect(f"postgresql+psycopg://okrlink@127.0.0.1:{free_port()}/okrlink")
    install(app, replace(services, store=gone))
    try:
        answer = app.test_client().get("/readyz")
    finally:
        install(app, services)
        gone.dispose()
    assert answer.status_code == 503
    assert answer.json["failing"] == ["database", "migrations", "lag"]
    assert answer.json["checks"]["database"].startswith("error: ")
    assert answer.json["oldest_pending_seconds"] is None
