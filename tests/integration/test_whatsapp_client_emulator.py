"""The real Cloud API client driven against the local emulator over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from adapters.whatsapp_cloud import OutboundLimitError, WhatsAppCloudClient
from adapters.whatsapp_emulator import (
    EmulatorState,
    create_emulator_app,
    run_emulator,
)
from adapters.whatsapp_errors import (
    AuthError,
    GraphTransportError,
    RateLimitedError,
    ReEngagementError,
    TemporaryError,
)
from bench.ports import refused_port

TOKEN = "EAAG-test-token-0123456789abcdef"
WRONG_TOKEN = "EAAG-wrong-token-fedcba9876543210"
PHONE_ID = "2000000000000002"
CUSTOMER = "15550002222"
OTHER = "15550003333"


@pytest.fixture
async def emulator(aiohttp_server: AiohttpServer) -> TestServer:
    return await aiohttp_server(create_emulator_app(TOKEN, PHONE_ID))


def graph_url(server: TestServer) -> str:
    return str(server.make_url("/v23.0"))


@pytest.fixture
def client(emulator: TestServer, session: aiohttp.ClientSession) -> WhatsAppCloudClient:
    return WhatsAppCloudClient(session, graph_url(emulator), PHONE_ID, TOKEN)


async def control(
    session: aiohttp.ClientSession, server: TestServer, path: str, **body: Any
) -> dict[str, Any]:
    async with session.post(server.make_url(f"/_emulator/{path}"), json=body) as response:
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result


async def poll(
    session: aiohttp.ClientSession, server: TestServer, **query: str | int | float
) -> dict[str, Any]:
    params = {key: str(value) for key, value in query.items()}
    async with session.get(server.make_url("/_emulator/messages"), params=params) as response:
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


async def test_text_and_buttons_are_accepted_and_logged_per_recipient(
    client: WhatsAppCloudClient, state: EmulatorState
) -> None:
    first = await client.send_text(CUSTOMER, "Hi! What would you like?")
    second = await client.send_buttons(
        f"+{CUSTOMER}",
        "2x Margherita (L). Total $25.00. Confirm?",
        [("confirm_order:ORD-1", "Confirm order"), ("edit_order:ORD-1", "Change")],
        header="Your order",
        footer="Reply within 24h",
        reply_to=first,
    )
    other = await client.send_text(OTHER, "Hello")

    assert first.startswith("wamid.") and second.startswith("wamid.")
    assert len({first, second, other}) == 3
    logged = state.messages_to(CUSTOMER)
    assert [entry["id"] for entry in logged] == [first, second]
    assert [entry["seq"] for entry in logged] == [1, 2]
    assert logged[0]["payload"]["to"] == f"+{CUSTOMER}"  # the client added the '+'
    assert logged[1]["payload"]["context"] == {"message_id": first}
    assert logged[1]["payload"]["interactive"]["action"]["buttons"][1]["reply"]["title"] == "Change"
    assert [entry["id"] for entry in state.messages_to(f"+{OTHER}")] == [other]


async def test_list_and_mark_read_are_accepted(
    client: WhatsAppCloudClient,
    state: EmulatorState,
    session: aiohttp.ClientSession,
    emulator: TestServer,
) -> None:
    wamid = await client.send_list(
        CUSTOMER,
        "Which pizza size?",
        "Sizes",
        [("Pizza", [("size:m", "Medium (12 in)", "Serves 2"), ("size:l", "Large", None)])],
    )
    await client.mark_read("wamid.INBOUND1", typing=True)

    sections = state.messages_to(CUSTOMER)[0]["payload"]["interactive"]["action"]["sections"]
    assert sections == [
        {
            "title": "Pizza",
            "rows": [
                {"id": "size:m", "title": "Medium (12 in)", "description": "Serves 2"},
                {"id": "size:l", "title": "Large"},
            ],
        }
    ]
    assert wamid.startswith("wamid.")
    async with session.get(emulator.make_url("/_emulator/reads")) as response:
        reads = (await response.json())["reads"]
    assert [(r["message_id"], r["typing"]) for r in reads] == [("wamid.INBOUND1", True)]


async def test_over_limit_message_is_refused_before_any_http(
    client: WhatsAppCloudClient, state: EmulatorState
) -> None:
    with pytest.raises(OutboundLimitError) as caught:
        await client.send_buttons(CUSTOMER, "Confirm?", [("ok", "Yes, confirm my order")])

    assert "21 characters, max 20" in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert state.request_count == 0 and state.messages_to(CUSTOMER) == []


async def test_bad_token_is_auth_error_without_leaking_any_token(
    emulator: TestServer,
    session: aiohttp.ClientSession,
    state: EmulatorState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = WhatsAppCloudClient(session, graph_url(emulator), PHONE_ID, WRONG_TOKEN)

    with pytest.raises(AuthError) as caught:
        await client.send_text(CUSTOMER, "Hi")

    error = caught.value
    assert (error.code, error.http_status, error.retryable) == (190, 401, False)
    assert error.needs_owner_alert and error.fbtrace_id
    rendered = [
        str(error),
        repr(error),
        repr(error.args),
        "".join(traceback.format_exception(error)),
        repr(client),
        caplog.text,
    ]
    for text in rendered:
        assert WRONG_TOKEN not in text and TOKEN not in text
    assert state.messages_to(CUSTOMER) == []


async def test_injected_pair_rate_limit_is_retryable(
    client: WhatsAppCloudClient, session: aiohttp.ClientSession, emulator: TestServer
) -> None:
    await control(session, emulator, "fail", code=131056, http_status=400, times=1)

    with pytest.raises(RateLimitedError) as caught:
        await client.send_text(CUSTOMER, "Your order is confirmed")

    assert (caught.value.code, caught.value.retryable) == (131056, True)
    assert "pair rate limit" in caught.value.message
    assert (await client.send_text(CUSTOMER, "Your order is confirmed")).startswith("wamid.")


async def test_injected_re_engagement_is_not_retryable(
    client: WhatsAppCloudClient, session: aiohttp.ClientSession, emulator: TestServer
) -> None:
    await control(session, emulator, "fail", code=131047)

    with pytest.raises(ReEngagementError) as caught:
        await client.send_text(CUSTOMER, "Still hungry?")

    assert (caught.value.code, caught.value.http_status, caught.value.retryable) == (
        131047,
        400,
        False,
    )


async def test_failures_repeat_n_times_and_can_target_one_recipient(
    client: WhatsAppCloudClient,
    session: aiohttp.ClientSession,
    emulator: TestServer,
    state: EmulatorState,
) -> None:
    await control(session, emulator, "fail", code=131000, http_status=500, times=2, to=OTHER)

    assert await client.send_text(CUSTOMER, "unaffected")
    for _ in range(2):
        with pytest.raises(TemporaryError) as caught:
            await client.send_text(OTHER, "retry me")
        assert (caught.value.http_status, caught.value.retryable) == (500, True)
    assert await client.send_text(OTHER, "retry me")
    assert [e["payload"]["text"]["body"] for e in state.messages_to(OTHER)] == ["retry me"]


async def test_raw_invalid_payload_gets_graph_400_with_details(
    emulator: TestServer, session: aiohttp.ClientSession, state: EmulatorState
) -> None:
    payload = {
        "messaging_product": "whatsapp",
        "to": f"+{CUSTOMER}",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Confirm?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "t" * 21}}]},
        },
    }
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = emulator.make_url(f"/v23.0/{PHONE_ID}/messages")
    async with session.post(url, json=payload, headers=headers) as response:
        status, body = response.status, await response.json()

    assert status == 400
    assert body["error"]["code"] == 100 and body["error"]["type"] == "OAuthException"
    assert body["error"]["message"] == "(#100) Invalid parameter"
    assert "reply.title: 21 characters, max 20" in body["error"]["error_data"]["details"]
    assert body["error"]["fbtrace_id"]
    assert state.request_count == 1 and state.messages_to(CUSTOMER) == []


class Rejection(NamedTuple):
    path: str
    data: bytes
    token: str | None
    status: int
    code: int
    fragment: str


MESSAGES_PATH = f"/v23.0/{PHONE_ID}/messages"
REJECTIONS = [
    pytest.param(Rejection(MESSAGES_PATH, b"{x", TOKEN, 400, 100, "Invalid parameter"), id="json"),
    pytest.param(
        Rejection("/v23.0/999/messages", b"{}", TOKEN, 400, 100, "Unsupported post request"),
        id="unknown-phone-number-id",
    ),
    pytest.param(
        Rejection(MESSAGES_PATH, b"{}", None, 401, 190, "Invalid OAuth access token"),
        id="missing-token",
    ),
    pytest.param(
        Rejection(MESSAGES_PATH, b"{}", WRONG_TOKEN, 401, 190, "Cannot parse"), id="wrong-token"
    ),
]


@pytest.mark.parametrize("case", REJECTIONS)
async def test_emulator_rejects_like_graph(
    emulator: TestServer, session: aiohttp.ClientSession, case: Rejection
) -> None:
    headers = {"Content-Type": "application/json"}
    if case.token is not None:
        headers["Authorization"] = f"Bearer {case.token}"
    url = emulator.make_url(case.path)
    async with session.post(url, data=case.data, headers=headers) as response:
        assert response.status == case.status
        error = (await response.json())["error"]
    assert error["code"] == case.code and case.fragment in error["message"]


async def test_long_poll_returns_as_soon_as_a_message_arrives(
    client: WhatsAppCloudClient, session: aiohttp.ClientSession, emulator: TestServer
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(poll(session, emulator, to=CUSTOMER, after=0, wait=10))
    await asyncio.sleep(0.2)
    assert not waiting.done()

    wamid = await client.send_text(CUSTOMER, "Your pizza is in the oven")
    result = await asyncio.wait_for(waiting, timeout=3)

    assert loop.time() - started < 3
    assert [m["id"] for m in result["messages"]] == [wamid]
    assert result["last_seq"] == 1
    assert (await poll(session, emulator, to=CUSTOMER, after=1))["messages"] == []


async def test_long_poll_times_out_empty_and_filters_by_recipient(
    client: WhatsAppCloudClient, session: aiohttp.ClientSession, emulator: TestServer
) -> None:
    await client.send_text(OTHER, "not for the customer")
    loop = asyncio.get_running_loop()
    started = loop.time()

    result = await poll(session, emulator, to=CUSTOMER, after=0, wait=0.3)

    assert result["messages"] == [] and loop.time() - started >= 0.25
    assert len((await poll(session, emulator, after=0))["messages"]) == 1


async def test_reset_clears_the_log_but_seq_keeps_counting(
    client: WhatsAppCloudClient,
    session: aiohttp.ClientSession,
    emulator: TestServer,
    state: EmulatorState,
) -> None:
    await client.send_text(CUSTOMER, "one")
    await control(session, emulator, "reset")
    assert state.messages_to(CUSTOMER) == [] and state.reads == []

    await client.send_text(CUSTOMER, "two")
    assert [entry["seq"] for entry in state.messages_to(CUSTOMER)] == [2]


async def test_fail_endpoint_rejects_bad_rules(
    session: aiohttp.ClientSession, emulator: TestServer
) -> None:
    for rule in ({"times": 2}, {"code": 131000, "http_status": 200}, {"code": 4, "times": 0},
                 {"code": 131000, "read_receipts": "yes"},
                 {"code": 131000, "read_receipts": True, "to": CUSTOMER}):
        async with session.post(emulator.make_url("/_emulator/fail"), json=rule) as response:
            assert response.status == 400


async def test_connection_refused_is_transport_error(session: aiohttp.ClientSession) -> None:
    with refused_port() as port:
        client = WhatsAppCloudClient(session, f"http://127.0.0.1:{port}/v23.0", PHONE_ID, TOKEN)
        with pytest.raises(GraphTransportError) as caught:
            await client.send_text(CUSTOMER, "Hi")

    assert caught.value.retryable
    assert TOKEN not in "".join(traceback.format_exception(caught.value))


async def test_timeout_is_transport_error(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v23.0/{phone}/messages", stall)
    server = await aiohttp_server(app)
    client = WhatsAppCloudClient(session, graph_url(server), PHONE_ID, TOKEN, timeout=0.2)
    try:
        with pytest.raises(GraphTransportError, match=r"no answer within 0\.2s"):
            await client.send_text(CUSTOMER, "Hi")
    finally:
        release.set()


async def test_run_emulator_serves_and_shutdown_releases_pollers(
    session: aiohttp.ClientSession,
) -> None:
    runner = await run_emulator("127.0.0.1", 0, TOKEN, PHONE_ID)
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    client = WhatsAppCloudClient(session, f"{base}/v23.0", PHONE_ID, TOKEN)
    assert await client.send_text(CUSTOMER, "served")

    async def long_poll() -> None:
        url = f"{base}/_emulator/messages"
        async with session.get(url, params={"after": "1", "wait": "30"}) as response:
            await response.read()

    waiting = asyncio.create_task(long_poll())
    await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await runner.cleanup()
    await asyncio.wait_for(waiting, timeout=3)

    assert loop.time() - started < 3


async def test_a_read_receipt_failure_rule_fails_receipts_only(
    client: WhatsAppCloudClient, session: aiohttp.ClientSession, emulator: TestServer,
    state: EmulatorState,
) -> None:
    async with session.post(emulator.make_url("/_emulator/fail"),
                            json={"code": 131000, "http_status": 500, "read_receipts": True}):
        pass
    await client.send_text(CUSTOMER, "Hi")  # a message is not what the rule is for
    with pytest.raises(TemporaryError) as caught:
        await client.mark_read("wamid.in1")
    assert caught.value.code == 131000
    await client.mark_read("wamid.in1")  # one failure only
    assert len(state.messages_to(CUSTOMER)) == 1 and len(state.reads) == 1
