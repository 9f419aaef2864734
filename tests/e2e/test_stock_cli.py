"""`orderbot stock list|set|add|release` beside a running server: restocking is seen at once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import openpyxl
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.whatsapp_emulator import EmulatorState
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import ClientFactory, wait_for
from tests.e2e.test_inventory import ALEX, SAM, order, say, seen_by, settle, units

Client = TestClient[web.Request, web.Application]


async def orderbot(settings: Settings, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env["ORDERBOT_DATABASE_URL"] = settings.database_url
    env["ORDERBOT_CATALOG"] = str(settings.catalog_path)
    if settings.stock_sheet is not None:
        env["ORDERBOT_STOCK_SHEET"] = str(settings.stock_sheet)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "stock", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


async def test_list_shows_counts_alert_levels_and_what_is_sold_out(
    bot: Client, settings: Settings
) -> None:
    await settle(bot)
    code, out = await orderbot(settings, "list")
    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows["kunafa"] == ["6", "2"]
    assert rows["mahalabia"] == ["0", "-", "SOLD", "OUT"]
    assert "chicken-shawarma" not in rows  # not counted: unlimited


async def test_restocking_a_sold_out_item_lets_customers_order_it_again(
    bot: Client, settings: Settings, emulated: EmulatorState
) -> None:
    code, out = await orderbot(settings, "set", "kunafa", "0")
    assert code == 0 and "kunafa: 6 -> 0" in out
    await say(bot, ALEX, "a kunafa")
    await settle(bot)
    assert "Kunafa is sold out" in seen_by(emulated, ALEX)

    code, out = await orderbot(settings, "add", "kunafa", "3")
    assert code == 0 and "kunafa: 0 -> 3" in out
    await say(bot, SAM, "a kunafa")
    await settle(bot)
    assert "1 × Kunafa" in seen_by(emulated, SAM)
    assert "sold out" not in seen_by(emulated, SAM)

    code, out = await orderbot(settings, "list")
    assert "kunafa" in out and " 3 " in out


async def test_mistakes_are_named_with_what_to_do(bot: Client, settings: Settings) -> None:
    await settle(bot)
    code, out = await orderbot(settings, "set", "knafa", "5")
    assert code == 1 and "no product 'knafa'" in out and "Did you mean 'kunafa'" in out
    code, out = await orderbot(settings, "add", "pepsi:larg", "5")
    assert code == 1 and "no variant 'larg'" in out and "'large'" in out
    code, out = await orderbot(settings, "add", "pepsi", "5")
    assert code == 1 and "not counted (unlimited)" in out and "orderbot stock set pepsi N" in out
    code, out = await orderbot(settings, "add", "kunafa", "-7")
    assert code == 1 and "only 6 left" in out
    code, out = await orderbot(settings, "set", "kunafa", "-1")
    assert code == 2 and "cannot be negative" in out
    assert await units(bot, "kunafa") == 6  # nothing changed by any of them


async def test_a_size_can_be_counted_by_hand(
    bot: Client, settings: Settings, emulated: EmulatorState
) -> None:
    code, out = await orderbot(settings, "set", "pepsi:large", "4")
    assert code == 0 and "pepsi:large: not counted -> 4" in out
    await order(bot, emulated, ALEX, "a large pepsi")
    assert await units(bot, "pepsi", "large") == 3
    code, out = await orderbot(settings, "list")
    assert "pepsi:large" in out and "set by hand" in out


async def test_release_returns_a_cancelled_orders_units_once(
    bot: Client, settings: Settings, emulated: EmulatorState
) -> None:
    await order(bot, emulated, ALEX, "2 kunafa")
    assert await units(bot, "kunafa") == 4
    code, out = await orderbot(settings, "release", "1001")
    assert code == 0 and "2 × kunafa" in out
    assert await units(bot, "kunafa") == 6
    code, out = await orderbot(settings, "release", "1001")
    assert code == 0 and "holds no stock" in out
    assert await units(bot, "kunafa") == 6
    code, out = await orderbot(settings, "release", "999")
    assert code == 1 and "no order #999" in out


async def test_a_restock_reaches_the_spreadsheet_through_the_running_server(
    aiohttp_client: ClientFactory, settings: Settings, tmp_path: Path
) -> None:
    with_sheet = settings.model_copy(update={"stock_sheet": tmp_path / "shop.xlsx"})
    bot = await aiohttp_client(create_app(with_sheet))
    await settle(bot)
    code, _ = await orderbot(with_sheet, "set", "kunafa", "11")
    assert code == 0
    bot.app[APP_STATE].dispatcher.kick()  # the server's next poll would find the row anyway

    def kunafa_in_sheet() -> object:
        book = openpyxl.load_workbook(tmp_path / "shop.xlsx")
        return {row[0]: row[3] for row in book["Stock"].iter_rows(min_row=2, values_only=True)
                }["kunafa"]

    await wait_for(lambda: kunafa_in_sheet() == 11)
