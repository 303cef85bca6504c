"""Apply GitHub `deployment` and `deployment_status` deliveries (and the backfill's reads).

Inbox payloads (see `integrations.github.records`): `{"action", "installation_id", "account",
"deployment": {"id", "repo", "sha", "ref", "environment", "created_at"}}`, plus
`"status": {"id", "state", "at"}` for a status. One row per (installation, deployment id): a
webhook and the backfill reading the same deployment meet on it. A status only moves the
deployment's first success or first failure earlier, so order and replays change nothing.
When that outcome moves, the merged PRs the deployment shipped are paired with it
(`sync.dora.changes`), which the change lead time reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.apply.github import ensure_installation
from sync.db.model import Deployment, InboxEvent
from sync.db.upsert import insert_ignore
from sync.dora.changes import pair_deployment
from sync.dora.remeasure import remeasure

if TYPE_CHECKING:
    from sync.engine.jobs import Jobs
    from sync.ports import Ports

SUCCESS = "success"
FAILED = ("failure", "error")


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def record_deployment(
    session: Session,
    *,
    installation_id: int,
    site_id: int | None,
    deployment: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
) -> Deployment:
    """Store the deployment once, and fold in a status if one is given."""
    insert_ignore(
        session,
        Deployment,
        [
            {
                "site_id": site_id,
                "installation_id": installation_id,
                "deployment_id": int(deployment["id"]),
                "repo": deployment["repo"],
                "sha": deployment.get("sha") or "",
                "ref": deployment.get("ref") or "",
                "environment": deployment.get("environment") or "",
                "created_at": _at(deployment["created_at"]),
            }
        ],
        ("installation_id", "deployment_id"),
    )
    row = session.scalars(
        select(Deployment)
        .where(
            Deployment.installation_id == installation_id,
            Deployment.deployment_id == int(deployment["id"]),
        )
        .execution_options(populate_existing=True)
    ).one()
    if site_id is not None:
        row.site_id = site_id
    outcome = (row.succeeded_at, row.failed_at)
    if status is not None:
        at = _at(status["at"])
        if status["state"] == SUCCESS and (row.succeeded_at is None or at < row.succeeded_at):
            row.succeeded_at = at
        elif status["state"] in FAILED and (row.failed_at is None or at < row.failed_at):
            row.failed_at = at
    session.flush()
    if (row.succeeded_at, row.failed_at) != outcome:
        pair_deployment(session, row)  # the changes it shipped (or no longer ships) move
    return row


def apply_deployment(session: Session, event: InboxEvent, ports: Ports) -> set[int]:
    """Record the deployment (and status); re-measure the site's DORA KRs and KPIs."""
    payload = event.payload
    installation = ensure_installation(
        session, int(payload["installation_id"]), account=payload.get("account") or ""
    )
    if event.site_id is None and installation.site_id is not None:
        event.site_id = installation.site_id
    site_id = installation.site_id
    record_deployment(
        session,
        installation_id=installation.installation_id,
        site_id=site_id,
        deployment=payload["deployment"],
        status=payload.get("status"),
    )
    if site_id is None:
        return set()
    return remeasure(session, site_id, now=ports.clock.now())


def register(jobs: Jobs) -> None:
    """The deployments feature's jobs: apply deployment and deployment status deliveries."""
    for event in ("github:deployment", "github:deployment_status"):
        jobs.handle(event, apply_deployment)
