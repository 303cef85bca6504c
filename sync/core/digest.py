"""The weekly digest and the check-in reminder as plain values, and when each is due.

Pure: values in, values out. `sync/digest.py` reads the store into `KrWeek` rows; the chat
renderers (`connect/chat/digest.py`) turn a `Digest` into Slack blocks, a Teams card or text.

Schedule. A channel's digest is due weekly at its local `day` and `time` in its time zone; the
due instant is computed in that zone each week, so 09:00 stays 09:00 across DST changes. A week
is named by the ISO week of the digest's local date (`2026-W49`): one send per channel, kind
and week name is what makes a send happen once. The reminder of a week is due `remind_days`
before that week's digest, at the same local time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.core.progress import objective_progress

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CROSSING = 0.7
"""The score a KR celebrates when it reaches it (a good stretch result)."""
MOVE_EPSILON = 0.00005
"""Progress differences below this (the snapshot's 4th decimal) are not a move."""

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


# --- the schedule --------------------------------------------------------------------------


def parse_day(value: str) -> int:
    """The weekday number (Monday 0) of `mon`..`sun`; ValueError otherwise."""
    day = value.strip().lower()[:3]
    if day not in DAYS:
        raise ValueError(f"day must be one of {', '.join(DAYS)}, not {value!r}")
    return DAYS.index(day)


def parse_time(value: str) -> time:
    """`09:00` as a time; ValueError for anything but HH:MM on a 24-hour clock."""
    match = _TIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"time must be HH:MM (24-hour), not {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_zone(value: str) -> ZoneInfo:
    """An IANA time zone (`Europe/Paris`); ValueError when unknown."""
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = f"unknown time zone {value!r}: use an IANA name like Europe/Paris"
        raise ValueError(message) from exc


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a channel's digest goes out: a weekday, a local time, a zone; the reminder before."""

    day: str
    at: str
    tz: str
    remind_days: int = 2

    def _local(self, on: date) -> datetime:
        """`on` at the schedule's time in its zone (a DST gap moves it forward, never skips)."""
        zone = parse_zone(self.tz)
        naive = datetime.combine(on, parse_time(self.at))
        # Round-trip through UTC normalises a time inside a spring-forward gap.
        return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)

    def digest_due(self, now: datetime) -> datetime:
        """The latest digest instant at or before `now` (aware)."""
        zone = parse_zone(self.tz)
        local_today = now.astimezone(zone).date()
        back = (local_today.weekday() - parse_day(self.day)) % 7
        due = self._local(local_today - timedelta(days=back))
        if due > now:
            due = self._local(local_today - timedelta(days=back + 7))
        return due

    def next_digest(self, now: datetime) -> datetime:
        """The first digest instant after `now`."""
        latest = self.digest_due(now)
        return self._local(latest.astimezone(parse_zone(self.tz)).date() + timedelta(days=7))

    def reminder_due(self, now: datetime) -> tuple[datetime, datetime]:
        """The latest reminder instant at or before `now`, with the digest it precedes."""
        digest = self.next_digest(now)
        reminder = self._reminder_of(digest)
        if reminder > now:
            digest = self.digest_due(now)
            reminder = self._reminder_of(digest)
        return reminder, digest

    def _reminder_of(self, digest: datetime) -> datetime:
        local = digest.astimezone(parse_zone(self.tz)).date()
        return self._local(local - timedelta(days=self.remind_days))

    def week_of(self, digest: datetime) -> str:
        """The name of a digest's week: the ISO week of its local date, `2026-W49`."""
        year, week, _ = digest.astimezone(parse_zone(self.tz)).isocalendar()
        return f"{year}-W{week:02d}"


def validate_schedule(schedule: Schedule) -> None:
    """Raise ValueError naming the part of the schedule that is wrong."""
    parse_day(schedule.day)
    parse_time(schedule.at)
    parse_zone(schedule.tz)
    if not 0 < schedule.remind_days < 7:
        raise ValueError("the reminder goes out 1 to 6 days before the digest")


