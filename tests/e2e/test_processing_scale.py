"""Processing shared by two server processes on one database, and what each message leaves.

Two apps (two create_app on one database, each with its own engine, processor and dispatcher)
stand in for two `orderbot serve` processes. On PostgreSQL they are kept apart per customer by
an advisory lock, on SQLite by the single writer and conditional writes; both are run.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import event
from sqlmodel import col, select

from adapters import inventory
from adapters.db import ConversationRow, InboundMessage, OutboxItem
from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer, texts
from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.logs import correlation_id_for
from bot.state import APP_STATE
from tests.conftest import (
    BOTH_DATABASES,
    CUSTOMER,
    PHONE_NUMBER_ID,
    ClientFactory,
    post_signed,
)
from tests.e2e.test_handoff_timers import text_of

Client = TestClient[web.Request, web.Application]
BURST = ["1 falafel wrap", "2 fries", "a large pepsi", "make it 3", "and a baklava", "make it 2"]


async def settle(*clients: Client) -> None:
    for _ in range(2):  # one app's rows may wake the other's work
        for client in clients:
            await client.app[APP_STATE].processor.idle()
        for client in clients:
            await client.app[APP_STATE].dispatcher.wait_quiet(timeout=30)


def body(text: str, sent_at: int) -> bytes:
    message = fake_customer.text_message(CUSTOMER, text, timestamp=sent_at)
    return fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)


@BOTH_DATABASES
async def test_a_burst_split_across_two_processes_is_handled_once_per_message_in_order(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    windowed = settings.model_copy(update={"merge_window_seconds": 0.3})
    apps = [await aiohttp_client(create_app(windowed)) for _ in range(2)]
    start = int(datetime.now(UTC).timestamp())
    # Every other message to each process, all at once: when the quiet window ends both find
    # the whole burst pending and go for it at the same moment.
    statuses = await asyncio.gather(*(post_signed(apps[index % 2], body(text, start + index))
                                      for index, text in enumerate(BURST)))
    assert statuses == [200] * len(BURST)
    with caplog.at_level(logging.ERROR):
        await settle(*apps)
    # Neither process tripped over the other (a duplicate outbox key, a failed message).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

    async with apps[0].app[APP_STATE].sessions() as session:
        stored = list(await session.exec(select(InboundMessage)))
        conversation = await session.get(ConversationRow, CUSTOMER)
    assert [m.state for m in stored] == ["done"] * len(BURST)
    assert conversation is not None
    assert conversation.version == len(BURST)  # each message moved the conversation once
    reads = [r["message_id"] for r in emulated.reads]
    assert sorted(reads) == sorted(m.wamid for m in stored)  # each read exactly once
    sent = [text_of(entry) for entry in emulated.messages_to(CUSTOMER)]
    assert not any(texts.text("internal_error") in line for line in sent)
    last = sent[-1]  # "make it 3" after the pepsi, "make it 2" after the baklava: in order
    assert "1 × Falafel Wrap" in last and "2 × French Fries" in last
    assert "3 × Pepsi (Large)" in last and "2 × Baklava" in last


@BOTH_DATABASES
async def test_a_reminder_both_processes_find_due_is_sent_once(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    now = datetime.now(UTC)
    clocks = [ManualClock(now), ManualClock(now)]
    apps = [await aiohttp_client(create_app(settings, clock=clock)) for clock in clocks]
    assert await post_signed(apps[0], body("2 chicken shawarma", int(now.timestamp()))) == 200
    await settle(*apps)
    for clock in clocks:
        clock.advance(timedelta(minutes=settings.reminder_minutes + 1))

    # Both sweeps at the same moment, then once more each.
    fired = await asyncio.gather(*(app.app[APP_STATE].processor.run_timers() for app in apps))
    fired += [await app.app[APP_STATE].processor.run_timers() for app in apps]
    await settle(*apps)

    assert sum(fired) == 1
    reminders = [text_of(e) for e in emulated.messages_to(CUSTOMER)
                 if texts.text("reminder") in text_of(e)]
    assert len(reminders) == 1


async def test_every_row_a_message_writes_carries_its_correlation_id(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
) -> None:
    client = await aiohttp_client(create_app(settings))
    assert await post_signed(client, body("2 chicken shawarma", 1_800_000_000)) == 200
    await settle(client)
    async with client.app[APP_STATE].sessions() as session:
        [message] = list(await session.exec(select(InboundMessage)))
        rows = list(await session.exec(select(OutboxItem).order_by(col(OutboxItem.id))))
    assert [row.key.split(":")[0] for row in rows] == ["read", "reply"]
    assert {row.correlation_id for row in rows} == {correlation_id_for(message.wamid)}
    assert emulated.messages_to(CUSTOMER)  # and they went out


async def test_a_shop_that_counts_nothing_reads_no_stock_per_message(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # However slow this machine is, the empty table is trusted for the whole test.
    monkeypatch.setattr(inventory, "EMPTY_RECHECK_SECONDS", 3600.0)
    menu = tmp_path / "menu.yaml"
    original = settings.catalog_path.read_text(encoding="utf-8")
    menu.write_text("\n".join(line for line in original.splitlines()
                              if not line.strip().startswith("stock:")), encoding="utf-8")
    client = await aiohttp_client(create_app(settings.model_copy(update={"catalog_path": menu})))
    statements: list[str] = []
    engine = client.app[APP_STATE].engine.sync_engine
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_rest: statements.append(sql))
    for index, text in enumerate(["1 falafel wrap", "2 fries", "a pepsi"]):
        assert await post_signed(client, body(text, 1_800_000_000 + index)) == 200
        await settle(client)
    stock_reads = [sql for sql in statements if "FROM stock" in sql]
    assert len(stock_reads) <= 1  # the first message finds the table empty; then trusted
    assert "1 × Pepsi" in text_of(emulated.messages_to(CUSTOMER)[-1])
