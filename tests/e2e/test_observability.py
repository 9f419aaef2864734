"""GET /readyz and GET /metrics on the real app: what an operator's probe and scraper see."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, func, select

from adapters.db import OutboxItem
from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import (
    ACCESS_TOKEN,
    APP_SECRET,
    CUSTOMER,
    PHONE_NUMBER_ID,
    ClientFactory,
    Kitchen,
    post_signed,
    wait_for,
)
from tests.e2e.test_order_flow import confirm_for_pickup, last_body

Client = TestClient[web.Request, web.Application]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(exposition: str) -> Samples:
    """Every sample by (name, sorted labels) as a scraper would read it."""
    found: Samples = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(await response.text())


async def test_ready_when_database_catalog_and_dispatcher_are_up(bot: Client) -> None:
    response = await bot.get("/readyz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "catalog": "ok", "dispatcher": "ok"}}


async def test_not_ready_names_the_database_when_it_cannot_be_reached(
    aiohttp_client: ClientFactory, settings: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings = settings.model_copy(update={"database_url": f"sqlite:///{data / 'orderbot.db'}"})
    client = await aiohttp_client(create_app(settings))
    state = client.app[APP_STATE]
    await state.processor.idle()
    # The database's folder goes away (a lost volume): no new connection can open it.
    await state.engine.dispose()
    data.rename(tmp_path / "gone")
    try:
        response = await client.get("/readyz")
        body = await response.json()
    finally:
        (tmp_path / "gone").rename(data)
    assert response.status == 503
    assert body["failing"] == ["database"]
    assert body["checks"] == {"database": "failing", "catalog": "ok", "dispatcher": "ok"}
    assert "sqlite" not in await response.text() and str(tmp_path) not in await response.text()
    assert (await client.get("/healthz")).status == 200  # the process itself is still up


async def test_not_ready_names_the_dispatcher_once_it_stops(bot: Client) -> None:
    await bot.app[APP_STATE].dispatcher.stop(grace=1.0)
    response = await bot.get("/readyz")
    assert response.status == 503
    assert (await response.json())["failing"] == ["dispatcher"]


async def test_metrics_after_one_order_through_the_webhook(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    before = await scrape(bot)
    assert before[("orderbot_orders_confirmed_total", ())] == 0
    assert before[("orderbot_outbox_pending", ())] == 0

    message = fake_customer.text_message(CUSTOMER, "2 chicken shawarma and a large pepsi")
    body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
    assert await post_signed(bot, body) == 200
    assert await post_signed(bot, body) == 200  # Meta delivering the same message again
    await wait_for(lambda: "Total:" in last_body(emulated))
    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: bool(kitchen.tickets) and "confirmed" in last_body(emulated))
    state = bot.app[APP_STATE]
    await state.processor.idle()
    await state.dispatcher.wait_quiet()

    after = await scrape(bot)
    assert after[("orderbot_messages_received_total", (("type", "text"),))] == 1
    assert after[("orderbot_messages_received_total", (("type", "interactive"),))] == 2
    assert after[("orderbot_duplicates_dropped_total", ())] == 1
    assert after[("orderbot_orders_confirmed_total", ())] == 1
    assert after[("orderbot_orders", (("status", "new"),))] == 1
    # Gauges read at scrape time agree with the outbox table itself.
    async with state.sessions() as session:
        pending = (await session.exec(select(func.count()).select_from(OutboxItem)
                                      .where(col(OutboxItem.state) == "pending"))).one()
        sent = (await session.exec(select(func.count()).select_from(OutboxItem)
                                   .where(col(OutboxItem.state) == "sent",
                                          col(OutboxItem.kind) == "whatsapp"))).one()
    assert after[("orderbot_outbox_pending", ())] == pending == 0
    assert after[("orderbot_outbox_dead", ())] == 0
    assert after[("orderbot_deliveries_total", (("kind", "whatsapp"), ("outcome", "sent")))] \
        == sent > 0
    assert after[("orderbot_deliveries_total", (("kind", "http"), ("outcome", "sent")))] == 1
    # One processing observation per stored message (the duplicate was never stored).
    assert after[("orderbot_processing_seconds_count", ())] == 3
    assert after[("orderbot_delivery_seconds_count", (("kind", "http"),))] == 1
    assert after[("orderbot_delivery_seconds_count", (("kind", "whatsapp"),))] == sent
    # Nothing that identifies the customer or a credential is exposed.
    text = await (await bot.get("/metrics")).text()
    assert CUSTOMER not in text and APP_SECRET not in text and ACCESS_TOKEN not in text


async def test_metrics_count_parse_outcomes_questions_cancels_and_unhelped_orders(
    bot: Client, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    async def say(text: str, customer: str = CUSTOMER) -> None:
        message = fake_customer.text_message(customer, text)
        assert await post_signed(bot, fake_customer.envelope(
            message, customer, "Alex Buyer", PHONE_NUMBER_ID)) == 200
        await bot.app[APP_STATE].processor.idle()
        await bot.app[APP_STATE].dispatcher.wait_quiet()

    before = await scrape(bot)
    assert before[("orderbot_clarifications_total", (("kind", "variant"),))] == 0
    assert before[("orderbot_orders_by_help", (("help", "none"),))] == 0
    # Placed orders cancelled by the kitchen or an operator: every known "by" from 0.
    assert {labels: value for (name, labels), value in before.items()
            if name == "orderbot_placed_orders_cancelled"} == {
        (("by", by),): 0 for by in ("screen", "system", "operator", "unknown")}

    await say("a margherita")  # understood; the bot asks which size
    assert "Which one" in last_body(emulated)
    await say("large")  # an answer, not an order text
    await say("and a lasagna")  # we have no lasagna
    await say("i'll have lasagna and a large pepsi")  # half understood
    assert "Total:" in last_body(emulated)
    await confirm_for_pickup(bot, emulated)
    await wait_for(lambda: bool(kitchen.tickets) and "confirmed" in last_body(emulated))
    other = "15550009999"
    await say("2 chicken shawarma", other)
    await say("cancel", other)  # the customer drops the order before placing it

    after = await scrape(bot)
    outcomes = {labels[0][1]: value for (name, labels), value in after.items()
                if name == "orderbot_parse_outcomes_total"}
    assert outcomes == {"understood": 2, "partial": 1, "unknown_item": 1, "unavailable": 0,
                        "nothing": 0}
    assert after[("orderbot_clarifications_total", (("kind", "variant"),))] == 1
    assert after[("orderbot_clarifications_total", (("kind", "option"),))] == 0
    assert after[("orderbot_orders_cancelled_total", (("by", "customer"),))] == 1
    # The customer's own cancel is of an open order, never placed: not a placed one's.
    assert sum(value for (name, _), value in after.items()
               if name == "orderbot_placed_orders_cancelled") == 0
    # Read from the database at scrape time: the one order was placed by the bot alone.
    assert after[("orderbot_orders_by_help", (("help", "none"),))] == 1
    assert after[("orderbot_orders_by_help", (("help", "human"),))] == 0
    assert after[("orderbot_orders_confirmed_total", ())] == 1
