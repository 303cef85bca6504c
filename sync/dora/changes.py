"""Which merged PRs each successful deployment shipped: kept as (deployment, change) pairs.

The change lead time reads these pairs over its window (`sync.dora.keys`) instead of matching
every merged PR of the window to the deployments around it on each re-measure. Over 50
repositories deploying twice a day (bench/dora.py, before and after alternated in one run):
the matching cost a median 28-65 ms a re-measure on SQLite and 25-52 ms on PostgreSQL; reading
the pairs costs 2.9-6.1 ms and 2.4-3.3 ms.

A pair is the one `sync.core.dora.shipped_changes` makes: a change goes with the first
shipped deployment of its repository (and environment) created at or after its merge. It is
written where the facts arrive, so the webhook handler and the backfill (both go through
`record_deployment` and `apply_pull_request`) write the same rows, once:

- a deployment whose outcome moved (a first success, a failure, an earlier status) re-pairs
  the changes merged between the shipped deployment before it and the one after it (only
  those can change hands); a replayed status moves nothing and writes nothing;
- a merged PR, whenever it arrives (before or after the deployment that shipped it), is
  paired with the first shipped deployment after its merge in each environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sync.core import dora
from sync.db.model import Deployment, DeploymentChange, PullRequest
from sync.db.upsert import insert_ignore

_SHIPPED = (Deployment.succeeded_at.is_not(None), Deployment.failed_at.is_(None))


def _lead_seconds(shipped_at: datetime, opened_at: datetime | None, merged_at: datetime) -> float:
    return (shipped_at - (opened_at or merged_at)).total_seconds()


def _pair_rows(
    deployments: Sequence[Any], changes: Sequence[Any], environment: str
) -> tuple[list[int], list[dict[str, Any]]]:
    """Pairs of these deployments and changes (rows as read below), as the core pairs them."""
    by_fact: dict[int, Any] = {}
    facts = []
    for row in deployments:
        fact = dora.DeploymentFact(row.repo, row.created_at, row.succeeded_at, None)
        by_fact[id(fact)] = row
        facts.append(fact)
    changed = {row.id: row for row in changes}
    change_facts = [
        dora.ChangeFact(row.repo, row.id, row.opened_at or row.merged_at, row.merged_at)
        for row in changes
    ]
    pairs = []
    for fact, change in dora.shipped_changes(facts, change_facts):
        deployment, pull = by_fact[id(fact)], changed[change.number]
        pairs.append(
            {
                "site_id": deployment.site_id,
                "installation_id": deployment.installation_id,
                "deployment_id": deployment.id,
                "pull_request_id": pull.id,
                "repo": pull.repo,
                "environment": environment,
                "merged_at": pull.merged_at,
                "shipped_at": deployment.succeeded_at,
                "lead_seconds": _lead_seconds(
                    deployment.succeeded_at, pull.opened_at, pull.merged_at
                ),
            }
        )
    return list(changed), pairs


def _write(
    session: Session, environment: str | None, pull_ids: list[int], pairs: list[dict[str, Any]]
) -> None:
    """Replace the pairs of these PRs (in one environment, or all) with `pairs`."""
    if pull_ids:
        gone = delete(DeploymentChange).where(DeploymentChange.pull_request_id.in_(pull_ids))
        if environment is not None:
            gone = gone.where(DeploymentChange.environment == environment)
        session.execute(gone)
    insert_ignore(session, DeploymentChange, pairs, ("pull_request_id", "environment"))


_DEPLOYMENT_COLUMNS = (
    Deployment.id,
    Deployment.site_id,
    Deployment.installation_id,
    Deployment.repo,
    Deployment.created_at,
    Deployment.succeeded_at,
)
_CHANGE_COLUMNS = (PullRequest.id, PullRequest.repo, PullRequest.opened_at, PullRequest.merged_at)


def pair_deployment(session: Session, row: Deployment) -> None:
    """Re-pair the changes this deployment may have shipped (or no longer ships)."""
    same = (
        Deployment.installation_id == row.installation_id,
        Deployment.repo == row.repo,
        Deployment.environment == row.environment,
        *_SHIPPED,
    )
    before = session.scalar(
        select(func.max(Deployment.created_at)).where(*same, Deployment.created_at < row.created_at)
    )
    after = session.scalar(
        select(func.min(Deployment.created_at)).where(*same, Deployment.created_at > row.created_at)
    )
    deployments = select(*_DEPLOYMENT_COLUMNS).where(*same)
    changes = select(*_CHANGE_COLUMNS).where(
        PullRequest.installation_id == row.installation_id,
        PullRequest.repo == row.repo,
        PullRequest.merged.is_(True),
        PullRequest.merged_at.is_not(None),
    )
    if before is not None:
        deployments = deployments.where(Deployment.created_at > before)
        changes = changes.where(PullRequest.merged_at > before)
    if after is not None:
        deployments = deployments.where(Deployment.created_at <= after)
        changes = changes.where(PullRequest.merged_at <= after)
    change_rows = session.execute(changes).all()
    if not change_rows:
        return
    pull_ids, pairs = _pair_rows(session.execute(deployments).all(), change_rows, row.environment)
    _write(session, row.environment, pull_ids, pairs)


def pair_pull(session: Session, pull: PullRequest) -> None:
    """Pair a merged PR with the first shipped deployment after its merge, per environment."""
    if not pull.merged or pull.merged_at is None:
        session.execute(delete(DeploymentChange).where(DeploymentChange.pull_request_id == pull.id))
        return
    same = (
        Deployment.installation_id == pull.installation_id,
        Deployment.repo == pull.repo,
        *_SHIPPED,
    )
    firsts = session.execute(
        select(Deployment.environment, func.min(Deployment.created_at))
        .where(*same, Deployment.created_at >= pull.merged_at)
        .group_by(Deployment.environment)
    ).all()
    pairs: list[dict[str, Any]] = []
    for environment, created_at in firsts:
        deployments = session.execute(
            select(*_DEPLOYMENT_COLUMNS).where(
                *same, Deployment.environment == environment, Deployment.created_at == created_at
            )
        ).all()
        pairs += _pair_rows(deployments, [pull], environment)[1]
    _write(session, None, [pull.id], pairs)


def adopt(session: Session, installation_id: int, site_id: int) -> None:
    """An installation mapped to a site: its pairs join the site with its deployments."""
    session.execute(
        update(DeploymentChange)
        .where(DeploymentChange.installation_id == installation_id)
        .values(site_id=site_id)
    )


def rebuild(session: Session, installation_id: int) -> int:
    """Pair every merged PR of an installation afresh (a seeded history); the pairs written."""
    session.execute(
        delete(DeploymentChange).where(DeploymentChange.installation_id == installation_id)
    )
    deployments = session.execute(
        select(*_DEPLOYMENT_COLUMNS, Deployment.environment).where(
            Deployment.installation_id == installation_id, *_SHIPPED
        )
    ).all()
    changes = session.execute(
        select(*_CHANGE_COLUMNS).where(
            PullRequest.installation_id == installation_id,
            PullRequest.merged.is_(True),
            PullRequest.merged_at.is_not(None),
        )
    ).all()
    by_environment: dict[str, list[Any]] = {}
    for row in deployments:
        by_environment.setdefault(row.environment, []).append(row)
    written = 0
    for environment, rows in sorted(by_environment.items()):
        pairs = _pair_rows(rows, changes, environment)[1]
        for start in range(0, len(pairs), 2000):  # SQLite binds at most 32766 parameters
            insert_ignore(
                session,
                DeploymentChange,
                pairs[start : start + 2000],
                ("pull_request_id", "environment"),
            )
        written += len(pairs)
    return written
