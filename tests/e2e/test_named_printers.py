"""Two named printers (ORDERBOT_PRINTERS), kitchen and bar, behind the real server.

The owner's whole configuration is the printers and the routes: no ORDERBOT_ADAPTERS, no
kitchen webhook. Each printer is a real TCP server (tests.tcp_printer).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from adapters.db import OutboxItem
from adapters.whatsapp_emulator import EmulatorState
from bot import outbox_admin
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import BOTH_DATABASES, ClientFactory, wait_for
from tests.e2e.test_multi_adapter import place
from tests.tcp_printer import RecordingPrinter

pytestmark = BOTH_DATABASES

Client = TestClient[web.Request, web.Application]
OWNER = "15550001111"  # shop.owner_whatsapp of the sample restaurant
ROUTES = "Drinks = printer:bar; * = printer:kitchen"


@pytest.fixture
async def kitchen_printer() -> AsyncIterator[RecordingPrinter]:
    running = await RecordingPrinter().start()
    yield running
    await running.stop()


@pytest.fixture
async def bar_printer() -> AsyncIterator[RecordingPrinter]:
    off = RecordingPrinter.switched_off()  # off when the shop opens
    yield off
    await off.stop()


def two_printers(settings: Settings, kitchen: RecordingPrinter, bar: RecordingPrinter,
                 retry_max_seconds: float) -> Settings:
    return Settings(**{
        **settings.model_dump(),
        "app_secret": settings.secret("app_secret"),
        "verify_token": settings.secret("verify_token"),
        "access_token": settings.secret("access_token"),
        "kitchen_webhook_url": None, "kitchen_webhook_secret": None,
        # As an owner writes it: the bar printer is a 58 mm one (32 columns).
        "printers": f"kitchen = 127.0.0.1:{kitchen.port}; bar = 127.0.0.1:{bar.port}/32",
        "routes": ROUTES,
        "retry_base_seconds": 0.05, "retry_max_seconds": retry_max_seconds,
        "outbox_poll_seconds": 0.05,
    })


async def ticket_rows(bot: Client) -> list[OutboxItem]:
    async with bot.app[APP_STATE].sessions() as session:
        return list(await session.exec(select(OutboxItem).where(
            col(OutboxItem.kind) != "whatsapp").order_by(col(OutboxItem.id))))


async def until_bar_failed(bot: Client, times: int = 1) -> list[OutboxItem]:
    async with asyncio.timeout(10):
        while True:
            bar = [row for row in await ticket_rows(bot) if row.kind == "printer:bar"]
            if bar and bar[0].attempts >= times:
                return bar
            await asyncio.sleep(0.02)


def owner_texts(emulated: EmulatorState) -> list[str]:
    return [str(m["payload"]["text"]["body"]) for m in emulated.messages_to(OWNER)]


async def test_drinks_print_at_the_bar_food_in_the_kitchen_and_a_bar_that_is_off_waits_alone(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
    kitchen_printer: RecordingPrinter, bar_printer: RecordingPrinter,
) -> None:
    bot = await aiohttp_client(create_app(
        two_printers(settings, kitchen_printer, bar_printer, retry_max_seconds=1.0)))
    await place(bot, emulated, "2 chicken shawarma and a large pepsi", "#1001")
    await place(bot, emulated, "1 falafel wrap and 2 large pepsi", "#1002")

    # The bar printer is off: the kitchen prints both orders' food at once, without drinks.
    await wait_for(lambda: len(kitchen_printer.jobs) == 2)
    kitchen = kitchen_printer.texts()
    assert "ORDER #1001" in kitchen[0] and "ORDER #1002" in kitchen[1]
    assert "2 x Chicken Shawarma" in kitchen[0] and "1 x Falafel Wrap" in kitchen[1]
    assert not any("Pepsi" in text for text in kitchen)
    assert all("PART: 1 OF 2 LINES" in text for text in kitchen)
    assert kitchen[0].splitlines()[0] == "=" * 42  # ORDERBOT_PRINTER_WIDTH's default
    assert bar_printer.jobs == []

    # What `orderbot outbox list` shows the owner meanwhile: the bar's tickets wait.
    first_bar, second_bar = await until_bar_failed(bot)
    assert (first_bar.state, second_bar.state, second_bar.attempts) == ("pending", "pending", 0)
    listed = [outbox_admin.describe(row) for row in await outbox_admin.list_rows(
        bot.app[APP_STATE].sessions, "pending", 50)]
    assert any(" printer:bar " in line and f"127.0.0.1:{bar_printer.port} unreachable" in line
               for line in listed)

    await bar_printer.start()  # switched on: the drinks print, oldest first, once each
    await wait_for(lambda: len(bar_printer.jobs) == 2, timeout=15)
    await bot.app[APP_STATE].dispatcher.wait_quiet(timeout=15)
    bar = bar_printer.texts()
    assert len(bar_printer.jobs) == 2 and len(kitchen_printer.jobs) == 2
    assert "ORDER #1001" in bar[0] and "1 x Pepsi (Large)" in bar[0]
    assert "ORDER #1002" in bar[1] and "2 x Pepsi (Large)" in bar[1]
    assert not any("Shawarma" in text or "Falafel" in text for text in bar)
    assert all("PART: 1 OF 2 LINES" in text for text in bar)
    assert max(len(line) for text in bar for line in text.splitlines()) <= 32  # its own width

    assert sorted((row.kind, row.lane, row.key, row.state) for row in await ticket_rows(bot)) == [
        ("printer:bar", "printer:bar", "order-1001:printer:bar", "sent"),
        ("printer:bar", "printer:bar", "order-1002:printer:bar", "sent"),
        ("printer:kitchen", "printer:kitchen", "order-1001:printer:kitchen", "sent"),
        ("printer:kitchen", "printer:kitchen", "order-1002:printer:kitchen", "sent")]


async def test_a_bar_printer_off_for_good_is_a_dead_letter_the_owner_can_print_later(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
    kitchen_printer: RecordingPrinter, bar_printer: RecordingPrinter,
) -> None:
    # Short backoff: the production number of attempts is used up in about a second.
    bot = await aiohttp_client(create_app(
        two_printers(settings, kitchen_printer, bar_printer, retry_max_seconds=0.1)))
    await place(bot, emulated, "2 chicken shawarma and a large pepsi", "#1001")

    await wait_for(lambda: bool(owner_texts(emulated)), timeout=15)
    [alert] = owner_texts(emulated)
    [dead] = [row for row in await ticket_rows(bot) if row.state == "dead"]
    assert dead.kind == "printer:bar"
    assert alert.startswith("⚠️ Order #1001 could not be sent to the printer:bar adapter")
    assert f"127.0.0.1:{bar_printer.port} unreachable" in alert
    assert f"`orderbot outbox retry {dead.id}`" in alert
    assert len(kitchen_printer.jobs) == 1 and bar_printer.jobs == []  # the food was made

    await bar_printer.start()  # the owner switches it on and retries, as the alert says
    assert dead.id is not None
    assert await outbox_admin.retry(bot.app[APP_STATE].sessions, [dead.id]) == ([dead.id], [])
    bot.app[APP_STATE].dispatcher.kick()
    await wait_for(lambda: len(bar_printer.jobs) == 1)
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    [text] = bar_printer.texts()
    assert "ORDER #1001" in text and "1 x Pepsi (Large)" in text and "Shawarma" not in text
    assert len(kitchen_printer.jobs) == 1 and len(owner_texts(emulated)) == 1
