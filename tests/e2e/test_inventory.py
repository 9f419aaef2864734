"""Stock through the real app: counted down by orders, sold out at zero, the last item raced for
by two customers, low-stock alerts to the owner, catalog edits re-synced, the spreadsheet."""

from __future__ import annotations

import asyncio
import csv
import shutil
from pathlib import Path
from typing import Any

import openpyxl
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, func, select

from adapters.db import OrderRow, OutboxItem, StockReservation, StockRow
from adapters.inventory import Inventory
from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from bot.app import CATALOG_KEY, create_app
from bot.cart import CartLine, price_cart
from bot.config import Settings
from bot.inventory import StockKey
from bot.state import APP_STATE
from catalog.catalog import Catalog
from tests.conftest import PHONE_NUMBER_ID, ClientFactory, Kitchen, post_signed, wait_for
from tests.paths import RESTAURANT_CATALOG

Client = TestClient[web.Request, web.Application]

ALEX, SAM, KIM = "15550100001", "15550100002", "15550100003"
OWNER = "15550001111"  # shop.owner_whatsapp of the sample restaurant
# The sample menu counts kunafa: stock 6, low_stock_at 2.


async def settle(bot: Client) -> None:
    state = bot.app[APP_STATE]
    await state.processor.idle()
    await state.dispatcher.wait_quiet(timeout=30)


async def say(bot: Client, phone: str, text: str) -> None:
    body = fake_customer.envelope(fake_customer.text_message(phone, text), phone, "Sam Buyer",
                                  PHONE_NUMBER_ID)
    assert await post_signed(bot, body) == 200


def button_tap(emulated: EmulatorState, phone: str, title: str) -> bytes:
    """The webhook body of tapping `title` on the newest message that offers it."""
    for entry in reversed(emulated.messages_to(phone)):
        interactive = entry["payload"].get("interactive") or {}
        for button in interactive.get("action", {}).get("buttons", []):
            if button["reply"]["title"] == title:
                message = fake_customer.button_reply(phone, button["reply"]["id"], title,
                                                     entry["id"])
                return fake_customer.envelope(message, phone, "Sam Buyer", PHONE_NUMBER_ID)
    raise AssertionError(f"{phone} was offered no '{title}' button")


def seen_by(emulated: EmulatorState, phone: str) -> str:
    """Everything the customer can read, newest last."""
    parts = []
    for entry in emulated.messages_to(phone):
        payload: dict[str, Any] = entry["payload"]
        if payload["type"] == "text":
            parts.append(payload["text"]["body"])
        elif payload["type"] == "interactive":
            parts.append(payload["interactive"]["body"]["text"])
    return "\n".join(parts)


async def up_to_pickup(bot: Client, emulated: EmulatorState, phone: str, text: str) -> None:
    """Order `text` and tap Confirm: the bot now asks pickup or delivery."""
    await say(bot, phone, text)
    await settle(bot)
    assert await post_signed(bot, button_tap(emulated, phone, "Confirm")) == 200
    await settle(bot)
    assert "pick it up" in seen_by(emulated, phone)


async def order(bot: Client, emulated: EmulatorState, phone: str, text: str) -> None:
    await up_to_pickup(bot, emulated, phone, text)
    assert await post_signed(bot, button_tap(emulated, phone, "Pickup")) == 200
    await settle(bot)


async def units(bot: Client, product: str, variant: str = "") -> int | None:
    async with bot.app[APP_STATE].sessions() as session:
        rows = await session.exec(select(StockRow.units).where(
            col(StockRow.product) == product, col(StockRow.variant) == variant))
        return rows.first()


async def set_units(bot: Client, key: StockKey, count: int) -> None:
    """As `orderbot stock set` does it (that command is tested on its own)."""
    state = bot.app[APP_STATE]
    async with state.sessions() as session, session.begin():
        await state.processor.inventory.set_units(session, key, count,
                                                  bot.app[CATALOG_KEY].current)


async def order_count(bot: Client) -> int:
    async with bot.app[APP_STATE].sessions() as session:
        return int((await session.exec(select(func.count()).select_from(OrderRow))).one())


