from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sync.core.progress import (
    AT_RISK_RATIO,
    ON_TRACK_RATIO,
    STATUSES,
    IssueState,
    KRRollup,
    Snapshot,
    computed_status,
    display_score,
    effective_status,
    expected_progress,
    issues_progress,
    median_lead_time_hours,
    metric_progress,
    objective_progress,
    score,
    snapshot_for,
)
from sync.core.spec import quarter, quarter_of

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
Q4 = quarter("2026-Q4")


# --- metric progress ---------------------------------------------------------------------------


def test_metric_progress_is_share_of_the_way_from_baseline_to_target() -> None:
    assert metric_progress(baseline=99.5, target=99.99, current=99.745) == pytest.approx(0.5)


def test_metric_progress_works_for_decreasing_targets() -> None:
    assert metric_progress(baseline=15, target=5, current=10) == pytest.approx(0.5)


def test_metric_progress_clamps_overshoot_and_regression() -> None:
    assert metric_progress(baseline=15, target=5, current=2) == 1.0
    assert metric_progress(baseline=15, target=5, current=20) == 0.0


def test_metric_without_a_current_value_has_no_progress() -> None:
    assert metric_progress(baseline=40, target=10, current=None) == 0.0


def test_metric_with_target_equal_to_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match="target equals baseline"):
        metric_progress(baseline=5, target=5, current=5)


def test_metric_with_non_finite_numbers_is_refused() -> None:
    with pytest.raises(ValueError, match="current"):
        metric_progress(baseline=0, target=1, current=float("nan"))


@given(baseline=values, target=values, current=values)
def test_metric_progress_is_always_between_0_and_1(
    baseline: float, target: float, current: float
) -> None:
    assume(baseline != target)
    assert 0.0 <= metric_progress(baseline=baseline, target=target, current=current) <= 1.0


@given(baseline=values, target=values, a=values, b=values)
def test_metric_progress_never_falls_as_current_moves_towards_target(
    baseline: float, target: float, a: float, b: float
) -> None:
    assume(baseline != target)
    # nearer is the value further in the direction of the target
    farther, nearer = sorted((a, b)) if target > baseline else sorted((a, b), reverse=True)
    assert metric_progress(baseline=baseline, target=target, current=nearer) >= metric_progress(
        baseline=baseline, target=target, current=farther
    )


@given(baseline=values, target=values, current=values)
def test_swapping_baseline_and_target_with_mirrored_current_gives_same_progress(
    baseline: float, target: float, current: float
) -> None:
    assume(abs(target - baseline) > 1e-3)
    mirrored = baseline + target - current
    assert metric_progress(baseline=target, target=baseline, current=mirrored) == pytest.approx(
        metric_progress(baseline=baseline, target=target, current=current), abs=1e-6
    )


# --- issues progress ---------------------------------------------------------------------------


def test_issues_progress_weighs_by_story_points_when_all_have_them() -> None:
    tally = issues_progress(
        [
            IssueState("PLAT-1", done=True, story_points=8),
            IssueState("PLAT-2", done=False, story_points=2),
        ]
    )
    assert (tally.done, tally.total, tally.count, tally.done_count) == (8, 10, 2, 1)
    assert tally.progress == pytest.approx(0.8)


def test_issues_progress_counts_each_issue_as_one_when_any_lacks_points() -> None:
    tally = issues_progress(
        [
            IssueState("PLAT-1", done=True, story_points=8),
            IssueState("PLAT-2", done=False),
            IssueState("PLAT-3", done=False, story_points=3),
        ]
    )
    assert (tally.done, tally.total) == (1, 3)
    assert tally.progress == pytest.approx(1 / 3)


def test_issues_with_zero_points_in_total_count_as_one_each() -> None:
    tally = issues_progress(
        [IssueState("PLAT-1", done=True, story_points=0), IssueState("PLAT-2", False, 0)]
    )
    assert tally.progress == 0.5


def test_no_issues_means_no_progress() -> None:
    assert issues_progress([]).progress == 0.0
    assert issues_progress([]).count == 0


def test_an_issue_linked_directly_and_through_its_epic_counts_once() -> None:
    direct = IssueState("PLAT-12", done=True, story_points=5)
    via_epic = IssueState("PLAT-12", done=True, story_points=5, parent_key="PLAT-40")
    other = IssueState("PLAT-41", done=False, story_points=5, parent_key="PLAT-40")
    tally = issues_progress([direct, other, via_epic])
    assert (tally.count, tally.total, tally.done) == (2, 10, 5)


