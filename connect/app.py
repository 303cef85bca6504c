"""The Flask app factory: settings in, a wired service out.

This is the composition root, the one place that knows every room of the house: it builds the
store, the queue and the jobs, the outside clients behind the core's ports, the typed
`Services`, then registers each door's, the API's and the pages' blueprints and the hot paths.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from flask import Flask, Response, jsonify, request
from huey import crontab
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from connect.api import kpis as api_kpis
from connect.api import okrs as api_okrs
from connect.api import poll as api_poll
from connect.chat import dev_receiver as dev_chat
from connect.chat import digest as digest_render
from connect.chat.digest_links import DigestLinks
from connect.doors.asana import oauth as asana_oauth
from connect.doors.asana import webhook as asana_webhook
from connect.doors.atlassian_connect import descriptors, lifecycle, webhook
from connect.doors.atlassian_connect import pages as views
from connect.doors.atlassian_connect.connect_jwt import InstallKeys
from connect.doors.atlassian_connect.verify import connect_api_site
from connect.doors.forge import project as forge_project
from connect.doors.forge import routes as forge_routes
from connect.doors.forge.token import ForgeJwks
from connect.doors.github import registration as github_registration
from connect.doors.github import webhook as github_webhook
from connect.errors import ApiError
from connect.http.hotpaths import MAX_BODY_BYTES, HotPath, HotPaths
from connect.http.jira_webhook import jira_webhook_hot_path
from connect.http.panel import panel_hot_paths
from connect.ops.routes import register_operations
from connect.services import Services
from connect.settings import Settings
from connect.ui.cache import PageCache
from connect.ui.tokens import FormTokens, ui_key
from connect.ui.versions import PanelVersions
from integrations.asana import oauth as asana_oauth_tokens
from integrations.asana.client import AsanaClient, Credentials
from integrations.asana.watch import Watcher
from integrations.atlassian.events import FieldMap, event_from_issue, issue_fields
from integrations.atlassian.forge import ForgeTokens
from integrations.atlassian.people import JiraPeople
from integrations.atlassian.retro_page import ConfluenceWiki
from integrations.atlassian.tracker import JiraTracker
from integrations.chat.sender import WebhookChat
from integrations.github.client import GitHubApp, GitHubAppConfig
from integrations.github.publisher import CHECK_RUN_KIND, CheckRunWriter, GitHubChecks
from sync.apply import asana as asana_apply
from sync.apply import deployments as deployments_apply
from sync.apply import github as github_apply
from sync.apply.incidents import poll_all as poll_incidents
from sync.apply.jira import EVENT_NAME, handle_jira_issue, prepare_jira_batch
from sync.apply.jira_sync import JiraSync
from sync.asana_accounts import AsanaAccounts
from sync.db.store import Store
from sync.engine.jobs import Jobs, Ports, make_queue, schedule
from sync.errors import Closed, DomainError, Duplicate
from sync.retro import RETRO_PAGE, write_retro_page
from sync.tenants import AppAccounts, Tenants, load_fernet
from sync.write.asana_goal import KIND as ASANA_GOAL
from sync.write.asana_goal import write_asana_goal
from sync.write.chat import DigestSender
from sync.write.issue_property import KIND as ISSUE_PROPERTY
from sync.write.issue_property import write_issue_property

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, ports: Ports | None = None, worker: bool = False
) -> Flask:
    """Build the service: store, queue, jobs and clients, then every door's routes.

    `worker`: the app of a queue consumer, whose pooled connections are pinged before use
    (see `Store.connect`).
    """
    settings = settings or Settings.from_env()
    app = Flask("okrlink")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = Store.connect(settings.resolved_database_url, pre_ping=worker)
    try:
        store.migrate()
        log.info("database ready, schema up to date: %s", _shown(settings.resolved_database_url))
        services = build_services(settings, store, ports or Ports())
        log.info("queue ready: %s", _shown(settings.resolved_queue_url))
    except BaseException:
        store.dispose()  # a half-built app must not leak its connections
        raise
    app.extensions["okrlink"] = services
    register_error_handlers(app)
    register_operations(app)
    for blueprint in (
        api_okrs.blueprint,
        lifecycle.blueprint,
        descriptors.blueprint,
        views.blueprint,
        forge_routes.blueprint,
        forge_project.blueprint,
        github_webhook.blueprint,
        github_registration.blueprint,
        webhook.blueprint,
        api_poll.blueprint,
        asana_webhook.blueprint,
        asana_oauth.blueprint,
        api_kpis.blueprint,
    ):
        app.register_blueprint(blueprint)
    if settings.dev:
        app.register_blueprint(dev_chat.blueprint)  # the demo's local Slack / Teams receiver
    hot_paths: dict[tuple[str, str], HotPath] = {
        **panel_hot_paths(services),
        ("POST", webhook.WEBHOOK_PATH): jira_webhook_hot_path(services),
    }
    app.wsgi_app = HotPaths(app.wsgi_app, hot_paths)  # type: ignore[method-assign]
    return app


def _shown(url: str) -> str:
    """A database or queue URL fit for a log line (no password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # e.g. a unix:// queue URL
        return url.split("@")[-1]


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
    if ports.people is None:  # the tracker's clients when it is Jira's, else a Jira of its own
        jira = ports.tracker
        if not isinstance(jira, JiraTracker):
            jira = JiraTracker(
                tenants=tenants.for_site, app_key=settings.app_key, forge=forge_tokens.get
            )
        ports.people = JiraPeople(jira)
    jira_sync = JiraSync(
        jobs=jobs, parse=partial(event_from_issue, fields=field_map), fields=issue_fields(field_map)
    )
    schedule(jobs, "poll_jql", settings.jql_poll_minutes, jira_sync.poll_jql)
    schedule(jobs, "jira_reconcile", settings.reconcile_minutes, jira_sync.reconcile)
    schedule(jobs, "poll_incidents", settings.jql_poll_minutes, partial(poll_incidents, jobs))

    jobs.write(RETRO_PAGE, write_retro_page)
    if ports.wiki is None:
        ports.wiki = ConfluenceWiki(tenants=tenants.for_site, app_key=settings.app_key)

    github_apply.register(jobs)
    deployments_apply.register(jobs)
    jobs.write(CHECK_RUN_KIND, CheckRunWriter(app_key=settings.app_key))
    if ports.checks is None:
        # Without an app id and key, check runs are skipped with a warning.
        config = GitHubAppConfig.from_settings(settings)
        if config is not None:
            ports.checks = GitHubChecks(GitHubApp(config))

    asana_accounts = AsanaAccounts(
        store=store,
        decrypt=tenants.decrypt,
        encrypt=tenants.encrypt,
        refresh=partial(_asana_refresh, settings),
    )
    asana_sync = asana_apply.register(jobs)
    jobs.write(ASANA_GOAL, write_asana_goal)
    asana_client = AsanaClient(
        credentials=partial(_asana_credentials, asana_accounts), api_url=settings.asana_api_url
    )
    if ports.asana is None:
        ports.asana = asana_client
    asana_watcher = Watcher(store=store, client=asana_client, base_url=settings.base_url)
    schedule(jobs, "asana_reconcile", settings.reconcile_minutes, asana_sync.reconcile)
    schedule(
        jobs,
        "asana_webhooks",
        settings.reconcile_minutes,
        lambda: asana_watcher.heal_all(asana_accounts.connected_sites()),
    )
    digest = build_digest_sender(settings, store, jobs, tenants)

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
        ui_panel_versions=PanelVersions(store.engine, okr_commits=store.okr_commits),
        jira_field_map=field_map,
        jira_app_accounts=AppAccounts(store),
        jira_own_properties=webhook.own_property_keys(settings.app_key),
        jira_sync=jira_sync,
        asana_accounts=asana_accounts,
        asana_sync=asana_sync,
        asana_client=asana_client,
        asana_watcher=asana_watcher,
        digest=digest,
    )


