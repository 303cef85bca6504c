"""Wire the Forge Remote door into the app: its routes, its token cache and the issue handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_forge(app: Flask) -> None:
    """Register `/forge/*` and the services it uses (after `connect.init_app` set up tenants)."""
    from connect import forge_routes
    from sync.jira_apply import EVENT_NAME, handle_jira_issue

    services = app.extensions["okrlink"]
    tenants = services.extras["tenants"]
    services.extras.setdefault(
        "forge_tokens", forge_routes.ForgeTokens(encrypt=tenants.encrypt, decrypt=tenants.decrypt)
    )
    # Both doors feed the same `jira_issue` inbox rows; whichever door wires first registers it.
    services.extras["jobs"].handlers.setdefault(EVENT_NAME, handle_jira_issue)
    app.register_blueprint(forge_routes.blueprint)
