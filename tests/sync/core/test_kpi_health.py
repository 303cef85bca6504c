"""A KPI is healthy inside its range with no sudden change, breached otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.core.kpis import BREACHED, DROP, HEALTHY, OUT_OF_RANGE, Health, health

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_inside_the_range_is_healthy_and_outside_is_breached() -> None:
    assert health(12, healthy_min=None, healthy_max=15, now=NOW) == Health(HEALTHY)
    assert health(15, healthy_min=None, healthy_max=15, now=NOW) == Health(HEALTHY)
    assert health(16, healthy_min=None, healthy_max=15, now=NOW) == Health(BREACHED, OUT_OF_RANGE)
    assert health(0.5, healthy_min=1, healthy_max=None, now=NOW) == Health(BREACHED, OUT_OF_RANGE)


def test_a_change_of_more_than_drop_alert_of_the_range_within_7_days_breaches() -> None:
    # Range 90..100 (10 wide), drop_alert 20: a move of more than 2 within 7 days.
    recent = [(NOW - timedelta(days=3), 99.0)]
    judged = health(96.5, healthy_min=90, healthy_max=100, drop_alert=20, recent=recent, now=NOW)
    assert judged == Health(BREACHED, DROP)
    calm = health(97.5, healthy_min=90, healthy_max=100, drop_alert=20, recent=recent, now=NOW)
    assert calm == Health(HEALTHY)


def test_changes_older_than_7_days_are_forgotten() -> None:
    old = [(NOW - timedelta(days=8), 99.0)]
    assert health(
        95, healthy_min=90, healthy_max=100, drop_alert=20, recent=old, now=NOW
    ) == Health(HEALTHY)


def test_a_one_sided_range_measures_changes_against_its_bound() -> None:
    # max 15: 20% of 15 is 3; from 5 to 9 within a week is a sudden change.
    recent = [(NOW - timedelta(days=1), 5.0)]
    assert health(9, healthy_min=None, healthy_max=15, drop_alert=20, recent=recent, now=NOW) == (
        Health(BREACHED, DROP)
    )


def test_no_value_yet_is_healthy() -> None:
    assert health(None, healthy_min=0, healthy_max=15, now=NOW) == Health(HEALTHY)
