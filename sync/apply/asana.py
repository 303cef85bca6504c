"""Apply Asana work to the current state: tasks become work items, projects count their tasks.

An Asana task is the work item `asana:<gid>` (done when completed); a task of a linked project
(its sections' tasks and their subtasks alike) has the project `asana:<project gid>` as its
parent, so a project link counts its tasks exactly as an epic link counts its children, and an
issues KR can mix Jira issues and Asana tasks. Asana's events are compact and unordered: every
event only says *which* task to read again, and what is applied is the task's current state
(older than the stored one: ignored). Asana never replays a lost event, so `reconcile` re-reads
the linked projects' tasks modified since its last run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.apply.jira import krs_named
from sync.core.asana_refs import PREFIX, gid_of, key_of, kr_keys_in
from sync.db.model import InboxEvent, KeyResult, Link, SyncCursor, WorkItem
from sync.engine.jobs import Jobs, schedule
from sync.engine.snapshots import DONE_CATEGORY, recompute
from sync.errors import OutsideError, Transient
from sync.links import reconcile_links
from sync.ports import Asana, Ports
from sync.write.asana_goal import KIND as ASANA_GOAL
from sync.write.asana_goal import write_asana_goal

log = logging.getLogger(__name__)

EVENT_NAME: Final = "asana:events"
KIND: Final = "asana"
DESCRIPTION_SOURCE: Final = "description"
CURSOR: Final = "asana_reconcile"
MARGIN: Final = timedelta(minutes=5)
TASK_TYPE: Final = "asana_task"


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _gid(value: object) -> str | None:
    if isinstance(value, Mapping):
        gid = value.get("gid")
        return str(gid) if gid else None
    return None


def krs_linked(session: Session, site_id: int, keys: Iterable[str | None]) -> set[int]:
    """KRs linked to any of these Asana tasks or projects."""
    wanted = sorted({key for key in keys if key})
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(Link.kr_id).where(
                Link.site_id == site_id, Link.target_kind == KIND, Link.target_key.in_(wanted)
            )
        )
    )


def _linked_targets(session: Session, site_id: int, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(Link.target_key).where(
                Link.site_id == site_id, Link.target_kind == KIND, Link.target_key.in_(wanted)
            )
        )
    )


def _project_key(
    session: Session, site_id: int, task: Mapping[str, Any], hint: str | None
) -> str | None:
    """The project a task counts under: a subtask its parent's; a task in several projects the
    one a KR links (else the one the event came from, else its first)."""
    parent = _gid(task.get("parent"))
    if parent is not None:
        inherited = session.scalar(
            select(WorkItem.parent_key).where(
                WorkItem.site_id == site_id, WorkItem.key == key_of(parent)
            )
        )
        return inherited or (key_of(hint) if hint else None)
    projects = [
        key_of(gid)
        for membership in task.get("memberships") or ()
        if (gid := _gid(membership.get("project") if isinstance(membership, Mapping) else None))
    ]
    linked = _linked_targets(session, site_id, projects)
    for key in projects:
        if key in linked:
            return key
    if hint and key_of(hint) in projects:
        return key_of(hint)
    return projects[0] if projects else None


def _field_value(
    session: Session, site_id: int, task: Mapping[str, Any], keys: Iterable[str | None]
) -> float | None:
    """The task's value of the number custom field its KRs name (`asana_field`, by name or
    gid): its weight, as story points weigh Jira issues. None when no KR names one."""
    linked = select(Link.kr_id).where(
        Link.site_id == site_id,
        Link.target_kind == KIND,
        Link.target_key.in_(sorted({key for key in keys if key})),
    )
    names = set(
        session.scalars(
            select(KeyResult.asana_field).where(
                KeyResult.site_id == site_id,
                KeyResult.asana_field.is_not(None),
                KeyResult.id.in_(linked),
            )
        )
    )
    if not names:
        return None
    for field in task.get("custom_fields") or ():
        if isinstance(field, Mapping) and (field.get("gid") in names or field.get("name") in names):
            value = field.get("number_value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def apply_task(
    session: Session,
    site_id: int,
    gid: str,
    task: Mapping[str, Any] | None,
    *,
    project_gid: str | None = None,
) -> set[int]:
    """Store a task's current state (None: it is gone); returns the KRs it may have moved."""
    key = key_of(gid)
    item = session.scalar(select(WorkItem).where(WorkItem.site_id == site_id, WorkItem.key == key))
    if task is None:
        if item is None or item.deleted:
            return set()
        item.deleted = True
        touched = krs_linked(session, site_id, (key, item.parent_key))
        return touched | sync_description_links(session, site_id, key, "")
    modified = _time(task.get("modified_at"))
    if (
        item is not None
        and not item.deleted
        and item.updated_at is not None
        and modified is not None
        and modified < item.updated_at
    ):
        return set()  # a state older than the one applied already
    parent_key = _project_key(session, site_id, task, project_gid)
    if item is None:
        item = WorkItem(site_id=site_id, key=key, labels=[])
        session.add(item)
    old_parent = item.parent_key
    item.issue_id = gid
    item.issue_type = TASK_TYPE
    item.status_category = DONE_CATEGORY if task.get("completed") else "new"
    item.parent_key = parent_key
    item.summary = str(task.get("name") or "")[:2000]
    item.story_points = _field_value(session, site_id, task, (key, parent_key))
    item.updated_at = modified or item.updated_at
    item.deleted = False
    session.flush()
    touched = krs_linked(session, site_id, (key, old_parent, parent_key))
    return touched | sync_description_links(session, site_id, key, str(task.get("notes") or ""))


