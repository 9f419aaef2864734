"""Many customers at once, and one customer's burst: nothing lost, nothing doubled, in order."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import PHONE_NUMBER_ID, ClientFactory, post_signed

Client = TestClient[web.Request, web.Application]


async def test_forty_customers_at_once_each_get_exactly_their_summary(
    bot: Client, emulated: EmulatorState
) -> None:
    phones = [f"1555000{n:04d}" for n in range(40)]

    async def order(phone: str, count: int) -> None:
        message = fake_customer.text_message(phone, f"{count} falafel wrap")
        body = fake_customer.envelope(message, phone, "Sam Customer", PHONE_NUMBER_ID)
        assert await post_signed(bot, body) == 200

    await asyncio.gather(*(order(phone, n % 5 + 1) for n, phone in enumerate(phones)))
    await bot.app[APP_STATE].processor.idle()
    await bot.app[APP_STATE].dispatcher.wait_quiet(timeout=30)
    for n, phone in enumerate(phones):
        [summary] = emulated.messages_to(phone)
        body = summary["payload"]["interactive"]["body"]["text"]
        assert f"{n % 5 + 1} × Falafel Wrap" in body, (phone, body)


async def test_one_customers_burst_is_handled_in_timestamp_order(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    bot = await aiohttp_client(create_app(settings.model_copy(
        update={"merge_window_seconds": 0.3})))
    phone = "15550009999"
    texts = ["1 falafel wrap", "2 fries", "a large pepsi", "make it 3"]
    bodies = []
    for offset, text in enumerate(texts):
        message = fake_customer.text_message(phone, text, timestamp=1_800_000_000 + offset)
        bodies.append(fake_customer.envelope(message, phone, "Kim", PHONE_NUMBER_ID))
    # Delivered concurrently and in reverse: the stored timestamps decide the order.
    await asyncio.gather(*(post_signed(bot, body) for body in reversed(bodies)))
    await bot.app[APP_STATE].processor.idle()
    await bot.app[APP_STATE].dispatcher.wait_quiet(timeout=30)
    last = emulated.messages_to(phone)[-1]["payload"]["interactive"]["body"]["text"]
    assert "1 × Falafel Wrap" in last and "2 × French Fries" in last
    assert "3 × Pepsi (Large)" in last  # "make it 3" came last and changed the pepsi
    # The burst is answered once: one summary, not four that overwrite each other.
    interactive = [m for m in emulated.messages_to(phone) if m["payload"]["type"] == "interactive"]
    assert len(interactive) == 1


async def test_messages_further_apart_than_the_window_each_get_their_answer(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState
) -> None:
    bot = await aiohttp_client(create_app(settings.model_copy(
        update={"merge_window_seconds": 0.05})))
    phone = "15550009998"
    for offset, text in enumerate(["1 falafel wrap", "2 fries"]):
        message = fake_customer.text_message(phone, text, timestamp=1_800_000_000 + offset)
        assert await post_signed(bot, fake_customer.envelope(message, phone, "Kim",
                                                             PHONE_NUMBER_ID)) == 200
        await bot.app[APP_STATE].processor.idle()
        await bot.app[APP_STATE].dispatcher.wait_quiet(timeout=30)
    summaries = [m["payload"]["interactive"]["body"]["text"]
                 for m in emulated.messages_to(phone) if m["payload"]["type"] == "interactive"]
    assert len(summaries) == 2
    assert "French Fries" not in summaries[0] and "2 × French Fries" in summaries[1]
