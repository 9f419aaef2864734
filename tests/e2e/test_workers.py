"""Black-box: `orderbot serve --workers 2` on one PostgreSQL database, as real processes.

The kernel spreads connections over the two workers (SO_REUSEPORT); every request here uses a
fresh connection, so both get traffic. What the customers and the kitchen see must be the same
as with one process: every message read once, each customer's burst taken in order, one
ticket per confirmed order, duplicate deliveries ignored, whichever worker got them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text

from adapters.db import OrderRow
from adapters.kitchen_display import HUB_KEY, DisplayAdapter
from adapters.whatsapp_emulator import EmulatorState
from bench.ports import child_port
from bot import fake_customer, texts
from bot.app import create_app
from bot.config import Settings
from bot.state import APP_STATE
from catalog.loader import load_catalog
from tests.conftest import (
    ACCESS_TOKEN,
    APP_SECRET,
    KITCHEN_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    ClientFactory,
    Kitchen,
    ServerFactory,
    wait_for,
)
from tests.e2e.test_serve_process import ORDERBOT, base_env, run
from tests.paths import RESTAURANT_CATALOG
from tests.postgres import fresh_database, with_driver

pytestmark = pytest.mark.postgres

BURST = ("1 falafel wrap", "2 fries", "a large pepsi", "make it 3")  # order matters: the last
CUSTOMERS = [f"1555000{n:04d}" for n in range(6)]                  # one changes the pepsi
# The per-sender rate limit, set low for the flood: 8 messages, then 1 a minute.
RATE_BURST = 8
FLOODER = "15550009999"
FLOOD = RATE_BURST + 12


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database("orderbot_workers") as url:
        yield with_driver(url)


@dataclass
class Served:
    """`orderbot serve --workers 2`, running, with its combined log."""

    process: asyncio.subprocess.Process
    log_path: Path
    base: str

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
async def served(tmp_path: Path, database: str, emulator: TestServer,
                 kitchen_server: TestServer) -> AsyncIterator[Served]:
    port = child_port()
    env = base_env(tmp_path) | {
        "ORDERBOT_DATABASE_URL": database,
        "ORDERBOT_CATALOG": str(RESTAURANT_CATALOG),
        "ORDERBOT_HOST": "127.0.0.1", "ORDERBOT_PORT": str(port),
        "ORDERBOT_MERGE_WINDOW_SECONDS": "0.3",
        "ORDERBOT_LOG_FORMAT": "text",
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_API_BASE_URL": str(emulator.make_url("/v23.0")),
        "ORDERBOT_KITCHEN_WEBHOOK_URL": str(kitchen_server.make_url("/tickets")),
        "ORDERBOT_KITCHEN_WEBHOOK_SECRET": KITCHEN_SECRET,
        "ORDERBOT_RATE_LIMIT_PER_MINUTE": "1", "ORDERBOT_RATE_LIMIT_BURST": str(RATE_BURST),
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *ORDERBOT, "serve", "--workers", "2", env=env, stdout=log_file, stderr=log_file)
    served = Served(process, log_path, f"http://127.0.0.1:{port}")
    try:
        await _wait_for_log(served, "2 workers serving")
        yield served
    finally:
        if process.returncode is None:  # the test failed before its own SIGTERM
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Scrape:
    worker: str
    pid: int
    received: float  # messages this worker stored
    duplicates: float  # deliveries this worker dropped as already stored
    limited: float  # messages over their sender's rate limit


async def test_two_workers_share_the_work_survive_a_kill_and_stop_on_sigterm(
    served: Served, emulated: EmulatorState, kitchen: Kitchen,
) -> None:
    # A fresh connection per request: the kernel picks a worker per connection.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        first = await _workers(http, served.base)
        assert set(first) == {"1", "2"}, f"only worker(s) {set(first)} answered 30 scrapes"
        await _send_bursts(http, served.base)
        for phone in CUSTOMERS:
            await wait_for(_summary_shows(emulated, phone, "3 × Pepsi (Large)"), timeout=30)
        burst_summaries = [_last_summary(emulated, phone) for phone in CUSTOMERS]
        shared = await _workers(http, served.base)

        # One number floods, spread over both workers: one bucket between them.
        await _send_flood(http, served.base)
        await wait_for(lambda: _polite_replies(emulated) > 0, timeout=30)
        flooded = await _workers(http, served.base)

        # A worker killed outright is started again; meanwhile the other one serves alone.
        os.kill(first["2"].pid, signal.SIGKILL)
        # Connections the kernel had already queued for it are reset (a client, like Meta,
        # sends again); the test sends once it is gone.
        await _wait_for_log(served, "died (killed by SIGKILL)")
        # Confirm and choose pickup, each tap delivered twice.
        await _confirm_all(http, served.base, emulated)
        await wait_for(lambda: len(kitchen.tickets) >= len(CUSTOMERS), timeout=30)
        restarted = await _restarted(http, served.base, "2", first["2"].pid)
        after = await _workers(http, served.base)

    served.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    code = await asyncio.wait_for(served.process.wait(), timeout=30)
    stop_seconds = time.monotonic() - stopped_at

    # Both workers took part of the bursts; together they stored each message once and
    # dropped each second copy.
    burst_messages = len(CUSTOMERS) * len(BURST)
    assert shared["1"].received > 0 and shared["2"].received > 0, shared
    assert sum(s.received for s in shared.values()) == burst_messages, shared
    assert sum(s.duplicates for s in shared.values()) == burst_messages, shared
    # Each burst taken whole and in order: "make it 3", sent last, changed the pepsi.
    for summary in burst_summaries:
        assert "1 × Falafel Wrap" in summary and "2 × French Fries" in summary, summary
    # Every message marked read exactly once: 4 texts, a tap and "pickup" per customer, and
    # the flood's messages within the limit (those over it are never read).
    read = [receipt["message_id"] for receipt in emulated.reads]
    assert len(read) == len(set(read)) == len(CUSTOMERS) * (len(BURST) + 2) + RATE_BURST
    # One ticket per order, none doubled by the duplicate taps, the kill or the two workers.
    numbers = [ticket["order"]["number"] for ticket in kitchen.tickets]
    assert len(numbers) == len(set(numbers)) == len(CUSTOMERS), numbers
    assert kitchen.refused == 0
    # The flood: both workers took some of it, and together they let through one burst's
    # worth and told the number once, as one process would.
    assert all(flooded[w].received > shared[w].received for w in ("1", "2")), flooded
    assert sum(s.received - shared[w].received for w, s in flooded.items()) == FLOOD
    assert sum(s.limited for s in flooded.values()) == FLOOD - RATE_BURST, flooded
    assert _polite_replies(emulated) == 1
    # The killed worker is serving again, as a new process.
    assert after["2"].pid == restarted.pid != first["2"].pid
    # SIGTERM: every worker stopped gracefully, promptly, and none outlives the supervisor.
    assert code == 0, served.log()[-3000:]
    assert stop_seconds < 10, f"stopping took {stop_seconds:.1f} s"
    for scrape in after.values():
        with pytest.raises(ProcessLookupError):
            os.kill(scrape.pid, 0)


async def test_two_servers_starting_at_once_on_a_fresh_database_set_it_up_once(
    aiohttp_server: ServerFactory, settings: Settings, database: str,
) -> None:
    """Separate machines behind a proxy start together, without the supervisor's turns: the
    schema is created once and the catalog's stock seeded once, with no unique-key crash."""
    shared = settings.model_copy(update={"database_url": database})
    apps = [create_app(shared), create_app(shared)]
    await asyncio.gather(*(aiohttp_server(app) for app in apps))
    engine = apps[0][APP_STATE].engine
    async with engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT product, variant, units, seeded FROM stock ORDER BY product"))).all()
    counted = {p.id: p.stock for p in load_catalog(RESTAURANT_CATALOG).products
               if p.stock is not None}
    assert {row.product: row.units for row in rows} == counted
    assert all(row.variant == "" and row.seeded == row.units for row in rows)


