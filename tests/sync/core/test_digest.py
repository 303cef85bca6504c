"""When digests and reminders are due (time zones, DST), and what a week's digest says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync.core.digest import (
    CheckInNote,
    KpiSignal,
    KrState,
    KrWeek,
    Links,
    ObjectiveWeek,
    Schedule,
    build_digest,
    validate_schedule,
)

PARIS = Schedule(day="mon", at="09:00", tz="Europe/Paris")
LINKS = Links(okr_page="https://x.test/okrs", check_in="https://x.test/okrs")
END = datetime(2026, 11, 30, 8, tzinfo=UTC)
WEEK = timedelta(days=7)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_digest_is_due_at_the_latest_local_time_at_or_before_now() -> None:
    # Monday 30 Nov 2026, 09:00 in Paris is 08:00 UTC (winter time).
    assert PARIS.digest_due(utc(2026, 11, 30, 8, 0)) == utc(2026, 11, 30, 8, 0)
    assert PARIS.digest_due(utc(2026, 11, 30, 7, 59)) == utc(2026, 11, 23, 8, 0)
    assert PARIS.digest_due(utc(2026, 12, 3, 12, 0)) == utc(2026, 11, 30, 8, 0)


def test_09_00_stays_09_00_across_the_daylight_saving_change() -> None:
    # Summer time starts on Sunday 29 March 2026: Monday 30 March 09:00 is 07:00 UTC.
    assert PARIS.digest_due(utc(2026, 3, 30, 12, 0)) == utc(2026, 3, 30, 7, 0)
    assert PARIS.digest_due(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 23, 8, 0)
    # And back on Sunday 25 October 2026.
    assert PARIS.digest_due(utc(2026, 10, 26, 12, 0)) == utc(2026, 10, 26, 8, 0)


def test_a_time_inside_the_spring_gap_goes_out_after_it_not_never() -> None:
    sunday = Schedule(day="sun", at="02:30", tz="Europe/Paris")
    due = sunday.digest_due(utc(2026, 3, 29, 12, 0))
    assert due.date().isoformat() == "2026-03-29"  # that Sunday, not the week before


def test_a_week_is_named_by_the_iso_week_of_the_local_date() -> None:
    late_sunday = Schedule(day="sun", at="23:30", tz="Pacific/Auckland")
    due = late_sunday.digest_due(utc(2026, 11, 29, 12, 0))
    assert due == utc(2026, 11, 29, 10, 30)
    assert late_sunday.week_of(due) == "2026-W48"
    assert PARIS.week_of(utc(2026, 11, 30, 8, 0)) == "2026-W49"


def test_the_reminder_is_due_two_days_before_its_digest_by_default() -> None:
    reminder, digest = PARIS.reminder_due(utc(2026, 11, 28, 8, 0))
    assert (reminder, digest) == (utc(2026, 11, 28, 8, 0), utc(2026, 11, 30, 8, 0))
    reminder, digest = PARIS.reminder_due(utc(2026, 11, 28, 7, 59))
    assert digest == utc(2026, 11, 23, 8, 0)  # the previous week's, already past


@pytest.mark.parametrize(
    "field,value",
    [("day", "someday"), ("at", "9h"), ("at", "24:00"), ("tz", "Mars/Olympus"), ("remind_days", 7)],
)
def test_an_impossible_schedule_is_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        validate_schedule(Schedule(**{"day": "mon", "at": "09:00", "tz": "UTC", field: value}))


def state(progress: float, status: str = "on_track", current: float | None = None) -> KrState:
    return KrState(progress=progress, score=progress, status=status, current=current)


def kr(
    key: str,
    before: KrState | None,
    now: KrState,
    *,
    owner: str | None = "Ana",
    objective: str = "PLAT-1",
    active: bool = True,
    notes: tuple[CheckInNote, ...] = (),
    kind: str = "metric",
) -> KrWeek:
    return KrWeek(
        key=key,
        title=f"KR {key}",
        objective_key=objective,
        kind=kind,
        unit="%",
        owner=owner,
        weight=1.0,
        active=active,
        abandon_reason=None if active else "Replaced by PLAT-1.9",
        before=before,
        now=now,
        check_ins=notes,
    )


def note(
    why: str = "", risks: tuple[str, ...] = (), learnings: tuple[str, ...] = ()
) -> CheckInNote:
    return CheckInNote(
        at=utc(2026, 11, 27),
        author="Ana",
        status=None,
        value=None,
        why=why,
        risks=risks,
        learnings=learnings,
    )


def digest_of(*krs: KrWeek):  # type: ignore[no-untyped-def]
    end = utc(2026, 11, 30, 8)
    return build_digest(
        team="PLAT",
        cycle="2026-Q4",
        week="2026-W49",
        week_start=end - timedelta(days=7),
        week_end=end,
        objectives=[ObjectiveWeek("PLAT-1", "Reliable"), ObjectiveWeek("PLAT-2", "Enjoyable")],
        krs=list(krs),
        links=LINKS,
    )


def test_objective_progress_and_its_change_roll_up_active_krs_only() -> None:
    digest = digest_of(
        kr("PLAT-1.1", state(0.2), state(0.6), notes=(note(),)),
        kr("PLAT-1.2", state(0.4), state(0.4)),
        kr("PLAT-1.3", state(0.9), state(0.9), active=False),
        kr("PLAT-2.1", state(0.5), state(0.5), objective="PLAT-2"),
    )
    first, second = digest.objectives
    assert first.progress == pytest.approx(0.5) and first.change == pytest.approx(0.2)
    assert second.progress == pytest.approx(0.5) and second.change == 0


def test_moves_status_changes_and_the_reason_from_the_latest_check_in() -> None:
    digest = digest_of(
        kr(
            "PLAT-1.1",
            state(0.2, current=10),
            state(0.3, "at_risk", current=12),
            notes=(note(why="First cause"), note(why="Load tests ran")),
        ),
        kr("PLAT-1.2", state(0.4), state(0.4)),
        kr("PLAT-1.3", None, state(0.1)),  # new this week: nothing to compare with
    )
    assert [m.key for m in digest.moved] == ["PLAT-1.1"]
    assert digest.moved[0].why == "Load tests ran"
    assert [(m.before.status, m.now.status) for m in digest.status_changes] == [
        ("on_track", "at_risk")
    ]


def test_attention_lists_off_track_first_then_at_risk_with_owners() -> None:
    digest = digest_of(
        kr("PLAT-1.1", state(0.2), state(0.2, "at_risk"), owner="Ana"),
        kr("PLAT-1.2", state(0.1), state(0.1, "off_track"), owner="Bo"),
        kr("PLAT-1.3", state(0.1), state(0.1, "off_track"), active=False),
    )
    assert [(k.key, k.owner) for k in digest.attention] == [("PLAT-1.2", "Bo"), ("PLAT-1.1", "Ana")]


def test_only_krs_that_crossed_0_7_this_week_are_celebrated() -> None:
    digest = digest_of(
        kr("PLAT-1.1", state(0.65), state(0.7)),
        kr("PLAT-1.2", state(0.8), state(0.9)),  # was above already
        kr("PLAT-1.3", state(0.5), state(0.69)),
    )
    assert [k.key for k in digest.celebrated] == ["PLAT-1.1"]


def test_missing_check_ins_are_grouped_by_owner_without_abandoned_krs() -> None:
    digest = digest_of(
        kr("PLAT-1.1", state(0.1), state(0.1), owner="Bo"),
        kr("PLAT-1.2", state(0.1), state(0.1), owner="ana"),
        kr("PLAT-1.3", state(0.1), state(0.1), owner=None),
        kr("PLAT-1.4", state(0.1), state(0.1), owner="Bo", notes=(note(),)),
        kr("PLAT-1.5", state(0.1), state(0.1), owner="Bo"),
        kr("PLAT-1.6", state(0.1), state(0.1), owner="Cy", active=False),
    )
    assert [(m.owner, m.krs) for m in digest.missing] == [
        ("ana", ("PLAT-1.2",)),
        ("Bo", ("PLAT-1.1", "PLAT-1.5")),
        (None, ("PLAT-1.3",)),
    ]


def test_risks_learnings_and_abandoned_krs_with_their_reason() -> None:
    digest = digest_of(
        kr(
            "PLAT-1.1",
            state(0.1),
            state(0.1),
            notes=(note(risks=("Vendor late",), learnings=("Drills pay off",)),),
        ),
        kr("PLAT-1.2", state(0.1), state(0.1), active=False),
    )
    assert [(n.kr, n.text) for n in digest.risks] == [("PLAT-1.1", "Vendor late")]
    assert [(n.kr, n.text) for n in digest.learnings] == [("PLAT-1.1", "Drills pay off")]
    assert [(k.key, k.note) for k in digest.abandoned] == [("PLAT-1.2", "Replaced by PLAT-1.9")]


def signal(key: str, health: str, reason: str | None = None) -> KpiSignal:
    return KpiSignal(
        key=key,
        title=f"Signal {key}",
        unit="%",
        current=20.0,
        health=health,
        reason=reason,
        healthy_min=None,
        healthy_max=15.0,
        drop_alert=None,
    )


def test_the_digest_keeps_only_the_breached_kpis_in_their_order() -> None:
    breached = signal("PLAT-K1", "breached", "out_of_range")
    healthy = signal("PLAT-K2", "healthy")
    dropped = signal("PLAT-K3", "breached", "drop")
    digest = build_digest(
        team="PLAT",
        cycle="2026-Q4",
        week="2026-W49",
        week_start=END - WEEK,
        week_end=END,
        objectives=[],
        krs=[],
        links=LINKS,
        kpis=[breached, healthy, dropped],
    )
    assert digest.signals == (breached, dropped)


def test_a_team_whose_kpis_are_all_healthy_has_no_signals() -> None:
    digest = build_digest(
        team="PLAT",
        cycle="2026-Q4",
        week="2026-W49",
        week_start=END - WEEK,
        week_end=END,
        objectives=[],
        krs=[],
        links=LINKS,
        kpis=[signal("PLAT-K2", "healthy")],
    )
    assert digest.signals == ()
