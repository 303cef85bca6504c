"""The sync engine: derive KR snapshots from current state, record history, plan write-backs.

Progress is always *derived* from the current state of linked work (never incremented), so an
event applied twice, late or out of order converges on the same snapshot.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, literal, select
from sqlalchemy.orm import Session

from sync import progress as core
from sync.model import (
    CheckIn,
    Cycle,
    KeyResult,
    Link,
    Outbound,
    PullRequest,
    Snapshot,
    WorkItem,
)
from sync.upsert import insert_ignore

DONE_CATEGORY = "done"


@dataclass(frozen=True, slots=True)
class Derived:
    """What a KR's snapshot is derived to be right now."""

    progress: float
    score: float
    status: str
    current: float | None
    done: float | None = None
    total: float | None = None

    def differs_from(self, kr: KeyResult) -> bool:
        return (
            round(kr.progress, 4) != self.progress
            or round(kr.score, 4) != self.score
            or kr.status != self.status
            or kr.current != self.current
            or kr.done != self.done
            or kr.total != self.total
        )


def linked_issue_states(session: Session, site_id: int, kr_id: int) -> list[core.IssueState]:
    """Linked issues, with a linked item that has children standing for those children.

    One statement: two indexed lookups (by key, by parent) over the KR's linked keys, rather
    than one OR that would scan the table; cost grows with this KR's issues only.
    """
    linked = select(Link.target_key).where(
        Link.site_id == site_id, Link.kr_id == kr_id, Link.target_kind == "jira"
    )
    columns = (WorkItem.key, WorkItem.status_category, WorkItem.story_points, WorkItem.parent_key)
    live = (WorkItem.site_id == site_id, WorkItem.deleted.is_(False))
    rows = session.execute(
        select(*columns, literal(False).label("child"))
        .where(*live, WorkItem.key.in_(linked))
        .union_all(
            select(*columns, literal(True).label("child")).where(
                *live, WorkItem.parent_key.in_(linked)
            )
        )
    ).all()
    parents_with_children = {parent for _k, _s, _p, parent, child in rows if child}
    return [
        core.IssueState(
            key=key, done=category == DONE_CATEGORY, story_points=points, parent_key=parent
        )
        for key, category, points, parent, _child in rows
        if key not in parents_with_children
    ]


def _github_current(session: Session, kr: KeyResult, cycle: Cycle) -> float | None:
    """Merged PRs linked to the KR in the cycle: their count, or their median lead time."""
    linked = select(Link.target_key).where(Link.kr_id == kr.id, Link.target_kind == "github")
    pairs = session.execute(
        select(PullRequest.opened_at, PullRequest.merged_at).where(
            PullRequest.site_id == kr.site_id,
            PullRequest.merged.is_(True),
            PullRequest.ref.in_(linked),
        )
    ).all()
    in_cycle = [
        (opened, merged)
        for opened, merged in pairs
        if merged is not None and cycle.start <= merged.date() <= cycle.end
    ]
    if kr.measure == "lead_time_hours":
        return core.median_lead_time_hours((o, m) for o, m in in_cycle if o is not None)
    return float(len(in_cycle))


def derive(session: Session, kr: KeyResult, cycle: Cycle, *, now: datetime) -> Derived:
    """The snapshot this KR should have now, from current state and its latest check-in."""
    latest = session.scalar(
        select(CheckIn).where(CheckIn.kr_id == kr.id).order_by(CheckIn.at.desc()).limit(1)
    )
    done = total = None
    current = kr.current
    if kr.kind == "issues":
        tally = core.issues_progress(linked_issue_states(session, kr.site_id, kr.id))
        value, done, total = tally.progress, tally.done, tally.total
    else:
        if kr.kind == "github":
            measured = _github_current(session, kr, cycle)
            current = measured if measured is not None else current
        if kr.baseline is None or kr.target is None or kr.baseline == kr.target:
            value = 0.0
        else:
            value = core.metric_progress(baseline=kr.baseline, target=kr.target, current=current)
    snapshot = core.snapshot_for(
        progress=value,
        start=cycle.start,
        end=cycle.end,
        today=now.date(),
        checkin_status=latest.status if latest else None,  # type: ignore[arg-type]
        checkin_at=latest.at if latest else None,
    )
    score = snapshot.score
    if latest is not None and latest.score is not None:
        score = round(core.score(latest.score), 4)
    return Derived(snapshot.progress, score, snapshot.status, current, done, total)


def recompute(session: Session, site_id: int, kr_ids: Iterable[int], *, now: datetime) -> list[int]:
    """Re-derive the given KRs; record history and plan write-backs for those that changed."""
    ids = sorted(set(kr_ids))
    if not ids:
        return []
    rows = session.execute(
        select(KeyResult, Cycle)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(KeyResult.site_id == site_id, KeyResult.id.in_(ids))
    ).all()
    changed: list[int] = []
    for kr, cycle in rows:
        derived = derive(session, kr, cycle, now=now)
        if kr.total_at_start is None and derived.total is not None:
            kr.total_at_start = derived.total
        if kr.snapshot_at is not None and not derived.differs_from(kr):
            continue
        kr.progress, kr.score, kr.status = derived.progress, derived.score, derived.status
        kr.current, kr.done, kr.total = derived.current, derived.done, derived.total
        kr.version += 1
        kr.snapshot_at = now
        session.add(
            Snapshot(
                site_id=site_id,
                kr_id=kr.id,
                at=now,
                progress=kr.progress,
                score=kr.score,
                status=kr.status,
                current=kr.current,
            )
        )
        changed.append(kr.id)
    if changed:
        plan_write_backs(session, site_id, changed, now=now)
    return changed


def plan_write_backs(
    session: Session, site_id: int, kr_ids: Collection[int], *, now: datetime
) -> None:
    """Queue one coalesced write per linked issue and per open PR of the changed KRs."""
    targets = session.execute(
        select(Link.target_kind, Link.target_key)
        .where(Link.site_id == site_id, Link.kr_id.in_(kr_ids))
        .distinct()
    ).all()
    rows = [
        {
            "site_id": site_id,
            "kind": "issue_property" if kind == "jira" else "check_run",
            "target": key,
            "due_at": now,
            "attempts": 0,
        }
        for kind, key in targets
    ]
    insert_ignore(session, Outbound, rows, ("site_id", "kind", "target"))


def krs_linked_to(session: Session, site_id: int, keys: Collection[str]) -> set[int]:
    """KRs whose links name any of these Jira keys (issues, or epics as parents)."""
    if not keys:
        return set()
    return set(
        session.scalars(
            select(Link.kr_id).where(
                Link.site_id == site_id, Link.target_kind == "jira", Link.target_key.in_(keys)
            )
        )
    )


def drop_outbound(session: Session, site_id: int, kind: str, target: str) -> None:
    session.execute(
        delete(Outbound).where(
            Outbound.site_id == site_id, Outbound.kind == kind, Outbound.target == target
        )
    )
