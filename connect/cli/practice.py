"""`okrlink practice set` and `show`: a site's practice thresholds."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click

from connect.cli.common import open_app
from connect.services import services_of

if TYPE_CHECKING:
    from sync.core.practice import Profile

KRS_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


@click.group()
def practice() -> None:
    """A site's practice profile: objectives per team, KRs per objective."""


@practice.command("set")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option(
    "--max-objectives",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Objectives per team and cycle (a company-level team may have 5).",
)
@click.option(
    "--krs",
    default="3-5",
    show_default=True,
    metavar="MIN-MAX",
    help="Active KRs per objective, e.g. 2-5.",
)
def set_profile(site: str | None, max_objectives: int, krs: str) -> None:
    """Set the thresholds of SITE's practice notes."""
    from sync.core.practice import Profile
    from sync.db.store import find_site
    from sync.errors import Invalid
    from sync.profiles import set_site_profile

    match = KRS_RANGE.match(krs)
    if match is None:
        raise click.BadParameter(f"{krs!r}: write MIN-MAX, e.g. 2-5", param_hint="--krs")
    profile = Profile(
        max_objectives=max_objectives, min_krs=int(match.group(1)), max_krs=int(match.group(2))
    )
    app = open_app()
    try:
        with services_of(app).store.session() as session:
            site_row = find_site(session, site)
            set_site_profile(session, site_row.id, profile)
            name = site_row.name
    except Invalid as exc:
        hint = f"--{(exc.field or 'krs').replace('_', '-')}"
        raise click.BadParameter(str(exc), param_hint=hint) from exc
    click.echo(_describe(name, profile))


@practice.command("show")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
def show_profile(site: str | None) -> None:
    """Print SITE's practice thresholds."""
    from sync.db.store import find_site
    from sync.profiles import site_profile

    app = open_app()
    with services_of(app).store.session() as session:
        site_row = find_site(session, site)
        click.echo(_describe(site_row.name, site_profile(session, site_row.id)))


def _describe(site: str, profile: Profile) -> str:
    return (
        f"{site}: at most {profile.max_objectives} objectives per team "
        f"(5 for a company-level team), "
        f"{profile.min_krs}-{profile.max_krs} KRs per objective"
    )
