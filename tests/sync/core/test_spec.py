"""Cycles: the one after a quarter is the next quarter; any other period repeats its length."""

from __future__ import annotations

from datetime import date

from sync.core.spec import CycleSpec, following, quarter


def test_the_cycle_after_a_quarter_is_the_next_quarter_across_the_year() -> None:
    assert following(quarter("2026-Q4")) == quarter("2027-Q1")
    assert following(quarter("2027-Q1")) == quarter("2027-Q2")


def test_the_cycle_after_a_dated_period_has_the_same_length() -> None:
    sprint = CycleSpec(
        name="2026-11-02..2026-11-15", start=date(2026, 11, 2), end=date(2026, 11, 15)
    )
    assert following(sprint) == CycleSpec(
        name="2026-11-16..2026-11-29", start=date(2026, 11, 16), end=date(2026, 11, 29)
    )
