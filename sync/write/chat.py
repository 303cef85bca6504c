"""Sending digests and reminders: weekly, once per channel and week, through the queue.

Every worker's scheduler runs `tick` each minute. For each active channel it works out the
latest digest (and reminder) instant at or before now and *claims* that week by inserting its
`DigestSend` row: the unique (channel, kind, week) lets one insert win across workers and
replicas; the losers skip. The winner sends, then marks the row `sent`; a `sent` row is never
sent again. A worker that was down at the scheduled time claims it when it is back (the
message says it is late); weeks before the channel existed are never claimed.

Failures: `RateLimited` waits its `Retry-After`, other `Transient` failures back off, both
through a `retry` row that a later run claims with a compare-and-set UPDATE (so still once);
a `Permanent` 404/410 means the webhook was removed: the channel is parked. So does `Refused`
(the outbound policy refused the URL's address, or the webhook answered a redirect, which is
never followed): the channel is parked with the policy's reason, never what answered.

A worker that dies between the post and the `sent` mark leaves the row `sending`: it is not
retried, because a post that may have succeeded must not be repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from sync.core.digest import Digest, Links, Reminder
from sync.db.model import DigestChannel, DigestSend
from sync.db.store import Store
from sync.digest import load_digest, load_reminder, schedule_of, teams_with_channels
from sync.engine.jobs import Jobs
from sync.engine.metrics import count_write
from sync.errors import Permanent, RateLimited, Refused, Transient
from sync.ports import Chat, Clock, People

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=15)
"""A send claimed this long after its instant is marked late (a worker was down)."""
MAX_ATTEMPTS = 8
GONE = frozenset({404, 410})
"""Answers that mean the webhook was removed: the channel is parked."""

Content = Digest | Reminder
Render = Callable[[Content, str, str], Mapping[str, Any]]
"""Renders a digest or reminder for a channel kind (`slack`, `teams`) in a language."""
LinksOf = Callable[[int, str], Links]
"""The team's OKR page and check-in links on a site."""
Decrypt = Callable[[str], "str | None"]


def parked_reason(exc: Permanent) -> str | None:
    """Why a failure parks its channel (the webhook is gone, or the policy refused it);
    None when it does not."""
    if isinstance(exc, Refused):
        return exc.message
    if exc.status in GONE:
        return f"the webhook answered {exc.status}: it was removed"
    return None


@dataclass(frozen=True, slots=True)
class Claim:
    channel_id: int
    site_id: int
    kind: str
    week: str
    due_at: datetime
    digest_at: datetime


