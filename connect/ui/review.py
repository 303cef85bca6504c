"""The weekly review: what a 15-minute team review walks through, KR by KR.

For each KR of the team's cycle: its progress now and 7 days ago (`delta`, in progress points),
a status that changed, a check-in missing this week, and the risks raised in the week's
check-ins. Three queries: the KRs, their snapshots up to now, the week's check-ins.

In a month's last week (`sync.monthly`) the review also asks each owner for the month's score:
`month` is set, each row carries the score given for it (None: still missing), a fourth query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from connect.ui.people import names_in
from sync.db.model import CheckIn, Cycle, KeyResult, Objective, Snapshot, Team
from sync.monthly import GivenScore, asked_month, given_scores

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ReviewRow:
    key: str
    title: str
    objective: str
    owner: str | None
    progress: float
    delta: int  # progress points gained (or lost) since a week ago
    status: str
    status_before: str | None  # set only when the status changed during the week
    missing_check_in: bool
    risks: tuple[str, ...]
    confidence: float | None
    monthly: GivenScore | None = None  # the month's score given, when the review asks for it


@dataclass(frozen=True, slots=True)
class ReviewView:
    team: str
    cycle: str
    since: datetime
    rows: tuple[ReviewRow, ...]
    month: str | None = None  # the month whose score is asked (its last week only)
    names: Mapping[str, str] = field(default_factory=dict)  # account id -> name, for `person`

    @property
    def missing(self) -> int:
        return sum(row.missing_check_in for row in self.rows)

    @property
    def monthly_missing(self) -> tuple[ReviewRow, ...]:
        """The KRs without a score for the month asked (none when no month is asked)."""
        if self.month is None:
            return ()
        return tuple(row for row in self.rows if row.monthly is None)


@dataclass(frozen=True, slots=True)
class MonthlyForm:
    """Where the review's monthly-score forms post, with the page's CSRF token; a refused post
    reopens its KR's form (`target`) with the errors beside their fields and the values sent."""

    action_url: str
    csrf_token: str
    target: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)


def load_review(
    session: Session, site_id: int, *, team: str, cycle: str, now: datetime
) -> ReviewView | None:
    """The team's review of the week ending `now`; None when it has no KRs in the cycle."""
    query = (
        select(KeyResult, Objective.key, Cycle.name)
        .join(Objective, Objective.id == KeyResult.objective_id)
        .join(Team, Team.id == Objective.team_id)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(KeyResult.site_id == site_id, Team.key == team, KeyResult.state == "active")
        .order_by(Objective.position, KeyResult.position)
    )
    if cycle:
        query = query.where(Cycle.name == cycle)
    else:
        query = query.where(Cycle.start <= now.date(), Cycle.end >= now.date())
    rows = session.execute(query).all()
    if not rows:
        return None
    since = now - WEEK
    ids = [kr.id for kr, _o, _c in rows]
    before: dict[int, tuple[float, str]] = {}
    for kr_id, progress, status in session.execute(
        select(Snapshot.kr_id, Snapshot.progress, Snapshot.status)
        .where(Snapshot.kr_id.in_(ids), Snapshot.at <= since)
        .order_by(Snapshot.at, Snapshot.id)
    ):
        before[kr_id] = (progress, status)
    week: dict[int, list[CheckIn]] = {}
    for checkin in session.scalars(
        select(CheckIn)
        .where(CheckIn.kr_id.in_(ids), CheckIn.at > since, CheckIn.at <= now)
        .order_by(CheckIn.at, CheckIn.id)
    ):
        week.setdefault(checkin.kr_id, []).append(checkin)
    today = now.date()
    month = asked_month(today)
    cycle_row = rows[0][0].cycle
    if month is not None and not cycle_row.start <= today <= cycle_row.end:
        month = None  # a past or future cycle asks nothing
    given = given_scores(session, ids, month=month) if month is not None else {}
    review_rows = []
    for kr, objective_key, _cycle in rows:
        then_progress, then_status = before.get(kr.id, (0.0, None))
        checkins = week.get(kr.id, [])
        confidence = next(
            (c.confidence for c in reversed(checkins) if c.confidence is not None), None
        )
        review_rows.append(
            ReviewRow(
                key=kr.key,
                title=kr.title,
                objective=objective_key,
                owner=kr.owner,
                progress=kr.progress,
                delta=round((kr.progress - then_progress) * 100),
                status=kr.status,
                status_before=then_status if then_status not in (None, kr.status) else None,
                missing_check_in=not checkins,
                risks=tuple(risk for c in checkins for risk in c.risks),
                confidence=confidence,
                monthly=given.get(kr.id, {}).get(month) if month is not None else None,
            )
        )
    names = names_in(session, site_id, (row.owner for row in review_rows))
    return ReviewView(
        team=team,
        cycle=rows[0][2],
        since=since,
        rows=tuple(review_rows),
        month=month,
        names=names,
    )