async def test_a_kitchen_screen_on_one_process_shows_a_ticket_another_process_delivered(
    aiohttp_client: ClientFactory, settings: Settings, database: str,
) -> None:
    shared = settings.model_copy(update={"database_url": database,
                                         "kitchen_display_token": SecretStr("screen-token")})
    delivering, showing = create_app(shared), create_app(shared)
    await aiohttp_client(delivering)
    screen = await aiohttp_client(showing)
    async with screen.get("/kitchen/events",
                          headers={"Authorization": "Bearer screen-token"}) as events:
        assert "event: snapshot" in await _next_event(events)
        async with delivering[APP_STATE].sessions() as session, session.begin():
            session.add(OrderRow(number=1001, customer="15550002222", source_wamid="wamid.x",
                                 lines="[]", total="7.50", currency="USD"))
        # What the display adapter does in the delivering process: store, then publish.
        adapter = DisplayAdapter(delivering[APP_STATE].sessions, delivering[HUB_KEY])
        await adapter.deliver({"order": {"number": 1001}, "lines": []}, "key")
        event = await _next_event(events)
    assert event.startswith("event: ticket") and '"number": 1001' in event


async def _next_event(events: aiohttp.ClientResponse) -> str:
    """The next server-sent event, heartbeats skipped."""
    text = ""
    while True:
        line = (await asyncio.wait_for(events.content.readline(), timeout=10)).decode()
        if line == "\n" and text:
            return text
        if not line.startswith((":", "retry:")) and line != "\n":
            text += line


async def test_workers_refuse_a_port_another_program_holds(tmp_path: Path) -> None:
    """Without this check SO_REUSEPORT would let the workers share the port with it."""
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        env = base_env(tmp_path) | {
            "ORDERBOT_PORT": str(port), "ORDERBOT_HOST": "127.0.0.1",
            "WHATSAPP_APP_SECRET": "a", "WHATSAPP_VERIFY_TOKEN": "b",
            "WHATSAPP_ACCESS_TOKEN": "c", "WHATSAPP_PHONE_NUMBER_ID": "d"}
        code, out = await run("serve", "--workers", "2", env=env)
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out
    assert "worker 1 started" not in out