def _asana_credentials(accounts: AsanaAccounts, site_id: int) -> Credentials | None:
    """A site's Asana token and own user, as the client needs them."""
    account = accounts.account(site_id)
    return None if account is None else Credentials(account.token, account.user_gid)


def _asana_refresh(settings: Settings, refresh_token: str) -> tuple[str, str | None, datetime]:
    """An OAuth access token for a refresh token, through the hosted app's credentials."""
    grant = asana_oauth_tokens.refresh(
        api_url=settings.asana_api_url,
        client_id=settings.asana_client_id,
        client_secret=settings.asana_client_secret,
        refresh_token=refresh_token,
        now=datetime.now(UTC),
    )
    return grant.access_token, grant.refresh_token, grant.expires_at or datetime.now(UTC)


def build_digest_sender(
    settings: Settings, store: Store, jobs: Jobs, tenants: Tenants
) -> DigestSender:
    """The weekly digest: looked at every minute by each worker's scheduler, sent once."""
    ports = jobs.ports
    if ports.chat is None:
        ports.chat = WebhookChat()
    sender = DigestSender(
        store=store,
        clock=ports.clock,
        chat=lambda: ports.chat,
        people=lambda: ports.people,
        render=digest_render.render,
        links=DigestLinks(store=store, settings=settings),
        decrypt=tenants.decrypt,
    )

    # The tasks return None: huey keeps no result of them in its store.
    def send(send_id: int) -> None:
        sender.send(send_id)

    def send_now(site_id: int, team: str) -> None:
        sender.send_now(site_id, team)

    def tick() -> None:
        sender.tick()

    send_later = jobs.huey.task(name="send_digest")(send)
    sender.later = lambda send_id, delay: send_later.schedule((send_id,), delay=delay)
    sender.send_now_queued = jobs.huey.task(name="send_digest_now")(send_now)
    jobs.huey.periodic_task(crontab(minute="*"), name="digest_tick")(tick)
    return sender


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
        response = jsonify(body)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110
        return response, error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "Internal error.", "field": None}}
        return jsonify(body), 500
