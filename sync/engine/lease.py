"""Leases that cannot outlive their holder: one drain per site at a time, across processes.

Why not huey's `lock_task`: it is a key in the queue's storage with no expiry, so a worker
killed while draining (`kill -9`, an OOM kill) left its site's lock held for good and every
later drain did nothing. A lease here is held by something the operating system or the
database takes back the moment its holder dies, so nothing ever needs clearing by hand:

- on PostgreSQL, a session advisory lock (`pg_try_advisory_lock`) on a connection held for
  the drain: the server releases it when that connection ends, including when the process
  dies or the server restarts;
- on an SQLite file, a kernel file lock (`flock`) on a file beside the database: the kernel
  releases it when the process dies;
- on an in-memory database (tests, one process), a thread lock.

A lease is never waited for: who finds it held leaves the work to the holder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# The first key of the two-key advisory lock: one namespace for okrlink's drain leases.
ADVISORY_NAMESPACE: Final = 4242002


class Leases:
    """Try-only leases named by an integer (a site id), for one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._threads: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        database = engine.url.database
        self._directory: Path | None = None
        if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            self._directory = Path(f"{database}.leases")

    @contextmanager
    def hold(self, key: int) -> Iterator[bool]:
        """Yield True while this caller holds lease `key`, False when someone else does."""
        if self.engine.dialect.name == "postgresql":
            with self._advisory(key) as held:
                yield held
        elif self._directory is not None:
            with self._file(key) as held:
                yield held
        else:
            with self._thread(key) as held:
                yield held

    @contextmanager
    def _advisory(self, key: int) -> Iterator[bool]:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            held = bool(
                connection.scalar(
                    text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                    {"namespace": ADVISORY_NAMESPACE, "key": key},
                )
            )
            try:
                yield held
            finally:
                if held:
                    self._unlock(connection, key)
        finally:
            connection.close()

    @staticmethod
    def _unlock(connection: Connection, key: int) -> None:
        try:
            connection.execute(
                text("SELECT pg_advisory_unlock(:namespace, :key)"),
                {"namespace": ADVISORY_NAMESPACE, "key": key},
            )
        except Exception as exc:
            # The connection broke (server restart): the server has let the lock go with it.
            # Never hand a connection that may still hold it back to the pool.
            log.info("lease %s: unlock failed (%s); closing its connection", key, exc)
            connection.invalidate()

    @contextmanager
    def _file(self, key: int) -> Iterator[bool]:
        assert self._directory is not None
        self._directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._directory / str(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    @contextmanager
    def _thread(self, key: int) -> Iterator[bool]:
        with self._guard:
            lock = self._threads.setdefault(key, threading.Lock())
        held = lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                lock.release()
