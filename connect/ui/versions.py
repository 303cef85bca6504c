"""Panel data versions, the page cache's key, re-queried only when the database has changed.

Every panel load needs its data version. On SQLite, `PRAGMA data_version` answers whether any
other connection (in any process) has committed since this connection last asked, without
running the version query (about 80 µs with a pool checkout). So each thread keeps one read-only
connection of its own, asks the pragma, and reuses the versions it has computed until the answer
changes.

The pragma is a read transaction: under load, with two worker processes taking and dropping
SQLite's shared-memory locks, it measured about 22 µs of CPU a call, a twentieth of a whole
panel load. So a thread asks it again only after `RECHECK_SECONDS`, or at once after a commit
made through this process's engine: its own writes show on its next load, and another process's
within a few milliseconds, well inside the time a reader takes to load a page after a change.

On PostgreSQL, the commits that change OKRs send a NOTIFY (`sync/db/changes.py`); one thread per
process LISTENs on its own connection and counts them (`OkrChangeListener`), and each thread
reuses its versions until that count, or the count of this process's own such commits, moves:
own commits show on the next load, another process's as soon as its notification arrives (well
under a millisecond on loopback). While the listener is not connected (starting, or the
database went away), the version query runs on every load, as it always did.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Engine, event

from connect.ui.panels import PanelQuery, panel_version_sql, run_version_sql
from sync.db.changes import CHANNEL, OkrCommits

log = logging.getLogger(__name__)

MAX_REMEMBERED = 1024
RECHECK_SECONDS = 0.005
LISTEN_RETRY_SECONDS = 1.0
WAKE_SECONDS = 0.5


class _ThreadState(threading.local):
    connection: Any = None
    data_version: int | None = None
    recheck_at = float("-inf")
    local_commits = -1
    generation = -1
    versions: dict[tuple[int, PanelQuery, date], str]

    def __init__(self) -> None:
        self.versions = {}


class OkrChangeListener:
    """`generation`: moves on every announced OKR commit; `listening`: whether it can be trusted.

    A daemon thread holds one connection of its own (outside the pool) in LISTEN, started in
    the process that first asks (a forked worker starts its own). When the connection fails,
    `listening` drops until a new one is listening again, and the generation moves then too:
    notifications sent meanwhile were missed. It stops within `WAKE_SECONDS` of the engine's
    disposal (the app's connections closing).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.generation = 0
        self.listening = False
        self._pid = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        event.listen(engine, "engine_disposed", lambda _engine: self._stopped.set())

    def ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self.listening = False
                threading.Thread(target=self._run, name="okrlink-okr-changes", daemon=True).start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._listen()
            except Exception as exc:  # the database went away: re-query until back
                self.listening = False
                if not self._stopped.is_set():
                    log.warning("panel versions: LISTEN %s failed (%s); retrying", CHANNEL, exc)
            self._stopped.wait(LISTEN_RETRY_SECONDS)

    def _listen(self) -> None:
        pooled = self.engine.raw_connection()
        connection = pooled.driver_connection
        if connection is None:  # the pool handed back a connection already closed: retry
            raise ConnectionError("no database connection to LISTEN on")
        pooled.detach()  # ours for as long as it lives, outside the pool
        try:
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
            self.generation += 1  # anything cached before now was not covered
            self.listening = True
            while not self._stopped.is_set():
                for _notification in connection.notifies(timeout=WAKE_SECONDS):
                    self.generation += 1
        finally:
            self.listening = False
            connection.close()


class PanelVersions:
    """`version(site, panel, today)`: the string that changes whenever the panel's data does."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.monotonic,
        okr_commits: OkrCommits | None = None,
    ) -> None:
        self.engine = engine
        self.watch_data_version = engine.dialect.name == "sqlite"
        self.clock = clock
        self._state = _ThreadState()
        self._local_commits = 0
        self.okr_commits = okr_commits
        self.listener = OkrChangeListener(engine) if okr_commits is not None else None
        if self.watch_data_version:
            event.listen(engine, "commit", self._count_commit)

    def _count_commit(self, _connection: Any) -> None:
        self._local_commits += 1

    def version(self, site_id: int, panel: PanelQuery, *, today: date) -> str:
        if self.watch_data_version:  # `sqlite_version`, which the panel calls directly
            return self.sqlite_version(site_id, panel, today)
        if self.listener is not None and self.okr_commits is not None:
            self.listener.ensure_started()
            if self.listener.listening:
                return self._notified_version(site_id, panel, today)
        return self._query(site_id, panel, today)

    def _query(self, site_id: int, panel: PanelQuery, today: date) -> str:
        connection = self.engine.raw_connection()
        try:
            return run_version_sql(connection, *self._sql(site_id, panel, today))
        finally:
            connection.close()

    def _notified_version(self, site_id: int, panel: PanelQuery, today: date) -> str:
        """PostgreSQL with a listener: the version query only after an OKR commit."""
        assert self.listener is not None and self.okr_commits is not None
        state = self._state
        # Read before querying: a commit that lands during the query moves it again.
        generation = self.listener.generation + self.okr_commits.count
        if generation != state.generation or len(state.versions) >= MAX_REMEMBERED:
            state.versions.clear()
            state.generation = generation
        key = (site_id, panel, today)
        version = state.versions.get(key)
        if version is None:
            version = state.versions[key] = self._query(site_id, panel, today)
        return version

    def sqlite_version(self, site_id: int, panel: PanelQuery, today: date) -> str:
        """`version` on SQLite (`watch_data_version`)."""
        state = self._state
        if state.connection is None:
            # Ours for the thread's life, outside the pool: it only ever reads.
            pooled = self.engine.raw_connection()
            pooled.detach()
            state.connection = pooled.dbapi_connection
        now = self.clock()
        if now >= state.recheck_at or state.local_commits != self._local_commits:
            state.local_commits = self._local_commits
            state.recheck_at = now + RECHECK_SECONDS
            data_version = state.connection.execute("PRAGMA data_version").fetchone()[0]
            if data_version != state.data_version or len(state.versions) >= MAX_REMEMBERED:
                state.versions.clear()
                state.data_version = data_version
        key = (site_id, panel, today)
        version = state.versions.get(key)
        if version is None:
            sql, args = self._sql(site_id, panel, today)
            version = state.versions[key] = run_version_sql(state.connection, sql, args)
        return version

    def _sql(self, site_id: int, panel: PanelQuery, today: date) -> tuple[str, Any]:
        return panel_version_sql(self.engine.dialect, site_id, panel, today=today)
