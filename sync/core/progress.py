"""Progress, score and status of key results and objectives: pure functions, values in, values out.

Progress is always derived from current state (never incremented), so replaying the same state
gives the same answer.

Status thresholds. ``expected`` is the share of the cycle elapsed (0 at the start day, 1 on the
last day). A KR is

- ``on_track`` while the cycle is in its first ``GRACE_SHARE`` (15 %, about two weeks of a
  quarter), once its progress is complete, or when progress >= ``ON_TRACK_RATIO`` (0.7) x expected
  -- 0.7 being a good stretch score, a KR at 70 % of the pace is on track;
- ``at_risk`` when progress >= ``AT_RISK_RATIO`` (0.4) x expected;
- ``off_track`` otherwise.

A check-in's status overrides the computed one: the latest check-in wins (see ``effective_status``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, NamedTuple

Status = Literal["on_track", "at_risk", "off_track"]
STATUSES: tuple[Status, ...] = ("on_track", "at_risk", "off_track")

ON_TRACK_RATIO = 0.7
AT_RISK_RATIO = 0.4
GRACE_SHARE = 0.15
SNAPSHOT_DECIMALS = 4


def clamp01(value: float) -> float:
    """`value` clamped to 0..1, NaN counted as 0: the one clamp of progress, scores and bars."""
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def metric_progress(*, baseline: float, target: float, current: float | None) -> float:
    """Share of the way from baseline to target reached by current, clamped to 0..1."""
    baseline = _finite("baseline", baseline)
    target = _finite("target", target)
    if target == baseline:
        raise ValueError(f"target equals baseline ({target!r}): there is no change to measure")
    if current is None:
        return 0.0
    current = _finite("current", current)
    return clamp01((current - baseline) / (target - baseline))


class IssueState(NamedTuple):
    """The current state of one linked work item (a tuple: a KR may read thousands at once)."""

    key: str
    done: bool
    story_points: float | None = None
    parent_key: str | None = None


@dataclass(frozen=True, slots=True)
class IssueTally:
    """Done and total weight over a set of issues, each issue counted once."""

    done: float
    total: float
    count: int
    done_count: int
    progress: float


def issues_progress(issues: Iterable[IssueState]) -> IssueTally:
    """Done weight over total weight; weight is story points when every issue has them, else 1.

    Each issue key counts once however often it appears (a linked issue that is also the child of
    a linked epic, a redelivered event); when a key appears more than once its last state wins
    (in the place of its first appearance).
    Points that are missing, negative or not finite on any issue mean every issue weighs 1.
    """
    latest: dict[str, IssueState] = {}
    for issue in issues:
        latest[issue.key] = issue
    states = list(latest.values())
    count = len(states)
    done_count = sum(1 for state in states if state.done)
    points = [state.story_points for state in states]
    if count and all(p is not None and math.isfinite(p) and p >= 0 for p in points):
        weights = [float(p) for p in points if p is not None]
        if sum(weights) <= 0:
            weights = [1.0] * count
    else:
        weights = [1.0] * count
    total = sum(weights)
    done = sum(w for w, state in zip(weights, states, strict=True) if state.done)
    progress = clamp01(done / total) if total > 0 else 0.0
    return IssueTally(done=done, total=total, count=count, done_count=done_count, progress=progress)


def score(progress: float) -> float:
    """The 0..1 score of a KR with this progress (0.7 is a good stretch result)."""
    if math.isnan(progress):
        raise ValueError("progress must be a number, got nan")
    return clamp01(progress)


def display_score(value: float) -> str:
    """A score as people read it, rounded half up to one decimal: "0.7"."""
    rounded = Decimal(repr(score(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{rounded:.1f}"


class KRRollup(NamedTuple):
    """One KR's part in a roll-up; a plain (progress, weight, active) tuple works too."""

    progress: float
    weight: float
    active: bool


def objective_progress(krs: Iterable[tuple[float, float, bool]]) -> float:
    """Weighted mean progress of the active KRs; abandoned ones leave the roll-up; none -> 0.0."""
    weighted = 0.0
    total = 0.0
    for progress, weight, active in krs:
        if not active or not math.isfinite(weight) or weight <= 0:
            continue
        weighted += score(progress) * weight
        total += weight
    return clamp01(weighted / total) if total > 0 else 0.0


def expected_progress(*, start: date, end: date, today: date) -> float:
    """Share of the cycle elapsed: 0 on its first day (and before), 1 on its last (and after)."""
    if today <= start:
        return 0.0
    if today >= end:
        return 1.0
    return (today - start).days / (end - start).days


def computed_status(*, progress: float, start: date, end: date, today: date) -> Status:
    """Status from progress against time elapsed, with the thresholds in the module docstring."""
    progress = score(progress)
    expected = expected_progress(start=start, end=end, today=today)
    if expected < GRACE_SHARE or progress >= 1.0 or progress >= ON_TRACK_RATIO * expected:
        return "on_track"
    if progress >= AT_RISK_RATIO * expected:
        return "at_risk"
    return "off_track"


def _check_status(name: str, value: str | None) -> None:
    if value is not None and value not in STATUSES:
        raise ValueError(f"{name} {value!r} is not a status: use one of {', '.join(STATUSES)}")


def effective_status(
    *,
    computed: Status,
    checkin_status: Status | None,
    checkin_at: datetime | None,
    newer_than_checkin: bool = False,
) -> Status:
    """The status to show: the latest check-in's status if there is one, else the computed one.

    The owner's judgement stands until their next check-in, however progress moves meanwhile.
    ``newer_than_checkin`` lets a caller retire a check-in explicitly (for example one written
    in an earlier cycle): then the computed status is shown. ``checkin_at`` is carried for
    callers and messages; the caller passes the latest check-in, so no date comparison happens here.
    """
    _check_status("computed", computed)
    _check_status("checkin_status", checkin_status)
    if checkin_status is None or newer_than_checkin:
        return computed
    return checkin_status


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A KR's progress, score and status at a moment; numbers are kept to 4 decimals."""

    progress: float
    score: float
    status: Status

    def __post_init__(self) -> None:
        # Rounded on creation so that a replay which reaches the same state by a different float
        # path compares (and hashes) equal, and history records no spurious change.
        object.__setattr__(self, "progress", round(float(self.progress), SNAPSHOT_DECIMALS))
        object.__setattr__(self, "score", round(float(self.score), SNAPSHOT_DECIMALS))
        _check_status("status", self.status)


def snapshot_for(
    *,
    progress: float,
    start: date,
    end: date,
    today: date,
    checkin_status: Status | None = None,
    checkin_at: datetime | None = None,
    newer_than_checkin: bool = False,
) -> Snapshot:
    """The snapshot of a KR with this progress on today, honouring its latest check-in."""
    value = score(progress)
    computed = computed_status(progress=value, start=start, end=end, today=today)
    status = effective_status(
        computed=computed,
        checkin_status=checkin_status,
        checkin_at=checkin_at,
        newer_than_checkin=newer_than_checkin,
    )
    return Snapshot(progress=value, score=value, status=status)


def median_lead_time_hours(pairs: Iterable[tuple[datetime, datetime]]) -> float | None:
    """Median hours from opened to merged over the pairs; None when there are none.

    Pairs merged before they were opened (clock skew, bad data) are left out.
    """
    hours = [
        (merged - opened).total_seconds() / 3600.0 for opened, merged in pairs if merged >= opened
    ]
    return float(statistics.median(hours)) if hours else None
