"""Two worker processes on one database: each week's digest of a 3 x 5 team goes out once,
including while one worker is stopped and after both were down over the scheduled time."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from connect.services import services_of
from connect.settings import Settings
from sync.db.model import DigestSend
from sync.db.store import local_site
from sync.digest import ChannelSpec, add_channel
from tests.support.base import ROOT
from tests.support.chat import SLACK_OK, Receiver, receiver
from tests.support.digest import import_team

CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Paris
SETTLE = 1.5  # seconds of ticking by both workers after a change of time


class Workers:
    """Worker processes sharing the test's database and a clock file."""

    def __init__(self, settings: Settings, clock_file: Path) -> None:
        self.settings = settings
        self.clock_file = clock_file
        self.running: dict[str, subprocess.Popen[str]] = {}

    def set_time(self, when: datetime) -> None:
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(when.isoformat())
        tmp.replace(self.clock_file)  # atomic: a worker never reads half a time

    def start(self, name: str) -> None:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.digest_worker",
                self.settings.resolved_database_url,
                str(self.settings.data_dir),
                self.settings.secret_key,
                str(self.clock_file),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        self.running[name] = process

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        process.terminate()
        assert process.wait(timeout=20) == 0
        if process.stdout is not None:
            process.stdout.close()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """OKRLINK_DEV: the receiver is loopback http, as the workers' own settings say too."""
    return settings.replace(dev=True)


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    found = Workers(settings, tmp_path / "clock.txt")
    found.set_time(CREATED)
    yield found
    found.stop_all()


@pytest.fixture
def slack() -> Iterator[Receiver]:
    with receiver(default=SLACK_OK) as found:
        yield found


def digest_weeks(app: Flask) -> list[tuple[str, str, bool]]:
    with services_of(app).store.session() as session:
        return [
            (r.week, r.state, r.late)
            for r in session.scalars(
                select(DigestSend).where(DigestSend.kind == "digest").order_by(DigestSend.id)
            )
        ]


def test_each_week_goes_out_once_across_two_workers(
    app: Flask, workers: Workers, slack: Receiver
) -> None:
    services = services_of(app)
    with services.store.session() as session:
        site_id = local_site(session).id
        import_team(session, site_id, now=CREATED)
        add_channel(
            session,
            site_id,
            ChannelSpec(team="PLAT", kind="slack", url=slack.url("/hook"), tz="Europe/Paris"),
            encrypt=services.tenants.encrypt,
            now=CREATED,
            urls=services.outbound,
        )
    workers.start("a")
    workers.start("b")

    # Week 49: both workers running across the scheduled time.
    workers.set_time(DUE - timedelta(seconds=30))
    time.sleep(SETTLE)
    workers.set_time(DUE)
    time.sleep(SETTLE)
    # Week 50: worker a is stopped over the scheduled time; b sends it.
    workers.stop("a")
    workers.set_time(DUE + timedelta(days=7, minutes=1))
    time.sleep(SETTLE)
    # Week 51: both are down over the scheduled time; back three hours later, it goes out
    # once, marked late.
    workers.stop("b")
    workers.set_time(DUE + timedelta(days=14, hours=3))
    workers.start("a")
    workers.start("b")
    time.sleep(SETTLE)
    workers.stop_all()

    posts = [p.body for p in slack.posts if "weekly OKR digest" in p.body["text"]]
    assert len(posts) == 3
    assert all("PLAT-3.5" in str(p["blocks"]) for p in posts)  # the whole 3 x 5 team
    assert digest_weeks(app) == [
        ("2026-W49", "sent", False),
        ("2026-W50", "sent", False),
        ("2026-W51", "sent", True),
    ]
    assert "Sent late" in str(posts[2]["blocks"]) and "Sent late" not in str(posts[0])
