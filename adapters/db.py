"""Database tables (SQLModel) and the async engine. SQLite by default, PostgreSQL to scale out.

Rows are storage shapes only; the conversation and order logic works on its own value types.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Index, UniqueConstraint, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters import migrations, sqlite_driver
from bot.cancellation import CANCELLED_BY_LENGTH, REASON_LIMIT

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    # SQLModel's datetime columns insist on aware values and store them as UTC.
    return datetime.now(UTC)


class InboundMessage(SQLModel, table=True):
    """Every message a customer sent, stored before the webhook is acknowledged."""

    __tablename__ = "inbound_message"
    # A customer's pending messages in their order (adapters.message_store): one index range,
    # however many other customers' messages are pending (a flood used to scan them all).
    __table_args__ = (Index("ix_inbound_message_customer_pending",
                            "customer", "state", "sent_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    wamid: str = Field(unique=True, max_length=255)  # Meta's message id: the dedupe key
    customer: str = Field(index=True, max_length=160)
    phone_number_id: str = Field(default="", max_length=64)
    type: str = Field(max_length=32)
    sent_at: int = Field(default=0)  # the message's own timestamp (epoch seconds)
    payload: str  # the message object plus the sender's profile name, as JSON
    received_at: datetime = Field(default_factory=utcnow)
    # pending | done | failed | limited (over the sender's rate limit: stored, never processed)
    state: str = Field(default="pending", index=True, max_length=16)
    processed_at: datetime | None = None
    error: str | None = None


class StatusEvent(SQLModel, table=True):
    """Delivery statuses of our outbound messages (sent, delivered, read, failed)."""

    __tablename__ = "status_event"
    __table_args__ = (UniqueConstraint("wamid", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    wamid: str = Field(max_length=255, index=True)
    status: str = Field(max_length=32)
    recipient: str = Field(default="", max_length=160)
    sent_at: int = Field(default=0)
    error_code: int | None = None
    payload: str
    received_at: datetime = Field(default_factory=utcnow)
    # What we sent with the message (the outbox row's key), echoed by Meta: how a send whose
    # answer was lost is found to have been sent after all (bot.dispatcher).
    biz_opaque_callback_data: str | None = Field(default=None, max_length=512, index=True)


class ConversationRow(SQLModel, table=True):
    """One customer's conversation state (JSON), versioned for optimistic checks."""

    __tablename__ = "conversation"

    customer: str = Field(primary_key=True, max_length=160)
    reply_to: str = Field(default="", max_length=64)  # phone number we answer on
    name: str = Field(default="", max_length=200)
    state: str = Field(default="{}")
    version: int = Field(default=0)
    last_inbound_at: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow)
    # By the bot's clock. customer_at opens WhatsApp's 24 h window; timers count from
    # timer_from (last customer message, or a handoff release); due_at/due_kind is the next
    # timer (bot.timers), stored so that restarts keep it.
    customer_at: datetime | None = None
    timer_from: datetime | None = None
    due_at: datetime | None = Field(default=None, index=True)
    due_kind: str | None = Field(default=None, max_length=32)


class OrderRow(SQLModel, table=True):
    """A confirmed order. `number` is what the customer and the kitchen see (#1001)."""

    __tablename__ = "customer_order"

    id: int | None = Field(default=None, primary_key=True)
    number: int | None = Field(default=None, unique=True, index=True)
    customer: str = Field(index=True, max_length=160)
    customer_name: str = Field(default="", max_length=200)
    source_wamid: str = Field(unique=True, max_length=255)  # the confirming message: one order each
    lines: str  # JSON list of priced lines
    total: str  # Decimal as text: no float money anywhere
    currency: str = Field(max_length=3)
    fulfillment: str = Field(default="pickup", max_length=16)
    address: str = Field(default="", max_length=500)  # delivery: typed, or the pin's name
    latitude: float | None = None  # delivery: the shared location pin
    longitude: float | None = None
    note: str = Field(default="", max_length=1000)  # the customer's note for the whole order
    prepare_at: datetime | None = None  # a pre-order taken while closed: when the shop opens
    # Kitchen status (bot.order_status): new -> preparing -> ready -> done. Rows from before
    # statuses existed keep "confirmed", which reads as "new".
    status: str = Field(default="new", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    status_at: datetime | None = None  # when the status last changed
    # A person took over the chat (handoff) while this order was being taken: the owner report
    # counts orders completed with no human help. None on rows from before it was recorded.
    assisted: bool | None = None
    # Who cancelled a placed order (bot.cancellation.CancelledBy) and the reason the customer
    # was told ("" for none), for the owner report. None on orders not cancelled, and on those
    # cancelled before it was recorded. The server default lets a process of an older version,
    # still running during an upgrade, keep inserting orders without naming the column.
    cancelled_by: str | None = Field(default=None, max_length=CANCELLED_BY_LENGTH)
    cancel_reason: str = Field(default="", max_length=REASON_LIMIT,
                               sa_column_kwargs={"server_default": ""})


class DisplayTicket(SQLModel, table=True):
    """A kitchen ticket as the kitchen display received it (adapters.kitchen_display).

    Kept apart from the order so the screen shows exactly the ticket document every other
    adapter got (names and prices as ordered); the order row holds the status.
    """

    __tablename__ = "display_ticket"

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True, index=True)  # the order's number
    ticket: str  # orderbot.ticket.v1 JSON
    received_at: datetime = Field(default_factory=utcnow)


