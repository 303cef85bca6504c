"""What a writer last wrote to a target, so a document equal to it is not sent again.

Every writer that pushes a whole document (the Jira issue property, the Asana goal) keeps the
digest of the last one written per (site, kind, target) in `WriteBackState`: an echo, or a
recompute that changed nothing, then costs no call to the other side.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import Outbound, WriteBackState


def digest(document: dict[str, Any]) -> str:
    """A stable hash of a document (keys sorted, no whitespace)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class LastWritten:
    """The last write of one outbound row's target, compared with the document to write now."""

    def __init__(self, session: Session, row: Outbound, document: dict[str, Any]) -> None:
        self.session = session
        self.row = row
        self.digest = digest(document)
        self.state = session.scalar(
            select(WriteBackState).where(
                WriteBackState.site_id == row.site_id,
                WriteBackState.kind == row.kind,
                WriteBackState.target == row.target,
            )
        )

    @property
    def never(self) -> bool:
        """Nothing was ever written to this target."""
        return self.state is None

    @property
    def unchanged(self) -> bool:
        """The document is the one written last: nothing to send."""
        return self.state is not None and self.state.digest == self.digest

    def record(self, now: datetime) -> None:
        """Remember the document as written (after the other side accepted it)."""
        if self.state is None:
            self.session.add(
                WriteBackState(
                    site_id=self.row.site_id,
                    kind=self.row.kind,
                    target=self.row.target,
                    digest=self.digest,
                    written_at=now,
                )
            )
        else:
            self.state.digest, self.state.written_at = self.digest, now


def remember(
    session: Session, site_id: int, kind: str, target: str, digest: str, now: datetime
) -> None:
    """Record `digest` as the last document written to a target. Only the flush of the site
    (one at a time, under its lease) writes a planned kind, so no other writer inserts the
    same row meanwhile."""
    state = session.scalar(
        select(WriteBackState).where(
            WriteBackState.site_id == site_id,
            WriteBackState.kind == kind,
            WriteBackState.target == target,
        )
    )
    if state is None:
        session.add(
            WriteBackState(site_id=site_id, kind=kind, target=target, digest=digest, written_at=now)
        )
    else:
        state.digest, state.written_at = digest, now
