"""Wire the Jira sync into an app: webhook intake, the inbox handler, the property writer,
the periodic JQL poll and reconcile, link-time fetches, and the real Jira tracker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from huey import crontab

from connect import api_sync, webhooks
from integrations.atlassian import AtlassianApiError
from integrations.jira_events import FieldMap, event_from_issue
from integrations.jira_tracker import JiraTracker
from sync.engine import recompute
from sync.jira_apply import EVENT_NAME, handle_jira_issue, prepare_jira_batch
from sync.jobs import Jobs
from sync.jql import poll_all
from sync.model import KeyResult
from sync.ports import TransientError
from sync.reconcile import IssueParser, reconcile_all, refresh_linked_issues
from sync.writeback import KIND as ISSUE_PROPERTY
from sync.writeback import write_issue_property

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

BASE_FIELDS: Final = ("summary", "status", "issuetype", "parent", "labels", "updated")
REFRESH_RETRIES: Final = 5
REFRESH_RETRY_SECONDS: Final = 60


def issue_fields(fields: FieldMap) -> list[str]:
    """The issue fields a fetch must ask for to build an event."""
    return [*BASE_FIELDS, *fields.story_points, *fields.epic_link]


def every(minutes: int) -> Callable[..., bool] | None:
    """A huey schedule for every `minutes` (None when disabled, hourly past an hour)."""
    if minutes <= 0:
        return None
    if minutes >= 60:
        return crontab(minute="0", hour=f"*/{max(1, minutes // 60)}")
    return crontab(minute=f"*/{minutes}")


class JiraSync:
    """The periodic and on-demand Jira jobs of one app."""

    def __init__(self, *, jobs: Jobs, fields: FieldMap) -> None:
        self.jobs = jobs
        self.fields = issue_fields(fields)
        self.parse: IssueParser = partial(event_from_issue, fields=fields)
        self.refresh_later = jobs.huey.task(
            retries=REFRESH_RETRIES, retry_delay=REFRESH_RETRY_SECONDS, name="jira_refresh_links"
        )(self.refresh)

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
            changed = recompute(session, site_id, touched, now=now)
        if changed:
            self.jobs.flush_outbound(site_id)
        return changed

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
        except (TransientError, AtlassianApiError) as exc:
            log.info("fetching %s at link time failed (%s); queued for later", target, exc)
            self.refresh_later(site_id, [target])


def init_jira(app: Flask) -> None:
    """Register the Jira webhook, handlers, writer, periodic tasks, link hook and tracker."""
    services = app.extensions["okrlink"]
    settings = services.settings
    jobs: Jobs = services.extras["jobs"]
    fields: FieldMap = services.extras.setdefault("jira_field_map", FieldMap())
    services.extras["jira_app_accounts"] = webhooks.AppAccounts(services.store)
    services.extras["jira_own_properties"] = webhooks.own_property_keys(settings.app_key)
    app.register_blueprint(webhooks.blueprint)
    hot_paths = services.extras.setdefault("hot_paths", {})
    hot_paths[("POST", webhooks.WEBHOOK_PATH)] = webhooks.jira_webhook_hot_path(services)
    app.register_blueprint(api_sync.blueprint)
    jobs.handle(EVENT_NAME, handle_jira_issue, prepare=prepare_jira_batch)
    jobs.write(ISSUE_PROPERTY, write_issue_property)
    if jobs.ports.tracker is None:
        tenants = services.extras["tenants"]
        forge_tokens = services.extras.get("forge_tokens")
        jobs.ports.tracker = JiraTracker(
            tenants=tenants.for_site,
            app_key=settings.app_key,
            forge=forge_tokens.get if forge_tokens is not None else None,
        )
    sync = JiraSync(jobs=jobs, fields=fields)
    services.extras["jira_sync"] = sync
    services.extras["on_link"] = sync.on_link
    services.extras["refresh_links"] = sync.refresh_later
    _schedule(jobs, "poll_jql", settings.jql_poll_minutes, sync.poll_jql)
    _schedule(jobs, "jira_reconcile", settings.reconcile_minutes, sync.reconcile)


def _schedule(jobs: Jobs, name: str, minutes: int, job: Callable[[], Any]) -> None:
    schedule = every(minutes)
    if schedule is not None:
        jobs.huey.periodic_task(schedule, name=name)(job)
