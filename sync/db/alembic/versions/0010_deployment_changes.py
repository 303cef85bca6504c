"""DORA: the merged PRs each successful deployment shipped, paired once (deployment_changes)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import sync.db.model
from sync.core import dora

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_deployments = sa.table(
    "deployments",
    sa.column("id", sa.Integer()),
    sa.column("site_id", sa.Integer()),
    sa.column("installation_id", sa.BigInteger()),
    sa.column("repo", sa.String()),
    sa.column("environment", sa.String()),
    sa.column("created_at", sync.db.model.UtcDateTime()),
    sa.column("succeeded_at", sync.db.model.UtcDateTime()),
    sa.column("failed_at", sync.db.model.UtcDateTime()),
)
_pulls = sa.table(
    "pull_requests",
    sa.column("id", sa.Integer()),
    sa.column("installation_id", sa.BigInteger()),
    sa.column("repo", sa.String()),
    sa.column("merged", sa.Boolean()),
    sa.column("opened_at", sync.db.model.UtcDateTime()),
    sa.column("merged_at", sync.db.model.UtcDateTime()),
)


def _pairs(connection: sa.Connection) -> list[dict[str, Any]]:
    """The pairs the stored deployments and PRs make (as `sync.dora.changes` makes them)."""
    d, p = _deployments.c, _pulls.c
    shipped = connection.execute(
        sa.select(d.id, d.site_id, d.installation_id, d.repo, d.environment, d.created_at,
                  d.succeeded_at).where(d.succeeded_at.is_not(None), d.failed_at.is_(None))
    ).all()
    pulls = connection.execute(
        sa.select(p.id, p.installation_id, p.repo, p.opened_at, p.merged_at).where(
            p.merged.is_(True), p.merged_at.is_not(None)
        )
    ).all()
    groups: dict[tuple[int, str], list[Any]] = {}
    for row in shipped:
        groups.setdefault((row.installation_id, row.environment), []).append(row)
    rows = []
    for (installation_id, environment), deployments in groups.items():
        facts = {}
        for row in deployments:
            fact = dora.DeploymentFact(row.repo, row.created_at, row.succeeded_at)
            facts[id(fact)] = (fact, row)
        changes = {row.id: row for row in pulls if row.installation_id == installation_id}
        change_facts = [dora.ChangeFact(r.repo, r.id, r.opened_at or r.merged_at, r.merged_at)
                        for r in changes.values()]
        for fact, change in dora.shipped_changes([f for f, _ in facts.values()], change_facts):
            deployment, pull = facts[id(fact)][1], changes[change.number]
            rows.append({
                "site_id": deployment.site_id, "installation_id": installation_id,
                "deployment_id": deployment.id, "pull_request_id": pull.id, "repo": pull.repo,
                "environment": environment, "merged_at": pull.merged_at,
                "shipped_at": deployment.succeeded_at,
                "lead_seconds": (deployment.succeeded_at
                                 - (pull.opened_at or pull.merged_at)).total_seconds(),
            })
    return rows


def upgrade() -> None:
    table = op.create_table(
        "deployment_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("pull_request_id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("environment", sa.String(length=255), nullable=False),
        sa.Column("merged_at", sync.db.model.UtcDateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sync.db.model.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lead_seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pull_request_id"], ["pull_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pull_request_id", "environment"),
    )
    op.create_index(
        "ix_deployment_changes_window",
        "deployment_changes",
        ["site_id", "environment", "shipped_at"],
    )
    op.create_index(
        "ix_deployments_repo", "deployments", ["installation_id", "repo", "environment",
                                               "created_at"]
    )
    op.create_index(
        "ix_pull_requests_repo_merged", "pull_requests", ["installation_id", "repo", "merged_at"]
    )
    rows = _pairs(op.get_bind())
    for start in range(0, len(rows), 2000):
        op.bulk_insert(table, rows[start : start + 2000])


def downgrade() -> None:
    op.drop_index("ix_pull_requests_repo_merged", table_name="pull_requests")
    op.drop_index("ix_deployments_repo", table_name="deployments")
    op.drop_index("ix_deployment_changes_window", table_name="deployment_changes")
    op.drop_table("deployment_changes")
