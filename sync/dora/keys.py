"""Measure DORA's four keys for a site from stored deployments, merged PRs and incidents.

Only the rolling window and `LOOKBACK` before it are read (indexed by site and time), so the
cost of a value follows the window's events, never the length of the history. The reads run
on the DB-API cursor (`sync.db.raw.RawQuery`): a month of deployments for 50 repositories is
thousands of rows, and SQLAlchemy's per-row result processing cost more than the query and
the key's arithmetic together (bench/dora.py).

The change lead time reads the (deployment, change) pairs `sync.dora.changes` keeps,
one float a pair, instead of matching the window's merged PRs to its deployments on every
re-measure: over 50 repositories that cut it from 25-65 ms to 2-6 ms (figures in the README's
Benchmarks). Its values are the matching's: a change merged more than `LOOKBACK` before the
window still does not count.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from sync.core import dora
from sync.db.model import Deployment, DeploymentChange, Incident, PullRequest
from sync.db.raw import RawQuery
from sync.engine import snapshots

# Scope fields a DORA KR or KPI may carry (OKR file, API); all optional.
PARAM_FIELDS = ("repository", "environment", "window_days", "incident_jql", "incident_window_hours")
# How long before the window a change may have merged (or a deployment failed) and still
# count for a deployment inside it.
LOOKBACK = timedelta(days=7)
# How long a deployment may take from created to its first success or failure.
FINISH_WITHIN = timedelta(days=1)


def query_digest(jql: str) -> str:
    """How incidents name the `incident_jql` that found them (JQL can exceed an index key)."""
    return hashlib.sha256(" ".join(jql.split()).encode()).hexdigest()


def window_of(measure: str, params: Mapping[str, Any], now: datetime) -> dora.Window:
    days = params.get("window_days") or dora.DEFAULT_WINDOW_DAYS[measure]
    return dora.Window(now=now, days=float(days))


def _at(value: Any) -> datetime | None:
    """A timestamp as the DB-API gives it: aware (PostgreSQL) or an ISO string (SQLite, UTC)."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if isinstance(value, datetime) else None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _scoped(query: Select[Any], repo_column: Any, repository: bool) -> Select[Any]:
    return query.where(repo_column == bindparam("repo")) if repository else query


_D = Deployment.__table__.c
_P = PullRequest.__table__.c


@functools.cache
def _deployments(repository: bool) -> RawQuery:
    query = select(_D.repo, _D.created_at, _D.succeeded_at, _D.failed_at).where(
        _D.site_id == bindparam("site_id"),
        _D.environment == bindparam("environment"),
        _D.created_at > bindparam("since"),
    )
    return RawQuery(_scoped(query, _D.repo, repository))


@functools.cache
def _shipped_count(repository: bool) -> RawQuery:
    query = select(func.count()).where(
        _D.site_id == bindparam("site_id"),
        _D.environment == bindparam("environment"),
        _D.created_at > bindparam("since"),
        _D.succeeded_at > bindparam("start"),
        _D.succeeded_at <= bindparam("now"),
        _D.failed_at.is_(None),
    )
    return RawQuery(_scoped(query, _D.repo, repository))


@functools.cache
def _changes(repository: bool, which: str) -> RawQuery:
    """Merged PRs since `since`: all, GitHub's reverts (`revert-<n>-...`), or these numbers."""
    query = select(_P.repo, _P.number, _P.opened_at, _P.merged_at, _P.branch).where(
        _P.site_id == bindparam("site_id"),
        _P.merged.is_(True),
        _P.merged_at > bindparam("since"),
    )
    if which == "reverts":
        query = query.where(_P.branch.like("revert-%"))
    elif which == "numbered":
        query = query.where(_P.number.in_(bindparam("numbers", expanding=True)))
    return RawQuery(_scoped(query, _P.repo, repository))


_C = DeploymentChange.__table__.c


@functools.cache
def _leads(repository: bool) -> RawQuery:
    """The lead times of the changes shipped in the window (`sync.dora.changes`)."""
    query = select(_C.lead_seconds).where(
        _C.site_id == bindparam("site_id"),
        _C.environment == bindparam("environment"),
        _C.shipped_at > bindparam("start"),
        _C.shipped_at <= bindparam("now"),
        _C.merged_at > bindparam("since"),
    )
    return RawQuery(_scoped(query, _C.repo, repository))


_INCIDENTS = RawQuery(
    select(Incident.__table__.c.opened_at, Incident.__table__.c.resolved_at).where(
        Incident.__table__.c.site_id == bindparam("site_id"),
        Incident.__table__.c.query == bindparam("query"),
        Incident.__table__.c.opened_at > bindparam("since"),
    )
)


