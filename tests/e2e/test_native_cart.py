"""A WhatsApp catalog cart through the real app: signed `type: order` webhook, summary at our
prices, Confirm, signed kitchen ticket."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from tests.conftest import CUSTOMER, PHONE_NUMBER_ID, Kitchen, post_signed, wait_for
from tests.e2e.test_order_flow import confirm_for_pickup
from tests.paths import whatsapp_fixture

Client = TestClient[web.Request, web.Application]


def bodies(emulated: EmulatorState) -> list[str]:
    texts = []
    for entry in emulated.messages_to(CUSTOMER):
        payload: dict[str, Any] = entry["payload"]
        if payload["type"] == "text":
            texts.append(str(payload["text"]["body"]))
        elif payload["type"] == "interactive":
            texts.append(str(payload["interactive"]["body"]["text"]))
    return texts


async def test_sample_cart_is_summarised_at_our_prices_and_reaches_the_kitchen(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    # The sample webhook exactly as Meta signs it: 2 x SKU-PIZZA-MARG-L, 3 x SKU-COLA-330.
    assert await post_signed(bot, whatsapp_fixture("order_cart.json")) == 200
    await wait_for(lambda: any("Total:" in body for body in bodies(emulated)))
    summary = bodies(emulated)[-1]
    assert "2 × Margherita Pizza (Large) — $35.98" in summary
    assert "3 × Coca-Cola (Small) — $5.97" in summary
    assert "Total: $41.95" in summary  # our menu's prices, not the cart's 12.50 and 1.75
    assert "No onions on the pizzas please" in summary  # the cart's message, as the note

    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: bool(kitchen.tickets))
    [ticket] = kitchen.tickets
    assert kitchen.refused == 0
    assert [(line["quantity"], line["product_id"], line["variant_id"], line["unit_price"])
            for line in ticket["lines"]] == [(2, "margherita-pizza", "large", "17.99"),
                                              (3, "coca-cola", "small", "1.99")]
    assert ticket["total"] == "41.95"
    assert ticket["note"] == "No onions on the pizzas please"
    await wait_for(lambda: "confirmed" in bodies(emulated)[-1])


async def test_unknown_items_are_flagged_and_the_rest_still_ordered(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    message = fake_customer.order_message(CUSTOMER, [
        {"product_retailer_id": "SKU-DISCONTINUED", "quantity": 1, "item_price": 4.5,
         "currency": "USD"},
        {"product_retailer_id": "pepsi:large", "quantity": "2", "item_price": "2.99",
         "currency": "USD"},
    ])
    body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
    assert await post_signed(bot, body) == 200
    await wait_for(lambda: any("Total:" in text for text in bodies(emulated)))
    flag, summary = bodies(emulated)[-2:]
    assert "isn't on our menu any more (SKU-DISCONTINUED)" in flag
    assert "2 × Pepsi (Large) — $5.98" in summary

    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: bool(kitchen.tickets))
    assert [(line["quantity"], line["product_id"]) for line in kitchen.tickets[0]["lines"]] == [
        (2, "pepsi")]
