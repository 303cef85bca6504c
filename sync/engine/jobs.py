"""Queued work (huey): apply inbox events to the core, push write-backs, periodic sweeps.

Task arguments are ids and plain values; every task opens its own unit of work. The inbox row
is the durable record: a task that is lost (crash between commit and enqueue) is picked up again
by the sweeper, so no acknowledged event is ever lost.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from sync.db.model import InboxEvent, Outbound, WriteBackState
from sync.db.store import Store
from sync.engine import log_context
from sync.engine.lease import Leases
from sync.engine.metrics import count_write, observe_applied
from sync.engine.snapshots import recompute
from sync.errors import Permanent, SourceMissing, Transient
from sync.ports import Ports

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # an inbox row failing this often is parked (state "failed")
MAX_WRITE_ATTEMPTS = 8  # a write-back failing (Transient) this often is parked
MAX_BACKOFF = 600.0  # seconds: the longest wait between two tries of a row
SWEEP_AFTER = timedelta(seconds=30)
DRAIN_BATCH = 500
NUDGE_WINDOW = 0.05  # seconds: at most one drain enqueued per site and process in this window
TAIL_DELAY = 0.05  # seconds: a drain with nothing left looks once more after this
WRITE_BACK_DELAY = 1.0  # seconds: changes in this window share one write per target
FLUSH_MARGIN = 0.1  # seconds: a flush due sooner than this may already be reading its rows
SOURCE_MISSING_RETRY = timedelta(hours=1)  # a write to a site without Jira looks again then

Handler = Callable[[Session, InboxEvent, Ports], set[int]]
"""Applies one inbox event to the current state; returns the ids of KRs it may have moved."""

Preparer = Callable[[Session, int, list[InboxEvent]], None]
"""Reads, once for a batch of a site's events, what their handler needs (see `apply/jira.py`)."""

Writer = Callable[[Session, Outbound, Ports], None]
"""Performs one coalesced write-back; raises Transient to be retried later, Permanent to park."""


@dataclass(frozen=True, slots=True)
class Planned:
    """A write-back read and decided in a flush's read transaction: `send` calls the other side
    (no transaction is open meanwhile); once it accepted, the flush's write transaction
    remembers `digest` as the target's last document (`WriteBackState`), when one is given."""

    send: Callable[[], None]
    digest: str | None = None


Planner = Callable[[Session, Sequence[Outbound], Ports], list[Planned | Exception | None]]
"""Reads and decides a flush's write-backs of one kind, one site (each: what to send, None when
nothing is, or the row's failure), calling nobody: the flush sends them with no transaction
open and records them all in one more."""

Sent = tuple[int, int, str, int, str, Planned | None]
"""A planned write-back of a flush: (row id, version read, kind, site, target, what to send)."""

# A written row is deleted only at the version the flush read: a change queued onto it
# meanwhile (`snapshots._TOUCH`) keeps it for the flush's next look. Run once per flush with
# every row's parameters (executemany).
_DELETE_WRITTEN = (
    delete(Outbound)
    .where(Outbound.id == bindparam("row_id"), Outbound.version == bindparam("row_version"))
    .execution_options(synchronize_session=False)
)
# The digests of a flush's documents, remembered in one statement (executemany).
_REMEMBER = {}
for _name, _dialect in (("sqlite", sqlite_dialect), ("postgresql", postgresql_dialect)):
    _insert = _dialect.insert(WriteBackState)
    _REMEMBER[_name] = _insert.on_conflict_do_update(
        index_elements=["site_id", "kind", "target"],
        set_={"digest": _insert.excluded.digest, "written_at": _insert.excluded.written_at},
    )

FLUSH_ROUNDS = 5  # a flush looks again this often for rows that became due while it sent


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: the other side's `Retry-After` when it gave one, else
    exponential in the attempts with full jitter (so rows failing together spread out)."""
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(MAX_BACKOFF, float(2 ** min(attempts, 20)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not a secret)


def is_database_down(exc: BaseException) -> bool:
    """A lost connection or a restarting server: the row is not at fault, do not count it."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def make_queue(url: str, *, immediate: bool = False, name: str = "okrlink") -> Huey:
    """huey on Redis when the URL says so, else on an SQLite file (the embedded default).

    The SQLite queue does not wait for the disk (`fsync=False`: WAL, synchronous off): the
    inbox and outbound rows are the durable record, and a task lost with the machine is queued
    again by the sweeper. Measured in the webhook intake (SQLite, in-process): with huey's
    default each nudge's enqueue waited 16 ms on the disk, about 3 ms per request on average.
    """
    if immediate:
        return MemoryHuey(name, immediate=True)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url)
    filename = url.split("///", 1)[-1] if url.startswith("sqlite") else url
    Path(filename).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=filename, fsync=False)


