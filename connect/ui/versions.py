"""Panel data versions, the page cache's key, re-queried only when the database has changed.

Every panel load needs its data version. On SQLite, `PRAGMA data_version` answers whether any
other connection (in any process) has committed since this connection last asked: a few
microseconds, against about 80 µs for the version query with a pool checkout. So each thread
keeps one read-only connection of its own, asks the pragma, and reuses the versions it has
computed until the answer changes. Other databases have no such signal; there the version
query runs on every load.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import Engine

from connect.ui.panels import PanelQuery, panel_version_sql, run_version_sql

MAX_REMEMBERED = 1024


class _ThreadState(threading.local):
    connection: Any = None
    data_version: int | None = None
    versions: dict[tuple[int, PanelQuery, date], str]

    def __init__(self) -> None:
        self.versions = {}


class PanelVersions:
    """`version(site, panel, today)`: the string that changes whenever the panel's data does."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.watch_data_version = engine.dialect.name == "sqlite"
        self._state = _ThreadState()

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
