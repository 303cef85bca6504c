"""The `issue_property` writer: one `okrlink` property document per issue, written when it changes.

The Outbound row is unique per issue, so however many of an issue's KRs changed, one write
carries them all; a document equal to the last one written (same digest) is not sent again, so
an echo or a recompute that changed nothing costs no call to Jira.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import KeyResult, Link, Outbound, WorkItem, WriteBackState
from sync.engine.jobs import Planned
from sync.errors import Transient
from sync.ports import Ports, Tracker
from sync.write.last_written import digest, remember

KIND: Final = "issue_property"
ORIGIN: Final = "okrlink"
# Most at risk first: the glance shows the first.
STATUS_RANK: Final = {"off_track": 0, "at_risk": 1, "on_track": 2}
NO_TRACKER_RETRY_SECONDS: Final = 300.0


def counting_krs(session: Session, site_id: int, issue_key: str) -> list[KeyResult]:
    """The active KRs an issue counts for: those linked to it, and the issues KRs linked to
    its epic (which count the epic's children), each once, by key."""
    parent_key = session.scalar(
        select(WorkItem.parent_key).where(
            WorkItem.site_id == site_id, WorkItem.key == issue_key, WorkItem.deleted.is_(False)
        )
    )
    direct = select(Link.kr_id).where(
        Link.site_id == site_id, Link.target_kind == "jira", Link.target_key == issue_key
    )
    through_epic = (
        select(Link.kr_id)
        .join(KeyResult, KeyResult.id == Link.kr_id)
        .where(
            Link.site_id == site_id,
            Link.target_kind == "jira",
            Link.target_key == parent_key,
            KeyResult.kind == "issues",
        )
    )
    linked = direct.union(through_epic) if parent_key else direct
    return list(
        session.scalars(
            select(KeyResult)
            .where(
                KeyResult.site_id == site_id,
                KeyResult.state == "active",
                KeyResult.id.in_(linked),
            )
            .order_by(KeyResult.key, KeyResult.id)
        )
    )


def issue_document(session: Session, site_id: int, issue_key: str) -> dict[str, Any]:
    """The property document of an issue: the active KRs it counts for (linked directly or
    through its epic), most at risk first. An issue that counts for none gets a document with
    no KRs, so JQL (`okrKeyResult = ...`) stops finding it."""
    return document_of(counting_krs(session, site_id, issue_key))


def document_of(krs: Iterable[Any]) -> dict[str, Any]:
    """The property document of an issue counting for `krs` (in key order): most at risk
    first."""
    entries: list[dict[str, Any]] = sorted(
        (
            {
                "key": kr.key,
                "title": kr.title,
                "progress": round(kr.progress, 4),
                "score": round(kr.score, 4),
                "status": kr.status,
            }
            for kr in krs
        ),
        key=lambda e: (STATUS_RANK.get(e["status"], 3), e["progress"], e["key"]),
    )
    worst = entries[0] if entries else None
    return {
        "krs": entries,
        "krKeys": [entry["key"] for entry in entries],
        "status": worst["status"] if worst else None,
        "progress": worst["progress"] if worst else None,
        "score": worst["score"] if worst else None,
        "origin": ORIGIN,
    }


def write_issue_property(session: Session, row: Outbound, ports: Ports) -> None:
    """Writer for `issue_property` rows; raises Transient to be retried later."""
    planned = plan_issue_properties(session, [row], ports)[0]
    if isinstance(planned, Exception):
        raise planned
    if planned is None:
        return
    planned.send()
    assert planned.digest is not None
    remember(session, row.site_id, KIND, row.target, planned.digest, ports.clock.now())


def plan_issue_properties(
    session: Session, rows: Sequence[Outbound], ports: Ports
) -> list[Planned | Exception | None]:
    """What a flush sends for each of a site's `issue_property` rows (None: nothing to send;
    an exception: the row's failure), read in four statements however many rows: the items,
    the links and KRs they count for, the digests last written. The calls to Jira are then
    made with no transaction open, and the digests recorded in the flush's one write
    transaction (`Jobs._flush_outbound`). Read one row at a time (`issue_document`), a flush
    cost about 5 ms of the worker's CPU per issue, time the drain's batches waited for."""
    if not rows:
        return []
    site_id = rows[0].site_id
    targets = sorted({row.target for row in rows})
    items = {
        key: (deleted, parent)
        for key, deleted, parent in session.execute(
            select(WorkItem.key, WorkItem.deleted, WorkItem.parent_key).where(
                WorkItem.site_id == site_id, WorkItem.key.in_(targets)
            )
        )
    }
    parents = {parent for deleted, parent in items.values() if parent and not deleted}
    direct: dict[str, set[int]] = {}
    through_epic: dict[str, set[int]] = {}
    for key, kr_id, kind in session.execute(
        select(Link.target_key, Link.kr_id, KeyResult.kind)
        .join(KeyResult, KeyResult.id == Link.kr_id)
        .where(
            Link.site_id == site_id,
            Link.target_kind == "jira",
            Link.target_key.in_(sorted(set(targets) | parents)),
        )
    ):
        direct.setdefault(key, set()).add(kr_id)
        if kind == "issues":
            through_epic.setdefault(key, set()).add(kr_id)
    every_kr = set().union(*direct.values()) if direct else set()
    krs = {
        kr.id: kr
        for kr in session.execute(
            select(
                KeyResult.id,
                KeyResult.key,
                KeyResult.title,
                KeyResult.progress,
                KeyResult.score,
                KeyResult.status,
            ).where(
                KeyResult.site_id == site_id,
                KeyResult.state == "active",
                KeyResult.id.in_(sorted(every_kr)),
            )
        )
    }
    written: dict[str, str] = {
        target: last
        for target, last in session.execute(
            select(WriteBackState.target, WriteBackState.digest).where(
                WriteBackState.site_id == site_id,
                WriteBackState.kind == KIND,
                WriteBackState.target.in_(targets),
            )
        )
    }
    tracker = ports.tracker
    planned: list[Planned | Exception | None] = []
    for row in rows:
        deleted, parent = items.get(row.target, (None, None))
        if deleted:
            planned.append(None)  # nothing to show on an issue that is gone
            continue
        ids = direct.get(row.target, set()) | (through_epic.get(parent, set()) if parent else set())
        counting = sorted((krs[i] for i in ids if i in krs), key=lambda kr: (kr.key, kr.id))
        document = document_of(counting)
        last = written.get(row.target)
        now_digest = digest(document)
        if last == now_digest:
            planned.append(None)
        elif last is None and not document["krs"]:
            planned.append(None)  # never written, and nothing to show: nothing to take away
        elif tracker is None:
            planned.append(
                Transient("no work tracker is configured", retry_after=NO_TRACKER_RETRY_SECONDS)
            )
        else:
            planned.append(_planned(tracker, row.site_id, row.target, document, now_digest))
    return planned


def _planned(
    tracker: Tracker, site_id: int, target: str, document: dict[str, Any], written: str
) -> Planned:
    return Planned(
        send=lambda: tracker.set_issue_property(site_id, target, document), digest=written
    )
