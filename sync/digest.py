"""Digest channels (add, list, remove) and a team's week read from the store.

The CLI and the admin page create channels here, the one place their rules live: a webhook
URL the outbound policy allows (`sync.ports.UrlPolicy`: `https`, no private networks), a known
schedule and language. The URL is stored encrypted and shown only as a masked hint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.core.digest import (
    CheckInNote,
    Digest,
    KpiSignal,
    KrState,
    KrWeek,
    Links,
    ObjectiveWeek,
    Reminder,
    Schedule,
    build_digest,
    missing_check_ins,
    validate_schedule,
)
from sync.db.model import (
    CheckIn,
    Cycle,
    DigestChannel,
    Kpi,
    Objective,
    Snapshot,
    Team,
)
from sync.errors import Invalid
from sync.monthly import asked_month, given_scores
from sync.people import display, names_for
from sync.ports import People, UrlPolicy

KINDS: tuple[str, ...] = ("slack", "teams")
LANGS: tuple[str, ...] = ("en", "fr", "de", "es")
WEEK = timedelta(days=7)


# --- channels ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel as an admin asks for it."""

    team: str
    kind: str
    url: str
    day: str = "mon"
    at: str = "09:00"
    tz: str = "UTC"
    lang: str = "en"
    remind_days: int = 2


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel as lists show it: never the URL, only its masked hint."""

    id: int
    team: str
    kind: str
    url_hint: str
    day: str
    at: str
    tz: str
    lang: str
    remind_days: int
    state: str
    parked_reason: str | None


def mask_url(url: str) -> str:
    """`https://hooks.slack.com/…Xy12`: the host and the last four characters, no path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…{url[-4:]}"


def add_channel(
    session: Session,
    site_id: int,
    spec: ChannelSpec,
    *,
    encrypt: Callable[[str], str],
    now: datetime,
    urls: UrlPolicy,
) -> ChannelView:
    """Validate and store a digest channel; raises Invalid with the field at fault.

    `urls` is the outbound policy: the webhook must be a URL okrlink may post to (it is
    checked again, and its address pinned, each time a digest is sent)."""
    if spec.kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if spec.lang not in LANGS:
        raise Invalid(f"lang must be one of {', '.join(LANGS)}", field="lang")
    url = urls.check(spec.url)
    schedule = Schedule(
        day=spec.day.strip().lower()[:3],
        at=spec.at.strip(),
        tz=spec.tz.strip(),
        remind_days=spec.remind_days,
    )
    try:
        validate_schedule(schedule)
    except ValueError as exc:
        raise Invalid(str(exc), field="schedule") from exc
    team = session.scalar(select(Team).where(Team.site_id == site_id, Team.key == spec.team))
    if team is None:
        raise Invalid(f"no team {spec.team} on this site", field="team")
    row = DigestChannel(
        site_id=site_id,
        team_key=team.key,
        kind=spec.kind,
        url=encrypt(url),
        url_hint=mask_url(url),
        day=schedule.day,
        time=schedule.at,
        tz=schedule.tz,
        lang=spec.lang,
        remind_days=schedule.remind_days,
        state="active",
        created_at=now,
    )
    session.add(row)
    session.flush()
    return channel_view(row)


def channel_view(row: DigestChannel) -> ChannelView:
    return ChannelView(
        row.id,
        row.team_key,
        row.kind,
        row.url_hint,
        row.day,
        row.time,
        row.tz,
        row.lang,
        row.remind_days,
        row.state,
        row.parked_reason,
    )


def list_channels(session: Session, site_id: int | None = None) -> list[ChannelView]:
    """The channels of a site (every site's when None), by team then id."""
    query = select(DigestChannel).order_by(DigestChannel.team_key, DigestChannel.id)
    if site_id is not None:
        query = query.where(DigestChannel.site_id == site_id)
    return [channel_view(row) for row in session.scalars(query)]


def remove_channel(session: Session, channel_id: int, *, site_id: int | None = None) -> bool:
    """Delete a channel (and its send records); False when there is none (on this site)."""
    row = session.get(DigestChannel, channel_id)
    if row is None or (site_id is not None and row.site_id != site_id):
        return False
    session.delete(row)
    return True


def schedule_of(row: DigestChannel) -> Schedule:
    return Schedule(day=row.day, at=row.time, tz=row.tz, remind_days=row.remind_days)


# --- a team's week -------------------------------------------------------------------------


def _cycle(session: Session, site_id: int, team_id: int, today: date) -> Cycle | None:
    """The team's cycle containing `today`, else its latest one."""
    cycles = session.scalars(
        select(Cycle)
        .join(Objective, Objective.cycle_id == Cycle.id)
        .where(Objective.site_id == site_id, Objective.team_id == team_id)
        .order_by(Cycle.start.desc())
        .distinct()
    ).all()
    current = [c for c in cycles if c.start <= today <= c.end]
    return next(iter(current or cycles), None)


def _state(progress: float, score: float, status: str, current: float | None) -> KrState:
    return KrState(progress=progress, score=score, status=status, current=current)


