"""`okrlink inbox` and `okrlink outbound`: see and retry what was parked
(`sync/engine/parking.py`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from connect.cli.common import open_app
from connect.services import services_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sync.db.store import Store


def _site_id(store: Store, site: str | None) -> int | None:
    """The id of the site named like `okrlink import --site`, None for every site."""
    if site is None:
        return None
    from sync.db.store import find_site

    with store.session() as session:
        return find_site(session, site).id


def _parked_at(row: Any) -> str:
    return row.failed_at.isoformat(timespec="seconds") if row.failed_at else "-"


def _list_parked(
    site: str | None,
    read: Callable[[Session, int | None], Sequence[Any]],
    header: str,
    line: Callable[[Any], str],
) -> None:
    """Print the parked rows `read` finds (of one site, or of all), a line each, and their count."""
    store = services_of(open_app()).store
    site_id = _site_id(store, site)
    with store.session() as session:
        rows = read(session, site_id)
        click.echo(header)
        for row in rows:
            click.echo(line(row))
    click.echo(f"{len(rows)} parked")


def _ids(ids: tuple[int, ...], everything: bool) -> list[int] | None:
    if everything == bool(ids):
        raise click.UsageError("name the rows to retry (their ids) or pass --all")
    return None if everything else list(ids)


@click.group()
def inbox() -> None:
    """Events received and not applied: list the parked ones, retry them after a fix."""


@inbox.command("failed")
@click.option("--site", default=None, help="Only this site (clientKey, base URL or name).")
def inbox_failed(site: str | None) -> None:
    """List inbox events parked after failing to apply, with their error."""
    from sync.engine.parking import failed_events

    def line(row: Any) -> str:
        return (
            f"{row.id:>8} {row.site_id or '-':>5} {row.source:8} {row.event:24} "
            f"{row.attempts:>5} {_parked_at(row)} {row.error or ''}"
        )

    _list_parked(
        site,
        failed_events,
        f"{'ID':>8} {'SITE':>5} {'SOURCE':8} {'EVENT':24} {'TRIES':>5} PARKED / ERROR",
        line,
    )


@inbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Retry every parked event.")
def inbox_retry(ids: tuple[int, ...], everything: bool) -> None:
    """Hand parked events back to the queue (after fixing what made them fail)."""
    from sync.engine.parking import retry_events

    wanted = _ids(ids, everything)
    services = services_of(open_app())
    with services.store.session() as session:
        rows = retry_events(session, wanted)
    for site in sorted({site for _, site in rows if site is not None}):
        services.jobs.drain(site)
    for row_id, site_id in rows:
        if site_id is None:
            services.jobs.apply_inbox(row_id)
    missing = sorted(set(wanted or ()) - {row_id for row_id, _ in rows})
    click.echo(f"{len(rows)} queued again")
    if missing:
        raise click.ClickException(f"not parked: {', '.join(map(str, missing))}")


@click.group()
def outbound() -> None:
    """Write-backs to Jira, Confluence and GitHub: list the parked ones, retry them."""


@outbound.command("failed")
@click.option("--site", default=None, help="Only this site (clientKey, base URL or name).")
def outbound_failed(site: str | None) -> None:
    """List write-backs parked after a refusal (or too many failures), with their error."""
    from sync.engine.parking import parked_writes

    def line(row: Any) -> str:
        return (
            f"{row.id:>8} {row.site_id:>5} {row.kind:16} {row.target:28} {row.attempts:>5} "
            f"{_parked_at(row)} {row.last_error or ''}"
        )

    _list_parked(
        site,
        parked_writes,
        f"{'ID':>8} {'SITE':>5} {'KIND':16} {'TARGET':28} {'TRIES':>5} PARKED / ERROR",
        line,
    )


@outbound.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Retry every parked write-back.")
def outbound_retry(ids: tuple[int, ...], everything: bool) -> None:
    """Make parked write-backs due again (after fixing access or the target)."""
    from sync.engine.parking import retry_writes

    wanted = _ids(ids, everything)
    services = services_of(open_app())
    with services.store.session() as session:
        sites = retry_writes(session, wanted, now=services.jobs.ports.clock.now())
    for site_id in sites:
        services.jobs.flush_outbound(site_id)
    click.echo(f"write-backs of {len(sites)} site(s) queued again")
