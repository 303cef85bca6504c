"""The embedded queue (huey on SQLite) waits for no disk flush: the inbox is the durable record."""

from __future__ import annotations

from pathlib import Path

from sync.engine.jobs import make_queue


def test_the_sqlite_queue_commits_without_waiting_for_the_disk(tmp_path: Path) -> None:
    queue = make_queue(f"sqlite:///{tmp_path / 'queue.db'}")
    connection = queue.storage.conn
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF

    @queue.task()
    def nothing() -> None:
        """A task to queue."""

    nothing()
    assert queue.pending_count() == 1  # still queued as before
