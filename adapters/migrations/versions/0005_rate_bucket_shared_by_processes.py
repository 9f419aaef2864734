"""rate_bucket: the per-sender rate limit's buckets, shared by every server process.

Before, each process kept its own buckets in memory, so with `serve --workers N` (or several
servers behind one address) a flooding number got N times the allowance and up to N notices.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 22:26:28.329686
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_bucket",
        sa.Column("customer", sa.String(160), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refreshed_at", sa.Float(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("customer"),
    )


def downgrade() -> None:
    op.drop_table("rate_bucket")
