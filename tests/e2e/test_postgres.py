"""The same order path on PostgreSQL (the scale-out store), when a server is reachable.

Uses the machine's PostgreSQL on 127.0.0.1:5432 (trust auth), a fresh database per test.
Skips, saying why, when it is not reachable; set ORDERBOT_TEST_POSTGRES_URL to point elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.whatsapp_emulator import EmulatorState
from bot.app import create_app
from bot.config import Settings
from tests.conftest import ClientFactory, Kitchen, post_signed, wait_for
from tests.e2e.test_order_flow import confirm_for_pickup, last_body, say
from tests.paths import whatsapp_fixture
from tests.postgres import fresh_database, with_driver

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield with_driver(url)


@pytest.fixture
async def pg_bot(aiohttp_client: ClientFactory, settings: Settings, postgres_url: str
                 ) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    yield await aiohttp_client(create_app(settings.model_copy(
        update={"database_url": postgres_url})))


async def test_order_flow_and_dedupe_on_postgres(
    pg_bot: TestClient[web.Request, web.Application], emulated: EmulatorState, kitchen: Kitchen
) -> None:
    body = whatsapp_fixture("text_message.json")
    for _ in range(3):
        assert await post_signed(pg_bot, body) == 200  # "2 large pizzas": which pizza?
    await wait_for(lambda: "Which one did you mean" in last_body(emulated))
    await say(pg_bot, "start over")
    await say(pg_bot, "2 chicken shawarma and a large pepsi")
    await wait_for(lambda: "Total:" in last_body(emulated))
    await confirm_for_pickup(pg_bot, emulated)
    await wait_for(lambda: "confirmed" in last_body(emulated))
    await wait_for(lambda: bool(kitchen.tickets))
    assert kitchen.tickets[0]["order"]["display_number"] == "#1001"
    reads = [r["message_id"] for r in emulated.reads]
    # Five distinct messages were read: the fixture once despite 3 deliveries, 2 typed and the
    # Confirm and Pickup taps.
    assert len(reads) == len(set(reads)) == 5
