"""The history of definitions: who changed which fields of an objective, a KR or a KPI, and how.

Its own module because both the OKR services (`sync.okrs`) and the KPI services (`sync.kpis`)
keep their changes here, and `sync.okrs` builds on `sync.kpis`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import DefinitionChange


def record_change(
    session: Session,
    *,
    site_id: int,
    cycle_id: int | None,
    kind: str,
    key: str,
    action: str,
    author: str | None,
    at: datetime,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> DefinitionChange | None:
    """Keep who changed which fields of a definition, and how; nothing when nothing changed.

    A KPI belongs to its team, not to a cycle: its changes have no `cycle_id`.
    """
    changed = sorted(name for name in {*before, *after} if before.get(name) != after.get(name))
    if not changed and action == "update":
        return None
    row = DefinitionChange(
        site_id=site_id,
        cycle_id=cycle_id,
        target_kind=kind,
        target_key=key,
        action=action,
        at=at,
        author=author,
        before={n: before.get(n) for n in changed if n in before},
        after={n: after.get(n) for n in changed if n in after},
    )
    session.add(row)
    return row


def kpi_changes_of(session: Session, site_id: int, key: str) -> list[DefinitionChange]:
    """The definition history of a KPI, oldest first."""
    return list(
        session.scalars(
            select(DefinitionChange)
            .where(
                DefinitionChange.site_id == site_id,
                DefinitionChange.target_kind == "kpi",
                DefinitionChange.target_key == key,
            )
            .order_by(DefinitionChange.at, DefinitionChange.id)
        )
    )
