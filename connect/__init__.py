"""The Atlassian doors (Connect and Forge Remote), the REST API and the pages people look at."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's blueprints."""
    from connect import api

    api.init_app(app)
