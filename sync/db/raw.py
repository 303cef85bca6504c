"""A prebuilt Core statement run on the DB-API cursor, for the few statements on hot paths.

Why: SQLAlchemy's per-execution work (execution context, parameter and result processing)
costs about 0.15 ms a statement, more than a small statement itself takes on SQLite, and the
webhook intake's INSERT runs for every delivery. The statement is compiled once for the
dialect and its columns; each value goes through its column type's own bind processor, so
what is stored is exactly what SQLAlchemy would store.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


def _compile(statement: ClauseElement, dialect: Dialect, **kw: Any) -> SQLCompiler:
    """`statement` compiled for `dialect`; a SQL statement compiles to a SQLCompiler."""
    compiled = statement.compile(dialect=dialect, **kw)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"not a SQL statement: {type(statement).__name__}")
    return compiled


class RawStatement:
    """`statement` compiled for `engine`'s dialect and the given parameter names."""

    def __init__(self, engine: Engine, statement: ClauseElement, names: Sequence[str]) -> None:
        dialect = engine.dialect
        compiled = _compile(statement, dialect, column_keys=list(names))
        self.engine = engine
        self.sql: str = compiled.string
        self.positional = compiled.positiontup is not None
        self.order: list[str] = list(compiled.positiontup or compiled.binds)
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.order
        }

    def arguments(self, values: Mapping[str, Any]) -> Any:
        processed = {}
        for name in self.order:
            processor = self.processors[name]
            processed[name] = processor(values[name]) if processor else values[name]
        return tuple(processed[name] for name in self.order) if self.positional else processed

    def first_value(self, values: Mapping[str, Any]) -> Any:
        """Execute and commit, on this thread's held connection (`held_connection`); the first
        column of the first row, or None. A database error comes out as SQLAlchemy's
        (`OperationalError` for a lost connection), as from any other statement."""
        arguments = self.arguments(values)
        with held_connection(self.engine) as connection:
            if self.engine.dialect.name != "sqlite":
                return self._run(connection, arguments)
            deadline = time.monotonic() + SQLITE_BUSY_PATIENCE
            while True:
                try:
                    return self._run(connection, arguments)
                except self.engine.dialect.loaded_dbapi.OperationalError as exc:
                    # The primary code: SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT ...).
                    busy = getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
                    if not busy or time.monotonic() > deadline:
                        raise
                connection.rollback()
                time.sleep(SQLITE_BUSY_POLL)

    def _run(self, connection: Any, arguments: Any) -> Any:
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, arguments)
            row = cursor.fetchone()
        finally:
            cursor.close()
        connection.commit()  # a no-op in autocommit (a server database)
        return row[0] if row else None


SQLITE_BUSY_POLL = 0.0005
"""Seconds between two tries of a held SQLite connection while another process writes.

Why not SQLite's busy timeout: its handler sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between
looks, so an INSERT that found the worker's batch writing (10-30 ms) slept up to 20 ms past
the batch's commit; with the intake's writers' turn held meanwhile, the next deliveries queued
behind it (p95 from sent to recorded 30-68 ms at 200 events/s, `bench/sync.py`). A look costs
about 20 µs of CPU."""
SQLITE_BUSY_PATIENCE = 30.0
"""Seconds a held SQLite connection waits for the lock: the pool's busy timeout."""


class _Held:
    """The connections held for one engine's pool: one per thread, opened on first use."""

    def __init__(self, pool: Pool, dialect: Dialect) -> None:
        # Not the engine: the registry below holds engines weakly, and a value that refers
        # to its key would keep it alive.
        self.pool = pool
        self.dialect = dialect
        self.pid = os.getpid()
        self.by_thread: dict[int, Any] = {}
        self.lock = threading.Lock()

    def take(self) -> Any:
        """This thread's connection (a detached pool connection, the pool's on-connect setup
        done; in autocommit on a server database)."""
        me = threading.get_ident()
        found = self.by_thread.get(me)
        if found is None:
            found = self.pool.connect()
            found.detach()  # ours now: closed when we close it, never handed to anyone else
            dbapi = found.dbapi_connection
            assert dbapi is not None  # a fairy just checked out has its connection
            if self.dialect.name == "sqlite":
                dbapi.execute("PRAGMA busy_timeout=0")  # polled by `first_value` instead
            else:
                dbapi.autocommit = True
            with self.lock:
                self.by_thread[me] = found
        return found

    def forget(self) -> None:
        """Close this thread's connection after an error; the next statement opens another."""
        _close(self.by_thread.pop(threading.get_ident(), None))

    def close(self) -> None:
        with self.lock:
            held, self.by_thread = list(self.by_thread.values()), {}
        for found in held:
            _close(found)


def _close(found: Any) -> None:
    """Close a held connection that may already be broken (nothing to report if it is).

    The DB-API connection itself: closing the pool's wrapper would first roll back, and on a
    lost connection the pool logs that rollback's failure with its traceback.
    """
    if found is not None and found.dbapi_connection is not None:
        with contextlib.suppress(Exception):
            found.dbapi_connection.close()


_HELD: weakref.WeakKeyDictionary[Engine, _Held] = weakref.WeakKeyDictionary()
_ORPHANS: list[_Held] = []
"""Held connections a forked process inherited: kept from the garbage collector, which would
close them, and closing a server connection from a child ends the parent's session too."""


@contextlib.contextmanager
def held_connection(engine: Engine) -> Iterator[Any]:
    """This thread's own DB-API connection to `engine`'s database, kept out of the pool.

    Why: a pool checkout and checkin (with the checkin's reset, and on PostgreSQL the switch to
    autocommit and back) cost more than the webhook intake's INSERT itself: measured in-process
    on this 2-core machine, 70 of a webhook's 450 µs on SQLite and about 200 of its 800 µs on
    PostgreSQL (`bench/sync.py` gives the figures served). A connection that fails is closed
    and forgotten; `release_held` (`Store.dispose`) closes them all.
    """
    held = _HELD.get(engine)
    if held is None or held.pid != os.getpid():
        if held is not None:
            _ORPHANS.append(held)
        held = _HELD[engine] = _Held(engine.pool, engine.dialect)
    connection = held.take()
    try:
        yield connection
    except held.dialect.loaded_dbapi.Error as exc:
        held.forget()
        raise DBAPIError.instance(
            None, None, exc, held.dialect.loaded_dbapi.Error, dialect=held.dialect
        ) from exc
    except BaseException:
        held.forget()
        raise


def release_held(engine: Engine) -> None:
    """Close every connection held for `engine` (its pool is being disposed)."""
    held = _HELD.pop(engine, None)
    if held is not None and held.pid == os.getpid():
        held.close()


class RawQuery:
    """A SELECT run on a session's DB-API connection (its transaction); rows as plain tuples.

    For queries whose columns need no result processing (integers, strings, floats,
    booleans), on the path that re-derives a KR after every change. `IN` lists of any length
    are expanded by SQLAlchemy's own `construct_expanded_state`.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, SQLCompiler] = {}

    def rows(self, session: Session, values: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
        expanded = compiled.construct_expanded_state(values)
        processors = expanded.processors
        bound = {
            name: processors[name](value) if name in processors else value
            for name, value in expanded.parameters.items()
        }
        positions = expanded.positiontup
        args = tuple(bound[name] for name in positions) if positions else bound
        cursor = connection.connection.cursor()
        try:
            cursor.execute(expanded.statement, args)
            return cursor.fetchall()
        finally:
            cursor.close()
