"""customer_order.cancelled_by and cancel_reason: who cancelled a placed order, and why.

The kitchen screen, a kitchen system's status callback and `orderbot order cancel` all cancel
orders; the owner report could only count them. Orders cancelled before this keep
cancelled_by NULL (who is unknown) and an empty reason. The reason's default is the database's
too, so a process of the previous version, still running during the upgrade, can insert orders.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 23:02:49.002499
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_by", sa.String(16), nullable=True))
        batch_op.add_column(
            sa.Column("cancel_reason", sa.String(300), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_order", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_by")
