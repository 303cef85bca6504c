"""`okrlink github`: register the GitHub App, map its installations to sites, list them, set
repository options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import func, select

from connect.services import services_of

if TYPE_CHECKING:
    from flask import Flask


@contextmanager
def _app() -> Iterator[Flask]:
    """The service as configured by the environment, its database released afterwards."""
    from connect.cli.common import open_app

    app = open_app()
    try:
        yield app
    finally:
        services_of(app).store.dispose()


@click.group()
def github() -> None:
    """GitHub App installations: map them to sites, list them, configure repositories."""


@github.command("register")
def register_command() -> None:
    """Print the link that registers okrlink's GitHub App from its manifest (15 minutes, once)."""
    with _app() as app:
        click.echo(register_link(app))


def register_link(app: Flask) -> str:
    """The register page's link with a fresh signed state, or why there is none."""
    from connect.doors.github.registration import register_url

    services = services_of(app)
    if services.settings.github_app_id:
        raise click.ClickException(
            "the GitHub App is configured already (OKRLINK_GITHUB_APP_ID is set)"
        )
    url = register_url(services.settings.base_url, services.oauth_state_key)
    return (
        "Open this URL within 15 minutes, once, and finish in the same browser (GitHub "
        f"creates the app, then okrlink shows its settings):\n{url}"
    )


@github.command("map")
@click.argument("installation_id", type=int)
@click.argument("site")
def map_command(installation_id: int, site: str) -> None:
    """Map INSTALLATION_ID to SITE (a clientKey, base URL or site name, as in `import --site`)."""
    with _app() as app:
        click.echo(map_installation(app, installation_id, site))


def map_installation(app: Flask, installation_id: int, site: str) -> str:
    """Map the installation, link its stored PRs, recompute and queue their check runs."""
    from sync.apply.github import map_installation as map_in_store
    from sync.db.model import PullRequest
    from sync.db.store import find_site
    from sync.dora.remeasure import remeasure
    from sync.engine.snapshots import recompute

    services = services_of(app)
    jobs = services.jobs
    now = jobs.ports.clock.now()
    with services.store.session() as session:
        site_row = find_site(session, site)
        touched = map_in_store(session, installation_id, site_row.id, now=now)
        touched |= remeasure(session, site_row.id, now=now)  # its deployments' DORA keys
        recompute(session, site_row.id, touched, now=now)
        pulls = session.scalar(
            select(func.count())
            .select_from(PullRequest)
            .where(PullRequest.installation_id == installation_id)
        )
        site_id, site_name = site_row.id, site_row.name
    jobs.flush_outbound(site_id)
    return f"installation {installation_id} -> site {site_name} ({pulls} pull requests linked)"


@github.command("list")
def list_command() -> None:
    """Print every known installation: id, account, site and state."""
    with _app() as app:
        for line in installation_lines(app):
            click.echo(line)


def installation_lines(app: Flask) -> list[str]:
    """One tab-separated line per installation: id, account, site, state, settings."""
    import json

    from sync.db.model import GitHubInstallation, Site

    lines = []
    with services_of(app).store.session() as session:
        rows = session.execute(
            select(GitHubInstallation, Site.name)
            .outerjoin(Site, Site.id == GitHubInstallation.site_id)
            .order_by(GitHubInstallation.installation_id)
        ).all()
        for row, site_name in rows:
            state = "deleted" if row.deleted else "suspended" if row.suspended else "active"
            settings = json.dumps(row.settings or {}, sort_keys=True)
            lines.append(
                f"{row.installation_id}\t{row.account or '-'}\t{site_name or '(unmapped)'}"
                f"\t{state}\t{settings}"
            )
    if not lines:
        lines.append("no GitHub installations yet: install the app on an account or organisation")
    return lines


@github.command("configure")
@click.argument("installation_id", type=int)
@click.option("--repo", default=None, help="owner/repo; without it, every repository.")
@click.option(
    "--conclusion",
    type=click.Choice(["neutral", "success"]),
    default=None,
    help="Conclusion of a run on a PR that advances key results.",
)
@click.option(
    "--kr-message/--no-kr-message",
    "no_kr_message",
    default=None,
    help="Post (or leave out) the run explaining how to link a PR with no key result.",
)
def configure_command(
    installation_id: int, repo: str | None, conclusion: str | None, no_kr_message: bool | None
) -> None:
    """Set the check-run options of an installation or of one of its repositories."""
    changes: dict[str, Any] = {}
    if conclusion is not None:
        changes["conclusion"] = conclusion
    if no_kr_message is not None:
        changes["no_kr_message"] = no_kr_message
    if not changes:
        raise click.UsageError("give --conclusion, --kr-message or --no-kr-message")
    with _app() as app:
        settings = configure(app, installation_id, repo=repo, changes=changes)
    click.echo(f"installation {installation_id}: {settings}")


def configure(
    app: Flask, installation_id: int, *, repo: str | None, changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge `changes` into the installation's (or one repository's) settings; the result."""
    from sync.apply.github import ensure_installation

    with services_of(app).store.session() as session:
        row = ensure_installation(session, installation_id)
        settings = dict(row.settings or {})
        if repo is None:
            settings.update(changes)
        else:
            repositories = dict(settings.get("repositories") or {})
            repositories[repo] = {**(repositories.get(repo) or {}), **changes}
            settings["repositories"] = repositories
        row.settings = settings  # a new dict, so the JSON column is written
        return settings
