"""The emulator's chaos mode (POST /_emulator/chaos): seeded random failures and stalls, driven
through the real Cloud API client over real HTTP (bench/chaos.py relies on all of this)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from adapters.whatsapp_cloud import WhatsAppCloudClient
from adapters.whatsapp_emulator import EmulatorState, create_emulator_app
from adapters.whatsapp_errors import GraphAPIError, GraphTransportError, WhatsAppError

TOKEN = "EAAG-chaos-token-0123456789abcdef"
PHONE_ID = "2000000000000002"
CUSTOMER = "15550002222"


@pytest.fixture
async def emulator(aiohttp_server: AiohttpServer) -> TestServer:
    return await aiohttp_server(create_emulator_app(TOKEN, PHONE_ID))


def client(emulator: TestServer, session: aiohttp.ClientSession,
           timeout: float = 10.0) -> WhatsAppCloudClient:
    return WhatsAppCloudClient(session, str(emulator.make_url("/v23.0")), PHONE_ID, TOKEN,
                               timeout=timeout)


async def chaos(session: aiohttp.ClientSession, emulator: TestServer,
                body: Any) -> tuple[int, dict[str, Any]]:
    async with session.post(emulator.make_url("/_emulator/chaos"), json=body) as response:
        answer: dict[str, Any] = await response.json()
        return response.status, answer


async def report(session: aiohttp.ClientSession, emulator: TestServer) -> dict[str, Any]:
    async with session.get(emulator.make_url("/_emulator/chaos")) as response:
        answer: dict[str, Any] = await response.json()
        return answer


async def outcomes(sender: WhatsAppCloudClient, count: int) -> list[str]:
    """'ok' or the error code of each of `count` sends."""
    seen = []
    for index in range(count):
        try:
            await sender.send_text(CUSTOMER, f"message {index}")
            seen.append("ok")
        except GraphAPIError as error:
            seen.append(str(error.code if error.code != -1 else f"HTTP {error.http_status}"))
    return seen


async def test_every_send_fails_with_the_chosen_codes_and_nothing_is_delivered(
    emulator: TestServer, session: aiohttp.ClientSession, state: EmulatorState
) -> None:
    status, _ = await chaos(session, emulator, {"fail_rate": 1, "codes": [131000, 130429, 503]})
    assert status == 200

    errors: list[WhatsAppError] = []
    for _ in range(30):
        with pytest.raises(GraphAPIError) as caught:
            await client(emulator, session).send_text(CUSTOMER, "Your order is confirmed")
        errors.append(caught.value)

    assert state.messages_to(CUSTOMER) == []
    # Each is what the client's retry policy sees from Meta: all retryable, by code or status.
    assert all(error.retryable for error in errors)
    by_kind = {(e.code, e.http_status) for e in errors if isinstance(e, GraphAPIError)}
    assert by_kind == {(131000, 500), (130429, 429), (-1, 503)}
    counted = (await report(session, emulator))["chaos"]["failed"]
    assert sum(counted.values()) == 30 and set(counted) == {"131000", "130429", "503"}


async def test_the_same_seed_gives_the_same_faults_and_zero_rates_turn_it_off(
    emulator: TestServer, session: aiohttp.ClientSession
) -> None:
    rule = {"fail_rate": 0.5, "codes": [131000, 131016], "seed": 42}
    await chaos(session, emulator, rule)
    first = await outcomes(client(emulator, session), 20)
    await chaos(session, emulator, rule)
    second = await outcomes(client(emulator, session), 20)
    await chaos(session, emulator, {**rule, "seed": 43})
    other_seed = await outcomes(client(emulator, session), 20)

    assert first == second
    assert "ok" in first and {"131000", "131016"} <= set(first)
    assert other_seed != first

    status, answer = await chaos(session, emulator, {"fail_rate": 0, "stall_rate": 0})
    assert (status, answer) == (200, {"chaos": None})
    assert await outcomes(client(emulator, session), 5) == ["ok"] * 5
    assert await report(session, emulator) == {"chaos": None}


async def test_a_stall_past_the_client_timeout_still_delivers_the_message(
    emulator: TestServer, session: aiohttp.ClientSession, state: EmulatorState
) -> None:
    """The ambiguous case a real sender must live with: no answer, yet the customer got it."""
    await chaos(session, emulator, {"stall_rate": 1, "stall_seconds": 0.5})

    with pytest.raises(GraphTransportError):
        await client(emulator, session, timeout=0.1).send_text(CUSTOMER, "Order #1001 confirmed")
    assert state.messages_to(CUSTOMER) == []  # not yet: the emulator is still stalling

    for _ in range(50):
        if state.messages_to(CUSTOMER):
            break
        await asyncio.sleep(0.05)
    delivered = state.messages_to(CUSTOMER)
    assert [entry["payload"]["text"]["body"] for entry in delivered] == ["Order #1001 confirmed"]
    counted = (await report(session, emulator))["chaos"]
    assert counted["stalled"] == 1 and counted["stalled_ids"] == [delivered[0]["id"]]


async def test_a_short_stall_is_only_a_slow_answer(
    emulator: TestServer, session: aiohttp.ClientSession, state: EmulatorState
) -> None:
    await chaos(session, emulator, {"stall_rate": 1, "stall_seconds": 0.05})
    wamid = await client(emulator, session).send_text(CUSTOMER, "hello")
    assert [entry["id"] for entry in state.messages_to(CUSTOMER)] == [wamid]


async def test_fail_rules_still_work_and_reset_turns_chaos_off(
    emulator: TestServer, session: aiohttp.ClientSession
) -> None:
    await chaos(session, emulator, {"stall_rate": 0.0001, "seed": 1})
    async with session.post(emulator.make_url("/_emulator/fail"),
                            json={"code": 131047, "times": 1}) as response:
        assert response.status == 200
    assert await outcomes(client(emulator, session), 2) == ["131047", "ok"]

    async with session.post(emulator.make_url("/_emulator/reset")) as response:
        assert response.status == 200
    assert await report(session, emulator) == {"chaos": None}


@pytest.mark.parametrize("body", [
    [0.5],
    {"fail_rate": 1.5},
    {"fail_rate": 0.6, "stall_rate": 0.6},
    {"fail_rate": "often"},
    {"fail_rate": 0.1, "codes": []},
    {"fail_rate": 0.1, "codes": [131047]},  # permanent: chaos is about what retries survive
    {"fail_rate": 0.1, "codes": ["500"]},
    {"stall_rate": 0.1, "stall_seconds": -1},
    {"stall_rate": 0.1, "stall_seconds": 1e9},
    {"fail_rate": 0.1, "seed": "x"},
])
async def test_bad_chaos_rules_are_refused_and_change_nothing(
    emulator: TestServer, session: aiohttp.ClientSession, body: Any
) -> None:
    status, answer = await chaos(session, emulator, body)
    assert status == 400 and answer["error"]
    assert await report(session, emulator) == {"chaos": None}
