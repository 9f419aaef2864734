"""Cancelling a confirmed order from the kitchen side: the signed status callback, the kitchen
display and `orderbot order cancel` beside a running server.

Each way takes the same path: the order becomes "cancelled", its stock goes back once, the
customer gets one WhatsApp message (with the reason, if one was given), and a second cancel
changes nothing. Orders are placed through the real signed webhook; what the customer reads is
checked at the WhatsApp emulator. The sample menu counts kunafa: 6 at the start.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlmodel import col, func, select

from adapters.db import OrderRow, OutboxItem
from adapters.inventory import Inventory
from adapters.whatsapp_emulator import EmulatorState
from bot.api import OrderStatusService
from bot.app import CATALOG_KEY, create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.security import sign
from bot.state import APP_STATE
from tests.conftest import BOTH_DATABASES, KITCHEN_SECRET, ClientFactory
from tests.e2e.test_inventory import ALEX, KIM, SAM, order, settle, units
from tests.e2e.test_kitchen_display import BEARER, TOKEN, next_event
from tests.e2e.test_observability import scrape

Client = TestClient[web.Request, web.Application]
CANCELLED_TEXT = "had to cancel your order"


@pytest.fixture
def display_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"kitchen_display_token": SecretStr(TOKEN)})


@pytest.fixture
async def kbot(aiohttp_client: ClientFactory, display_settings: Settings) -> Client:
    return await aiohttp_client(create_app(display_settings))


async def callback(client: Client, number: int, data: dict[str, object]) -> ClientResponse:
    body = json.dumps(data).encode()
    return await client.post(f"/api/orders/{number}/status", data=body, headers={
        "Content-Type": "application/json", "X-Orderbot-Signature": sign(body, KITCHEN_SECRET)})


def told(emulated: EmulatorState, phone: str) -> list[str]:
    """The cancellation messages this customer received (text bodies)."""
    return [entry["payload"]["text"]["body"] for entry in emulated.messages_to(phone)
            if entry["payload"]["type"] == "text"
            and CANCELLED_TEXT in entry["payload"]["text"]["body"]]


async def status_of(bot: Client, number: int) -> str:
    async with bot.app[APP_STATE].sessions() as session:
        return (await session.exec(select(OrderRow.status).where(
            col(OrderRow.number) == number))).one()


async def cancel_record(bot: Client, number: int) -> tuple[str | None, str]:
    """Who cancelled the order and the reason stored with it, as the owner report reads them."""
    async with bot.app[APP_STATE].sessions() as session:
        row = (await session.exec(select(OrderRow).where(col(OrderRow.number) == number))).one()
        return row.cancelled_by, row.cancel_reason


# --- the signed status callback ---

async def test_a_kitchen_system_cancels_an_order_stock_comes_back_and_the_customer_is_told_once(
    bot: Client, emulated: EmulatorState
) -> None:
    await order(bot, emulated, ALEX, "2 kunafa")
    assert await units(bot, "kunafa") == 4

    answer = await callback(bot, 1001, {"status": "cancelled",
                                        "reason": "  the oven broke down\n "})
    assert answer.status == 200
    assert await answer.json() == {
        "number": 1001, "status": "cancelled", "previous": "new", "changed": True,
        "customer_told": "session", "stock_returned": [{"item": "kunafa", "units": 2}]}
    assert await units(bot, "kunafa") == 6
    await settle(bot)
    [message] = told(emulated, ALEX)
    assert "Sorry Sam, Sahara Grill had to cancel your order #1001." in message
    assert "Reason: the oven broke down\n" in message  # trimmed, on its own line
    assert await cancel_record(bot, 1001) == ("system", "the oven broke down")

    again = await callback(bot, 1001, {"status": "cancelled", "reason": "second try"})
    assert again.status == 200
    assert await again.json() == {
        "number": 1001, "status": "cancelled", "previous": "cancelled", "changed": False,
        "customer_told": None, "stock_returned": []}
    await settle(bot)
    assert await units(bot, "kunafa") == 6  # not given back twice
    assert len(told(emulated, ALEX)) == 1
    assert await cancel_record(bot, 1001) == ("system", "the oven broke down")  # the first

    reopen = await callback(bot, 1001, {"status": "new"})
    assert reopen.status == 409 and "cannot be reopened" in (await reopen.json())["error"]
    assert await status_of(bot, 1001) == "cancelled"


async def test_an_order_that_is_ready_cannot_be_cancelled(
    bot: Client, emulated: EmulatorState
) -> None:
    await order(bot, emulated, ALEX, "a kunafa")
    assert (await callback(bot, 1001, {"status": "ready"})).status == 200
    refused = await callback(bot, 1001, {"status": "cancelled", "reason": "too late"})
    assert refused.status == 409
    assert "the food is made" in (await refused.json())["error"]
    await settle(bot)
    assert await units(bot, "kunafa") == 5 and await status_of(bot, 1001) == "ready"
    assert told(emulated, ALEX) == []
    assert await cancel_record(bot, 1001) == (None, "")  # a refused cancel records nothing


async def test_a_bad_reason_is_refused_before_anything_changes(
    bot: Client, emulated: EmulatorState
) -> None:
    await order(bot, emulated, ALEX, "a kunafa")
    wrong_type = await callback(bot, 1001, {"status": "cancelled", "reason": 42})
    assert wrong_type.status == 400
    too_long = await callback(bot, 1001, {"status": "cancelled", "reason": "x" * 301})
    assert too_long.status == 400 and "300" in (await too_long.json())["error"]
    await settle(bot)
    assert await status_of(bot, 1001) == "new" and await units(bot, "kunafa") == 5
    assert told(emulated, ALEX) == []


async def test_a_cancellation_that_fails_leaves_stock_order_and_customer_untouched(
    bot: Client, emulated: EmulatorState
) -> None:
    """Release, status and message are one transaction: a failure after the stock was given
    back (here: the message cannot be written) takes the stock back too."""
    await order(bot, emulated, ALEX, "2 kunafa")
    state = bot.app[APP_STATE]

    def broken_shop_name() -> str:
        raise RuntimeError("catalog unreadable")

    service = OrderStatusService(
        state.sessions, shop_name=broken_shop_name, clock=state.clock, template=None,
        on_outbox=lambda: None, inventory=Inventory(),
        catalog=lambda: bot.app[CATALOG_KEY].current)
    with pytest.raises(RuntimeError):
        await service.change(1001, "cancelled", "the oven broke", by="operator")
    assert await status_of(bot, 1001) == "new"
    assert await cancel_record(bot, 1001) == (None, "")
    assert await units(bot, "kunafa") == 4
    async with state.sessions() as session:
        queued = (await session.exec(select(func.count()).select_from(OutboxItem).where(
            col(OutboxItem.key).startswith("status:1001:")))).one()
    assert queued == 0

    # The real service still cancels it afterwards, with everything given back once.
    assert (await callback(bot, 1001, {"status": "cancelled"})).status == 200
    assert await units(bot, "kunafa") == 6


async def test_outside_the_24_hour_window_the_cancel_is_sent_as_the_template(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    clock = ManualClock(datetime.now(UTC))
    bot = await aiohttp_client(create_app(
        settings.model_copy(update={"reminder_template": "order_update"}), clock))
    await order(bot, emulated, ALEX, "a kunafa")
    clock.advance(timedelta(hours=25))  # a pre-order from yesterday, cancelled this morning
    answer = await (await callback(bot, 1001, {"status": "cancelled"})).json()
    assert answer["customer_told"] == "template"
    await settle(bot)
    last = emulated.messages_to(ALEX)[-1]["payload"]
    assert last["type"] == "template" and last["template"]["name"] == "order_update"
    assert told(emulated, ALEX) == []
    assert await units(bot, "kunafa") == 6  # the stock comes back whether or not they hear


async def test_the_spreadsheet_shows_the_cancellation_even_without_counted_stock(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, tmp_path: Path
) -> None:
    sheet = tmp_path / "shop.xlsx"
    bot = await aiohttp_client(create_app(settings.model_copy(update={"stock_sheet": sheet})))
    await order(bot, emulated, ALEX, "2 kunafa")
    await order(bot, emulated, SAM, "a falafel wrap")  # falafel is not counted

    def orders_sheet() -> dict[object, tuple[object, ...]]:
        book = openpyxl.load_workbook(sheet)
        return {row[0]: row for row in book["Orders"].iter_rows(min_row=2, values_only=True)}

    def stock_sheet() -> dict[object, object]:
        book = openpyxl.load_workbook(sheet)
        return {row[0]: row[3] for row in book["Stock"].iter_rows(min_row=2, values_only=True)}

    assert orders_sheet()[1001][8] == "new" and stock_sheet()["kunafa"] == 4
    assert (await callback(bot, 1002, {"status": "cancelled"})).status == 200
    await settle(bot)
    assert orders_sheet()[1002][8] == "cancelled"
    assert (await callback(bot, 1001, {"status": "cancelled"})).status == 200
    await settle(bot)
    assert orders_sheet()[1001][8] == "cancelled" and stock_sheet()["kunafa"] == 6


# --- the kitchen display ---

async def test_the_display_cancels_a_ticket_and_lists_it_as_finished(
    kbot: Client, emulated: EmulatorState
) -> None:
    await order(kbot, emulated, ALEX, "a kunafa")
    stream = await kbot.get("/kitchen/events", headers=BEARER)
    try:
        name, snapshot = await next_event(stream)
        assert [(t["number"], t["status"]) for t in snapshot["tickets"]] == [(1001, "new")]
        assert (await kbot.post("/kitchen/orders/1001/status", json={"status": "preparing"},
                                headers=BEARER)).status == 200
        assert (await next_event(stream))[1]["status"] == "preparing"

        cancelled = await kbot.post("/kitchen/orders/1001/status",
                                    json={"status": "cancelled"}, headers=BEARER)
        assert cancelled.status == 200
        assert (await cancelled.json())["stock_returned"] == [{"item": "kunafa", "units": 1}]
        name, view = await next_event(stream)  # every open screen hears of it at once
        assert (name, view["number"], view["status"]) == ("ticket", 1001, "cancelled")
        assert view["cancel"] == {"by": "screen", "by_words": "kitchen screen", "reason": ""}
    finally:
        stream.close()
    listed = await (await kbot.get("/kitchen/tickets", headers=BEARER)).json()
    assert [(t["number"], t["status"]) for t in listed["tickets"]] == [(1001, "cancelled")]
    assert await cancel_record(kbot, 1001) == ("screen", "")
    await settle(kbot)
    [message] = told(emulated, ALEX)
    assert "#1001" in message and "Reason" not in message
    assert await units(kbot, "kunafa") == 6


# --- orderbot order cancel, beside the running server ---

async def orderbot(settings: Settings, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env["ORDERBOT_DATABASE_URL"] = settings.database_url
    env["ORDERBOT_CATALOG"] = str(settings.catalog_path)
    if settings.kitchen_display_token is not None:
        env["ORDERBOT_KITCHEN_DISPLAY_TOKEN"] = settings.kitchen_display_token.get_secret_value()
    if settings.kitchen_webhook_url is not None:
        env["ORDERBOT_KITCHEN_WEBHOOK_URL"] = settings.kitchen_webhook_url
        env["ORDERBOT_KITCHEN_WEBHOOK_SECRET"] = KITCHEN_SECRET
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "order", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


async def test_the_cli_cancels_beside_the_running_server(
    kbot: Client, display_settings: Settings, emulated: EmulatorState
) -> None:
    await order(kbot, emulated, ALEX, "2 kunafa")
    await order(kbot, emulated, SAM, "a kunafa")
    assert await units(kbot, "kunafa") == 3
    stream = await kbot.get("/kitchen/events", headers=BEARER)
    try:
        await next_event(stream)  # the snapshot
        code, out = await orderbot(display_settings, "cancel", "#1001", "--reason",
                                   "we ran out of pastry")
        assert code == 0, out
        assert "Cancelled order #1001 (it was new)" in out and "2 × kunafa" in out
        assert "the customer is told" in out
        # The server's screens follow a change made by another process (through the outbox).
        name, view = await next_event(stream, timeout=15)
        assert (name, view["number"], view["status"]) == ("ticket", 1001, "cancelled")
        # ... and show the cook who cancelled it and what the customer was told.
        assert view["cancel"] == {"by": "operator", "by_words": "operator",
                                  "reason": "we ran out of pastry"}
    finally:
        stream.close()
    assert await cancel_record(kbot, 1001) == ("operator", "we ran out of pastry")
    assert await cancel_record(kbot, 1002) == (None, "")  # the other order is untouched
    assert await units(kbot, "kunafa") == 5
    await settle(kbot)  # the server's dispatcher sends what the command queued
    [message] = told(emulated, ALEX)
    assert "#1001" in message and "Reason: we ran out of pastry" in message
    assert told(emulated, SAM) == []

    code, out = await orderbot(display_settings, "cancel", "1001")
    assert code == 0 and "already cancelled; nothing changed" in out
    await settle(kbot)
    assert len(told(emulated, ALEX)) == 1 and await units(kbot, "kunafa") == 5

    assert (await callback(kbot, 1002, {"status": "ready"})).status == 200
    code, out = await orderbot(display_settings, "cancel", "1002")
    assert code == 1 and "not cancelled" in out and "the food is made" in out
    code, out = await orderbot(display_settings, "cancel", "999")
    assert code == 1 and "no order #999" in out
    code, out = await orderbot(display_settings, "cancel", "1002", "--reason", "x" * 400)
    assert code == 2 and "within 300" in out
    assert await status_of(kbot, 1002) == "ready" and await units(kbot, "kunafa") == 5


# --- who cancelled and why, as the owner sees it ---

@BOTH_DATABASES
async def test_each_way_records_who_cancelled_and_why_for_the_owner(
    kbot: Client, display_settings: Settings, emulated: EmulatorState
) -> None:
    """The screen, a kitchen system and an operator each record themselves with the reason the
    customer read; the owner page and /metrics count the cancellations by who."""
    for phone in (ALEX, SAM, KIM):
        await order(kbot, emulated, phone, "a kunafa")
    # A script on the display's API may give a reason too; the owner page must escape it.
    assert (await kbot.post("/kitchen/orders/1001/status", headers=BEARER, json={
        "status": "cancelled", "reason": "<b>oven</b> broke"})).status == 200
    assert (await callback(kbot, 1002, {"status": "cancelled",
                                        "reason": "out of dough"})).status == 200
    code, out = await orderbot(display_settings, "cancel", "1003", "--reason", "Out of dough")
    assert code == 0, out
    assert await cancel_record(kbot, 1001) == ("screen", "<b>oven</b> broke")
    assert await cancel_record(kbot, 1002) == ("system", "out of dough")
    assert await cancel_record(kbot, 1003) == ("operator", "Out of dough")
    async with kbot.app[APP_STATE].sessions() as session, session.begin():
        # Cancelled before orderbot recorded who: counted, but not as anyone's.
        session.add(OrderRow(number=999, customer="15550100009", source_wamid="wamid.older",
                             lines="[]", total="5.00", currency="USD", status="cancelled"))

    page = await kbot.get("/owner/report", headers=BEARER)
    assert page.status == 200
    body = await page.text()
    assert ("Orders          0 confirmed, 4 cancelled (kitchen screen 1, kitchen system 1, "
            "operator 1, not recorded 1)") in body
    assert "Cancel reasons  out of dough ×2, &lt;b&gt;oven&lt;/b&gt; broke ×1" in body
    assert "<b>oven" not in body

    scraped = await scrape(kbot)
    by_who = {labels[0][1]: value for (name, labels), value in scraped.items()
              if name == "orderbot_placed_orders_cancelled"}
    assert by_who == {"screen": 1, "system": 1, "operator": 1, "unknown": 1}