def test_latest_state_of_a_repeated_issue_wins() -> None:
    tally = issues_progress([IssueState("PLAT-1", done=False), IssueState("PLAT-1", done=True)])
    assert (tally.count, tally.done_count, tally.progress) == (1, 1, 1.0)


issue_states = st.builds(
    IssueState,
    key=st.sampled_from([f"PLAT-{n}" for n in range(1, 15)]),
    done=st.booleans(),
    story_points=st.none() | st.floats(min_value=0, max_value=100),
)


@given(
    issues=st.lists(issue_states, unique_by=lambda i: i.key),
    data=st.data(),
)
def test_duplicated_issues_do_not_change_the_tally(
    issues: list[IssueState], data: st.DataObject
) -> None:
    duplicates = data.draw(st.lists(st.sampled_from(issues))) if issues else []
    assert issues_progress(issues + duplicates) == issues_progress(issues)


@given(issues=st.lists(issue_states))
def test_issue_progress_is_always_between_0_and_1(issues: list[IssueState]) -> None:
    tally = issues_progress(issues)
    assert 0.0 <= tally.progress <= 1.0
    assert tally.done_count <= tally.count == len({i.key for i in issues})


# --- score ---------------------------------------------------------------------------------------


def test_score_is_progress_clamped_to_0_and_1() -> None:
    assert score(0.7) == 0.7
    assert score(1.3) == 1.0
    assert score(-0.2) == 0.0


@pytest.mark.parametrize(
    ("value", "shown"), [(0.7, "0.7"), (0.65, "0.7"), (0.64, "0.6"), (1.0, "1.0"), (0.0, "0.0")]
)
def test_display_score_rounds_half_up_to_one_decimal(value: float, shown: str) -> None:
    assert display_score(value) == shown


# --- objective roll-up --------------------------------------------------------------------------


def test_objective_progress_is_weighted_mean_of_active_krs() -> None:
    assert objective_progress([(1.0, 1.0, True), (0.0, 3.0, True)]) == pytest.approx(0.25)


def test_abandoned_kr_leaves_the_roll_up() -> None:
    assert objective_progress([(0.5, 1.0, True), (0.0, 5.0, False)]) == 0.5


def test_objective_without_active_krs_has_no_progress() -> None:
    assert objective_progress([]) == 0.0
    assert objective_progress([(0.9, 1.0, False)]) == 0.0


def test_objective_progress_accepts_rollup_values() -> None:
    krs = [KRRollup(progress=0.4, weight=1.0, active=True), KRRollup(0.8, 1.0, True)]
    assert objective_progress(krs) == pytest.approx(0.6)


rollups = st.tuples(
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0.01, max_value=100),
    st.booleans(),
)


@given(krs=st.lists(rollups), abandoned=st.lists(rollups))
def test_abandoned_krs_never_move_objective_progress(
    krs: list[tuple[float, float, bool]], abandoned: list[tuple[float, float, bool]]
) -> None:
    dropped = [(progress, weight, False) for progress, weight, _ in abandoned]
    assert objective_progress(krs + dropped) == objective_progress(krs)


@given(krs=st.lists(rollups))
def test_objective_progress_is_always_between_0_and_1(
    krs: list[tuple[float, float, bool]],
) -> None:
    assert 0.0 <= objective_progress(krs) <= 1.0


# --- time and status ----------------------------------------------------------------------------


def test_quarter_spans_its_three_months() -> None:
    assert (Q4.name, Q4.start, Q4.end) == ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert quarter("2027-Q1").end == date(2027, 3, 31)
    assert quarter_of(date(2026, 8, 15)) == quarter("2026-Q3")


