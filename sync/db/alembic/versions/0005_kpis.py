"""KPIs and DORA's four keys: deployments, incidents, KPIs and their history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 23:30:00

GitHub deployments (one row per deployment, with when it first succeeded and failed), Jira
incidents matching an `incident_jql`, a team's KPIs with their value history, and on key
results the DORA scope (`params`) and the KPI a KR takes its value from (`kpi`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.db.model

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sync.db.model.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("key_results", sa.Column("params", sa.JSON(), nullable=True))
    op.add_column("key_results", sa.Column("kpi", sa.String(length=64), nullable=True))
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("deployment_id", sa.BigInteger(), nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("environment", sa.String(length=255), nullable=False),
        _at("created_at"),
        _at("succeeded_at", True),
        _at("failed_at", True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("installation_id", "deployment_id"),
    )
    op.create_index("ix_pull_requests_merged", "pull_requests", ["site_id", "merged_at"])
    op.create_index(
        "ix_deployments_window", "deployments", ["site_id", "environment", "created_at"]
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("query", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        _at("opened_at"),
        _at("resolved_at", True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "query", "key"),
    )
    op.create_index("ix_incidents_window", "incidents", ["site_id", "query", "opened_at"])
    op.create_table(
        "kpis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=True),
        sa.Column("jql", sa.Text(), nullable=True),
        sa.Column("jql_field", sa.String(length=128), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("healthy_min", sa.Float(), nullable=True),
        sa.Column("healthy_max", sa.Float(), nullable=True),
        sa.Column("drop_alert", sa.Float(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("current", sa.Float(), nullable=True),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("updated_at"),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "key"),
    )
    op.create_table(
        "kpi_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        _at("at"),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["kpi_id"], ["kpis.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kpi_values_kpi_at", "kpi_values", ["kpi_id", "at"])


def downgrade() -> None:
    op.drop_table("kpi_values")
    op.drop_table("kpis")
    op.drop_table("incidents")
    op.drop_table("deployments")
    op.drop_index("ix_pull_requests_merged", table_name="pull_requests")
    op.drop_column("key_results", "kpi")
    op.drop_column("key_results", "params")
