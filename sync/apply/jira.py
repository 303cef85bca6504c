"""Apply a Jira issue event to the current state of its work item, and to its label links.

An event older than the stored state is ignored, so late, duplicated and shuffled deliveries
converge on the same state. An issue is identified by its immutable id first (its key changes
when it moves project), then by its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from sync.apply import incidents
from sync.db.model import Cycle, InboxEvent, KeyResult, Link, Outbound, WorkItem, utcnow
from sync.db.upsert import insert_ignore
from sync.engine.snapshots import drop_outbound, krs_linked_to
from sync.links import reconcile_links
from sync.ports import Ports

EVENT_NAME = "jira_issue"
LABEL_PREFIX = "kr-"
LABEL_SOURCE = "label"
STATUS_CATEGORIES = ("new", "indeterminate", "done")
_LABEL = re.compile(r"kr-(.+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """What a Jira issue event says about the issue's current state (a plain, storable value).

    `labels` is None when the event does not carry them (then label links are left alone);
    `old_key` is the key before a project move; `deleted` marks the issue gone. `created_at`,
    `resolved_at` and the names `project`, `priority` and `status` answer to (key, name, id)
    tell whether the issue is an incident (`sync.apply.incidents`); events stored before they
    were kept leave `created_at` None.
    """

    key: str
    updated_at: datetime
    issue_id: str | None = None
    issue_type: str = ""
    status_category: str = "new"
    parent_key: str | None = None
    story_points: float | None = None
    summary: str = ""
    labels: tuple[str, ...] | None = None
    old_key: str | None = None
    deleted: bool = False
    actor: str | None = None
    created_at: datetime | None = None
    resolved_at: datetime | None = None
    project: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    status: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe dict for the inbox row."""
        # Every field is a plain immutable value: no deep copy (`asdict`) is needed.
        data = {name: getattr(self, name) for name in self.__slots__}
        data["updated_at"] = self.updated_at.isoformat()
        data["labels"] = list(self.labels) if self.labels is not None else None
        for name in ("created_at", "resolved_at"):
            data[name] = moment.isoformat() if (moment := getattr(self, name)) else None
        for name in ("project", "priority", "status"):
            data[name] = list(getattr(self, name))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IssueEvent:
        """The event stored by `as_dict`."""
        labels = data.get("labels")
        return cls(
            key=data["key"],
            updated_at=datetime.fromisoformat(data["updated_at"]),
            issue_id=data.get("issue_id"),
            issue_type=data.get("issue_type") or "",
            status_category=data.get("status_category") or "new",
            parent_key=data.get("parent_key"),
            story_points=data.get("story_points"),
            summary=data.get("summary") or "",
            labels=tuple(labels) if labels is not None else None,
            old_key=data.get("old_key"),
            deleted=bool(data.get("deleted")),
            actor=data.get("actor"),
            created_at=_moment(data.get("created_at")),
            resolved_at=_moment(data.get("resolved_at")),
            project=tuple(data.get("project") or ()),
            priority=tuple(data.get("priority") or ()),
            status=tuple(data.get("status") or ()),
        )


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def kr_keys_from_labels(labels: Iterable[str]) -> set[str]:
    """KR keys named by `kr-<KR key>` labels, upper-cased (`kr-plat-1.2` -> `PLAT-1.2`)."""
    keys = set()
    for label in labels:
        match = _LABEL.fullmatch(label.strip())
        if match:
            keys.add(match.group(1).upper())
    return keys


def handle_jira_issue(session: Session, row: InboxEvent, ports: Ports) -> set[int]:
    """Inbox handler for `jira_issue` rows: returns the ids of the KRs the change may move."""
    if row.site_id is None:
        return set()
    event = IssueEvent.from_dict(row.payload)
    now = ports.clock.now()
    # Incidents follow the newest event of the issue only: judge that before the item moves.
    watched = bool(incidents.incident_scopes(session, row.site_id))
    current = watched and _is_current(session, row.site_id, event)
    touched = apply_issue_event(session, row.site_id, event, now=now)
    if current:
        touched |= incidents.handle_issue_event(
            session, row.site_id, event, tracker=ports.tracker, now=now
        )
    return touched


def _is_current(session: Session, site_id: int, event: IssueEvent) -> bool:
    """The event is no older than the last one applied to its issue."""
    lookups: BatchLookups | None = session.info.get(BATCH_LOOKUPS)
    if lookups is not None and lookups.site_id != site_id:
        lookups = None
    item = lookups.find(event) if lookups is not None else _find_item(session, site_id, event)
    return item is None or item.updated_at is None or event.updated_at >= item.updated_at


BATCH_LOOKUPS = "jira_batch_lookups"
"""Where `prepare_jira_batch` leaves a batch's lookups: the session's `info`."""


