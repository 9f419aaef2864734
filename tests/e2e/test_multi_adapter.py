"""The real server with two ticket adapters and category routes: HTTP kitchen and a printer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from adapters.db import OutboxItem
from adapters.whatsapp_emulator import EmulatorState
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import BOTH_DATABASES, ClientFactory, Kitchen, wait_for
from tests.e2e.test_order_flow import confirm_for_pickup, last_body, say
from tests.tcp_printer import RecordingPrinter

pytestmark = BOTH_DATABASES

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def printer() -> AsyncIterator[RecordingPrinter]:
    # Not started: the printer is switched off when the shop opens.
    off = RecordingPrinter.switched_off()
    yield off
    await off.stop()


@pytest.fixture
def printer_port(printer: RecordingPrinter) -> int:
    return printer.port


@pytest.fixture
async def routed_bot(aiohttp_client: ClientFactory, settings: Settings, printer_port: int
                     ) -> Client:
    routed = Settings(**{
        **settings.model_dump(),
        "kitchen_webhook_secret": settings.secret("kitchen_webhook_secret"),
        "app_secret": settings.secret("app_secret"),
        "verify_token": settings.secret("verify_token"),
        "access_token": settings.secret("access_token"),
        "adapters": "http, printer",
        "routes": "Drinks = printer; * = http",
        "printer_host": "127.0.0.1", "printer_port": printer_port, "printer_width": 32,
        # Retry quickly, and for long enough that the printer is back before giving up.
        "retry_base_seconds": 0.05, "retry_max_seconds": 1.0, "outbox_poll_seconds": 0.05,
    })
    return await aiohttp_client(create_app(routed))


async def place(bot: Client, emulated: EmulatorState, text: str, number: str) -> None:
    await say(bot, text)
    await wait_for(lambda: "Total:" in last_body(emulated))
    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: number in last_body(emulated))


def lines(ticket: dict[str, Any]) -> list[tuple[int, str]]:
    return [(line["quantity"], line["product_id"]) for line in ticket["lines"]]


async def test_each_adapter_gets_its_lines_in_order_once_and_a_dead_printer_holds_back_only_itself(
    routed_bot: Client, emulated: EmulatorState, kitchen: Kitchen, printer: RecordingPrinter
) -> None:
    await place(routed_bot, emulated, "2 chicken shawarma and a large pepsi", "#1001")
    await place(routed_bot, emulated, "1 falafel wrap and 2 large pepsi", "#1002")

    # The printer is off: the kitchen still has both orders' food, without the drinks.
    await wait_for(lambda: len(kitchen.tickets) == 2)
    assert [ticket["order"]["number"] for ticket in kitchen.tickets] == [1001, 1002]
    assert [lines(ticket) for ticket in kitchen.tickets] == [[(2, "chicken-shawarma")],
                                                             [(1, "falafel-wrap")]]
    assert kitchen.tickets[0]["part"] == {"lines": 1, "of": 2}
    assert kitchen.idempotency_keys == ["order-1001", "order-1002"]  # as before adapters
    assert printer.jobs == []

    await printer.start()  # switched on: the drinks print, oldest first
    await wait_for(lambda: len(printer.jobs) == 2, timeout=15)
    state = routed_bot.app[APP_STATE]
    await state.dispatcher.wait_quiet(timeout=15)
    texts = printer.texts()
    assert len(printer.jobs) == 2 and len(kitchen.tickets) == 2  # once each
    assert "ORDER #1001" in texts[0] and "ORDER #1002" in texts[1]
    assert "1 x Pepsi (Large)" in texts[0] and "2 x Pepsi (Large)" in texts[1]
    assert not any("Shawarma" in text or "Falafel" in text for text in texts)
    assert all("PART: 1 OF 2 LINES" in text for text in texts)

    async with state.sessions() as session:
        rows = (await session.exec(select(OutboxItem).where(
            col(OutboxItem.kind).in_(["http", "printer"])).order_by(col(OutboxItem.id)))).all()
    assert sorted((row.kind, row.lane, row.key, row.state) for row in rows) == [
        ("http", "http", "order-1001:http", "sent"), ("http", "http", "order-1002:http", "sent"),
        ("printer", "printer", "order-1001:printer", "sent"),
        ("printer", "printer", "order-1002:printer", "sent")]
    assert max(row.attempts for row in rows if row.kind == "printer") > 1  # it really failed


async def test_an_order_with_only_drinks_goes_to_the_printer_alone(
    routed_bot: Client, emulated: EmulatorState, kitchen: Kitchen, printer: RecordingPrinter
) -> None:
    await printer.start()
    await place(routed_bot, emulated, "a large pepsi", "#1001")
    await wait_for(lambda: len(printer.jobs) == 1)
    await routed_bot.app[APP_STATE].dispatcher.wait_quiet(timeout=15)
    assert kitchen.tickets == []  # no empty ticket for the kitchen
    [text] = printer.texts()
    assert "1 x Pepsi (Large)" in text and "PART" not in text  # the whole order is here
    assert "TOTAL" in text


async def test_a_ticket_queued_before_adapters_existed_still_reaches_the_kitchen(
    bot: Client, kitchen: Kitchen
) -> None:
    # Rows written by the previous version used kind and lane "kitchen" and key order-N.
    state = bot.app[APP_STATE]
    ticket = {"schema": "orderbot.ticket.v1", "order": {"number": 1000}, "lines": []}
    async with state.sessions() as session:
        session.add(OutboxItem(kind="kitchen", lane="kitchen", key="order-1000",
                               payload=json.dumps(ticket)))
        await session.commit()
    state.dispatcher.kick()
    await wait_for(lambda: len(kitchen.tickets) == 1)
    assert kitchen.tickets == [ticket] and kitchen.idempotency_keys == ["order-1000"]
