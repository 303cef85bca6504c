"""Re-measure what rolling-window facts feed: a site's DORA KRs and its `github` KPIs.

Deployments, merged PRs and incidents move these values without being linked to any KR, so
each delivery of them re-measures the site's (few) KPIs and hands back the KRs to re-derive.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import kpis
from sync.core.dora import KEYS as DORA_KEYS
from sync.db.model import KeyResult


def dora_krs(session: Session, site_id: int) -> set[int]:
    """The site's active KRs measured by a DORA key."""
    return set(
        session.scalars(
            select(KeyResult.id).where(
                KeyResult.site_id == site_id,
                KeyResult.kind == "github",
                KeyResult.measure.in_(DORA_KEYS),
                KeyResult.state == "active",
            )
        )
    )


def remeasure(session: Session, site_id: int, *, now: datetime) -> set[int]:
    """The site's DORA KRs to re-derive; its `github` KPIs are re-measured by `recompute`.

    Marking the KPIs stale rather than measuring them here makes a batch of deliveries (a
    backfill reads thousands) measure each KPI once, when the batch re-derives its KRs.
    """
    kpis.mark_stale(session, site_id)
    return dora_krs(session, site_id)
