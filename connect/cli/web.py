"""`okrlink web`: the production HTTP server (granian, a Rust HTTP server, on the WSGI app).

Why granian: on the 2-core bench machine gunicorn's Python HTTP handling took most of a
worker's time (okrlink's own code was about a tenth of it); granian parses, queues and writes
in Rust, and hands Python only the WSGI call. Its defaults are sized for I/O-bound apps (up to
hundreds of Python threads per worker), which on CPU-bound requests such as ours only adds GIL
contention. So each worker runs one Python thread by default; requests beyond what it is
running wait in Rust, where waiting costs no Python time.

Granian's `backpressure` is not a queue of requests: it caps the *connections* a worker
accepts, idle keep-alive ones included. Set to a few per thread, as it once was, 8 idle
connections (a proxy's keep-alive pool, or anyone's) left `okrlink web` answering nobody, and
the benches' 16 connections were half served (`tests/connect/cli/test_web.py` holds 64 idle
ones open). So it keeps granian's own sizing, `BACKLOG // workers` connections per worker.
Measured with all 16 connections served (`bench/panels.py`, 2026-12-07, SQLite): 25,179-40,469
panel loads/s with p99 2.2-4.6 ms, against 21,707-35,415/s and p99 1.2-4.3 ms when each
worker took 4 connections and the other 8 waited unserved.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from connect.cli.common import require_secret_key
from connect.ops.logs import granian_logging
from sync.db.store import POOL_SIZE

if TYPE_CHECKING:  # granian picks its server class at import (`Server` is a variable there)
    from granian.server.common import AbstractServer

APP_TARGET = "connect.wsgi:app.wsgi_app"
"""The app's outermost WSGI layer: `Flask.__call__` only calls it, one Python call a request."""
DEFAULT_THREADS = 1
BACKLOG = 1024
"""Connections the kernel holds until a worker accepts them (granian's default)."""
KILL_TIMEOUT_SECONDS = 30
"""On SIGTERM, how long running requests may take to finish before a worker is killed."""


def default_workers() -> int:
    """One worker process per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


@click.command()
@click.option(
    "--host",
    default="0.0.0.0",  # noqa: S104 (a server's job)
    show_default=True,
    help="Address to listen on.",
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes  [default: one per CPU].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, POOL_SIZE),
    default=DEFAULT_THREADS,
    show_default=True,
    help="Python threads per worker (at most the database pool's size).",
)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="Log one line per request.",
)
def web(host: str, port: int, workers: int | None, threads: int, access_log: bool) -> None:
    """Run the production HTTP server (granian); stop it with SIGTERM, gracefully."""
    require_secret_key()
    server = build_server(
        host=host,
        port=port,
        workers=workers or default_workers(),
        threads=threads,
        access_log=access_log,
    )
    server.serve()


def build_server(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: bool,
    target: str = APP_TARGET,
    factory: bool = False,
    backpressure: int | None = None,
) -> AbstractServer[Any]:
    """The granian server `okrlink web` runs (built, not started).

    The benches swap `target` (a bare route) and `backpressure` (connections per worker, to
    measure the choice).
    """
    from granian.constants import HTTPModes, Interfaces
    from granian.server import Server

    return Server(
        target,
        factory=factory,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,  # behind a TLS-terminating proxy, as Atlassian and GitHub reach us
        websockets=False,
        workers=workers,
        blocking_threads=threads,
        backlog=BACKLOG,
        # None: granian's own sizing, BACKLOG // workers connections per worker (not a few
        # per thread: it counts idle keep-alive connections too; see the module docstring).
        backpressure=backpressure,
        log_access=access_log,
        log_dictconfig=granian_logging(),
        respawn_failed_workers=True,
        workers_kill_timeout=KILL_TIMEOUT_SECONDS,
    )
