"""What every `okrlink` command shares: the app as the environment configures it, findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import click

from connect.services import services_of
from sync.core.practice import Finding
from sync.errors import OkrlinkError

if TYPE_CHECKING:
    from flask import Flask

    from connect.settings import Settings


class Build(Protocol):
    """Makes an app from its settings (`create_app`, or the demo's `open_demo`)."""

    def __call__(self, settings: Settings, /, *, worker: bool = ...) -> Flask: ...


class OkrlinkGroup(click.Group):
    """The `okrlink` group: any error of the tree a command lets through is said, not traced.

    The CLI's one mapping of `OkrlinkError` (a site not found, an import refused, a rule of
    the domain, an outside failure): its message, after the field at fault when there is one,
    and exit status 1. Commands catch only what they answer differently.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OkrlinkError as exc:
            raise click.ClickException(f"{exc.field}: {exc}" if exc.field else str(exc)) from exc


# huey backs off to 10 s between polls when idle; events should apply within a second.
CONSUMER_POLLING = {"initial_delay": 0.01, "backoff": 1.5, "max_delay": 0.25}


def server_logging() -> None:
    """A long-running command logs its start-up steps (see `connect.ops.logs`)."""
    from connect.ops.logs import configure_logging

    verbose = bool(click.get_current_context().find_root().params.get("verbose"))
    configure_logging(verbose=verbose, server=True)


def open_app(*, worker: bool = False, build: Build | None = None) -> Flask:
    """The service as the environment configures it; its connections close with the command.
    `worker`: it runs the queue consumer (its database connections are pinged before use).
    `build`: how the app is made from the settings (the demo's `open_demo`), else `create_app`.
    """
    from connect.app import create_app
    from connect.settings import SettingError, Settings
    from sync.keys import SecretKeyError

    try:
        settings = Settings.from_env()
        app = (build or create_app)(settings, worker=worker)
    except SettingError as exc:  # a wrong setting is the user's to fix: said, not traced
        raise click.UsageError(str(exc)) from exc
    except SecretKeyError as exc:  # one line naming OKRLINK_SECRET_KEY, exit status 1
        raise click.ClickException(str(exc)) from exc
    # The command's connections close with it (not at garbage collection).
    click.get_current_context().call_on_close(services_of(app).store.dispose)
    return app


def require_secret_key() -> None:
    """Refuse now, in this process, when `OKRLINK_SECRET_KEY` is missing or malformed.

    For servers whose app is built in other processes (`okrlink web`'s granian workers): a
    worker that cannot start would otherwise be respawned in a loop, each time with a traceback.
    """
    from connect.settings import SettingError, Settings
    from sync.keys import SecretKeyError, load_keys

    try:
        settings = Settings.from_env()
        load_keys(settings.secret_key, data_dir=settings.data_dir, dev=settings.dev)
    except SettingError as exc:
        raise click.UsageError(str(exc)) from exc
    except SecretKeyError as exc:
        raise click.ClickException(str(exc)) from exc


def print_findings(
    path: str, findings: list[Finding], names: Mapping[str, str] | None = None
) -> None:
    """Each finding on a line; with the site's `names`, an owner it names reads as the person's
    name (a file checked on its own knows no names and keeps the account id)."""
    for finding in findings:
        where = f"{path}:{finding.line}" if finding.line else path
        message, owner = finding.message, finding.params.get("owner")
        if names and isinstance(owner, str) and owner in names:
            message = message.replace(owner, names[owner])
        click.echo(f"{where}: {finding.level}: {message}")
