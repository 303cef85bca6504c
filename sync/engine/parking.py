"""What was parked for an operator: inbox events that kept failing to apply, write-backs refused
for good. Listed by `okrlink inbox failed` / `okrlink outbound failed`, handed back by `retry`.

A parked row never blocks or slows its site: drains skip failed inbox rows, flushes skip parked
write-backs. Retrying resets a row as if it had just arrived.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.db.model import InboxEvent, Outbound


def failed_events(session: Session, site_id: int | None = None) -> Sequence[InboxEvent]:
    """Parked inbox rows, oldest first; of one site when `site_id` is given."""
    query = select(InboxEvent).where(InboxEvent.state == "failed").order_by(InboxEvent.id)
    if site_id is not None:
        query = query.where(InboxEvent.site_id == site_id)
    return session.scalars(query).all()


def retry_events(session: Session, ids: Collection[int] | None) -> list[tuple[int, int | None]]:
    """Hand parked rows (`ids`, or all when None) back to the queue; their (id, site) pairs."""
    query = select(InboxEvent.id, InboxEvent.site_id).where(InboxEvent.state == "failed")
    if ids is not None:
        query = query.where(InboxEvent.id.in_(sorted(ids)))
    rows = [(row_id, site_id) for row_id, site_id in session.execute(query)]
    if rows:
        session.execute(
            update(InboxEvent)
            .where(InboxEvent.id.in_([row_id for row_id, _ in rows]))
            .values(state="pending", attempts=0, error=None, retry_at=None, failed_at=None)
        )
    return rows


def parked_writes(session: Session, site_id: int | None = None) -> Sequence[Outbound]:
    """Parked write-backs, oldest first; of one site when `site_id` is given."""
    query = select(Outbound).where(Outbound.failed_at.is_not(None)).order_by(Outbound.id)
    if site_id is not None:
        query = query.where(Outbound.site_id == site_id)
    return session.scalars(query).all()


def retry_writes(session: Session, ids: Collection[int] | None, *, now: datetime) -> list[int]:
    """Make parked write-backs (`ids`, or all when None) due now; the sites they belong to."""
    query = select(Outbound.id, Outbound.site_id).where(Outbound.failed_at.is_not(None))
    if ids is not None:
        query = query.where(Outbound.id.in_(sorted(ids)))
    rows = list(session.execute(query))
    if rows:
        session.execute(
            update(Outbound)
            .where(Outbound.id.in_([row_id for row_id, _ in rows]))
            .values(failed_at=None, attempts=0, due_at=now)
        )
    return sorted({site_id for _, site_id in rows})
