"""Geckoboard datasets of teams: add, list, remove, and the records a push sends.

The CLI (`okrlink dashboards geckoboard`) and the Jira admin page add datasets here, the one
place their rules live. A team has one dataset, `okrlink.<team>.key_results`, holding its
active KRs of open cycles (the board of `sync.dashboards`: the panels' numbers). The API key
is stored encrypted (like shared secrets) and shown only as a masked hint; a push is a
`geckoboard` write-back (`sync/write/geckoboard.py`), planned when a KR of the team changes
(`sync/engine/snapshots.plan_write_backs`), at most one a minute per dataset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.dashboards import Board
from sync.db.model import GeckoboardDataset, Outbound, Team
from sync.engine.snapshots import GECKOBOARD_KIND
from sync.errors import Invalid

KIND: Final = GECKOBOARD_KIND
"""The outbound kind of a push (and its `okrlink_outbound_writes_total` target)."""
MAX_RECORDS: Final = 5000
"""Geckoboard takes at most this many records in one replacing PUT."""
MAX_KEY = 200
_NOT_ID = re.compile(r"[^a-z0-9_-]+")

FIELDS: Final[Mapping[str, Mapping[str, Any]]] = {
    "cycle": {"type": "string", "name": "Cycle"},
    "objective": {"type": "string", "name": "Objective"},
    "kr": {"type": "string", "name": "Key result"},
    "title": {"type": "string", "name": "Title"},
    "status": {"type": "string", "name": "Status"},
    "progress": {"type": "percentage", "name": "Progress"},
    "score": {"type": "number", "name": "Score"},
    "value": {"type": "number", "name": "Value", "optional": True},
    "target": {"type": "number", "name": "Target", "optional": True},
    "confidence": {"type": "percentage", "name": "Confidence", "optional": True},
}
"""The dataset's schema: ten fields, Geckoboard's most (a test holds it to that)."""
UNIQUE_BY: Final = ("cycle", "kr")


@dataclass(frozen=True, slots=True)
class DatasetView:
    """A dataset as lists show it: never the key, only its hint; parked when refused."""

    id: int
    site_id: int
    team: str
    dataset: str
    key_hint: str
    pushed_at: datetime | None
    state: str  # active | parked
    parked_reason: str | None


def dataset_id(team: str) -> str:
    """Geckoboard's id of the team's dataset (lowercase letters, digits, `_`, `-`, dots)."""
    return f"okrlink.{_NOT_ID.sub('_', team.lower()).strip('_') or 'team'}.key_results"


def mask_key(key: str) -> str:
    """`…a1b2`: the last four characters, the rest never shown."""
    return f"…{key[-4:]}" if len(key) > 8 else "…"


def records(board: Board) -> list[dict[str, Any]]:
    """The team's KRs as dataset records (at most `MAX_RECORDS`), in panel order."""
    found: list[dict[str, Any]] = []
    for objective in board.objectives:
        for kr in objective.krs:
            record: dict[str, Any] = {
                "cycle": objective.cycle,
                "objective": f"{objective.key} {objective.title}"[:200],
                "kr": kr.key,
                "title": kr.title[:200],
                "status": kr.status,
                "progress": kr.progress,
                "score": kr.score,
                "value": kr.value,
                "target": kr.target,
                "confidence": kr.confidence,
            }
            found.append(record)
    return found[:MAX_RECORDS]


def _parked(session: Session, site_id: int | None) -> dict[tuple[int, str], str]:
    query = select(Outbound.site_id, Outbound.target, Outbound.last_error).where(
        Outbound.kind == KIND, Outbound.failed_at.is_not(None)
    )
    if site_id is not None:
        query = query.where(Outbound.site_id == site_id)
    return {(site, target): error or "" for site, target, error in session.execute(query)}


