"""Checkout through the real server: pickup or delivery, a location pin, a note, a pre-order.

The sample restaurant offers pickup and delivery and takes pre-orders; the bot's clock is fixed
so opening hours give the same answer on any day the suite runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import select

from adapters.db import OrderRow
from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import (
    CUSTOMER,
    PHONE_NUMBER_ID,
    ClientFactory,
    Kitchen,
    post_signed,
    wait_for,
)
from tests.e2e.test_order_flow import last_body

Client = TestClient[web.Request, web.Application]
# Wednesday 25 Nov 2026, 13:00 in New York: Sahara Grill is open (11:00-23:00).
OPEN = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
# Thursday 26 Nov 2026, 04:00 in New York: closed until 11:00.
CLOSED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class Customer:
    """Alex on WhatsApp, writing at the bot's (fixed) time so the 24-hour window is open."""

    def __init__(self, client: Client, emulated: EmulatorState, clock: ManualClock) -> None:
        self.client, self.emulated, self.clock = client, emulated, clock
        self.sent = 0

    def _timestamp(self) -> int:
        self.sent += 1  # strictly increasing: the bot handles messages in timestamp order
        return int(self.clock.now().timestamp()) + self.sent

    async def _post(self, message: dict[str, Any]) -> None:
        body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
        assert await post_signed(self.client, body) == 200
        state = self.client.app[APP_STATE]
        await state.processor.idle()
        await state.dispatcher.wait_quiet(timeout=30)  # the replies reached the emulator

    async def say(self, text: str) -> None:
        await self._post(fake_customer.text_message(CUSTOMER, text, self._timestamp()))

    async def tap(self, title: str) -> None:
        for entry in reversed(self.emulated.messages_to(CUSTOMER)):
            interactive = entry["payload"].get("interactive")
            for button in (interactive or {}).get("action", {}).get("buttons", []):
                if button["reply"]["title"] == title:
                    await self._post(fake_customer.button_reply(
                        CUSTOMER, button["reply"]["id"], title, entry["id"], self._timestamp()))
                    return
        raise AssertionError(f"no '{title}' button was shown")

    async def pin(self, latitude: float, longitude: float, name: str, address: str) -> None:
        await self._post(fake_customer.location_message(
            CUSTOMER, latitude, longitude, name=name, address=address,
            timestamp=self._timestamp()))

    def buttons(self) -> list[str]:
        payload = self.emulated.messages_to(CUSTOMER)[-1]["payload"]
        assert payload["type"] == "interactive", payload
        return [b["reply"]["title"] for b in payload["interactive"]["action"]["buttons"]]


async def start(aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
                now: datetime) -> tuple[Customer, Client]:
    clock = ManualClock(now)
    client = await aiohttp_client(create_app(settings, clock=clock))
    return Customer(client, emulated, clock), client


async def orders(client: Client) -> list[OrderRow]:
    async with client.app[APP_STATE].sessions() as session:
        return list((await session.exec(select(OrderRow))).all())


async def test_delivery_with_a_location_pin_reaches_the_kitchen_ticket(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    alex, client = await start(aiohttp_client, settings, emulated, OPEN)
    await alex.say("2 chicken shawarma and a large pepsi")
    assert alex.buttons() == ["Confirm", "Edit", "Cancel"]
    await alex.say("note: please ring the bell twice")
    assert "Note: “please ring the bell twice”" in last_body(emulated)
    await alex.tap("Confirm")
    assert alex.buttons() == ["Pickup", "Delivery"]
    assert kitchen.tickets == [] and await orders(client) == []  # nothing placed yet
    await alex.tap("Delivery")
    assert "Share your location" in last_body(emulated)
    await alex.pin(40.7128, -74.006, "Home", "100 Example Ave, Springfield")
    await wait_for(lambda: bool(kitchen.tickets))

    [ticket] = kitchen.tickets
    assert ticket["schema"] == "orderbot.ticket.v1"
    assert ticket["order"]["fulfillment"] == "delivery"
    assert ticket["delivery"]["address"] == "Home, 100 Example Ave, Springfield"
    assert (ticket["delivery"]["latitude"], ticket["delivery"]["longitude"]) == (40.7128,
                                                                                 -74.006)
    assert "40.7128,-74.006" in ticket["delivery"]["maps_url"]
    assert ticket["note"] == "please ring the bell twice"
    assert ticket["prepare_at"] is None  # open now: no pre-order
    confirmation = last_body(emulated)
    assert "#1001" in confirmation
    assert "deliver it to Home, 100 Example Ave, Springfield" in confirmation
    [order] = await orders(client)
    assert (order.fulfillment, order.latitude, order.longitude) == ("delivery", 40.7128, -74.006)
    assert order.note == "please ring the bell twice"


async def test_pickup_and_a_typed_address_delivery_are_told_apart(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    alex, client = await start(aiohttp_client, settings, emulated, OPEN)
    await alex.say("a falafel wrap")
    await alex.say("yes")
    await alex.say("I'll pick it up")
    await wait_for(lambda: len(kitchen.tickets) == 1)
    assert "Pickup at Sahara Grill" in last_body(emulated)
    await alex.say("3 fries")
    await alex.tap("Confirm")
    await alex.tap("Delivery")
    await alex.say("12 Cedar Street, apartment 4")
    await wait_for(lambda: len(kitchen.tickets) == 2)

    pickup, delivery = kitchen.tickets
    assert pickup["order"]["fulfillment"] == "pickup" and pickup["delivery"] is None
    assert delivery["order"]["fulfillment"] == "delivery"
    assert delivery["delivery"]["address"] == "12 Cedar Street, apartment 4"
    assert delivery["delivery"]["latitude"] is None
    assert "deliver it to 12 Cedar Street, apartment 4" in last_body(emulated)
    assert [o.fulfillment for o in await orders(client)] == ["pickup", "delivery"]


async def test_an_order_while_closed_is_a_preorder_prepared_at_opening(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    alex, _client = await start(aiohttp_client, settings, emulated, CLOSED)
    await alex.say("a falafel wrap")
    assert "we'll prepare your order when we open today at 11:00" in last_body(emulated)
    await alex.tap("Confirm")
    await alex.tap("Pickup")
    await wait_for(lambda: bool(kitchen.tickets))
    assert kitchen.tickets[0]["prepare_at"] == "2026-11-26T11:00:00-05:00"
    assert "we'll prepare it when we open today at 11:00" in last_body(emulated)


async def test_a_pin_before_checkout_gets_a_short_answer_and_changes_nothing(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    alex, client = await start(aiohttp_client, settings, emulated, OPEN + timedelta(hours=1))
    await alex.pin(40.0, -73.0, "", "")
    assert "Thanks for the location" in last_body(emulated)
    assert kitchen.tickets == [] and await orders(client) == []
