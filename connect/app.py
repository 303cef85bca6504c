"""The Flask app factory: settings in, a wired service out.

This is the composition root, the one place that knows every room of the house: it builds the
store, the queue and the jobs, the outside clients behind the core's ports, the typed
`Services`, then registers each door's, the API's and the pages' blueprints and the hot paths.
"""

from __future__ import annotations

import logging
from functools import partial

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from connect.api import okrs as api_okrs
from connect.api import poll as api_poll
from connect.doors.atlassian_connect import descriptors, lifecycle, webhook
from connect.doors.atlassian_connect.connect_jwt import InstallKeys
from connect.doors.atlassian_connect.verify import connect_api_site
from connect.doors.forge import routes as forge_routes
from connect.doors.forge.token import ForgeJwks
from connect.doors.github import registration as github_registration
from connect.doors.github import webhook as github_webhook
from connect.errors import ApiError
from connect.http.hotpaths import MAX_BODY_BYTES, HotPath, HotPaths
from connect.http.jira_webhook import jira_webhook_hot_path
from connect.http.panel import panel_hot_paths
from connect.services import Services
from connect.settings import Settings
from connect.ui import views
from connect.ui.cache import PageCache
from connect.ui.tokens import FormTokens, ui_key
from connect.ui.versions import PanelVersions
from integrations.atlassian.events import FieldMap, event_from_issue, issue_fields
from integrations.atlassian.forge import ForgeTokens
from integrations.atlassian.tracker import JiraTracker
from integrations.github.client import GitHubApp, GitHubAppConfig
from integrations.github.publisher import CHECK_RUN_KIND, CheckRunWriter, GitHubChecks
from sync.apply import github as github_apply
from sync.apply.jira import EVENT_NAME, handle_jira_issue, prepare_jira_batch
from sync.apply.jira_sync import JiraSync
from sync.apply.writeback import KIND as ISSUE_PROPERTY
from sync.apply.writeback import write_issue_property
from sync.errors import Closed, DomainError, Duplicate
from sync.jobs import Jobs, Ports, make_queue, schedule
from sync.store import Store
from sync.tenants import AppAccounts, Tenants, load_fernet

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, ports: Ports | None = None) -> Flask:
    """Build the service: store, queue, jobs and clients, then every door's routes."""
    settings = settings or Settings.from_env()
    app = Flask("okrlink")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = Store.connect(settings.resolved_database_url)
    try:
        store.migrate()
        services = build_services(settings, store, ports or Ports())
    except BaseException:
        store.dispose()  # a half-built app must not leak its connections
        raise
    app.extensions["okrlink"] = services
    register_error_handlers(app)
    register_health(app)
    for blueprint in (
        api_okrs.blueprint,
        lifecycle.blueprint,
        descriptors.blueprint,
        views.blueprint,
        forge_routes.blueprint,
        github_webhook.blueprint,
        github_registration.blueprint,
        webhook.blueprint,
        api_poll.blueprint,
    ):
        app.register_blueprint(blueprint)
    hot_paths: dict[tuple[str, str], HotPath] = {
        **panel_hot_paths(services),
        ("POST", webhook.WEBHOOK_PATH): jira_webhook_hot_path(services),
    }
    app.wsgi_app = HotPaths(app.wsgi_app, hot_paths)  # type: ignore[method-assign]
    return app


def build_services(settings: Settings, store: Store, ports: Ports) -> Services:
    """Every service, built once, in dependency order; the ports left unset get real clients."""
    queue = make_queue(settings.resolved_queue_url, immediate=settings.queue_immediate)
    jobs = Jobs(huey=queue, store=store, ports=ports)
    tenants = Tenants(store=store, fernet=load_fernet(settings.secret_key, settings.data_dir))
    forge_tokens = ForgeTokens(encrypt=tenants.encrypt, decrypt=tenants.decrypt)
    key = ui_key(secret_key=settings.secret_key, data_dir=settings.data_dir)
    field_map = FieldMap()

    jobs.handle(EVENT_NAME, handle_jira_issue, prepare=prepare_jira_batch)
    jobs.write(ISSUE_PROPERTY, write_issue_property)
    if ports.tracker is None:
        ports.tracker = JiraTracker(
            tenants=tenants.for_site, app_key=settings.app_key, forge=forge_tokens.get
        )
    jira_sync = JiraSync(
        jobs=jobs, parse=partial(event_from_issue, fields=field_map), fields=issue_fields(field_map)
    )
    schedule(jobs, "poll_jql", settings.jql_poll_minutes, jira_sync.poll_jql)
    schedule(jobs, "jira_reconcile", settings.reconcile_minutes, jira_sync.reconcile)

    github_apply.register(jobs)
    jobs.write(CHECK_RUN_KIND, CheckRunWriter(app_key=settings.app_key))
    if ports.checks is None:
        # Without an app id and key, check runs are skipped with a warning.
        config = GitHubAppConfig.from_settings(settings)
        if config is not None:
            ports.checks = GitHubChecks(GitHubApp(config))

    return Services(
        settings=settings,
        store=store,
        queue=queue,
        jobs=jobs,
        tenants=tenants,
        install_keys=InstallKeys(keys_url=settings.connect_keys_url),
        forge_jwks=ForgeJwks(settings.forge_jwks_url),
        forge_tokens=forge_tokens,
        api_authenticators=(api_okrs.admin_token_site, connect_api_site),
        ui_key=key,
        ui_form_tokens=FormTokens(key=key),
        ui_page_cache=PageCache(),
        ui_panel_versions=PanelVersions(store.engine),
        jira_field_map=field_map,
        jira_app_accounts=AppAccounts(store),
        jira_own_properties=webhook.own_property_keys(settings.app_key),
        jira_sync=jira_sync,
    )


def register_error_handlers(app: Flask) -> None:
    """Every error becomes `{"error": {"code", "message", "field"}}` with its status."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        return jsonify(error.to_dict()), error.status

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[Response, int]:
        body = {"error": {"code": error.code, "message": error.message, "field": error.field}}
        return jsonify(body), 409 if isinstance(error, Duplicate | Closed) else 422

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
        services: Services = app.extensions["okrlink"]
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
