"""`orderbot forget WA_ID` beside a running server, and the retention of webhook payloads.

The order is placed through the real signed webhook (delivery, a location pin and a note, so
every personal field is filled); forgetting runs as its own process, as an operator would.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select as table_select
from sqlmodel import SQLModel, col, select

from adapters.db import (
    ConversationRow,
    InboundMessage,
    OrderRow,
    OutboxItem,
    StatusEvent,
    create_tables,
    make_engine,
    session_factory,
    utcnow,
)
from adapters.whatsapp_emulator import EmulatorState
from bot.app import create_app
from bot.config import Settings
from bot.privacy_admin import FORGOTTEN_REASON, blank_old_payloads, forget, scrub_ticket
from bot.state import APP_STATE
from tests.conftest import CUSTOMER, ClientFactory, Kitchen, wait_for
from tests.e2e.test_checkout_flow import OPEN, start

Client = TestClient[web.Request, web.Application]
# Everything Alex told the bot, or that identifies them, as the tables would hold it.
PERSONAL = (CUSTOMER, "Alex", "Example Ave", "ring the bell", "40.7128", "-74.006",
            "2 chicken shawarma and a large pepsi")


async def orderbot(settings: Settings, *args: str, **env_extra: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env["ORDERBOT_DATABASE_URL"] = settings.database_url
    env.update(env_extra)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


async def every_stored_value(client: Client) -> str:
    """All rows of all tables as one text, to search for what must be gone."""
    parts: list[str] = []
    async with client.app[APP_STATE].sessions() as session:
        connection = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            for row in await connection.execute(table_select(table)):
                parts.append(json.dumps([str(value) for value in row], ensure_ascii=False))
    return "\n".join(parts)


async def test_forget_removes_what_identifies_the_customer_and_keeps_the_order_total(
    aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState, kitchen: Kitchen
) -> None:
    alex, client = await start(aiohttp_client, settings, emulated, OPEN)
    await alex.say("2 chicken shawarma and a large pepsi")
    await alex.say("note: please ring the bell twice")
    await alex.tap("Confirm")
    await alex.tap("Delivery")
    await alex.pin(40.7128, -74.006, "Home", "100 Example Ave, Springfield")
    await wait_for(lambda: bool(kitchen.tickets))
    state = client.app[APP_STATE]
    await state.dispatcher.wait_quiet(timeout=30)
    async with state.sessions() as session, session.begin():
        [placed] = (await session.exec(select(OrderRow))).all()
        # A message to Alex that is still waiting to go out (a retry in an hour).
        session.add(OutboxItem(kind="whatsapp", lane=f"wa:{CUSTOMER}", key="later:1",
                               next_attempt_at=utcnow() + timedelta(hours=1),
                               payload=json.dumps({"messaging_product": "whatsapp",
                                                   "to": CUSTOMER, "type": "text",
                                                   "text": {"body": "Alex, see you soon"}})))
    stored = await every_stored_value(client)
    assert all(value in stored for value in PERSONAL)  # the search below can find them

    code, out = await orderbot(settings, "forget", CUSTOMER, "--yes")
    assert code == 0, out
    assert "#1001" in out and "waiting messages stopped:        1" in out

    stored = await every_stored_value(client)
    assert [value for value in PERSONAL if value in stored] == []
    async with state.sessions() as session:
        [kept] = (await session.exec(select(OrderRow))).all()
        waiting = (await session.exec(
            select(OutboxItem).where(col(OutboxItem.key) == "later:1"))).one()
        assert not (await session.exec(select(ConversationRow))).all()
    assert (kept.number, kept.total, kept.currency, kept.lines) == (
        1001, placed.total, placed.currency, placed.lines)
    assert kept.customer.startswith("forgotten-") and kept.customer_name == ""
    assert (kept.address, kept.latitude, kept.longitude, kept.note) == ("", None, None, "")
    assert (waiting.state, waiting.last_error) == ("dead", FORGOTTEN_REASON)
    state.dispatcher.kick()
    await state.dispatcher.wait_quiet(timeout=30)
    assert not any("see you soon" in json.dumps(m["payload"])
                   for m in emulated.messages_to(CUSTOMER))

    # Writing again is a new customer: a fresh conversation, answered as usual.
    before = len(emulated.messages_to(CUSTOMER))
    await alex.say("hi")
    assert len(emulated.messages_to(CUSTOMER)) > before
    async with state.sessions() as session:
        conversation = await session.get(ConversationRow, CUSTOMER)
    assert conversation is not None and conversation.version == 1


async def test_forget_refuses_without_yes_and_reports_an_unknown_number(
    bot: Client, settings: Settings
) -> None:
    async with bot.app[APP_STATE].sessions() as session, session.begin():
        session.add(ConversationRow(customer=CUSTOMER, reply_to=CUSTOMER, name="Alex Buyer"))
    code, out = await orderbot(settings, "forget", CUSTOMER)
    assert code == 2 and "--yes" in out
    async with bot.app[APP_STATE].sessions() as session:
        assert await session.get(ConversationRow, CUSTOMER) is not None  # nothing changed
    code, out = await orderbot(settings, "forget", "15559999999", "--yes")
    assert code == 1 and "nothing is stored about WhatsApp number 15559999999" in out


async def test_forget_blanks_a_cancel_reason_like_the_note_and_keeps_who_cancelled(
    bot: Client
) -> None:
    """Staff type the reason to this customer, so like the note it may name them or where
    they live; who cancelled is a code the owner report counts, not about the customer."""
    state = bot.app[APP_STATE]
    async with state.sessions() as session, session.begin():
        session.add(OrderRow(number=1001, customer=CUSTOMER, customer_name="Alex Buyer",
                             source_wamid="wamid.cancelled", lines="[]", total="9.00",
                             currency="USD", note="ring twice", status="cancelled",
                             cancelled_by="operator",
                             cancel_reason="Alex, no driver goes to 100 Example Ave"))
    done = await forget(state.sessions, CUSTOMER)
    assert done is not None and done.orders == [1001]
    async with state.sessions() as session:
        [kept] = (await session.exec(select(OrderRow))).all()
    assert (kept.note, kept.cancel_reason) == ("", "")
    assert (kept.status, kept.cancelled_by, kept.total) == ("cancelled", "operator", "9.00")


def test_a_ticket_keeps_its_lines_and_total_but_not_who_ordered_or_where() -> None:
    ticket: dict[str, Any] = {
        "order": {"number": 1001}, "customer": {"name": "Alex Buyer", "first_name": "Alex"},
        "lines": [{"product": "Falafel Wrap", "quantity": 2}], "total": "17.00",
        "delivery": {"address": "100 Example Ave", "latitude": 40.7, "longitude": -74.0,
                     "maps_url": "https://maps/?q=40.7,-74.0"},
        "note": "ring twice"}
    clean = scrub_ticket(ticket)
    assert clean["customer"] == {"name": "", "first_name": ""} and clean["note"] == ""
    assert clean["delivery"] == {"address": "", "latitude": None, "longitude": None,
                                 "maps_url": None}
    assert (clean["order"], clean["lines"], clean["total"]) == (
        ticket["order"], ticket["lines"], ticket["total"])
    assert scrub_ticket({**ticket, "delivery": None})["delivery"] is None  # pickup stays pickup


# --- retention ---

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def inbound(wamid: str, state: str, age_days: float, now: datetime = NOW) -> InboundMessage:
    return InboundMessage(wamid=wamid, customer=CUSTOMER, type="text", state=state,
                          payload=json.dumps({"message": {"text": {"body": "my address"}}}),
                          received_at=now - timedelta(days=age_days))


async def payloads(client: Client) -> dict[str, str]:
    async with client.app[APP_STATE].sessions() as session:
        rows = await session.exec(select(InboundMessage))
        return {row.wamid: row.payload for row in rows}


async def test_retention_blanks_old_processed_payloads_and_keeps_the_rows(bot: Client) -> None:
    sessions = bot.app[APP_STATE].sessions
    async with sessions() as session, session.begin():
        session.add_all([inbound("old-done", "done", 31), inbound("old-failed", "failed", 40),
                         inbound("old-pending", "pending", 45), inbound("new-done", "done", 29)])
        session.add(StatusEvent(wamid="out-1", status="read", recipient=CUSTOMER,
                                payload=json.dumps({"recipient_id": CUSTOMER}),
                                received_at=NOW - timedelta(days=31)))

    assert await blank_old_payloads(sessions, 0, now=NOW) == 0  # 0: keep forever
    assert await blank_old_payloads(sessions, 30, now=NOW) == 3
    kept = await payloads(bot)
    assert (kept["old-done"], kept["old-failed"]) == ("{}", "{}")  # rows stay: wamid dedupe
    assert "my address" in kept["old-pending"] and "my address" in kept["new-done"]
    async with sessions() as session:
        assert (await session.exec(select(StatusEvent.payload))).one() == "{}"
    assert await blank_old_payloads(sessions, 30, now=NOW) == 0  # nothing left to do


async def test_retention_runs_when_the_server_starts_and_from_the_cli(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    engine = make_engine(settings.database_url)
    await create_tables(engine)
    async with session_factory(engine)() as session, session.begin():
        session.add(inbound("very-old", "done", 60, now=utcnow()))
        session.add(inbound("ten-days", "done", 10, now=utcnow()))
    await engine.dispose()

    client = await aiohttp_client(create_app(settings.model_copy(
        update={"payload_retention_days": 30})))
    for _ in range(200):  # the periodic job's first run is at start
        if (await payloads(client))["very-old"] == "{}":
            break
        await asyncio.sleep(0.05)
    assert (await payloads(client))["very-old"] == "{}"
    assert "my address" in (await payloads(client))["ten-days"]

    code, out = await orderbot(settings, "retention", "run",
                               ORDERBOT_PAYLOAD_RETENTION_DAYS="7")
    assert code == 0 and "1 payload(s) older than 7 day(s) blanked" in out
    assert (await payloads(client))["ten-days"] == "{}"
    code, out = await orderbot(settings, "retention", "run", ORDERBOT_PAYLOAD_RETENTION_DAYS="0")
    assert code == 0 and "kept forever" in out
