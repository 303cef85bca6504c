"""Weekly digests and reminders: sent once per channel and week, late after a worker was
down, parked when the webhook is gone, retried after 429 as `Retry-After` says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from connect.services import services_of
from connect.settings import Settings
from integrations.chat.sender import WebhookChat
from integrations.outbound import OutboundPolicy
from sync.core.spec import KpiSpec
from sync.db.model import DigestChannel, DigestSend, KeyResult
from sync.db.store import local_site
from sync.digest import ChannelSpec, add_channel, list_channels
from sync.errors import Invalid
from sync.kpis import upsert_kpi
from sync.okrs import record_check_in
from sync.write.chat import DigestSender
from tests.support.base import FakeClock
from tests.support.chat import SLACK_OK, TEAMS_OK, Answer, Receiver, receiver
from tests.support.digest import import_team

# Monday 30 November 2026, 09:00 in Paris = 08:00 UTC; the channel exists from the Wednesday.
CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
REMINDER = DUE - timedelta(days=2)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """OKRLINK_DEV: the receivers here are loopback http, which only dev allows."""
    return settings.replace(dev=True)


@pytest.fixture
def slack() -> Iterator[Receiver]:
    with receiver(default=SLACK_OK) as found:
        yield found


def add(app: Flask, url: str, *, kind: str = "slack", lang: str = "en") -> int:
    services = services_of(app)
    with services.store.session() as session:
        site_id = local_site(session).id
        import_team(session, site_id, now=CREATED)
        view = add_channel(
            session,
            site_id,
            ChannelSpec(
                team="PLAT", kind=kind, url=url, day="mon", at="09:00", tz="Europe/Paris", lang=lang
            ),
            encrypt=services.tenants.encrypt,
            now=CREATED,
            urls=services.outbound,
        )
    return view.id


def sender(app: Flask) -> DigestSender:
    found: DigestSender = services_of(app).digest
    return found


def sends(app: Flask) -> list[tuple[str, str, str, bool]]:
    with services_of(app).store.session() as session:
        return [
            (r.kind, r.week, r.state, r.late)
            for r in session.scalars(select(DigestSend).order_by(DigestSend.id))
        ]


def digests(receiver: Receiver) -> list[dict[str, Any]]:
    return [p.body for p in receiver.posts if "weekly OKR digest" in p.body["text"]]


def test_nothing_is_sent_for_weeks_before_the_channel_existed(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    clock.current = CREATED
    add(app, slack.url("/hook"))
    assert sender(app).tick() == 0
    assert slack.posts == [] and sends(app) == []


def test_the_digest_goes_out_once_at_its_time_however_many_ticks(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    clock.current = DUE - timedelta(minutes=1)
    sender(app).tick()
    assert digests(slack) == []
    for minute in range(5):
        clock.current = DUE + timedelta(minutes=minute)
        sender(app).tick()
    (message,) = digests(slack)
    assert message["blocks"][0]["text"]["text"] == "PLAT · weekly OKR digest"
    assert ("digest", "2026-W49", "sent", False) in sends(app)
    clock.current = DUE + timedelta(days=7)
    sender(app).tick()
    assert len(digests(slack)) == 2  # the next week's


def test_after_a_worker_was_down_the_digest_goes_out_once_marked_late(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    clock.current = DUE + timedelta(hours=3)
    sender(app).tick()
    sender(app).tick()
    (message,) = digests(slack)
    assert "Sent late: it was due 30 Nov 2026 08:00 UTC." in str(message["blocks"])
    assert ("digest", "2026-W49", "sent", True) in sends(app)


def test_the_reminder_lists_krs_without_a_check_in_two_days_before(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    services = services_of(app)
    with services.store.session() as session:
        for kr in session.scalars(select(KeyResult).where(KeyResult.key != "PLAT-2.3")):
            record_check_in(
                session,
                kr,
                {"what": "Moved on", "value": 20.0},
                author="Owner",
                at=REMINDER - timedelta(days=1),
            )
    clock.current = REMINDER
    sender(app).tick()
    sender(app).tick()
    (post,) = slack.posts
    assert "check-ins before the weekly digest" in post.body["text"]
    body = str(post.body["blocks"])
    assert "PLAT-2.3" in body and "PLAT-1.1" not in body
    assert ("reminder", "2026-W49", "sent", False) in sends(app)


def test_no_reminder_is_sent_when_everyone_has_checked_in(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    with services_of(app).store.session() as session:
        for kr in session.scalars(select(KeyResult)):
            record_check_in(
                session, kr, {"what": "Done"}, author="Owner", at=REMINDER - timedelta(hours=1)
            )
    clock.current = REMINDER
    sender(app).tick()
    assert slack.posts == []
    assert sends(app) == [("reminder", "2026-W49", "skipped", False)]


@pytest.mark.parametrize("status", [404, 410])
def test_a_removed_webhook_parks_the_channel_and_nothing_more_is_sent(
    app: Flask, clock: FakeClock, slack: Receiver, status: int
) -> None:
    channel_id = add(app, slack.url("/hook"))
    slack.answer_next(Answer(status, "no_service"))
    clock.current = DUE
    sender(app).tick()
    with services_of(app).store.session() as session:
        (view,) = list_channels(session)
    assert (view.id, view.state) == (channel_id, "parked")
    assert str(status) in (view.parked_reason or "")
    clock.current = DUE + timedelta(days=7)
    sender(app).tick()
    assert len(slack.posts) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirecting_webhook_reaches_nothing_and_parks_the_channel_without_echoing_it(
    app: Flask, clock: FakeClock, slack: Receiver, status: int
) -> None:
    with receiver() as metadata:
        channel_id = add(app, slack.url("/hook"))
        location = metadata.url("/latest/meta-data/iam/security-credentials/")
        slack.answer_next(Answer(status, "AccessKeyId=AKIA-SECRET", {"Location": location}))
        clock.current = DUE
        sender(app).tick()
        clock.current = DUE + timedelta(days=7)
        sender(app).tick()
    assert metadata.posts == [] and len(slack.posts) == 1  # not followed, not sent again
    with services_of(app).store.session() as session:
        (view,) = list_channels(session)
        (error,) = session.scalars(select(DigestSend.last_error)).all()
    assert (view.id, view.state) == (channel_id, "parked")
    assert f"redirect ({status})" in (view.parked_reason or "")
    for told in (view.parked_reason or "", error or ""):
        assert "meta-data" not in told and "AKIA" not in told and str(metadata.base_url) not in told


def test_a_host_that_now_resolves_to_the_metadata_service_is_refused_when_sending(
    app: Flask, clock: FakeClock
) -> None:
    services = services_of(app)
    public = OutboundPolicy(resolve=lambda _host, _port: ["8.8.8.8"])
    with services.store.session() as session:
        site_id = local_site(session).id
        import_team(session, site_id, now=CREATED)
        add_channel(
            session,
            site_id,
            ChannelSpec(
                team="PLAT",
                kind="teams",
                url="https://hooks.example/workflows/x",
                tz="Europe/Paris",
            ),
            encrypt=services.tenants.encrypt,
            now=CREATED,
            urls=public,
        )
    rebound = OutboundPolicy(resolve=lambda _host, _port: ["169.254.169.254"])
    services.jobs.ports = replace(services.jobs.ports, chat=WebhookChat(rebound))
    clock.current = DUE
    sender(app).tick()
    with services.store.session() as session:
        (view,) = list_channels(session)
    assert view.state == "parked"
    assert "link-local address" in (view.parked_reason or "")
    assert sends(app) == [("digest", "2026-W49", "failed", False)]


def test_429_waits_for_retry_after_then_sends_once(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    slack.answer_next(Answer(429, "rate_limited", {"Retry-After": "120"}))
    clock.current = DUE
    sender(app).tick()
    assert sends(app) == [("digest", "2026-W49", "retry", False)]
    clock.current = DUE + timedelta(seconds=60)
    sender(app).tick()
    assert len(slack.posts) == 1  # Retry-After not over yet
    clock.current = DUE + timedelta(seconds=121)
    sender(app).tick()
    sender(app).tick()
    assert len(slack.posts) == 2 and len(digests(slack)) == 2
    assert sends(app) == [("digest", "2026-W49", "sent", False)]


def test_a_retry_is_claimed_by_one_caller_only(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    slack.answer_next(Answer(503, "busy"))
    clock.current = DUE
    sender(app).tick()
    with services_of(app).store.session() as session:
        send_id = session.scalars(select(DigestSend.id)).one()
    clock.current = DUE + timedelta(hours=1)
    assert sender(app).send(send_id) == 1
    assert sender(app).send(send_id) == 0  # already sent: never repeated
    assert len(slack.posts) == 2


def test_a_teams_channel_gets_its_card(app: Flask, clock: FakeClock) -> None:
    with receiver(default=TEAMS_OK) as teams:
        add(app, teams.url("/workflows/run"), kind="teams", lang="fr")
        clock.current = DUE
        sender(app).tick()
    (post,) = teams.posts
    card = post.body["attachments"][0]["content"]
    assert card["body"][0]["text"] == "PLAT · point hebdomadaire des OKR"


@pytest.mark.parametrize(
    "url", ["http://hooks.slack.com/services/x", "ftp://a.test/x", "https://", "not a url"]
)
def test_only_https_webhook_urls_are_accepted(app: Flask, url: str) -> None:
    services = services_of(app)
    with services.store.session() as session:
        site_id = local_site(session).id
        import_team(session, site_id, now=CREATED)
    with pytest.raises(Invalid) as caught, services.store.session() as session:
        add_channel(
            session,
            site_id,
            ChannelSpec(team="PLAT", kind="slack", url=url),
            encrypt=services.tenants.encrypt,
            now=CREATED,
            urls=services.outbound,
        )
    assert caught.value.field == "url"
    with services.store.session() as session:
        assert list_channels(session) == []


def test_the_webhook_url_is_stored_encrypted_and_shown_masked(app: Flask) -> None:
    url = "https://hooks.slack.com/services/T000/B000/SECRETsecret1234"
    add(app, url)
    with services_of(app).store.session() as session:
        (view,) = list_channels(session)
        stored = session.execute(select(DigestChannel.url)).scalar_one()
    assert view.url_hint == "https://hooks.slack.com/…1234"
    assert "SECRET" not in stored and "hooks.slack.com" not in stored
    assert services_of(app).tenants.decrypt(stored) == url


def test_each_worker_looks_every_minute_through_the_queue_periodic_tasks(app: Flask) -> None:
    queue = services_of(app).queue
    (tick,) = [task for task in queue._registry.periodic_tasks if task.name == "digest_tick"]
    assert all(tick.validate_datetime(datetime(2026, 11, 30, 8, m)) for m in (0, 1, 59))


def test_the_sent_digest_reports_the_teams_breached_kpi_only(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    with services_of(app).store.session() as session:
        site_id = local_site(session).id
        for position, (team, spec) in enumerate(
            [
                (
                    "PLAT",
                    KpiSpec(
                        key="PLAT-K1",
                        title="Change failure rate",
                        unit="%",
                        healthy_max=15,
                        owner="Owner 1",
                        current=22,
                    ),
                ),
                (
                    "PLAT",
                    KpiSpec(
                        key="PLAT-K2",
                        title="Availability",
                        unit="%",
                        healthy_min=99.5,
                        current=99.9,
                    ),
                ),
                (
                    "WEB",
                    KpiSpec(
                        key="WEB-K1", title="Bounce rate", unit="%", healthy_max=40, current=70
                    ),
                ),
            ]
        ):
            upsert_kpi(session, site_id, team, spec, position=position, now=CREATED)
    clock.current = DUE
    sender(app).tick()
    (message,) = digests(slack)
    (section,) = [
        b["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "section" and "Health signals" in b["text"]["text"]
    ]
    # The team is named, never the KPI's owner; the healthy KPI and the other team's stay out.
    assert section == (
        "*Health signals*\n• *PLAT-K1* PLAT · Change failure rate is outside its "
        "healthy range (at most 15%). Now: 22%."
    )
    assert "PLAT-K2" not in str(message) and "WEB-K1" not in str(message)


def test_no_health_section_is_sent_when_every_kpi_is_healthy(
    app: Flask, clock: FakeClock, slack: Receiver
) -> None:
    add(app, slack.url("/hook"))
    with services_of(app).store.session() as session:
        upsert_kpi(
            session,
            local_site(session).id,
            "PLAT",
            KpiSpec(key="PLAT-K2", title="Availability", unit="%", healthy_min=99.5, current=99.9),
            position=0,
            now=CREATED,
        )
    clock.current = DUE
    sender(app).tick()
    (message,) = digests(slack)
    assert "Health signals" not in str(message["blocks"]) and "PLAT-K2" not in str(message)
