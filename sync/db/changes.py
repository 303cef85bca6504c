"""Commits that change OKRs, announced on PostgreSQL with NOTIFY and counted in this process.

Why: a cached panel is only as good as its data version, and on PostgreSQL the version query
cost a round trip on every panel load. So a transaction that writes to a table the version is
derived from (`OKR_TABLES`) sends `NOTIFY okrlink_okrs` as it commits; PostgreSQL delivers the
notification to every listening connection after the commit, and never for a rolled-back
transaction. A reader that listens (`connect/ui/versions.py`) re-queries only after one, and
counts this process's own such commits (`OkrCommits.count`) to see them at once.

Writes are recognised by their statement's target table, on every statement that goes through
the engine (ORM flushes, Core statements and raw SQL alike): one regular expression match per
statement, about a microsecond, against a millisecond round trip per panel load saved.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Engine, event

CHANNEL = "okrlink_okrs"
OKR_TABLES = frozenset({"objectives", "key_results", "teams", "cycles", "kpis"})
"""The tables `panel_version` reads: a write to any of them may move a panel's version."""

_CHANGED = "okrlink_okrs_changed"
_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_TRUNCATE = re.compile(r"\s*TRUNCATE\b", re.IGNORECASE)


def writes_okrs(statement: str) -> bool:
    """Whether a SQL statement writes to one of `OKR_TABLES`."""
    match = _WRITE.match(statement)
    if match is not None:
        return match.group(1).lower() in OKR_TABLES
    return _TRUNCATE.match(statement) is not None


class OkrCommits:
    """Announces each commit that changed OKRs (PostgreSQL NOTIFY) and counts them."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._note)
        event.listen(engine, "commit", self._announce)
        event.listen(engine, "rollback", self._forget)

    def _note(self, connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if writes_okrs(statement):
            connection.info[_CHANGED] = True

    def _announce(self, connection: Connection) -> None:
        """Runs just before the transaction commits: the NOTIFY goes out with it."""
        if connection.info.pop(_CHANGED, False):
            # The DB-API cursor, not `connection.execute`: the transaction is committing.
            cursor = connection.connection.cursor()
            try:
                cursor.execute(f"NOTIFY {CHANNEL}")
            finally:
                cursor.close()
            self.count += 1

    def _forget(self, connection: Connection) -> None:
        connection.info.pop(_CHANGED, None)
