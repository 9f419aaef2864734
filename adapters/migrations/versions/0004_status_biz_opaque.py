"""status_event.biz_opaque_callback_data: the outbox key Meta echoes in status webhooks.

A send whose answer was lost (client timeout) is found to have been sent by its statuses
instead of being sent again (bot.dispatcher).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:42:35.101392
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("status_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("biz_opaque_callback_data", sa.String(512), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_status_event_biz_opaque_callback_data"),
            ["biz_opaque_callback_data"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("status_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_event_biz_opaque_callback_data"))
        batch_op.drop_column("biz_opaque_callback_data")
