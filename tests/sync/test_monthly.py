"""Monthly scoring, asked: the month's score stored as given, beating the derived one, and the
KRs still without it listed only during a month's last week."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connect.services import services_of
from connect.ui.render import monthly_scores
from sync.core.digest import Links
from sync.db.model import KeyResult, MonthlyScore
from sync.db.store import find_kr
from sync.digest import load_digest
from sync.errors import Invalid
from sync.monthly import (
    asked_month,
    given_in_cycle,
    given_scores,
    in_last_week,
    missing_scores,
    record_monthly_score,
)
from tests.support.app import CLIENT_KEY, install
from tests.support.quarter import write_quarter
from tests.support.ui import make_kr

NOV_26 = datetime(2026, 11, 26, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "asked"),
    [
        (date(2026, 11, 23), False),
        (date(2026, 11, 24), True),  # November's last 7 days: 24..30
        (date(2026, 11, 30), True),
        (date(2026, 12, 1), False),
        (date(2027, 2, 21), False),
        (date(2027, 2, 22), True),  # February 2027 has 28 days
        (date(2028, 2, 22), False),  # 2028 is a leap year: 23..29
        (date(2028, 2, 29), True),
    ],
)
def test_a_months_score_is_asked_in_its_last_seven_days(day: date, asked: bool) -> None:
    assert in_last_week(day) is asked
    assert asked_month(day) == (f"{day:%Y-%m}" if asked else None)


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> int:
    """2026-Q4 of PLAT written (three objectives, nine active metric KRs)."""
    site_id = install(app)
    write_quarter(client, {**admin, "X-Okrlink-Site": CLIENT_KEY})
    return site_id


def _kr(session: Session, site_id: int, key: str) -> KeyResult:
    kr = find_kr(session, site_id, key)
    assert kr is not None
    return kr


def test_the_score_is_stored_as_given_and_given_again_replaces_it(app: Flask, site: int) -> None:
    store = services_of(app).store
    with store.session() as session:
        kr = _kr(session, site, "PLAT-1.1")
        data = {"month": "2026-11", "score": 0.6, "reason": "Drills found two bugs"}
        record_monthly_score(session, kr, data, author="557058:owner", at=NOV_26)
        again = {"month": "2026-11", "score": 0.7, "reason": "Failover now automatic"}
        record_monthly_score(session, kr, again, author="557058:lead", at=NOV_26)
    with store.session() as session:
        rows = session.scalars(select(MonthlyScore)).all()
        assert [(r.month, r.score, r.reason, r.author) for r in rows] == [
            ("2026-11", 0.7, "Failover now automatic", "557058:lead")
        ]
        kr = _kr(session, site, "PLAT-1.1")
        assert given_scores(session, [kr.id])[kr.id]["2026-11"].score == 0.7
        assert given_in_cycle(session, site, "2026-Q4") == {"PLAT-1.1": {"2026-11": 0.7}}


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"month": "2026-11", "score": 1.2, "reason": "r"}, "score", "score_range"),
        ({"month": "2026-11", "score": -0.1, "reason": "r"}, "score", "score_range"),
        ({"month": "2026-11", "score": "high", "reason": "r"}, "score", "score_range"),
        ({"month": "2026-13", "score": 0.5, "reason": "r"}, "month", "bad_month"),
        ({"month": "November", "score": 0.5, "reason": "r"}, "month", "bad_month"),
        ({"month": "2026-07", "score": 0.5, "reason": "r"}, "month", "bad_month"),  # not Q4
        ({"month": "2026-12", "score": 0.5, "reason": "r"}, "month", "bad_month"),  # not begun
        ({"month": "2026-11", "score": 0.5, "reason": " "}, "reason", "required"),
        ({"month": "2026-11", "score": 0.5, "reason": "a\nb"}, "reason", "one_line"),
    ],
)
def test_a_bad_score_month_or_reason_is_refused_and_nothing_is_stored(
    app: Flask, site: int, data: dict[str, object], field: str, code: str
) -> None:
    store = services_of(app).store
    with store.session() as session, pytest.raises(Invalid) as refused:
        record_monthly_score(session, _kr(session, site, "PLAT-1.1"), data, author=None, at=NOV_26)
    assert (refused.value.field, refused.value.code) == (field, code)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(MonthlyScore)) == 0


def test_missing_scores_are_listed_only_in_the_months_last_week(app: Flask, site: int) -> None:
    store = services_of(app).store
    with store.session() as session:
        krs = list(session.scalars(select(KeyResult).order_by(KeyResult.key)))
        record_monthly_score(
            session,
            _kr(session, site, "PLAT-2.1"),
            {"month": "2026-11", "score": 0.3, "reason": "Rethink: deploys still manual"},
            author=None,
            at=NOV_26,
        )
        in_week = [kr.key for kr in missing_scores(session, krs, date(2026, 11, 26))]
        assert len(in_week) == 8
        assert "PLAT-2.1" not in in_week
        assert missing_scores(session, krs, date(2026, 11, 20)) == []
        assert len(missing_scores(session, krs, date(2026, 12, 28))) == 9  # December's asked


def test_given_beats_derived_in_score_by_month() -> None:
    history = (
        (datetime(2026, 10, 30, tzinfo=UTC), 0.4),
        (datetime(2026, 11, 27, tzinfo=UTC), 0.5),
    )
    kr = make_kr("PLAT-1.1", history=history)
    start, end = date(2026, 10, 1), date(2026, 12, 31)
    assert monthly_scores(kr, start=start, end=end) == [("2026-10", 0.4), ("2026-11", 0.5)]
    given = {"PLAT-1.1": {"2026-11": 0.7}}
    assert monthly_scores(kr, start=start, end=end, given=given) == [
        ("2026-10", 0.4),
        ("2026-11", 0.7),
    ]
    other = {"PLAT-9.9": {"2026-11": 0.1}}
    assert monthly_scores(kr, start=start, end=end, given=other)[1] == ("2026-11", 0.5)


def test_the_weekly_digest_carries_the_missing_scores_in_the_last_week_only(
    app: Flask, site: int
) -> None:
    links = Links(okr_page="https://acme.atlassian.net/p", check_in="https://acme.atlassian.net/c")
    with services_of(app).store.session() as session:
        record_monthly_score(
            session,
            _kr(session, site, "PLAT-1.1"),
            {"month": "2026-11", "score": 0.7, "reason": "Failover now automatic"},
            author=None,
            at=NOV_26,
        )
        in_week = load_digest(session, site, "PLAT", end=NOV_26, week="2026-W48", links=links)
        before = load_digest(
            session, site, "PLAT", end=datetime(2026, 11, 19, tzinfo=UTC), week="W47", links=links
        )
    assert in_week is not None and before is not None
    assert in_week.month == "2026-11"
    missing = [key for owner in in_week.monthly_missing for key in owner.krs]
    assert len(missing) == 8 and "PLAT-1.1" not in missing
    assert before.month is None and before.monthly_missing == ()