class OutboxItem(SQLModel, table=True):
    """Work to deliver after a commit: a WhatsApp message or a kitchen ticket."""

    __tablename__ = "outbox"
    # The dispatcher's walk from one pending lane to the next and to each lane's oldest row
    # (bot.dispatcher._lane_heads): one index seek per lane, however many rows wait.
    __table_args__ = (Index("ix_outbox_state_lane_id", "state", "lane", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # whatsapp | kitchen
    lane: str = Field(max_length=200, index=True)  # rows of one lane go out strictly in order
    key: str = Field(unique=True, max_length=255)  # idempotency key
    payload: str
    state: str = Field(default="pending", index=True, max_length=16)  # pending | sent | dead
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    # A worker claims a row for a while before delivering it, so two workers (or two passes)
    # never send the same row at once; a claim left by a crashed worker simply expires.
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None
    last_error: str | None = None
    result: str | None = None  # e.g. the wamid WhatsApp gave the message
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # The inbound message's correlation id (bot.logs), so a delivery's log lines can be
    # joined to the webhook and processing lines that caused it.
    correlation_id: str | None = Field(default=None, max_length=32)


class StockRow(SQLModel, table=True):
    """Units left of a product (variant "") or of one of its variants (adapters.inventory).

    A product without a row is not counted (unlimited). `seeded` is the catalog number last
    applied, so a catalog edit can tell "the owner wrote a new count" from "unchanged".
    """

    __tablename__ = "stock"

    product: str = Field(primary_key=True, max_length=64)
    variant: str = Field(default="", primary_key=True, max_length=64)
    units: int = Field(default=0)
    seeded: int | None = None  # the catalog's stock last applied; None: set by hand only
    low_alerted: bool = Field(default=False)  # the owner was told; cleared by a restock
    updated_at: datetime = Field(default_factory=utcnow)


class RateBucket(SQLModel, table=True):
    """A sender's rate-limit bucket (bot.rate_limit), shared by every server process.

    No row: a full bucket. Rows untouched for a whole refill are deleted (adapters.rate_buckets).
    """

    __tablename__ = "rate_bucket"

    customer: str = Field(primary_key=True, max_length=160)
    tokens: float
    refreshed_at: float  # epoch seconds: when `tokens` was last brought up to date
    notified: bool = Field(default=False)  # this limited spell's sender was told already


class StockReservation(SQLModel, table=True):
    """Units one order took, so cancelling it gives back exactly those (once)."""

    __tablename__ = "stock_reservation"

    id: int | None = Field(default=None, primary_key=True)
    order_wamid: str = Field(index=True, max_length=255)  # the order's source_wamid
    product: str = Field(max_length=64)
    variant: str = Field(default="", max_length=64)
    quantity: int
    released_at: datetime | None = None


def async_url(url: str) -> str:
    """Map the configured (sync-style) URL onto its async driver: sqlite -> our inline driver
    (adapters.sqlite_driver, also for sqlite+aiosqlite URLs written before it), postgresql ->
    psycopg."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"):
        return parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}").render_as_string(
            hide_password=False)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def make_engine(url: str, *, background_checkpoints: bool = False) -> AsyncEngine:
    """The async engine for `url`. background_checkpoints (the server, which then runs an
    adapters.sqlite_driver.Checkpointer): SQLite's commits leave the WAL to it."""
    engine = create_async_engine(async_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if background_checkpoints:
            event.listen(engine.sync_engine, "connect", _no_inline_checkpoints)
    return engine


def _no_inline_checkpoints(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets readers run during a write; busy_timeout waits instead of failing on a lock.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def create_tables(engine: AsyncEngine, *, migrate: bool = True) -> None:
    """Make the schema current: upgrade to the newest migration (adapters.migrations), adopting
    a database from before migrations. With migrate=False (ORDERBOT_AUTO_MIGRATE=false) only
    check, raising SchemaError when the database is behind."""
    async with engine.begin() as connection:
        await connection.run_sync(migrations.upgrade if migrate else migrations.check)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
