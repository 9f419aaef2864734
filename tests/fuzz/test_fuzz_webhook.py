"""Fuzzing POST /webhook on the real app over HTTP: odd bodies never crash it or change orders.

One app serves all the examples of a test (the fixtures are function-scoped, so Hypothesis reuses
them: `HealthCheck.function_scoped_fixture` is suppressed on purpose). That is how the real server
lives, one long-running process taking every body Meta sends, and it makes the fuzzing harsher:
the customer's conversation carries over from one odd message to the next. Each example
therefore checks its own effect (rows before/after, the log records it caused).
"""

from __future__ import annotations

import itertools
import json
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from adapters.db import ConversationRow, InboundMessage, OrderRow, OutboxItem, StatusEvent
from adapters.whatsapp_emulator import EmulatorState
from bot.app import create_app
from bot.config import Settings
from bot.security import sign
from bot.state import APP_STATE
from bot.whatsapp_payloads import MAX_JSON_DEPTH
from tests.conftest import APP_SECRET, CUSTOMER, ClientFactory, post_signed
from tests.fuzz.budget import examples
from tests.fuzz.strategies import ODD_PIECES, deeply_nested, encode, webhook_body
from tests.paths import whatsapp_fixture

Client = TestClient[web.Request, web.Application]

SHARED_APP = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
_fresh_ids = itertools.count(1)


def fresh_wamids(body: bytes) -> bytes:
    """Give the sample's message ids a new prefix, so this body is not a duplicate delivery of an
    earlier example (which would be acknowledged and never processed again)."""
    return body.replace(b'"wamid.', b'"wamid.fuzz%d-' % next(_fresh_ids))


async def rows(client: Client, model: type, *where: ColumnElement[bool]) -> int:
    async with client.app[APP_STATE].sessions() as session:
        statement = select(func.count()).select_from(model)
        for condition in where:
            statement = statement.where(condition)
        return int((await session.exec(statement)).one())


async def snapshot(client: Client) -> tuple[object, ...]:
    """Everything an unsigned request must not touch: messages, statuses, conversations, orders."""
    async with client.app[APP_STATE].sessions() as session:
        conversations = list(await session.exec(
            select(ConversationRow.customer, ConversationRow.version, ConversationRow.state)))
        orders = list(await session.exec(select(OrderRow.id)))
    return (await rows(client, InboundMessage), await rows(client, StatusEvent),
            conversations, orders)


