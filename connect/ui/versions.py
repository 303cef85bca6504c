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

Other databases have no such signal; there the version query runs on every load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Engine, event

from connect.ui.panels import PanelQuery, panel_version_sql, run_version_sql

MAX_REMEMBERED = 1024
RECHECK_SECONDS = 0.005


class _ThreadState(threading.local):
    connection: Any = None
    data_version: int | None = None
    recheck_at = float("-inf")
    local_commits = -1
    versions: dict[tuple[int, PanelQuery, date], str]

    def __init__(self) -> None:
        self.versions = {}


class PanelVersions:
    """`version(site, panel, today)`: the string that changes whenever the panel's data does."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.watch_data_version = engine.dialect.name == "sqlite"
        self.clock = clock
        self._state = _ThreadState()
        self._local_commits = 0
        if self.watch_data_version:
            event.listen(engine, "commit", self._count_commit)

    def _count_commit(self, _connection: Any) -> None:
        self._local_commits += 1

    def version(self, site_id: int, panel: PanelQuery, *, today: date) -> str:
        if not self.watch_data_version:
            connection = self.engine.raw_connection()
            try:
                return run_version_sql(connection, *self._sql(site_id, panel, today))
            finally:
                connection.close()
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
