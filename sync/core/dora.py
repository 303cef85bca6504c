"""DORA's four keys, values in, values out: deployments, changes and incidents -> numbers.

Every function takes the facts of a rolling window (and a little before it) and `now`, and
derives its value from them alone: the same facts in any order give the same value, so
replays and a backfill over webhooks cannot move a key.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

DEPLOYMENT_FREQUENCY = "deployment_frequency"
CHANGE_LEAD_TIME = "change_lead_time_hours"
CHANGE_FAILURE_RATE = "change_failure_rate"
TIME_TO_RESTORE = "time_to_restore_hours"
KEYS = (DEPLOYMENT_FREQUENCY, CHANGE_LEAD_TIME, CHANGE_FAILURE_RATE, TIME_TO_RESTORE)

DEFAULT_ENVIRONMENT = "production"
# The issue fixes 7 days for the frequency; the other keys need more events than a week holds
# to mean anything, so they look at 30 days unless told otherwise.
DEFAULT_WINDOW_DAYS = {
    DEPLOYMENT_FREQUENCY: 7,
    CHANGE_LEAD_TIME: 30,
    CHANGE_FAILURE_RATE: 30,
    TIME_TO_RESTORE: 30,
}
DEFAULT_INCIDENT_WINDOW_HOURS = 24.0
HOUR = 3600.0
# GitHub's "Revert" button names the branch `revert-<number>-<branch>`.
_REVERT_BRANCH = re.compile(r"^revert-(\d+)-")


@dataclass(frozen=True, slots=True)
class DeploymentFact:
    """A deployment of `repo` to one environment: created, and first succeeded / failed."""

    repo: str
    created_at: datetime
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None

    @property
    def shipped(self) -> bool:
        """It reached the environment: a success and never a failure or error status."""
        return self.succeeded_at is not None and self.failed_at is None

    @property
    def finished_at(self) -> datetime | None:
        """When its outcome was known (first failure, else first success)."""
        return self.failed_at or self.succeeded_at


@dataclass(frozen=True, slots=True)
class ChangeFact:
    """A merged pull request: when the change began (first commit or PR open) and merged."""

    repo: str
    number: int
    started_at: datetime
    merged_at: datetime
    branch: str = ""

    @property
    def reverts(self) -> int | None:
        """The number of the PR this one reverts, when made with GitHub's Revert button."""
        match = _REVERT_BRANCH.match(self.branch)
        return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class IncidentFact:
    """A Jira incident: opened, and resolved (or not yet)."""

    opened_at: datetime
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """The rolling window `(now - days, now]`."""

    now: datetime
    days: float

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.days)

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start < at <= self.now


def _ordered(deployments: Iterable[DeploymentFact]) -> list[DeploymentFact]:
    return sorted(deployments, key=lambda d: (d.created_at, d.repo, d.succeeded_at or d.created_at))


def deployment_frequency(deployments: Iterable[DeploymentFact], window: Window) -> float:
    """Deployments that shipped in the window, per week (a failed or errored one did not)."""
    shipped = sum(1 for d in deployments if d.shipped and window.holds(d.succeeded_at))
    return round(shipped * 7.0 / window.days, 4)


def shipped_changes(
    deployments: Iterable[DeploymentFact], changes: Iterable[ChangeFact]
) -> list[tuple[DeploymentFact, ChangeFact]]:
    """Each merged change paired with the first deployment of its repository that shipped it.

    A deployment ships what was merged into its repository before it was created; without the
    commit graph, the first shipped deployment created after the merge is the one that carried
    the change (what a deployment of a branch's head does).
    """
    by_repo: dict[str, list[DeploymentFact]] = {}
    for deployment in _ordered(deployments):
        if deployment.shipped:
            by_repo.setdefault(deployment.repo, []).append(deployment)
    created = {repo: [d.created_at for d in series] for repo, series in by_repo.items()}
    pairs = []
    for change in changes:
        series = by_repo.get(change.repo)
        if series:
            index = bisect_left(created[change.repo], change.merged_at)
            if index < len(series):
                pairs.append((series[index], change))
    return pairs


def change_lead_time_hours(
    deployments: Iterable[DeploymentFact], changes: Iterable[ChangeFact], window: Window
) -> float | None:
    """Median hours from a change's start to the shipped deployment that carried it."""
    hours = [
        (deployment.succeeded_at - change.started_at).total_seconds() / HOUR
        for deployment, change in shipped_changes(deployments, changes)
        if deployment.succeeded_at is not None and window.holds(deployment.succeeded_at)
    ]
    return round(median(hours), 2) if hours else None


def median_hours(seconds: Iterable[float]) -> float | None:
    """The change lead time from the pairs already made: median hours, as above."""
    hours = [value / HOUR for value in seconds]
    return round(median(hours), 2) if hours else None


def change_failure_rate(
    deployments: Iterable[DeploymentFact],
    changes: Iterable[ChangeFact],
    incidents: Iterable[IncidentFact],
    window: Window,
    *,
    incident_window_hours: float = DEFAULT_INCIDENT_WINDOW_HOURS,
) -> float | None:
    """The share (in %) of the window's finished deployments that led to a failure.

    A deployment failed when it got a `failure`/`error` status, when a revert of a change it
    shipped was merged, or when an incident was opened within `incident_window_hours` after it.
    """
    every = _ordered(deployments)
    changes = list(changes)
    finished = [d for d in every if window.holds(d.finished_at)]
    if not finished:
        return None
    reverted = {c.reverts for c in changes if c.reverts is not None}
    reverted_by = {
        id(deployment)
        for deployment, change in shipped_changes(every, changes)
        if change.number in reverted
    }
    opened = sorted(incident.opened_at for incident in incidents)
    after = timedelta(hours=incident_window_hours)
    failed = 0
    for deployment in finished:
        shipped_at = deployment.succeeded_at
        incident = shipped_at is not None and any(
            shipped_at <= opened_at <= shipped_at + after for opened_at in opened
        )
        if not deployment.shipped or id(deployment) in reverted_by or incident:
            failed += 1
    return round(100.0 * failed / len(finished), 2)


def time_to_restore_hours(
    deployments: Iterable[DeploymentFact],
    incidents: Sequence[IncidentFact] | None,
    window: Window,
) -> float | None:
    """Median hours to restore service, over restorations that ended in the window.

    With incidents (a Jira `incident_jql`): from each incident opened to resolved. Without:
    from a failed deployment to the next shipped one of the same repository.
    """
    if incidents is not None:
        hours = [
            (i.resolved_at - i.opened_at).total_seconds() / HOUR
            for i in incidents
            if i.resolved_at is not None and window.holds(i.resolved_at)
        ]
    else:
        hours = []
        by_repo: dict[str, list[DeploymentFact]] = {}
        for deployment in _ordered(deployments):
            by_repo.setdefault(deployment.repo, []).append(deployment)
        for series in by_repo.values():
            failed_at: datetime | None = None
            for deployment in series:
                if not deployment.shipped and deployment.failed_at is not None:
                    failed_at = failed_at or deployment.failed_at
                elif deployment.shipped and failed_at is not None:
                    restored = deployment.succeeded_at
                    if restored is not None and window.holds(restored):
                        hours.append((restored - failed_at).total_seconds() / HOUR)
                    failed_at = None
    return round(median(hours), 2) if hours else None
