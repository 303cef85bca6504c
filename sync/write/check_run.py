"""What a pull request's check run says: each linked KR now, and with the PR's work done."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.core import progress as core
from sync.db.model import Cycle, KeyResult, Link, Objective, PullRequest, utcnow
from sync.engine.snapshots import linked_issue_states
from sync.people import display, names_for
from sync.ports import People

LEAD_TIME = "lead_time_hours"


@dataclass(frozen=True, slots=True)
class KrImpact:
    """One KR a PR touches: where it stands and where it would stand with the PR's work."""

    key: str
    title: str
    objective_title: str
    progress_now: float
    progress_if_done: float
    status: str
    owner: str | None = None
    url: str | None = None


def impacts_for(
    session: Session,
    site_id: int,
    pull: PullRequest,
    *,
    people: People | None = None,
    now: datetime | None = None,
) -> list[KrImpact]:
    """The KRs linked to the PR (any source), newest cycle first, in objective order; each
    owner by name (`sync.people`), never an account id."""
    linked = select(Link.kr_id).where(
        Link.site_id == site_id, Link.target_kind == "github", Link.target_key == pull.ref
    )
    rows = session.execute(
        select(KeyResult, Objective)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(
            KeyResult.site_id == site_id,
            KeyResult.id.in_(linked),
            KeyResult.state != "abandoned",
        )
        .order_by(Cycle.start.desc(), Objective.position, KeyResult.position, KeyResult.id)
    ).all()
    done_keys = set(pull.jira_keys)
    names = names_for(
        session, site_id, [kr.owner for kr, _o in rows], people=people, now=now or utcnow()
    )
    return [
        KrImpact(
            key=kr.key,
            title=kr.title,
            objective_title=objective.title,
            progress_now=kr.progress,
            progress_if_done=progress_if_done(session, kr, pull, done_keys=done_keys),
            status=kr.status,
            owner=display(kr.owner, names),
        )
        for kr, objective in rows
    ]


def progress_if_done(
    session: Session, kr: KeyResult, pull: PullRequest, *, done_keys: Collection[str]
) -> float:
    """The KR's progress once the PR's Jira issues are done (and, for a PR count, it merges).

    `issues` KRs recompute the tally with those issues marked done; a `github` KR counting
    merged PRs counts this open PR as merged; any other KR stays where it is.
    """
    if kr.kind == "issues":
        states = linked_issue_states(session, kr.site_id, kr.id)
        if not any(state.key in done_keys and not state.done for state in states):
            return kr.progress
        marked = [s._replace(done=True) if s.key in done_keys else s for s in states]
        return core.issues_progress(marked).progress
    counts_prs = kr.kind == "github" and kr.measure != LEAD_TIME
    if counts_prs and pull.state == "open" and not pull.merged:
        if kr.baseline is None or kr.target is None or kr.baseline == kr.target:
            return kr.progress
        current = (kr.current or 0.0) + 1.0
        return core.metric_progress(baseline=kr.baseline, target=kr.target, current=current)
    return kr.progress
