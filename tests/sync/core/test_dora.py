"""DORA's four keys from plain facts, against values worked out by hand.

The week: four deployments of one repository (the second fails and the third restores it),
three merged PRs they ship, and, in some tests, a revert and a Jira incident.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from sync.core.dora import (
    ChangeFact,
    DeploymentFact,
    IncidentFact,
    Window,
    change_failure_rate,
    change_lead_time_hours,
    deployment_frequency,
    shipped_changes,
    time_to_restore_hours,
)
from sync.core.progress import metric_progress

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
REPO = "acme/api"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


D1 = DeploymentFact(REPO, at(20, 10), succeeded_at=at(20, 10, 30))
D2 = DeploymentFact(REPO, at(21, 10), failed_at=at(21, 10, 20))
D3 = DeploymentFact(REPO, at(21, 14), succeeded_at=at(21, 14, 30))
D4 = DeploymentFact(REPO, at(23, 9), succeeded_at=at(23, 9, 10))
DEPLOYMENTS = [D1, D2, D3, D4]
PR1 = ChangeFact(REPO, 1, started_at=at(19, 10), merged_at=at(20, 9))
PR2 = ChangeFact(REPO, 2, started_at=at(20, 12), merged_at=at(21, 9))
PR3 = ChangeFact(REPO, 3, started_at=at(22, 8), merged_at=at(22, 20))
CHANGES = [PR1, PR2, PR3]
REVERT_OF_PR3 = ChangeFact(REPO, 4, at(23, 11), at(23, 12), branch="revert-3-change-3")
WEEK = Window(NOW, 7)
MONTH = Window(NOW, 30)


def test_each_change_ships_with_the_first_successful_deployment_created_after_its_merge() -> None:
    # PR2 merged before D2, which failed: D3 is the deployment that shipped it.
    assert shipped_changes(DEPLOYMENTS, CHANGES) == [(D1, PR1), (D3, PR2), (D4, PR3)]


def test_deployment_frequency_counts_shipped_deployments_per_week() -> None:
    assert deployment_frequency(DEPLOYMENTS, WEEK) == 3.0  # D1, D3, D4; D2 failed
    # Over 14 days the same 3 deployments are 1.5 a week.
    assert deployment_frequency(DEPLOYMENTS, Window(NOW, 14)) == 1.5
    # A window that closed before D4 shipped: D1 and D3 in (16th 09:00, 23rd 09:00].
    assert deployment_frequency(DEPLOYMENTS, Window(at(23, 9), 7)) == 2.0


def test_change_lead_time_is_the_median_from_first_change_to_shipped() -> None:
    # PR1: 19th 10:00 -> D1 20th 10:30 = 24.5 h; PR2: 20th 12:00 -> D3 21st 14:30 = 26.5 h;
    # PR3: 22nd 08:00 -> D4 23rd 09:10 = 25 h 10 min. Median 25.17 h.
    assert change_lead_time_hours(DEPLOYMENTS, CHANGES, MONTH) == 25.17


def test_change_failure_rate_counts_failed_statuses_reverts_and_incidents() -> None:
    assert change_failure_rate(DEPLOYMENTS, CHANGES, [], MONTH) == 25.0  # D2 of 4
    with_revert = [*CHANGES, REVERT_OF_PR3]
    assert change_failure_rate(DEPLOYMENTS, with_revert, [], MONTH) == 50.0  # D2, D4
    incident = IncidentFact(opened_at=at(20, 11), resolved_at=at(20, 13))  # 30 min after D1
    assert change_failure_rate(DEPLOYMENTS, with_revert, [incident], MONTH) == 75.0
    # An incident opened more than `incident_window_hours` after D1 shipped is not D1's.
    assert (
        change_failure_rate(DEPLOYMENTS, with_revert, [incident], MONTH, incident_window_hours=0.25)
        == 50.0
    )


def test_time_to_restore_from_incidents_or_else_from_the_failed_deployment() -> None:
    # Without Jira: D2 failed at 21st 10:20, D3 shipped at 14:30: 4 h 10 min.
    assert time_to_restore_hours(DEPLOYMENTS, None, MONTH) == 4.17
    incidents = [
        IncidentFact(at(20, 11), at(20, 13)),
        IncidentFact(at(22, 1), at(22, 7)),
        IncidentFact(at(24, 1)),
    ]
    assert time_to_restore_hours(DEPLOYMENTS, incidents, MONTH) == 4.0  # median of 2 h and 6 h


def test_an_empty_window_has_no_value_rather_than_zero() -> None:
    empty = Window(at(1, 0), 7)
    assert deployment_frequency(DEPLOYMENTS, empty) == 0.0
    assert change_lead_time_hours(DEPLOYMENTS, CHANGES, empty) is None
    assert change_failure_rate(DEPLOYMENTS, CHANGES, [], empty) is None
    assert time_to_restore_hours(DEPLOYMENTS, None, empty) is None


@pytest.mark.parametrize("seed", range(5))
def test_the_order_of_the_facts_changes_nothing(seed: int) -> None:
    deployments, changes = list(DEPLOYMENTS), [*CHANGES, REVERT_OF_PR3]
    random.Random(seed).shuffle(deployments)
    random.Random(seed + 1).shuffle(changes)
    assert deployment_frequency(deployments, WEEK) == 3.0
    assert change_lead_time_hours(deployments, changes, MONTH) == 25.17
    assert change_failure_rate(deployments, changes, [], MONTH) == 50.0
    assert time_to_restore_hours(deployments, None, MONTH) == 4.17


def test_a_dora_kr_moves_like_any_metric_decreases_included() -> None:
    # "Reduce the change failure rate from 15% to 5%": at 10% the KR is half way.
    assert metric_progress(baseline=15, target=5, current=10) == 0.5
