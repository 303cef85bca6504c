"""A team's cycles: made of any length (`create_cycle`), and closed (`close_cycle`) with final
scores, the retrospective, and the KRs carried into the next.

A cycle is a quarter, a month, a year or any two dates; a longer cycle can hold the shorter
ones that refresh it (`parent`: a yearly set refreshed each quarter). Two cycles of one team
under the same parent may not overlap: a team follows one cycle at a time at each level.

`close_cycle` checks everything it is given before it writes anything, so a bad score or an
unknown KR changes nothing; once closed, the team's objectives and KRs of that cycle are
read-only (`sync.okrs.ensure_open` answers `Closed`).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.core.spec import CycleSpec, following, quarter
from sync.db.model import Cycle, CycleClose, KeyResult, Link, Objective, Team
from sync.db.store import find_cycle, find_team, get_or_create_team
from sync.errors import Duplicate, Invalid
from sync.geckoboard import queue_team_push
from sync.history import record_change
from sync.okrs import ensure_open, get_or_create_cycle, kr_definition
from sync.retro import request_publication

CYCLE_FIELDS = ("name", "start", "end", "parent", "team")
OVERLAP = "cycle_overlap"
"""The error code of a cycle overlapping another of the same team under the same parent."""
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^(\d{4})$")

SCORE_TOLERANCE = 0.005
"""A given score this close to the derived one is the derived one (forms send 0.70 for 0.7)."""


@dataclass(frozen=True, slots=True)
class FinalScore:
    score: float
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """What a team says when it closes a cycle; every part is optional."""

    scores: Mapping[str, FinalScore] = field(default_factory=dict)
    learned: str = ""
    differently: str = ""
    carry_over: Sequence[str] = ()
    space: str = ""  # the Confluence space to publish the retrospective in, if any


@dataclass(slots=True)
class CloseReport:
    closed: CycleClose
    next_cycle: Cycle | None
    carried: list[KeyResult]
    scored: list[KeyResult]


def parse_close(data: Mapping[str, Any]) -> CloseRequest:
    """The API's JSON (`scores`, `retro`, `carry_over`) as a request; bad shapes are `Invalid`."""
    unknown = sorted(set(data) - {"scores", "retro", "carry_over"})
    if unknown:
        raise Invalid(
            f"unknown field {unknown[0]}: use scores, retro or carry_over", field=unknown[0]
        )
    raw_scores = data.get("scores") or {}
    if not isinstance(raw_scores, Mapping):
        raise Invalid('scores must map KR keys to {"score", "reason"}', field="scores")
    scores: dict[str, FinalScore] = {}
    for key, entry in raw_scores.items():
        where = f"scores.{key}"
        if not isinstance(entry, Mapping):
            raise Invalid(f'{where} must be {{"score": 0.7, "reason": "..."}}', field=where)
        value = entry.get("score")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise Invalid(
                f"{where}.score must be a number from 0 to 1 (0.7 is a good stretch)",
                field=f"{where}.score",
            )
        reason = entry.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise Invalid(f"{where}.reason must be a text", field=f"{where}.reason")
        scores[str(key)] = FinalScore(float(value), (reason or "").strip() or None)
    retro = data.get("retro") or {}
    if not isinstance(retro, Mapping) or set(retro) - {"learned", "differently", "space"}:
        raise Invalid(
            'retro must be {"learned": "...", "differently": "...", "space": "KEY"}', field="retro"
        )
    texts: dict[str, str] = {}
    for name in ("learned", "differently", "space"):
        value = retro.get(name) or ""
        if not isinstance(value, str):
            raise Invalid(f"retro.{name} must be a text", field=f"retro.{name}")
        texts[name] = value.strip()
    carry = data.get("carry_over") or []
    if not isinstance(carry, list) or not all(isinstance(k, str) for k in carry):
        raise Invalid("carry_over must be a list of KR keys", field="carry_over")
    keys = tuple(dict.fromkeys(k.strip() for k in carry if k.strip()))
    return CloseRequest(
        scores=scores,
        learned=texts["learned"],
        differently=texts["differently"],
        carry_over=keys,
        space=texts["space"],
    )


def team_krs(session: Session, site_id: int, team: Team, cycle: Cycle) -> list[KeyResult]:
    """The team's KRs of the cycle, in page order."""
    return list(
        session.scalars(
            select(KeyResult)
            .join(Objective, Objective.id == KeyResult.objective_id)
            .where(
                KeyResult.site_id == site_id,
                KeyResult.cycle_id == cycle.id,
                Objective.team_id == team.id,
            )
            .order_by(Objective.position, KeyResult.position)
        )
    )


