"""The `okrlink` command: web, serve, worker, demo, check, import, export, tenants, github,
asana, inbox, outbound, digest, cycle, practice, dashboards, secrets, accounts.

One command group per module of this package; this one only puts them together.
"""

from __future__ import annotations

import click

from connect.cli import (
    accounts,
    asana,
    cycles,
    dashboards,
    demo,
    digest,
    github,
    github_backfill,
    okrs,
    practice,
    recovery,
    secrets,
    server,
    tenants,
    web,
)
from connect.cli.common import OkrlinkGroup
from connect.demo.seed import EXAMPLE_FILE
from connect.ops.logs import LogLevelError, configure_logging

__all__ = ["EXAMPLE_FILE", "main"]
_REGISTERED = (github_backfill.backfill_command,)  # `okrlink github backfill`, on the github group


@click.group(cls=OkrlinkGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log everything, at debug level.")
def main(verbose: bool) -> None:
    """okrlink: OKRs inside Jira, Confluence and GitHub.

    Commands print their result only; `--verbose` or OKRLINK_LOG_LEVEL=INFO shows their logs.
    """
    try:
        configure_logging(verbose=verbose)
    except LogLevelError as exc:
        raise click.UsageError(str(exc)) from exc


for command in (
    okrs.check,
    okrs.import_command,
    okrs.export,
    web.web,
    server.serve,
    server.worker,
    demo.demo,
    tenants.tenants,
    github.github,
    asana.asana,
    recovery.inbox,
    recovery.outbound,
    digest.digest,
    cycles.cycle,
    practice.practice,
    dashboards.dashboards,
    secrets.secrets,
    accounts.accounts,
):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
