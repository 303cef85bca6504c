"""The `okrlink` command: serve, worker, demo, check, import, export, tenants, github."""

from __future__ import annotations

import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sync import okrfile
from sync.practice import Finding, has_errors

if TYPE_CHECKING:
    from flask import Flask

# huey backs off to 10 s between polls when idle; events should apply within a second.
CONSUMER_POLLING = {"initial_delay": 0.01, "backoff": 1.5, "max_delay": 0.25}
EXAMPLE_FILE = Path(__file__).resolve().parents[1] / "examples" / "platform.okr.yml"


def _app() -> Flask:
    from connect.app import create_app

    app = create_app()
    # The command's connections close with it (not at garbage collection).
    click.get_current_context().call_on_close(app.extensions["okrlink"].store.dispose)
    return app


def print_findings(path: str, findings: list[Finding]) -> None:
    for finding in findings:
        where = f"{path}:{finding.line}" if finding.line else path
        click.echo(f"{where}: {finding.level}: {finding.message}")


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
def main(verbose: bool) -> None:
    """okrlink: OKRs inside Jira, Confluence and GitHub."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
def check(path: str) -> None:
    """Print practice warnings and errors of an OKR file; exit 1 on errors."""
    findings = okrfile.check_file(path)
    print_findings(path, findings)
    sys.exit(1 if has_errors(findings) else 0)


@main.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
def import_command(path: str, site: str | None) -> None:
    """Import an OKR file; idempotent, keyed by objective and KR keys."""
    report = import_path(_app(), path, site=site)
    click.echo(
        f"{path}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )


def import_path(app: Flask, path: str, *, site: str | None = None):
    from sync.engine import recompute
    from sync.okrs import ImportRefused, import_team_okrs
    from sync.store import SiteNotFound, find_site

    findings = okrfile.check_file(path)
    if has_errors(findings):
        print_findings(path, findings)
        raise SystemExit(1)
    okrs = okrfile.load(path)
    services = app.extensions["okrlink"]
    try:
        with services.store.session() as session:
            site_row = find_site(session, site)
            report = import_team_okrs(session, site_row.id, okrs)
            recompute(session, site_row.id, report.changed_kr_ids, now=datetime.now(UTC))
    except (ImportRefused, SiteNotFound) as exc:
        raise click.ClickException(str(exc)) from exc
    print_findings(path, report.findings)
    with app.app_context():
        from connect.api import fetch_linked_issues

        fetch_linked_issues(site_row.id, [okrs])
    return report


@main.command()
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option("--team", default=None)
@click.option("--cycle", default=None)
def export(site: str | None, team: str | None, cycle: str | None) -> None:
    """Print stored OKRs in the OKR file format."""
    from sync.okrs import export_team_okrs
    from sync.store import SiteNotFound, find_site

    app = _app()
    try:
        with app.extensions["okrlink"].store.session() as session:
            teams = export_team_okrs(session, find_site(session, site).id, team=team, cycle=cycle)
    except SiteNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(okrfile.dump_all(teams), nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Leave queued jobs to `okrlink worker`.")
def serve(host: str, port: int, no_worker: bool) -> None:
    """Run the development server (with the queue consumer in-process by default)."""
    app = _app()
    run_server(app, host=host, port=port, worker=not no_worker)


def _exit(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def run_server(app: Flask, *, host: str, port: int, worker: bool) -> None:
    consumer = None
    if worker:
        consumer = app.extensions["okrlink"].queue.create_consumer(
            workers=2, worker_type="thread", periodic=True, **CONSUMER_POLLING
        )
        consumer.start()
        # huey's consumer takes over SIGTERM/SIGINT for its own run loop, which `serve` does
        # not use: hand them back so that a stopped server stops.
        signal.signal(signal.SIGTERM, _exit)
        signal.signal(signal.SIGINT, _exit)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


@main.command()
@click.option("--workers", default=2, show_default=True, type=int)
def worker(workers: int) -> None:
    """Run the queue consumer (huey) for this service's jobs."""
    app = _app()
    consumer = app.extensions["okrlink"].queue.create_consumer(
        workers=workers, worker_type="thread", periodic=True, **CONSUMER_POLLING
    )
    consumer.run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Load the demo and exit.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Start with embedded defaults, a demo site and the example OKR file loaded."""
    from connect.demo import load_demo

    app = _app()
    urls = load_demo(app, base=f"http://{host}:{port}")
    for label, url in urls.items():
        click.echo(f"{label}: {url}")
    if not no_serve:
        run_server(app, host=host, port=port, worker=True)


@main.group()
def tenants() -> None:
    """Installations of okrlink on Atlassian sites."""


@tenants.command("list")
def tenants_list() -> None:
    """Show every installation with its site, product, door and state."""
    from sqlalchemy import select

    from sync.model import Installation, Site

    app = _app()
    with app.extensions["okrlink"].store.session() as session:
        rows = session.execute(
            select(Installation, Site)
            .join(Site, Site.id == Installation.site_id)
            .order_by(Site.name, Installation.product)
        ).all()
        click.echo(f"{'CLIENT KEY':40} {'SITE':32} {'PRODUCT':10} {'DOOR':8} STATE")
        for installation, site in rows:
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
    from connect.tenants import purge

    if not yes:
        click.confirm(
            f"Delete {client_key} and, if it is its site's last installation, "
            "all the site's OKRs, links and history?",
            abort=True,
        )
    app = _app()
    with app.extensions["okrlink"].store.session() as session:
        if not purge(session, client_key):
            raise click.ClickException(f"no installation {client_key}")
    click.echo(f"purged {client_key}")


from integrations.github.cli import github as _github  # noqa: E402

main.add_command(_github)


if __name__ == "__main__":  # pragma: no cover
    main()