async def settle(client: Client) -> None:
    state = client.app[APP_STATE]
    await state.processor.idle()
    await state.dispatcher.wait_quiet()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records: an unhandled exception in a handler (aiohttp.server), a message the
    processor could not handle (bot.processing), a reply WhatsApp refused (bot.dispatcher)."""
    return [f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records
            if r.levelno >= logging.ERROR]


async def dead_letters(client: Client) -> list[str]:
    """Outbox rows given up on (a reply WhatsApp refused)."""
    async with client.app[APP_STATE].sessions() as session:
        dead = await session.exec(select(OutboxItem).where(col(OutboxItem.state) == "dead"))
        return [f"{row.id}: {row.last_error}" for row in dead]


@pytest.fixture
async def bot(aiohttp_client: ClientFactory, settings_unlimited: Settings) -> Client:
    return await aiohttp_client(create_app(settings_unlimited))


@pytest.fixture
async def seeded(bot: Client) -> Client:
    """The app with one customer mid-order, so there is a conversation an attacker could touch."""
    assert await post_signed(bot, whatsapp_fixture("text_message.json")) == 200
    await settle(bot)
    assert await rows(bot, ConversationRow) == 1
    return bot


@settings(max_examples=examples(150), suppress_health_check=SHARED_APP)
@given(body=webhook_body())
async def test_signed_odd_bodies_get_200_or_400_and_every_stored_message_is_handled(
    seeded: Client, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.clear()
    caplog.set_level(logging.WARNING)
    stored = await rows(seeded, InboundMessage)
    status = await post_signed(seeded, fresh_wamids(body))
    assert status in (200, 400), status  # Meta retries anything else, for days
    await settle(seeded)
    # (--hypothesis-show-statistics shows how much of the fuzzing got past the envelope)
    event(f"HTTP {status}, stored {min(await rows(seeded, InboundMessage) - stored, 2)}")
    assert errors_logged(caplog) == []
    # Stored means acknowledged: it must have been handled, not left pending or failed.
    assert await rows(seeded, InboundMessage, col(InboundMessage.state) != "done") == 0
    assert await dead_letters(seeded) == []
    assert (await seeded.get("/healthz")).status == 200


@settings(max_examples=examples(60), suppress_health_check=SHARED_APP)
@given(body=webhook_body(),
       signature=st.sampled_from(("none", "empty", "wrong_secret", "other_body", "truncated",
                                  "no_prefix", "sha1", "garbage", "uppercase_hex")))
async def test_unsigned_or_wrongly_signed_bodies_are_refused_and_change_nothing(
    seeded: Client, caplog: pytest.LogCaptureFixture, body: bytes, signature: str
) -> None:
    caplog.clear()
    body = fresh_wamids(body)
    good = sign(body, APP_SECRET)  # "sha256=<hex>"
    header = {
        "none": None,
        "empty": "",
        "wrong_secret": sign(body, "not-the-app-secret"),
        "other_body": sign(body + b" ", APP_SECRET),  # tampered after signing
        "truncated": good[:-1],
        "no_prefix": good.removeprefix("sha256="),
        "sha1": "sha1=" + good.removeprefix("sha256=")[:40],
        "garbage": "sha256=" + "\u00e9\u200d" * 32,
        "uppercase_hex": "sha256=" + ("G" * 64),
    }[signature]
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    before = await snapshot(seeded)
    response = await seeded.post("/webhook", data=body, headers=headers)
    assert response.status in (401, 403), response.status
    await settle(seeded)
    assert await snapshot(seeded) == before
    assert errors_logged(caplog) == []


@settings(max_examples=examples(25), suppress_health_check=SHARED_APP)
@given(text=st.one_of(st.sampled_from(ODD_PIECES), st.text(max_size=60)),
       repeat=st.integers(1, 5_000))
async def test_a_signed_text_of_any_characters_is_answered(
    seeded: Client, caplog: pytest.LogCaptureFixture, text: str, repeat: int
) -> None:
    """A real text message whose body is odd unicode (up to WhatsApp's 4096-character cap and
    beyond): stored, answered, never failed."""
    caplog.clear()
    payload = json.loads(whatsapp_fixture("text_message.json"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"] = (text * repeat)[:20_000]
    message["id"] = f"wamid.fuzz-text-{next(_fresh_ids)}"
    answered = await rows(seeded, OutboxItem)
    assert await post_signed(seeded, json.dumps(payload).encode()) == 200
    await settle(seeded)
    assert errors_logged(caplog) == []
    assert await rows(seeded, InboundMessage, col(InboundMessage.state) != "done") == 0
    assert await rows(seeded, OutboxItem) > answered, "the customer got no answer"
    assert await dead_letters(seeded) == []


# ---- what the fuzzing found, kept as plain regression tests -----------------------------------

async def test_a_deeply_nested_signed_body_is_refused_with_400_not_a_crash(bot: Client) -> None:
    body = json.loads(whatsapp_fixture("text_message.json"))
    body["entry"][0]["changes"][0]["value"]["extra"] = "@@deep:5000@@"
    assert await post_signed(bot, encode(body, ascii_only=True)) == 400  # past the recursion limit
    body["entry"][0]["changes"][0]["value"]["extra"] = deeply_nested(MAX_JSON_DEPTH)
    assert await post_signed(bot, encode(body, ascii_only=True)) == 400  # readable, but no WhatsApp
    assert await post_signed(bot, b"[" * 100_000) == 400
    for scalar in (b"null", b"5", b'"\\ud800"', b"true"):  # my own first fix crashed on these
        assert await post_signed(bot, scalar) == 400
    assert await rows(bot, InboundMessage) == 0


async def test_a_message_timestamp_that_is_no_epoch_second_is_still_stored_and_answered(
    bot: Client,
) -> None:
    """Once a 500 (int(inf) raised OverflowError) or a 503 (10**30 overflowed the INTEGER
    column) that Meta would have retried for days, blocking the real messages of the batch."""
    odd = (str(10**30), "-1e999", "1e400", '"1e400"', "-5", '"99999999999999999999"', "1.5")
    for number, timestamp in enumerate(odd):
        raw = whatsapp_fixture("text_message.json").decode()
        raw = raw.replace('"timestamp": "1767261600"', f'"timestamp": {timestamp}')
        raw = raw.replace('"wamid.', f'"wamid.t{number}-')
        assert await post_signed(bot, raw.encode()) == 200, timestamp
    await settle(bot)
    assert await rows(bot, InboundMessage, col(InboundMessage.state) == "done") == len(odd)
    assert await rows(bot, ConversationRow, col(ConversationRow.customer) == CUSTOMER) == 1


async def test_nan_and_infinity_are_not_json_and_get_400(bot: Client) -> None:
    for constant in ("Infinity", "-Infinity", "NaN"):
        raw = whatsapp_fixture("text_message.json").decode()
        raw = raw.replace('"timestamp": "1767261600"', f'"timestamp": {constant}')
        assert await post_signed(bot, raw.encode()) == 400, constant
    assert await rows(bot, InboundMessage) == 0


async def test_a_status_error_code_too_big_for_the_column_is_dropped_not_a_503(
    bot: Client,
) -> None:
    raw = whatsapp_fixture("status_failed.json").decode().replace("131047", str(10**30))
    assert await post_signed(bot, raw.encode()) == 200
    assert await rows(bot, StatusEvent, col(StatusEvent.error_code).is_(None)) == 1


async def test_a_lone_surrogate_or_nul_in_a_name_does_not_wedge_the_customer(
    bot: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """JSON may escape a lone surrogate or NUL. In a message id it got a 503 (Meta retries for
    days); in the profile name the conversation could not be saved, the message stayed pending
    and every later message of that customer queued behind it, unanswered."""
    odd = [("name", "Al\ud800ex"), ("name", "A\x00"), ("text", "hi \udfff pepsi"),
           ("id", "wamid.\ud800x"), ("id", "wamid.\x00z"), ("text", "2 pepsi\x00")]
    for number, (field, value) in enumerate(odd):
        body = json.loads(whatsapp_fixture("text_message.json"))
        change = body["entry"][0]["changes"][0]["value"]
        message = change["messages"][0]
        message["id"] = f"wamid.odd{number}" if field != "id" else value + str(number)
        if field == "name":
            change["contacts"][0]["profile"]["name"] = value
        elif field == "text":
            message["text"]["body"] = value
        assert await post_signed(bot, json.dumps(body).encode()) == 200, value
        await settle(bot)
    assert await rows(bot, InboundMessage, col(InboundMessage.state) == "done") == len(odd)
    assert errors_logged(caplog) == []


async def test_a_sender_that_is_no_phone_number_or_user_id_is_skipped_not_answered(
    bot: Client,
) -> None:
    """Was stored and processed, and every reply died at WhatsApp ("to: must be digits")."""
    for number, sender in enumerate(("1555 0002222", "1" * 300, "+15550002222", "")):
        raw = whatsapp_fixture("text_message.json").decode()
        raw = raw.replace('"from": "15550002222"', f'"from": {json.dumps(sender)}')
        raw = raw.replace('"from_user_id": "US.1000000000000000001",', "")
        raw = raw.replace('"wamid.', f'"wamid.s{number}-')
        assert await post_signed(bot, raw.encode()) == 200, sender
    await settle(bot)
    assert await rows(bot, InboundMessage) == 0
    assert await rows(bot, OutboxItem) == 0


async def test_a_username_only_customer_gets_an_answer(
    bot: Client, emulated: EmulatorState
) -> None:
    assert await post_signed(bot, whatsapp_fixture("text_username_bsuid.json")) == 200
    await settle(bot)
    assert await rows(bot, OutboxItem, col(OutboxItem.state) == "dead") == 0
    [reply] = [m for m in emulated.messages_to("US.1000000000000000002")]
    assert reply["payload"]["recipient"] == "US.1000000000000000002"
    assert "to" not in reply["payload"]
