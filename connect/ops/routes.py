"""What operators and orchestrators call: liveness, readiness and the metrics scrape.

- `GET /healthz` is liveness: the process answers, and says whether the database and the
  queue are reachable (unchanged since it was the only probe).
- `GET /readyz` is readiness: 503 while migrations are due or running, the database or the
  queue is unreachable, or the oldest pending event is older than
  `OKRLINK_READY_MAX_LAG_SECONDS`; the JSON body names each check and which failed.
- `GET /metrics` is the Prometheus scrape (`connect/ops/metrics.py`).
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from connect.errors import AuthError
from connect.ops.metrics import (
    ROUTE_ENVIRON,
    UNMATCHED,
    WEBHOOK_ENDPOINTS,
    count_webhook,
    exposition,
)
from connect.services import Services, services
from sync.engine.backlog import read_backlog

blueprint = Blueprint("operate", __name__)

OK = "ok"


def _reachable(services: Services) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        services.store.ping()
        checks["database"] = OK
    except Exception as exc:  # reported, not raised: a probe says what is wrong
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        services.queue.pending_count()
        checks["queue"] = OK
    except Exception as exc:
        checks["queue"] = f"error: {type(exc).__name__}"
    return checks


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks = _reachable(services())
    healthy = all(v == OK for v in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", **checks}), 200 if healthy else 503


def readiness(services: Services) -> dict[str, Any]:
    """Each check (`ok` or what is wrong), the lag, and the names of the failing checks."""
    checks = _reachable(services)
    lag: float | None = None
    limit = services.settings.ready_max_lag_seconds
    if checks["database"] == OK:
        try:
            state = services.store.migration_state()
            checks["migrations"] = OK if state == OK else state
            with services.store.session() as session:
                lag = read_backlog(session).oldest_pending_seconds
            checks["lag"] = (
                OK
                if lag <= limit
                else (f"behind: the oldest pending event is {lag:.0f} s old (limit {limit} s)")
            )
        except Exception as exc:
            checks.setdefault("migrations", f"error: {type(exc).__name__}")
            checks["lag"] = f"error: {type(exc).__name__}"
    else:
        checks["migrations"] = checks["lag"] = "unknown: the database is unreachable"
    failing = [name for name, value in checks.items() if value != OK]
    return {
        "status": "not_ready" if failing else "ready",
        "failing": failing,
        "checks": checks,
        "oldest_pending_seconds": None if lag is None else round(lag, 3),
        "max_lag_seconds": limit,
    }


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    body = readiness(services())
    return jsonify(body), 503 if body["failing"] else 200


@blueprint.get("/metrics")
def metrics() -> Response:
    """Prometheus text format; the admin token is required unless the metrics are public."""
    settings = services().settings
    if not settings.metrics_public:
        header = request.headers.get("Authorization", "")
        expected = settings.admin_token
        given = header[7:] if header.startswith("Bearer ") else ""
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise AuthError("the admin token is required (or OKRLINK_METRICS_PUBLIC=1)")
    return Response(
        exposition(services().store), content_type="text/plain; version=0.0.4; charset=utf-8"
    )


def register_operations(app: Flask) -> None:
    """The probes and the scrape, and the hooks that label requests and count refused webhooks."""
    app.register_blueprint(blueprint)

    @app.before_request
    def remember_route() -> None:
        rule = request.url_rule
        request.environ[ROUTE_ENVIRON] = rule.rule if rule is not None else UNMATCHED

    @app.after_request
    def count_refused_webhook(response: Response) -> Response:
        status = response.status_code
        if status >= 400:
            source = WEBHOOK_ENDPOINTS.get(request.endpoint or "")
            if source is not None:
                outcome = "rejected" if status in (401, 403) else "invalid"
                count_webhook(source, "error" if status >= 500 else outcome)
        return response