def _body(phone: str, message: dict[str, Any]) -> bytes:
    return fake_customer.envelope(message, phone, "Sam Customer", PHONE_NUMBER_ID)


async def _post(http: aiohttp.ClientSession, base: str, body: bytes) -> None:
    async with http.post(f"{base}/webhook", data=body,
                         headers=fake_customer.signed_headers(body, APP_SECRET)) as response:
        assert response.status == 200, await response.text()


def _summaries(emulated: EmulatorState, phone: str) -> list[Any]:
    return [m for m in emulated.messages_to(phone) if m["payload"]["type"] == "interactive"
            and "buttons" in m["payload"]["interactive"].get("action", {})]


def _summary_shows(emulated: EmulatorState, phone: str, text: str) -> Callable[[], bool]:
    return lambda: text in _last_summary(emulated, phone)


def _last_summary(emulated: EmulatorState, phone: str) -> str:
    summaries = _summaries(emulated, phone)
    return str(summaries[-1]["payload"]["interactive"]["body"]["text"]) if summaries else ""


async def _send_bursts(http: aiohttp.ClientSession, base: str) -> None:
    now = int(time.time())
    sends = []
    for phone in CUSTOMERS:
        bodies = [_body(phone, fake_customer.text_message(phone, text, now - 10 + offset))
                  for offset, text in enumerate(BURST)]
        # All at once and last-first: the messages' own timestamps decide the order. Each is
        # delivered twice, as Meta does when an answer is slow.
        sends += [_post(http, base, body) for body in reversed(bodies * 2)]
    await asyncio.gather(*sends)


async def _send_flood(http: aiohttp.ClientSession, base: str) -> None:
    now = int(time.time())
    await asyncio.gather(*(
        _post(http, base, _body(FLOODER, fake_customer.text_message(FLOODER, f"hi {n}", now)))
        for n in range(FLOOD)))


def _polite_replies(emulated: EmulatorState) -> int:
    polite = texts.text("rate_limited")
    return sum(entry["payload"].get("text", {}).get("body") == polite
               for entry in emulated.messages_to(FLOODER))


async def _confirm_all(http: aiohttp.ClientSession, base: str, emulated: EmulatorState
                       ) -> None:
    for phone in CUSTOMERS:
        summary = _summaries(emulated, phone)[-1]
        confirm = summary["payload"]["interactive"]["action"]["buttons"][0]["reply"]["id"]
        tap = _body(phone, fake_customer.button_reply(phone, confirm, "Confirm", summary["id"]))
        await asyncio.gather(_post(http, base, tap), _post(http, base, tap))
    for phone in CUSTOMERS:
        # The sample shop offers pickup and delivery: it asks which before placing.
        await wait_for(_last_message_says(emulated, phone, "pick it up"), timeout=30)
        pickup = _body(phone, fake_customer.text_message(phone, "pickup"))
        await asyncio.gather(_post(http, base, pickup), _post(http, base, pickup))


def _last_message_says(emulated: EmulatorState, phone: str, text: str) -> Callable[[], bool]:
    return lambda: text in str(emulated.messages_to(phone)[-1])


async def _scrape(http: aiohttp.ClientSession, base: str) -> Scrape:
    async with http.get(f"{base}/metrics") as response:
        text = await response.text()
    info: dict[str, str] = {}
    received = duplicates = limited = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "orderbot_worker_info":
                info = sample.labels
            elif sample.name == "orderbot_messages_received_total":
                received += sample.value
            elif sample.name == "orderbot_duplicates_dropped_total":
                duplicates += sample.value
            elif sample.name == "orderbot_messages_rate_limited_total":
                limited += sample.value
    return Scrape(info["worker"], int(info["pid"]), received, duplicates, limited)


async def _workers(http: aiohttp.ClientSession, base: str) -> dict[str, Scrape]:
    """The latest scrape of each worker that answered one of 30 fresh connections."""
    seen: dict[str, Scrape] = {}
    for _ in range(30):
        scrape = await _scrape(http, base)
        seen[scrape.worker] = scrape
    return seen


async def _restarted(http: aiohttp.ClientSession, base: str, worker: str, old_pid: int
                     ) -> Scrape:
    """Worker `worker`'s first scrape from a process other than `old_pid`: it is serving."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        scrape = await _scrape(http, base)
        if scrape.worker == worker and scrape.pid != old_pid:
            return scrape
        await asyncio.sleep(0.05)
    raise AssertionError(f"worker {worker} was not serving again within 60 s")


async def _wait_for_log(served: Served, text: str) -> None:
    deadline = time.monotonic() + 90
    while text not in served.log():
        if served.process.returncode is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in the log:\n{served.log()[-3000:]}")
        await asyncio.sleep(0.1)