# --- the content ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckInNote:
    """A check-in recorded in the week, as the digest quotes it."""

    at: datetime
    author: str | None
    status: str | None
    value: float | None
    why: str
    risks: tuple[str, ...]
    learnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KrState:
    """A KR's numbers at one moment."""

    progress: float
    score: float
    status: str
    current: float | None


@dataclass(frozen=True, slots=True)
class KrWeek:
    """One KR over the week: as it was when the week began (None: it did not exist) and now."""

    key: str
    title: str
    objective_key: str
    kind: str
    unit: str
    owner: str | None
    weight: float
    active: bool
    abandon_reason: str | None
    before: KrState | None
    now: KrState
    check_ins: tuple[CheckInNote, ...]  # this week's, oldest first
    scored_month: bool = False  # its owner gave the score of the month the digest asks for


@dataclass(frozen=True, slots=True)
class ObjectiveWeek:
    key: str
    title: str


@dataclass(frozen=True, slots=True)
class ObjectiveLine:
    key: str
    title: str
    progress: float
    change: float


@dataclass(frozen=True, slots=True)
class KrMove:
    """A KR whose progress, value or status moved this week; `why` from a check-in."""

    key: str
    title: str
    kind: str
    unit: str
    owner: str | None
    before: KrState
    now: KrState
    why: str


@dataclass(frozen=True, slots=True)
class KrLine:
    key: str
    title: str
    owner: str | None
    state: KrState
    note: str = ""


@dataclass(frozen=True, slots=True)
class OwnerMissing:
    """An owner (None: the KR has none) and the active KRs they have not checked in on."""

    owner: str | None
    krs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Note:
    """A risk or learning recorded this week, with its KR."""

    kr: str
    text: str


@dataclass(frozen=True, slots=True)
class KpiSignal:
    """A team KPI as the digest reports it: its value, its healthy range and its health.

    A KPI is the team's, never a person's, so no owner is carried.
    """

    key: str
    title: str
    unit: str
    current: float | None
    health: str  # healthy | breached
    reason: str | None  # out_of_range | drop, when breached
    healthy_min: float | None
    healthy_max: float | None
    drop_alert: float | None


@dataclass(frozen=True, slots=True)
class Links:
    okr_page: str
    check_in: str


@dataclass(frozen=True, slots=True)
class Digest:
    """One team's week, as every channel renders it."""

    team: str
    cycle: str
    week: str
    week_start: datetime
    week_end: datetime
    objectives: tuple[ObjectiveLine, ...]
    moved: tuple[KrMove, ...]
    status_changes: tuple[KrMove, ...]
    attention: tuple[KrLine, ...]
    celebrated: tuple[KrLine, ...]
    abandoned: tuple[KrLine, ...]
    missing: tuple[OwnerMissing, ...]
    risks: tuple[Note, ...]
    learnings: tuple[Note, ...]
    links: Links
    late_from: datetime | None = None  # the scheduled instant, when sent late
    signals: tuple[KpiSignal, ...] = ()  # the team's breached KPIs only
    month: str | None = None  # the month whose score is asked (the digest is in its last week)
    monthly_missing: tuple[OwnerMissing, ...] = ()  # active KRs without that month's score


@dataclass(frozen=True, slots=True)
class Reminder:
    """The check-ins still missing before the week's digest."""

    team: str
    week: str
    digest_at: datetime
    missing: tuple[OwnerMissing, ...]
    links: Links


def _moved(before: KrState, now: KrState) -> bool:
    value_moved = before.current != now.current
    return abs(now.progress - before.progress) >= MOVE_EPSILON or value_moved


