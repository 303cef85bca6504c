"""A team's closed cycle as pages show it: final scores with their reasons, the retrospective,
the KRs carried into the next cycle (the panel's `view=retro`, the closed project page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.model import Cycle, CycleClose, KeyResult, Objective, Team


@dataclass(frozen=True, slots=True)
class GradedKr:
    key: str
    title: str
    objective: str
    score: float | None
    reason: str | None
    abandoned: bool
    carried: bool


@dataclass(frozen=True, slots=True)
class RetroView:
    team: str
    cycle: str
    closed_at: datetime
    learned: str
    differently: str
    krs: tuple[GradedKr, ...]


def load_retro(session: Session, site_id: int, *, team: str, cycle: str) -> RetroView | None:
    """The team's closed cycle (named, else its latest closed one); None while it is open."""
    query = (
        select(CycleClose, Cycle)
        .join(Team, Team.id == CycleClose.team_id)
        .join(Cycle, Cycle.id == CycleClose.cycle_id)
        .where(CycleClose.site_id == site_id, Team.key == team)
        .order_by(Cycle.start.desc())
    )
    if cycle:
        query = query.where(Cycle.name == cycle)
    row = session.execute(query.limit(1)).first()
    if row is None:
        return None
    closed, cycle_row = row
    krs = session.execute(
        select(KeyResult, Objective.key)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .where(KeyResult.site_id == site_id, KeyResult.cycle_id == cycle_row.id,
               Objective.team_id == closed.team_id)
        .order_by(Objective.position, KeyResult.position)
    ).all()  # fmt: skip
    carried = set(
        session.scalars(
            select(KeyResult.carried_from_id).where(
                KeyResult.site_id == site_id,
                KeyResult.carried_from_id.in_([kr.id for kr, _o in krs]),
            )
        )
    )
    return RetroView(
        team=team, cycle=cycle_row.name, closed_at=closed.closed_at, learned=closed.learned,
        differently=closed.differently,
        krs=tuple(GradedKr(key=kr.key, title=kr.title, objective=objective, score=kr.final_score,
                           reason=kr.final_score_reason, abandoned=kr.state == "abandoned",
                           carried=kr.id in carried) for kr, objective in krs),
    )  # fmt: skip