@pytest.mark.parametrize("name", ["2026-Q5", "Q4 2026", "2026-q4x", ""])
def test_a_name_that_is_not_a_quarter_is_refused_with_the_expected_form(name: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 2026-Q4"):
        quarter(name)


def test_expected_progress_is_share_of_cycle_elapsed() -> None:
    assert expected_progress(start=Q4.start, end=Q4.end, today=date(2026, 9, 1)) == 0.0
    assert expected_progress(start=Q4.start, end=Q4.end, today=Q4.start) == 0.0
    assert expected_progress(start=Q4.start, end=Q4.end, today=date(2026, 11, 1)) == 31 / 91
    assert expected_progress(start=Q4.start, end=Q4.end, today=Q4.end) == 1.0
    assert expected_progress(start=Q4.start, end=Q4.end, today=date(2027, 2, 1)) == 1.0


def _status(progress: float, today: date) -> str:
    return computed_status(progress=progress, start=Q4.start, end=Q4.end, today=today)


def test_status_thresholds_at_mid_cycle() -> None:
    start, end, mid = date(2026, 10, 1), date(2026, 10, 21), date(2026, 10, 11)

    def status(progress: float) -> str:
        return computed_status(progress=progress, start=start, end=end, today=mid)

    assert status(ON_TRACK_RATIO * 0.5) == "on_track"
    assert status(ON_TRACK_RATIO * 0.5 - 0.01) == "at_risk"
    assert status(AT_RISK_RATIO * 0.5) == "at_risk"
    assert status(AT_RISK_RATIO * 0.5 - 0.01) == "off_track"


def test_a_kr_without_progress_is_on_track_in_the_first_days_of_the_cycle() -> None:
    assert _status(0.0, Q4.start + timedelta(days=7)) == "on_track"
    assert _status(0.0, Q4.start + timedelta(days=30)) == "off_track"


def test_a_kr_at_0_7_at_cycle_end_is_on_track() -> None:
    assert _status(0.7, Q4.end) == "on_track"
    assert _status(0.5, Q4.end) == "at_risk"


@given(
    low=st.floats(min_value=0, max_value=1),
    high=st.floats(min_value=0, max_value=1),
    day=st.integers(min_value=-10, max_value=120),
)
def test_more_progress_never_gives_a_worse_status(low: float, high: float, day: int) -> None:
    low, high = sorted((low, high))
    today = Q4.start + timedelta(days=day)
    assert STATUSES.index(_status(high, today)) <= STATUSES.index(_status(low, today))


def test_latest_checkin_status_overrides_computed_status() -> None:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert (
        effective_status(computed="on_track", checkin_status="at_risk", checkin_at=at) == "at_risk"
    )
    assert (
        effective_status(computed="off_track", checkin_status=None, checkin_at=None) == "off_track"
    )


def test_a_retired_checkin_gives_way_to_computed_status() -> None:
    at = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)
    status = effective_status(
        computed="off_track", checkin_status="on_track", checkin_at=at, newer_than_checkin=True
    )
    assert status == "off_track"


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="on_track, at_risk, off_track"):
        effective_status(computed="on_track", checkin_status="green", checkin_at=None)  # type: ignore[arg-type]


# --- snapshots ----------------------------------------------------------------------------------


def test_snapshots_reached_by_different_float_paths_are_equal() -> None:
    a = Snapshot(progress=0.1 + 0.2, score=0.3, status="on_track")
    b = Snapshot(progress=0.3, score=0.1 + 0.2, status="on_track")
    assert a == b
    assert hash(a) == hash(b)
    assert Snapshot(0.3001, 0.3, "on_track") != Snapshot(0.3, 0.3, "on_track")


def test_snapshot_for_combines_progress_time_and_checkin() -> None:
    mid = Q4.start + (Q4.end - Q4.start) / 2
    assert snapshot_for(progress=1.2, start=Q4.start, end=Q4.end, today=mid) == Snapshot(
        1.0, 1.0, "on_track"
    )
    assert snapshot_for(
        progress=0.1, start=Q4.start, end=Q4.end, today=mid, checkin_status="at_risk"
    ) == Snapshot(0.1, 0.1, "at_risk")


def test_replaying_the_same_state_gives_an_identical_snapshot() -> None:
    issues = [IssueState(f"PLAT-{n}", done=n % 3 == 0, story_points=n / 7) for n in range(1, 30)]
    first = issues_progress(issues).progress
    replayed = issues_progress(issues + issues[::-1]).progress
    today = date(2026, 11, 20)
    assert snapshot_for(progress=first, start=Q4.start, end=Q4.end, today=today) == snapshot_for(
        progress=replayed, start=Q4.start, end=Q4.end, today=today
    )


# --- github lead time ---------------------------------------------------------------------------


def test_median_lead_time_in_hours() -> None:
    opened = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    pairs = [
        (opened, opened + timedelta(hours=10)),
        (opened, opened + timedelta(hours=30)),
        (opened, opened + timedelta(hours=50)),
        (opened, opened + timedelta(hours=20)),
    ]
    assert median_lead_time_hours(pairs) == 25.0


def test_median_lead_time_without_merges_is_none() -> None:
    assert median_lead_time_hours([]) is None


def test_pairs_merged_before_opened_are_left_out() -> None:
    opened = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    pairs = [(opened, opened - timedelta(hours=3)), (opened, opened + timedelta(hours=6))]
    assert median_lead_time_hours(pairs) == 6.0
