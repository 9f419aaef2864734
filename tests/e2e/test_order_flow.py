"""A whole order: text, summary with buttons, confirm, signed kitchen ticket, confirmation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from adapters.db import OrderRow, OutboxItem, create_tables
from adapters.inbox import store
from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from bot.whatsapp_payloads import parse_notification
from tests.conftest import CUSTOMER, PHONE_NUMBER_ID, ClientFactory, Kitchen, post_signed, wait_for

Client = TestClient[web.Request, web.Application]


async def say(client: Client, text: str, timestamp: int | None = None) -> None:
    message = fake_customer.text_message(CUSTOMER, text, timestamp)
    body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
    assert await post_signed(client, body) == 200


async def tap(client: Client, emulated: EmulatorState, title: str) -> None:
    """Tap the button with this title on the newest button message the customer got."""
    for entry in reversed(emulated.messages_to(CUSTOMER)):
        interactive = entry["payload"].get("interactive")
        if not interactive:
            continue
        for button in interactive["action"]["buttons"]:
            if button["reply"]["title"] == title:
                message = fake_customer.button_reply(CUSTOMER, button["reply"]["id"], title,
                                                     entry["id"])
                body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
                assert await post_signed(client, body) == 200
                return
    raise AssertionError(f"no '{title}' button was shown")


async def confirm_for_pickup(client: Client, emulated: EmulatorState) -> None:
    """Tap Confirm on the summary, then Pickup when the shop asks pickup or delivery."""
    await tap(client, emulated, "Confirm")
    await wait_for(lambda: "pick it up" in last_body(emulated))
    await tap(client, emulated, "Pickup")


def last_body(emulated: EmulatorState) -> str:
    sent = emulated.messages_to(CUSTOMER)
    if not sent:
        return ""
    payload: dict[str, Any] = sent[-1]["payload"]
    if payload["type"] == "text":
        return str(payload["text"]["body"])
    return str(payload["interactive"]["body"]["text"])


async def test_order_reaches_the_kitchen_signed_and_the_customer_hears_back(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    await say(bot, "2 chicken shawarma and a large pepsi")
    await wait_for(lambda: any(e["payload"]["type"] == "interactive"
                               for e in emulated.messages_to(CUSTOMER)))
    summary = last_body(emulated)
    assert "2 × Chicken Shawarma" in summary and "Pepsi (Large)" in summary
    assert "Total:" in summary

    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: bool(kitchen.tickets))
    await wait_for(lambda: "confirmed" in last_body(emulated))

    [ticket] = kitchen.tickets
    assert kitchen.refused == 0  # the receiver checked the HMAC itself
    assert ticket["schema"] == "orderbot.ticket.v1"
    assert ticket["order"]["display_number"] == "#1001"
    assert [(line["quantity"], line["product_id"], line["variant_id"])
            for line in ticket["lines"]] == [(2, "chicken-shawarma", "regular"),
                                              (1, "pepsi", "large")]
    assert ticket["customer"]["first_name"] == "Alex"
    assert kitchen.idempotency_keys == ["order-1001"]
    confirmation = last_body(emulated)
    assert "#1001" in confirmation and ticket["total"] in confirmation.replace("$", "")


async def test_confirming_twice_places_one_order(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    await say(bot, "1 falafel wrap")
    await wait_for(lambda: "Total:" in last_body(emulated))
    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: "confirmed" in last_body(emulated))
    await tap(bot, emulated, "Confirm")  # an impatient second tap on the same summary
    await bot.app[APP_STATE].processor.idle()
    await wait_for(lambda: "nothing to confirm" in last_body(emulated).lower())
    assert len(kitchen.tickets) == 1


async def test_kitchen_outage_is_retried_until_delivered_once(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    kitchen.fail_next = 2
    await say(bot, "3 fries")
    await wait_for(lambda: "Total:" in last_body(emulated))
    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: bool(kitchen.tickets), timeout=20)
    await bot.app[APP_STATE].dispatcher.wait_quiet(timeout=30)  # the 200 is recorded after
    assert len(kitchen.tickets) == 1
    async with bot.app[APP_STATE].sessions() as session:
        # The HTTP ticket adapter's rows: kind and lane "http", one key per order and adapter.
        row = (await session.exec(select(OutboxItem).where(col(OutboxItem.kind) == "http"))
               ).one()
    assert (row.state, row.attempts, row.key) == ("sent", 3, "order-1001:http")


async def test_acknowledged_message_is_processed_after_a_crash(
    tmp_path: Path, settings: Settings, aiohttp_client: ClientFactory, emulated: EmulatorState
) -> None:
    # A message stored (and so acknowledged to Meta) by a server that died before processing it.
    first = create_app(settings)
    message = fake_customer.text_message(CUSTOMER, "2 chicken shawarma")
    body = json.loads(fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID))
    state = first[APP_STATE]
    await create_tables(state.engine)
    await store(state.sessions, parse_notification(body).messages, [])
    await state.engine.dispose()
    assert emulated.messages_to(CUSTOMER) == []

    restarted = await aiohttp_client(create_app(settings))
    await wait_for(lambda: "Chicken Shawarma" in "".join(
        str(e["payload"]) for e in emulated.messages_to(CUSTOMER)))
    async with restarted.app[APP_STATE].sessions() as session:
        assert (await session.exec(select(OrderRow))).first() is None