class _Reader:
    """The rows one key needs, for one site and scope."""

    def __init__(self, session: Session, site_id: int, params: Mapping[str, Any]) -> None:
        self.session = session
        self.repository = params.get("repository") or None
        self.values: dict[str, Any] = {
            "site_id": site_id,
            "environment": params.get("environment") or dora.DEFAULT_ENVIRONMENT,
        }
        if self.repository:
            self.values["repo"] = self.repository

    def deployments(self, since: datetime) -> list[dora.DeploymentFact]:
        rows = _deployments(bool(self.repository)).rows(
            self.session, {**self.values, "since": since}
        )
        return [
            dora.DeploymentFact(repo, created, _at(ok), _at(failed))
            for repo, created_raw, ok, failed in rows
            if (created := _at(created_raw)) is not None
        ]

    def shipped(self, window: dora.Window) -> int:
        values = {
            **self.values,
            "since": window.start - LOOKBACK,
            "start": window.start,
            "now": window.now,
        }
        rows = _shipped_count(bool(self.repository)).rows(self.session, values)
        return int(rows[0][0]) if rows else 0

    def lead_seconds(self, window: dora.Window) -> list[float]:
        values = {
            **self.values,
            "since": window.start - LOOKBACK,
            "start": window.start,
            "now": window.now,
        }
        return [float(row[0]) for row in _leads(bool(self.repository)).rows(self.session, values)]

    def reverts(self, since: datetime) -> list[dora.ChangeFact]:
        """Revert PRs, and the PRs they revert: all a failure rate needs of the changes."""
        reverts = self._facts(self._rows("reverts", since))
        numbers = sorted({n for change in reverts if (n := change.reverts) is not None})
        return reverts + self._facts(self._rows("numbered", since, numbers)) if numbers else []

    def _rows(self, which: str, since: datetime, numbers: list[int] | None = None) -> Any:
        values: dict[str, Any] = {"site_id": self.values["site_id"], "since": since}
        if self.repository:
            values["repo"] = self.repository
        if numbers is not None:
            values["numbers"] = numbers
        return _changes(bool(self.repository), which).rows(self.session, values)

    @staticmethod
    def _facts(rows: Any) -> list[dora.ChangeFact]:
        facts = []
        for repo, number, opened, merged, branch in rows:
            merged_at = _at(merged)
            if merged_at is not None:
                facts.append(
                    dora.ChangeFact(
                        repo, int(number), _at(opened) or merged_at, merged_at, branch or ""
                    )
                )
        return facts

    def incidents(self, jql: str, since: datetime) -> list[dora.IncidentFact]:
        values = {"site_id": self.values["site_id"], "query": query_digest(jql), "since": since}
        rows = _INCIDENTS.rows(self.session, values)
        return [
            dora.IncidentFact(opened, _at(resolved))
            for opened_raw, resolved in rows
            if (opened := _at(opened_raw)) is not None
        ]


def measure(
    session: Session, site_id: int, measure: str, params: Mapping[str, Any] | None, *, now: datetime
) -> float | None:
    """The value of one DORA key for the site now; None when the window holds nothing to say."""
    params = params or {}
    window = window_of(measure, params, now)
    since = window.start - LOOKBACK
    read = _Reader(session, site_id, params)
    if measure == dora.DEPLOYMENT_FREQUENCY:
        return round(read.shipped(window) * 7.0 / window.days, 4)
    jql = params.get("incident_jql")
    # Deployments that finished in the window were created at most a day before it.
    finishing = window.start - FINISH_WITHIN
    if measure == dora.CHANGE_LEAD_TIME:
        return dora.median_hours(read.lead_seconds(window))
    if measure == dora.CHANGE_FAILURE_RATE:
        hours = params.get("incident_window_hours") or dora.DEFAULT_INCIDENT_WINDOW_HOURS
        return dora.change_failure_rate(
            read.deployments(finishing),
            read.reverts(since),
            read.incidents(jql, since) if jql else (),
            window,
            incident_window_hours=float(hours),
        )
    if measure == dora.TIME_TO_RESTORE:
        incidents = read.incidents(jql, since) if jql else None
        return dora.time_to_restore_hours(
            read.deployments(since) if incidents is None else (), incidents, window
        )
    raise ValueError(f"unknown DORA key {measure!r}")


snapshots.measure_with(dora.KEYS, measure)  # the engine reads DORA KRs through this
