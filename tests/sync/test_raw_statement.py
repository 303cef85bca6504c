"""A statement run on the DB-API cursor stores exactly what SQLAlchemy stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, text

from sync.model import InboxEvent, Site
from sync.raw import RawStatement
from sync.store import Store

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
            ROW["payload"], ROW["received_at"], "raw"
        )  # fmt: skip
