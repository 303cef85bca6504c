"""How far behind the engine is: pending and failed events, pending write-backs.

Read from the database in one round trip per table, for the metrics scrape and the readiness
probe alike: the inbox is the durable record, so this is true whichever process (or none)
is applying events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.db.model import InboxEvent, Outbound, utcnow


@dataclass(frozen=True, slots=True)
class Backlog:
    inbox_pending: int
    inbox_failed: int
    oldest_pending_seconds: float
    """Age of the oldest pending event; 0 when none is pending."""
    outbound_pending: int
    """Write-backs still to be made (parked ones not included)."""
    outbound_parked: int
    """Write-backs parked after a permanent failure or too many tries, waiting for an operator."""


def read_backlog(session: Session, *, now: datetime | None = None) -> Backlog:
    """The backlog as the database holds it now (ages against the wall clock, as recorded).

    Each count reads the inbox through its (state, id) index: done rows, the bulk of the
    table, are never scanned.
    """
    pending, oldest = session.execute(
        select(func.count(), func.min(InboxEvent.received_at)).where(InboxEvent.state == "pending")
    ).one()
    failed = session.scalar(
        select(func.count()).select_from(InboxEvent).where(InboxEvent.state == "failed")
    )
    outbound, parked = session.execute(
        select(
            func.count().filter(Outbound.failed_at.is_(None)),
            func.count().filter(Outbound.failed_at.is_not(None)),
        )
    ).one()
    age = 0.0 if oldest is None else max(0.0, ((now or utcnow()) - oldest).total_seconds())
    return Backlog(
        inbox_pending=int(pending),
        inbox_failed=int(failed or 0),
        oldest_pending_seconds=age,
        outbound_pending=int(outbound or 0),
        outbound_parked=int(parked or 0),
    )
