"""Never stuck: the drain lease dies with its holder, poison events and refused write-backs are
parked (and listed, and retried), and nothing parked blocks the rest of its site."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from connect.cli import main
from connect.services import services_of
from sync.db.model import InboxEvent, Outbound, WorkItem, WriteBackState
from sync.db.store import Store, local_site
from sync.engine.jobs import MAX_ATTEMPTS, Jobs, backoff
from sync.engine.lease import Leases
from sync.errors import Permanent, Transient
from sync.ports import Ports
from tests.support.base import FakeClock

REPO = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from sqlalchemy import create_engine
from sync.engine.lease import Leases
with Leases(create_engine(sys.argv[1])).hold(int(sys.argv[2])) as held:
    print("held" if held else "busy", flush=True)
    time.sleep(600)
"""


class ScriptedTracker:
    """A tracker whose property writes fail as told, per issue key."""

    def __init__(self) -> None:
        self.failures: dict[str, Exception] = {}
        self.written: list[str] = []

    def set_issue_property(self, site_id: int, issue_key: str, value: Mapping[str, Any]) -> None:
        failure = self.failures.get(issue_key)
        if failure is not None:
            raise failure
        self.written.append(issue_key)

    def fetch_issue(self, site_id: int, issue_key: str) -> None:
        return None

    def search(self, site_id: int, jql: str, *, fields: Any) -> Iterator[Mapping[str, Any]]:
        return iter(())


@pytest.fixture
def ports(clock: FakeClock) -> Ports:
    return Ports(clock=clock, tracker=ScriptedTracker())


def _jobs(app: Flask) -> Jobs:
    jobs: Jobs = services_of(app).jobs
    return jobs


def _store(app: Flask) -> Store:
    store: Store = services_of(app).store
    return store


def _site(app: Flask) -> int:
    with _store(app).session() as session:
        return local_site(session).id


def _record(app: Flask, site_id: int, delivery: str, payload: dict[str, Any]) -> int:
    with _store(app).session() as session:
        row = InboxEvent(
            source="jira",
            scope="test",
            delivery_id=delivery,
            site_id=site_id,
            event="jira_issue",
            payload=payload,
        )
        session.add(row)
        session.flush()
        return row.id


def _issue(key: str, minute: int) -> dict[str, Any]:
    number = int(key.split("-")[1])
    updated = f"2026-11-25T12:{minute:02d}:00+00:00"
    return {
        "key": key,
        "issue_id": str(1000 + number),
        "updated_at": updated,
        "status_category": "done",
    }


# -- the drain lease ------------------------------------------------------------------------


def test_a_lease_held_by_a_killed_process_is_taken_over_at_once(app: Flask) -> None:
    store = _store(app)
    leases = Leases(store.engine)
    url = store.engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, "41"], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with leases.hold(41) as held:
            assert not held  # a live holder keeps it
        with leases.hold(42) as held:
            assert held  # other sites are not affected
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 5
        taken = False
        while not taken and time.monotonic() < deadline:
            with leases.hold(41) as taken:
                pass
            time.sleep(0.02)
        assert taken, "the lease of a killed holder was not released within 5 s"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_a_drain_that_finds_the_lease_held_leaves_the_work_to_its_holder(app: Flask) -> None:
    site_id = _site(app)
    event_id = _record(app, site_id, "d-1", _issue("PLAT-1", 1))
    jobs = _jobs(app)
    with jobs.leases.hold(site_id) as held:
        assert held
        jobs.drain(site_id)
        with _store(app).session() as session:
            assert session.get_one(InboxEvent, event_id).state == "pending"
    jobs.drain(site_id)
    with _store(app).session() as session:
        assert session.get_one(InboxEvent, event_id).state == "done"


