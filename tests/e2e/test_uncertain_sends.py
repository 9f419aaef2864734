"""A WhatsApp send whose answer is lost (client timeout) but which Meta accepted is not sent twice.

The real app and the emulator over HTTP. The emulator stalls one send past the client's timeout
(shortened here) and accepts it afterwards, as Meta may; with status webhooks on it then posts
the message's signed "sent" and "delivered" statuses to the server, echoing the outbox key the
bot put into biz_opaque_callback_data.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from adapters import whatsapp_cloud
from adapters.db import OutboxItem, StatusEvent
from adapters.whatsapp_emulator import EmulatorState, StallRule, StatusWebhook
from bot.app import create_app
from bot.config import Settings
from bot.dispatcher import UNCERTAIN
from bot.state import APP_STATE
from tests.conftest import (
    APP_SECRET,
    BOTH_DATABASES,
    CUSTOMER,
    ClientFactory,
    post_signed,
    wait_for,
)
from tests.e2e.test_order_flow import confirm_for_pickup, last_body, say
from tests.paths import whatsapp_fixture

pytestmark = BOTH_DATABASES

Client = TestClient[web.Request, web.Application]
CLIENT_TIMEOUT = 0.3  # the WhatsApp client gives up after this long (10 s in production)
STALL = 0.8  # the emulator accepts the stalled send this long after it arrived


@pytest.fixture(autouse=True)
def short_client_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whatsapp_cloud, "SEND_TIMEOUT_SECONDS", CLIENT_TIMEOUT)


async def start(aiohttp_client: ClientFactory, settings: Settings, wait: float) -> Client:
    return await aiohttp_client(create_app(settings.model_copy(update={
        "uncertain_send_wait_seconds": wait, "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.5, "outbox_poll_seconds": 0.1})))


def hear_statuses(emulated: EmulatorState, bot: Client) -> None:
    emulated.status_webhook = StatusWebhook(str(bot.make_url("/webhook")), APP_SECRET)


async def replies(bot: Client) -> list[OutboxItem]:
    """The customer's WhatsApp messages in the outbox (read receipts left out), oldest first."""
    async with bot.app[APP_STATE].sessions() as session:
        rows = await session.exec(select(OutboxItem).where(
            col(OutboxItem.kind) == "whatsapp", col(OutboxItem.lane) == f"wa:{CUSTOMER}")
            .order_by(col(OutboxItem.id)))
        return [row for row in rows if not row.key.startswith("read:")]


def copies(emulated: EmulatorState) -> list[str]:
    """The outbox key of every message the customer got, in arrival order."""
    return [str(e["payload"].get("biz_opaque_callback_data"))
            for e in emulated.messages_to(CUSTOMER)]


def bodies(emulated: EmulatorState) -> list[str]:
    found = []
    for entry in emulated.messages_to(CUSTOMER):
        payload: dict[str, Any] = entry["payload"]
        found.append(str(payload["text"]["body"] if payload["type"] == "text"
                         else payload["interactive"]["body"]["text"]))
    return found


async def test_a_stalled_reply_meta_accepted_reaches_the_customer_once_and_the_lane_moves_on(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    # A long confirm wait: only the status webhook can let the lane move on within the test.
    bot = await start(aiohttp_client, settings, wait=60.0)
    hear_statuses(emulated, bot)
    emulated.stalls.append(StallRule(seconds=STALL, to=CUSTOMER))

    await say(bot, "1 falafel wrap")
    await wait_for(lambda: bool(emulated.messages_to(CUSTOMER)), timeout=5)
    await say(bot, "and 3 fries")  # its reply queues behind the stalled one
    await wait_for(lambda: "Total:" in last_body(emulated) and "Fries" in last_body(emulated),
                   timeout=5)
    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: "#1001 is confirmed" in last_body(emulated), timeout=5)
    await emulated.statuses_reported()
    await bot.app[APP_STATE].dispatcher.wait_quiet()

    rows = await replies(bot)
    # Every reply reached the customer exactly once, in the order the bot wrote them.
    assert copies(emulated) == [row.key for row in rows]
    first = rows[0]
    assert first.state == "sent" and first.result == emulated.messages_to(CUSTOMER)[0]["id"]
    assert "no answer within" in (first.last_error or "")  # it did time out
    assert all(row.state == "sent" and row.result and row.result.startswith("wamid.")
               for row in rows)
    assert "Falafel" in bodies(emulated)[0] and "Fries" in bodies(emulated)[1]
    assert sum("is confirmed" in body for body in bodies(emulated)) == 1


