"""The sync engine: derive KR snapshots from current state, record history, plan write-backs.

Progress is always *derived* from the current state of linked work (never incremented), so an
event applied twice, late or out of order converges on the same snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Row,
    Table,
    bindparam,
    case,
    delete,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from sync.core import dora as dora_core
from sync.core import progress as core
from sync.db.model import (
    Base,
    CheckIn,
    Cycle,
    GeckoboardDataset,
    KeyResult,
    Kpi,
    Link,
    Objective,
    Outbound,
    PullRequest,
    Snapshot,
    Team,
    WorkItem,
)
from sync.db.raw import RawQuery

DONE_CATEGORY = "done"
# Links whose targets count in an issues KR: Jira issues and epics, Asana tasks and projects
# (work items keyed `asana:<gid>`, a project's tasks having it as their parent).
ISSUE_LIKE_KINDS = ("jira", "asana")
ASANA_GOAL_KIND = "asana_goal"
GECKOBOARD_KIND = "geckoboard"


@dataclass(frozen=True, slots=True)
class Derived:
    """What a KR's snapshot is derived to be right now."""

    progress: float
    score: float
    status: str
    current: float | None
    done: float | None = None
    total: float | None = None

    def differs_from(self, kr: Row[*tuple[Any, ...]] | KeyResult) -> bool:
        return (
            round(kr.progress, 4) != self.progress
            or round(kr.score, 4) != self.score
            or kr.status != self.status
            or kr.current != self.current
            or kr.done != self.done
            or kr.total != self.total
        )


