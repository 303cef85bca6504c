"""`okrlink secrets rotate`: every stored secret re-encrypted under the newest key.

Who may use it: the operator, on a machine with the service's environment (its database and
`OKRLINK_SECRET_KEY`); like every `okrlink` verb, it acts with the service's own rights.

Rotation: put the new key first in `OKRLINK_SECRET_KEY` (`new,old`), restart the processes so
they encrypt with it, run `okrlink secrets rotate`, then drop the old key.
"""

from __future__ import annotations

import click

from connect.cli.common import open_app
from connect.services import services_of


@click.group()
def secrets() -> None:
    """The secrets okrlink stores encrypted (shared secrets, tokens, webhook URLs)."""


@secrets.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret with the first key of OKRLINK_SECRET_KEY."""
    from sync.secrets import rotate_secrets

    services = services_of(open_app())
    with services.store.session() as session:
        rotation = rotate_secrets(session, services.keys)
    click.echo(
        f"rewrote {rotation.rewritten} secret(s) with the first key; "
        f"{rotation.current} already used it"
    )
    if rotation.unreadable:
        for where in rotation.unreadable:
            click.echo(f"no key of OKRLINK_SECRET_KEY decrypts {where}", err=True)
        raise click.ClickException(
            f"{len(rotation.unreadable)} secret(s) could not be decrypted: keep the key that "
            "wrote them in OKRLINK_SECRET_KEY"
        )
    if services.keys.count > 1:
        click.echo("the other keys of OKRLINK_SECRET_KEY can now be removed")
