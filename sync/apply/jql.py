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
from sync.db.model import KeyResult
from sync.engine.jobs import Jobs
from sync.engine.snapshots import recompute
from sync.errors import OutsideError, Permanent, SourceMissing, Transient
from sync.ports import Tracker

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


def poll_key_result(session: Session, kr: KeyResult, *, tracker: Tracker) -> bool:
    """Measure a JQL KR into its current value; True when the value (or its source) changed.

    A query Jira refuses marks this KR unreachable with Jira's reason; a site without Jira
    (`SourceMissing`) or a Jira that does not answer (`Transient`) is the caller's to handle.
    """
    if kr.kind != "jql" or not (kr.jql or "").strip():
        return False
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


def poll_site(session: Session, site_id: int, *, tracker: Tracker) -> list[int]:
    """Poll every active JQL KR of a site; returns the ids whose value changed."""
    krs = session.scalars(
        select(KeyResult).where(
            KeyResult.site_id == site_id, KeyResult.kind == "jql", KeyResult.state == "active"
        )
    ).all()
    return [kr.id for kr in krs if poll_key_result(session, kr, tracker=tracker)]


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
                moved = poll_site(session, site_id, tracker=tracker)
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
