"""reliability: poison inbox rows and refused write-backs are parked, not retried forever

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 23:30:00

`inbox.retry_at` spaces out the retries of an event that failed to apply (it no longer comes
back in every drain of its site); `inbox.failed_at` and `outbound.failed_at` mark rows parked
for an operator (`okrlink inbox failed`, `okrlink outbound failed`). `key_results.current_imported_at`
says when an import last set a KR's current value, so a later check-in is not overwritten by a
re-import of an older file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.db.model

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("retry_at", sync.db.model.UtcDateTime(timezone=True)))
        batch.add_column(sa.Column("failed_at", sync.db.model.UtcDateTime(timezone=True)))
    with op.batch_alter_table("outbound") as batch:
        batch.add_column(sa.Column("failed_at", sync.db.model.UtcDateTime(timezone=True)))
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(sa.Column("current_imported_at", sync.db.model.UtcDateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.drop_column("current_imported_at")
    with op.batch_alter_table("outbound") as batch:
        batch.drop_column("failed_at")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("failed_at")
        batch.drop_column("retry_at")