@dataclass(slots=True)
class BatchLookups:
    """The work items and Jira links a batch of events can reach, read in two statements.

    Why: applied one by one, each event costs three statements (find its item, flush it, find
    the KRs linked to it): about 4 ms an event on PostgreSQL, more than 200 events/s allow.
    A rename drops the lookups (the rest of the batch queries); a label link change drops
    the link lookups.
    """

    site_id: int
    by_issue_id: dict[str, WorkItem]
    by_key: dict[str, WorkItem]
    keys: set[str]
    krs_by_key: dict[str, set[int]] | None

    def find(self, event: IssueEvent) -> WorkItem | None:
        """`_find_item` over the prefetched items (same order: issue id, key, old key)."""
        if event.issue_id:
            item = self.by_issue_id.get(event.issue_id)
            if item is not None:
                return item
        return _same_issue(
            event,
            self.by_key.get(event.key),
            self.by_key.get(event.old_key) if event.old_key else None,
        )

    def remember(self, item: WorkItem) -> None:
        self.by_key[item.key] = item
        if item.issue_id:
            self.by_issue_id[item.issue_id] = item

    def krs_linked_to(self, keys: set[str]) -> set[int] | None:
        """`krs_linked_to` from the prefetched links; None when they cannot answer."""
        if self.krs_by_key is None or not keys <= self.keys:
            return None
        return {kr_id for key in keys for kr_id in self.krs_by_key.get(key, ())}


def prepare_jira_batch(session: Session, site_id: int, rows: Iterable[InboxEvent]) -> None:
    """Read the items and links a batch's events can reach, for `apply_issue_event` to use."""
    events = [IssueEvent.from_dict(row.payload) for row in rows if row.event == EVENT_NAME]
    if not events:
        return
    issue_ids = sorted({event.issue_id for event in events if event.issue_id})
    keys = {k for e in events for k in (e.key, e.old_key, e.parent_key) if k}
    items = session.scalars(
        select(WorkItem).where(
            WorkItem.site_id == site_id,
            or_(WorkItem.issue_id.in_(issue_ids), WorkItem.key.in_(sorted(keys))),
        )
    ).all()
    keys |= {k for item in items for k in (item.key, item.parent_key) if k}
    krs_by_key: dict[str, set[int]] = {}
    for kr_id, key in session.execute(
        select(Link.kr_id, Link.target_key).where(
            Link.site_id == site_id,
            Link.target_kind == "jira",
            Link.target_key.in_(sorted(keys)),
        )
    ):
        krs_by_key.setdefault(key, set()).add(kr_id)
    lookups = BatchLookups(
        site_id=site_id, by_issue_id={}, by_key={}, keys=keys, krs_by_key=krs_by_key
    )
    for item in items:
        lookups.remember(item)
    session.info[BATCH_LOOKUPS] = lookups


def _find_item(session: Session, site_id: int, event: IssueEvent) -> WorkItem | None:
    if event.issue_id:
        item = session.scalar(
            select(WorkItem).where(WorkItem.site_id == site_id, WorkItem.issue_id == event.issue_id)
        )
        if item is not None:
            return item
    by_key = session.scalar(
        select(WorkItem).where(WorkItem.site_id == site_id, WorkItem.key == event.key)
    )
    by_old_key = (
        session.scalar(
            select(WorkItem).where(WorkItem.site_id == site_id, WorkItem.key == event.old_key)
        )
        if event.old_key
        else None
    )
    return _same_issue(event, by_key, by_old_key)


def _same_issue(
    event: IssueEvent, by_key: WorkItem | None, by_old_key: WorkItem | None
) -> WorkItem | None:
    """The row an event not found by its issue id updates.

    The row of its key, whatever issue id that row has: a key that arrives with a new id is
    an issue recreated (or moved back) under that key, and a key names one row, so that row
    takes the new id. A row found by the key before a move must be the same issue (same id).
    """
    if by_key is not None:
        return by_key
    if by_old_key is None or by_old_key.issue_id not in (None, "", event.issue_id):
        return None
    return by_old_key


