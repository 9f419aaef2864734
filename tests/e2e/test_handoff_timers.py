"""Handoff, timers and the 24-hour window through the real app, the emulator and the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import select

from adapters.db import (
    ConversationRow,
    InboundMessage,
    create_tables,
    make_engine,
    session_factory,
)
from adapters.whatsapp_emulator import EmulatorState, LogEntry
from bot import fake_customer
from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import CUSTOMER, PHONE_NUMBER_ID, ClientFactory, post_signed, wait_for
from tests.paths import ROOT

Client = TestClient[web.Request, web.Application]
OWNER = "15550001111"  # shop.owner_whatsapp of the sample restaurant
ORDER = "2 chicken shawarma and a large pepsi"


def text_of(entry: LogEntry) -> str:
    payload: dict[str, Any] = entry["payload"]
    if payload["type"] == "text":
        return str(payload["text"]["body"])
    if payload["type"] == "interactive":
        return str(payload["interactive"]["body"]["text"])
    return f"<{payload['type']}>"


async def settle(client: Client) -> None:
    state = client.app[APP_STATE]
    await state.processor.idle()
    await state.dispatcher.wait_quiet()


async def say(client: Client, text: str, clock: ManualClock | None = None) -> None:
    when = int(clock.now().timestamp()) if clock else None
    message = fake_customer.text_message(CUSTOMER, text, when)
    body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
    assert await post_signed(client, body) == 200
    await settle(client)


async def advance(client: Client, clock: ManualClock, minutes: float) -> int:
    clock.advance(timedelta(minutes=minutes))
    fired = await client.app[APP_STATE].processor.run_timers()
    await settle(client)
    return fired


def orderbot(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env |= {"ORDERBOT_DATABASE_URL": settings.database_url,
            "ORDERBOT_CATALOG": str(settings.catalog_path),
            "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False, env=env, cwd=ROOT)


def start_clock() -> ManualClock:
    # Real "now": the CLI, a separate process, runs on the wall clock.
    return ManualClock(datetime.now(UTC))


async def test_handoff_alerts_the_owner_silences_the_bot_and_the_cli_gives_it_back(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    client = await aiohttp_client(create_app(settings, clock=start_clock()))
    await say(client, ORDER)
    await say(client, "can I talk to a real person please?")
    assert "answer you here" in text_of(emulated.messages_to(CUSTOMER)[-1])
    [alert] = emulated.messages_to(OWNER)
    assert alert["payload"]["type"] == "text"
    assert "Alex Buyer (+15550002222)" in text_of(alert)
    assert "can I talk to a real person please?" in text_of(alert)
    assert "2 × Chicken Shawarma" in text_of(alert)

    seen = len(emulated.messages_to(CUSTOMER))
    await say(client, "hello??")
    await say(client, "yes")
    assert len(emulated.messages_to(CUSTOMER)) == seen  # the bot keeps quiet...
    async with client.app[APP_STATE].sessions() as session:
        stored = list(await session.exec(select(InboundMessage)))
    assert [m.state for m in stored] == ["done"] * 4  # ...but keeps and reads every message
    assert {m.wamid for m in stored} <= {r["message_id"] for r in emulated.reads}

    listed = await asyncio.to_thread(orderbot, settings, "handoff", "list")
    assert listed.returncode == 0 and CUSTOMER in listed.stdout and "Alex Buyer" in listed.stdout

    released = await asyncio.to_thread(orderbot, settings, "handoff", "release", CUSTOMER)
    assert released.returncode == 0, released.stderr
    assert f"Released {CUSTOMER}" in released.stdout and "told them" in released.stdout
    # The running server's dispatcher delivers what the command queued.
    await wait_for(lambda: len(emulated.messages_to(CUSTOMER)) >= seen + 2)
    back = [text_of(e) for e in emulated.messages_to(CUSTOMER)[seen:]]
    assert "order bot again" in back[0] and "Total" in back[1]

    again = await asyncio.to_thread(orderbot, settings, "handoff", "release", CUSTOMER)
    assert again.returncode == 0 and "was not handed off" in again.stdout
    unknown = await asyncio.to_thread(orderbot, settings, "handoff", "release", "15559999999")
    assert unknown.returncode == 1 and "15559999999" in unknown.stderr

    await say(client, "and a baklava")  # answered normally again
    assert "Total: $26.46" in text_of(emulated.messages_to(CUSTOMER)[-1])


async def test_without_an_owner_number_the_customer_is_still_told_and_a_warning_logged(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    menu = tmp_path / "menu.yaml"
    original = settings.catalog_path.read_text(encoding="utf-8")
    menu.write_text("\n".join(line for line in original.splitlines()
                              if "owner_whatsapp" not in line), encoding="utf-8")
    client = await aiohttp_client(create_app(settings.model_copy(update={"catalog_path": menu})))
    with caplog.at_level(logging.WARNING):
        await say(client, "agent")
    assert "answer you here" in text_of(emulated.messages_to(CUSTOMER)[-1])
    assert emulated.messages_to(OWNER) == []
    assert "owner_whatsapp" in caplog.text


async def test_an_idle_cart_is_reminded_once_then_cleared(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    clock = start_clock()
    client = await aiohttp_client(create_app(settings, clock=clock))
    await say(client, ORDER, clock)
    seen = len(emulated.messages_to(CUSTOMER))
    assert await advance(client, clock, 14) == 0
    assert len(emulated.messages_to(CUSTOMER)) == seen

    assert await advance(client, clock, 1) == 1
    reminder = [text_of(e) for e in emulated.messages_to(CUSTOMER)[seen:]]
    assert "isn't placed yet" in reminder[0] and "Total: $20.97" in reminder[1]
    assert await advance(client, clock, 30) == 0  # one reminder only

    assert await advance(client, clock, 75) == 1  # 120 minutes after the customer's message
    assert "cleared" in text_of(emulated.messages_to(CUSTOMER)[-1])
    await say(client, "a baklava", clock)  # a new order starts from an empty cart
    summary = text_of(emulated.messages_to(CUSTOMER)[-1])
    assert "Total: $5.49" in summary and "Shawarma" not in summary


async def test_writing_again_resets_the_reminder(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    clock = start_clock()
    client = await aiohttp_client(create_app(settings, clock=clock))
    await say(client, ORDER, clock)
    clock.advance(timedelta(minutes=10))
    await say(client, "and a baklava", clock)
    seen = len(emulated.messages_to(CUSTOMER))
    assert await advance(client, clock, 10) == 0  # 20 min after the first, 10 after the last
    assert await advance(client, clock, 5) == 1
    assert "isn't placed yet" in text_of(emulated.messages_to(CUSTOMER)[seen])


async def test_timers_survive_a_restart(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    clock = start_clock()
    first = await aiohttp_client(create_app(settings, clock=clock))
    await say(first, ORDER, clock)
    seen = len(emulated.messages_to(CUSTOMER))
    await first.close()  # nothing of the timer is left in memory

    clock.advance(timedelta(minutes=16))
    second = await aiohttp_client(create_app(settings, clock=clock))
    await second.app[APP_STATE].processor.run_timers()  # the start-up sweep may beat us to it
    await settle(second)
    reminders = [e for e in emulated.messages_to(CUSTOMER)[seen:]
                 if "isn't placed yet" in text_of(e)]
    assert len(reminders) == 1


async def test_after_the_24_hour_window_the_template_goes_out_instead(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    clock = start_clock()
    slow = settings.model_copy(update={"handoff_timeout_minutes": 25 * 60,
                                       "reminder_template": "order_update",
                                       "template_language": "en_US"})
    client = await aiohttp_client(create_app(slow, clock=clock))
    await say(client, ORDER, clock)
    await say(client, "talk to someone", clock)
    seen = len(emulated.messages_to(CUSTOMER))
    assert await advance(client, clock, 25 * 60) == 1  # the handoff timeout, a day later
    [sent] = emulated.messages_to(CUSTOMER)[seen:]
    assert sent["payload"]["type"] == "template"
    assert sent["payload"]["template"] == {"name": "order_update",
                                           "language": {"code": "en_US"}}
    await say(client, "and a baklava", clock)  # their answer reopens the window; bot is back
    assert "Total: $26.46" in text_of(emulated.messages_to(CUSTOMER)[-1])


async def test_after_the_window_without_a_template_nothing_is_sent_and_it_is_logged(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = start_clock()
    slow = settings.model_copy(update={"handoff_timeout_minutes": 25 * 60})
    client = await aiohttp_client(create_app(slow, clock=clock))
    await say(client, "agent", clock)
    seen = len(emulated.messages_to(CUSTOMER))
    with caplog.at_level(logging.INFO):
        assert await advance(client, clock, 25 * 60) == 1
    assert len(emulated.messages_to(CUSTOMER)) == seen
    assert "24-hour window closed" in caplog.text and "not sent" in caplog.text
    await say(client, ORDER, clock)
    assert "Total" in text_of(emulated.messages_to(CUSTOMER)[-1])  # released all the same


async def test_the_scheduler_sweeps_on_its_own(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    clock = start_clock()
    quick = settings.model_copy(update={"timer_sweep_seconds": 0.1})
    client = await aiohttp_client(create_app(quick, clock=clock))
    await say(client, ORDER, clock)
    seen = len(emulated.messages_to(CUSTOMER))
    clock.advance(timedelta(minutes=15))  # nobody calls run_timers: APScheduler's job does
    await wait_for(lambda: len(emulated.messages_to(CUSTOMER)) > seen)
    assert "isn't placed yet" in text_of(emulated.messages_to(CUSTOMER)[seen])


async def test_a_database_from_before_the_timers_gets_their_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the conversation table as the previous version made it
        old.execute("CREATE TABLE conversation (customer VARCHAR(160) PRIMARY KEY, reply_to "
                    "VARCHAR(64) NOT NULL, name VARCHAR(200) NOT NULL, state VARCHAR NOT NULL, "
                    "version INTEGER NOT NULL, last_inbound_at INTEGER NOT NULL, "
                    "updated_at DATETIME NOT NULL)")
        old.execute("INSERT INTO conversation VALUES ('15550002222', '15550002222', 'Alex', "
                    "'{}', 3, 1800000000, '2026-11-27 12:00:00')")
    engine = make_engine(f"sqlite:///{path}")
    try:
        await create_tables(engine)
        async with session_factory(engine)() as session:
            row = await session.get(ConversationRow, "15550002222")
        assert row is not None and row.version == 3 and row.due_at is None
    finally:
        await engine.dispose()
    with sqlite3.connect(path) as upgraded:
        columns = {r[1] for r in upgraded.execute("PRAGMA table_info(conversation)")}
        indexes = {r[1] for r in upgraded.execute("PRAGMA index_list(conversation)")}
    assert {"customer_at", "timer_from", "due_at", "due_kind"} <= columns
    assert any("due_at" in name for name in indexes)
