"""The `okrlink` command: serve, worker, demo, check, import, export, tenants, github.

One command group per module of this package; this one only puts them together.
"""

from __future__ import annotations

import logging

import click

from connect.cli import cycle, demo, github, okrs, practice, server, tenants
from connect.demo import EXAMPLE_FILE

__all__ = ["EXAMPLE_FILE", "main"]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
def main(verbose: bool) -> None:
    """okrlink: OKRs inside Jira, Confluence and GitHub."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for command in (
    okrs.check,
    okrs.import_command,
    okrs.export,
    server.serve,
    server.worker,
    demo.demo,
    tenants.tenants,
    github.github,
    cycle.cycle,
    practice.practice,
):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
