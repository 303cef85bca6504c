"""`okrlink digest`: the weekly digest channels of teams (Slack, Teams), preview and send."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from connect.cli.common import open_app
from connect.services import services_of
from sync.digest import LANGS

if TYPE_CHECKING:
    from flask import Flask

    from connect.services import Services
    from sync.core.digest import Digest
    from sync.digest import ChannelView

DAY_CHOICES = click.Choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])


def _site_id(services: Services, site: str | None) -> int:
    from sync.db.store import find_site

    with services.store.session() as session:
        return find_site(session, site).id


@click.group()
def digest() -> None:
    """Weekly OKR digests and check-in reminders in Slack and Microsoft Teams."""


@digest.command("add")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option("--team", required=True, help="The team's key, e.g. PLAT.")
@click.option("--slack-webhook", "slack", default=None, help="A Slack incoming webhook URL.")
@click.option("--teams-webhook", "teams", default=None, help="A Teams Workflows webhook URL.")
@click.option("--day", default="mon", show_default=True, type=DAY_CHOICES)
@click.option("--time", "at", default="09:00", show_default=True, help="HH:MM, 24-hour.")
@click.option("--tz", default="UTC", show_default=True, help="IANA zone, e.g. Europe/Paris.")
@click.option("--lang", default="en", show_default=True, type=click.Choice(LANGS))
@click.option(
    "--remind-days",
    default=2,
    show_default=True,
    type=click.IntRange(1, 6),
    help="The check-in reminder goes out this many days before the digest.",
)
def digest_add(
    site: str | None,
    team: str,
    slack: str | None,
    teams: str | None,
    day: str,
    at: str,
    tz: str,
    lang: str,
    remind_days: int,
) -> None:
    """Send TEAM's weekly digest to a Slack or Teams webhook (give exactly one)."""
    if (slack is None) == (teams is None):
        raise click.UsageError("give exactly one of --slack-webhook and --teams-webhook")
    view = add_channel_from_cli(
        open_app(),
        site=site,
        team=team,
        kind="slack" if slack else "teams",
        url=slack or teams or "",
        day=day,
        at=at,
        tz=tz,
        lang=lang,
        remind_days=remind_days,
    )
    click.echo(
        f"digest channel {view.id}: {view.team} -> {view.kind} {view.url_hint}, "
        f"{view.day} {view.at} {view.tz}, {view.lang}"
    )


def add_channel_from_cli(
    app: Flask,
    *,
    site: str | None,
    team: str,
    kind: str,
    url: str,
    day: str,
    at: str,
    tz: str,
    lang: str,
    remind_days: int = 2,
) -> ChannelView:
    """Add a channel; refusals become a click error naming what to fix."""
    from sync.digest import ChannelSpec, add_channel
    from sync.errors import Invalid

    services: Services = services_of(app)
    site_id = _site_id(services, site)
    spec = ChannelSpec(
        team=team, kind=kind, url=url, day=day, at=at, tz=tz, lang=lang, remind_days=remind_days
    )
    try:
        with services.store.session() as session:
            return add_channel(
                session,
                site_id,
                spec,
                encrypt=services.tenants.encrypt,
                now=services.jobs.ports.clock.now(),
                urls=services.outbound,
            )
    except Invalid as exc:
        if exc.field == "url":  # the flag's value is wrong: a usage error, naming the flag
            flag = "--slack-webhook" if kind == "slack" else "--teams-webhook"
            raise click.BadParameter(exc.message, param_hint=flag) from None
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc


@digest.command("list")
@click.option("--site", default=None, help="Only this site's channels.")
def digest_list(site: str | None) -> None:
    """Show the channels, their schedule and state (parked: the webhook was removed)."""
    from sync.digest import list_channels

    services: Services = services_of(open_app())
    site_id = _site_id(services, site) if site else None
    with services.store.session() as session:
        channels = list_channels(session, site_id)
    click.echo(f"{'ID':>4} {'TEAM':10} {'KIND':6} {'WHEN':28} {'LANG':4} {'WEBHOOK':40} STATE")
    for c in channels:
        when = f"{c.day} {c.at} {c.tz} (-{c.remind_days}d)"
        state = c.state + (f" ({c.parked_reason})" if c.parked_reason else "")
        click.echo(f"{c.id:>4} {c.team:10} {c.kind:6} {when:28} {c.lang:4} {c.url_hint:40} {state}")


@digest.command("remove")
@click.argument("channel_id", type=int)
def digest_remove(channel_id: int) -> None:
    """Stop sending to a channel and forget its webhook."""
    from sync.digest import remove_channel

    services: Services = services_of(open_app())
    with services.store.session() as session:
        if not remove_channel(session, channel_id):
            raise click.ClickException(f"no digest channel {channel_id}")
    click.echo(f"removed digest channel {channel_id}")


def _current_digest(services: Services, site: str | None, team: str) -> tuple[int, Digest]:
    from sync.digest import load_digest

    site_id = _site_id(services, site)
    now = services.jobs.ports.clock.now()
    year, week, _ = now.isocalendar()
    with services.store.session() as session:
        content = load_digest(
            session,
            site_id,
            team,
            end=now,
            week=f"{year}-W{week:02d}",
            links=services.digest.links(site_id, team),
            people=services.jobs.ports.people,
        )
    if content is None:
        raise click.ClickException(f"team {team} has no OKRs on this site")
    return site_id, content


@digest.command("preview")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option("--team", required=True)
@click.option(
    "--format",
    "fmt",
    default="text",
    show_default=True,
    type=click.Choice(["slack", "teams", "text"]),
)
@click.option(
    "--lang",
    default=None,
    type=click.Choice(LANGS),
    help="Default: the team's first channel's language, else en.",
)
def digest_preview(site: str | None, team: str, fmt: str, lang: str | None) -> None:
    """Print exactly what would be sent now (JSON for slack and teams)."""
    from connect.chat.digest import outline_of, render, text_message
    from sync.digest import list_channels

    services: Services = services_of(open_app())
    site_id, content = _current_digest(services, site, team)
    if lang is None:
        with services.store.session() as session:
            own = [c for c in list_channels(session, site_id) if c.team == team]
        lang = own[0].lang if own else "en"
    if fmt == "text":
        click.echo(text_message(outline_of(content, lang)), nl=False)
    else:
        click.echo(json.dumps(render(content, fmt, lang), ensure_ascii=False, indent=2))


@digest.command("send")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option("--team", required=True)
def digest_send(site: str | None, team: str) -> None:
    """Send the team's digest to each of its channels now (the weekly one still goes out)."""
    services: Services = services_of(open_app())
    site_id, _ = _current_digest(services, site, team)
    outcomes = services.digest.send_now(site_id, team)
    if not outcomes:
        raise click.ClickException(
            f"team {team} has no active digest channel: add one with `okrlink digest add`"
        )
    for channel_id, outcome in outcomes:
        click.echo(f"channel {channel_id}: {outcome}")
    if any(outcome != "sent" for _, outcome in outcomes):
        raise SystemExit(1)
