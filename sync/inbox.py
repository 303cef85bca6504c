"""Record an incoming event durably, once per delivery; the caller acknowledges after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.model import InboxEvent, utcnow
from sync.upsert import dialect_insert


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
