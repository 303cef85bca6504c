"""Jira's side of DORA and KPIs: incidents an `incident_jql` matches, and `jql` KPIs' values.

Both are read by polling Jira's search (a webhook cannot tell whether an issue matches a
query), on the JQL poll's schedule. The incidents of a query are kept equal to what Jira
matches now: re-reading the same answer changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.apply.jql import measure as jql_measure
from sync.dora import query_digest
from sync.engine import recompute
from sync.errors import Transient
from sync.jobs import Jobs
from sync.kpis import record_value
from sync.measures import remeasure
from sync.model import Incident, KeyResult, Kpi
from sync.ports import Tracker

log = logging.getLogger(__name__)

INCIDENT_FIELDS = ("created", "resolutiondate")


def _at(value: Any) -> datetime | None:
    """Jira's timestamps (`2026-11-20T11:00:00.000+0000`) as aware datetimes."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def incident_queries(session: Session, site_id: int) -> set[str]:
    """Every `incident_jql` the site's DORA KRs and KPIs name."""
    params = [
        *session.scalars(select(KeyResult.params).where(KeyResult.site_id == site_id)),
        *session.scalars(select(Kpi.params).where(Kpi.site_id == site_id)),
    ]
    return {p["incident_jql"] for p in params if p and p.get("incident_jql")}


def sites_with_jira_measures(session: Session) -> list[int]:
    kr_sites = select(KeyResult.site_id).where(KeyResult.params.is_not(None))
    kpi_sites = select(Kpi.site_id)
    return sorted({*session.scalars(kr_sites), *session.scalars(kpi_sites)})


def store_incidents(
    session: Session, site_id: int, jql: str, issues: list[Mapping[str, Any]]
) -> bool:
    """Make the stored incidents of `jql` equal to the issues Jira matched; True if any moved."""
    digest = query_digest(jql)
    stored = {
        row.key: row
        for row in session.scalars(
            select(Incident).where(Incident.site_id == site_id, Incident.query == digest)
        )
    }
    seen: set[str] = set()
    moved = False
    for issue in issues:
        fields = issue.get("fields") or {}
        opened, resolved = _at(fields.get("created")), _at(fields.get("resolutiondate"))
        key = str(issue.get("key") or "")
        if not key or opened is None:
            continue
        seen.add(key)
        row = stored.get(key)
        if row is None:
            session.add(Incident(site_id=site_id, query=digest, key=key, opened_at=opened,
                                 resolved_at=resolved))  # fmt: skip
            moved = True
        elif (row.opened_at, row.resolved_at) != (opened, resolved):
            row.opened_at, row.resolved_at = opened, resolved
            moved = True
    gone = set(stored) - seen
    if gone:
        mine = (Incident.site_id == site_id, Incident.query == digest)
        session.execute(delete(Incident).where(*mine, Incident.key.in_(gone)))
        moved = True
    session.flush()
    return moved


def poll_site(session: Session, site_id: int, *, tracker: Tracker, now: datetime) -> set[int]:
    """Read the site's incidents and `jql` KPIs from Jira; the KRs to re-derive."""
    for jql in sorted(incident_queries(session, site_id)):
        issues = list(tracker.search(site_id, jql, fields=INCIDENT_FIELDS))
        store_incidents(session, site_id, jql, issues)
    touched: set[int] = set()
    for kpi in session.scalars(select(Kpi).where(Kpi.site_id == site_id, Kpi.kind == "jql")):
        if kpi.jql:
            value = jql_measure(tracker, site_id, jql=kpi.jql, field=kpi.jql_field)
            touched |= record_value(session, kpi, value, now=now)
    return touched | remeasure(session, site_id, now=now)


def poll_all(jobs: Jobs) -> dict[int, list[int]]:
    """The periodic job: every site with DORA KRs or KPIs, re-read from Jira."""
    tracker = jobs.ports.tracker
    if tracker is None:
        return {}
    with jobs.store.session() as session:
        sites = sites_with_jira_measures(session)
    changed_per_site: dict[int, list[int]] = {}
    for site_id in sites:
        now = jobs.ports.clock.now()
        try:
            with jobs.store.session() as session:
                touched = poll_site(session, site_id, tracker=tracker, now=now)
                changed_per_site[site_id] = recompute(session, site_id, touched, now=now)
        except Transient as exc:
            log.info("incident poll of site %s deferred: %s", site_id, exc)
            continue
        if changed_per_site[site_id]:
            jobs.flush_outbound(site_id)
    return changed_per_site
