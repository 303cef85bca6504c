"""Wire the pages into the app: services they share, then the blueprint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connect.ui.cache import PageCache
from connect.ui.fastpath import panel_hot_paths
from connect.ui.tokens import FormTokens, ui_key
from connect.ui.versions import PanelVersions

if TYPE_CHECKING:
    from flask import Flask


def init_ui(app: Flask) -> None:
    """Register the iframe pages, their page cache and their token keys (after `tenants`)."""
    from connect.ui import views

    services = app.extensions["okrlink"]
    settings = services.settings
    key = ui_key(secret_key=settings.secret_key, data_dir=settings.data_dir)
    services.extras["ui_key"] = key
    services.extras["ui_form_tokens"] = FormTokens(key=key)
    services.extras["ui_page_cache"] = PageCache()
    services.extras["ui_panel_versions"] = PanelVersions(services.store.engine)
    app.register_blueprint(views.blueprint)
    services.extras.setdefault("hot_paths", {}).update(panel_hot_paths(services))
