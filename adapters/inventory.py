"""The stock table: seeded from the catalog, read for the conversation, reserved atomically.

The rules (which side wins on a catalog edit, when the owner is alerted) are bot.inventory;
this module applies them to the database. Every change is a conditional UPDATE checked by its
row count, so two customers racing for the last item cannot both get it, on SQLite (one writer
at a time; the loser's UPDATE runs after the winner's commit) and on PostgreSQL (the loser waits
for the row lock, then finds the condition false).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import OutboxItem, StockReservation, StockRow, utcnow
from bot import inventory as rules
from bot.inventory import StockKey
from catalog.catalog import Catalog

if TYPE_CHECKING:  # the cart module pulls in the parser: too slow for `orderbot stock`
    from bot.cart import PricedCart

SHEET_LANE = "sheet"
# With nothing counted, how long an empty stock table is trusted before it is read again: a
# count set by hand in another process (`orderbot stock set`) shows within this.
EMPTY_RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Reservation:
    """The outcome of taking an order's units off the shelf."""

    ok: bool
    alerts: tuple[str, ...] = ()  # owner messages for counts that crossed their threshold
    short: tuple[StockKey, int] | None = None  # the first key that ran short, and what is left
    live: dict[str, int] = field(default_factory=dict)  # fresh counts, when it failed


@dataclass(frozen=True)
class StockLine:
    """One row for `orderbot stock list` and the spreadsheet."""

    key: StockKey
    units: int
    seeded: int | None
    low_alerted: bool


_STOCK = StockRow.__table__  # type: ignore[attr-defined]
_COUNTS = select(_STOCK.c.product, _STOCK.c.variant, _STOCK.c.units)  # built once: every message