def test_an_event_committed_after_the_holders_last_look_is_applied_once_it_lets_go(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_id = _site(app)
    jobs = _jobs(app)
    monkeypatch.setattr(jobs.huey, "immediate", False)  # as a worker runs it: with a tail
    first = _record(app, site_id, "d-1", _issue("PLAT-1", 1))
    late: list[int] = []
    drain_locked = jobs._drain_locked

    def then_another_event_commits(site: int, wake: Any = None) -> int:
        applied = drain_locked(site, wake)
        if not late:  # after the last look, before the lease is let go
            late.append(_record(app, site_id, "d-2", _issue("PLAT-2", 2)))
            with Leases(_store(app).engine).hold(site_id) as held:
                assert not held  # its own drain, in another process, leaves it to the holder
        return applied

    monkeypatch.setattr(jobs, "_drain_locked", then_another_event_commits)
    jobs._drain(site_id)
    with _store(app).session() as session:
        assert session.get_one(InboxEvent, first).state == "done"
        assert session.get_one(InboxEvent, late[0]).state == "done"  # not left to the sweeper


# -- poison inbox rows ----------------------------------------------------------------------


def test_a_poison_event_is_spaced_out_then_parked_and_never_blocks_its_site(
    app: Flask, clock: FakeClock, runner: CliRunner
) -> None:
    site_id = _site(app)
    jobs = _jobs(app)
    poison = _record(app, site_id, "d-poison", {"key": "PLAT-9"})  # no updated time: KeyError
    good = _record(app, site_id, "d-good", _issue("PLAT-1", 1))
    jobs.drain(site_id)
    with _store(app).session() as session:
        row = session.get_one(InboxEvent, poison)
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.error is not None and "KeyError" in row.error
        assert row.retry_at is not None and row.retry_at > clock.now()
        assert session.get_one(InboxEvent, good).state == "done"

    later = _record(app, site_id, "d-later", _issue("PLAT-2", 2))
    jobs.drain(site_id)  # the poison row waits out its backoff: not tried again
    with _store(app).session() as session:
        assert session.get_one(InboxEvent, poison).attempts == 1
        assert session.get_one(InboxEvent, later).state == "done"

    for _ in range(MAX_ATTEMPTS - 1):
        clock.current += timedelta(hours=1)
        jobs.drain(site_id)
    with _store(app).session() as session:
        row = session.get_one(InboxEvent, poison)
        assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS)
        assert row.failed_at == clock.now()

    listed = runner.invoke(main, ["inbox", "failed", "--site", "local"])
    assert listed.exit_code == 0, listed.output
    line = next(text for text in listed.output.splitlines() if text.split()[0] == str(poison))
    assert "KeyError" in line and "jira_issue" in line
    assert listed.output.strip().endswith("1 parked")

    with _store(app).session() as session:  # the fix: the event becomes readable
        session.get_one(InboxEvent, poison).payload = _issue("PLAT-9", 9)
    retried = runner.invoke(main, ["inbox", "retry", str(poison)])
    assert retried.exit_code == 0, retried.output
    assert "1 queued again" in retried.output
    with _store(app).session() as session:
        row = session.get_one(InboxEvent, poison)
        assert (row.state, row.attempts, row.error, row.failed_at) == ("pending", 0, None, None)
    jobs.drain(site_id)
    with _store(app).session() as session:
        assert session.get_one(InboxEvent, poison).state == "done"
        assert session.scalar(select(WorkItem.key).where(WorkItem.key == "PLAT-9")) == "PLAT-9"
    empty = runner.invoke(main, ["inbox", "failed"])
    assert empty.output.strip().endswith("0 parked")


def test_inbox_retry_wants_ids_or_all(runner: CliRunner) -> None:
    result = runner.invoke(main, ["inbox", "retry"])
    assert result.exit_code == 2
    assert "--all" in result.output


# -- write-backs ------------------------------------------------------------------------------


def _queue_writes(app: Flask, site_id: int, *keys: str) -> list[int]:
    with _store(app).session() as session:
        now = _jobs(app).ports.clock.now()
        rows = [
            Outbound(site_id=site_id, kind="issue_property", target=key, due_at=now, attempts=0)
            for key in keys
        ]
        session.add_all(rows)
        # Each issue shows a document written before, which this write must replace.
        session.add_all(
            WriteBackState(
                site_id=site_id, kind="issue_property", target=key, digest="written-before"
            )
            for key in keys
        )
        session.flush()
        return [row.id for row in rows]


