"""`okrlink cycle close`: grade a team's cycle, keep its retrospective, carry KRs over."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from connect.cli.common import open_app
from connect.services import services_of


def _scores(scores: tuple[str, ...], reasons: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """`--score PLAT-1.1=0.7` and `--reason PLAT-1.1=text` as the API's `scores` object."""
    out: dict[str, dict[str, Any]] = {}
    for option, items in (("--score", scores), ("--reason", reasons)):
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise click.BadParameter(f"{item!r}: write KEY=VALUE", param_hint=option)
            entry = out.setdefault(key.strip(), {})
            if option == "--reason":
                entry["reason"] = value
                continue
            try:
                entry["score"] = float(value)
            except ValueError:
                raise click.BadParameter(
                    f"{item!r}: the score is a number from 0 to 1", param_hint=option
                ) from None
    for key, entry in out.items():
        if "score" not in entry:
            raise click.BadParameter(
                f"{key} has a reason but no --score {key}=...", param_hint="--reason"
            )
    return out


@click.group()
def cycle() -> None:
    """Close a team's cycle."""


@cycle.command()
@click.option("--team", required=True, help="The team key, e.g. PLAT.")
@click.option("--cycle", "cycle_name", required=True, help="The cycle, e.g. 2026-Q4.")
@click.option("--site", default=None, help="clientKey, base URL or name of the site.")
@click.option(
    "--score",
    "scores",
    multiple=True,
    metavar="KR=SCORE",
    help="A final score other than the derived one (needs --reason).",
)
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    metavar="KR=TEXT",
    help="Why the final score differs from the derived one.",
)
@click.option("--learned", default="", help="Retrospective: what we learned.")
@click.option("--differently", default="", help="Retrospective: what we would do differently.")
@click.option(
    "--carry",
    "carry",
    multiple=True,
    metavar="KR",
    help="A KR to carry into the next cycle (repeat for several).",
)
@click.option("--space", default="", help="Publish the retrospective in this Confluence space.")
def close(
    team: str,
    cycle_name: str,
    site: str | None,
    scores: tuple[str, ...],
    reasons: tuple[str, ...],
    learned: str,
    differently: str,
    carry: tuple[str, ...],
    space: str,
) -> None:
    """Close TEAM's CYCLE: final scores, retrospective, carried KRs; the cycle turns read-only."""
    from sync import cycles
    from sync.db.store import find_cycle, find_site, find_team
    from sync.engine.snapshots import recompute

    data = {
        "scores": _scores(scores, reasons),
        "retro": {"learned": learned, "differently": differently, "space": space},
        "carry_over": list(carry),
    }
    app = open_app()
    now = datetime.now(UTC)
    request = cycles.parse_close(data)
    with services_of(app).store.session() as session:
        site_id = find_site(session, site).id
        cycle_row = find_cycle(session, site_id, cycle_name)
        if cycle_row is None:
            raise click.ClickException(f"no cycle {cycle_name}")
        if find_team(session, site_id, team) is None:
            raise click.ClickException(f"no team {team}")
        report = cycles.close_cycle(
            session, site_id, team=team, cycle=cycle_row, request=request, author=None, at=now
        )
        recompute(session, site_id, [kr.id for kr in [*report.scored, *report.carried]], now=now)
        for kr in report.scored:
            click.echo(f"{kr.key}: final score {kr.final_score:.2f}")
        next_name = report.next_cycle.name if report.next_cycle else ""
        for kr in report.carried:
            click.echo(f"{kr.key}: carried into {next_name}")
    click.echo(f"{team} {cycle_name} closed")
    if space:
        from sync.retro import publish_closed_cycle

        with app.app_context():
            page = publish_closed_cycle(services_of(app).jobs, site_id, team=team, cycle=cycle_name)
        if "url" in page:
            click.echo(f"retrospective: {page['url']}")
        elif page["status"] == "pending":
            click.echo(f"retrospective: {page['error']} (retried later)")
        else:
            click.echo(f"retrospective: {page['error']} (parked: okrlink outbound failed)")
