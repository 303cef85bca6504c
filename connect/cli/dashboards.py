"""`okrlink dashboards`: what the team's dashboards read (dashboard tokens for Grafana and
Datadog) and where okrlink pushes (Geckoboard datasets).

Who may use it: whoever runs the service's commands (the operator, with its database and
`OKRLINK_SECRET_KEY`); a token is printed once, when it is made, and never again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from connect.cli.common import open_app
from connect.services import services_of

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

    services: Services = services_of(open_app())
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

    services: Services = services_of(open_app())
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

    services: Services = services_of(open_app())
    with services.store.session() as session:
        view = revoke_token(session, token_id, now=services.jobs.ports.clock.now())
    if view is None:
        raise click.ClickException(f"no dashboard token {token_id}")
    click.echo(f"revoked dashboard token {view.id} ({view.name})")


@dashboards.group()
def geckoboard() -> None:
    """Push a team's KRs to a Geckoboard dataset whenever they change (at most once a minute)."""


@geckoboard.command("add")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option("--team", required=True, help="The team's key, e.g. PLAT.")
@click.option(
    "--api-key",
    required=True,
    help="The Geckoboard account's API key (stored encrypted, shown masked).",
)
def geckoboard_add(site: str | None, team: str, api_key: str) -> None:
    """Push TEAM's KRs to its dataset `okrlink.<team>.key_results`; the first push goes now."""
    from sync.errors import Invalid
    from sync.geckoboard import add_dataset

    services: Services = services_of(open_app())
    site_id = _site_id(services, site)
    try:
        with services.store.session() as session:
            view = add_dataset(
                session,
                site_id,
                team=team,
                api_key=api_key,
                encrypt=services.tenants.encrypt,
                now=services.jobs.ports.clock.now(),
            )
    except Invalid as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc
    services.jobs.flush_outbound(site_id)
    click.echo(
        f"geckoboard dataset {view.id}: {view.team} -> {view.dataset} (key {view.key_hint}), "
        "first push queued"
    )


@geckoboard.command("list")
@click.option("--site", default=None, help="Only this site's datasets.")
def geckoboard_list(site: str | None) -> None:
    """Show the datasets, their last push and state (parked: Geckoboard refused the key)."""
    from sync.geckoboard import list_datasets

    services: Services = services_of(open_app())
    site_id = _site_id(services, site) if site else None
    with services.store.session() as session:
        datasets = list_datasets(session, site_id)
    click.echo(f"{'ID':>4} {'SITE':>5} {'TEAM':10} {'DATASET':36} {'KEY':8} {'PUSHED':25} STATE")
    for d in datasets:
        pushed = d.pushed_at.isoformat(timespec="seconds") if d.pushed_at else "-"
        state = d.state + (f" ({d.parked_reason})" if d.parked_reason else "")
        click.echo(
            f"{d.id:>4} {d.site_id:>5} {d.team:10} {d.dataset:36} {d.key_hint:8} {pushed:25} "
            f"{state}"
        )


@geckoboard.command("remove")
@click.argument("dataset_id", type=int)
def geckoboard_remove(dataset_id: int) -> None:
    """Stop pushing to a dataset and forget its key (the dataset stays in Geckoboard)."""
    from sync.geckoboard import remove_dataset

    services: Services = services_of(open_app())
    with services.store.session() as session:
        if not remove_dataset(session, dataset_id):
            raise click.ClickException(f"no geckoboard dataset {dataset_id}")
    click.echo(f"removed geckoboard dataset {dataset_id}")
