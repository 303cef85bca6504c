"""A worker process for the digest's multi-process tests: the app as a worker builds it, its
digest tick run in a loop, on a clock the test sets through a file.

    python -m tests.support.digest_worker DATABASE_URL DATA_DIR SECRET_KEY CLOCK_FILE

The real consumer runs the same `tick` once a minute from huey's scheduler; looping it every
20 ms makes two workers race far harder than a minute's cadence would.
"""

from __future__ import annotations

import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from connect.app import create_app
from connect.services import services_of
from connect.settings import Settings
from sync.ports import Ports


class FileClock:
    """The time written in a file (ISO 8601), read at each call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def main(database_url: str, data_dir: str, secret_key: str, clock_file: str) -> None:
    settings = Settings(
        data_dir=Path(data_dir),
        database_url=database_url,
        secret_key=secret_key,
        queue_immediate=True,
        dev=True,  # the test's receivers are loopback http, which OKRLINK_DEV allows
    )
    app = create_app(settings, ports=Ports(clock=FileClock(Path(clock_file))))
    running = True

    def stop(_signum: int, _frame: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    while running:
        services_of(app).digest.tick()
        time.sleep(0.02)
    services_of(app).store.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:5])
