"""Prometheus metrics: what came in (webhooks, requests), and the backlog, at `GET /metrics`.

Counters and histograms are process-wide (`prometheus_client`). When `PROMETHEUS_MULTIPROC_DIR`
is set (it must be, before start, under any server that runs several processes: gunicorn's
workers, `okrlink web`'s), each process writes its values to a file there and a scrape, served
by whichever process, adds them all up: the client's own multiprocess mode, which needs no
hook in the server. The backlog gauges are read from the database at scrape time
(`sync/engine/backlog.py`), the same from every process.

No Flask here: the hot paths time requests with it. The route is in `connect/ops/routes.py`.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from sync.engine.backlog import read_backlog

if TYPE_CHECKING:
    from sync.db.store import Store

log = logging.getLogger(__name__)

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
ROUTE_ENVIRON: Final = "okrlink.route"
"""Where the route template of a request is left for `observe_request` (WSGI environ key)."""
UNMATCHED: Final = "unmatched"
"""The route label of requests no route matched: paths people make up never become labels."""

WEBHOOK_SOURCES: Final = ("jira", "forge", "github", "asana")
WEBHOOK_OUTCOMES: Final = ("recorded", "duplicate", "ignored", "rejected", "invalid", "error")
"""recorded: stored in the inbox; duplicate: a delivery seen before; ignored: verified but not
ours to apply (an echo of our own write, a ping, an event we do not handle); rejected: failed
authentication (401/403); invalid: refused as malformed (other 4xx); error: a 5xx answer."""

WEBHOOK_ENDPOINTS: Final = {
    "jira_webhooks.jira_webhook": "jira",
    "forge.events": "forge",
    "github_webhooks.receive": "github",
    "asana_webhooks.receive": "asana",
}
"""The Flask endpoints that receive events, and their source label."""

ANSWERS: Final = {
    "accepted": "recorded",
    "duplicate": "duplicate",
    "ignored": "ignored",
    "pong": "ignored",
    "heartbeat": "ignored",
    "confirmed": "ignored",
}
"""The `status` word of a webhook's 2xx answer, and the outcome it counts as."""

