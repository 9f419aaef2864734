"""The last-item race on PostgreSQL (row locks instead of SQLite's single writer).

Uses the machine's PostgreSQL on 127.0.0.1:5432 (trust auth), a fresh database per test, like
tests/e2e/test_postgres.py. Skips, saying why, when it is not reachable; set
ORDERBOT_TEST_POSTGRES_URL to point elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.whatsapp_emulator import EmulatorState
from bot.app import CATALOG_KEY, create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import ClientFactory, Kitchen
from tests.e2e.test_inventory import (
    race_for_the_last_kunafa,
    second_reservation_waits_and_fails,
    settle,
    units,
)
from tests.postgres import fresh_database, with_driver

pytestmark = pytest.mark.postgres


@pytest.fixture
def stock_database() -> Iterator[str]:
    with fresh_database("orderbot_stock") as url:
        yield with_driver(url)


@pytest.fixture
async def pg_bot(aiohttp_client: ClientFactory, settings: Settings, stock_database: str
                 ) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    yield await aiohttp_client(create_app(settings.model_copy(
        update={"database_url": stock_database})))


async def test_two_customers_racing_for_the_last_item_on_postgres(
    pg_bot: TestClient[web.Request, web.Application], emulated: EmulatorState, kitchen: Kitchen
) -> None:
    await settle(pg_bot)
    assert await units(pg_bot, "kunafa") == 6  # seeded from the catalog on PostgreSQL too
    await race_for_the_last_kunafa(pg_bot, emulated, kitchen)


async def test_a_second_reservation_waits_for_the_row_lock_and_fails_on_postgres(
    pg_bot: TestClient[web.Request, web.Application]
) -> None:
    await second_reservation_waits_and_fails(pg_bot.app[APP_STATE].sessions,
                                             pg_bot.app[CATALOG_KEY].current)
