"""The `issue_property` writer: one `okrlink` property document per issue, written when it changes.

The Outbound row is unique per issue, so however many of an issue's KRs changed, one write
carries them all; a document equal to the last one written (same digest) is not sent again, so
an echo or a recompute that changed nothing costs no call to Jira.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import KeyResult, Link, Outbound, WorkItem
from sync.engine.jobs import Planned
from sync.errors import Transient
from sync.ports import Ports
from sync.write.last_written import LastWritten, remember

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
    krs = counting_krs(session, site_id, issue_key)
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
    planned = plan_issue_property(session, row, ports)
    if planned is None:
        return
    planned.send()
    planned.record(session, ports.clock.now())


def plan_issue_property(session: Session, row: Outbound, ports: Ports) -> Planned | None:
    """What a flush sends for an `issue_property` row (None: nothing to send), read in the
    flush's one read transaction; the call to Jira is then made with no transaction open, and
    the digest recorded in the flush's one write transaction (`Jobs._flush_outbound`)."""
    deleted = session.scalar(
        select(WorkItem.deleted).where(WorkItem.site_id == row.site_id, WorkItem.key == row.target)
    )
    if deleted:
        return None  # nothing to show on an issue that is gone
    document = issue_document(session, row.site_id, row.target)
    last = LastWritten(session, row, document)
    if last.unchanged:
        return None
    if last.never and not document["krs"]:
        return None  # never written, and nothing to show: nothing to take away either
    tracker = ports.tracker
    if tracker is None:
        raise Transient("no work tracker is configured", retry_after=NO_TRACKER_RETRY_SECONDS)
    site_id, target = row.site_id, row.target
    return Planned(
        send=lambda: tracker.set_issue_property(site_id, target, document),
        record=lambda session, now: remember(session, site_id, KIND, target, last.digest, now),
    )