def sync_description_links(session: Session, site_id: int, key: str, notes: str) -> set[int]:
    """Make the `description` links of a task match its `KR: PLAT-1.2` lines."""
    wanted = krs_named(session, site_id, set(kr_keys_in(notes)))
    changed = reconcile_links(
        session,
        site_id,
        source=DESCRIPTION_SOURCE,
        target_kind=KIND,
        target_key=key,
        wanted={(kr_id, key) for kr_id in wanted},
    )
    return {kr_id for kr_id, _key in changed}


def refresh_project(
    session: Session,
    site_id: int,
    project_gid: str,
    asana: Asana,
    *,
    modified_since: datetime | None = None,
) -> set[int]:
    """Apply a project's tasks (all, or those modified since); a full read also notices tasks
    that left the project and reads them once more."""
    touched: set[int] = set()
    seen: set[str] = set()
    for task in asana.project_tasks(site_id, project_gid, modified_since=modified_since):
        gid = str(task.get("gid"))
        seen.add(key_of(gid))
        touched |= apply_task(session, site_id, gid, task, project_gid=project_gid)
    if modified_since is None:
        stored = session.scalars(
            select(WorkItem.key).where(
                WorkItem.site_id == site_id,
                WorkItem.parent_key == key_of(project_gid),
                WorkItem.deleted.is_(False),
            )
        ).all()
        for key in sorted(set(stored) - seen):
            gid = key.removeprefix(PREFIX)
            touched |= apply_task(session, site_id, gid, asana.fetch_task(site_id, gid))
    return touched


def refresh_target(session: Session, site_id: int, key: str, asana: Asana) -> set[int]:
    """Read a linked task or project now (at link time, and for a target never seen)."""
    gid = gid_of(key)
    if gid is None:
        return set()
    if asana.is_project(site_id, gid):
        return refresh_project(session, site_id, gid, asana)
    return apply_task(session, site_id, gid, asana.fetch_task(site_id, gid))


def handle_asana_events(session: Session, row: InboxEvent, ports: Ports) -> set[int]:
    """Apply one delivery: read each task it names once, in its current state."""
    if row.site_id is None:
        return set()
    if ports.asana is None:
        raise Transient("no Asana client is configured", retry_after=300.0)
    payload = row.payload or {}
    project = payload.get("project")
    own = ports.asana.own_user(row.site_id)
    gids: dict[str, None] = {}
    for event in payload.get("events") or ():
        if not isinstance(event, Mapping):
            continue
        if own is not None and _gid(event.get("user")) == own:
            continue  # our own write's echo
        resource = event.get("resource")
        if isinstance(resource, Mapping) and resource.get("resource_type") == "task":
            gid = _gid(resource)
            if gid is not None:
                gids[gid] = None
    touched: set[int] = set()
    for gid in gids:
        task = ports.asana.fetch_task(row.site_id, gid)
        touched |= apply_task(
            session, row.site_id, gid, task, project_gid=str(project) if project else None
        )
    return touched


