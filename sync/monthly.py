"""Monthly scoring, asked: in a month's last week each KR owner gives the month's score.

Teams that score monthly want the owner's judgement of the month, not only the number the
KR's history yields; a given score (0..1 with a one-line reason) is stored as given and beats
the derived one, which still shows for the months nobody scored. During the last 7 days of a
calendar month the review tab and the weekly digest list the active KRs still without one.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import Cycle, KeyResult, MonthlyScore
from sync.errors import Invalid
from sync.fields import number_field
from sync.okrs import ensure_open

LAST_WEEK_DAYS = 7
"""How many of a month's last days ask for its score."""
REASON_LIMIT = 500
MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, slots=True)
class GivenScore:
    """A month's score as its owner gave it."""

    month: str
    score: float
    reason: str
    author: str | None
    at: datetime


def month_of(day: date) -> str:
    """The month `day` falls in, as `YYYY-MM`."""
    return f"{day.year:04d}-{day.month:02d}"


def in_last_week(day: date) -> bool:
    """True during the last 7 days of `day`'s calendar month: when its score is asked."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day > last - LAST_WEEK_DAYS


def asked_month(day: date) -> str | None:
    """The month whose score is asked on `day`; None outside a month's last week."""
    return month_of(day) if in_last_week(day) else None


def parse_month(value: Any) -> tuple[date, date]:
    """A `YYYY-MM` month as its first and last day; anything else is refused (`bad_month`)."""
    found = MONTH.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1:
        raise Invalid("month must be a month written YYYY-MM", code="bad_month", field="month")
    year, month = int(found.group(1)), int(found.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def parse_score(value: Any) -> float:
    """A given score: a number from 0 to 1 (`score_range` otherwise)."""
    try:
        score = number_field({"score": value}, "score")
    except Invalid:
        score = None
    if score is None or not 0 <= score <= 1:
        raise Invalid(
            "score must be a number between 0 and 1 (0.7 is a good stretch result)",
            code="score_range",
            field="score",
        )
    return score


def parse_reason(value: Any) -> str:
    """The one-line reason a score is given for: required, one line, at most 500 characters."""
    reason = value.strip() if isinstance(value, str) else ""
    if not reason:
        raise Invalid("give the reason for the score in one line", code="required", field="reason")
    if "\n" in reason or "\r" in reason or len(reason) > REASON_LIMIT:
        raise Invalid(
            f"the reason is one line of at most {REASON_LIMIT} characters",
            code="one_line",
            field="reason",
        )
    return reason


def record_monthly_score(
    session: Session,
    kr: KeyResult,
    data: Mapping[str, Any],
    *,
    author: str | None,
    at: datetime,
) -> MonthlyScore:
    """Store the score `data` gives (`month`, `score`, `reason`) for `kr`, as given.

    The month must have begun and overlap the KR's cycle; a score given again for the same
    month replaces the earlier one. `author` comes from the caller's signed token only.
    """
    first, last = parse_month(data.get("month"))
    score = parse_score(data.get("score"))
    reason = parse_reason(data.get("reason"))
    if last < kr.cycle.start or first > kr.cycle.end:
        raise Invalid(
            f"{month_of(first)} is outside the cycle {kr.cycle.name}",
            code="bad_month",
            field="month",
        )
    if first > at.date():
        raise Invalid(f"{month_of(first)} has not begun", code="bad_month", field="month")
    ensure_open(session, kr.site_id, kr.objective.team_id, kr.cycle_id)
    month = month_of(first)
    row = session.scalar(
        select(MonthlyScore).where(MonthlyScore.kr_id == kr.id, MonthlyScore.month == month)
    )
    if row is None:
        row = MonthlyScore(site_id=kr.site_id, kr_id=kr.id, month=month)
        session.add(row)
    row.score, row.reason, row.author, row.at = score, reason, author, at
    session.flush()
    return row


def given_scores(
    session: Session, kr_ids: Sequence[int], *, month: str | None = None
) -> dict[int, dict[str, GivenScore]]:
    """The scores given for the KRs (of one `month` when named): per KR id, per month."""
    if not kr_ids:
        return {}
    query = select(MonthlyScore).where(MonthlyScore.kr_id.in_(list(kr_ids)))
    if month is not None:
        query = query.where(MonthlyScore.month == month)
    found: dict[int, dict[str, GivenScore]] = {}
    for row in session.scalars(query.order_by(MonthlyScore.month)):
        found.setdefault(row.kr_id, {})[row.month] = GivenScore(
            month=row.month, score=row.score, reason=row.reason, author=row.author, at=row.at
        )
    return found


def scores_of(session: Session, kr: KeyResult) -> list[GivenScore]:
    """A KR's given scores, oldest month first."""
    return list(given_scores(session, [kr.id]).get(kr.id, {}).values())


def missing_scores(session: Session, krs: Sequence[KeyResult], today: date) -> list[KeyResult]:
    """The active KRs (of cycles running in the month) without a given score for the month
    asked on `today`; none outside a month's last week."""
    month = asked_month(today)
    if month is None:
        return []
    first = today.replace(day=1)
    asked = [
        kr
        for kr in krs
        if kr.state == "active" and kr.cycle.start <= today and kr.cycle.end >= first
    ]
    given = given_scores(session, [kr.id for kr in asked], month=month)
    return [kr for kr in asked if month not in given.get(kr.id, {})]


def given_in_cycle(session: Session, site_id: int, cycle: str) -> dict[str, dict[str, float]]:
    """The scores given in a cycle's KRs, per KR key then month (what "Score by month" shows)."""
    rows = session.execute(
        select(KeyResult.key, MonthlyScore.month, MonthlyScore.score)
        .join(KeyResult, KeyResult.id == MonthlyScore.kr_id)
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(MonthlyScore.site_id == site_id, Cycle.name == cycle)
    )
    found: dict[str, dict[str, float]] = {}
    for key, month, score in rows:
        found.setdefault(key, {})[month] = score
    return found