def load_week(
    session: Session,
    site_id: int,
    team_key: str,
    *,
    start: datetime,
    end: datetime,
    people: People | None = None,
) -> tuple[Cycle, list[ObjectiveWeek], list[KrWeek]] | None:
    """A team's objectives and KRs over (start, end]; None when it has no OKRs. Owners and
    check-in authors are people's names (`sync.people`), never account ids."""
    team = session.scalar(select(Team).where(Team.site_id == site_id, Team.key == team_key))
    if team is None:
        return None
    cycle = _cycle(session, site_id, team.id, end.date())
    if cycle is None:
        return None
    objectives = session.scalars(
        select(Objective)
        .where(
            Objective.site_id == site_id,
            Objective.team_id == team.id,
            Objective.cycle_id == cycle.id,
        )
        .order_by(Objective.position, Objective.id)
    ).all()
    krs = [kr for objective in objectives for kr in objective.key_results]
    ids = [kr.id for kr in krs]
    before: dict[int, KrState] = {}
    for snap in session.scalars(
        select(Snapshot).where(Snapshot.kr_id.in_(ids), Snapshot.at <= start).order_by(Snapshot.at)
    ):
        before[snap.kr_id] = _state(snap.progress, snap.score, snap.status, snap.current)
    notes: dict[int, list[CheckInNote]] = {}
    check_ins = session.scalars(
        select(CheckIn)
        .where(CheckIn.kr_id.in_(ids), CheckIn.at > start, CheckIn.at <= end)
        .order_by(CheckIn.at, CheckIn.id)
    ).all()
    names = names_for(
        session,
        site_id,
        [*(kr.owner for kr in krs), *(c.author for c in check_ins)],
        people=people,
        now=end,
    )
    for c in check_ins:
        notes.setdefault(c.kr_id, []).append(
            CheckInNote(
                at=c.at,
                author=display(c.author, names),
                status=c.status,
                value=c.value,
                why=c.why,
                risks=tuple(c.risks or ()),
                learnings=tuple(c.learnings or ()),
            )
        )
    month = asked_month(end.date())
    scored = set(given_scores(session, ids, month=month)) if month is not None else set()
    keys = {o.id: o.key for o in objectives}
    weeks = [
        KrWeek(
            key=kr.key,
            title=kr.title,
            objective_key=keys[kr.objective_id],
            kind=kr.kind,
            unit=kr.unit,
            owner=display(kr.owner, names),
            weight=kr.weight,
            active=kr.state != "abandoned",
            abandon_reason=kr.abandon_reason,
            before=before.get(kr.id),
            now=_state(kr.progress, kr.score, kr.status, kr.current),
            check_ins=tuple(notes.get(kr.id, ())),
            scored_month=kr.id in scored,
        )
        for kr in krs
    ]
    return cycle, [ObjectiveWeek(o.key, o.title) for o in objectives], weeks


def _asked(cycle: Cycle, day: date) -> str | None:
    """The month whose score the digest on `day` asks for: in a month's last week, of a
    cycle running that day (a past cycle asks nothing)."""
    return asked_month(day) if cycle.start <= day <= cycle.end else None


def load_signals(session: Session, site_id: int, team_key: str) -> list[KpiSignal]:
    """The team's KPIs with their health now, in the panel's order."""
    rows = session.scalars(
        select(Kpi)
        .join(Team, Team.id == Kpi.team_id)
        .where(Kpi.site_id == site_id, Team.key == team_key)
        .order_by(Kpi.position, Kpi.key)
    )
    return [
        KpiSignal(
            key=k.key,
            title=k.title,
            unit=k.unit,
            current=k.current,
            health=k.health,
            reason=k.reason,
            healthy_min=k.healthy_min,
            healthy_max=k.healthy_max,
            drop_alert=k.drop_alert,
        )
        for k in rows
    ]


def load_digest(
    session: Session,
    site_id: int,
    team_key: str,
    *,
    end: datetime,
    week: str,
    links: Links,
    late_from: datetime | None = None,
    people: People | None = None,
) -> Digest | None:
    """The digest of the week that ends at `end` (the digest's instant)."""
    start = end - WEEK
    found = load_week(session, site_id, team_key, start=start, end=end, people=people)
    if found is None:
        return None
    cycle, objectives, krs = found
    return build_digest(
        team=team_key,
        cycle=cycle.name,
        week=week,
        week_start=start,
        week_end=end,
        objectives=objectives,
        krs=krs,
        links=links,
        late_from=late_from,
        kpis=load_signals(session, site_id, team_key),
        month=_asked(cycle, end.date()),
    )


def load_reminder(
    session: Session,
    site_id: int,
    team_key: str,
    *,
    now: datetime,
    digest_at: datetime,
    week: str,
    links: Links,
    people: People | None = None,
) -> Reminder | None:
    """The check-ins missing in the week of the digest at `digest_at`, as of `now`."""
    found = load_week(session, site_id, team_key, start=digest_at - WEEK, end=now, people=people)
    if found is None:
        return None
    return Reminder(
        team=team_key,
        week=week,
        digest_at=digest_at,
        missing=missing_check_ins(found[2]),
        links=links,
    )


def teams_with_channels(session: Session) -> Sequence[DigestChannel]:
    """Every active channel (the scheduler's one read per tick)."""
    return session.scalars(
        select(DigestChannel).where(DigestChannel.state == "active").order_by(DigestChannel.id)
    ).all()
