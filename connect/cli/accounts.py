"""`okrlink accounts report`: the Atlassian account ids okrlink stores, reported to Atlassian.

Who may use it: the operator, with the service's environment; it calls Atlassian as each
site's installation (as the daily `report_accounts` job does) and erases the accounts
Atlassian answers are closed, on every site, history included.
"""

from __future__ import annotations

import click

from connect.cli.common import open_app
from connect.services import services_of


@click.group()
def accounts() -> None:
    """The Atlassian accounts okrlink stores (owners, check-in and change authors)."""


@accounts.command("report")
@click.option("--site", default=None, help="Only this site (clientKey, base URL or name).")
def report(site: str | None) -> None:
    """Report stored account ids to Atlassian now; erase the closed ones."""
    from sync.accounts import SiteReport
    from sync.db.store import SiteNotFound, find_site

    reporting = services_of(open_app()).account_reporting
    if site is None:
        sites = reporting.sites()
    else:
        with reporting.store.session() as session:
            try:
                found = find_site(session, site)
            except SiteNotFound as exc:
                raise click.ClickException(str(exc)) from exc
            sites = [(found.id, found.name)]
        if sites[0] not in reporting.sites():
            raise click.ClickException(
                f"site {sites[0][1]} has no enabled Atlassian installation to report through"
            )
    if not sites:
        click.echo("no site with an Atlassian installation: nothing to report")
        return
    results: list[SiteReport] = [reporting.report_site(site_id, name) for site_id, name in sites]
    for result in results:
        click.echo(f"{result.site}: reported {result.reported} account(s)")
        if result.closed:
            click.echo(
                f"  closed, erased ({result.erased_rows} row(s) now say 'former user'): "
                + ", ".join(result.closed)
            )
        if result.updated:
            click.echo("  updated (cached profiles dropped): " + ", ".join(result.updated))
        if result.error:
            click.echo(f"  stopped: {result.error}", err=True)
    if any(result.error for result in results):
        raise click.ClickException("personal data reporting did not finish; run it again later")