def list_datasets(session: Session, site_id: int | None = None) -> list[DatasetView]:
    """The datasets (of one site when given), with the refusal of a parked one."""
    query = select(GeckoboardDataset).order_by(GeckoboardDataset.id)
    if site_id is not None:
        query = query.where(GeckoboardDataset.site_id == site_id)
    parked = _parked(session, site_id)
    views = []
    for row in session.scalars(query):
        reason = parked.get((row.site_id, row.dataset))
        views.append(
            DatasetView(
                id=row.id,
                site_id=row.site_id,
                team=row.team_key,
                dataset=row.dataset,
                key_hint=row.key_hint,
                pushed_at=row.pushed_at,
                state="active" if reason is None else "parked",
                parked_reason=reason,
            )
        )
    return views


def queue_push(session: Session, site_id: int, dataset: str, *, now: datetime) -> None:
    """A push of the dataset due now; a parked one is handed back (its key was replaced)."""
    row = session.scalar(
        select(Outbound).where(
            Outbound.site_id == site_id, Outbound.kind == KIND, Outbound.target == dataset
        )
    )
    if row is None:
        session.add(Outbound(site_id=site_id, kind=KIND, target=dataset, due_at=now, attempts=0))
    else:
        row.failed_at, row.attempts, row.last_error, row.due_at = None, 0, None, now
    session.flush()


def queue_team_push(session: Session, site_id: int, team_id: int, *, now: datetime) -> None:
    """A push of the team's dataset, when it has one, due no sooner than its minute allows.

    For changes that move no KR snapshot and so plan no write-back (a KR or an objective
    abandoned, a cycle closed) but take KRs off the dataset. A push already queued, or parked,
    is left as it is.
    """
    dataset = session.scalar(
        select(GeckoboardDataset)
        .join(
            Team,
            (Team.site_id == GeckoboardDataset.site_id) & (Team.key == GeckoboardDataset.team_key),
        )
        .where(GeckoboardDataset.site_id == site_id, Team.id == team_id)
    )
    if dataset is None:
        return
    queued = session.scalar(
        select(Outbound.id).where(
            Outbound.site_id == site_id, Outbound.kind == KIND, Outbound.target == dataset.dataset
        )
    )
    if queued is None:
        due = max(now, dataset.next_push_at) if dataset.next_push_at is not None else now
        session.add(
            Outbound(site_id=site_id, kind=KIND, target=dataset.dataset, due_at=due, attempts=0)
        )
        session.flush()


def add_dataset(
    session: Session,
    site_id: int,
    *,
    team: str,
    api_key: str,
    encrypt: Callable[[str], str],
    now: datetime,
) -> DatasetView:
    """Push the team's KRs to its dataset with this key (a second add replaces the key);
    the first push is queued at once. Raises Invalid with the field at fault."""
    key = api_key.strip()
    if not key or len(key) > MAX_KEY or any(c.isspace() for c in key):
        raise Invalid(
            "give the Geckoboard API key (Account > API key), without spaces", field="api_key"
        )
    found = session.scalar(select(Team).where(Team.site_id == site_id, Team.key == team.strip()))
    if found is None:
        raise Invalid(f"no team {team.strip() or '(empty)'} on this site", field="team")
    row = session.scalar(
        select(GeckoboardDataset).where(
            GeckoboardDataset.site_id == site_id, GeckoboardDataset.team_key == found.key
        )
    )
    if row is None:
        row = GeckoboardDataset(
            site_id=site_id, team_key=found.key, dataset=dataset_id(found.key), created_at=now
        )
        session.add(row)
    row.api_key, row.key_hint = encrypt(key), mask_key(key)
    session.flush()
    queue_push(session, site_id, row.dataset, now=now)
    (view,) = [v for v in list_datasets(session, site_id) if v.id == row.id]
    return view


def remove_dataset(session: Session, dataset_row: int, *, site_id: int | None = None) -> bool:
    """Stop pushing and forget the key (and any queued or parked push); False when unknown
    (or of another site, when `site_id` is given)."""
    row = session.get(GeckoboardDataset, dataset_row)
    if row is None or (site_id is not None and row.site_id != site_id):
        return False
    session.execute(
        delete(Outbound).where(
            Outbound.site_id == row.site_id, Outbound.kind == KIND, Outbound.target == row.dataset
        )
    )
    session.delete(row)
    return True
