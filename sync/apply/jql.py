"""JQL key results: a KR whose current value is the count of issues a query matches, or the sum
of a numeric field over them, polled on a schedule and on demand.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import sources
from sync.core.jql_scope import JqlError, confined_projects
from sync.db.model import KeyResult
from sync.engine.jobs import Jobs
from sync.engine.snapshots import recompute
from sync.errors import OutsideError, Permanent, SourceMissing, Transient
from sync.permissions import browsable_by
from sync.ports import JiraPermissions, Tracker

log = logging.getLogger(__name__)

COUNT_FIELDS: Final = ("issuetype",)


def _number(issue: Mapping[str, Any], field: str) -> float:
    fields = issue.get("fields")
    value = fields.get(field) if isinstance(fields, Mapping) else None
    if isinstance(value, Mapping):  # e.g. a number wrapped by an app field
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return float(value)


def measure(tracker: Tracker, site_id: int, *, jql: str, field: str | None) -> float:
    """Count the matching issues, or sum `field` over them (issues without it count 0)."""
    if field:
        return float(sum(_number(i, field) for i in tracker.search(site_id, jql, fields=[field])))
    return float(sum(1 for _ in tracker.search(site_id, jql, fields=COUNT_FIELDS)))


def author_reach(kr: KeyResult, permissions: JiraPermissions | None) -> str | None:
    """Why the KR's author may no longer have its query counted, or None when they may.

    The query runs as the app, which sees every project: it counts only while the account that
    saved it may browse every project it is confined to (a KR without an author is the
    operator's). Without a way to ask Jira, nothing is counted (fail closed).
    """
    if not kr.jql_author:
        return None
    try:
        projects = confined_projects(kr.jql or "")
    except JqlError:
        projects = None
    if projects is None:
        return "this KR's query is not confined to projects its author may browse"
    if permissions is None:
        return "Jira could not be asked whether this KR's author may still browse its projects"
    hidden = sorted(projects - browsable_by(permissions, kr.site_id, kr.jql_author, projects))
    if hidden:
        return (
            f"the author of this KR's query may no longer browse {', '.join(hidden)}: "
            "it is not counted until someone who may saves the query again"
        )
    return None


def poll_key_result(
    session: Session,
    kr: KeyResult,
    *,
    tracker: Tracker,
    permissions: JiraPermissions | None = None,
) -> bool:
    """Measure a JQL KR into its current value; True when the value (or its source) changed.

    A query Jira refuses, or one its author may no longer browse, marks this KR unreachable
    with the reason and leaves its value; a site without Jira (`SourceMissing`) or a Jira that
    does not answer (`Transient`) is the caller's to handle.
    """
    if kr.kind != "jql" or not (kr.jql or "").strip():
        return False
    reason = author_reach(kr, permissions)
    if reason is not None:
        return sources.record(kr, sources.UNREACHABLE, reason)
    try:
        value = measure(tracker, kr.site_id, jql=kr.jql or "", field=kr.jql_field)
    except SourceMissing:
        raise
    except Permanent as exc:
        return sources.record(kr, sources.UNREACHABLE, f"Jira refused this KR's query: {exc}")
    moved = sources.record(kr, sources.CONNECTED)
    if kr.current == value:
        return moved
    kr.current = value
    return True


def poll_site(
    session: Session,
    site_id: int,
    *,
    tracker: Tracker,
    permissions: JiraPermissions | None = None,
) -> list[int]:
    """Poll every active JQL KR of a site; returns the ids whose value changed."""
    krs = session.scalars(
        select(KeyResult).where(
            KeyResult.site_id == site_id, KeyResult.kind == "jql", KeyResult.state == "active"
        )
    ).all()
    return [
        kr.id
        for kr in krs
        if poll_key_result(session, kr, tracker=tracker, permissions=permissions)
    ]


def mark_site(jobs: Jobs, site_id: int, exc: OutsideError) -> None:
    """The site's JQL KRs cannot be read: missing (no Jira) or unreachable (no answer).

    Issues KRs are left to the reconcile and the link-time fetch, which read them.
    """
    state = sources.MISSING if isinstance(exc, SourceMissing) else sources.UNREACHABLE
    message = str(exc) if state == sources.MISSING else f"Jira did not answer: {exc}"
    with jobs.store.session() as session:
        sources.record_all(sources.jira_krs(session, site_id, kinds=("jql",)), state, message)


def poll_all(jobs: Jobs) -> dict[int, list[int]]:
    """The periodic job: poll JQL KRs site by site, then re-derive and write back what changed.

    A site whose Jira is missing or unreachable is marked so and skipped (no traceback): it is
    tried again at the next period, as every site is.
    """
    tracker = jobs.ports.tracker
    if tracker is None:
        return {}
    with jobs.store.session() as session:
        sites = session.scalars(
            select(KeyResult.site_id)
            .where(KeyResult.kind == "jql", KeyResult.state == "active")
            .distinct()
        ).all()
    changed_per_site: dict[int, list[int]] = {}
    for site_id in sites:
        try:
            with jobs.store.session() as session:
                moved = poll_site(
                    session, site_id, tracker=tracker, permissions=jobs.ports.permissions
                )
                # Every KR is re-derived: an unchanged value still moves status with time.
                changed = recompute(session, site_id, moved, now=jobs.ports.clock.now())
        except (SourceMissing, Transient) as exc:
            # A missing Jira is a state the KR shows, not news every period: debug only.
            level = logging.DEBUG if isinstance(exc, SourceMissing) else logging.INFO
            log.log(level, "JQL poll of site %s skipped: %s", site_id, exc)
            mark_site(jobs, site_id, exc)
            continue
        changed_per_site[site_id] = changed
        if changed:
            jobs.flush_outbound(site_id)
    return changed_per_site
