"""Pull linked issues from the tracker: once at link time, and periodically to heal missed webhooks.

Both paths feed the same `apply_issue_event` as webhooks, so a fetched issue that is older than
the stored state changes nothing, and one that is newer wins exactly as a late webhook would.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sync import sources
from sync.apply.jira import BATCH_LOOKUPS, IssueEvent, apply_issue_event
from sync.db.model import Link, SyncCursor, WorkItem
from sync.engine.jobs import Jobs
from sync.engine.snapshots import recompute
from sync.errors import OutsideError, SourceMissing, Transient
from sync.ports import Tracker

log = logging.getLogger(__name__)

CURSOR: Final = "jira_reconcile"
MARGIN: Final = timedelta(minutes=5)
CHUNK: Final = 50
MAX_SINGLE_FETCHES: Final = 50
ISSUE_KEY: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")

IssueParser = Callable[[Mapping[str, Any]], IssueEvent]
"""Turns a REST issue (`key`, `id`, `fields`) into the event the core applies."""


def quoted_keys(keys: Iterable[str]) -> str:
    """Issue keys as a JQL list; anything that is not an issue key is left out (no injection)."""
    return ", ".join(f'"{key}"' for key in sorted(set(keys)) if ISSUE_KEY.fullmatch(key))


def linked_issues_jql(keys: Collection[str], *, since: timedelta | None = None) -> str:
    """`issuekey in (..) OR parent in (..)`, optionally only those updated within `since`."""
    listed = quoted_keys(keys)
    jql = f"issuekey in ({listed}) OR parent in ({listed})"
    if since is not None:
        minutes = max(1, int(since.total_seconds() // 60) + 1)
        # Relative dates are read in Jira's clock, so no time zone is involved.
        jql = f'({jql}) AND updated >= "-{minutes}m"'
    return jql + " ORDER BY updated ASC"


def _chunks(keys: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def apply_issues(
    session: Session,
    site_id: int,
    issues: Iterable[Mapping[str, Any]],
    *,
    parse: IssueParser,
    now: datetime,
) -> set[int]:
    """Apply fetched issues as events; returns the KRs touched."""
    touched: set[int] = set()
    for issue in issues:
        try:
            event = parse(issue)
        except ValueError as exc:
            log.warning("skipped an unreadable issue from the tracker: %s", exc)
            continue
        try:
            # Each issue in its own savepoint: one that cannot be stored is rolled back alone
            # and never stops the others of its site from healing.
            with session.begin_nested():
                touched |= apply_issue_event(session, site_id, event, now=now)
        except (Transient, OperationalError):
            raise
        except Exception as exc:
            log.warning("issue %s from the tracker not applied: %s", event.key, exc)
            session.info.pop(BATCH_LOOKUPS, None)
    return touched


def refresh_linked_issues(
    session: Session,
    site_id: int,
    keys: Collection[str],
    *,
    tracker: Tracker,
    parse: IssueParser,
    fields: Sequence[str],
    now: datetime,
) -> set[int]:
    """Fetch linked issues and their children (`parent = KEY`) now; returns the KRs touched.

    Called when a link is made (panel, API, OKR file import); webhooks keep them current after.
    """
    touched: set[int] = set()
    found: list[str] = []
    for key in sorted(k for k in set(keys) if ISSUE_KEY.fullmatch(k)):
        issue = tracker.fetch_issue(site_id, key)
        if issue is None:
            touched |= _mark_gone(session, site_id, key, now=now)
            continue
        touched |= apply_issues(session, site_id, [issue], parse=parse, now=now)
        found.append(str(issue.get("key") or key))
    for chunk in _chunks(found, CHUNK):
        jql = f"parent in ({quoted_keys(chunk)}) ORDER BY updated ASC"
        touched |= apply_issues(
            session, site_id, tracker.search(site_id, jql, fields=fields), parse=parse, now=now
        )
    return touched


def _mark_gone(session: Session, site_id: int, key: str, *, now: datetime) -> set[int]:
    item = session.scalar(select(WorkItem).where(WorkItem.site_id == site_id, WorkItem.key == key))
    if item is None or item.deleted:
        return set()
    return apply_issue_event(
        session,
        site_id,
        IssueEvent(key=key, updated_at=now, issue_id=item.issue_id, deleted=True),
        now=now,
    )


def reconcile_site(
    session: Session,
    site_id: int,
    *,
    tracker: Tracker,
    parse: IssueParser,
    fields: Sequence[str],
    now: datetime,
) -> set[int]:
    """Re-read linked issues (and children of linked epics) updated since the last run."""
    cursor = session.scalar(
        select(SyncCursor).where(SyncCursor.site_id == site_id, SyncCursor.name == CURSOR)
    )
    linked = set(
        session.scalars(
            select(Link.target_key)
            .where(Link.site_id == site_id, Link.target_kind == "jira")
            .distinct()
        )
    )
    present = (
        set(
            session.scalars(
                select(WorkItem.key).where(
                    WorkItem.site_id == site_id,
                    WorkItem.deleted.is_(False),
                    WorkItem.key.in_(linked),
                )
            )
        )
        if linked
        else set()
    )
    touched: set[int] = set()
    never_seen = sorted(linked - present - _deleted_keys(session, site_id, linked))
    if never_seen:
        touched |= refresh_linked_issues(
            session,
            site_id,
            never_seen[:MAX_SINGLE_FETCHES],
            tracker=tracker,
            parse=parse,
            fields=fields,
            now=now,
        )
    since = None if cursor is None else now - cursor.value + MARGIN
    for chunk in _chunks(sorted(present), CHUNK):
        jql = linked_issues_jql(chunk, since=since)
        try:
            issues = list(tracker.search(site_id, jql, fields=fields))
        except Transient:
            raise
        except Exception as exc:  # e.g. a key deleted in Jira makes the whole query invalid
            log.warning("reconcile query failed (%s); re-reading those issues one by one", exc)
            touched |= refresh_linked_issues(
                session, site_id, chunk, tracker=tracker, parse=parse, fields=fields, now=now
            )
            continue
        touched |= apply_issues(session, site_id, issues, parse=parse, now=now)
    if cursor is None:
        session.add(SyncCursor(site_id=site_id, name=CURSOR, value=now))
    else:
        cursor.value = now
    return touched


def _deleted_keys(session: Session, site_id: int, keys: Collection[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        session.scalars(
            select(WorkItem.key).where(
                WorkItem.site_id == site_id, WorkItem.deleted.is_(True), WorkItem.key.in_(keys)
            )
        )
    )


def reconcile_all(jobs: Jobs, *, parse: IssueParser, fields: Sequence[str]) -> dict[int, int]:
    """The periodic job: reconcile every site with Jira links; returns KRs changed per site."""
    tracker = jobs.ports.tracker
    if tracker is None:
        return {}
    with jobs.store.session() as session:
        sites = session.scalars(
            select(Link.site_id).where(Link.target_kind == "jira").distinct()
        ).all()
    changed_per_site: dict[int, int] = {}
    for site_id in sites:
        try:
            with jobs.store.session() as session:
                now = jobs.ports.clock.now()
                touched = reconcile_site(
                    session, site_id, tracker=tracker, parse=parse, fields=fields, now=now
                )
                issues_krs = sources.jira_krs(session, site_id, kinds=("issues",))
                sources.record_all(issues_krs, sources.CONNECTED)
                changed = recompute(session, site_id, touched, now=now)
        except SourceMissing as exc:
            log.debug("reconcile of site %s skipped: %s", site_id, exc)
            with jobs.store.session() as session:
                sources.record_all(sources.jira_krs(session, site_id), sources.MISSING, str(exc))
            continue
        except OutsideError as exc:  # no answer, or a refusal: the next period tries again
            log.info("reconcile of site %s deferred: %s", site_id, exc)
            continue
        except OperationalError:
            raise  # the database is down: every site would fail alike
        except Exception as exc:  # one site's failure must not stop the others' healing
            log.warning("reconcile of site %s failed: %s", site_id, exc, exc_info=True)
            continue
        changed_per_site[site_id] = len(changed)
        if changed:
            jobs.flush_outbound(site_id)
    return changed_per_site