class Jobs:
    """The tasks of one app, bound to its store, queue and ports."""

    def __init__(self, *, huey: Huey, store: Store, ports: Ports) -> None:
        self.huey = huey
        self.store = store
        self.ports = ports
        self.leases = Leases(store.engine)
        self.handlers: dict[str, Handler] = {}
        self.preparers: dict[str, Preparer] = {}
        self.writers: dict[str, Writer] = {}
        self.planners: dict[str, Planner] = {}
        # No huey retries: a failed row carries its own `retry_at`, and the sweeper retries it.
        self.apply_inbox = huey.task(name="apply_inbox")(self._apply_inbox)
        self.flush_outbound = huey.task(name="flush_outbound")(self._flush_outbound)
        self.drain = huey.task(name="drain_inbox")(self._drain)
        self._nudged: dict[tuple[str, int], float] = {}
        # Per site: the wake-up of the drain this process runs, while it holds the lease.
        self._draining: dict[int, threading.Event] = {}
        self._draining_guard = threading.Lock()
        self._flush_at: dict[int, float] = {}  # per site: when this process's flush is due
        self.recompute = huey.task(name="recompute")(self._recompute)
        self.sweep = huey.periodic_task(crontab(minute="*"), name="sweep")(self._sweep)

    # -- registration ----------------------------------------------------------------------

    def handle(self, event: str, handler: Handler, *, prepare: Preparer | None = None) -> None:
        """Apply inbox rows of `event` with `handler`; `prepare` first reads what a batch needs."""
        self.handlers[event] = handler
        if prepare is not None:
            self.preparers[event] = prepare

    def write(self, kind: str, writer: Writer, *, plan: Planner | None = None) -> None:
        """Write-backs of `kind` with `writer`, one row at a time in its own transaction; with
        `plan`, a flush reads all its rows of `kind` in one transaction and records them in one
        more instead (`_flush_outbound`)."""
        self.writers[kind] = writer
        if plan is not None:
            self.planners[kind] = plan

    # -- scheduling ------------------------------------------------------------------------

    def nudge(self, site_id: int) -> None:
        """Ask for the site's pending events to be applied (cheap: debounced per process).

        A skipped nudge is safe: the drain enqueued within the window, or its tail, applies
        every row committed before it looks; the sweeper catches anything left after that.
        """
        if self.huey.immediate or self._debounced("drain", site_id, NUDGE_WINDOW):
            self.drain(site_id)

    def flush_soon(self, site_id: int) -> None:
        """Perform the site's write-backs shortly, so a burst of changes shares its writes.

        Skipped only while this process's last scheduled flush has not yet begun: that flush
        reads the rows due when it runs, so it takes this change (committed before the call).
        Once it may have begun, a change gets a flush of its own.
        """
        if self.huey.immediate:
            self.flush_outbound(site_id)
            return
        now = time.monotonic()
        if now < self._flush_at.get(site_id, 0.0) - FLUSH_MARGIN:
            return
        self._flush_at[site_id] = now + WRITE_BACK_DELAY
        self.flush_outbound.schedule((site_id,), delay=WRITE_BACK_DELAY)

    def _debounced(self, kind: str, site_id: int, window: float) -> bool:
        now = time.monotonic()
        if now - self._nudged.get((kind, site_id), -window) < window:
            return False
        self._nudged[(kind, site_id)] = now
        return True

    # -- tasks -----------------------------------------------------------------------------

    def _drain(self, site_id: int) -> None:
        """Apply a site's pending events in order, in batches; each KR is re-derived once a batch.

        One drain per site at a time (a lease, `sync/engine/lease.py`, that dies with its holder):
        two concurrent transactions would each derive a KR without the other's events. A drain
        that finds the lease taken leaves the work to the holder, which looks once more before
        it lets go; the rare event committed after that last look waits for the next nudge or
        the sweeper.

        Within one process the holder is woken instead: a drain of a site this process already
        drains touches no database, it wakes the holder, which looks again at once rather than
        after its tail, and cannot let go without that look (the wake-up and the letting go
        take turns under one lock). Measured: with a drain running, most nudged drains found the
        lease taken, each paying a connection and two round trips on the draining process.
        """
        with self._draining_guard:
            running = self._draining.get(site_id)
            if running is not None:
                running.set()
                return
            wake = self._draining[site_id] = threading.Event()
        try:
            while True:
                with self.leases.hold(site_id) as held, log_context.bound(site=site_id):
                    if held:
                        self._drain_locked(site_id, wake)
                # An event committed after the last look, whose own drain (in another process)
                # found the lease still held, would wait for the sweeper (30-90 s; seen in
                # `bench/faults.py`). So the holder looks once more with the lease let go:
                # whatever it misses was committed after this look, and its drain finds the
                # lease free. One indexed query per drain.
                due = held and not self.huey.immediate and bool(self._pending(site_id, limit=1))
                with self._draining_guard:
                    # Woken after its last look, or events due: the lease is let go, so drain again.
                    if held and (due or wake.is_set()) and not self.huey.immediate:
                        continue
                    del self._draining[site_id]
                    return
        except BaseException:
            with self._draining_guard:
                self._draining.pop(site_id, None)
            raise

    def _drain_locked(self, site_id: int, wake: threading.Event | None = None) -> int:
        wake = wake or threading.Event()
        applied = 0
        looked_again = False
        while True:
            wake.clear()
            try:
                batch = self._apply_batch(site_id)
            except Exception as exc:
                if is_database_down(exc):
                    raise  # nothing is at fault but the connection: the next drain resumes
                # One bad event must not hold up the others: apply them one by one instead,
                # each in its own transaction; a failing one is spaced out, then parked.
                ids = self._pending(site_id)
                log.info("batch of %d events failed (%s); applying one by one", len(ids), exc)
                changed = False
                for event_id in ids:
                    changed = self._apply_one(event_id) or changed
                batch = (len(ids), changed)
            count, changed = batch
            if count:
                looked_again = False
                applied += count
                if changed:
                    self.flush_soon(site_id)
                continue
            if self.huey.immediate:
                return applied
            if looked_again:
                return applied
            looked_again = True
            # Events committing meanwhile join this drain; this process's nudges end the wait.
            wake.wait(TAIL_DELAY)

    def _pending(self, site_id: int, *, limit: int = DRAIN_BATCH) -> list[int]:
        """The ids of the site's pending events that are due (not waiting out a backoff)."""
        now = self.ports.clock.now()
        with self.store.session() as session:
            return list(
                session.scalars(
                    select(InboxEvent.id)
                    .where(
                        InboxEvent.site_id == site_id,
                        InboxEvent.state == "pending",
                        # A failed event waits out its backoff, so it cannot slow every drain.
                        or_(InboxEvent.retry_at.is_(None), InboxEvent.retry_at <= now),
                    )
                    .order_by(InboxEvent.id)
                    .limit(limit)
                )
            )

    def _apply_batch(self, site_id: int) -> tuple[int, bool]:
        """Apply the site's next pending events in one transaction; each touched KR is
        re-derived once. (events applied, whether a KR changed); (0, False) when none is due.

        The pending rows are read in the batch's own transaction, not listed first in another:
        on PostgreSQL that was three more round trips (BEGIN, SELECT, ROLLBACK) per batch.
        """
        received: list[datetime] = []
        began = time.perf_counter()
        # Not in the writers' turn of `Store.write_turn` (SQLite): measured, holding it for the
        # whole batch made the intake's INSERTs wait for the batch's reads too, and their p95
        # from sent to recorded went from 10-21 ms to 60-81 ms (docs/development/performance.md).
        with self.store.session() as session:
            now = self.ports.clock.now()
            pending = list(
                session.scalars(
                    select(InboxEvent)
                    .where(
                        InboxEvent.site_id == site_id,
                        InboxEvent.state == "pending",
                        # A failed event waits out its backoff, so it cannot slow every drain.
                        or_(InboxEvent.retry_at.is_(None), InboxEvent.retry_at <= now),
                    )
                    .order_by(InboxEvent.id)
                    .limit(DRAIN_BATCH)
                )
            )
            if not pending:
                return 0, False
            touched: set[int] = set()
            applied: list[int] = []
            read = time.perf_counter()
            for event in {row.event for row in pending} & self.preparers.keys():
                self.preparers[event](session, site_id, [r for r in pending if r.event == event])
            for row in pending:
                handler = self.handlers.get(row.event)
                touched |= handler(session, row, self.ports) if handler else set()
                applied.append(row.id)
                received.append(row.received_at)
            # One statement marks the batch done (not one UPDATE per row at each autoflush).
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id.in_(applied))
                .values(state="done", processed_at=now, attempts=InboxEvent.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            handled = time.perf_counter()
            changed = bool(recompute(session, site_id, touched, now=now))
            derived = time.perf_counter()
        observe_applied(received)  # committed: the KR snapshots are in place
        if log.isEnabledFor(logging.DEBUG):
            committed = time.perf_counter()
            log.debug(
                "batch of %d events: oldest waited %.1f ms; read %.1f ms, apply %.1f ms, "
                "recompute %d KRs %.1f ms, commit %.1f ms",
                len(applied),
                (now - min(received)).total_seconds() * 1000,
                (read - began) * 1000,
                (handled - read) * 1000,
                len(touched),
                (derived - handled) * 1000,
                (committed - derived) * 1000,
            )
        return len(applied), changed

    def _apply_inbox(self, event_id: int) -> None:
        """Apply one recorded event; idempotent (a done row is skipped)."""
        if self._apply_one(event_id):
            site_id = self._site_of(event_id)
            if site_id is not None:
                self.flush_soon(site_id)

    def _site_of(self, event_id: int) -> int | None:
        with self.store.session() as session:
            return session.scalar(select(InboxEvent.site_id).where(InboxEvent.id == event_id))

    def _apply_one(self, event_id: int) -> bool:
        """Apply one event in its own transaction; True when a KR changed.

        A failure is recorded on the row (its error, a later `retry_at`, parked after
        `MAX_ATTEMPTS`) and not raised, unless the database itself is down.
        """
        try:
            with self.store.session() as session:
                row = session.get(InboxEvent, event_id, with_for_update=True)
                if row is None or row.state == "done":
                    return False
                received = row.received_at
                handler = self.handlers.get(row.event)
                touched = handler(session, row, self.ports) if handler else set()
                now = self.ports.clock.now()
                changed = recompute(session, row.site_id, touched, now=now) if row.site_id else []
                row.state, row.processed_at, row.attempts = "done", now, row.attempts + 1
        except Exception as exc:
            if is_database_down(exc):
                raise
            self._record_failure(event_id, exc)
            return False
        observe_applied([received])
        return bool(changed)

    def _record_failure(self, event_id: int, exc: Exception) -> None:
        now = self.ports.clock.now()
        with self.store.session() as session:
            row = session.get(InboxEvent, event_id)
            if row is None:
                return
            row.attempts += 1
            row.error = f"{type(exc).__name__}: {exc}"[:2000]
            row.retry_at = now + timedelta(seconds=backoff(row.attempts))
            if row.attempts >= MAX_ATTEMPTS:
                row.state, row.failed_at = "failed", now
                log.warning(
                    "inbox event %s parked after %d attempts: %s", event_id, row.attempts, row.error
                )
                return
        log.info("inbox event %s failed (retried later): %s", event_id, exc)

    def _recompute(self, site_id: int, kr_ids: list[int]) -> None:
        with self.store.session() as session:
            changed = recompute(session, site_id, kr_ids, now=self.ports.clock.now())
        if changed:
            self.flush_soon(site_id)

    def _flush_outbound(self, site_id: int) -> None:
        """Perform the due write-backs of a site, one per target however many KRs changed.

        Rows of a kind with a planner (the Jira issue property) share two transactions a flush
        instead of one each: one reads every row and decides what to send, the calls are made
        with no transaction open, one more records what they did (`_record_flush`). Measured
        (docs/development/performance.md): three quarters of the worker's samples were these
        write-backs, each its own transaction, competing with the drain's batches. The other
        kinds are written one by one, each row locked in its own transaction, as before.

        One flush per site at a time (a lease beside the drain's, which dies with its holder):
        two flushes sending documents of one issue read at different times could land in the
        wrong order. A flush that finds the lease taken leaves the rows to the holder, which
        looks again before it lets go.
        """
        with self.leases.hold(-site_id) as held, log_context.bound(site=site_id):
            if not held:
                return
            for _ in range(FLUSH_ROUNDS):
                if not self._flush_round(site_id):
                    return

    def _flush_round(self, site_id: int) -> int:
        """One look at the site's due rows; how many it found."""
        now = self.ports.clock.now()
        planned: list[Sent] = []
        failed: list[tuple[int, Exception]] = []
        with self.store.session() as session:
            due = session.scalars(
                select(Outbound)
                .where(
                    Outbound.site_id == site_id,
                    Outbound.due_at <= now,
                    Outbound.failed_at.is_(None),
                )
                .order_by(Outbound.due_at, Outbound.id)
                .limit(500)
            ).all()
            one_by_one = [row.id for row in due if row.kind not in self.planners]
            for kind, planner in self.planners.items():
                rows = [row for row in due if row.kind == kind]
                if not rows:
                    continue
                try:
                    plans = planner(session, rows, self.ports)
                except Exception as exc:
                    if is_database_down(exc):
                        raise
                    plans = [exc] * len(rows)
                for row, plan in zip(rows, plans, strict=True):
                    if isinstance(plan, Exception):
                        failed.append((row.id, plan))
                    else:
                        planned.append(
                            (row.id, row.version, row.kind, row.site_id, row.target, plan)
                        )
        sent: list[Sent] = []
        for one in planned:
            try:
                if one[-1] is not None:
                    one[-1].send()
            except Exception as exc:
                failed.append((one[0], exc))
                continue
            sent.append(one)
        if sent or failed:
            self._record_flush(sent, failed)
        for outbound_id in one_by_one:
            self._write_one(outbound_id)
        return len(due)

    def _record_flush(
        self,
        sent: list[Sent],
        failed: list[tuple[int, Exception]],
    ) -> None:
        """Record a flush's outcomes in one transaction: a written row is deleted only at the
        version the flush read (a change queued meanwhile keeps it for the next look), its
        digest remembered; a failed one is deferred (honouring `Retry-After`), left waiting for
        its source, or parked, exactly as `_write_one` does. Killed before this commits, the
        rows stay due and are sent again: a write-back is at least once, never lost."""
        now = self.ports.clock.now()
        with self.store.write_turn(), self.store.session() as session:
            remembered = [
                {
                    "site_id": site_id,
                    "kind": kind,
                    "target": target,
                    "digest": plan.digest,
                    "written_at": now,
                }
                for _id, _version, kind, site_id, target, plan in sent
                if plan is not None and plan.digest is not None
            ]
            connection = session.connection()
            if remembered:
                connection.execute(_REMEMBER[connection.dialect.name], remembered)
            if sent:
                connection.execute(
                    _DELETE_WRITTEN,
                    [{"row_id": done[0], "row_version": done[1]} for done in sent],
                )
            for done in sent:
                count_write(done[2], "ok")
            for outbound_id, exc in failed:
                row = session.get(Outbound, outbound_id, with_for_update=True)
                if row is None or row.failed_at is not None:
                    continue
                if isinstance(exc, SourceMissing):
                    self._wait_for_source(row, exc)
                elif isinstance(exc, Permanent):
                    self._park(row, exc)
                elif isinstance(exc, Transient):
                    self._defer(row, exc, exc.retry_after)
                else:
                    log.warning("write-back %s failed: %s", outbound_id, exc, exc_info=exc)
                    self._defer(row, exc, None)

    def write_now(self, site_id: int, kind: str, target: str) -> None:
        """Perform one due write-back at once, for a request that wants its outcome in its
        answer; a failure is deferred or parked exactly as in a flush."""
        with self.store.session() as session:
            outbound_id = session.scalar(
                select(Outbound.id).where(
                    Outbound.site_id == site_id,
                    Outbound.kind == kind,
                    Outbound.target == target,
                    Outbound.failed_at.is_(None),
                    Outbound.due_at <= self.ports.clock.now(),
                )
            )
        if outbound_id is not None:
            with log_context.bound(site=site_id):
                self._write_one(outbound_id)

    def _write_one(self, outbound_id: int) -> None:
        """Perform one write-back. Whatever happens to it, the rest of the batch goes on:
        `Transient` backs off (honouring `Retry-After`), `Permanent` parks the row with its
        error, anything else is counted as a transient failure and parked when repeated."""
        try:
            with self.store.session() as session:
                row = session.get(Outbound, outbound_id, with_for_update=True)
                if row is None or row.failed_at is not None:
                    return
                writer = self.writers.get(row.kind)
                if writer is None:
                    session.delete(row)
                    return
                try:
                    with session.begin_nested():
                        writer(session, row, self.ports)
                except SourceMissing as exc:
                    self._wait_for_source(row, exc)
                    return
                except Permanent as exc:
                    self._park(row, exc)
                    return
                except Transient as exc:
                    self._defer(row, exc, exc.retry_after)
                    return
                count_write(row.kind, "ok")
                session.delete(row)
        except Exception as exc:
            if is_database_down(exc):
                raise
            log.warning("write-back %s failed: %s", outbound_id, exc, exc_info=True)
            with self.store.session() as session:
                row = session.get(Outbound, outbound_id, with_for_update=True)
                if row is not None:
                    self._defer(row, exc, None)

    def _wait_for_source(self, row: Outbound, exc: Exception) -> None:
        """Nowhere to write yet (no Jira on the site, or its installation disabled): an
        expected state, looked at again hourly, so a reinstall gets the write."""
        row.attempts += 1
        row.last_error = str(exc)[:2000]
        row.due_at = self.ports.clock.now() + SOURCE_MISSING_RETRY
        log.debug("write-back %s %s waits for its source: %s", row.kind, row.target, exc)

    def _park(self, row: Outbound, exc: Exception) -> None:
        now = self.ports.clock.now()
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        row.failed_at = now
        count_write(row.kind, "parked")
        log.warning("write-back %s %s parked: %s", row.kind, row.target, row.last_error)

    def _defer(self, row: Outbound, exc: Exception, retry_after: float | None) -> None:
        if row.attempts + 1 >= MAX_WRITE_ATTEMPTS:
            self._park(row, exc)
            return
        count_write(row.kind, "retry")
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        delay = backoff(row.attempts, retry_after)
        row.due_at = self.ports.clock.now() + timedelta(seconds=delay)
        log.info("write-back %s %s deferred %.0fs: %s", row.kind, row.target, delay, exc)

    def _sweep(self) -> None:
        """Drain sites with events left pending (or failed and due a retry); apply site-less
        events; flush due write-backs. Parked rows wait for an operator."""
        now = self.ports.clock.now()
        cutoff = now - SWEEP_AFTER
        with self.store.session() as session:
            pending = session.execute(
                select(InboxEvent.id, InboxEvent.site_id)
                .where(
                    InboxEvent.state == "pending",
                    InboxEvent.received_at <= cutoff,
                    or_(InboxEvent.retry_at.is_(None), InboxEvent.retry_at <= now),
                )
                .order_by(InboxEvent.id)
                .limit(1000)
            ).all()
            sites = session.scalars(
                select(Outbound.site_id)
                .where(Outbound.due_at <= now, Outbound.failed_at.is_(None))
                .distinct()
            ).all()
        drained: set[int] = set()
        for event_id, site_id in pending:
            if site_id is None:
                self.apply_inbox(event_id)
            elif site_id not in drained:
                drained.add(site_id)
                self.drain(site_id)
        for site_id in sites:
            self.flush_outbound(site_id)


def _crontab(minute: str, hour: str = "*") -> Callable[..., bool]:
    """huey's crontab (untyped): a test of a time, true when the task is due then."""
    due: Callable[..., bool] = crontab(minute=minute, hour=hour)
    return due


def every(minutes: int) -> Callable[..., bool] | None:
    """A huey schedule for every `minutes` (None when disabled, hourly past an hour)."""
    if minutes <= 0:
        return None
    if minutes >= 60:
        return _crontab(minute="0", hour=f"*/{max(1, minutes // 60)}")
    return _crontab(minute=f"*/{minutes}")


def schedule(jobs: Jobs, name: str, minutes: int, job: Callable[[], Any]) -> None:
    """Run `job` every `minutes` through the queue's periodic tasks (not at all when 0)."""
    when = every(minutes)
    if when is not None:
        jobs.huey.periodic_task(when, name=name)(job)
