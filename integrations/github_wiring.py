"""Wire the GitHub App into a Flask app: webhook route, inbox handlers, check-run writer, port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.github import registration, webhooks
from integrations.github.client import GitHubApp, GitHubAppConfig
from integrations.github.publisher import CHECK_RUN_KIND, CheckRunWriter, GitHubChecks
from sync import github_apply

if TYPE_CHECKING:
    from flask import Flask


def init_github(app: Flask) -> None:
    """Register the webhook blueprint, handlers and writer; build the Checks port if unset.

    The port is built from `OKRLINK_GITHUB_*` settings unless one was passed in `Ports`
    (tests, benchmarks); without an app id and key, check runs are skipped with a warning.
    """
    services = app.extensions["okrlink"]
    jobs = services.extras["jobs"]
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(registration.blueprint)
    github_apply.register(jobs)
    jobs.write(CHECK_RUN_KIND, CheckRunWriter(app_key=services.settings.app_key))
    if jobs.ports.checks is None:
        config = GitHubAppConfig.from_settings(services.settings)
        if config is not None:
            jobs.ports.checks = GitHubChecks(GitHubApp(config))
