"""Delivery that survives failures: the real app, the WhatsApp emulator and a kitchen receiver.

Retries use a 50 ms base (ORDERBOT_RETRY_BASE_SECONDS) so that a test waits seconds, not
minutes; the number of attempts per kind of failure is the production one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import col, select

from adapters.db import OutboxItem
from adapters.whatsapp_emulator import EmulatorState, FailureRule
from bot import outbox_admin
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import (
    BOTH_DATABASES,
    CUSTOMER,
    ClientFactory,
    Kitchen,
    ServerFactory,
    wait_for,
)
from tests.e2e.test_order_flow import confirm_for_pickup, last_body, say

pytestmark = BOTH_DATABASES

Client = TestClient[web.Request, web.Application]
OWNER = "15550001111"  # shop.owner_whatsapp of the sample restaurant


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"retry_base_seconds": 0.05, "retry_max_seconds": 1.0})


@pytest.fixture
async def bot(aiohttp_client: ClientFactory, fast_settings: Settings) -> Client:
    return await aiohttp_client(create_app(fast_settings))


async def rows(client: Client, kind: str | None = None) -> list[OutboxItem]:
    async with client.app[APP_STATE].sessions() as session:
        query = select(OutboxItem).order_by(col(OutboxItem.id))
        if kind is not None:
            query = query.where(col(OutboxItem.kind) == kind)
        return list(await session.exec(query))


async def tickets(client: Client) -> list[OutboxItem]:
    """The kitchen ticket rows (whatever the configured adapter is called)."""
    return [row for row in await rows(client) if row.kind != "whatsapp"]


def owner_texts(emulated: EmulatorState) -> list[str]:
    return [str(m["payload"]["text"]["body"]) for m in emulated.messages_to(OWNER)]


async def place_order(client: Client, emulated: EmulatorState, order: str, number: int) -> None:
    await say(client, order)
    await wait_for(lambda: "Total:" in last_body(emulated))
    await confirm_for_pickup(client, emulated)
    await wait_for(lambda: f"#{number} is confirmed" in last_body(emulated))


async def test_kitchen_down_for_a_while_then_back_gets_every_ticket_once_in_order(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    kitchen.fail_next = 10 ** 6  # the printer is off
    for number, order in enumerate(["1 falafel wrap", "3 fries", "2 chicken shawarma"], 1001):
        await place_order(bot, emulated, order, number)
    # The customer heard back at once: their lane does not wait for the kitchen's.
    held = await tickets(bot)
    assert kitchen.tickets == [] and [r.state for r in held] == ["pending"] * 3
    assert held[0].attempts >= 1 and "HTTP 503" in (held[0].last_error or "")
    assert [r.attempts for r in held[1:]] == [0, 0]  # held back behind the first

    kitchen.fail_next = 0  # back on
    await wait_for(lambda: len(kitchen.tickets) == 3, timeout=15)
    await asyncio.sleep(0.3)  # a duplicate, if any, would arrive now
    assert [t["order"]["display_number"] for t in kitchen.tickets] == ["#1001", "#1002", "#1003"]
    assert kitchen.idempotency_keys == ["order-1001", "order-1002", "order-1003"]
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    assert [r.state for r in await tickets(bot)] == ["sent"] * 3
    assert owner_texts(emulated) == []  # retried and delivered: nothing to alert about


class RefusingKitchen:
    """A kitchen that answers every ticket with `status` until told otherwise."""

    def __init__(self) -> None:
        self.status = 422
        self.tickets: list[dict[str, object]] = []

    async def receive(self, request: web.Request) -> web.Response:
        if self.status != 200:
            return web.json_response({"error": "unknown product"}, status=self.status)
        self.tickets.append(json.loads(await request.read()))
        return web.json_response({"ok": True})


@pytest.fixture
def refusing() -> Iterator[RefusingKitchen]:
    yield RefusingKitchen()


async def test_a_refused_ticket_is_a_dead_letter_the_owner_hears_about_once(
    aiohttp_client: ClientFactory, aiohttp_server: ServerFactory, fast_settings: Settings,
    emulated: EmulatorState, refusing: RefusingKitchen,
) -> None:
    app = web.Application()
    app.router.add_post("/tickets", refusing.receive)
    server: TestServer = await aiohttp_server(app)
    client = await aiohttp_client(create_app(fast_settings.model_copy(
        update={"kitchen_webhook_url": str(server.make_url("/tickets"))})))

    await place_order(client, emulated, "1 falafel wrap", 1001)
    await wait_for(lambda: bool(owner_texts(emulated)))
    [ticket] = await tickets(client)
    assert (ticket.state, ticket.attempts) == ("dead", 1)  # a 4xx is not retried
    [alert] = owner_texts(emulated)
    assert alert.startswith(f"⚠️ Order #1001 could not be sent to the {ticket.kind} adapter")
    assert "HTTP 422" in alert and f"`orderbot outbox retry {ticket.id}`" in alert

    # The owner fixes the kitchen and retries the row, as the alert says.
    refusing.status = 200
    assert ticket.id is not None
    retried, problems = await outbox_admin.retry(client.app[APP_STATE].sessions, [ticket.id])
    assert (retried, problems) == ([ticket.id], [])
    client.app[APP_STATE].dispatcher.kick()
    await wait_for(lambda: len(refusing.tickets) == 1)
    await client.app[APP_STATE].dispatcher.wait_quiet()
    assert len(owner_texts(emulated)) == 1


async def test_a_message_whatsapp_refuses_alerts_the_owner_and_a_failing_alert_does_not_loop(
    bot: Client, emulated: EmulatorState
) -> None:
    emulated.failures.append(FailureRule(code=131026, http_status=400, times=1, to=CUSTOMER,
                                         message="Message undeliverable", details=""))
    emulated.failures.append(FailureRule(code=131026, http_status=400, times=5, to=OWNER,
                                         message="Message undeliverable", details=""))
    await say(bot, "1 falafel wrap")
    await wait_for(lambda: len(emulated.failures) == 1 and emulated.failures[0].times == 4)
    await bot.app[APP_STATE].processor.idle()
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    await asyncio.sleep(0.3)  # an alert about the alert, if any, would be queued by now

    outbox = await rows(bot)
    dead = [r for r in outbox if r.state == "dead"]
    assert [r.lane for r in dead] == [f"wa:{CUSTOMER}", f"wa:{OWNER}"]
    reply, alert = dead
    assert alert.key == f"alert:dead:{reply.id}"
    body = json.loads(alert.payload)["text"]["body"]
    assert f"+{CUSTOMER}" in body and "131026" in body
    assert [r.key for r in outbox if r.key.startswith("alert:")] == [alert.key]
    assert emulated.failures[0].times == 4  # the alert was tried once, then let go


async def test_a_rejected_token_alerts_the_owner_once_not_per_message(
    bot: Client, emulated: EmulatorState
) -> None:
    # Graph refuses our token for the customer's messages (the owner's still get through).
    emulated.failures.append(FailureRule(code=190, http_status=401, times=3, to=CUSTOMER,
                                         message="Invalid OAuth access token", details=""))
    for text in ("1 falafel wrap", "3 fries", "a large pepsi"):
        await say(bot, text)
        await bot.app[APP_STATE].processor.idle()
    await wait_for(lambda: not emulated.failures)
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    await asyncio.sleep(0.3)

    dead = [r for r in await rows(bot, "whatsapp") if r.state == "dead"]
    assert len(dead) == 3 and all(r.attempts == 1 for r in dead)  # permanent at once
    assert all("190" in (r.last_error or "") for r in dead)
    [alert] = owner_texts(emulated)
    assert "WhatsApp rejected our access token" in alert and "WHATSAPP_ACCESS_TOKEN" in alert


async def test_a_wrong_token_everywhere_queues_one_alert_and_no_alert_about_it(
    aiohttp_client: ClientFactory, fast_settings: Settings, emulated: EmulatorState
) -> None:
    client = await aiohttp_client(create_app(fast_settings.model_copy(
        update={"access_token": "expired-token"})))
    for text in ("1 falafel wrap", "3 fries"):
        await say(client, text)
        await client.app[APP_STATE].processor.idle()
    await client.app[APP_STATE].dispatcher.wait_quiet()
    await asyncio.sleep(0.3)

    outbox = await rows(client)
    assert outbox and all(r.state == "dead" for r in outbox)  # read receipts too: all refused
    alerts = [r for r in outbox if r.key.startswith("alert:")]
    assert [r.lane for r in alerts] == [f"wa:{OWNER}"]
    assert alerts[0].key.startswith("alert:auth:whatsapp-token:")
    assert "expired-token" not in alerts[0].key
    assert emulated.messages_to(CUSTOMER) == [] and emulated.messages_to(OWNER) == []


async def test_131000_is_tried_three_times_then_dead_with_an_alert(
    bot: Client, emulated: EmulatorState
) -> None:
    emulated.failures.append(FailureRule(code=131000, http_status=500, times=10, to=CUSTOMER,
                                         message="Something went wrong", details=""))
    await say(bot, "1 falafel wrap")
    await wait_for(lambda: bool(owner_texts(emulated)), timeout=15)
    [reply] = [r for r in await rows(bot, "whatsapp") if r.lane == f"wa:{CUSTOMER}"
               and "status" not in json.loads(r.payload)]
    assert (reply.state, reply.attempts) == ("dead", 3)
    assert emulated.failures[0].times == 7  # exactly three sends reached WhatsApp
    [alert] = owner_texts(emulated)
    assert "131000" in alert and f"retry {reply.id}" in alert


async def test_a_read_receipt_whatsapp_refuses_for_a_while_does_not_hold_back_the_answer(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    # Meta refuses the blue ticks once with a passing error: retried after the production
    # backoff (about a second), while the answer goes out at once.
    emulated.failures.append(FailureRule(code=131000, http_status=500, times=1, to=None,
                                         message="Something went wrong", details="",
                                         read_receipts=True))
    client = await aiohttp_client(create_app(settings))
    await say(client, "1 falafel wrap")
    await wait_for(lambda: "Total:" in last_body(emulated))
    assert emulated.reads == [] and not emulated.failures  # refused once, waiting to retry
    await wait_for(lambda: len(emulated.reads) == 1, timeout=10)
    await client.app[APP_STATE].dispatcher.wait_quiet()
    receipt, *replies = await rows(client, "whatsapp")
    assert receipt.key.startswith("read:") and (receipt.state, receipt.attempts) == ("sent", 2)
    assert replies and {r.state for r in replies} == {"sent"}


async def test_rows_pending_at_shutdown_are_delivered_after_restart(
    aiohttp_client: ClientFactory, fast_settings: Settings, emulated: EmulatorState,
    kitchen: Kitchen,
) -> None:
    kitchen.fail_next = 10 ** 6
    first = await aiohttp_client(create_app(fast_settings))
    await place_order(first, emulated, "1 falafel wrap", 1001)
    await place_order(first, emulated, "3 fries", 1002)
    await first.close()  # graceful stop: the rows in hand finish, the rest stay pending
    assert [r.state for r in await tickets(first)] == ["pending", "pending"]
    assert kitchen.tickets == []

    kitchen.fail_next = 0
    second = await aiohttp_client(create_app(fast_settings))
    await wait_for(lambda: len(kitchen.tickets) == 2, timeout=15)
    await asyncio.sleep(0.3)
    assert [t["order"]["display_number"] for t in kitchen.tickets] == ["#1001", "#1002"]
    await second.app[APP_STATE].dispatcher.wait_quiet()
    assert [r.state for r in await tickets(second)] == ["sent", "sent"]


async def test_an_alert_outside_the_owners_24_hour_window_goes_as_the_alert_template(
    aiohttp_client: ClientFactory, fast_settings: Settings, emulated: EmulatorState
) -> None:
    client = await aiohttp_client(create_app(fast_settings.model_copy(
        update={"alert_template": "owner_alert"})))
    # WhatsApp refuses the customer's reply for good, then the alert's plain text (the owner
    # has not written to the shop's number for a day): the alert goes as the template.
    emulated.failures.append(FailureRule(code=131026, http_status=400, times=1, to=CUSTOMER,
                                         message="Message undeliverable", details=""))
    emulated.failures.append(FailureRule(code=131047, http_status=400, times=1, to=OWNER,
                                         message="Re-engagement message", details=""))
    await say(client, "1 falafel wrap")
    await wait_for(lambda: bool(emulated.messages_to(OWNER)), timeout=10)
    [alert] = emulated.messages_to(OWNER)
    template = alert["payload"]["template"]
    assert alert["payload"]["type"] == "template" and template["name"] == "owner_alert"
    [text] = [p["text"] for p in template["components"][0]["parameters"]]
    assert f"+{CUSTOMER}" in text and "131026" in text and "\n" not in text
    await client.app[APP_STATE].dispatcher.wait_quiet()
    [row] = [r for r in await rows(client) if r.key.startswith("alert:")]
    assert row.state == "sent"  # not a dead letter: the owner has it
