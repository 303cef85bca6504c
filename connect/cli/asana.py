"""`okrlink asana`: connect a site to an Asana workspace, watch and unwatch projects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from connect.services import services_of

if TYPE_CHECKING:
    from flask import Flask


@contextmanager
def _app() -> Iterator[Flask]:
    """The service as configured by the environment, its database released afterwards."""
    from connect.app import create_app

    app = create_app()
    try:
        yield app
    finally:
        services_of(app).store.dispose()


def _site_id(app: Flask, site: str) -> tuple[int, str]:
    from sync.db.store import find_site

    with services_of(app).store.session() as session:
        row = find_site(session, site)
        return row.id, row.name


def _project(reference: str) -> str:
    from sync.core.asana_refs import gid_of

    gid = gid_of(reference)
    if gid is None:
        raise click.BadParameter("give the project's gid or its Asana URL", param_hint="--project")
    return gid


@click.group()
def asana() -> None:
    """Asana: connect a workspace, watch projects for changes."""


@asana.command("connect")
@click.option("--site", required=True, help="A clientKey, base URL or site name.")
@click.option("--token", default=None, help="A personal access token or service account token.")
@click.option("--oauth", is_flag=True, help="Print the URL where an admin grants access.")
def connect_command(site: str, token: str | None, oauth: bool) -> None:
    """Connect SITE to an Asana workspace, with a token or through OAuth."""
    if (token is None) == (not oauth):
        raise click.UsageError("give exactly one of --token TOKEN or --oauth")
    with _app() as app:
        if token is not None:
            click.echo(connect_token(app, site, token))
        else:
            click.echo(oauth_url(app, site))


def connect_token(app: Flask, site: str, token: str) -> str:
    """Check the token against Asana (`GET /users/me`), then store it encrypted."""
    from integrations.errors import OutsideError
    from sync.asana_accounts import save_connection

    services = services_of(app)
    site_id, site_name = _site_id(app, site)
    try:
        me = services.asana_client.me(token)
    except OutsideError as exc:
        raise click.ClickException(f"Asana refused the token: {exc.message}") from exc
    workspaces = me.get("workspaces") or []
    workspace = workspaces[0] if workspaces else {}
    with services.store.session() as session:
        save_connection(
            session,
            site_id,
            token=token,
            encrypt=services.tenants.encrypt,
            auth="token",
            user_gid=str(me.get("gid") or ""),
            workspace_gid=workspace.get("gid"),
        )
    services.asana_accounts.forget(site_id)
    name = workspace.get("name") or workspace.get("gid") or "no workspace"
    return f"site {site_name} -> Asana workspace {name} as {me.get('name') or me.get('gid')}"


def oauth_url(app: Flask, site: str) -> str:
    """The authorization URL for the hosted app; the callback stores the tokens."""
    from connect.doors.asana.oauth import sign_state, start_url

    services = services_of(app)
    settings = services.settings
    if not settings.asana_client_id or not settings.asana_client_secret:
        raise click.ClickException(
            "set OKRLINK_ASANA_CLIENT_ID and OKRLINK_ASANA_CLIENT_SECRET (the Asana app's "
            "OAuth credentials) first"
        )
    site_id, _name = _site_id(app, site)
    url = start_url(settings.base_url, sign_state(services.oauth_state_key, site_id))
    return (
        "Open this URL as a workspace member within 15 minutes, once, and finish in the same "
        f"browser:\n{url}"
    )


@asana.command("watch")
@click.option("--site", required=True, help="A clientKey, base URL or site name.")
@click.option("--project", required=True, help="The project's gid or URL.")
def watch_command(site: str, project: str) -> None:
    """Create the webhook that sends the project's task changes to okrlink."""
    from integrations.errors import OutsideError

    gid = _project(project)
    with _app() as app:
        site_id, site_name = _site_id(app, site)
        try:
            watched = services_of(app).asana_watcher.watch(site_id, gid)
        except OutsideError as exc:
            raise click.ClickException(f"Asana refused the webhook: {exc.message}") from exc
        click.echo(f"site {site_name}: watching project {gid} (webhook {watched.webhook_gid})")


@asana.command("unwatch")
@click.option("--site", required=True, help="A clientKey, base URL or site name.")
@click.option("--project", required=True, help="The project's gid or URL.")
def unwatch_command(site: str, project: str) -> None:
    """Remove the project's webhook."""
    from integrations.errors import OutsideError

    gid = _project(project)
    with _app() as app:
        site_id, site_name = _site_id(app, site)
        try:
            removed = services_of(app).asana_watcher.unwatch(site_id, gid)
        except OutsideError as exc:
            raise click.ClickException(f"Asana refused: {exc.message}") from exc
    if not removed:
        raise click.ClickException(f"site {site_name} does not watch project {gid}")
    click.echo(f"site {site_name}: project {gid} no longer watched")
