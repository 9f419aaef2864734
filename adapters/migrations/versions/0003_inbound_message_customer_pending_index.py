"""Index inbound_message (customer, state, sent_at, id): a customer's pending messages in order.

Without it SQLite read them through the state index, i.e. through every customer's pending
messages, so each message of a flood cost more than the last.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_inbound_message_customer_pending", "inbound_message",
                    ["customer", "state", "sent_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_message_customer_pending", table_name="inbound_message")
