"""`sync/engine/jobs.py`: registered handlers apply inbox rows once; backoff and schedules."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from connect.services import services_of
from sync.db.model import InboxEvent
from sync.engine.inbox import record_event
from sync.engine.jobs import MAX_BACKOFF, backoff, every
from sync.ports import Ports
from tests.support.base import FakeClock


def test_backoff_honours_retry_after_and_stays_under_its_ceiling() -> None:
    assert backoff(3, retry_after=42.0) == 42.0
    assert backoff(3, retry_after=-5.0) == 0.0
    assert all(4.0 <= backoff(3) <= 8.0 for _ in range(50))
    assert all(MAX_BACKOFF / 2 <= backoff(40) <= MAX_BACKOFF for _ in range(50))


def test_every_is_off_at_zero_and_a_schedule_otherwise() -> None:
    assert every(0) is None and every(-1) is None
    assert callable(every(5)) and callable(every(120))


def test_a_registered_handler_applies_each_row_once_with_the_jobs_ports(app: Flask) -> None:
    jobs = services_of(app).jobs
    clock = FakeClock()
    jobs.ports = replace(jobs.ports, clock=clock)
    seen: list[tuple[dict[str, object], Ports]] = []

    def handler(_session: Session, row: InboxEvent, ports: Ports) -> set[int]:
        seen.append((row.payload, ports))
        return set()

    jobs.handle("test:event", handler)
    with jobs.store.session() as session:
        event_id = record_event(
            session,
            source="test",
            scope="test",
            delivery_id="d-1",
            site_id=None,
            event="test:event",
            payload={"n": 1},
        )
    assert event_id is not None
    jobs.apply_inbox.call_local(event_id)
    jobs.apply_inbox.call_local(event_id)  # done already: skipped
    assert [payload for payload, _ in seen] == [{"n": 1}]
    assert seen[0][1].clock is clock
    with jobs.store.session() as session:
        row = session.scalars(select(InboxEvent)).one()
        assert (row.state, row.attempts, row.processed_at) == ("done", 1, clock.now())