def missing_check_ins(krs: Iterable[KrWeek]) -> tuple[OwnerMissing, ...]:
    """Active KRs without a check-in this week, grouped by owner (owners A-Z, no owner last)."""
    by_owner: dict[str | None, list[str]] = {}
    for kr in krs:
        if kr.active and not kr.check_ins:
            by_owner.setdefault(kr.owner, []).append(kr.key)
    order = sorted(by_owner, key=lambda owner: (owner is None, (owner or "").lower()))
    return tuple(OwnerMissing(owner, tuple(by_owner[owner])) for owner in order)


def missing_monthly_scores(krs: Iterable[KrWeek]) -> tuple[OwnerMissing, ...]:
    """Active KRs without the asked month's score, grouped by owner as check-ins are."""
    by_owner: dict[str | None, list[str]] = {}
    for kr in krs:
        if kr.active and not kr.scored_month:
            by_owner.setdefault(kr.owner, []).append(kr.key)
    order = sorted(by_owner, key=lambda owner: (owner is None, (owner or "").lower()))
    return tuple(OwnerMissing(owner, tuple(by_owner[owner])) for owner in order)


def _why(kr: KrWeek) -> str:
    for note in reversed(kr.check_ins):
        if note.why.strip():
            return note.why.strip()
    return ""


def build_digest(
    *,
    team: str,
    cycle: str,
    week: str,
    week_start: datetime,
    week_end: datetime,
    objectives: Sequence[ObjectiveWeek],
    krs: Sequence[KrWeek],
    links: Links,
    late_from: datetime | None = None,
    kpis: Sequence[KpiSignal] = (),
    month: str | None = None,
) -> Digest:
    """The digest of a team's week from its KRs then and now (objectives in the given order).

    `month` is set when the digest falls in a month's last week: the KRs whose owners have not
    given that month's score are then listed (`monthly_missing`).

    Of the team's KPIs only the breached ones are kept: the digest reports health signals out
    of their range, a healthy KPI is no news.
    """
    lines = []
    for objective in objectives:
        own = [kr for kr in krs if kr.objective_key == objective.key]
        now = objective_progress((kr.now.progress, kr.weight, kr.active) for kr in own)
        then = objective_progress(
            (kr.before.progress, kr.weight, kr.active) for kr in own if kr.before is not None
        )
        lines.append(ObjectiveLine(objective.key, objective.title, now, now - then))
    active = [kr for kr in krs if kr.active]
    moved = tuple(
        KrMove(kr.key, kr.title, kr.kind, kr.unit, kr.owner, kr.before, kr.now, _why(kr))
        for kr in active
        if kr.before is not None and _moved(kr.before, kr.now)
    )
    status_changes = tuple(move for move in moved if move.before.status != move.now.status)
    attention = tuple(
        KrLine(kr.key, kr.title, kr.owner, kr.now)
        for kr in sorted(active, key=lambda k: (k.now.status != "off_track", k.key))
        if kr.now.status in ("at_risk", "off_track")
    )
    celebrated = tuple(
        KrLine(kr.key, kr.title, kr.owner, kr.now)
        for kr in active
        if kr.now.score >= CROSSING and (kr.before is None or kr.before.score < CROSSING)
    )
    abandoned = tuple(
        KrLine(kr.key, kr.title, kr.owner, kr.now, note=kr.abandon_reason or "")
        for kr in krs
        if not kr.active
    )
    risks = tuple(Note(kr.key, text) for kr in krs for c in kr.check_ins for text in c.risks)
    learnings = tuple(
        Note(kr.key, text) for kr in krs for c in kr.check_ins for text in c.learnings
    )
    return Digest(
        team=team,
        cycle=cycle,
        week=week,
        week_start=week_start,
        week_end=week_end,
        objectives=tuple(lines),
        moved=moved,
        status_changes=status_changes,
        attention=attention,
        celebrated=celebrated,
        abandoned=abandoned,
        missing=missing_check_ins(krs),
        risks=risks,
        learnings=learnings,
        links=links,
        late_from=late_from,
        signals=tuple(k for k in kpis if k.health == "breached"),
        month=month,
        monthly_missing=missing_monthly_scores(krs) if month is not None else (),
    )
