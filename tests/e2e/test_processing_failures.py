"""A message the processor cannot handle is recorded as failed and answered; the customer's
later messages are not blocked behind it."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from adapters.db import InboundMessage
from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from bot.state import APP_STATE
from tests.conftest import CUSTOMER, PHONE_NUMBER_ID, post_signed

Client = TestClient[web.Request, web.Application]


async def test_an_unprocessable_stored_message_fails_loudly_and_does_not_wedge_the_customer(
    bot: Client, emulated: EmulatorState
) -> None:
    state = bot.app[APP_STATE]
    # A row whose stored payload lacks the message (a bug or a hand-edited database): handling
    # it raises outside the conversation logic.
    async with state.sessions() as session, session.begin():
        session.add(InboundMessage(wamid="wamid.broken", customer=CUSTOMER, type="text",
                                   sent_at=1, payload="{}"))
    message = fake_customer.text_message(CUSTOMER, "a falafel wrap", timestamp=2)
    assert await post_signed(bot, fake_customer.envelope(message, CUSTOMER, "Alex",
                                                         PHONE_NUMBER_ID)) == 200
    await state.processor.idle()
    await state.dispatcher.wait_quiet()
    async with state.sessions() as session:
        rows = {row.wamid: row for row in await session.exec(
            select(InboundMessage).where(col(InboundMessage.customer) == CUSTOMER))}
    assert rows["wamid.broken"].state == "failed"
    assert "KeyError" in (rows["wamid.broken"].error or "")
    assert all(row.state == "done" for wamid, row in rows.items() if wamid != "wamid.broken")
    sent = emulated.messages_to(CUSTOMER)
    texts = [m["payload"].get("text", {}).get("body", "") for m in sent]
    assert any("went wrong on our side" in text for text in texts)
    assert any(m["payload"]["type"] == "interactive"
               and "Falafel Wrap" in m["payload"]["interactive"]["body"]["text"] for m in sent)
