"""Record an incoming event durably, once per delivery; the caller acknowledges after commit.

`record_event` runs in the caller's session (doors that record more than the event in one
transaction). `insert_event` is the same INSERT on its own, for the webhook intake's hot path:
measured there, SQLAlchemy's session and per-execution work cost more than the INSERT itself.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Engine, Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.db.model import InboxEvent, utcnow
from sync.db.raw import RawStatement
from sync.db.store import Store
from sync.db.upsert import dialect_insert


def record_event(
    session: Session,
    *,
    source: str,
    scope: str,
    delivery_id: str,
    site_id: int | None,
    event: str,
    payload: dict[str, Any],
) -> int | None:
    """Store the event unless this delivery was seen; returns its row id, None for a duplicate.

    One statement in the common case (`INSERT .. ON CONFLICT DO NOTHING RETURNING id`). A
    duplicate of a delivery whose first attempt failed is handed back for another try.
    """
    statement = (
        dialect_insert(session)(InboxEvent)
        .values(
            source=source,
            scope=scope,
            delivery_id=delivery_id,
            site_id=site_id,
            event=event,
            payload=payload,
            state="pending",
            attempts=0,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["source", "scope", "delivery_id"])
        .returning(InboxEvent.id)
    )
    inserted = session.execute(statement).scalar_one_or_none()
    if inserted is not None:
        return inserted
    row_id, state = session.execute(
        select(InboxEvent.id, InboxEvent.state).where(
            InboxEvent.source == source,
            InboxEvent.scope == scope,
            InboxEvent.delivery_id == delivery_id,
        )
    ).one()
    if state != "failed":
        return None
    session.execute(
        update(InboxEvent)
        .where(InboxEvent.id == row_id)
        .values(state="pending", attempts=0, error=None)
    )
    return row_id


_STATEMENTS: dict[str, Insert] = {}
# Per engine, held weakly so that a disposed store's engine is not kept alive by its cache.
_RAW: weakref.WeakKeyDictionary[Engine, dict[tuple[str, ...], RawStatement]] = (
    weakref.WeakKeyDictionary()
)


def _insert_statement(dialect: str) -> Insert:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING id, built once (values are bound per call)."""
    statement = _STATEMENTS.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(InboxEvent)
            .on_conflict_do_nothing(index_elements=["source", "scope", "delivery_id"])
            .returning(InboxEvent.id)
        )
        _STATEMENTS[dialect] = statement
    return statement


def _raw_insert(engine: Engine, names: tuple[str, ...]) -> RawStatement:
    prepared = _RAW.setdefault(engine, {})
    found = prepared.get(names)
    if found is None:
        found = prepared[names] = RawStatement(
            engine, _insert_statement(engine.dialect.name), names
        )
    return found


def insert_event(store: Store, row: dict[str, Any]) -> int | None:
    """One INSERT in its own transaction; the new row's id, or None when this delivery is
    already recorded. It runs on the DB-API cursor of the thread's held connection
    (`sync/db/raw.py`): on a server database in autocommit, one round trip, not three (BEGIN,
    INSERT, COMMIT); on SQLite in its writer's turn."""
    with store.write_turn():
        value = _raw_insert(store.engine, tuple(row)).first_value(row)
    return None if value is None else int(value)


def retry_failed(store: Store, row: dict[str, Any]) -> int | None:
    """A redelivery of a delivery that failed for good is handed back for another try."""
    with store.session() as session:
        return record_event(
            session,
            source=row["source"],
            scope=row["scope"],
            delivery_id=row["delivery_id"],
            site_id=row["site_id"],
            event=row["event"],
            payload=row["payload"],
        )
