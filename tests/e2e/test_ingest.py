"""The webhook's inbox writer (bot.ingest) and the per-sender rate limit, through the real server
with signed payloads and the Cloud API emulator."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlmodel import select

from adapters.db import InboundMessage, OutboxItem, RateBucket
from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer, texts
from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.metrics import METRICS_KEY
from bot.security import sign
from bot.state import APP_STATE
from bot.webhook import INGEST_KEY
from bot.whatsapp_payloads import parse_notification, read_json
from tests.conftest import APP_SECRET, BOTH_DATABASES, PHONE_NUMBER_ID, ClientFactory
from tests.e2e.test_webhook import count, settle

Client = TestClient[web.Request, web.Application]
FLOODER = "15550007777"
CALM = "15550008888"


def body_for(phone: str, words: str, clock: ManualClock | None = None) -> bytes:
    when = int(clock.now().timestamp()) if clock else None
    return fake_customer.envelope(fake_customer.text_message(phone, words, when), phone,
                                  "Flo Od", PHONE_NUMBER_ID)


async def post(client: Client, body: bytes) -> tuple[int, dict[str, object]]:
    response = await client.post("/webhook", data=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)})
    return response.status, await response.json()


def bodies_to(emulated: EmulatorState, who: str) -> list[str]:
    return [entry["payload"]["text"]["body"] if entry["payload"]["type"] == "text"
            else entry["payload"]["interactive"]["body"]["text"]
            for entry in emulated.messages_to(who)]


async def test_concurrent_deliveries_share_commits_and_each_wamid_is_stored_once(
    bot: Client,
) -> None:
    originals = [body_for(f"1555001{n:04d}", "2 large pepperoni") for n in range(30)]
    redelivered = originals[:10]  # Meta sending the same notification again, concurrently
    answers = await asyncio.gather(*(post(bot, body) for body in originals + redelivered))
    assert {status for status, _ in answers} == {200}
    assert sum(int(str(reply["received"])) for _, reply in answers) == 30
    assert sum(int(str(reply["duplicates"])) for _, reply in answers) == 10
    assert await count(bot, InboundMessage) == 30
    # Fewer transactions than requests: that is the point of the writer.
    assert bot.app[INGEST_KEY].batches < 40
    metrics = bot.app[METRICS_KEY]
    assert metrics.duplicates_dropped._value.get() == 10
    await settle(bot)
    assert await count(bot, InboundMessage, state="done") == 30


async def test_a_failed_write_answers_503_to_every_request_and_nothing_is_lost(
    bot: Client, emulated: EmulatorState,
) -> None:
    engine = bot.app[APP_STATE].engine
    async with engine.begin() as connection:  # the database refuses every insert for a while
        await connection.execute(text("ALTER TABLE inbound_message RENAME TO away"))
    deliveries = [body_for(f"1555002{n:04d}", "2 large pepperoni") for n in range(5)]
    answers = await asyncio.gather(*(post(bot, body) for body in deliveries))
    assert [status for status, _ in answers] == [503] * 5
    async with engine.begin() as connection:
        await connection.execute(text("ALTER TABLE away RENAME TO inbound_message"))
    assert await count(bot, InboundMessage) == 0
    # Meta delivers again; now they are stored once each, processed and answered.
    answers = await asyncio.gather(*(post(bot, body) for body in deliveries))
    assert [status for status, _ in answers] == [200] * 5
    await settle(bot)
    assert await count(bot, InboundMessage, state="done") == 5
    assert all(emulated.messages_to(f"1555002{n:04d}") for n in range(5))


async def test_deliveries_queued_at_shutdown_are_stored_then_later_ones_refused(
    bot: Client,
) -> None:
    ingest = bot.app[INGEST_KEY]
    notifications = [parse_notification(read_json(body_for(f"1555003{n:04d}", "hi")))
                     for n in range(5)]
    queued = [asyncio.ensure_future(ingest.store(n.messages, n.statuses)) for n in notifications]
    await asyncio.sleep(0)  # handed over to the writer, not yet committed
    await ingest.stop()  # as the app does on shutdown
    assert [len(stored.fresh) for stored in await asyncio.gather(*queued)] == [1] * 5
    assert await count(bot, InboundMessage) == 5
    status, _ = await post(bot, body_for("15550039999", "hi"))
    assert status == 503  # Meta keeps it and delivers again to the restarted server
    assert await count(bot, InboundMessage) == 5


@BOTH_DATABASES
async def test_a_flooding_number_gets_one_polite_reply_while_others_are_served(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    limited = settings.model_copy(update={"rate_limit_per_minute": 6, "rate_limit_burst": 3})
    client = await aiohttp_client(create_app(limited, clock=clock))

    flood = [body_for(FLOODER, f"{n} large pepperoni", clock) for n in range(1, 11)]
    calm = body_for(CALM, "2 chicken shawarma and a large pepsi", clock)
    answers = await asyncio.gather(*(post(client, body) for body in [*flood[:5], calm,
                                                                    *flood[5:]]))
    assert {status for status, _ in answers} == {200}  # all acknowledged: nothing is lost
    await settle(client)

    polite = texts.text("rate_limited")
    assert bodies_to(emulated, FLOODER).count(polite) == 1
    assert await count(client, InboundMessage, customer=FLOODER, state="done") == 3
    assert await count(client, InboundMessage, customer=FLOODER, state="limited") == 7
    # The limited messages are not read, let alone answered: only the first three got receipts.
    read = {receipt["message_id"] for receipt in emulated.reads}
    sessions = client.app[APP_STATE].sessions
    async with sessions() as session:
        held = list(await session.exec(select(InboundMessage.wamid).where(
            InboundMessage.customer == FLOODER, InboundMessage.state == "limited")))
        [notice] = list(await session.exec(select(OutboxItem).where(
            OutboxItem.key.startswith("limited:"))))
    assert not read.intersection(held)
    assert notice.lane == f"wa:{FLOODER}" and notice.state == "sent"
    # The other customer in the same moment got their normal answer.
    assert bodies_to(emulated, CALM) and polite not in bodies_to(emulated, CALM)
    assert "Chicken Shawarma" in bodies_to(emulated, CALM)[-1]
    assert client.app[METRICS_KEY].rate_limited._value.get() == 7
    assert await count(client, RateBucket) == 2  # the flooder's and the calm customer's

    # Still flooding a moment later: stored and held, no second polite reply.
    clock.advance(timedelta(seconds=1))
    assert (await post(client, body_for(FLOODER, "hello??", clock)))[0] == 200
    await settle(client)
    assert bodies_to(emulated, FLOODER).count(polite) == 1

    # After a quiet minute the bucket has refilled: the next message is answered normally.
    clock.advance(timedelta(minutes=1))
    seen = len(bodies_to(emulated, FLOODER))
    assert (await post(client, body_for(FLOODER, "menu", clock)))[0] == 200
    await settle(client)
    answered = bodies_to(emulated, FLOODER)[seen:]
    assert answered and polite not in answered
    assert await count(client, InboundMessage, customer=FLOODER, state="done") == 4
    # Refilled buckets are not kept: the calm customer's is gone, the flooder's new one stays.
    assert await count(client, RateBucket) == await count(client, RateBucket,
                                                          customer=FLOODER) == 1


@BOTH_DATABASES
async def test_two_processes_share_one_bucket_per_sender(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    """Two apps on one database stand in for `serve --workers 2`: a flood split across them
    gets the allowance and the one polite reply of a single process, not twice each."""
    clock = ManualClock(datetime.now(UTC))
    limited = settings.model_copy(update={"rate_limit_per_minute": 6, "rate_limit_burst": 3})
    apps = [await aiohttp_client(create_app(limited, clock=clock)) for _ in range(2)]

    flood = [body_for(FLOODER, f"{n} large pepperoni", clock) for n in range(1, 11)]
    answers = await asyncio.gather(*(post(apps[n % 2], body) for n, body in enumerate(flood)))
    assert {status for status, _ in answers} == {200}
    await settle_all(*apps)

    polite = texts.text("rate_limited")
    assert bodies_to(emulated, FLOODER).count(polite) == 1
    assert await count(apps[0], InboundMessage, customer=FLOODER, state="done") == 3
    assert await count(apps[0], InboundMessage, customer=FLOODER, state="limited") == 7
    assert sum(app.app[METRICS_KEY].rate_limited._value.get() for app in apps) == 7

    # A quiet minute later the shared bucket has refilled, for both processes.
    clock.advance(timedelta(minutes=1))
    for app in apps:
        assert (await post(app, body_for(FLOODER, "menu", clock)))[0] == 200
    await settle_all(*apps)
    assert await count(apps[0], InboundMessage, customer=FLOODER, state="done") == 5
    assert bodies_to(emulated, FLOODER).count(polite) == 1


async def settle_all(*apps: Client) -> None:
    for _ in range(2):  # one app's rows may wake the other's work
        for app in apps:
            await settle(app)


@BOTH_DATABASES
async def test_many_senders_flooding_two_processes_at_once_are_each_counted_once(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    """Batches of both processes hold overlapping senders' buckets at the same moment, in
    whatever order the deliveries came: none waits forever or fails, and every sender gets
    exactly one bucket's worth."""
    clock = ManualClock(datetime.now(UTC))
    limited = settings.model_copy(update={"rate_limit_per_minute": 1, "rate_limit_burst": 2})
    apps = [await aiohttp_client(create_app(limited, clock=clock)) for _ in range(2)]
    senders = [f"155500{n:05d}" for n in range(12)]
    bodies = [(phone, body_for(phone, f"{n} large pepperoni", clock))
              for n in range(3) for phone in senders]
    random.Random(6).shuffle(bodies)
    answers = await asyncio.gather(*(post(apps[n % 2], body)
                                     for n, (_, body) in enumerate(bodies)))
    assert {status for status, _ in answers} == {200}
    await settle_all(*apps)
    for phone in senders:
        assert await count(apps[0], InboundMessage, customer=phone, state="limited") == 1
    assert await count(apps[0], RateBucket) == len(senders)
    polite = texts.text("rate_limited")
    assert [bodies_to(emulated, phone).count(polite) for phone in senders] == [1] * len(senders)
