"""The services of one app, built once by `create_app`, and their accessors inside a request.

A frozen dataclass with one typed field per service: a view says `services().tenants`, mypy
checks it, and nothing depends on the order things were wired in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app
from huey import Huey

from connect.doors.atlassian_connect.connect_jwt import InstallKeys
from connect.doors.forge.token import ForgeJwks
from connect.settings import Settings
from connect.ui.cache import PageCache
from connect.ui.tokens import FormTokens
from integrations.asana.client import AsanaClient
from integrations.asana.watch import Watcher
from integrations.atlassian.events import FieldMap
from integrations.atlassian.forge import ForgeTokens
from integrations.outbound import OutboundPolicy
from sync.accounts import AccountReporting
from sync.apply.asana import AsanaSync
from sync.apply.jira_sync import JiraSync
from sync.asana_accounts import AsanaAccounts
from sync.db.store import Store
from sync.engine.jobs import Jobs
from sync.keys import AppKeys
from sync.permissions import Permissions
from sync.tenants import AppAccounts, Tenants
from sync.write.chat import DigestSender

if TYPE_CHECKING:  # the pages' modules read their services through this one
    from connect.api.metrics import Pages
    from connect.ui.versions import PanelVersions

Authenticator = Callable[[], "int | None"]
"""Finds the site of an API request from its credentials; None when they are not its kind."""


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the doors, the API and the pages share, typed."""

    settings: Settings
    store: Store
    queue: Huey
    jobs: Jobs
    tenants: Tenants
    install_keys: InstallKeys
    forge_jwks: ForgeJwks
    forge_tokens: ForgeTokens
    api_authenticators: Sequence[Authenticator]
    api_metric_pages: Pages
    keys: AppKeys
    # HKDF-derived from the first key, one label each (`sync.keys`).
    dev_token_key: bytes
    oauth_state_key: bytes
    ui_form_tokens: FormTokens
    ui_page_cache: PageCache
    ui_panel_versions: PanelVersions
    jira_field_map: FieldMap
    jira_app_accounts: AppAccounts
    jira_own_properties: frozenset[str]
    jira_sync: JiraSync
    asana_accounts: AsanaAccounts
    asana_sync: AsanaSync
    asana_client: AsanaClient
    asana_watcher: Watcher
    digest: DigestSender
    permissions: Permissions
    account_reporting: AccountReporting
    outbound: OutboundPolicy


EXTENSION = "okrlink"
"""Where an app keeps its services (`Flask.extensions`); read only through `services_of`."""


def install(app: Flask, built: Services) -> None:
    """Give the app its services (the composition root does, once; a test may swap them)."""
    app.extensions[EXTENSION] = built


def services_of(app: Flask) -> Services:
    """The services of `app`, typed: the one accessor for the CLI, the demo and the tests."""
    found: Services = app.extensions[EXTENSION]
    return found


def services() -> Services:
    """The services of the current Flask app (inside a request or an app context)."""
    return services_of(current_app._get_current_object())  # type: ignore[attr-defined]


def settings() -> Settings:
    """The settings of the current Flask app."""
    return services().settings
