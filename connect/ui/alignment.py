"""The organisation's alignment tree for the Jira "OKRs" page: every team's objectives of a
cycle, each under the objective it aligns to (`parent`), with its progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.core.progress import objective_progress
from sync.db.model import Cycle, KeyResult, Objective, Team


@dataclass(frozen=True, slots=True)
class TreeNode:
    """An objective in the tree; `parent_key` only when its parent is in the tree too."""

    key: str
    title: str
    team: str
    progress: float
    parent_key: str | None
    children: tuple[TreeNode, ...]
    abandoned: bool = False


@dataclass(frozen=True, slots=True)
class Alignment:
    """The cycle's teams (for the picker) and its tree, aligned-to objectives first."""

    cycle: str
    teams: tuple[str, ...]
    roots: tuple[TreeNode, ...]


def pick_cycle(session: Session, site_id: int, name: str, today: date) -> Cycle | None:
    """The named cycle, or the newest one containing `today`, or else the newest one."""
    query = select(Cycle).where(Cycle.site_id == site_id)
    if name:
        return session.scalar(query.where(Cycle.name == name))
    current = session.scalar(
        query.where(Cycle.start <= today, Cycle.end >= today).order_by(Cycle.start.desc())
    )
    return current or session.scalar(query.order_by(Cycle.start.desc()))


def _related_cycle_ids(session: Session, site_id: int, cycle: Cycle) -> list[int]:
    """The cycle, the longer cycles holding it (its year) and the shorter ones it holds (its
    quarters), nearest first: the tree follows alignment across them."""
    ids = [cycle.id]
    parent_id = cycle.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.append(parent_id)
        parent_id = session.scalar(select(Cycle.parent_id).where(Cycle.id == parent_id))
    below = [cycle.id]
    while below:
        below = [
            child
            for child in session.scalars(
                select(Cycle.id).where(Cycle.site_id == site_id, Cycle.parent_id.in_(below))
            )
            if child not in ids
        ]
        ids.extend(below)
    return ids


def load_alignment(session: Session, site_id: int, cycle: Cycle) -> Alignment:
    """Every objective of the cycle, of the cycles holding it and of those it holds, with its
    team and KRs' roll-up (one query), as a tree; a key met in two cycles is the nearest's."""
    cycle_ids = _related_cycle_ids(session, site_id, cycle)
    rank = {cycle_id: position for position, cycle_id in enumerate(cycle_ids)}
    rows = session.execute(
        select(Objective, Team.key, KeyResult.progress, KeyResult.weight, KeyResult.state)
        .join(Team, Team.id == Objective.team_id)
        .outerjoin(KeyResult, KeyResult.objective_id == Objective.id)
        .where(Objective.site_id == site_id, Objective.cycle_id.in_(cycle_ids))
        .order_by(Team.key, Objective.position, Objective.key)
    ).all()
    rows = sorted(rows, key=lambda row: rank[row[0].cycle_id])
    objectives: dict[str, tuple[Objective, str]] = {}
    krs: dict[str, list[tuple[float, float, bool]]] = {}
    for objective, team, progress, weight, state in rows:
        kept = objectives.setdefault(objective.key, (objective, team))[0]
        if progress is not None and kept.id == objective.id:
            krs.setdefault(objective.key, []).append((progress, weight, state == "active"))
    children: dict[str, list[str]] = {}
    for key, (objective, _team) in objectives.items():
        parent = objective.parent_key
        if parent and parent in objectives and parent != key:
            children.setdefault(parent, []).append(key)

    def node(key: str, seen: frozenset[str]) -> TreeNode:
        objective, team = objectives[key]
        parent = objective.parent_key if objective.parent_key in objectives else None
        below = tuple(
            node(child, seen | {key}) for child in children.get(key, ()) if child not in seen
        )
        return TreeNode(
            key=key,
            title=objective.title,
            team=team,
            progress=objective_progress(krs.get(key, [])),
            parent_key=parent,
            children=below,
            abandoned=objective.state == "abandoned",
        )

    roots = [
        key
        for key, (o, _t) in objectives.items()
        if not (o.parent_key in objectives and o.parent_key != key)
    ]
    # Objectives others align to (the company's) lead; then each team's own, unaligned ones.
    roots.sort(key=lambda key: (key not in children, objectives[key][1]))
    teams = tuple(sorted({team for _o, team in objectives.values()}))
    return Alignment(
        cycle=cycle.name, teams=teams, roots=tuple(node(key, frozenset()) for key in roots)
    )
