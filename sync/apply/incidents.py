"""Jira's side of DORA and KPIs: incidents an `incident_jql` matches, and `jql` KPIs' values.

Incidents arrive two ways, and both write the same row (site, query, issue key), opened at
the issue's `created` and resolved at its `resolutiondate`:

- The Jira webhook (Connect `POST /webhooks/jira` and Forge `/forge/events`, both through
  the inbox to `handle_jira_issue`): each issue created, updated or deleted is judged
  against every stored `incident_jql` and recorded, updated or removed; the DORA keys are
  re-measured when one moved. The judgement is local (`sync.core.jql_match`) for the clauses
  incident queries are made of (project, issue type, labels, priority, status, status
  category): about 6 microseconds an event (an event and a three-clause query, measured),
  where a Jira search restricted to the issue would cost a round trip to Jira, and a share of
  the site's rate limit, for every event of the site, incidents or not. A query outside that
  subset is asked of Jira for the one issue (`key = X AND (<query>)`) through the Tracker
  port, in the queued job, never in the request, and only for issues that can count: one
  already stored, or one created inside the longest window (and lookback) a key reads. Jira
  not answering leaves the incident to the poll. Order: an event older than the issue's last
  applied event (the work item's `updated`) changes nothing, so replays and reordered
  deliveries land on the newest state; a reopened issue loses its resolution.
- The poll of Jira's search, on the JQL poll's schedule, which also heals what webhooks
  missed: the incidents of a query are kept equal to what Jira matches now, so re-reading
  the same answer changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, select, union_all
from sqlalchemy.orm import Session

from sync.apply.jql import measure as jql_measure
from sync.core.dora import DEFAULT_WINDOW_DAYS
from sync.core.dora import KEYS as DORA_KEYS
from sync.core.jql_match import compile_jql
from sync.db.model import Incident, KeyResult, Kpi
from sync.dora.keys import LOOKBACK, query_digest
from sync.dora.remeasure import remeasure
from sync.engine.jobs import Jobs, schedule
from sync.engine.snapshots import recompute
from sync.errors import OutsideError, Transient
from sync.kpis import record_value
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
            session.add(
                Incident(
                    site_id=site_id, query=digest, key=key, opened_at=opened, resolved_at=resolved
                )
            )
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


# --- the webhook ------------------------------------------------------------------------------

SCOPES = "okrlink.incident_scopes"  # session.info: site -> {incident_jql: how far back it reads}
CATEGORY_NAMES = {
    "new": ("new", "to do", "2"),
    "indeterminate": ("indeterminate", "in progress", "4"),
    "done": ("done", "3"),
}
_ORDER_BY = re.compile(r"\s+order\s+by\s.*$", re.IGNORECASE | re.DOTALL)


def incident_scopes(session: Session, site_id: int) -> dict[str, timedelta]:
    """The site's `incident_jql`s (DORA KRs and KPIs), each with the oldest `created` it reads.

    Read once per session (a batch of events shares it).
    """
    cache: dict[int, dict[str, timedelta]] = session.info.setdefault(SCOPES, {})
    if site_id in cache:
        return cache[site_id]
    # One round trip for both tables: this runs once per drained batch.
    rows = session.execute(
        union_all(
            select(KeyResult.measure, KeyResult.params).where(
                KeyResult.site_id == site_id, KeyResult.kind == "github"
            ),
            select(Kpi.measure, Kpi.params).where(Kpi.site_id == site_id, Kpi.kind == "github"),
        )
    ).all()
    scopes: dict[str, timedelta] = {}
    for measure, params in rows:
        jql = (params or {}).get("incident_jql")
        if jql and measure in DORA_KEYS:
            days = params.get("window_days") or DEFAULT_WINDOW_DAYS[measure]
            reach = timedelta(days=float(days)) + LOOKBACK
            scopes[jql] = max(scopes.get(jql, reach), reach)
    cache[site_id] = scopes
    return scopes


def _names(values: Any) -> frozenset[str] | None:
    """Lower-cased names; None (unknown) when the event carries none."""
    names = frozenset(str(v).lower() for v in values if v)
    return names or None


def issue_facts(event: Any) -> dict[str, frozenset[str] | None]:
    """What an `IssueEvent` says about the fields `sync.core.jql_match` knows."""
    labels = event.labels
    return {
        "project": _names(event.project),
        "issuetype": _names((event.issue_type,)),
        "labels": None if labels is None else frozenset(v.lower() for v in labels),
        "priority": _names(event.priority),
        "status": _names(event.status),
        "statuscategory": _names(CATEGORY_NAMES.get(event.status_category, ())),
    }


def _ask_jira(tracker: Tracker | None, site_id: int, jql: str, key: str) -> bool | None:
    """Whether Jira matches the issue with the query; None when it cannot tell now."""
    if tracker is None:
        return None
    query = f"key = {key} AND ({_ORDER_BY.sub('', jql)})"
    try:
        return any(True for _ in tracker.search(site_id, query, fields=("key",)))
    except OutsideError as exc:
        log.info("incident check of %s left to the poll: %s", key, exc)
        return None


def apply_issue_event(
    session: Session, site_id: int, event: Any, *, tracker: Tracker | None, now: datetime
) -> bool:
    """Record, update or remove the issue as an incident of each query; True if any moved.

    `event` is a `sync.apply.jira.IssueEvent` no older than the issue's last applied event.
    """
    scopes = incident_scopes(session, site_id)
    if not scopes or (event.created_at is None and not event.deleted):
        return False  # an event stored before incidents were read from webhooks
    moved = False
    if event.old_key and event.old_key != event.key:  # moved project: the old key is gone
        gone = delete(Incident).where(Incident.site_id == site_id, Incident.key == event.old_key)
        moved |= bool(session.execute(gone).rowcount)  # type: ignore[attr-defined]
    facts = issue_facts(event)
    for jql, reach in sorted(scopes.items()):
        digest = query_digest(jql)
        mine = (Incident.site_id == site_id, Incident.query == digest)
        row = session.scalar(select(Incident).where(*mine, Incident.key == event.key))
        matches: bool | None = False
        if not event.deleted:
            matcher = compile_jql(jql)
            matches = matcher(facts) if matcher is not None else None
            if matches is None:
                if row is None and event.created_at < now - reach:
                    continue  # too old to count in any window: not worth a search
                matches = _ask_jira(tracker, site_id, jql, event.key)
                if matches is None:
                    continue
        if not matches:
            if row is not None:
                session.delete(row)
                moved = True
            continue
        state = (event.created_at, event.resolved_at)
        if row is None:
            session.add(
                Incident(
                    site_id=site_id,
                    query=digest,
                    key=event.key,
                    opened_at=state[0],
                    resolved_at=state[1],
                )
            )
            moved = True
        elif (row.opened_at, row.resolved_at) != state:
            row.opened_at, row.resolved_at = state
            moved = True
    if moved:
        session.flush()
    return moved


def handle_issue_event(
    session: Session, site_id: int, event: Any, *, tracker: Tracker | None, now: datetime
) -> set[int]:
    """The incident side of a Jira issue event: the DORA KRs to re-derive (KPIs go stale)."""
    if apply_issue_event(session, site_id, event, tracker=tracker, now=now):
        return remeasure(session, site_id, now=now)
    return set()


def register(jobs: Jobs, *, poll_minutes: int) -> None:
    """Re-read the incidents of DORA KRs and KPIs from Jira on the JQL polling schedule."""
    schedule(jobs, "poll_incidents", poll_minutes, partial(poll_all, jobs))
