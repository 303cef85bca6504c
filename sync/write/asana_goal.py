"""The `asana_goal` writer: a KR's value and status onto the Asana goal it names.

The Outbound row is unique per goal, so a burst of changes costs one write; a goal whose last
written document (digest) is unchanged is not written again, so each change is written at most
once. Asana's 429 comes back as `RateLimited`, and the job retries after its `Retry-After`.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import KeyResult, Outbound
from sync.engine.snapshots import ASANA_GOAL_KIND
from sync.errors import Permanent, Transient
from sync.ports import Ports
from sync.write.last_written import LastWritten

log = logging.getLogger(__name__)

KIND: Final = ASANA_GOAL_KIND
NO_CLIENT_RETRY_SECONDS: Final = 300.0


def goal_document(kr: KeyResult) -> dict[str, Any]:
    """What the goal shows: the metric's current value (done items for an issues KR, else the
    KR's current value) and the KR's status."""
    current = kr.done if kr.kind == "issues" else kr.current
    return {"current": current, "status": kr.status}


def write_asana_goal(session: Session, row: Outbound, ports: Ports) -> None:
    """Writer for `asana_goal` rows; raises Transient (or RateLimited) to be retried later."""
    kr = session.scalar(
        select(KeyResult)
        .where(
            KeyResult.site_id == row.site_id,
            KeyResult.asana_goal == row.target,
            KeyResult.state == "active",
        )
        .order_by(KeyResult.updated_at.desc(), KeyResult.id.desc())
        .limit(1)
    )
    if kr is None:
        return  # no active KR names this goal any more
    document = goal_document(kr)
    last = LastWritten(session, row, document)
    if last.unchanged:
        return
    if ports.asana is None:
        raise Transient("no Asana client is configured", retry_after=NO_CLIENT_RETRY_SECONDS)
    try:
        ports.asana.set_goal(
            row.site_id, row.target, current=document["current"], status=document["status"]
        )
    except Permanent as exc:
        # Gone, no metric, or not ours to change: retrying cannot help; the next change tries.
        log.warning("Asana goal %s was not written: %s", row.target, exc)
        return
    last.record(ports.clock.now())
