"""`sync/engine/inbox.py`: a delivery is stored once, whatever the number of redeliveries."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from connect.services import services_of
from sync.db.model import InboxEvent
from sync.engine.inbox import record_event


def record(session: Session, delivery_id: str, payload: dict[str, Any]) -> int | None:
    return record_event(
        session,
        source="github",
        scope="github",
        delivery_id=delivery_id,
        site_id=None,
        event="github:push",
        payload=payload,
    )


def test_a_redelivery_is_a_duplicate_and_stores_nothing_more(app: Flask) -> None:
    store = services_of(app).store
    with store.session() as session:
        first = record(session, "d-1", {"n": 1})
    with store.session() as session:
        again = record(session, "d-1", {"n": 2})
        other = record(session, "d-2", {"n": 1})
    assert first is not None and again is None and other not in (None, first)
    with store.session() as session:
        rows = session.execute(select(InboxEvent.delivery_id, InboxEvent.payload, InboxEvent.state))
        assert sorted(rows) == [("d-1", {"n": 1}, "pending"), ("d-2", {"n": 1}, "pending")]
