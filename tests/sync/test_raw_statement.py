"""A statement run on the DB-API cursor stores exactly what SQLAlchemy stores."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from connect.services import services_of
from sync.db.model import InboxEvent, Site
from sync.db.raw import RawStatement
from sync.db.store import Store

ROW = {
    "source": "jira",
    "scope": "jira-acme",
    "site_id": 1,
    "event": "jira_issue",
    "payload": {"key": "PLAT-7", "labels": ["kr-plat-1.1"], "story_points": 2.5, "x": None},
    "state": "pending",
    "attempts": 0,
    "received_at": datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=UTC),
}


def test_raw_insert_stores_the_same_bytes_and_reads_back_as_the_orm_does(tmp_path: Path) -> None:
    store = Store.connect(f"sqlite:///{tmp_path / 'okrlink.db'}")
    store.migrate()
    with store.session() as session:
        session.add(Site(name="acme"))
    statement = insert(InboxEvent).returning(InboxEvent.id)
    with store.engine.begin() as connection:
        by_orm = connection.execute(statement, {**ROW, "delivery_id": "orm"}).scalar()
    raw = RawStatement(store.engine, statement, [*ROW, "delivery_id"])
    by_raw = raw.first_value({**ROW, "delivery_id": "raw"})
    assert by_raw == by_orm + 1
    with store.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT payload, received_at, state FROM inbox ORDER BY id")
        ).all()
    assert stored[0] == stored[1]
    with store.session() as session:
        row = session.scalar(select(InboxEvent).where(InboxEvent.id == by_raw))
        assert row is not None
        assert (row.payload, row.received_at, row.delivery_id) == (
            ROW["payload"],
            ROW["received_at"],
            "raw",
        )


def test_a_raw_query_answers_as_sqlalchemy_does_for_any_list_length(app) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import bindparam, literal

    from sync.db.model import Cycle, KeyResult, Link, Objective, Team
    from sync.db.raw import RawQuery

    store = services_of(app).store
    with store.session() as session:
        site = Site(name="acme")
        session.add(site)
        session.flush()
        cycle = Cycle(
            site_id=site.id,
            name="2026-Q4",
            start=datetime(2026, 10, 1).date(),
            end=datetime(2026, 12, 31).date(),
        )
        team = Team(site_id=site.id, key="PLAT", name="Platform")
        session.add_all([cycle, team])
        session.flush()
        objective = Objective(
            site_id=site.id,
            team_id=team.id,
            cycle_id=cycle.id,
            key="PLAT-1",
            title="Make the platform reliable",
        )
        session.add(objective)
        session.flush()
        kr = KeyResult(
            site_id=site.id,
            cycle_id=cycle.id,
            objective_id=objective.id,
            key="PLAT-1.1",
            title="Close the failover epic",
            kind="issues",
        )
        session.add(kr)
        session.flush()
        session.add_all(
            [
                Link(site_id=site.id, kr_id=kr.id, target_key=f"PLAT-{n}", source="api")
                for n in range(1, 6)
            ]
        )
        session.flush()
        statement = (
            select(Link.target_key, Link.kr_id, literal(True).label("linked"))
            .where(
                Link.site_id == bindparam("site_id"),
                Link.target_key.in_(bindparam("keys", expanding=True)),
            )
            .order_by(Link.target_key)
        )
        query = RawQuery(statement)
        for keys in (["PLAT-1"], ["PLAT-2", "PLAT-4", "NOPE-9"], [f"PLAT-{n}" for n in range(9)]):
            values = {"site_id": site.id, "keys": keys}
            expected = [tuple(row) for row in session.execute(statement, values)]
            got = [(key, kr_id, bool(linked)) for key, kr_id, linked in query.rows(session, values)]
            assert got == expected


def test_the_intake_insert_holds_one_connection_per_thread_and_recovers_from_a_lost_one(
    app,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sqlalchemy.exc import DBAPIError, OperationalError

    from sync.db import raw as raw_module
    from sync.engine.inbox import insert_event

    store = services_of(app).store
    with store.session() as session:
        site = Site(name="acme")
        session.add(site)
        session.flush()
        site_id = site.id
    row = {**ROW, "site_id": site_id}
    first = insert_event(store, {**row, "delivery_id": "held-1"})
    held = raw_module._HELD[store.engine]
    (connection,) = held.by_thread.values()
    assert insert_event(store, {**row, "delivery_id": "held-2"}) == (first or 0) + 1
    assert insert_event(store, {**row, "delivery_id": "held-1"}) is None  # a duplicate
    assert list(held.by_thread.values()) == [connection]  # the same connection each time

    if store.engine.dialect.name == "postgresql":
        pid = connection.dbapi_connection.info.backend_pid
        with store.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
    else:
        connection.dbapi_connection.close()  # the nearest SQLite has to a lost connection
    with pytest.raises(DBAPIError) as failed:  # SQLAlchemy's error, as from any statement
        insert_event(store, {**row, "delivery_id": "held-3"})
    if store.engine.dialect.name == "postgresql":  # which the hot path answers without a trace
        assert isinstance(failed.value, OperationalError)
    assert held.by_thread == {}  # forgotten: the next statement opens another
    # Closed quietly: no traceback from the pool's rollback of a connection already lost.
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert insert_event(store, {**row, "delivery_id": "held-3"}) is not None

    store.dispose()
    assert store.engine not in raw_module._HELD
    with store.session() as session:
        stored = session.scalars(select(InboxEvent.delivery_id).order_by(InboxEvent.id)).all()
    assert stored == ["held-1", "held-2", "held-3"]


def test_a_held_sqlite_connection_writes_once_another_writer_commits_and_gives_up_in_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    import threading
    import time

    from sqlalchemy.exc import OperationalError

    from sync.db import raw as raw_module
    from sync.engine.inbox import insert_event

    path = tmp_path / "okrlink.db"
    store = Store.connect(f"sqlite:///{path}")
    store.migrate()
    with store.session() as session:
        session.add(Site(name="acme"))
    row = {**ROW, "site_id": 1}
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    other.execute("BEGIN IMMEDIATE")  # the worker's batch, writing
    releases = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    began = time.monotonic()
    releases.start()
    assert insert_event(store, {**row, "delivery_id": "after-commit"}) == 1
    assert time.monotonic() - began >= 0.3  # it waited for the lock, then wrote

    monkeypatch.setattr(raw_module, "SQLITE_BUSY_PATIENCE", 0.2)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError):
        insert_event(store, {**row, "delivery_id": "given-up"})
    other.execute("COMMIT")
    assert insert_event(store, {**row, "delivery_id": "given-up"}) == 2  # nothing was kept

    other.close()
    store.dispose()
