"""The `okrlink` command: web, serve, worker, demo, check, import, export, tenants, github,
asana, inbox, outbound.

One command group per module of this package; this one only puts them together.
"""

from __future__ import annotations

import logging

import click

from connect.cli import asana, demo, github, github_backfill, okrs, recovery, server, tenants, web
from connect.demo import EXAMPLE_FILE
from connect.log_format import formatter_for
from connect.settings import Settings

__all__ = ["EXAMPLE_FILE", "main"]
_REGISTERED = (github_backfill.backfill_command,)  # `okrlink github backfill`, on the github group


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
def main(verbose: bool) -> None:
    """okrlink: OKRs inside Jira, Confluence and GitHub."""
    root = logging.getLogger()
    configured = bool(root.handlers)  # by whoever runs us (a test runner): left as it is
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    if not configured:
        settings = Settings.from_env()
        formatter = formatter_for(
            settings.log_format,
            secrets=(settings.admin_token, settings.secret_key, settings.github_webhook_secret),
        )
        for handler in root.handlers:
            handler.setFormatter(formatter)


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
):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
