"""`okrlink dashboards`: what the team's dashboards read (dashboard tokens for Grafana and
Datadog) and where okrlink pushes (Geckoboard datasets).

Who may use it: whoever runs the service's commands (the operator, with its database and
`OKRLINK_SECRET_KEY`); a token is printed once, when it is made, and never again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from connect.cli.common import open_app

if TYPE_CHECKING:
    from connect.services import Services


def _site_id(services: Services, site: str | None) -> int:
    from sync.db.store import SiteNotFound, find_site

    try:
        with services.store.session() as session:
            return find_site(session, site).id
    except SiteNotFound as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def dashboards() -> None:
    """OKRs on the team's dashboards: Grafana and Datadog tokens, Geckoboard datasets."""


@dashboards.group()
def token() -> None:
    """Read-only tokens for `GET /api/v1/metrics`, one site each."""


@token.command("create")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option("--name", default="dashboard", show_default=True, help="What reads with it.")
def token_create(site: str | None, name: str) -> None:
    """Make a token that reads the site's OKR metrics; it is shown this once."""
    from sync.dashboards import create_token
    from sync.errors import Invalid

    services: Services = open_app().extensions["okrlink"]
    site_id = _site_id(services, site)
    try:
        with services.store.session() as session:
            view, secret = create_token(
                session, site_id, name=name, now=services.jobs.ports.clock.now()
            )
    except Invalid as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc
    click.echo(f"dashboard token {view.id} ({view.name}) of site {site_id}:")
    click.echo(secret)
    click.echo(
        "Shown once: keep it in your Prometheus, Grafana or Datadog configuration as "
        "`Authorization: Bearer <token>`. It reads GET /api/v1/metrics of this site only."
    )


@token.command("list")
@click.option("--site", default=None, help="Only this site's tokens.")
def token_list(site: str | None) -> None:
    """Show the tokens (their first characters only), live and revoked."""
    from sync.dashboards import list_tokens

    services: Services = open_app().extensions["okrlink"]
    site_id = _site_id(services, site) if site else None
    with services.store.session() as session:
        tokens = list_tokens(session, site_id)
    click.echo(f"{'ID':>4} {'SITE':>5} {'NAME':20} {'TOKEN':16} {'CREATED':25} STATE")
    for t in tokens:
        state = t.state
        if t.revoked_at is not None:
            state += f" {t.revoked_at.isoformat(timespec='seconds')}"
        created = t.created_at.isoformat(timespec="seconds")
        click.echo(f"{t.id:>4} {t.site_id:>5} {t.name:20} {t.hint:16} {created:25} {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token: the next scrape with it is refused (401)."""
    from sync.dashboards import revoke_token

    services: Services = open_app().extensions["okrlink"]
    with services.store.session() as session:
        view = revoke_token(session, token_id, now=services.jobs.ports.clock.now())
    if view is None:
        raise click.ClickException(f"no dashboard token {token_id}")
    click.echo(f"revoked dashboard token {view.id} ({view.name})")
