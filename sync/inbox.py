"""Record an incoming event durably, once per delivery; the caller acknowledges after commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.model import InboxEvent, utcnow
from sync.upsert import insert_ignore


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

    A duplicate of a delivery whose first attempt failed is handed back for another try.
    """
    inserted = insert_ignore(
        session,
        InboxEvent,
        [
            {
                "source": source,
                "scope": scope,
                "delivery_id": delivery_id,
                "site_id": site_id,
                "event": event,
                "payload": payload,
                "state": "pending",
                "attempts": 0,
                "received_at": utcnow(),
            }
        ],
        ("source", "scope", "delivery_id"),
    )
    row_id, state = session.execute(
        select(InboxEvent.id, InboxEvent.state).where(
            InboxEvent.source == source,
            InboxEvent.scope == scope,
            InboxEvent.delivery_id == delivery_id,
        )
    ).one()
    if inserted:
        return row_id
    if state == "failed":
        session.execute(
            InboxEvent.__table__.update()
            .where(InboxEvent.id == row_id)
            .values(state="pending", attempts=0, error=None)
        )
        return row_id
    return None
