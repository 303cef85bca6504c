"""`okrlink serve` (the development server) and `okrlink worker` (the queue consumer)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import click
from werkzeug.serving import make_server

from connect.cli.common import CONSUMER_POLLING, open_app, server_logging
from connect.ops.logs import announce
from connect.ops.metrics import guarded_metrics, worker_registry
from connect.services import services_of

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("okrlink")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Leave queued jobs to `okrlink worker`.")
def serve(host: str, port: int, no_worker: bool) -> None:
    """Run the development server (with the queue consumer in-process by default)."""
    server_logging()
    app = open_app(worker=not no_worker)
    run_server(app, host=host, port=port, worker=not no_worker, ready=_print_urls)


def _print_urls(base: str) -> None:
    announce(f"okrlink is ready: {base}  (health: {base}/healthz, API: {base}/api/v1)")


def _exit(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def run_server(
    app: Flask, *, host: str, port: int, worker: bool, ready: Callable[[str], None]
) -> None:
    """Serve until stopped; `ready(base_url)` runs once the port is bound and the consumer runs.

    werkzeug's server is used directly rather than through `app.run`, which prints its own
    banner and development-server warning around ours.
    """
    # A port in use is said by werkzeug in two lines, then it exits 1 (no traceback).
    server = make_server(host, port, app, threaded=True)
    consumer = None
    if worker:
        consumer = services_of(app).queue.create_consumer(
            workers=2, worker_type="thread", periodic=True, **CONSUMER_POLLING
        )
        consumer.start()
        log.info("queue consumer started (2 threads, periodic jobs on)")
    # huey's consumer takes over SIGTERM/SIGINT for its own run loop, which `serve` does not
    # use: hand them back so that a stopped server stops.
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    base = f"http://{host}:{server.server_port}"
    log.info("listening on %s", base)
    ready(base)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if consumer is not None:
            consumer.stop(graceful=True)


@click.command()
@click.option("--workers", default=2, show_default=True, type=int)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve this process's Prometheus metrics on this port (admin token required unless "
    "OKRLINK_METRICS_PUBLIC=1).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="The address the metrics port listens on (0.0.0.0: every interface, for a scraper "
    "on another host).",
)
def worker(workers: int, metrics_port: int | None, metrics_host: str) -> None:
    """Run the queue consumer (huey) for this service's jobs."""
    server_logging()
    app = open_app(worker=True)
    if metrics_port is not None:
        # Write-backs and apply times are counted where the jobs run: here. A worker that
        # shares PROMETHEUS_MULTIPROC_DIR with the web processes is in their scrape already.
        settings = services_of(app).settings
        metrics = guarded_metrics(
            worker_registry(), admin_token=settings.admin_token, public=settings.metrics_public
        )
        try:
            server = make_server(metrics_host, metrics_port, metrics, threaded=True)
        except OSError as exc:
            raise click.UsageError(
                f"--metrics-port {metrics_port}: cannot listen on {metrics_host}: {exc.strerror}"
            ) from None
        threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
        log.info("worker metrics on http://%s:%d/metrics", metrics_host, server.server_port)
    consumer = services_of(app).queue.create_consumer(
        workers=workers, worker_type="thread", periodic=True, **CONSUMER_POLLING
    )
    log.info("queue consumer running (%d threads); stop with Ctrl-C", workers)
    consumer.run()
