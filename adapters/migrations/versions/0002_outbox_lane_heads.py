"""Index outbox (state, lane, id): the dispatcher finds lane heads by walking it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_state_lane_id", "outbox", ["state", "lane", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state_lane_id", table_name="outbox")
