"""`orderbot stock list|set|add|release`: stock counts, changed beside a running server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.cli_database import run_catalog_command
from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from catalog.catalog import Catalog


def stock_command(work: Callable[[Catalog, AsyncSession], Awaitable[int]], *,
                   writes: bool) -> int:
    """Run one stock command in one transaction, beside a running server (the database is the
    only thing shared). The counts first follow the catalog, as the server's would."""
    from adapters.inventory import Inventory
    from catalog.loader import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings.catalog_path)
    inventory = Inventory(sheet=writes and settings.stock_sheet is not None)

    async def run(sessions: async_sessionmaker[AsyncSession]) -> int:
        await inventory.sync(sessions, catalog)
        async with sessions() as session, session.begin():
            return await work(catalog, session)

    return run_catalog_command(run)


def stock_list(_args: argparse.Namespace) -> int:
    from adapters.inventory import Inventory
    from bot import inventory as rules

    async def work(catalog: Catalog, session: AsyncSession) -> int:
        lines = await Inventory().lines(session)
        if not lines:
            print("Nothing is counted: no product has `stock:` in the catalog, and none was set "
                  "with `orderbot stock set`. Everything can be ordered.")
            return 0
        print(f"{'ITEM':<32} {'LEFT':>6} {'ALERT AT':>8}  NOTE")
        for line in lines:
            product = catalog.product(line.key[0])
            low = product.low_stock_at if product is not None else None
            notes = ["SOLD OUT" if line.units <= 0
                     else "low" if line.units <= rules.threshold(low) else ""]
            if product is None:
                notes.append("not in the catalog")
            if line.seeded is None:
                notes.append("set by hand")
            print(f"{rules.key_text(line.key):<32} {line.units:>6} "
                  f"{'-' if low is None else low:>8}  {', '.join(n for n in notes if n)}")
        return 0

    return stock_command(work, writes=False)


def stock_change(args: argparse.Namespace) -> int:
    from adapters.inventory import Inventory
    from bot import inventory as rules

    setting = args.stock_command == "set"
    if setting and args.units < 0:
        print("orderbot: a count cannot be negative", file=sys.stderr)
        return 2
    settings = load_settings()
    inventory = Inventory(sheet=settings.stock_sheet is not None)

    async def work(catalog: Catalog, session: AsyncSession) -> int:
        try:
            key = rules.parse_key(args.item, catalog)
        except rules.StockKeyError as error:
            print(f"orderbot: {error}", file=sys.stderr)
            return 1
        item = rules.key_text(key)
        if setting:
            before = await inventory.set_units(session, key, args.units, catalog)
            was = "not counted" if before is None else str(before)
            print(f"{item}: {was} -> {args.units} (a running server uses it at once)")
            return 0
        after = await inventory.add_units(session, key, args.units, catalog)
        if after is not None:
            print(f"{item}: {after - args.units} -> {after} (a running server uses it at once)")
            return 0
        lines = {line.key: line.units for line in await inventory.lines(session)}
        if key not in lines:
            print(f"orderbot: {item} is not counted (unlimited); start counting it with "
                  f"`orderbot stock set {item} N`", file=sys.stderr)
        else:
            print(f"orderbot: {item} has only {lines[key]} left; cannot take away "
                  f"{-args.units}", file=sys.stderr)
        return 1

    return stock_command(work, writes=True)


def stock_release(args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from adapters.db import OrderRow
    from adapters.inventory import Inventory
    from bot import inventory as rules

    settings = load_settings()
    inventory = Inventory(sheet=settings.stock_sheet is not None)

    async def work(catalog: Catalog, session: AsyncSession) -> int:
        order = (await session.exec(select(OrderRow).where(col(OrderRow.number) == args.order))
                 ).first()
        if order is None:
            print(f"orderbot: there is no order #{args.order}", file=sys.stderr)
            return 1
        returned = await inventory.release(session, order.source_wamid, catalog)
        if not returned:
            print(f"Order #{args.order} holds no stock (nothing counted, or already returned).")
            return 0
        print(f"Returned to stock from order #{args.order}: " + ", ".join(
            f"{units} × {rules.key_text(key)}" for key, units in returned))
        return 0

    return stock_command(work, writes=True)