def reconcile_site(session: Session, site_id: int, asana: Asana, *, now: datetime) -> set[int]:
    """Heal lost events: linked projects' tasks modified since the last run, linked tasks."""
    cursor = session.scalar(
        select(SyncCursor).where(SyncCursor.site_id == site_id, SyncCursor.name == CURSOR)
    )
    since = None if cursor is None else cursor.value - MARGIN
    linked = sorted(
        set(
            session.scalars(
                select(Link.target_key).where(Link.site_id == site_id, Link.target_kind == KIND)
            )
        )
    )
    tasks = (
        set(
            session.scalars(
                select(WorkItem.key).where(WorkItem.site_id == site_id, WorkItem.key.in_(linked))
            )
        )
        if linked
        else set()
    )
    touched: set[int] = set()
    for key in linked:
        gid = key.removeprefix(PREFIX)
        if key in tasks:
            touched |= apply_task(session, site_id, gid, asana.fetch_task(site_id, gid))
        elif asana.is_project(site_id, gid):
            touched |= refresh_project(session, site_id, gid, asana, modified_since=since)
        else:
            touched |= apply_task(session, site_id, gid, asana.fetch_task(site_id, gid))
    if cursor is None:
        session.add(SyncCursor(site_id=site_id, name=CURSOR, value=now))
    else:
        cursor.value = now
    return touched


class AsanaSync:
    """Asana's pulls: a linked target read at link time, and the periodic reconcile."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.refresh_later = jobs.huey.task(name="asana_refresh")(self._refresh)

    def _refresh(self, site_id: int, keys: list[str]) -> None:
        """Read these linked tasks and projects (after an import), then write back."""
        asana = self.jobs.ports.asana
        if asana is None:
            return
        with self.jobs.store.session() as session:
            now = self.jobs.ports.clock.now()
            touched: set[int] = set()
            for key in keys:
                try:
                    with session.begin_nested():
                        touched |= refresh_target(session, site_id, key, asana)
                except OutsideError as exc:
                    log.info("reading %s failed (%s); the reconcile reads it", key, exc)
            changed = recompute(session, site_id, touched, now=now)
        if changed:
            self.jobs.flush_soon(site_id)

    def on_link(
        self, session: Session, site_id: int, kr: KeyResult, kind: str, target: str
    ) -> None:
        """Read the linked task or project now; on failure the reconcile reads it later."""
        asana = self.jobs.ports.asana
        if kind != KIND or asana is None:
            return
        try:
            with session.begin_nested():
                refresh_target(session, site_id, target, asana)
        except OutsideError as exc:
            log.info("reading %s at link time failed (%s); the reconcile reads it", target, exc)

    def reconcile(self) -> dict[int, int]:
        """The periodic job: every site with Asana links; returns KRs changed per site."""
        asana = self.jobs.ports.asana
        if asana is None:
            return {}
        with self.jobs.store.session() as session:
            sites = session.scalars(
                select(Link.site_id).where(Link.target_kind == KIND).distinct()
            ).all()
        changed_per_site: dict[int, int] = {}
        for site_id in sites:
            try:
                with self.jobs.store.session() as session:
                    now = self.jobs.ports.clock.now()
                    touched = reconcile_site(session, site_id, asana, now=now)
                    changed = recompute(session, site_id, touched, now=now)
            except OutsideError as exc:
                log.info("Asana reconcile of site %s deferred: %s", site_id, exc)
                continue
            changed_per_site[site_id] = len(changed)
            if changed:
                self.jobs.flush_outbound(site_id)
        return changed_per_site


def register(
    jobs: Jobs, *, reconcile_minutes: int, heal_webhooks: Callable[[], object]
) -> AsanaSync:
    """The Asana feature's jobs: apply deliveries, write goals, reconcile linked tasks and heal
    the webhooks (`heal_webhooks`, the app's watcher) on the reconcile schedule."""
    jobs.handle(EVENT_NAME, handle_asana_events)
    jobs.write(ASANA_GOAL, write_asana_goal)
    asana_sync = AsanaSync(jobs)
    schedule(jobs, "asana_reconcile", reconcile_minutes, asana_sync.reconcile)
    schedule(jobs, "asana_webhooks", reconcile_minutes, heal_webhooks)
    return asana_sync
