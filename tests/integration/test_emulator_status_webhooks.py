"""The emulator reports statuses like Meta, and the client tells a lost answer from no send.

Real HTTP: the Cloud API client against the emulator, the emulator's signed status webhooks
against a small receiver standing in for the bot's webhook.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from adapters.whatsapp_cloud import OutboundLimitError, WhatsAppCloudClient
from adapters.whatsapp_emulator import (
    EmulatorState,
    StallRule,
    StatusWebhook,
    create_emulator_app,
)
from adapters.whatsapp_errors import (
    GraphAPIError,
    GraphOutcomeUnknownError,
    GraphTransportError,
    delivery_error,
)
from adapters.whatsapp_limits import MAX_BIZ_OPAQUE_CALLBACK_DATA
from bench.ports import refused_port
from bot.security import signature_matches
from bot.whatsapp_payloads import parse_notification
from tests.paths import whatsapp_fixture

TOKEN = "EAAG-test-token-0123456789abcdef"
PHONE_ID = "2000000000000002"
SECRET = "receiver-app-secret"
CUSTOMER = "15550002222"


@dataclass
class Receiver:
    """The bot's webhook, reduced to checking signatures and keeping what arrives."""

    refuse_first: int = 0  # answer 503 to this many posts first (the server is restarting)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    posts: int = 0

    async def receive(self, request: web.Request) -> web.Response:
        self.posts += 1
        body = await request.read()
        if not signature_matches(body, request.headers.get("X-Hub-Signature-256"), SECRET):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=403)
        if self.refuse_first:
            self.refuse_first -= 1
            return web.json_response({"error": "restarting"}, status=503)
        self.bodies.append(json.loads(body))
        return web.json_response({"received": 0})

    def statuses(self) -> list[dict[str, Any]]:
        return [body["entry"][0]["changes"][0]["value"]["statuses"][0] for body in self.bodies]


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer) -> tuple[Receiver, TestServer]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/webhook", receiver.receive)
    return receiver, await aiohttp_server(app)


@pytest.fixture
async def emulator(aiohttp_server: AiohttpServer,
                   receiver: tuple[Receiver, TestServer]) -> TestServer:
    hook = StatusWebhook(str(receiver[1].make_url("/webhook")), SECRET, give_up_after=5.0)
    return await aiohttp_server(create_emulator_app(TOKEN, PHONE_ID, hook))


def client_for(session: aiohttp.ClientSession, emulator: TestServer,
               timeout: float = 5.0) -> WhatsAppCloudClient:
    return WhatsAppCloudClient(session, str(emulator.make_url("/v23.0")), PHONE_ID, TOKEN,
                               timeout=timeout)


def text(body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
            "type": "text", "text": {"preview_url": False, "body": body}}


