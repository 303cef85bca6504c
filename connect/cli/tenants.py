"""`okrlink tenants`: the installations of okrlink on Atlassian sites."""

from __future__ import annotations

import click

from connect.cli.common import open_app
from connect.services import services_of


@click.group()
def tenants() -> None:
    """Installations of okrlink on Atlassian sites."""


@tenants.command("list")
def tenants_list() -> None:
    """Show every site with its installations (product, door, state), the local site too."""
    from sqlalchemy import select

    from sync.db.model import LOCAL_SITE, Installation, Site
    from sync.db.store import local_site

    app = open_app()
    with services_of(app).store.session() as session:
        local_site(session)  # always listed: where imports go without --site
        rows = session.execute(
            select(Site, Installation)
            .outerjoin(Installation, Installation.site_id == Site.id)
            .order_by(Site.name, Installation.product)
        ).all()
        click.echo(f"{'CLIENT KEY':40} {'SITE':32} {'PRODUCT':10} {'DOOR':8} STATE")
        for site, installation in rows:
            if installation is None:
                state = "local (no Atlassian)" if site.name == LOCAL_SITE else "no installation"
                click.echo(f"{'-':40} {site.name:32} {'-':10} {'-':8} {state}")
                continue
            state = (
                "enabled"
                if installation.enabled
                else ("uninstalled" if installation.uninstalled_at else "disabled")
            )
            click.echo(
                f"{installation.client_key:40} {site.name:32} {installation.product:10} "
                f"{installation.door:8} {state}"
            )


@tenants.command("purge")
@click.argument("client_key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def tenants_purge(client_key: str, yes: bool) -> None:
    """Delete an installation; with its site's last installation, the site's OKRs too."""
    from sync.tenants import purge

    if not yes:
        click.confirm(
            f"Delete {client_key} and, if it is its site's last installation, "
            "all the site's OKRs, links and history?",
            abort=True,
        )
    app = open_app()
    with services_of(app).store.session() as session:
        if not purge(session, client_key):
            raise click.ClickException(f"no installation {client_key}")
    click.echo(f"purged {client_key}")