def close_cycle(
    session: Session,
    site_id: int,
    *,
    team: str,
    cycle: Cycle,
    request: CloseRequest,
    author: str | None,
    at: datetime,
) -> CloseReport:
    """Grade each active KR (the derived score unless adjusted with a reason), keep the
    retrospective, carry the chosen KRs into the next cycle, and make the cycle read-only."""
    team_row = get_or_create_team(session, site_id, team)
    ensure_open(session, site_id, team_row.id, cycle.id)
    krs = {kr.key: kr for kr in team_krs(session, site_id, team_row, cycle)}
    if not krs:
        raise Invalid(f"team {team} has no key results in {cycle.name}", field="team")
    for key, given in request.scores.items():
        kr = krs.get(key)
        if kr is None:
            raise Invalid(
                f"{key} is not a key result of {team} in {cycle.name}", field=f"scores.{key}"
            )
        if kr.state != "active":
            raise Invalid(f"{key} is abandoned: it is not graded", field=f"scores.{key}")
        if abs(given.score - kr.score) > SCORE_TOLERANCE and not given.reason:
            raise Invalid(
                f"{key}: say why the score differs from the derived {kr.score:.2f}",
                field=f"scores.{key}.reason",
            )
    for key in request.carry_over:
        if key not in krs:
            raise Invalid(
                f"{key} is not a key result of {team} in {cycle.name}", field="carry_over"
            )
    scored = []
    for kr in krs.values():
        if kr.state != "active":
            continue
        graded = request.scores.get(kr.key)
        before = kr_definition(kr) | {"final_score": None}
        kr.final_score = round(graded.score if graded else kr.score, 4)
        kr.final_score_reason = graded.reason if graded else None
        kr.version += 1
        after = kr_definition(kr) | {
            "final_score": kr.final_score,
            "final_score_reason": kr.final_score_reason,
        }
        record_change(
            session,
            site_id=site_id,
            cycle_id=cycle.id,
            kind="key_result",
            key=kr.key,
            action="close",
            author=author,
            at=at,
            before=before,
            after=after,
        )
        scored.append(kr)
    next_cycle = None
    carried = []
    if request.carry_over:
        next_cycle = get_or_create_cycle(session, site_id, following(_spec(cycle)))
        carried = [
            carry_over(session, krs[key], next_cycle, author=author, at=at)
            for key in request.carry_over
        ]
    closed = CycleClose(
        site_id=site_id,
        team_id=team_row.id,
        cycle_id=cycle.id,
        closed_at=at,
        closed_by=author,
        learned=request.learned,
        differently=request.differently,
    )
    session.add(closed)
    session.flush()
    queue_team_push(session, site_id, team_row.id, now=at)  # the closed cycle's KRs leave
    if request.space:
        request_publication(
            session, closed, team=team, cycle=cycle.name, space=request.space, now=at
        )
    return CloseReport(closed=closed, next_cycle=next_cycle, carried=carried, scored=scored)


def _spec(cycle: Cycle) -> CycleSpec:
    return CycleSpec(name=cycle.name, start=cycle.start, end=cycle.end)


def carry_over(
    session: Session, kr: KeyResult, next_cycle: Cycle, *, author: str | None, at: datetime
) -> KeyResult:
    """Continue `kr` in `next_cycle`: under the same objective (created there when missing),
    starting from where it got to, with the same target, owner and links; `carried_from` points
    back to it. Carrying the same KR twice returns the first copy."""
    old_objective = kr.objective
    ensure_open(session, kr.site_id, old_objective.team_id, next_cycle.id)
    existing = session.scalar(
        select(KeyResult).where(
            KeyResult.site_id == kr.site_id,
            KeyResult.cycle_id == next_cycle.id,
            KeyResult.carried_from_id == kr.id,
        )
    )
    if existing is not None:
        return existing
    objective = session.scalar(
        select(Objective).where(
            Objective.site_id == kr.site_id,
            Objective.cycle_id == next_cycle.id,
            Objective.key == old_objective.key,
        )
    )
    if objective is None:
        position = len(
            session.scalars(
                select(Objective.id).where(
                    Objective.site_id == kr.site_id,
                    Objective.team_id == old_objective.team_id,
                    Objective.cycle_id == next_cycle.id,
                )
            ).all()
        )
        objective = Objective(
            site_id=kr.site_id,
            team_id=old_objective.team_id,
            cycle_id=next_cycle.id,
            key=old_objective.key,
            title=old_objective.title,
            parent_key=old_objective.parent_key,
            position=position,
            state="active",
        )
        session.add(objective)
        session.flush()
        record_change(
            session,
            site_id=kr.site_id,
            cycle_id=next_cycle.id,
            kind="objective",
            key=objective.key,
            action="carry",
            author=author,
            at=at,
            before={},
            after={"title": objective.title, "parent": objective.parent_key},
        )
    taken = set(
        session.scalars(
            select(KeyResult.key).where(
                KeyResult.site_id == kr.site_id, KeyResult.cycle_id == next_cycle.id
            )
        )
    )
    key, number = kr.key, len(objective.key_results) + 1
    while key in taken:
        key, number = f"{objective.key}.{number}", number + 1
    start = kr.current if kr.kind == "metric" and kr.current is not None else kr.baseline
    copy = KeyResult(
        site_id=kr.site_id,
        cycle_id=next_cycle.id,
        objective_id=objective.id,
        key=key,
        position=len(objective.key_results),
        version=0,
        title=kr.title,
        kind=kr.kind,
        baseline=start,
        target=kr.target,
        current=kr.current,
        unit=kr.unit,
        owner=kr.owner,
        weight=kr.weight,
        state="active",
        jql=kr.jql,
        jql_field=kr.jql_field,
        measure=kr.measure,
        carried_from=kr,
    )
    session.add(copy)
    session.flush()
    for link in session.scalars(select(Link).where(Link.kr_id == kr.id)):
        session.add(
            Link(
                site_id=kr.site_id,
                kr_id=copy.id,
                target_kind=link.target_kind,
                target_key=link.target_key,
                source=link.source,
            )
        )
    after = kr_definition(copy) | {"carried_from": carried_from(copy)}
    record_change(
        session,
        site_id=kr.site_id,
        cycle_id=next_cycle.id,
        kind="key_result",
        key=key,
        action="carry",
        author=author,
        at=at,
        before={},
        after=after,
    )
    session.flush()
    session.refresh(objective)
    return copy


