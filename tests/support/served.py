"""The app served by a real granian server (`okrlink web`'s), for tests that need real HTTP.

`served_app` is the server's app factory: the test's settings come through the environment,
the clock is the panel tests' fixed time, and every request that goes past the hot paths into
Flask appends a line to `<data dir>/flask-calls`, so a test can tell which of the two answered
(the answers themselves are left untouched).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask

from connect.app import create_app
from connect.http.hotpaths import HotPaths
from connect.settings import Settings
from sync.ports import Ports
from tests.support.app import PANEL_NOW
from tests.support.base import ROOT, FakeClock
from tests.support.processes import stop, wait_until_ready
from tests.support.servers import free_port

FLASK_CALLS = "flask-calls"


def served_app() -> Flask:
    """The app as the test configured it (settings from `OKRLINK_*`), Flask calls recorded."""
    settings = Settings.from_env()
    app = create_app(settings, ports=Ports(clock=FakeClock(PANEL_NOW)))
    hot_paths = app.wsgi_app
    assert isinstance(hot_paths, HotPaths)
    inner, calls = hot_paths.app, settings.data_dir / FLASK_CALLS

    def recording(environ: Any, start_response: Any) -> Any:
        with calls.open("a") as log:
            log.write(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}\n")
        return inner(environ, start_response)

    hot_paths.app = recording
    return app


def flask_calls(settings: Settings) -> int:
    """How many requests the served app's Flask has answered so far (health checks aside)."""
    path = settings.data_dir / FLASK_CALLS
    calls = path.read_text().splitlines() if path.exists() else []
    return sum(1 for call in calls if call != "GET /healthz")


def environment(settings: Settings) -> dict[str, str]:
    """`OKRLINK_*` variables that give a server process the test's settings."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OKRLINK_DATA_DIR": str(settings.data_dir),
        "OKRLINK_DATABASE_URL": settings.resolved_database_url,
        # Recorded deliveries wait in the queue: the server makes no call to Atlassian.
        "OKRLINK_QUEUE_URL": f"sqlite:///{Path(settings.data_dir) / 'served-queue.db'}",
        "OKRLINK_SECRET_KEY": settings.secret_key,
        "OKRLINK_BASE_URL": settings.base_url,
        "OKRLINK_ADMIN_TOKEN": settings.admin_token,
    }


@contextlib.contextmanager
def granian(settings: Settings, *, workers: int = 1, threads: int = 2) -> Iterator[str]:
    """`okrlink web`'s server on loopback, serving `served_app`; yields its base URL."""
    port = free_port()
    script = (
        "import sys; from connect.cli.web import build_server; "
        "build_server(host='127.0.0.1', port=int(sys.argv[1]), workers=int(sys.argv[2]), "
        "threads=int(sys.argv[3]), access_log=False, target='tests.support.served:served_app', "
        "factory=True).serve()"
    )
    log = Path(settings.data_dir) / "granian.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(port), str(workers), str(threads)],
            env=environment(settings),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(
            process, base + "/healthz", timeout=60, failure=lambda: f"granian\n{log.read_text()}"
        )
        yield base
    finally:
        stop(process, group=True)
