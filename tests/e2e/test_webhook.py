"""The real server over HTTP with signed payloads; the emulator stands in for the Graph API."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func
from sqlmodel import select

from adapters.db import InboundMessage, StatusEvent
from adapters.whatsapp_emulator import EmulatorState
from bot.security import sign
from bot.state import APP_STATE
from tests.conftest import APP_SECRET, CUSTOMER, VERIFY_TOKEN, post_signed
from tests.paths import whatsapp_fixture

Client = TestClient[web.Request, web.Application]


async def count(client: Client, model: type, **where: object) -> int:
    sessions = client.app[APP_STATE].sessions
    async with sessions() as session:
        statement = select(func.count()).select_from(model)
        for column, value in where.items():
            statement = statement.where(getattr(model, column) == value)
        return int((await session.exec(statement)).one())


async def settle(client: Client) -> None:
    """Let the background processing and the outbox finish their current work."""
    state = client.app[APP_STATE]
    await state.processor.idle()
    await state.dispatcher.wait_quiet()


def texts_to(emulated: EmulatorState, who: str = CUSTOMER) -> list[str]:
    bodies = []
    for entry in emulated.messages_to(who):
        payload = entry["payload"]
        bodies.append(payload["text"]["body"] if payload["type"] == "text"
                      else payload["interactive"]["body"]["text"])
    return bodies


async def test_verification_handshake_echoes_the_challenge(bot: Client) -> None:
    ok = await bot.get("/webhook", params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                           "hub.verify_token": VERIFY_TOKEN})
    assert ok.status == 200
    assert await ok.text() == "1158201444"
    assert ok.content_type == "text/plain"
    wrong = await bot.get("/webhook", params={"hub.mode": "subscribe", "hub.challenge": "1",
                                              "hub.verify_token": "guess"})
    assert wrong.status == 403
    no_mode = await bot.get("/webhook", params={"hub.challenge": "1",
                                                "hub.verify_token": VERIFY_TOKEN})
    assert no_mode.status == 403


async def test_unsigned_and_badly_signed_posts_are_refused_and_ignored(
    bot: Client, emulated: EmulatorState
) -> None:
    body = whatsapp_fixture("text_message.json")
    missing = await bot.post("/webhook", data=body,
                             headers={"Content-Type": "application/json"})
    assert missing.status == 401
    assert await post_signed(bot, body, secret="wrong-secret") == 403
    tampered = body.replace(b"2 large", b"9 large")
    original_signature = sign(body, APP_SECRET)
    forged = await bot.post("/webhook", data=tampered,
                            headers={"X-Hub-Signature-256": original_signature})
    assert forged.status == 403
    await settle(bot)
    assert await count(bot, InboundMessage) == 0
    assert emulated.messages_to(CUSTOMER) == []


async def test_signed_garbage_gets_a_4xx_not_a_crash(bot: Client) -> None:
    for body in (b"not json", b"[]", b'{"object":"page","entry":[]}', b"\xff\xfe"):
        assert await post_signed(bot, body) == 400
    assert (await bot.get("/healthz")).status == 200


async def test_a_text_message_is_read_and_answered(bot: Client, emulated: EmulatorState) -> None:
    assert await post_signed(bot, whatsapp_fixture("text_message.json")) == 200
    await settle(bot)
    replies = emulated.messages_to(CUSTOMER)
    assert replies, "the customer got no answer"
    assert all(entry["payload"]["to"] == "+15550002222" for entry in replies)
    assert [r["message_id"] for r in emulated.reads] == [
        "wamid.HBgLMTU1NTAwMDIyMjIVAgASGBRGQUtFMDAwMDAwMDAwMDAwMDAwMQA="]


async def test_duplicate_delivery_is_acknowledged_and_answered_once(
    bot: Client, emulated: EmulatorState
) -> None:
    body = whatsapp_fixture("text_message.json")
    assert await post_signed(bot, body) == 200
    await settle(bot)
    answered_once = len(emulated.messages_to(CUSTOMER))
    for _ in range(3):
        assert await post_signed(bot, body) == 200
    await settle(bot)
    assert len(emulated.messages_to(CUSTOMER)) == answered_once
    assert await count(bot, InboundMessage) == 1


async def test_batch_of_two_messages_is_processed_in_order(
    bot: Client, emulated: EmulatorState
) -> None:
    assert await post_signed(bot, whatsapp_fixture("batch_two_messages.json")) == 200
    await settle(bot)
    assert await count(bot, InboundMessage, state="done") == 2
    bodies = texts_to(emulated)
    # Both arrived together, so they are answered as one burst: the pin (out of context, it is
    # acknowledged), then the one summary, which shows "Also add garlic bread" became a line.
    assert "location" in bodies[0]
    assert "Garlic Bread" in bodies[-1]
    assert len(bodies) == 2


async def test_status_callbacks_are_recorded_once_and_answered_200(bot: Client) -> None:
    for name in ("status_sent.json", "status_sent.json", "status_failed.json"):
        assert await post_signed(bot, whatsapp_fixture(name)) == 200
    assert await count(bot, StatusEvent) == 2
    assert await count(bot, StatusEvent, status="failed", error_code=131047) == 1
    assert await count(bot, InboundMessage) == 0


async def test_every_sample_payload_gets_200_and_no_crash(
    bot: Client, emulated: EmulatorState
) -> None:
    names = ["audio_voice.json", "image.json", "sticker.json", "document.json", "location.json",
             "reaction.json", "contacts.json", "unsupported.json", "errors_value_level.json",
             "order_cart.json", "interactive_list_reply.json", "button_quick_reply.json",
             "text_reply_context.json", "text_username_bsuid.json"]
    for name in names:
        assert await post_signed(bot, whatsapp_fixture(name)) == 200, name
    await settle(bot)
    assert await count(bot, InboundMessage, state="pending") == 0
    assert await count(bot, InboundMessage, state="failed") == 0
    assert emulated.messages_to(CUSTOMER)


async def test_large_bodies_up_to_three_megabytes_are_accepted(bot: Client) -> None:
    body = json.loads(whatsapp_fixture("text_message.json"))
    body["entry"][0]["changes"][0]["value"]["padding"] = "x" * (2_500_000)
    raw = json.dumps(body).encode()
    assert len(raw) > 1024 * 1024
    assert await post_signed(bot, raw) == 200