def closure_of(session: Session, site_id: int, team_id: int, cycle_id: int) -> CycleClose | None:
    """The team's close of the cycle, when it is closed."""
    return session.scalar(
        select(CycleClose).where(
            CycleClose.site_id == site_id,
            CycleClose.team_id == team_id,
            CycleClose.cycle_id == cycle_id,
        )
    )


def carried_from(kr: KeyResult) -> dict[str, str] | None:
    """The KR `kr` continues, as `{"key", "cycle"}`, or None."""
    old = kr.carried_from
    return {"key": old.key, "cycle": old.cycle.name} if old is not None else None


# --- making cycles -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CycleRequest:
    """A cycle to make: a quarter (`2027-Q1`), a month (`2027-01`) or a year (`2027`) by name,
    or any name with both dates; `parent` names the longer cycle it refreshes."""

    name: str = ""
    start: date | None = None
    end: date | None = None
    parent: str | None = None
    team: str | None = None


def _date_field(data: Mapping[str, Any], name: str) -> date | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(f"{name} must be a date written YYYY-MM-DD", field=name)


def parse_cycle(data: Mapping[str, Any]) -> CycleRequest:
    """The API's JSON or a form's fields as a request; bad shapes are `Invalid`."""
    unknown = sorted(set(data) - set(CYCLE_FIELDS))
    if unknown:
        raise Invalid(
            f"unknown field {unknown[0]}: use {', '.join(CYCLE_FIELDS)}", field=unknown[0]
        )
    texts: dict[str, str] = {}
    for name in ("name", "parent", "team"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{name} must be a text", field=name)
        texts[name] = (value or "").strip()
    return CycleRequest(
        name=texts["name"],
        start=_date_field(data, "start"),
        end=_date_field(data, "end"),
        parent=texts["parent"] or None,
        team=texts["team"] or None,
    )


def cycle_spec(request: CycleRequest) -> CycleSpec:
    """The name and both dates of the cycle asked for: given, or read from its name."""
    if (request.start is None) != (request.end is None):
        missing = "end" if request.end is None else "start"
        raise Invalid(
            f"give both start and end dates, or neither: {missing} is missing", field=missing
        )
    if request.start is not None and request.end is not None:
        if request.end < request.start:
            raise Invalid("end is before start: swap the dates", field="end")
        name = request.name or f"{request.start.isoformat()}..{request.end.isoformat()}"
        return CycleSpec(name=name, start=request.start, end=request.end)
    name = request.name
    if month := _MONTH.match(name):
        year, number = int(month.group(1)), int(month.group(2))
        last = calendar.monthrange(year, number)[1]
        return CycleSpec(name=name, start=date(year, number, 1), end=date(year, number, last))
    if year_match := _YEAR.match(name):
        year = int(year_match.group(1))
        if year >= 1:
            return CycleSpec(name=name, start=date(year, 1, 1), end=date(year, 12, 31))
    try:
        return quarter(name)
    except ValueError:
        raise Invalid(
            "name a quarter (2027-Q1), a month (2027-01) or a year (2027), "
            "or give start and end dates",
            field="name" if name else "start",
        ) from None


def _team_cycle_ids(session: Session, site_id: int, team: Team | None) -> set[int]:
    """The cycles a team follows: made for it, or holding its objectives (None: the site's)."""
    if team is None:
        return set(
            session.scalars(
                select(Cycle.id).where(Cycle.site_id == site_id, Cycle.team_id.is_(None))
            )
        )
    made = session.scalars(
        select(Cycle.id).where(Cycle.site_id == site_id, Cycle.team_id == team.id)
    )
    used = session.scalars(
        select(Objective.cycle_id).where(Objective.site_id == site_id, Objective.team_id == team.id)
    )
    return {*made, *used}


def create_cycle(session: Session, site_id: int, request: CycleRequest) -> tuple[Cycle, bool]:
    """Make the cycle asked for (or give the one of that name and dates already there, now
    under `parent`); returns it and whether it is new.

    Refused with the field at fault: dates it cannot read, a parent that does not exist or
    does not hold its dates, a name taken with other dates (`Duplicate`), and a cycle that
    overlaps another of the same team under the same parent (`Invalid`, code `cycle_overlap`).
    """
    spec = cycle_spec(request)
    parent: Cycle | None = None
    if request.parent:
        parent = find_cycle(session, site_id, request.parent)
        if parent is None:
            raise Invalid(f"no cycle {request.parent} to hold it", field="parent")
        if parent.name == spec.name:
            raise Invalid("a cycle cannot hold itself", field="parent")
        if not (parent.start <= spec.start and spec.end <= parent.end):
            raise Invalid(
                f"{spec.name} ({spec.start.isoformat()} to {spec.end.isoformat()}) is not inside "
                f"{parent.name} ({parent.start.isoformat()} to {parent.end.isoformat()})",
                field="parent",
            )
    team = None
    if request.team:
        team = get_or_create_team(session, site_id, request.team)
    existing = find_cycle(session, site_id, spec.name)
    if existing is not None and (existing.start, existing.end) != (spec.start, spec.end):
        raise Duplicate(
            f"cycle {spec.name} already exists from {existing.start.isoformat()} to "
            f"{existing.end.isoformat()}: give another name",
            field="name",
        )
    if existing is not None and parent is not None and existing.parent_id not in (None, parent.id):
        raise Duplicate(f"cycle {spec.name} already belongs to another cycle", field="parent")
    parent_id = parent.id if parent is not None else (existing.parent_id if existing else None)
    siblings = session.scalars(
        select(Cycle).where(
            Cycle.site_id == site_id,
            Cycle.id.in_(_team_cycle_ids(session, site_id, team)),
            Cycle.parent_id.is_(None) if parent_id is None else Cycle.parent_id == parent_id,
            Cycle.start <= spec.end,
            Cycle.end >= spec.start,
        )
    ).all()
    clash = next((c for c in siblings if existing is None or c.id != existing.id), None)
    if clash is not None:
        whose = f"team {team.key}" if team is not None else "the site"
        raise Invalid(
            f"{spec.name} overlaps {clash.name} ({clash.start.isoformat()} to "
            f"{clash.end.isoformat()}), another cycle of {whose}"
            + (f" in {parent.name}" if parent is not None else "")
            + ": choose dates that do not overlap, or put it under a longer cycle (parent)",
            field="start",
            code=OVERLAP,
        )
    if existing is not None:
        existing.parent_id = parent_id
        session.flush()
        return existing, False
    cycle = Cycle(
        site_id=site_id,
        name=spec.name,
        start=spec.start,
        end=spec.end,
        team_id=team.id if team is not None else None,
        parent_id=parent_id,
    )
    session.add(cycle)
    session.flush()
    return cycle, True


def parent_chain(session: Session, cycle: Cycle) -> list[Cycle]:
    """The cycle, then each longer cycle holding it (a quarter, its year...), nearest first."""
    chain = [cycle]
    seen = {cycle.id}
    while chain[-1].parent_id is not None and chain[-1].parent_id not in seen:
        parent = session.get(Cycle, chain[-1].parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        chain.append(parent)
    return chain


def team_cycles(session: Session, site_id: int, team: str) -> list[Cycle]:
    """The cycles a team can open on its page: its own, the ones holding its objectives, and
    the site's; oldest first."""
    team_row = find_team(session, site_id, team)
    ids = _team_cycle_ids(session, site_id, None)
    if team_row is not None:
        ids |= _team_cycle_ids(session, site_id, team_row)
    if not ids:
        return []
    return list(
        session.scalars(select(Cycle).where(Cycle.id.in_(ids)).order_by(Cycle.start, Cycle.end))
    )
