"""What Atlassian reads: the Connect descriptors (Jira, Confluence), rendered with our base URL."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

from flask import Blueprint, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from connect.services import settings

DESCRIPTORS_DIR: Final = Path(__file__).resolve().parents[3] / "descriptors"
FORGE_MANIFEST: Final = DESCRIPTORS_DIR / "manifest.yml"
ICON_FILE: Final = "okrlink.svg"

Product = Literal["jira", "confluence"]
PRODUCTS: Final[tuple[Product, ...]] = ("jira", "confluence")

blueprint = Blueprint("descriptors", __name__)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape is off: the templates are JSON, and every value goes through `|tojson`.
    return Environment(
        loader=FileSystemLoader(DESCRIPTORS_DIR),
        autoescape=False,  # noqa: S701
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_descriptor(product: Product, *, base_url: str, app_key: str) -> dict[str, Any]:
    """The Connect descriptor of `product` for an app reached at `base_url`."""
    if product not in PRODUCTS:
        raise ValueError(f"no Connect descriptor for {product!r}")
    template = _environment().get_template(f"{product}.json")
    text = template.render(base_url=base_url.rstrip("/"), app_key=app_key)
    descriptor: dict[str, Any] = json.loads(text)  # our own template: an object
    return descriptor


def _descriptor_response(product: Product) -> Response:
    current = settings()
    body = render_descriptor(product, base_url=current.base_url, app_key=current.app_key)
    response = Response(json.dumps(body, indent=2), mimetype="application/json")
    # Atlassian re-reads the descriptor on app update; a cached copy would hide changes.
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/jira/atlassian-connect.json")
def jira_descriptor() -> Response:
    """The Jira Connect descriptor."""
    return _descriptor_response("jira")


@blueprint.get("/confluence/atlassian-connect.json")
def confluence_descriptor() -> Response:
    """The Confluence Connect descriptor."""
    return _descriptor_response("confluence")


@blueprint.get("/atlassian/okrlink.svg")
def icon() -> Response:
    """The app icon the descriptors reference."""
    response = Response((DESCRIPTORS_DIR / ICON_FILE).read_bytes(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
