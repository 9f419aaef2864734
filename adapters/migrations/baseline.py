"""The schema of revision 0001 (the baseline), frozen: what `create_all` made before Alembic.

Never edit this to follow a model change; write a new revision instead (README "Schema
migrations"). Both the baseline revision and the adoption of a database from before Alembic
build from it, so an old database is brought to exactly this schema before later revisions run.
Plain SQLAlchemy types, as the models' types render in DDL (AutoString -> VARCHAR,
UTCDateTime -> a timezone-aware DATETIME / TIMESTAMP).
"""

from __future__ import annotations

import sqlalchemy as sa

_STAMP = sa.DateTime(timezone=True)


def baseline_metadata() -> sa.MetaData:
    """A new MetaData holding the baseline tables (new each call: Tables bind to one MetaData)."""
    metadata = sa.MetaData()
    sa.Table(
        "inbound_message", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wamid", sa.String(255), nullable=False, unique=True),
        sa.Column("customer", sa.String(160), nullable=False, index=True),
        sa.Column("phone_number_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.Integer, nullable=False),
        sa.Column("payload", sa.String, nullable=False),
        sa.Column("received_at", _STAMP, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("processed_at", _STAMP, nullable=True),
        sa.Column("error", sa.String, nullable=True),
    )
    sa.Table(
        "status_event", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("wamid", sa.String(255), nullable=False, index=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(160), nullable=False),
        sa.Column("sent_at", sa.Integer, nullable=False),
        sa.Column("error_code", sa.Integer, nullable=True),
        sa.Column("payload", sa.String, nullable=False),
        sa.Column("received_at", _STAMP, nullable=False),
        sa.UniqueConstraint("wamid", "status"),
    )
    sa.Table(
        "conversation", metadata,
        sa.Column("customer", sa.String(160), primary_key=True),
        sa.Column("reply_to", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_inbound_at", sa.Integer, nullable=False),
        sa.Column("updated_at", _STAMP, nullable=False),
        sa.Column("customer_at", _STAMP, nullable=True),
        sa.Column("timer_from", _STAMP, nullable=True),
        sa.Column("due_at", _STAMP, nullable=True, index=True),
        sa.Column("due_kind", sa.String(32), nullable=True),
    )
    sa.Table(
        "customer_order", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.Integer, nullable=True, unique=True, index=True),
        sa.Column("customer", sa.String(160), nullable=False, index=True),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("source_wamid", sa.String(255), nullable=False, unique=True),
        sa.Column("lines", sa.String, nullable=False),
        sa.Column("total", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fulfillment", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("note", sa.String(1000), nullable=False),
        sa.Column("prepare_at", _STAMP, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _STAMP, nullable=False),
        sa.Column("status_at", _STAMP, nullable=True),
        sa.Column("assisted", sa.Boolean, nullable=True),
    )
    sa.Table(
        "display_ticket", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.Integer, nullable=False, unique=True, index=True),
        sa.Column("ticket", sa.String, nullable=False),
        sa.Column("received_at", _STAMP, nullable=False),
    )
    sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("lane", sa.String(200), nullable=False, index=True),
        sa.Column("key", sa.String(255), nullable=False, unique=True),
        sa.Column("payload", sa.String, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _STAMP, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", _STAMP, nullable=True),
        sa.Column("last_error", sa.String, nullable=True),
        sa.Column("result", sa.String, nullable=True),
        sa.Column("created_at", _STAMP, nullable=False),
        sa.Column("sent_at", _STAMP, nullable=True),
        sa.Column("correlation_id", sa.String(32), nullable=True),
    )
    sa.Table(
        "stock", metadata,
        sa.Column("product", sa.String(64), primary_key=True),
        sa.Column("variant", sa.String(64), primary_key=True),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("seeded", sa.Integer, nullable=True),
        sa.Column("low_alerted", sa.Boolean, nullable=False),
        sa.Column("updated_at", _STAMP, nullable=False),
    )
    sa.Table(
        "stock_reservation", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_wamid", sa.String(255), nullable=False, index=True),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("released_at", _STAMP, nullable=True),
    )
    return metadata