async def test_without_status_webhooks_the_reply_is_sent_again_after_the_confirm_wait(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    # At-least-once: with no status to prove the first copy arrived, the row is resent.
    bot = await start(aiohttp_client, settings, wait=0.5)
    emulated.stalls.append(StallRule(seconds=STALL, to=CUSTOMER))

    await say(bot, "1 falafel wrap")
    await wait_for(lambda: len(emulated.messages_to(CUSTOMER)) == 2, timeout=5)
    await bot.app[APP_STATE].dispatcher.wait_quiet()

    [row] = await replies(bot)
    assert copies(emulated) == [row.key, row.key]  # the one extra copy, documented
    assert row.state == "sent" and row.attempts == 2
    assert row.result in {e["id"] for e in emulated.messages_to(CUSTOMER)}


async def test_a_status_names_its_row_by_key_and_an_unknown_key_changes_nothing(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    bot = await start(aiohttp_client, settings, wait=60.0)
    emulated.stalls.append(StallRule(seconds=STALL, to=CUSTOMER))
    await say(bot, "1 falafel wrap")
    await wait_for(lambda: bool(emulated.messages_to(CUSTOMER)), timeout=5)
    await say(bot, "and 3 fries")
    await bot.app[APP_STATE].processor.idle()
    [held, behind] = await replies(bot)
    assert (held.state, held.result, behind.state) == ("pending", UNCERTAIN, "pending")

    stranger = status_webhook("wamid.STRANGER", "sent", "reply:not-ours")
    assert await post_signed(bot, stranger) == 200
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    assert [(r.state, r.result) for r in await replies(bot)] == [
        ("pending", UNCERTAIN), ("pending", None)]
    assert len(emulated.messages_to(CUSTOMER)) == 1
    async with bot.app[APP_STATE].sessions() as session:
        stored = (await session.exec(select(StatusEvent))).one()
    assert stored.biz_opaque_callback_data == "reply:not-ours"

    accepted = emulated.messages_to(CUSTOMER)[0]
    assert await post_signed(bot, status_webhook(accepted["id"], "delivered", held.key)) == 200
    await wait_for(lambda: len(emulated.messages_to(CUSTOMER)) == 2, timeout=5)
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    assert [(r.state, r.result) for r in await replies(bot)] == [
        ("sent", accepted["id"]), ("sent", emulated.messages_to(CUSTOMER)[1]["id"])]
    assert copies(emulated) == [held.key, behind.key]


def status_webhook(wamid: str, status: str, opaque: str) -> bytes:
    """The sample status notification, for one of our messages and with our callback data."""
    body = json.loads(whatsapp_fixture("status_sent.json"))
    item = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    item.update({"id": wamid, "status": status, "recipient_id": CUSTOMER,
                 "biz_opaque_callback_data": opaque})
    return json.dumps(body).encode()


async def test_a_dead_letter_a_late_status_proves_delivered_leaves_the_dead_letter_list(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    bot = await start(aiohttp_client, settings, wait=60.0)
    emulated.stalls.append(StallRule(seconds=STALL, to=CUSTOMER))
    await say(bot, "1 falafel wrap")
    await wait_for(lambda: bool(emulated.messages_to(CUSTOMER)), timeout=5)
    await bot.app[APP_STATE].processor.idle()
    [held] = await replies(bot)
    async with bot.app[APP_STATE].sessions() as session, session.begin():
        # As when its answers were lost until it was given up (a dead letter, owner alerted).
        row = await session.get(OutboxItem, held.id)
        assert row is not None
        row.state, row.claimed_by, row.claimed_until = "dead", None, None
        session.add(row)

    accepted = emulated.messages_to(CUSTOMER)[0]
    assert await post_signed(bot, status_webhook(accepted["id"], "delivered", held.key)) == 200
    [row] = await replies(bot)
    assert (row.state, row.result) == ("sent", accepted["id"])
    assert len(emulated.messages_to(CUSTOMER)) == 1  # and nothing was sent again
