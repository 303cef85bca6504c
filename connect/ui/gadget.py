"""The Jira dashboard gadget, as both doors show it: its settings (team, cycle, compact or
full) and the form that sets them; the panel it draws is the OKR panel itself, rendered and
cached by `connect/ui/panel_page.py` like the Confluence macro's static rendering.

Where the settings live is the host's: a Connect dashboard item keeps them in a dashboard item
property (`okrlink-gadget`), read and written by the gadget's page through Jira's REST API as
the person viewing it, so Jira alone decides who may change a dashboard's gadgets; a Forge
gadget keeps them in its gadget configuration, submitted from its edit view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import Cycle, Objective, Team

PROPERTY_KEY: Final = "okrlink-gadget"
"""The dashboard item property a Connect gadget keeps its settings in."""
VIEWS: Final = ("compact", "full")
CYCLE_LIMIT: Final = 64

View = Literal["compact", "full"]


@dataclass(frozen=True, slots=True)
class GadgetConfig:
    """What one gadget shows: a team, a cycle (blank: the current one), compact or full."""

    team: str = ""
    cycle: str = ""
    view: View = "full"

    @classmethod
    def of(cls, values: Mapping[str, object]) -> GadgetConfig:
        """The settings in `values` (a gadget configuration, a property value); anything odd
        is left at its default, the panel's own parameter checks refuse a bad team."""
        team, cycle, view = (values.get(name) for name in ("team", "cycle", "view"))
        return cls(
            team=team.strip() if isinstance(team, str) else "",
            cycle=cycle.strip()[:CYCLE_LIMIT] if isinstance(cycle, str) else "",
            view="compact" if view == "compact" else "full",
        )


def choices(session: Session, site_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The teams with objectives, and the cycles, of the site: what the form offers (two
    queries)."""
    teams = session.scalars(
        select(Team.key)
        .where(Team.site_id == site_id)
        .where(select(Objective.id).where(Objective.team_id == Team.id).exists())
        .order_by(Team.key)
    )
    cycles = session.scalars(
        select(Cycle.name).where(Cycle.site_id == site_id).order_by(Cycle.start.desc())
    )
    return tuple(teams), tuple(cycles)
