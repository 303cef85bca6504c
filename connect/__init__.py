"""The Atlassian doors (Connect and Forge Remote), the REST API and the pages people look at."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's services and blueprints."""
    from connect import api, descriptors, lifecycle
    from connect.forge import ForgeJwks
    from connect.security import connect_api_site
    from connect.tenants import Tenants, load_fernet

    services = app.extensions["okrlink"]
    settings = services.settings
    services.extras["tenants"] = Tenants(
        store=services.store, fernet=load_fernet(settings.secret_key, settings.data_dir)
    )
    services.extras.setdefault("forge_jwks", ForgeJwks(settings.forge_jwks_url))
    services.extras["api_authenticators"] = [api.admin_token_site, connect_api_site]
    api.init_app(app)
    lifecycle.init_app(app)
    app.register_blueprint(descriptors.blueprint)
    from connect.ui.wiring import init_ui; init_ui(app)  # noqa: E702, I001
    from connect.forge_wiring import init_forge; init_forge(app)  # noqa: E702, I001