def _table(model: type[Base]) -> Table:
    """The model's table, typed as a Table (the declarative base types it as a FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


# A row of a RawQuery: plain values straight from the DB-API cursor.
_PlainRow = tuple[Any, ...]

_LINK = _table(Link)
_ITEM = _table(WorkItem)
_ITEM_COLUMNS = (_ITEM.c.key, _ITEM.c.status_category, _ITEM.c.story_points, _ITEM.c.parent_key)
_LIVE = (_ITEM.c.site_id == bindparam("site_id"), _ITEM.c.deleted.is_(False))
# Two indexed lookups (by key, by parent) over the KR's linked keys, rather than one OR that
# would scan the table: the cost grows with this KR's issues only, never the tenant's.
_LINKED_ITEMS = RawQuery(
    union_all(
        select(*_ITEM_COLUMNS, literal(False).label("child")).where(
            *_LIVE, _ITEM.c.key.in_(bindparam("keys", expanding=True))
        ),
        select(*_ITEM_COLUMNS, literal(True).label("child")).where(
            *_LIVE, _ITEM.c.parent_key.in_(bindparam("keys", expanding=True))
        ),
    )
)  # plain values only: rows straight from the DB-API cursor


_LINKED_KEYS_OF = RawQuery(
    select(_LINK.c.kr_id, _LINK.c.target_key).where(
        _LINK.c.site_id == bindparam("site_id"),
        _LINK.c.kr_id.in_(bindparam("kr_ids", expanding=True)),
        _LINK.c.target_kind.in_(ISSUE_LIKE_KINDS),
    )
)


def linked_issue_states(session: Session, site_id: int, kr_id: int) -> list[core.IssueState]:
    """Linked issues, with a linked item that has children standing for those children."""
    return linked_issue_states_of(session, site_id, [kr_id]).get(kr_id, [])


def linked_issue_states_of(
    session: Session, site_id: int, kr_ids: Collection[int]
) -> dict[int, list[core.IssueState]]:
    """`linked_issue_states` of several KRs, in two statements however many KRs.

    The linked keys are read first and then looked up as a list: with a subquery in their
    place, PostgreSQL's generic plan for the prepared statement scans the items table.
    """
    keys_of: dict[int, dict[str, None]] = {}
    for kr_id, key in _LINKED_KEYS_OF.rows(session, {"site_id": site_id, "kr_ids": list(kr_ids)}):
        keys_of.setdefault(kr_id, {})[key] = None
    if not keys_of:
        return {}
    every_key = sorted({key for keys in keys_of.values() for key in keys})
    rows = _LINKED_ITEMS.rows(session, {"site_id": site_id, "keys": every_key})
    if len(keys_of) == 1:  # the common case: every row is this KR's
        return {kr_id: _issue_states(rows) for kr_id in keys_of}
    by_key: dict[str, _PlainRow] = {}
    children_of: dict[str, list[_PlainRow]] = {}
    for row in rows:
        if row[4]:  # child
            children_of.setdefault(row[3], []).append(row)
        else:
            by_key[row[0]] = row
    states = {}
    for kr_id, keys in keys_of.items():
        direct = [by_key[key] for key in keys if key in by_key]
        children = [child for key in keys for child in children_of.get(key, ())]
        states[kr_id] = _issue_states(direct + children)
    return states


def issue_states_of_keys(
    session: Session, site_id: int, keys: Collection[str]
) -> list[core.IssueState]:
    """The states `linked_issue_states` gives for these keys, as if a KR linked them (the KR
    preview of issues typed but not linked yet)."""
    if not keys:
        return []
    return _issue_states(_LINKED_ITEMS.rows(session, {"site_id": site_id, "keys": sorted(keys)}))


def _issue_states(rows: Iterable[_PlainRow]) -> list[core.IssueState]:
    """Issue states from `_LINKED_ITEMS` rows: a linked item with children stands for them."""
    parents_with_children = {parent for _k, _s, _p, parent, child in rows if child}
    state = core.IssueState
    return [
        state(key, category == DONE_CATEGORY, points, parent)
        for key, category, points, parent, _child in rows
        if key not in parents_with_children
    ]


_KR = _table(KeyResult)
_CYCLE = _table(Cycle)
_CHECKIN = _table(CheckIn)
_SNAPSHOT = _table(Snapshot)


# Built once: recompute runs on every applied event, so its statements skip ORM construction.
def _latest_checkin(column: Any) -> Any:
    """The KR's latest check-in's value of `column`, as a correlated subquery."""
    return (
        select(column)
        .where(_CHECKIN.c.kr_id == _KR.c.id)
        .order_by(_CHECKIN.c.at.desc(), _CHECKIN.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


_LOAD_KRS = (
    select(
        _KR.c.id,
        _KR.c.site_id,
        _KR.c.kind,
        _KR.c.baseline,
        _KR.c.target,
        _KR.c.current,
        _KR.c.measure,
        _KR.c.params,
        _KR.c.kpi,
        _KR.c.progress,
        _KR.c.score,
        _KR.c.status,
        _KR.c.done,
        _KR.c.total,
        _KR.c.total_at_start,
        _KR.c.snapshot_at,
        _CYCLE.c.start,
        _CYCLE.c.end,
        _latest_checkin(_CHECKIN.c.status).label("checkin_status"),
        _latest_checkin(_CHECKIN.c.score).label("checkin_score"),
    )
    .select_from(_KR.join(_CYCLE, _CYCLE.c.id == _KR.c.cycle_id))
    .where(_KR.c.site_id == bindparam("site_id"), _KR.c.id.in_(bindparam("ids", expanding=True)))
)
_STORE_SNAPSHOT = (
    update(_KR)
    .where(_KR.c.id == bindparam("kr_id"))
    .values(
        progress=bindparam("progress"),
        score=bindparam("score"),
        status=bindparam("status"),
        current=bindparam("current"),
        done=bindparam("done"),
        total=bindparam("total"),
        total_at_start=bindparam("total_at_start"),
        snapshot_at=bindparam("at"),
        updated_at=bindparam("at"),
        version=_KR.c.version + 1,
    )
)


def _github_current(
    session: Session,
    *,
    site_id: int,
    kr_id: int | None,
    measure: str | None,
    start: date,
    end: date,
) -> float | None:
    """Merged PRs linked to the KR in the cycle: their count, or their median lead time."""
    linked = select(Link.target_key).where(Link.kr_id == kr_id, Link.target_kind == "github")
    pairs = session.execute(
        select(PullRequest.opened_at, PullRequest.merged_at).where(
            PullRequest.site_id == site_id,
            PullRequest.merged.is_(True),
            PullRequest.ref.in_(linked),
        )
    ).all()
    in_cycle = [
        (opened, merged)
        for opened, merged in pairs
        if merged is not None and start <= merged.date() <= end
    ]
    if measure == "lead_time_hours":
        return core.median_lead_time_hours((o, m) for o, m in in_cycle if o is not None)
    return float(len(in_cycle))


@dataclass(slots=True)
class _Measures:
    """What features teach the engine at import, so the engine imports none of them: how a
    named measure is read (the DORA keys, `sync/dora/keys.py`), and what to refresh before a
    recompute (stale KPIs, `sync/kpis.py`)."""

    by_name: dict[str, Callable[..., float | None]]
    refreshes: list[Callable[..., set[int]]]


MEASURES = _Measures(by_name={}, refreshes=[])


def measure_with(names: Iterable[str], measure: Callable[..., float | None]) -> None:
    """Read the KRs whose `measure` is one of `names` with `measure(session, site_id, name,
    params, now=...)` (a feature registers its own at import)."""
    for name in names:
        MEASURES.by_name[name] = measure


def refresh_before_recompute(refresh: Callable[..., set[int]]) -> None:
    """Call `refresh(session, site_id, now=...)` before each recompute; it returns the ids of
    further KRs to re-derive (a feature registers its own at import)."""
    if refresh not in MEASURES.refreshes:
        MEASURES.refreshes.append(refresh)


def _kpi_current(session: Session, *, site_id: int, key: str) -> float | None:
    """The current value of the KPI a KR takes its value from ("some KPIs become KRs")."""
    return session.scalar(select(Kpi.current).where(Kpi.site_id == site_id, Kpi.key == key))


def measured_current(
    session: Session,
    *,
    site_id: int,
    kr_id: int | None,
    kind: str,
    measure: str | None,
    params: Mapping[str, Any] | None,
    kpi: str | None,
    start: date,
    end: date,
    now: datetime,
) -> float | None:
    """What a metric-like KR's source gives now: the KPI it follows, a DORA key, or its linked
    PRs; None when nothing is measured (a metric or JQL KR keeps its stored value). The KR
    preview asks this too (`kr_id` None: a KR not saved yet, with no links)."""
    if kpi:
        return _kpi_current(session, site_id=site_id, key=kpi)
    if kind == "github" and measure in dora_core.KEYS:
        read = MEASURES.by_name.get(measure)
        if read is None:
            raise LookupError(f"no measure registered for {measure} (import sync.dora)")
        return read(session, site_id, measure, params, now=now)
    if kind == "github":
        return _github_current(
            session, site_id=site_id, kr_id=kr_id, measure=measure, start=start, end=end
        )
    return None


def derive(
    session: Session,
    kr: Row[*tuple[Any, ...]],
    *,
    now: datetime,
    issue_states: list[core.IssueState] | None = None,
) -> Derived:
    """The snapshot this KR should have now, from current state and its latest check-in.

    `kr` is a row of `_LOAD_KRS`: the KR's columns with its cycle's start and end. An issues
    KR's linked issue states are read unless given.
    """
    done = total = None
    current = kr.current
    if kr.kind == "issues":
        if issue_states is None:
            issue_states = linked_issue_states(session, kr.site_id, kr.id)
        tally = core.issues_progress(issue_states)
        value, done, total = tally.progress, tally.done, tally.total
    else:
        measured = measured_current(
            session,
            site_id=kr.site_id,
            kr_id=kr.id,
            kind=kr.kind,
            measure=kr.measure,
            params=kr.params,
            kpi=kr.kpi,
            start=kr.start,
            end=kr.end,
            now=now,
        )
        current = measured if measured is not None else current
        if kr.baseline is None or kr.target is None or kr.baseline == kr.target:
            value = 0.0
        else:
            value = core.metric_progress(baseline=kr.baseline, target=kr.target, current=current)
    snapshot = core.snapshot_for(
        progress=value,
        start=kr.start,
        end=kr.end,
        today=now.date(),
        checkin_status=kr.checkin_status,
    )
    score = snapshot.score
    if kr.checkin_score is not None:
        score = round(core.score(kr.checkin_score), 4)
    return Derived(snapshot.progress, score, snapshot.status, current, done, total)


def recompute(session: Session, site_id: int, kr_ids: Iterable[int], *, now: datetime) -> list[int]:
    """Re-derive the given KRs; record history and plan write-backs for those that changed.

    Works on the session's connection (pending ORM changes are flushed first) and expires the
    changed KRs in the session, so ORM readers see the new snapshot.
    """
    more: set[int] = set()
    for refresh in MEASURES.refreshes:
        more |= refresh(session, site_id, now=now)
    ids = sorted(set(kr_ids) | more)
    if not ids:
        return []
    session.flush()
    connection = session.connection()
    changed: list[int] = []
    stored: list[dict[str, Any]] = []
    snapshots: list[dict[str, Any]] = []
    krs = connection.execute(_LOAD_KRS, {"site_id": site_id, "ids": ids}).all()
    issue_states = linked_issue_states_of(
        session, site_id, [kr.id for kr in krs if kr.kind == "issues"]
    )
    for kr in krs:
        derived = derive(session, kr, now=now, issue_states=issue_states.get(kr.id, []))
        if kr.snapshot_at is not None and not derived.differs_from(kr):
            continue
        total_at_start = kr.total_at_start if kr.total_at_start is not None else derived.total
        stored.append(
            {
                "kr_id": kr.id,
                "progress": derived.progress,
                "score": derived.score,
                "status": derived.status,
                "current": derived.current,
                "done": derived.done,
                "total": derived.total,
                "total_at_start": total_at_start,
                "at": now,
            }
        )
        snapshots.append(
            {
                "site_id": site_id,
                "kr_id": kr.id,
                "at": now,
                "progress": derived.progress,
                "score": derived.score,
                "status": derived.status,
                "current": derived.current,
            }
        )
        changed.append(kr.id)
    if changed:
        connection.execute(_STORE_SNAPSHOT, stored)
        connection.execute(insert(_SNAPSHOT), snapshots)
        plan_write_backs(session, site_id, changed, now=now)
        for kr_id in changed:
            stale = session.identity_map.get(identity_key(KeyResult, kr_id))
            if stale is not None:
                session.expire(stale)
    return changed


_OUTBOUND = _table(Outbound)
# One INSERT .. SELECT: a write per distinct target of the changed KRs, skipping those queued.
_WRITE_BACK_ROWS = (
    select(
        _LINK.c.site_id,
        case((_LINK.c.target_kind == "jira", "issue_property"), else_="check_run"),
        _LINK.c.target_key,
        bindparam("due_at", type_=_OUTBOUND.c.due_at.type),
        literal(0),
    )
    .where(
        _LINK.c.site_id == bindparam("site_id"),
        _LINK.c.kr_id.in_(bindparam("ids", expanding=True)),
        _LINK.c.target_kind.in_(("jira", "github")),  # Asana tasks carry no KR state
    )
    .distinct()
)
# The Asana goals the changed KRs move: one write per goal.
_GOAL_ROWS = (
    select(
        _KR.c.site_id,
        literal(ASANA_GOAL_KIND),
        _KR.c.asana_goal,
        bindparam("due_at", type_=_OUTBOUND.c.due_at.type),
        literal(0),
    )
    .where(
        _KR.c.site_id == bindparam("site_id"),
        _KR.c.id.in_(bindparam("ids", expanding=True)),
        _KR.c.asana_goal.is_not(None),
    )
    .distinct()
)
# The Geckoboard datasets of the changed KRs' teams: one push per dataset, due no sooner than
# its `next_push_at` (a minute after the last push), so a dataset gets at most one a minute.
_GECKO = _table(GeckoboardDataset)
_OBJECTIVE = _table(Objective)
_TEAM = _table(Team)
_DUE = bindparam("due_at", type_=_OUTBOUND.c.due_at.type)
_GECKOBOARD_ROWS = select(
    _GECKO.c.site_id,
    literal(GECKOBOARD_KIND),
    _GECKO.c.dataset,
    case((_GECKO.c.next_push_at > _DUE, _GECKO.c.next_push_at), else_=_DUE),
    literal(0),
).where(
    _GECKO.c.site_id == bindparam("site_id"),
    _GECKO.c.team_key.in_(
        select(_TEAM.c.key)
        .join(_OBJECTIVE, _OBJECTIVE.c.team_id == _TEAM.c.id)
        .join(_KR, _KR.c.objective_id == _OBJECTIVE.c.id)
        .where(_KR.c.id.in_(bindparam("ids", expanding=True)))
    ),
)
# A write already queued is touched (its version counts one more change), not skipped: a
# writer holding that row (FOR UPDATE) while it sends an older document makes this wait, then
# insert the row again once the writer has deleted it; a flush that sent with no transaction
# open finds the version moved and leaves the row for its next look. Skipped, the change
# committed while the writer was sending would have been deleted with its row, and its issue
# left showing the old value.
_TOUCH = {"version": _OUTBOUND.c.version + 1}
# Still one statement: the goals' and the datasets' rows are more arms of the same INSERT ..
# SELECT.
_QUEUE_WRITES = {
    name: dialect.insert(_OUTBOUND)
    .from_select(
        ["site_id", "kind", "target", "due_at", "attempts"],
        union_all(_WRITE_BACK_ROWS, _GOAL_ROWS, _GECKOBOARD_ROWS),
        include_defaults=False,  # `version` starts at the server's 0
    )
    .on_conflict_do_update(index_elements=["site_id", "kind", "target"], set_=_TOUCH)
    for name, dialect in (("sqlite", sqlite_dialect), ("postgresql", postgresql_dialect))
}


# The children of the epics linked to changed issues KRs: they count for those KRs, so their
# property shows them too. Two statements, each driven by an index: the changed KRs' Jira keys
# (by `kr_id`), then the live items whose parent is one of them (`ix_work_items_children`).
# One join of items and links in their place let PostgreSQL's planner, with statistics a bulk
# load had left stale, loop over every item of the site for every link: 100 ms a batch at 400
# issues, growing with the tenant, on the path between an event and its KR snapshot.
_EPIC_KEYS = RawQuery(
    select(_LINK.c.target_key)
    .join(_KR, _KR.c.id == _LINK.c.kr_id)
    .where(
        _LINK.c.site_id == bindparam("site_id"),
        _LINK.c.kr_id.in_(bindparam("ids", expanding=True)),
        _LINK.c.target_kind == "jira",
        _KR.c.kind == "issues",
    )
    .distinct()
)
_CHILD_ROWS = (
    select(
        _ITEM.c.site_id,
        literal("issue_property"),
        _ITEM.c.key,
        bindparam("due_at", type_=_OUTBOUND.c.due_at.type),
        literal(0),
    )
    .where(
        _ITEM.c.site_id == bindparam("site_id"),
        _ITEM.c.parent_key.in_(bindparam("keys", expanding=True)),
        _ITEM.c.deleted.is_(False),
    )
    .distinct()
)
_QUEUE_CHILD_WRITES = {
    name: dialect.insert(_OUTBOUND)
    .from_select(
        ["site_id", "kind", "target", "due_at", "attempts"], _CHILD_ROWS, include_defaults=False
    )
    .on_conflict_do_update(index_elements=["site_id", "kind", "target"], set_=_TOUCH)
    for name, dialect in (("sqlite", sqlite_dialect), ("postgresql", postgresql_dialect))
}


def plan_write_backs(
    session: Session, site_id: int, kr_ids: Collection[int], *, now: datetime
) -> None:
    """Queue one coalesced write per linked issue, per child of a linked epic, per open PR,
    per Asana goal and per Geckoboard dataset of the changed KRs."""
    connection = session.connection()
    values = {"site_id": site_id, "ids": list(kr_ids), "due_at": now}
    connection.execute(_QUEUE_WRITES[connection.dialect.name], values)
    epics = [key for (key,) in _EPIC_KEYS.rows(session, values)]
    if epics:
        connection.execute(
            _QUEUE_CHILD_WRITES[connection.dialect.name],
            {"site_id": site_id, "keys": epics, "due_at": now},
        )


_KRS_LINKED_TO = RawQuery(
    select(_LINK.c.kr_id).where(
        _LINK.c.site_id == bindparam("site_id"),
        _LINK.c.target_kind == "jira",
        _LINK.c.target_key.in_(bindparam("keys", expanding=True)),
    )
)


def krs_linked_to(session: Session, site_id: int, keys: Collection[str]) -> set[int]:
    """KRs whose links name any of these Jira keys (issues, or epics as parents)."""
    if not keys:
        return set()
    rows = _KRS_LINKED_TO.rows(session, {"site_id": site_id, "keys": list(keys)})
    return {kr_id for (kr_id,) in rows}


def drop_outbound(session: Session, site_id: int, kind: str, target: str) -> None:
    session.execute(
        delete(Outbound).where(
            Outbound.site_id == site_id, Outbound.kind == kind, Outbound.target == target
        )
    )