def apply_issue_event(
    session: Session, site_id: int, event: IssueEvent, *, now: datetime | None = None
) -> set[int]:
    """Upsert the work item unless the event is older than it; returns the KRs touched.

    `now` dates the property writes planned when the issue's own links change.
    """
    now = now or utcnow()
    lookups: BatchLookups | None = session.info.get(BATCH_LOOKUPS)
    if lookups is not None and lookups.site_id != site_id:
        lookups = None
    item = lookups.find(event) if lookups is not None else _find_item(session, site_id, event)
    if item is not None and item.updated_at is not None and event.updated_at < item.updated_at:
        return set()
    keys = {event.key}
    before: set[int] = set()
    if item is None:
        item = WorkItem(site_id=site_id, key=event.key, labels=[])
        session.add(item)
    else:
        keys |= {item.key, item.parent_key} - {None}  # type: ignore[arg-type]
        if item.key != event.key:
            session.info.pop(BATCH_LOOKUPS, None)  # keys, links and items move: query again
            lookups = None
            before |= _rename(session, site_id, item, event.key, now=now)
    if event.deleted:
        item.deleted = True
        item.updated_at = event.updated_at
        item.issue_id = item.issue_id or event.issue_id
        if kr_keys_from_labels(item.labels or ()):
            # A deleted issue has no labels: its label links go, whatever order events came in.
            before |= sync_label_links(session, site_id, item.key, ())
    else:
        left_epic = item.parent_key if item.parent_key != event.parent_key else None
        item.issue_id = event.issue_id or item.issue_id
        item.issue_type = event.issue_type
        item.status_category = (
            event.status_category if event.status_category in STATUS_CATEGORIES else "new"
        )
        item.parent_key = event.parent_key
        item.story_points = event.story_points
        item.summary = event.summary
        item.updated_at = event.updated_at
        item.deleted = False
        if left_epic is not None:
            # Out of an epic (perhaps linked): its property may name KRs it no longer counts
            # for. (Into a linked epic, the KR's change plans the write.)
            plan_property_write(session, site_id, event.key, now=now)
        if event.labels is not None and _may_link(item.labels, event.labels):
            item.labels = list(event.labels)
            relinked = sync_label_links(session, site_id, event.key, event.labels)
            if relinked:
                plan_property_write(session, site_id, event.key, now=now)
                if lookups is not None:
                    lookups.krs_by_key = None  # links changed: ask the database from now on
            before |= relinked
    keys |= {event.parent_key} - {None}  # type: ignore[arg-type]
    if lookups is not None:
        lookups.remember(item)
        linked = lookups.krs_linked_to(keys)
        if linked is not None:
            return before | linked  # the item is flushed with the batch, before recompute
    session.flush()
    return before | krs_linked_to(session, site_id, keys)


def _rename(
    session: Session, site_id: int, item: WorkItem, new_key: str, *, now: datetime
) -> set[int]:
    """An issue moved project: its links, its children and its pending write follow the key."""
    old_key = item.key
    clash = session.scalar(
        select(WorkItem).where(WorkItem.site_id == site_id, WorkItem.key == new_key)
    )
    if clash is not None and clash.id != item.id:
        session.delete(clash)
        session.flush()
    touched = krs_linked_to(session, site_id, {old_key})
    links = session.scalars(
        select(Link).where(
            Link.site_id == site_id, Link.target_kind == "jira", Link.target_key == old_key
        )
    ).all()
    for link in links:
        duplicate = session.scalar(
            select(Link.id).where(
                Link.kr_id == link.kr_id,
                Link.target_kind == "jira",
                Link.target_key == new_key,
                Link.source == link.source,
            )
        )
        if duplicate is None:
            link.target_key = new_key
        else:
            session.delete(link)
    session.execute(
        update(WorkItem)
        .where(WorkItem.site_id == site_id, WorkItem.parent_key == old_key)
        .values(parent_key=new_key)
    )
    drop_outbound(session, site_id, "issue_property", old_key)
    item.key = new_key
    session.flush()
    if touched:
        plan_property_write(session, site_id, new_key, now=now)
    return touched


def _may_link(stored: list[str] | None, labels: tuple[str, ...]) -> bool:
    """Whether label links need a look: the labels changed, or some name a KR."""
    return list(labels) != (stored or []) or bool(kr_keys_from_labels(labels))


def plan_property_write(session: Session, site_id: int, issue_key: str, *, now: datetime) -> None:
    """Queue a property write for an issue whose links changed (the KRs it shows changed)."""
    insert_ignore(
        session,
        Outbound,
        [
            {
                "site_id": site_id,
                "kind": "issue_property",
                "target": issue_key,
                "due_at": now,
                "attempts": 0,
            }
        ],
        ("site_id", "kind", "target"),
    )


def sync_label_links(
    session: Session, site_id: int, issue_key: str, labels: Iterable[str]
) -> set[int]:
    """Make the `label` links of an issue match its `kr-<key>` labels; returns KRs touched."""
    wanted = _krs_named(session, site_id, kr_keys_from_labels(labels))
    changed = reconcile_links(
        session,
        site_id,
        source=LABEL_SOURCE,
        target_kind="jira",
        target_key=issue_key,
        wanted={(kr_id, issue_key) for kr_id in wanted},
    )
    return {kr_id for kr_id, _key in changed}


def krs_named(session: Session, site_id: int, keys: set[str]) -> set[int]:
    """Ids of the KRs with these keys, as labels name them (shared with Asana descriptions)."""
    return _krs_named(session, site_id, keys)


def _krs_named(session: Session, site_id: int, keys: set[str]) -> set[int]:
    """Ids of the KRs with these keys (any case); where a key repeats, the newest cycle's."""
    if not keys:
        return set()
    rows = session.execute(
        select(KeyResult.id, func.upper(KeyResult.key))
        .join(Cycle, Cycle.id == KeyResult.cycle_id)
        .where(KeyResult.site_id == site_id, func.upper(KeyResult.key).in_(keys))
        .order_by(Cycle.start.desc(), KeyResult.id)
    ).all()
    chosen: dict[str, int] = {}
    for kr_id, key in rows:
        chosen.setdefault(key, kr_id)
    return set(chosen.values())
