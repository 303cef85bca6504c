"""A team's closed cycle as it is read back (final scores with their reasons, the
retrospective, the KRs carried over) and its publication as a Confluence page.

The page is a durable write-back: closing a cycle with a space records a `retro_page` outbound
row in the same transaction as the close, and the outbound machinery (`sync/engine/jobs.py`)
performs it through its writer (`sync/write/retro_page.py`), retries it with backoff
(honouring `Retry-After`) and parks it when Confluence refuses for good. Where the page is,
once published, is kept on the close; why it is not yet is the row's last error. The write
goes through the `Wiki` port, which finds a page of the same title before it creates one, so
a retry after a lost answer does not publish twice. `publish_closed_cycle` tries it at once
for a door that wants the page's address in its answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import Cycle, CycleClose, KeyResult, Objective, Outbound, Team
from sync.db.upsert import insert_ignore

if TYPE_CHECKING:
    from sync.engine.jobs import Jobs

RETRO_PAGE = "retro_page"
"""The outbound kind of a retrospective's Confluence page; its target is `TEAM/CYCLE`."""

_ERROR_CLASS = re.compile(r"^(?:Transient|RateLimited|Permanent|SourceMissing|\w+Error): ")

PublicationStatus = Literal["published", "pending", "failed"]


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
class RetroObjective:
    """An objective of the closed cycle and its why, as the team wrote it."""

    key: str
    title: str
    description: str | None


@dataclass(frozen=True, slots=True)
class PublishedPage:
    """A Confluence page: its content id and the address people open."""

    id: str
    url: str


@dataclass(frozen=True, slots=True)
class Publication:
    """Where the retrospective's page is, or why it is not there yet.

    `pending`: queued or being retried (`error` says what the last try met, if any);
    `failed`: parked after a refusal, waiting for `okrlink outbound retry` (`outbound_id`).
    """

    status: PublicationStatus
    space: str
    page: PublishedPage | None = None
    error: str | None = None
    outbound_id: int | None = None

    def answer(self) -> dict[str, Any]:
        """The close answer's `retro_page`: `{"id", "url"}` once published, else `{"error"}`;
        both with the `status`."""
        if self.page is not None:
            return {"id": self.page.id, "url": self.page.url, "status": self.status}
        error = self.error or f"not yet published to the Confluence space {self.space}"
        return {"error": error, "status": self.status}


@dataclass(frozen=True, slots=True)
class RetroView:
    team: str
    cycle: str
    closed_at: datetime
    learned: str
    differently: str
    krs: tuple[GradedKr, ...]
    publication: Publication | None = None
    objectives: tuple[RetroObjective, ...] = ()


def retro_target(team: str, cycle: str) -> str:
    """The outbound target of a team's cycle (team keys never hold a `/`)."""
    return f"{team}/{cycle}"


def retro_title(team: str, cycle: str) -> str:
    """The page's title: unique in its space, so it also finds a page published before."""
    return f"{team} {cycle} retrospective"


def request_publication(
    session: Session, closed: CycleClose, *, team: str, cycle: str, space: str, now: datetime
) -> None:
    """Keep the chosen space on the close and queue the page's write-back, in the close's
    transaction: once the close is acknowledged, its publication cannot be lost."""
    closed.retro_space = space
    insert_ignore(
        session,
        Outbound,
        [
            {
                "site_id": closed.site_id,
                "kind": RETRO_PAGE,
                "target": retro_target(team, cycle),
                "due_at": now,
                "attempts": 0,
            }
        ],
        unique=("site_id", "kind", "target"),
    )


def close_of(session: Session, site_id: int, *, team: str, cycle: str) -> CycleClose | None:
    return session.scalar(
        select(CycleClose)
        .join(Team, Team.id == CycleClose.team_id)
        .join(Cycle, Cycle.id == CycleClose.cycle_id)
        .where(CycleClose.site_id == site_id, Team.key == team, Cycle.name == cycle)
    )


def publication_of(
    session: Session, closed: CycleClose, *, team: str, cycle: str
) -> Publication | None:
    """Where the close's page is, or why not yet; None when no space was chosen."""
    if closed.retro_page_id:
        page = PublishedPage(id=closed.retro_page_id, url=closed.retro_page_url or "")
        return Publication(status="published", space=closed.retro_space or "", page=page)
    if not closed.retro_space:
        return None
    row = session.scalar(
        select(Outbound).where(
            Outbound.site_id == closed.site_id,
            Outbound.kind == RETRO_PAGE,
            Outbound.target == retro_target(team, cycle),
        )
    )
    if row is None:  # written without a page (nothing to publish): shown as still to come
        return Publication(status="pending", space=closed.retro_space)
    error = _ERROR_CLASS.sub("", row.last_error) if row.last_error else None
    return Publication(
        status="failed" if row.failed_at else "pending",
        space=closed.retro_space,
        error=error,
        outbound_id=row.id,
    )


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
        .where(
            KeyResult.site_id == site_id,
            KeyResult.cycle_id == cycle_row.id,
            Objective.team_id == closed.team_id,
        )
        .order_by(Objective.position, KeyResult.position)
    ).all()
    objectives = session.scalars(
        select(Objective)
        .where(
            Objective.site_id == site_id,
            Objective.cycle_id == cycle_row.id,
            Objective.team_id == closed.team_id,
        )
        .order_by(Objective.position, Objective.key)
    ).all()
    carried = set(
        session.scalars(
            select(KeyResult.carried_from_id).where(
                KeyResult.site_id == site_id,
                KeyResult.carried_from_id.in_([kr.id for kr, _o in krs]),
            )
        )
    )
    return RetroView(
        team=team,
        cycle=cycle_row.name,
        closed_at=closed.closed_at,
        learned=closed.learned,
        differently=closed.differently,
        krs=tuple(
            GradedKr(
                key=kr.key,
                title=kr.title,
                objective=objective,
                score=kr.final_score,
                reason=kr.final_score_reason,
                abandoned=kr.state == "abandoned",
                carried=kr.id in carried,
            )
            for kr, objective in krs
        ),
        publication=publication_of(session, closed, team=team, cycle=cycle_row.name),
        objectives=tuple(
            RetroObjective(key=o.key, title=o.title, description=o.description) for o in objectives
        ),
    )


def publish_closed_cycle(jobs: Jobs, site_id: int, *, team: str, cycle: str) -> dict[str, Any]:
    """Publish a closed cycle's retrospective at once, for a door that wants the page's
    address in its answer: `{"id", "url", "status"}` of the page, or `{"error", "status"}`
    saying why there is none yet (`pending`: retried later; `failed`: parked for an operator).

    Closing a cycle with a space queues the page as a durable write-back; the doors (API,
    form, CLI) then try it at once. A refusal leaves the write-back queued (retried with
    backoff) or parked (listed by `okrlink outbound failed`); the answer says which.
    """
    jobs.write_now(site_id, RETRO_PAGE, retro_target(team, cycle))
    with jobs.store.session() as session:
        retro = load_retro(session, site_id, team=team, cycle=cycle)
    if retro is None:
        return {"error": f"{team} has not closed {cycle}", "status": "failed"}
    if retro.publication is None:
        return {"error": "no Confluence space was chosen for the retrospective", "status": "failed"}
    return retro.publication.answer()
