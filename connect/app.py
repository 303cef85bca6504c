"""The Flask app factory: settings in, a wired service out."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from connect.context import Services
from connect.errors import OkrlinkError
from connect.hotpaths import MAX_BODY_BYTES, HotPaths
from connect.settings import Settings
from sync.jobs import Jobs, Ports, make_queue
from sync.store import Store

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, ports: Ports | None = None) -> Flask:
    """Build the service: store, queue, jobs, then each package wires its own routes."""
    settings = settings or Settings.from_env()
    app = Flask("okrlink")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = Store.connect(settings.resolved_database_url)
    try:
        _wire(app, settings, store, ports)
    except BaseException:
        store.dispose()  # a half-built app must not leak its connections
        raise
    return app


def _wire(app: Flask, settings: Settings, store: Store, ports: Ports | None) -> None:
    store.migrate()
    queue = make_queue(settings.resolved_queue_url, immediate=settings.queue_immediate)
    jobs = Jobs(huey=queue, store=store, ports=ports or Ports())
    app.extensions["okrlink"] = Services(
        settings=settings, store=store, queue=queue, extras={"jobs": jobs}
    )
    register_error_handlers(app)
    register_health(app)

    import connect
    import integrations

    connect.init_app(app)
    integrations.init_app(app)
    hot_paths = app.extensions["okrlink"].extras.get("hot_paths")
    if hot_paths:
        app.wsgi_app = HotPaths(app.wsgi_app, hot_paths)  # type: ignore[method-assign]


def register_error_handlers(app: Flask) -> None:
    """Every error becomes `{"error": {"code", "message", "field"}}` with its status."""

    @app.errorhandler(OkrlinkError)
    def okrlink_error(error: OkrlinkError) -> tuple[Response, int]:
        return jsonify(error.to_dict()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        body = {"error": {"code": code, "message": error.description, "field": None}}
        return jsonify(body), error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "Internal error.", "field": None}}
        return jsonify(body), 500


def register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        services = app.extensions["okrlink"]
        checks: dict[str, str] = {}
        try:
            services.store.ping()
            checks["database"] = "ok"
        except Exception as exc:  # reported, not raised: health says what is wrong
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            services.queue.pending_count()
            checks["queue"] = "ok"
        except Exception as exc:
            checks["queue"] = f"error: {type(exc).__name__}"
        healthy = all(v == "ok" for v in checks.values())
        return jsonify({"status": "ok" if healthy else "degraded", **checks}), (
            200 if healthy else 503
        )
