"""The outside systems (Jira, Confluence, GitHub), each behind a small interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register webhook routes, job handlers and the real ports."""
    from integrations.github_wiring import init_github; init_github(app)  # noqa: E702, I001
    from integrations.jira_wiring import init_jira; init_jira(app)  # noqa: E702, I001
