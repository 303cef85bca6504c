"""Access to the per-app services from inside a request (set up once by `create_app`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app

if TYPE_CHECKING:
    from connect.settings import Settings


@dataclass(slots=True)
class Services:
    """What views need: settings plus the store, queue and clients wired by `create_app`."""

    settings: Settings
    store: Any = None
    queue: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


def services() -> Services:
    """The services of the current Flask app."""
    return current_app.extensions["okrlink"]


def settings() -> Settings:
    """The settings of the current Flask app."""
    return services().settings