def shape(value: Any) -> Any:
    """The keys at every level, values left out (lists by their first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


async def test_every_accepted_message_is_reported_sent_then_delivered_echoing_its_key(
    session: aiohttp.ClientSession, emulator: TestServer, state: EmulatorState,
    receiver: tuple[Receiver, TestServer],
) -> None:
    hook = receiver[0]
    answer = await client_for(session, emulator).send_payload(
        text("Your order is confirmed"), callback_data="reply:wamid.IN1:0")
    await state.statuses_reported()

    wamid = answer["messages"][0]["id"]
    assert [(s["id"], s["status"], s["biz_opaque_callback_data"]) for s in hook.statuses()] == [
        (wamid, "sent", "reply:wamid.IN1:0"), (wamid, "delivered", "reply:wamid.IN1:0")]
    assert hook.bad_signatures == 0 and state.statuses_posted == {"sent": 1, "delivered": 1}
    # Meta's shape (the sample status webhook), plus the callback data we set.
    expected = shape(json.loads(whatsapp_fixture("status_sent.json")))
    value = expected["entry"][0]["changes"][0]["value"]
    value["statuses"][0]["biz_opaque_callback_data"] = "str"
    # The emulator knows no business-scoped user id for a phone number.
    del value["statuses"][0]["recipient_user_id"], value["contacts"][0]["user_id"]
    assert shape(hook.bodies[0]) == expected
    # ... and the bot reads it as a status of that message, with the key.
    [status] = parse_notification(hook.bodies[0]).statuses
    assert (status.wamid, status.status, status.recipient, status.opaque) == (
        wamid, "sent", CUSTOMER, "reply:wamid.IN1:0")


async def test_a_send_accepted_after_a_stall_is_reported_though_the_client_gave_up(
    session: aiohttp.ClientSession, emulator: TestServer, state: EmulatorState,
    receiver: tuple[Receiver, TestServer],
) -> None:
    state.stalls.append(StallRule(seconds=0.4, to=CUSTOMER))
    with pytest.raises(GraphOutcomeUnknownError, match="no answer within"):
        await client_for(session, emulator, timeout=0.1).send_payload(
            text("Total: $7.50"), callback_data="reply:wamid.IN2:0")
    await asyncio.sleep(0.5)
    await state.statuses_reported()
    [accepted] = state.messages_to(CUSTOMER)
    assert [(s["id"], s["biz_opaque_callback_data"]) for s in receiver[0].statuses()] == [
        (accepted["id"], "reply:wamid.IN2:0")] * 2


async def test_a_status_the_server_does_not_acknowledge_is_posted_again(
    session: aiohttp.ClientSession, emulator: TestServer, state: EmulatorState,
    receiver: tuple[Receiver, TestServer],
) -> None:
    receiver[0].refuse_first = 2
    await client_for(session, emulator).send_payload(text("hello"), callback_data="k1")
    await state.statuses_reported()
    assert [s["status"] for s in receiver[0].statuses()] == ["sent", "delivered"]
    assert receiver[0].posts == 4 and state.statuses_dropped == 0


async def test_callback_data_over_512_characters_is_refused(
    session: aiohttp.ClientSession, emulator: TestServer, state: EmulatorState,
) -> None:
    longest = "k" * MAX_BIZ_OPAQUE_CALLBACK_DATA
    assert MAX_BIZ_OPAQUE_CALLBACK_DATA == 512
    client = client_for(session, emulator)
    await client.send_payload(text("fits"), callback_data=longest)
    # The client refuses before sending anything ...
    with pytest.raises(OutboundLimitError, match="biz_opaque_callback_data: 513 characters"):
        await client.send_payload(text("too long"), callback_data=longest + "k")
    assert state.request_count == 1
    # ... and so does the emulator, as Graph would (#100).
    async with session.post(emulator.make_url(f"/v23.0/{PHONE_ID}/messages"),
                            json=text("too long") | {"biz_opaque_callback_data": longest + "k"},
                            headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        answer = await response.json()
    assert response.status == 400 and answer["error"]["code"] == 100
    assert "biz_opaque_callback_data" in answer["error"]["error_data"]["details"]
    assert [m["payload"]["text"]["body"] for m in state.messages_to(CUSTOMER)] == ["fits"]


async def test_read_receipts_carry_no_callback_data(
    session: aiohttp.ClientSession, emulator: TestServer, state: EmulatorState,
    receiver: tuple[Receiver, TestServer],
) -> None:
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN3"}
    assert await client_for(session, emulator).send_payload(read, callback_data="read:x") == {
        "success": True}
    await state.statuses_reported()
    assert receiver[0].bodies == [] and len(state.reads) == 1


async def test_no_connection_is_a_plain_transport_error_not_an_unknown_outcome(
    session: aiohttp.ClientSession,
) -> None:
    with refused_port() as port:
        client = WhatsAppCloudClient(session, f"http://127.0.0.1:{port}/v23.0", PHONE_ID, TOKEN)
        with pytest.raises(GraphTransportError) as caught:
            await client.send_payload(text("hello"), callback_data="k")
    assert not isinstance(caught.value, GraphOutcomeUnknownError)
    assert not delivery_error(caught.value).uncertain  # retried on the usual backoff
    unknown = delivery_error(GraphOutcomeUnknownError("no answer within 10s"))
    assert unknown.uncertain and unknown.retryable
    assert not delivery_error(GraphAPIError(131000, "Something went wrong", 500)).uncertain