class DigestSender:
    """The digest's scheduling and sending, bound to a store, a clock and a chat port."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        chat: Callable[[], Chat | None],
        people: Callable[[], People | None] = lambda: None,
        render: Render,
        links: LinksOf,
        decrypt: Decrypt,
        later: Callable[[int, float], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.chat = chat
        self.people = people  # whose names the digest shows for owners and authors
        self.render = render
        self.links = links
        self.decrypt = decrypt
        self.later = later  # schedules `send(send_id)` after a delay (the queue); else next tick
        self.send_now_queued: Any = None  # `send_now` as a huey task (untyped), set by the app

    # -- the schedule ----------------------------------------------------------------------

    def due_claims(self, now: datetime) -> list[Claim]:
        """What is due now: each active channel's latest digest and pending reminder."""
        claims: list[Claim] = []
        with self.store.session() as session:
            for channel in teams_with_channels(session):
                schedule = schedule_of(channel)
                digest_at = schedule.digest_due(now)
                if digest_at >= channel.created_at:
                    claims.append(
                        Claim(
                            channel.id,
                            channel.site_id,
                            "digest",
                            schedule.week_of(digest_at),
                            digest_at,
                            digest_at,
                        )
                    )
                reminder_at, its_digest = schedule.reminder_due(now)
                if reminder_at >= channel.created_at and its_digest > now:
                    claims.append(
                        Claim(
                            channel.id,
                            channel.site_id,
                            "reminder",
                            schedule.week_of(its_digest),
                            reminder_at,
                            its_digest,
                        )
                    )
        return claims

    def tick(self) -> int:
        """Claim and send what is due, and retries whose time has come; returns posts made."""
        now = self.clock.now()
        sent = 0
        claims = self.due_claims(now)
        taken = self._taken(claims)
        built: dict[tuple[Any, ...], Content | None] = {}  # one build per team and week
        for claim in claims:
            if (claim.channel_id, claim.kind, claim.week) in taken:
                continue
            send_id = self._claim(claim, now)
            if send_id is not None:
                sent += self.send(send_id, claimed=True, built=built)
        with self.store.session() as session:
            retries = session.scalars(
                select(DigestSend.id).where(DigestSend.state == "retry", DigestSend.next_at <= now)
            ).all()
        for send_id in retries:
            sent += self.send(send_id)
        return sent

    def _taken(self, claims: list[Claim]) -> set[tuple[int, str, str]]:
        """The claims some worker already made (one query): most ticks find them all taken."""
        if not claims:
            return set()
        weeks = {claim.week for claim in claims}
        with self.store.session() as session:
            rows = session.execute(
                select(DigestSend.channel_id, DigestSend.kind, DigestSend.week).where(
                    DigestSend.week.in_(weeks)
                )
            ).all()
        return {(channel_id, kind, week) for channel_id, kind, week in rows}

    def _claim(self, claim: Claim, now: datetime) -> int | None:
        """Insert the week's send row; None when another worker won the insert."""
        row = DigestSend(
            site_id=claim.site_id,
            channel_id=claim.channel_id,
            kind=claim.kind,
            week=claim.week,
            due_at=claim.due_at,
            digest_at=claim.digest_at,
            state="sending",
            attempts=0,
            late=now - claim.due_at > LATE_AFTER,
        )
        try:
            with self.store.session() as session:
                session.add(row)
                session.flush()
                return row.id
        except IntegrityError:
            return None

    # -- one send --------------------------------------------------------------------------

    def send(
        self,
        send_id: int,
        *,
        claimed: bool = False,
        built: dict[tuple[Any, ...], Content | None] | None = None,
    ) -> int:
        """Post one claimed send (or claim a due retry first); returns 1 when posted.

        `built` shares the digests built in one tick between the channels of a team."""
        now = self.clock.now()
        if not claimed and not self._claim_retry(send_id, now):
            return 0
        with self.store.session() as session:
            row = session.get(DigestSend, send_id)
            if row is None:  # its channel was removed meanwhile
                return 0
            channel = session.get(DigestChannel, row.channel_id)
            if channel is None or channel.state != "active":
                row.state = "skipped"
                return 0
            key = (channel.site_id, channel.team_key, row.kind, row.week, row.digest_at, row.late)
            if built is not None and key in built:
                content = built[key]
            else:
                content = self._content(session, row, channel, now)
                if built is not None:
                    built[key] = content
            if content is None:
                row.state, row.last_error = "skipped", "nothing to send"
                return 0
            kind, lang, encrypted = channel.kind, channel.lang, channel.url
            label = f"{row.kind} {row.week} of channel {channel.id}"
        url = self.decrypt(encrypted)
        chat = self.chat()
        if url is None or chat is None:
            return self._failed(send_id, None, "no webhook URL or chat client", park=None)
        try:
            chat.post(kind=kind, url=url, payload=self.render(content, kind, lang))
        except RateLimited as exc:
            count_write(kind, "retry")
            return self._retry(send_id, exc, exc.retry_after)
        except Transient as exc:
            count_write(kind, "retry")
            return self._retry(send_id, exc, None)
        except Permanent as exc:
            count_write(kind, "parked")
            return self._failed(send_id, exc.status, exc.message, park=parked_reason(exc))
        count_write(kind, "ok")
        with self.store.session() as session:
            session.execute(
                update(DigestSend)
                .where(DigestSend.id == send_id)
                .values(
                    state="sent",
                    sent_at=self.clock.now(),
                    attempts=DigestSend.attempts + 1,
                    last_error=None,
                )
            )
        log.info("sent the %s", label)
        return 1

    def _content(
        self, session: Any, row: DigestSend, channel: DigestChannel, now: datetime
    ) -> Content | None:
        links = self.links(channel.site_id, channel.team_key)
        if row.kind == "digest":
            return load_digest(
                session,
                channel.site_id,
                channel.team_key,
                end=row.digest_at,
                week=row.week,
                links=links,
                late_from=row.due_at if row.late else None,
                people=self.people(),
            )
        reminder = load_reminder(
            session,
            channel.site_id,
            channel.team_key,
            now=now,
            digest_at=row.digest_at,
            week=row.week,
            links=links,
            people=self.people(),
        )
        # Nothing is sent when everyone has checked in.
        return reminder if reminder is not None and reminder.missing else None

    def _claim_retry(self, send_id: int, now: datetime) -> bool:
        """Move a due `retry` row to `sending`; True for the one caller whose UPDATE won."""
        with self.store.session() as session:
            result = session.execute(
                update(DigestSend)
                .where(
                    DigestSend.id == send_id, DigestSend.state == "retry", DigestSend.next_at <= now
                )
                .values(state="sending")
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def _retry(self, send_id: int, exc: Transient, wait: float | None) -> int:
        with self.store.session() as session:
            row = session.get(DigestSend, send_id)
            if row is None:
                return 0
            row.attempts += 1
            row.last_error = str(exc)[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.state = "failed"
                return 0
            delay = wait if wait is not None else float(2 ** min(row.attempts + 4, 12))
            row.state, row.next_at = "retry", self.clock.now() + timedelta(seconds=delay)
        log.info("digest send %s deferred %.0fs: %s", send_id, delay, exc.message)
        if self.later is not None:
            self.later(send_id, delay)
        return 0

    def _failed(self, send_id: int, status: int | None, message: str, *, park: str | None) -> int:
        with self.store.session() as session:
            row = session.get(DigestSend, send_id)
            if row is None:
                return 0
            row.state, row.attempts, row.last_error = "failed", row.attempts + 1, message[:2000]
            if park is not None:
                channel = session.get(DigestChannel, row.channel_id)
                if channel is not None:
                    channel.state = "parked"
                    channel.parked_reason = park
        log.warning(
            "digest send %s failed (%s)%s", send_id, status, ": channel parked" if park else ""
        )
        return 0

    # -- now, by hand ----------------------------------------------------------------------

    def send_now(self, site_id: int, team: str) -> list[tuple[int, str]]:
        """Post the team's digest of the week ending now to each of its active channels.

        Returns (channel id, outcome) pairs. Not recorded as the week's send: the scheduled
        digest still goes out at its time.
        """
        now = self.clock.now()
        outcomes: list[tuple[int, str]] = []
        with self.store.session() as session:
            channels = session.scalars(
                select(DigestChannel)
                .where(
                    DigestChannel.site_id == site_id,
                    DigestChannel.team_key == team,
                    DigestChannel.state == "active",
                )
                .order_by(DigestChannel.id)
            ).all()
            jobs = []
            for channel in channels:
                week = schedule_of(channel).week_of(now)
                content = load_digest(
                    session,
                    site_id,
                    team,
                    end=now,
                    week=week,
                    links=self.links(site_id, team),
                    people=self.people(),
                )
                if content is not None:
                    jobs.append((channel.id, channel.kind, channel.lang, channel.url, content))
        chat = self.chat()
        for channel_id, kind, lang, encrypted, content in jobs:
            url = self.decrypt(encrypted)
            if url is None or chat is None:
                outcomes.append((channel_id, "not sent: no webhook URL or chat client"))
                continue
            try:
                chat.post(kind=kind, url=url, payload=self.render(content, kind, lang))
            except Permanent as exc:
                count_write(kind, "parked")
                reason = parked_reason(exc)
                if reason is not None:
                    self._park(channel_id, reason)
                outcomes.append((channel_id, f"failed: {exc.message}"))
            except Transient as exc:
                count_write(kind, "retry")
                outcomes.append((channel_id, f"failed, try again later: {exc.message}"))
            else:
                count_write(kind, "ok")
                outcomes.append((channel_id, "sent"))
        return outcomes

    def _park(self, channel_id: int, reason: str) -> None:
        with self.store.session() as session:
            channel = session.get(DigestChannel, channel_id)
            if channel is not None:
                channel.state = "parked"
                channel.parked_reason = reason


def register(jobs: Jobs, *, render: Render, links: LinksOf, decrypt: Decrypt) -> DigestSender:
    """The weekly digest's jobs: looked at every minute by each worker's scheduler, sent once,
    through the `Chat` port the jobs hold when each message goes out."""
    sender = DigestSender(
        store=jobs.store,
        clock=jobs.ports.clock,
        chat=lambda: jobs.ports.chat,
        people=lambda: jobs.ports.people,
        render=render,
        links=links,
        decrypt=decrypt,
    )

    # The tasks return None: huey keeps no result of them in its store.
    def send(send_id: int) -> None:
        sender.send(send_id)

    def send_now(site_id: int, team: str) -> None:
        sender.send_now(site_id, team)

    def tick() -> None:
        sender.tick()

    send_later = jobs.huey.task(name="send_digest")(send)
    sender.later = lambda send_id, delay: send_later.schedule((send_id,), delay=delay)
    sender.send_now_queued = jobs.huey.task(name="send_digest_now")(send_now)
    jobs.huey.periodic_task(crontab(minute="*"), name="digest_tick")(tick)
    return sender
