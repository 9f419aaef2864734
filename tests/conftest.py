"""Shared fixtures: the real app over HTTP, the Cloud API emulator and a kitchen receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.whatsapp_emulator import EMULATOR_STATE, EmulatorState, create_emulator_app
from bot.app import create_app
from bot.config import Settings
from bot.security import sign
from tests.paths import RESTAURANT_CATALOG

APP_SECRET = "test_app_secret"  # matches the signature vector of the sample payloads
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "2000000000000002"  # the sample payloads' business number
KITCHEN_SECRET = "test-kitchen-secret"
CUSTOMER = "15550002222"

ServerFactory = Callable[..., Awaitable[TestServer]]
ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@dataclass
class Kitchen:
    """A stand-in kitchen system: records tickets, checking the signature on its own."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    fail_next: int = 0  # answer 503 to this many deliveries first
    idempotency_keys: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(KITCHEN_SECRET.encode(), body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Orderbot-Signature", "")):
            self.refused += 1
            return web.json_response({"error": "bad signature"}, status=403)
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"error": "printer jammed"}, status=503)
        self.idempotency_keys.append(request.headers.get("Idempotency-Key", ""))
        self.tickets.append(json.loads(body))
        self.arrived.set()
        return web.json_response({"ok": True})


KITCHEN = web.AppKey("kitchen", Kitchen)


@pytest.fixture
async def emulator(aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(create_emulator_app(ACCESS_TOKEN, PHONE_NUMBER_ID))


@pytest.fixture
def emulated(emulator: TestServer) -> EmulatorState:
    return emulator.app[EMULATOR_STATE]


@pytest.fixture
async def kitchen_server(aiohttp_server: ServerFactory) -> TestServer:
    kitchen = Kitchen()
    app = web.Application()
    app[KITCHEN] = kitchen
    app.router.add_post("/tickets", kitchen.receive)
    return await aiohttp_server(app)


@pytest.fixture
def kitchen(kitchen_server: TestServer) -> Kitchen:
    return kitchen_server.app[KITCHEN]


# Runs a test once per database: `@BOTH_DATABASES` on a test (or `pytestmark = BOTH_DATABASES`
# on a module) whose fixtures use `settings` or `database_url`.
BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The app's database: a new SQLite file, or (BOTH_DATABASES' "postgresql" case) this
    module's PostgreSQL database emptied for the test; skipped, saying why, without a server."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path / 'orderbot.db'}"
    # Imported here: tests.postgres skips its importer when psycopg is missing.
    from tests.postgres import empty_tables, with_driver  # noqa: PLC0415

    url: str = request.getfixturevalue("module_postgres")
    empty_tables(url)
    return with_driver(url)


@pytest.fixture(scope="module")
def module_postgres() -> Iterator[str]:
    """One PostgreSQL database per test module, emptied by `database_url` before each test:
    ~0.1 s a test, where a new database (create, migrate, drop) costs 0.5-1.5 s."""
    from tests.postgres import fresh_database  # noqa: PLC0415

    with fresh_database("orderbot_suite") as url:
        yield url


@pytest.fixture
def settings(database_url: str, emulator: TestServer, kitchen_server: TestServer) -> Settings:
    return Settings(
        catalog_path=RESTAURANT_CATALOG,
        database_url=database_url,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        access_token=ACCESS_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        api_base_url=str(emulator.make_url("/v23.0")),
        kitchen_webhook_url=str(kitchen_server.make_url("/tickets")),
        kitchen_webhook_secret=KITCHEN_SECRET,
        merge_window_seconds=0.0,  # tests that need the quiet window set it themselves
    )


@pytest.fixture
async def bot(aiohttp_client: ClientFactory, settings: Settings
              ) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(create_app(settings))


async def post_signed(client: TestClient[web.Request, web.Application], body: bytes,
                      secret: str = APP_SECRET) -> int:
    response = await client.post("/webhook", data=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)})
    return response.status


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until the predicate holds: the server processes after acknowledging."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the bot")
        await asyncio.sleep(0.02)