class ReadTogether(Inventory):
    """Makes the worst interleaving certain: the next `parties` reads of the live counts (one
    per confirmation) wait for each other, so both customers decide on "1 left" before either
    reserves. The database alone must then stop the second."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.waiting = parties
        self.seen: list[int | None] = []  # kunafa as each racer read it
        self._barrier = asyncio.Barrier(parties)

    async def counts(self, session: Any, catalog: Catalog) -> dict[str, int]:
        counts = await super().counts(session, catalog)
        if self.waiting:
            self.waiting -= 1
            self.seen.append(counts.get("kunafa"))
            await asyncio.wait_for(self._barrier.wait(), timeout=10)
        return counts


async def race_for_the_last_kunafa(bot: Client, emulated: EmulatorState,
                                   kitchen: Kitchen) -> None:
    """Two customers confirm the last kunafa at the same moment: one gets it, one hears it is
    sold out, the count ends at 0 and the kitchen gets one ticket. (Also run on PostgreSQL.)"""
    await set_units(bot, ("kunafa", ""), 1)
    for phone in (ALEX, SAM):
        await up_to_pickup(bot, emulated, phone, "1 kunafa")
    racing = ReadTogether(parties=2)
    bot.app[APP_STATE].processor.inventory = racing
    taps = [button_tap(emulated, phone, "Pickup") for phone in (ALEX, SAM)]
    assert await asyncio.gather(*(post_signed(bot, body) for body in taps)) == [200, 200]
    await settle(bot)

    assert racing.seen == [1, 1]  # both decided on the last one
    finals = {phone: emulated.messages_to(phone)[-1]["payload"] for phone in (ALEX, SAM)}
    won = [phone for phone, payload in finals.items()
           if "confirmed" in payload.get("text", {}).get("body", "")]
    assert len(won) == 1, finals
    [lost] = [phone for phone in (ALEX, SAM) if phone not in won]
    lost_text = seen_by(emulated, lost).rsplit("pick it up", 1)[1]
    assert "Kunafa is sold out" in lost_text and "confirmed" not in lost_text
    assert await units(bot, "kunafa") == 0
    assert await order_count(bot) == 1
    await wait_for(lambda: len(kitchen.tickets) == 1)
    assert [line["product_id"] for line in kitchen.tickets[0]["lines"]] == ["kunafa"]


def owner_alerts(emulated: EmulatorState) -> list[str]:
    return [m["payload"]["text"]["body"] for m in emulated.messages_to(OWNER)
            if m["payload"]["type"] == "text"]


async def test_orders_count_stock_down_and_the_last_one_sells_it_out(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    await settle(bot)
    assert await units(bot, "kunafa") == 6  # seeded from the catalog at start
    assert await units(bot, "chicken-shawarma") is None  # no stock: in the file: unlimited

    await order(bot, emulated, ALEX, "4 kunafa")
    assert "confirmed" in seen_by(emulated, ALEX)
    assert await units(bot, "kunafa") == 2

    await say(bot, SAM, "3 kunafa")  # more than is left: the bot asks at once
    await settle(bot)
    assert "We only have 2 left of Kunafa" in seen_by(emulated, SAM)
    assert await post_signed(bot, button_tap(emulated, SAM, "Yes, make it 2")) == 200
    await settle(bot)
    assert await post_signed(bot, button_tap(emulated, SAM, "Confirm")) == 200
    await settle(bot)
    assert await post_signed(bot, button_tap(emulated, SAM, "Pickup")) == 200
    await settle(bot)
    assert "confirmed" in seen_by(emulated, SAM)
    assert await units(bot, "kunafa") == 0

    await say(bot, KIM, "a kunafa and a baklava")
    await settle(bot)
    assert "Kunafa is sold out" in seen_by(emulated, KIM)
    await wait_for(lambda: len(kitchen.tickets) == 2)
    assert [line["quantity"] for ticket in kitchen.tickets for line in ticket["lines"]] == [4, 2]


async def test_two_customers_racing_for_the_last_item_on_sqlite(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    await race_for_the_last_kunafa(bot, emulated, kitchen)


async def test_low_stock_alerts_the_owner_once_per_crossing(
    bot: Client, emulated: EmulatorState
) -> None:
    await order(bot, emulated, ALEX, "3 kunafa")  # 6 -> 3: above the alert level of 2
    assert owner_alerts(emulated) == []
    await order(bot, emulated, SAM, "a kunafa")  # 3 -> 2: crosses it
    [alert] = owner_alerts(emulated)
    assert "Low stock: Kunafa has 2 left" in alert and "orderbot stock add kunafa" in alert
    await order(bot, emulated, KIM, "a kunafa")  # 2 -> 1: still low, already told
    assert len(owner_alerts(emulated)) == 1

    await set_units(bot, ("kunafa", ""), 5)  # restocked above the level
    await order(bot, emulated, ALEX, "3 kunafa")  # 5 -> 2: a new crossing
    alerts = owner_alerts(emulated)
    assert len(alerts) == 2 and "Kunafa has 2 left" in alerts[1]
    await order(bot, emulated, SAM, "2 kunafa")  # sold out: told once more, as "sold out"
    alerts = owner_alerts(emulated)
    assert len(alerts) == 2  # 0 is below the level the owner was already told about
    assert await units(bot, "kunafa") == 0


async def test_a_catalog_edit_resyncs_stock_by_the_documented_rule(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, tmp_path: Path
) -> None:
    menu = tmp_path / "menu.yaml"
    shutil.copy(RESTAURANT_CATALOG, menu)
    bot = await aiohttp_client(create_app(settings.model_copy(update={"catalog_path": menu})))
    await order(bot, emulated, ALEX, "2 kunafa")
    assert await units(bot, "kunafa") == 4

    original = menu.read_text()
    assert "    stock: 24\n" in original and "    stock: 6\n" in original
    # Baklava recounted; kunafa's number unchanged, so its sales since the start stand.
    menu.write_text(original.replace("    stock: 24\n", "    stock: 30\n"))
    await _until(lambda: units(bot, "baklava"), 30)
    assert await units(bot, "kunafa") == 4

    # Kunafa recounted in the file: the owner's new number is the count now.
    menu.write_text(menu.read_text().replace("    stock: 6\n", "    stock: 9\n"))
    await _until(lambda: units(bot, "kunafa"), 9)

    # No stock: line any more: unlimited.
    menu.write_text(menu.read_text().replace("    stock: 9\n    low_stock_at: 2\n", ""))
    await _until(lambda: units(bot, "kunafa"), None)


async def _until(read: Any, expected: int | None, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (value := await read()) != expected:
        assert loop.time() < deadline, f"still {value}, expected {expected}"
        await asyncio.sleep(0.05)


async def test_a_cancelled_order_gives_its_stock_back_once(
    bot: Client, emulated: EmulatorState
) -> None:
    await order(bot, emulated, ALEX, "2 kunafa")
    assert await units(bot, "kunafa") == 4
    state = bot.app[APP_STATE]
    async with state.sessions() as session, session.begin():
        placed = (await session.exec(select(OrderRow))).one()
        returned = await state.processor.inventory.release(
            session, placed.source_wamid, bot.app[CATALOG_KEY].current)
    assert returned == [(("kunafa", ""), 2)]
    async with state.sessions() as session, session.begin():
        again = await state.processor.inventory.release(
            session, placed.source_wamid, bot.app[CATALOG_KEY].current)
    assert again == []
    assert await units(bot, "kunafa") == 6


async def test_a_size_counted_on_its_own_is_checked_at_confirmation(
    bot: Client, emulated: EmulatorState
) -> None:
    await set_units(bot, ("pepsi", "large"), 1)
    await up_to_pickup(bot, emulated, ALEX, "2 large pepsi")
    assert await post_signed(bot, button_tap(emulated, ALEX, "Pickup")) == 200
    await settle(bot)
    assert "only have 1 left of Pepsi (Large)" in seen_by(emulated, ALEX)
    assert await order_count(bot) == 0 and await units(bot, "pepsi", "large") == 1

    await say(bot, ALEX, "make it 1")
    await settle(bot)
    assert await post_signed(bot, button_tap(emulated, ALEX, "Confirm")) == 200
    await settle(bot)
    assert await post_signed(bot, button_tap(emulated, ALEX, "Pickup")) == 200
    await settle(bot)
    assert await order_count(bot) == 1 and await units(bot, "pepsi", "large") == 0


async def test_the_spreadsheet_shows_stock_and_the_order_log(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, tmp_path: Path
) -> None:
    sheet = tmp_path / "shop.xlsx"
    bot = await aiohttp_client(create_app(settings.model_copy(update={"stock_sheet": sheet})))
    await settle(bot)
    book = openpyxl.load_workbook(sheet)  # written at start: the seeded counts
    stock = {row[0]: row[3] for row in book["Stock"].iter_rows(min_row=2, values_only=True)}
    assert stock["kunafa"] == 6 and stock["mahalabia"] == 0

    await order(bot, emulated, ALEX, "2 kunafa and a baklava")
    book = openpyxl.load_workbook(sheet)
    stock = {row[0]: row[3] for row in book["Stock"].iter_rows(min_row=2, values_only=True)}
    assert stock["kunafa"] == 4 and stock["baklava"] == 23
    [logged] = list(book["Orders"].iter_rows(min_row=2, values_only=True))
    assert logged[0] == 1001 and logged[3] == ALEX
    assert logged[5] == "2 × Kunafa; 1 × Baklava (4 pcs)"
    assert list(tmp_path.glob(".shop.xlsx.*")) == []  # no temporary file left behind


async def test_a_csv_sheet_and_a_missing_folder_that_appears_later(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, tmp_path: Path
) -> None:
    sheet = tmp_path / "later" / "stock.csv"
    bot = await aiohttp_client(create_app(settings.model_copy(update={
        "stock_sheet": sheet, "retry_base_seconds": 0.05, "outbox_poll_seconds": 0.05})))
    await order(bot, emulated, ALEX, "a kunafa")
    async with bot.app[APP_STATE].sessions() as session:
        waiting = list(await session.exec(select(OutboxItem).where(
            col(OutboxItem.kind) == "sheet", col(OutboxItem.state) == "pending")
            .order_by(col(OutboxItem.id))))
    # The oldest sheet row keeps failing (and retrying); later ones wait behind it in its lane.
    assert waiting and "No such file or directory" in (waiting[0].last_error or "")

    sheet.parent.mkdir()  # e.g. the shared drive is mounted again: the next retry writes it
    await wait_for((sheet.parent / "stock-orders.csv").exists, timeout=15)
    await settle(bot)
    with sheet.open(newline="") as handle:
        stock = {row["Product id"]: row["Units left"] for row in csv.DictReader(handle)}
    assert stock["kunafa"] == "5"
    with (sheet.parent / "stock-orders.csv").open(newline="") as handle:
        [logged] = list(csv.DictReader(handle))
    assert logged["Order"] == "1001" and logged["Items"] == "1 × Kunafa"


async def second_reservation_waits_and_fails(sessions: Any, catalog: Catalog) -> None:
    """The guard itself, step by step: while one order holds the last unit (uncommitted), a
    second reservation waits for it, then finds nothing left and takes nothing."""
    stock = Inventory()
    async with sessions() as session, session.begin():
        await stock.set_units(session, ("kunafa", ""), 1, catalog)
    one = price_cart((CartLine("kunafa", 1),), catalog)

    async def second() -> Any:
        async with sessions() as session, session.begin():
            return await stock.reserve(session, "wamid-second", one, catalog)

    async with sessions() as session, session.begin():
        assert (await stock.reserve(session, "wamid-first", one, catalog)).ok
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.5)
        assert not waiting.done()  # blocked by the first order's write, not a stale read
    lost = await asyncio.wait_for(waiting, timeout=15)
    assert not lost.ok and lost.short == (("kunafa", ""), 0) and lost.live["kunafa"] == 0
    async with sessions() as session:
        left = (await session.exec(select(StockRow.units).where(
            col(StockRow.product) == "kunafa"))).one()
        taken = list(await session.exec(select(StockReservation.order_wamid)))
    assert left == 0 and taken == ["wamid-first"]


async def test_a_second_reservation_waits_for_the_first_and_fails_on_sqlite(
    bot: Client
) -> None:
    await second_reservation_waits_and_fails(bot.app[APP_STATE].sessions,
                                             bot.app[CATALOG_KEY].current)
