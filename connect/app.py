"""The Flask app factory: settings in, a wired service out.

This is the composition root, the one place that knows every room of the house: it builds the
store, the queue and the jobs, the outside clients behind the core's ports, the typed
`Services`, then registers each door's, the API's and the pages' blueprints and the hot paths.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

from flask import Flask

from connect.api import kpis as api_kpis
from connect.api import metrics as api_metrics
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
from connect.errors import register_error_handlers
from connect.http.hotpaths import MAX_BODY_BYTES, HotPath, HotPaths
from connect.http.jira_webhook import jira_webhook_hot_path
from connect.http.panel import panel_hot_paths
from connect.ops.routes import register_operations
from connect.services import Services, install
from connect.settings import SettingError, Settings, check_admin_token
from connect.ui.cache import PageCache
from connect.ui.tokens import FormTokens
from connect.ui.versions import PanelVersions
from integrations.asana import oauth as asana_oauth_tokens
from integrations.asana.client import AsanaClient, Credentials
from integrations.asana.watch import Watcher
from integrations.atlassian.events import FieldMap, event_from_issue, issue_fields
from integrations.atlassian.forge import ForgeTokens
from integrations.atlassian.issue_picker import JiraIssuePicker
from integrations.atlassian.people import JiraPeople
from integrations.atlassian.permissions import JiraPermissionsApi
from integrations.atlassian.privacy import AtlassianPersonalData
from integrations.atlassian.retro_page import ConfluenceWiki
from integrations.atlassian.tracker import JiraTracker
from integrations.chat.sender import WebhookChat
from integrations.geckoboard.client import GeckoboardClient
from integrations.github.client import GitHubApp, GitHubAppConfig
from integrations.github.publisher import CheckRunWriter, GitHubChecks
from integrations.outbound import OutboundPolicy
from sync.accounts import REPORT_MINUTES, AccountReporting
from sync.apply import asana as asana_feature
from sync.apply import deployments as deployments_feature
from sync.apply import github as github_feature
from sync.apply import incidents as incidents_feature
from sync.apply import jira_sync as jira_feature
from sync.asana_accounts import AsanaAccounts
from sync.db.store import Store
from sync.engine.jobs import Jobs, make_queue, schedule
from sync.keys import CSRF_LABEL, DEV_TOKEN_LABEL, OAUTH_STATE_LABEL, AppKeys, load_keys
from sync.permissions import Permissions
from sync.ports import Ports
from sync.tenants import AppAccounts, Tenants
from sync.write import chat as digest_feature
from sync.write import geckoboard as geckoboard_feature
from sync.write import retro_page as retro_feature

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, ports: Ports | None = None, worker: bool = False
) -> Flask:
    """Build the service: store, queue, jobs and clients, then every door's routes.

    `worker`: the app of a queue consumer, whose pooled connections are pinged before use
    (see `Store.connect`).
    """
    settings = settings or Settings.from_env()
    # Before anything is opened: without its key the service refuses to start (`SecretKeyError`).
    keys = load_keys(settings.secret_key, data_dir=settings.data_dir, dev=settings.dev)
    check_admin_token(settings.admin_token)
    app = Flask("okrlink")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = Store.connect(settings.resolved_database_url, pre_ping=worker)
    try:
        store.migrate()
        log.info("database ready, schema up to date: %s", _shown(settings.resolved_database_url))
        services = build_services(settings, store, ports or Ports(), keys)
        log.info("queue ready: %s", _shown(settings.resolved_queue_url))
    except BaseException:
        store.dispose()  # a half-built app must not leak its connections
        raise
    install(app, services)
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
        api_metrics.blueprint,
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


def build_services(settings: Settings, store: Store, given: Ports, keys: AppKeys) -> Services:
    """Every service, built once, in dependency order; the ports left unset get real clients.

    Each feature then registers its own handlers, writers and schedules, one call each, in
    the order below (a feature's writer must be known before its first write-back runs).
    """
    queue = make_queue(settings.resolved_queue_url, immediate=settings.queue_immediate)
    tenants = Tenants(store=store, keys=keys)
    forge_tokens = ForgeTokens(encrypt=tenants.encrypt, decrypt=tenants.decrypt)
    field_map = FieldMap()
    asana_accounts = AsanaAccounts(
        store=store,
        decrypt=tenants.decrypt,
        encrypt=tenants.encrypt,
        refresh=partial(_asana_refresh, settings),
    )
    asana_client = AsanaClient(
        credentials=partial(_asana_credentials, asana_accounts), api_url=settings.asana_api_url
    )
    asana_watcher = Watcher(store=store, client=asana_client, base_url=settings.base_url)
    outbound = outbound_policy(settings)
    ports = outside_ports(
        settings,
        given,
        tenants=tenants,
        forge_tokens=forge_tokens,
        asana=asana_client,
        outbound=outbound,
    )
    jobs = Jobs(huey=queue, store=store, ports=ports)

    jira_sync = jira_feature.register(
        jobs,
        parse=partial(event_from_issue, fields=field_map),
        fields=issue_fields(field_map),
        poll_minutes=settings.jql_poll_minutes,
        reconcile_minutes=settings.reconcile_minutes,
    )
    incidents_feature.register(jobs, poll_minutes=settings.jql_poll_minutes)
    retro_feature.register(jobs)
    geckoboard_feature.register(jobs, decrypt=tenants.decrypt)
    github_feature.register(jobs, check_runs=CheckRunWriter(app_key=settings.app_key))
    deployments_feature.register(jobs)
    asana_sync = asana_feature.register(
        jobs,
        reconcile_minutes=settings.reconcile_minutes,
        heal_webhooks=lambda: asana_watcher.heal_all(asana_accounts.connected_sites()),
    )
    digest = digest_feature.register(
        jobs,
        render=digest_render.render,
        links=DigestLinks(store=store, settings=settings),
        decrypt=tenants.decrypt,
    )
    # Personal data reporting to Atlassian, daily, through each site's installation.
    account_reporting = AccountReporting(
        store=store, personal_data=lambda: jobs.ports.personal_data
    )
    schedule(jobs, "report_accounts", REPORT_MINUTES, account_reporting.run)

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
        api_metric_pages=api_metrics.Pages(),
        keys=keys,
        dev_token_key=keys.derive(DEV_TOKEN_LABEL),
        oauth_state_key=keys.derive(OAUTH_STATE_LABEL),
        ui_form_tokens=FormTokens(key=keys.derive(CSRF_LABEL)),
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
        permissions=Permissions(jira=lambda: jobs.ports.permissions),
        account_reporting=account_reporting,
        outbound=outbound,
    )


def outside_ports(
    settings: Settings,
    given: Ports,
    *,
    tenants: Tenants,
    forge_tokens: ForgeTokens,
    asana: AsanaClient,
    outbound: OutboundPolicy,
) -> Ports:
    """The ports the caller gave, the others filled with the real clients (a new value: the
    caller's `Ports` is never changed). Without a GitHub App id and key there is no checks
    port, and check runs are skipped with a warning."""
    checks = given.checks
    if checks is None:
        config = GitHubAppConfig.from_settings(settings)
        checks = GitHubChecks(GitHubApp(config)) if config is not None else None
    tracker = JiraTracker(
        tenants=tenants.for_site, app_key=settings.app_key, forge=forge_tokens.get
    )
    return replace(
        given,
        tracker=given.tracker or tracker,
        wiki=given.wiki or ConfluenceWiki(tenants=tenants.for_site, app_key=settings.app_key),
        checks=checks,
        asana=given.asana or asana,
        chat=given.chat or WebhookChat(outbound),
        geckoboard=given.geckoboard or GeckoboardClient(api_url=settings.geckoboard_api_url),
        # Who may write is asked of Jira as the app, through whichever door reaches the site.
        permissions=given.permissions or JiraPermissionsApi(clients=tracker.client),
        # Names for account ids, read from Jira as the app (the tracker's clients).
        people=given.people or JiraPeople(tracker),
        # The issue picker's suggestions for `issues` KRs, asked of Jira the same way.
        issues=given.issues or JiraIssuePicker(tracker),
        personal_data=given.personal_data
        or AtlassianPersonalData(
            api_url=settings.atlassian_api_url,
            app_key=settings.app_key,
            tenants=lambda site_id: (
                tenants.for_site(site_id) or tenants.for_site(site_id, "confluence")
            ),
            forge=lambda site_id: (
                forge_tokens.get(site_id) or forge_tokens.get(site_id, "confluence")
            ),
        ),
    )


def outbound_policy(settings: Settings) -> OutboundPolicy:
    """Where URLs users set may point (`OKRLINK_OUTBOUND_ALLOW_NETWORKS`, `OKRLINK_DEV`)."""
    try:
        return OutboundPolicy.from_setting(settings.outbound_allow_networks, dev=settings.dev)
    except ValueError as exc:
        raise SettingError(str(exc)) from None


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