def test_a_refused_write_back_is_parked_and_the_others_are_written(
    app: Flask, ports: Ports, clock: FakeClock, runner: CliRunner
) -> None:
    site_id = _site(app)
    tracker = ports.tracker
    assert isinstance(tracker, ScriptedTracker)
    tracker.failures["PLAT-1"] = Permanent("HTTP 403: no permission on PLAT-1", status=403)
    refused, written = _queue_writes(app, site_id, "PLAT-1", "PLAT-2")
    for _ in range(3):
        _jobs(app).flush_outbound(site_id)
    assert tracker.written == ["PLAT-2"]
    with _store(app).session() as session:
        row = session.get_one(Outbound, refused)
        assert (row.attempts, row.failed_at) == (1, clock.now())
        assert row.last_error == "Permanent: HTTP 403: no permission on PLAT-1"
        assert session.get(Outbound, written) is None

    listed = runner.invoke(main, ["outbound", "failed"])
    assert listed.exit_code == 0, listed.output
    assert "PLAT-1" in listed.output and "HTTP 403" in listed.output
    assert listed.output.strip().endswith("1 parked")

    del tracker.failures["PLAT-1"]  # access granted again
    assert runner.invoke(main, ["outbound", "retry", "--all"]).exit_code == 0
    clock.current = datetime.now(UTC) + timedelta(seconds=1)  # the command dates it by the wall
    _jobs(app).flush_outbound(site_id)
    assert tracker.written == ["PLAT-2", "PLAT-1"]


def test_a_transient_failure_backs_off_honouring_retry_after(
    app: Flask, ports: Ports, clock: FakeClock
) -> None:
    site_id = _site(app)
    tracker = ports.tracker
    assert isinstance(tracker, ScriptedTracker)
    tracker.failures["PLAT-1"] = Transient("HTTP 429", status=429, retry_after=42)
    tracker.failures["PLAT-2"] = Transient("HTTP 503", status=503)
    limited, down = _queue_writes(app, site_id, "PLAT-1", "PLAT-2")
    _jobs(app).flush_outbound(site_id)
    with _store(app).session() as session:
        row = session.get_one(Outbound, limited)
        assert row.due_at == clock.now() + timedelta(seconds=42)
        assert (row.attempts, row.failed_at) == (1, None)
        other = session.get_one(Outbound, down)
        wait = (other.due_at - clock.now()).total_seconds()
        assert 1 <= wait <= 2  # the first backoff: 2 s with jitter down to half


def test_backoff_grows_exponentially_with_jitter_up_to_its_ceiling() -> None:
    waits = [backoff(attempts) for attempts in range(1, 12) for _ in range(20)]
    assert all(0 < wait <= 600 for wait in waits)
    assert 2 <= backoff(2) <= 4 and 256 <= backoff(9) <= 512
    assert len({round(backoff(5), 6) for _ in range(20)}) > 1  # jitter: not all alike
    assert backoff(7, retry_after=3.5) == 3.5


class TouchingTracker(ScriptedTracker):
    """Queues a change onto an issue's waiting row while its property is being written, as a
    drain's batch committing during a flush's calls does (`snapshots._TOUCH`)."""

    def __init__(self, store: Store, touch: str) -> None:
        super().__init__()
        self.store, self.touch = store, touch

    def set_issue_property(self, site_id: int, issue_key: str, value: Mapping[str, Any]) -> None:
        super().set_issue_property(site_id, issue_key, value)
        if issue_key == self.touch:
            with self.store.session() as session:
                row = session.scalars(select(Outbound).where(Outbound.target == issue_key)).one()
                row.version += 1


def test_a_change_queued_while_a_flush_sends_keeps_its_row_for_the_next_look(
    app: Flask, clock: FakeClock
) -> None:
    site_id = _site(app)
    jobs = _jobs(app)
    tracker = TouchingTracker(_store(app), touch="PLAT-1")
    jobs.ports = replace(jobs.ports, tracker=tracker)
    touched, written = _queue_writes(app, site_id, "PLAT-1", "PLAT-2")
    assert jobs._flush_round(site_id) == 2
    assert tracker.written == ["PLAT-1", "PLAT-2"]
    with _store(app).session() as session:
        row = session.get_one(Outbound, touched)  # the change queued meanwhile is not lost
        assert (row.version, row.attempts, row.failed_at) == (1, 0, None)
        assert session.get(Outbound, written) is None
        digests = session.scalars(
            select(WriteBackState.digest).where(WriteBackState.site_id == site_id)
        ).all()
        assert "written-before" not in digests  # both documents are remembered as written
    jobs.flush_outbound(site_id)  # the next look: the same document, remembered, not resent
    assert tracker.written == ["PLAT-1", "PLAT-2"]
    with _store(app).session() as session:
        assert session.get(Outbound, touched) is None
