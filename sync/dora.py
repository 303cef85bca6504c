"""Measure DORA's four keys for a site from stored deployments, merged PRs and incidents.

Only the rolling window and one window before it are read (indexed by site and time), so the
cost of a value follows the window's events, never the length of the history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.core import dora
from sync.model import Deployment, Incident, PullRequest

# Scope fields a DORA KR or KPI may carry (OKR file, API); all optional.
PARAM_FIELDS = ("repository", "environment", "window_days", "incident_jql",
                "incident_window_hours")  # fmt: skip


def query_digest(jql: str) -> str:
    """How incidents name the `incident_jql` that found them (JQL can exceed an index key)."""
    return hashlib.sha256(" ".join(jql.split()).encode()).hexdigest()


def window_of(measure: str, params: Mapping[str, Any], now: datetime) -> dora.Window:
    days = params.get("window_days") or dora.DEFAULT_WINDOW_DAYS[measure]
    return dora.Window(now=now, days=float(days))


def _facts(
    session: Session, site_id: int, params: Mapping[str, Any], since: datetime
) -> tuple[list[dora.DeploymentFact], list[dora.ChangeFact]]:
    environment = params.get("environment") or dora.DEFAULT_ENVIRONMENT
    repository = params.get("repository")
    deployments = select(
        Deployment.repo, Deployment.created_at, Deployment.succeeded_at, Deployment.failed_at
    ).where(
        Deployment.site_id == site_id,
        Deployment.environment == environment,
        Deployment.created_at > since,
    )
    changes = select(
        PullRequest.repo, PullRequest.number, PullRequest.opened_at, PullRequest.merged_at,
        PullRequest.branch,
    ).where(
        PullRequest.site_id == site_id,
        PullRequest.merged.is_(True),
        PullRequest.merged_at > since,
    )  # fmt: skip
    if repository:
        deployments = deployments.where(Deployment.repo == repository)
        changes = changes.where(PullRequest.repo == repository)
    return (
        [dora.DeploymentFact(*row) for row in session.execute(deployments)],
        [
            dora.ChangeFact(repo, number, opened or merged, merged, branch or "")
            for repo, number, opened, merged, branch in session.execute(changes)
            if merged is not None
        ],
    )


def _incidents(
    session: Session, site_id: int, jql: str, since: datetime
) -> list[dora.IncidentFact]:
    rows = session.execute(
        select(Incident.opened_at, Incident.resolved_at).where(
            Incident.site_id == site_id,
            Incident.query == query_digest(jql),
            Incident.opened_at > since,
        )
    )
    return [dora.IncidentFact(opened, resolved) for opened, resolved in rows]


def measure(
    session: Session, site_id: int, measure: str, params: Mapping[str, Any] | None, *, now: datetime
) -> float | None:
    """The value of one DORA key for the site now; None when the window holds nothing to say."""
    params = params or {}
    window = window_of(measure, params, now)
    # A change merged, or an incident opened, up to one window early can still land in it.
    since = window.start - timedelta(days=window.days)
    deployments, changes = _facts(session, site_id, params, since)
    jql = params.get("incident_jql")
    incidents = _incidents(session, site_id, jql, since) if jql else None
    if measure == dora.DEPLOYMENT_FREQUENCY:
        return dora.deployment_frequency(deployments, window)
    if measure == dora.CHANGE_LEAD_TIME:
        return dora.change_lead_time_hours(deployments, changes, window)
    if measure == dora.CHANGE_FAILURE_RATE:
        hours = params.get("incident_window_hours") or dora.DEFAULT_INCIDENT_WINDOW_HOURS
        return dora.change_failure_rate(
            deployments, changes, incidents or (), window, incident_window_hours=float(hours)
        )
    if measure == dora.TIME_TO_RESTORE:
        return dora.time_to_restore_hours(deployments, incidents, window)
    raise ValueError(f"unknown DORA key {measure!r}")
