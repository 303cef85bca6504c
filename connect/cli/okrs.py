"""`okrlink check`, `import` and `export`: OKR files in and out of a site."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from connect.cli.common import open_app, print_findings
from connect.services import services_of
from sync.core import okrfile
from sync.core.practice import Finding, has_errors

if TYPE_CHECKING:
    from flask import Flask

    from sync.core.spec import TeamOkrs
    from sync.okrs import ImportReport


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
def check(path: str) -> None:
    """Print practice warnings and errors of an OKR file, then a summary; exit 1 on errors."""
    findings = okrfile.check_file(path)
    print_findings(path, findings)
    try:
        okrs = okrfile.load(path)
    except (okrfile.OkrFileError, OSError, UnicodeDecodeError):
        okrs = None  # the findings above say why
    if okrs is not None:
        click.echo(summary(path, okrs, findings))
    sys.exit(1 if has_errors(findings) else 0)


def counted(n: int, noun: str) -> str:
    """`1 objective`, `3 objectives`, `no findings`."""
    return f"{n or 'no'} {noun}{'' if n == 1 else 's'}"


def summary(path: str, okrs: TeamOkrs, findings: list[Finding]) -> str:
    """`team.okr.yml: 3 objectives, 12 key results, no findings` (or `1 error, 2 warnings`)."""
    krs = sum(len(objective.key_results) for objective in okrs.objectives)
    errors = sum(1 for finding in findings if finding.level == "error")
    warnings = len(findings) - errors
    found = [counted(n, noun) for n, noun in ((errors, "error"), (warnings, "warning")) if n]
    return (
        f"{path}: {counted(len(okrs.objectives), 'objective')}, "
        f"{counted(krs, 'key result')}, {', '.join(found) or 'no findings'}"
    )


@click.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option(
    "--prefer-file",
    is_flag=True,
    help="The file's current values win over newer check-ins (recorded as check-ins).",
)
def import_command(path: str, site: str | None, prefer_file: bool) -> None:
    """Import an OKR file; idempotent, keyed by objective and KR keys."""
    report = import_path(open_app(), path, site=site, prefer_file=prefer_file)
    for note in report.kept:
        click.echo(note)
    click.echo(
        f"{path}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
    )


def import_path(
    app: Flask, path: str, *, site: str | None = None, prefer_file: bool = False
) -> ImportReport:
    from sync.db.store import find_site
    from sync.engine.snapshots import recompute
    from sync.okrs import import_team_okrs
    from sync.people import names_for

    findings = okrfile.check_file(path)
    if has_errors(findings):
        print_findings(path, findings)
        raise SystemExit(1)
    okrs = okrfile.load(path)
    services = services_of(app)
    with services.store.session() as session:
        site_row = find_site(session, site)
        report = import_team_okrs(session, site_row.id, okrs, prefer_file=prefer_file)
        recompute(session, site_row.id, report.changed_kr_ids, now=datetime.now(UTC))
        owners = [f.params.get("owner") for f in report.findings]
        names = names_for(
            session,
            site_row.id,
            [owner for owner in owners if isinstance(owner, str)],
            people=services.jobs.ports.people,
            now=datetime.now(UTC),
        )
    print_findings(path, report.findings, names)
    with app.app_context():
        from connect.api.okrs import fetch_linked_issues

        fetch_linked_issues(site_row.id, [okrs])
    return report


@click.command()
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option("--team", default=None)
@click.option("--cycle", default=None)
def export(site: str | None, team: str | None, cycle: str | None) -> None:
    """Print stored OKRs in the OKR file format."""
    from sync.db.store import find_site
    from sync.okrs import export_team_okrs

    app = open_app()
    with services_of(app).store.session() as session:
        teams = export_team_okrs(session, find_site(session, site).id, team=team, cycle=cycle)
    click.echo(okrfile.dump_all(teams), nl=False)
