"""Spreadsheet adapter: an .xlsx (Excel) or .csv file with the current stock and the order log.

For shops that live in a spreadsheet (ORDERBOT_STOCK_SHEET). Driven by the outbox like the
other adapters (kind "sheet", one lane, so rewrites happen in order): a row is queued whenever
an order is placed or a count changes, and delivering it rebuilds the file from the database,
the source of truth. So the file is always complete, a retried delivery writes the same file,
and an owner's stray edit in it is simply overwritten at the next change.

The file is written to a temporary file beside it and renamed over it, so Excel or a script
never reads half a file. One that cannot be written (locked by Excel on Windows, a missing
folder, a full disk) fails the delivery as retryable and the dispatcher tries again later.

.xlsx: sheets "Stock" and "Orders". .csv: the stock in the file, the orders in NAME-orders.csv.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from adapters.db import OrderRow
from adapters.delivery import DeliveryError
from adapters.inventory import Inventory, StockLine
from bot import inventory as rules
from catalog.catalog import Catalog

Cell = str | int | Decimal | datetime | None
Table = list[list[Cell]]

STOCK_HEADER: list[Cell] = ["Product id", "Variant", "Name", "Units left", "Alert at", "Status"]
ORDER_HEADER: list[Cell] = ["Order", "Time", "Customer", "WhatsApp", "Fulfilment", "Items",
                            "Total", "Currency", "Status"]


def stock_table(lines: Sequence[StockLine], catalog: Catalog) -> Table:
    rows: Table = [list(STOCK_HEADER)]
    for line in lines:
        product = catalog.product(line.key[0])
        low = product.low_stock_at if product is not None else None
        status = ("sold out" if line.units <= 0
                  else "low" if line.units <= rules.threshold(low) else "ok")
        rows.append([line.key[0], line.key[1], rules.item_name(catalog, line.key), line.units,
                     low, status])
    return rows


def order_table(orders: Sequence[OrderRow], catalog: Catalog) -> Table:
    zone = ZoneInfo(catalog.shop.timezone)
    rows: Table = [list(ORDER_HEADER)]
    for order in orders:
        # Excel has no time zones: the shop's local time, as the owner reads a clock.
        local = order.created_at.astimezone(zone).replace(tzinfo=None, microsecond=0)
        rows.append([order.number, local, order.customer_name, order.customer,
                     order.fulfillment, _items(order.lines, catalog), Decimal(order.total),
                     order.currency, order.status])
    return rows


def _items(lines_json: str, catalog: Catalog) -> str:
    """'2 × Chicken Shawarma (Large); 1 × Pepsi' (ids when the catalog no longer has them)."""
    parts = []
    for line in json.loads(lines_json):
        name = rules.item_name(catalog, (str(line["product"]), str(line.get("variant") or "")))
        parts.append(f"{line['quantity']} × {name}")
    return "; ".join(parts)


class StockSheet:
    """The outbox sender for kind "sheet"."""

    def __init__(self, path: Path, sessions: async_sessionmaker[AsyncSession],
                 catalog: Callable[[], Catalog]) -> None:
        self.path = path
        self._sessions = sessions
        self._catalog = catalog

    async def send(self, _payload: dict[str, Any], _key: str) -> str:
        catalog = self._catalog()
        async with self._sessions() as session:
            lines = await Inventory().lines(session)
            orders = list(await session.exec(select(OrderRow).order_by(col(OrderRow.id))))
        stock, log = stock_table(lines, catalog), order_table(orders, catalog)
        try:
            await asyncio.to_thread(self.write, stock, log)
        except OSError as error:  # locked, missing folder, disk full: worth another try
            raise DeliveryError(f"cannot write {self.path}: {error.strerror or error}",
                                retryable=True) from error
        return f"{len(lines)} stock rows, {len(orders)} orders"

    def write(self, stock: Table, orders: Table) -> None:
        if self.path.suffix.lower() == ".xlsx":
            _replace(self.path, lambda target: _write_xlsx(target, stock, orders))
        else:
            _replace(self.path, lambda target: _write_csv(target, stock))
            log_path = self.path.with_name(f"{self.path.stem}-orders.csv")
            _replace(log_path, lambda target: _write_csv(target, orders))


def _write_xlsx(target: Path, stock: Table, orders: Table) -> None:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, table in (("Stock", stock), ("Orders", orders)):
        sheet = book.create_sheet(title)
        for row in table:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    book.save(target)


def _write_csv(target: Path, table: Table) -> None:
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in table:
            writer.writerow(["" if cell is None else
                             cell.isoformat(sep=" ") if isinstance(cell, datetime) else cell
                             for cell in row])


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file in the same folder, then rename it over `path` (atomic)."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
