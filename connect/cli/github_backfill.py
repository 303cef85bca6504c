"""`okrlink github backfill INSTALLATION_ID [--days 90]`: start a team with its history.

Reads the installation's deployments, their statuses and merged PRs through the REST API
(`integrations.github.backfill`), records each as the webhook would, then applies them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from connect.cli.github import _app, github
from connect.services import services_of

if TYPE_CHECKING:
    from flask import Flask

    from integrations.github.backfill import Lister, Pacer


@github.command("backfill")
@click.argument("installation_id", type=int)
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="How far back to read.",
)
def backfill_command(installation_id: int, days: int) -> None:
    """Read INSTALLATION_ID's deployments and merged PRs of the last DAYS into its DORA keys."""
    from integrations.github.client import GitHubApp, GitHubAppConfig

    with _app() as app:
        config = GitHubAppConfig.from_settings(services_of(app).settings)
        if config is None:
            raise click.ClickException(
                "set OKRLINK_GITHUB_APP_ID and OKRLINK_GITHUB_PRIVATE_KEY to read from GitHub"
            )
        click.echo(backfill(app, GitHubApp(config), installation_id, days=days))


def backfill(
    app: Flask, github_api: Lister, installation_id: int, *, days: int, pacer: Pacer | None = None
) -> str:
    """Read, record and apply the installation's history; a one-line summary."""
    from integrations.github.backfill import read_history
    from integrations.github.errors import GitHubError
    from sync.db.model import GitHubInstallation
    from sync.engine.inbox import record_event

    services = services_of(app)
    with services.store.session() as session:
        row = session.get(GitHubInstallation, installation_id)
        site_id = row.site_id if row is not None and not row.deleted else None
    if site_id is None:
        raise click.ClickException(
            f"installation {installation_id} is not mapped to a site: "
            f"run okrlink github map {installation_id} SITE first"
        )
    now = services.jobs.ports.clock.now()
    try:
        history = read_history(github_api, installation_id, now=now, days=days, pacer=pacer)
    except GitHubError as exc:
        raise click.ClickException(f"GitHub refused the backfill: {exc}") from exc
    new = 0
    with services.store.session() as session:
        for delivery, event, record in history.records:
            event_id = record_event(
                session,
                source="github",
                scope="github",
                delivery_id=delivery,
                site_id=site_id,
                event=f"github:{event}",
                payload=record,
            )
            new += event_id is not None
    services.jobs.drain.call_local(site_id)  # apply now, in order, as the queue would
    return (
        f"installation {installation_id}: {history.repositories} repositories, "
        f"{history.deployments} deployments, {history.statuses} statuses, "
        f"{history.pulls} merged pull requests over {days} days ({new} new)"
    )