class Inventory:
    """Stock queries, each run inside the caller's session (and so its transaction).

    `sheet`: also queue a spreadsheet refresh (outbox kind "sheet") whenever counts change.
    """

    def __init__(self, *, sheet: bool = False) -> None:
        self.sheet = sheet
        self._found_empty_at: float | None = None  # time.monotonic() of the last empty read

    async def counts(self, session: AsyncSession, catalog: Catalog) -> dict[str, int]:
        """product id -> units left, for Context.stock. One small query: only counted
        products have rows (a few hundred at most in a large shop).

        No query at all when the catalog counts nothing and the table was empty a moment ago
        (most shops count nothing): the reservation at confirmation reads the table anyway.
        """
        if (self._found_empty_at is not None
                and time.monotonic() - self._found_empty_at < EMPTY_RECHECK_SECONDS
                and not any(product.stock is not None for product in catalog.products)):
            return {}
        # On the session's connection: no ORM flush (it would take SQLite's write lock for the
        # whole decision; the reservation is what must be exclusive), no ORM overhead.
        connection = await session.connection()
        rows = [tuple(row) for row in await connection.execute(_COUNTS)]
        self._found_empty_at = None if rows else time.monotonic()
        return rules.live_counts(rows, catalog)

    async def reserve(self, session: AsyncSession, order_ref: str, priced: PricedCart,
                      catalog: Catalog) -> Reservation:
        """Take the order's units in the caller's transaction, or nothing at all.

        `order_ref` is the order's source_wamid (known before the order row exists).
        """
        want = rules.demand((p.line.product, p.line.variant, p.line.quantity)
                            for p in priced.lines)
        counted = {(product, variant) for product, variant in await session.exec(
            select(StockRow.product, StockRow.variant)
            .where(col(StockRow.product).in_({product for product, _ in want})))}
        # A fixed order, so two orders never each hold a row the other waits for (PostgreSQL).
        keys = sorted(key for key in want if key in counted)
        taken: list[StockKey] = []
        for key in keys:
            result = await session.exec(
                update(StockRow)
                .where(*_is(key), col(StockRow.units) >= want[key])
                .values(units=col(StockRow.units) - want[key], updated_at=utcnow()))
            if result.rowcount != 1:
                for done in taken:  # give back what this order took so far (same transaction)
                    await _change(session, done, want[done])
                live = await self.counts(session, catalog)
                left = await _units(session, key)
                return Reservation(False, short=(key, left or 0), live=live)
            taken.append(key)
        alerts: list[str] = []
        for key in taken:
            session.add(StockReservation(order_wamid=order_ref, product=key[0], variant=key[1],
                                         quantity=want[key]))
            units, flagged = await _units_and_flag(session, key)
            low = rules.after_sale(units, _low_at(catalog, key), flagged)
            if low.flagged != flagged:
                await _set_flag(session, key, low.flagged)
            if low.alert:
                alerts.append(rules.low_stock_alert(catalog, key, units))
        self.queue_sheet(session, f"order:{order_ref}")
        return Reservation(True, alerts=tuple(alerts))

    async def release(self, session: AsyncSession, order_ref: str,
                      catalog: Catalog) -> list[tuple[StockKey, int]]:
        """Give back what an order took (a cancelled order); each reservation only once, so
        calling it twice, or from two places at once, returns the units once."""
        rows = list(await session.exec(
            select(StockReservation).where(col(StockReservation.order_wamid) == order_ref,
                                           col(StockReservation.released_at).is_(None))))
        returned: list[tuple[StockKey, int]] = []
        for row in rows:
            claimed = await session.exec(
                update(StockReservation)
                .where(col(StockReservation.id) == row.id,
                       col(StockReservation.released_at).is_(None))
                .values(released_at=utcnow()))
            if claimed.rowcount != 1:
                continue  # released meanwhile by someone else
            key = (row.product, row.variant)
            units = await _change(session, key, row.quantity)
            if units is not None:  # None: no longer counted, nothing to give back to
                await _set_flag(session, key, rules.after_restock(units, _low_at(catalog, key)))
                returned.append((key, row.quantity))
        if returned:
            self.queue_sheet(session, f"release:{order_ref}")
        return returned

    async def set_units(self, session: AsyncSession, key: StockKey, units: int,
                        catalog: Catalog) -> int | None:
        """Set a count by hand (a restock); returns the count before (None: not counted)."""
        self._found_empty_at = None
        before = await _units(session, key)
        flag = rules.after_restock(units, _low_at(catalog, key))
        result = await session.exec(
            update(StockRow).where(*_is(key))
            .values(units=units, low_alerted=flag, updated_at=utcnow()))
        if result.rowcount != 1:
            await session.exec(_insert_ignoring_duplicates(session).values(
                product=key[0], variant=key[1], units=units, low_alerted=flag,
                updated_at=utcnow()))
        self.queue_sheet(session, "set")
        return before

    async def add_units(self, session: AsyncSession, key: StockKey, delta: int,
                        catalog: Catalog) -> int | None:
        """Add (or, negative, take away) units; None when the key is not counted or the count
        would go below 0 (nothing changes then)."""
        result = await session.exec(
            update(StockRow).where(*_is(key), col(StockRow.units) + delta >= 0)
            .values(units=col(StockRow.units) + delta, updated_at=utcnow()))
        if result.rowcount != 1:
            return None
        units = await _units(session, key)
        assert units is not None
        await _set_flag(session, key, rules.after_restock(units, _low_at(catalog, key)))
        self.queue_sheet(session, "add")
        return units

    async def lines(self, session: AsyncSession) -> list[StockLine]:
        rows = await session.exec(select(StockRow).order_by(col(StockRow.product),
                                                            col(StockRow.variant)))
        return [StockLine((row.product, row.variant), row.units, row.seeded, row.low_alerted)
                for row in rows]

    async def sync(self, sessions: async_sessionmaker[AsyncSession],
                   catalog: Catalog) -> list[rules.SyncStep]:
        """Make the table follow the catalog's `stock:` numbers (rule: bot.inventory)."""
        self._found_empty_at = None
        async with sessions() as session, session.begin():
            rows = {(row.product, row.variant): rules.Counted(row.units, row.seeded)
                    for row in await session.exec(select(StockRow))}
            plan = rules.sync_plan({p.id: p.stock for p in catalog.products}, rows)
            # In key order, like reservations, so the two never wait on each other in a cycle.
            for step in sorted(plan, key=lambda step: step.key):
                flag = rules.after_restock(step.units, _low_at(catalog, step.key))
                if step.kind == "delete":
                    await session.exec(delete(StockRow).where(*_is(step.key)))
                elif step.kind == "reset":
                    await session.exec(
                        # Another process may have applied this same edit already (and sold
                        # since): only a row still seeded from the old number is reset.
                        update(StockRow).where(
                            *_is(step.key), col(StockRow.seeded).is_distinct_from(step.units))
                        .values(units=step.units, seeded=step.units, low_alerted=flag,
                                updated_at=utcnow()))
                else:  # another process may seed at the same moment: the first insert wins
                    await session.exec(_insert_ignoring_duplicates(session).values(
                        product=step.key[0], variant=step.key[1], units=step.units,
                        seeded=step.units, low_alerted=flag, updated_at=utcnow()))
            if plan:
                self.queue_sheet(session, "catalog")
            return plan

    def queue_sheet(self, session: AsyncSession, reason: str) -> None:
        """Ask the spreadsheet adapter to rewrite the file (it reads the live tables then)."""
        if self.sheet:
            session.add(OutboxItem(kind="sheet", lane=SHEET_LANE,
                                   key=f"sheet:{reason}:{uuid.uuid4().hex[:12]}",
                                   payload=json.dumps({"reason": reason})))


def _is(key: StockKey) -> tuple[Any, Any]:
    return col(StockRow.product) == key[0], col(StockRow.variant) == key[1]


def _low_at(catalog: Catalog, key: StockKey) -> int | None:
    product = catalog.product(key[0])
    return product.low_stock_at if product is not None else None


async def _units(session: AsyncSession, key: StockKey) -> int | None:
    rows = await session.exec(select(StockRow.units).where(*_is(key)))
    return rows.first()


async def _units_and_flag(session: AsyncSession, key: StockKey) -> tuple[int, bool]:
    rows = await session.exec(select(StockRow.units, StockRow.low_alerted).where(*_is(key)))
    units, flagged = rows.one()
    return units, flagged


async def _change(session: AsyncSession, key: StockKey, delta: int) -> int | None:
    """Add units to a counted key; its new count, or None when it has no row."""
    result = await session.exec(update(StockRow).where(*_is(key))
                                .values(units=col(StockRow.units) + delta, updated_at=utcnow()))
    return await _units(session, key) if result.rowcount == 1 else None


async def _set_flag(session: AsyncSession, key: StockKey, flagged: bool) -> None:
    await session.exec(update(StockRow).where(*_is(key)).values(low_alerted=flagged))


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(StockRow).on_conflict_do_nothing()
    return sqlite.insert(StockRow).on_conflict_do_nothing()
