"""PostgreSQL panel versions: no query per load, OKR commits heard through LISTEN/NOTIFY.

The promise is SQLite's (`tests/connect/ui/test_panels.py`): a process sees its own commits on
its next load, and another process's as soon as PostgreSQL delivers the notification.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from connect.app import create_app
from connect.services import services_of
from connect.settings import Settings
from connect.ui.panels import PanelQuery, panel_version_sql
from connect.ui.versions import PanelVersions
from sync.core.spec import quarter
from sync.db.changes import OKR_TABLES
from sync.db.store import Store, all_tables
from tests.support.app import big_team, check_in, import_okrs, install

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
PANEL = PanelQuery(team="BIG")


def _empty(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(all_tables())} RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on PostgreSQL (the behaviour under test exists only there)."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=postgres_url,
        queue_immediate=True,
        secret_key="6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY=",
    )
    app = create_app(settings)
    store: Store = services_of(app).store
    _empty(store)
    yield app
    _empty(store)
    store.dispose()


@pytest.fixture
def site(pg_app: Flask) -> int:
    site_id = install(pg_app)
    import_okrs(
        pg_app, site_id, big_team("BIG", objectives=1, krs=3, cycle=quarter("2026-Q4")), at=NOW
    )
    return site_id


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def listening(versions: PanelVersions, site: int) -> PanelVersions:
    versions.version(site, PANEL, today=TODAY)  # starts the listener
    assert versions.listener is not None
    assert eventually(lambda: versions.listener.listening)  # type: ignore[union-attr]
    return versions


@pytest.fixture
def version_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The version queries run from now on (they go through a raw DB-API cursor)."""
    import connect.ui.versions as module

    queries: list[str] = []
    run = module.run_version_sql

    def counting(connection: object, sql: str, args: object) -> str:
        queries.append(sql)
        return run(connection, sql, args)

    monkeypatch.setattr(module, "run_version_sql", counting)
    return queries


def test_the_version_is_queried_once_then_only_after_an_okr_commit(
    pg_app: Flask, site: int, version_queries: list[str]
) -> None:
    versions = listening(services_of(pg_app).ui_panel_versions, site)
    # The load that started the listener queried, and cached its answer only if the listener
    # was already up by then: the next load queries at most once more, to cache it.
    queries, start = version_queries, len(version_queries)
    first = versions.version(site, PANEL, today=TODAY)
    assert len(queries) - start <= 1
    start = len(queries)
    for _ in range(20):
        assert versions.version(site, PANEL, today=TODAY) == first
    assert len(queries) - start == 0
    check_in(pg_app, site, "BIG-1.2", value=50, at=NOW + timedelta(hours=2))  # this process
    assert versions.version(site, PANEL, today=TODAY) != first  # at once, on the next load
    assert len(queries) - start == 1


def test_another_processes_okr_commit_arrives_as_a_notification(
    pg_app: Flask, site: int, postgres_url: str
) -> None:
    versions = listening(services_of(pg_app).ui_panel_versions, site)
    before = versions.version(site, PANEL, today=TODAY)
    other = Store.connect(postgres_url)  # another process's store: its commits are not counted here
    try:
        with other.session() as session:
            session.execute(text("UPDATE key_results SET version = version + 1"))
    finally:
        other.dispose()
    assert eventually(lambda: versions.version(site, PANEL, today=TODAY) != before)


def test_rolled_back_and_non_okr_commits_announce_nothing(
    pg_app: Flask, site: int, postgres_url: str
) -> None:
    versions = listening(services_of(pg_app).ui_panel_versions, site)
    listener = versions.listener
    assert listener is not None
    generation = listener.generation
    other = Store.connect(postgres_url)
    try:
        with pytest.raises(RuntimeError), other.session() as session:
            session.execute(text("UPDATE key_results SET version = version + 1"))
            raise RuntimeError("rolled back")
        with other.session() as session:
            session.execute(text("UPDATE sites SET name = name"))
        with other.session() as session:  # the fence: one announced commit
            session.execute(text("UPDATE teams SET name = name"))
    finally:
        other.dispose()
    assert eventually(lambda: listener.generation > generation)
    time.sleep(0.1)
    assert listener.generation == generation + 1


def test_while_the_listener_is_cut_off_every_load_queries_until_it_listens_again(
    pg_app: Flask, site: int, postgres_url: str
) -> None:
    versions = listening(services_of(pg_app).ui_panel_versions, site)
    listener = versions.listener
    assert listener is not None
    engine = services_of(pg_app).store.engine
    with engine.begin() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN okrlink_okrs'"
            )
        )
    assert eventually(lambda: not listener.listening)
    before = versions.version(site, PANEL, today=TODAY)
    other = Store.connect(postgres_url)  # its NOTIFY reaches no listener of this process
    try:
        with other.session() as session:
            session.execute(text("UPDATE key_results SET version = version + 1"))
    finally:
        other.dispose()
    assert versions.version(site, PANEL, today=TODAY) != before  # queried on this load
    assert eventually(lambda: listener.listening)
    assert versions.version(site, PANEL, today=TODAY) != before


def test_the_announced_tables_are_those_the_version_query_reads() -> None:
    sql, _args = panel_version_sql(postgresql.dialect(), 1, PANEL, today=TODAY)
    tables = (
        "objectives",
        "key_results",
        "teams",
        "cycles",
        "check_ins",
        "snapshots",
        "links",
        "kpis",
    )
    assert {table for table in tables if f"{table}." in sql} == OKR_TABLES