WEBHOOKS = Counter(
    "okrlink_webhooks", "Webhook deliveries received, by source and outcome.", ("source", "outcome")
)
HTTP_SECONDS = Histogram(
    "okrlink_http_request_seconds",
    "Time to answer a request, by route template and status class (2xx, 3xx, 4xx, 5xx).",
    ("route", "status_class"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)

_webhooks: dict[tuple[str, str], Counter] = {
    # Every child made up front: present (at 0) before the first delivery, and looked up in a
    # dict on the intake's hot path (`labels()` costs several times the increment itself).
    (source, outcome): WEBHOOKS.labels(source, outcome)
    for source in WEBHOOK_SOURCES
    for outcome in WEBHOOK_OUTCOMES
}


def count_webhook(source: str, outcome: str) -> None:
    counter = _webhooks.get((source, outcome))
    if counter is None:
        counter = _webhooks[(source, outcome)] = WEBHOOKS.labels(source, outcome)
    counter.inc()


def count_answer(source: str, status: str) -> None:
    """Count a webhook answered 2xx with `{"status": status}`."""
    count_webhook(source, ANSWERS.get(status, "recorded"))


class RequestTimer(NamedTuple):
    """One labelled child of `HTTP_SECONDS`, held as what `Histogram.observe` updates.

    Why not `observe()` itself: it is six Python calls (its observability check, its loop over
    the buckets, two increments), and in the server, where a cached panel load runs with the
    core's caches cold, those cost 4-5 µs of a load's 70-75 (observation on and off, side by
    side, 2026-12-08). This is two increments and a `bisect`. It reads the child's `_sum`,
    `_buckets` and `_upper_bounds`, which `prometheus_client` has kept since 2018; a test
    checks that it exposes what `observe()` would, in either mode.
    """

    upper_bounds: tuple[float, ...]
    add_to_sum: Callable[[float], None]
    count_in: tuple[Callable[[float], None], ...]
    """Each bucket's own increment (a bucket counts what no lower bucket took)."""

    @classmethod
    def of(cls, child: Histogram) -> RequestTimer:
        buckets: list[Any] = child._buckets
        return cls(
            tuple(child._upper_bounds),
            child._sum.inc,
            tuple(bucket.inc for bucket in buckets),
        )


_timers: dict[tuple[str, int], RequestTimer] = {}


def observe_request(route: str, status: int, seconds: float) -> None:
    """Record one answered request. The labelled child is looked up once per (route, class):
    this runs on the hot paths, where `labels()` alone would cost as much as the observation."""
    key = (route, status // 100)
    timer = _timers.get(key)
    if timer is None:
        timer = _timers[key] = RequestTimer.of(HTTP_SECONDS.labels(route, f"{status // 100}xx"))
    timer.add_to_sum(seconds)
    timer.count_in[bisect_left(timer.upper_bounds, seconds)](1)  # `amount <= bound`'s bucket


now = perf_counter
"""The clock requests are timed with (monotonic, sub-microsecond)."""


class BacklogCollector(Collector):
    """The inbox and outbound backlog, read from the database at each scrape."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        try:
            with self.store.session() as session:
                backlog = read_backlog(session)
        except Exception as exc:  # the scrape still serves every other figure
            log.warning("metrics: could not read the backlog: %s", type(exc).__name__)
            return
        for name, text, value in (
            (
                "okrlink_inbox_pending",
                "Events recorded and not yet applied.",
                backlog.inbox_pending,
            ),
            (
                "okrlink_inbox_oldest_pending_seconds",
                "Age of the oldest event not yet applied.",
                backlog.oldest_pending_seconds,
            ),
            (
                "okrlink_inbox_failed",
                "Events that failed for good (state failed).",
                backlog.inbox_failed,
            ),
            (
                "okrlink_outbound_pending",
                "Write-backs waiting to be made.",
                backlog.outbound_pending,
            ),
            (
                "okrlink_outbound_parked",
                "Write-backs parked (refused for good, or tried too "
                "often) until an operator retries them.",
                backlog.outbound_parked,
            ),
        ):
            yield GaugeMetricFamily(name, text, value=value)


def exposition(store: Store) -> bytes:
    """The scrape's text: every process's metrics (or this one's), then the backlog."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        processes = CollectorRegistry()
        MultiProcessCollector(processes, path=directory)
    else:
        processes = REGISTRY
    backlog = CollectorRegistry(auto_describe=False)
    backlog.register(BacklogCollector(store))
    return generate_latest(processes) + generate_latest(backlog)


def worker_registry() -> CollectorRegistry:
    """What `okrlink worker --metrics-port` serves: its processes' metrics (no backlog)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def guarded_metrics(registry: CollectorRegistry, *, admin_token: str, public: bool) -> WsgiApp:
    """The worker's metrics as a WSGI app that asks for the admin token, as the web's `/metrics`
    does: `Authorization: Bearer <OKRLINK_ADMIN_TOKEN>`, unless `OKRLINK_METRICS_PUBLIC=1`.
    `/healthz` answers `ok` to anyone (a liveness probe, which carries no token)."""
    exposition_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        if not public:
            header = str(environ.get("HTTP_AUTHORIZATION", ""))
            given = header[7:] if header.startswith("Bearer ") else ""
            if not admin_token or not hmac.compare_digest(given.encode(), admin_token.encode()):
                body = json.dumps(
                    {
                        "error": {
                            "code": "unauthorized",
                            "message": "the admin token is required (or OKRLINK_METRICS_PUBLIC=1)",
                            "field": None,
                        }
                    }
                ).encode()
                start_response(
                    "401 UNAUTHORIZED",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                )
                return [body]
        result: Iterable[bytes] = exposition_app(environ, start_response)
        return result

    return app
