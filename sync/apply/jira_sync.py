"""The Jira sync's periodic and on-demand jobs: poll JQL KRs, reconcile, fetch at link time.

The tracker (the port) and the issue parser are handed in by the app, so this module knows
Jira only through `sync.ports.Tracker` and the parser's `IssueEvent`s.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sync import sources
from sync.apply.jira import EVENT_NAME, handle_jira_issue, prepare_jira_batch
from sync.apply.jql import poll_all
from sync.apply.reconcile import IssueParser, reconcile_all, refresh_linked_issues
from sync.engine.jobs import Jobs, schedule
from sync.engine.snapshots import recompute
from sync.errors import OutsideError, SourceMissing
from sync.write.issue_property import KIND as ISSUE_PROPERTY
from sync.write.issue_property import plan_issue_properties, write_issue_property

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sync.db.model import KeyResult

log = logging.getLogger(__name__)

REFRESH_RETRIES = 5
REFRESH_RETRY_SECONDS = 60


class JiraSync:
    """The periodic and on-demand Jira jobs of one app."""

    def __init__(self, *, jobs: Jobs, parse: IssueParser, fields: Sequence[str]) -> None:
        self.jobs = jobs
        self.fields = list(fields)
        self.parse = parse
        self.refresh_later = jobs.huey.task(name="jira_refresh_links")(self.refresh_queued)

    def poll_jql(self) -> dict[int, list[int]]:
        """Poll every JQL key result (the periodic task)."""
        return poll_all(self.jobs)

    def reconcile(self) -> dict[int, int]:
        """Re-read linked issues updated since the last run (the periodic task)."""
        return reconcile_all(self.jobs, parse=self.parse, fields=self.fields)

    def refresh(self, site_id: int, keys: Sequence[str]) -> list[int]:
        """Fetch issues and their children now, re-derive their KRs and write back."""
        tracker = self.jobs.ports.tracker
        if tracker is None or not keys:
            return []
        with self.jobs.store.session() as session:
            now = self.jobs.ports.clock.now()
            touched = refresh_linked_issues(
                session,
                site_id,
                keys,
                tracker=tracker,
                parse=self.parse,
                fields=self.fields,
                now=now,
            )
            sources.record_all(sources.jira_krs(session, site_id, keys), sources.CONNECTED)
            changed = recompute(session, site_id, touched, now=now)
        if changed:
            self.jobs.flush_outbound(site_id)
        return changed

    def refresh_queued(self, site_id: int, keys: Sequence[str], attempt: int = 0) -> list[int]:
        """`refresh` as a queued job: a site without Jira marks the KRs linked to `keys`
        missing and stops; no answer is tried again `REFRESH_RETRIES` times, a minute apart.

        Both are expected conditions, logged in one line rather than raised (a raised error
        is a traceback per attempt in the consumer's log); the reconcile job heals the rest.
        """
        try:
            return self.refresh(site_id, keys)
        except SourceMissing as exc:
            log.debug("linked issues of site %s not fetched: %s", site_id, exc)
            with self.jobs.store.session() as session:
                krs = sources.jira_krs(session, site_id, keys)
                sources.record_all(krs, sources.MISSING, str(exc))
        except OutsideError as exc:
            if attempt + 1 >= REFRESH_RETRIES:
                log.warning("gave up fetching %s on site %s: %s", ", ".join(keys), site_id, exc)
            else:
                log.info("fetching %s on site %s deferred: %s", ", ".join(keys), site_id, exc)
                self.refresh_later.schedule(
                    (site_id, list(keys), attempt + 1), delay=REFRESH_RETRY_SECONDS
                )
        return []

    def on_link(
        self, session: Session, site_id: int, kr: KeyResult, kind: str, target: str
    ) -> None:
        """At link time, fetch the linked issue and an epic's children (else retry queued)."""
        tracker = self.jobs.ports.tracker
        if kind != "jira" or tracker is None:
            return
        try:
            with session.begin_nested():
                refresh_linked_issues(
                    session,
                    site_id,
                    [target],
                    tracker=tracker,
                    parse=self.parse,
                    fields=self.fields,
                    now=self.jobs.ports.clock.now(),
                )
        except SourceMissing as exc:  # no Jira to ask: the KR says so, nothing is queued
            sources.record(kr, sources.MISSING, str(exc))
        except OutsideError as exc:
            log.info("fetching %s at link time failed (%s); queued for later", target, exc)
            self.refresh_later(site_id, [target])
        else:
            sources.record(kr, sources.CONNECTED)


def register(
    jobs: Jobs,
    *,
    parse: IssueParser,
    fields: Sequence[str],
    poll_minutes: int,
    reconcile_minutes: int,
) -> JiraSync:
    """The Jira feature's jobs: apply issue events, write issue properties, poll JQL KRs and
    reconcile linked issues on their schedules. Returns the on-demand jobs for the doors."""
    jobs.handle(EVENT_NAME, handle_jira_issue, prepare=prepare_jira_batch)
    jobs.write(ISSUE_PROPERTY, write_issue_property, plan=plan_issue_properties)
    jira_sync = JiraSync(jobs=jobs, parse=parse, fields=fields)
    schedule(jobs, "poll_jql", poll_minutes, jira_sync.poll_jql)
    schedule(jobs, "jira_reconcile", reconcile_minutes, jira_sync.reconcile)
    return jira_sync
