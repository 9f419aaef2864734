"""The retry budget of each kind of failure, backoff, Retry-After, and how adapters classify."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from adapters.delivery import (
    DEFAULT_BUDGETS,
    DeliveryError,
    FailureKind,
    RetryPolicy,
    parse_retry_after,
)
from adapters.kitchen_http import HttpKitchen
from adapters.whatsapp_errors import (
    GraphTransportError,
    OutboundLimitError,
    delivery_error,
    delivery_kind,
    error_from_response,
)
from bot.alerts import auth_alert, dead_letter_alert, is_alert_row, owner_number

ServerFactory = Callable[..., Awaitable[TestServer]]
POLICY = RetryPolicy(base_seconds=1.0, max_seconds=300.0)


def attempts_until_dead(policy: RetryPolicy, error: DeliveryError) -> int:
    """Fail a row with the same error again and again: how many attempts does it get?"""
    attempts = 0
    while True:
        attempts += 1
        if policy.next_delay(error, attempts, rand=lambda: 0.5) is None:
            return attempts
        assert attempts < 100, "never gives up"


@pytest.mark.parametrize(("kind", "attempts"), [
    (FailureKind.TRANSIENT, 12), (FailureKind.FLAKY, 3),
    (FailureKind.PERMANENT, 1), (FailureKind.AUTH, 1),
])
def test_each_kind_of_failure_gets_its_own_number_of_attempts(
    kind: FailureKind, attempts: int
) -> None:
    assert attempts_until_dead(POLICY, DeliveryError("x", kind=kind)) == attempts
    assert DEFAULT_BUDGETS[kind] == attempts


def test_transient_failures_are_retried_for_about_twenty_minutes() -> None:
    error = DeliveryError("down", kind=FailureKind.TRANSIENT)
    waits = [POLICY.next_delay(error, n, rand=lambda: 0.5) for n in range(1, 12)]
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]  # doubling from the base (no jitter at 0.5)
    assert waits[-1] == 300.0  # capped
    total = sum(w for w in waits if w is not None)
    assert 15 * 60 < total < 30 * 60


def test_jitter_spreads_a_retry_by_a_quarter_either_way() -> None:
    assert POLICY.backoff(3, rand=lambda: 0.0) == 3.0
    assert POLICY.backoff(3, rand=lambda: 1.0) == 5.0
    assert POLICY.backoff(20, rand=lambda: 1.0) == 375.0  # the cap is jittered too


def test_a_short_base_makes_test_retries_fast() -> None:
    fast = RetryPolicy(base_seconds=0.01, max_seconds=0.05)
    error = DeliveryError("down", retryable=True)
    assert [fast.next_delay(error, n, rand=lambda: 0.5) for n in (1, 2, 3, 4)] == [
        0.01, 0.02, 0.04, 0.05]


def test_retry_after_is_honoured_but_not_forever() -> None:
    asked = DeliveryError("busy", kind=FailureKind.TRANSIENT, retry_after=120)
    assert POLICY.next_delay(asked, 1, rand=lambda: 0.5) == 120.0
    small = DeliveryError("busy", kind=FailureKind.TRANSIENT, retry_after=0.5)
    assert POLICY.next_delay(small, 4, rand=lambda: 0.5) == 8.0  # our backoff is longer
    absurd = DeliveryError("busy", kind=FailureKind.TRANSIENT, retry_after=10 ** 9)
    assert POLICY.next_delay(absurd, 1, rand=lambda: 0.5) == POLICY.max_retry_after
    # A Retry-After does not buy extra attempts: the budget still decides.
    assert POLICY.next_delay(asked, 12) is None


def test_retryable_flag_maps_onto_kinds_and_one_of_them_is_required() -> None:
    assert DeliveryError("x", retryable=True).kind is FailureKind.TRANSIENT
    assert DeliveryError("x", retryable=False).kind is FailureKind.PERMANENT
    assert DeliveryError("x", kind=FailureKind.FLAKY).retryable
    assert not DeliveryError("x", kind=FailureKind.AUTH).retryable
    with pytest.raises(TypeError):
        DeliveryError("x")


def test_retry_after_header_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True),
                             now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after(None, now) is None


def graph(code: int, status: int = 400) -> DeliveryError:
    return delivery_error(error_from_response(
        status, {"error": {"code": code, "message": f"(#{code}) test"}}), credential="tok")


@pytest.mark.parametrize(("code", "status", "kind"), [
    (130429, 400, FailureKind.TRANSIENT),  # throughput limit
    (131056, 400, FailureKind.TRANSIENT),  # pair rate limit
    (131057, 400, FailureKind.TRANSIENT),  # account in maintenance
    (1, 500, FailureKind.TRANSIENT),
    (-1, 503, FailureKind.TRANSIENT),  # no Graph code, a 5xx from a proxy
    (-1, 429, FailureKind.TRANSIENT),
    (131000, 500, FailureKind.FLAKY),  # "something went wrong": a few tries
    (131047, 400, FailureKind.PERMANENT),  # outside the 24 h window
    (131026, 400, FailureKind.PERMANENT),  # undeliverable
    (131051, 400, FailureKind.PERMANENT),  # unsupported message type
    (100, 400, FailureKind.PERMANENT),
    (-1, 404, FailureKind.PERMANENT),
    (190, 401, FailureKind.AUTH),
    (-1, 401, FailureKind.AUTH),
])
def test_whatsapp_errors_are_classified_for_the_outbox(
    code: int, status: int, kind: FailureKind
) -> None:
    assert graph(code, status).kind is kind


def test_whatsapp_attempt_counts_per_code() -> None:
    assert attempts_until_dead(POLICY, graph(131056)) == 12
    assert attempts_until_dead(POLICY, graph(131000, 500)) == 3
    assert attempts_until_dead(POLICY, graph(131047)) == 1


def test_unreachable_graph_and_oversized_messages() -> None:
    assert delivery_kind(GraphTransportError("no answer")) is FailureKind.TRANSIENT
    too_long = delivery_error(OutboundLimitError(["text body longer than 4096"]))
    assert too_long.kind is FailureKind.PERMANENT and "WhatsApp limits" in str(too_long)


def test_an_auth_incident_is_named_by_the_token_without_revealing_it() -> None:
    rejected = error_from_response(401, {"error": {"code": 190, "message": "bad token"}})
    first = delivery_error(rejected, credential="EAAG-secret-1")
    again = delivery_error(rejected, credential="EAAG-secret-1")
    renewed = delivery_error(rejected, credential="EAAG-secret-2")
    assert first.incident == again.incident != renewed.incident
    assert first.incident is not None and "secret" not in first.incident
    assert graph(131026).incident is None


# --- the HTTP ticket adapter -----------------------------------------------------------------

async def kitchen_answering(aiohttp_server: ServerFactory, status: int,
                            headers: dict[str, str] | None = None) -> TestServer:
    async def answer(_request: web.Request) -> web.Response:
        return web.json_response({"error": "test"}, status=status, headers=headers)

    app = web.Application()
    app.router.add_post("/tickets", answer)
    return await aiohttp_server(app)


async def deliver_to(url: str, timeout: float = 5.0) -> DeliveryError:
    async with ClientSession() as session:
        kitchen = HttpKitchen(session, url, "secret", timeout=timeout)
        with pytest.raises(DeliveryError) as raised:
            await kitchen.deliver({"schema": "orderbot.ticket.v1"}, "order-1001")
    return raised.value


@pytest.mark.parametrize(("status", "kind"), [
    (500, FailureKind.TRANSIENT), (503, FailureKind.TRANSIENT), (408, FailureKind.TRANSIENT),
    (429, FailureKind.TRANSIENT), (400, FailureKind.PERMANENT), (404, FailureKind.PERMANENT),
    (422, FailureKind.PERMANENT), (401, FailureKind.AUTH), (403, FailureKind.AUTH),
])
async def test_http_adapter_classifies_answers(
    aiohttp_server: ServerFactory, status: int, kind: FailureKind
) -> None:
    server = await kitchen_answering(aiohttp_server, status)
    error = await deliver_to(str(server.make_url("/tickets")))
    assert error.kind is kind and str(status) in str(error)
    assert error.retry_after is None


async def test_http_adapter_honours_retry_after_on_429(aiohttp_server: ServerFactory) -> None:
    server = await kitchen_answering(aiohttp_server, 429, {"Retry-After": "42"})
    error = await deliver_to(str(server.make_url("/tickets")))
    assert (error.kind, error.retry_after) == (FailureKind.TRANSIENT, 42.0)
    assert POLICY.next_delay(error, 1, rand=lambda: 0.5) == 42.0


async def test_http_adapter_wrong_secret_is_one_incident(aiohttp_server: ServerFactory) -> None:
    server = await kitchen_answering(aiohttp_server, 403)
    first = await deliver_to(str(server.make_url("/tickets")))
    second = await deliver_to(str(server.make_url("/tickets")))
    assert first.incident is not None and first.incident == second.incident
    assert "secret" not in first.incident


async def test_http_adapter_unreachable_or_slow_is_transient(
    aiohttp_server: ServerFactory
) -> None:
    server = await kitchen_answering(aiohttp_server, 200)
    url = str(server.make_url("/tickets"))
    await server.close()
    assert (await deliver_to(url)).kind is FailureKind.TRANSIENT

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/tickets", slow)
    hanging = await aiohttp_server(app)
    error = await deliver_to(str(hanging.make_url("/tickets")), timeout=0.1)
    assert error.kind is FailureKind.TRANSIENT and "unreachable" in str(error)


# --- owner alerts (bot.alerts) ---------------------------------------------------------------

TICKET = {"schema": "orderbot.ticket.v1", "order": {"display_number": "#1001"}}


def alert_text(payload: dict[str, object]) -> str:
    text = payload["text"]
    assert isinstance(text, dict)
    return str(text["body"])


def test_dead_ticket_alert_names_the_order_the_reason_and_the_command() -> None:
    alert = dead_letter_alert("15550001111", 42, kind="kitchen", key="order-1001",
                              payload=TICKET, reason="kitchen refused the ticket: HTTP 400")
    assert alert is not None
    assert (alert.key, alert.lane) == ("alert:dead:42", "wa:15550001111")
    assert alert.payload["to"] == "+15550001111"
    body = alert_text(alert.payload)
    assert "Order #1001" in body and "HTTP 400" in body
    assert "`orderbot outbox retry 42`" in body


def test_dead_message_alert_names_the_customer_and_read_receipts_are_not_worth_one() -> None:
    message = {"messaging_product": "whatsapp", "to": "+15550002222", "type": "text",
               "text": {"body": "Your order"}}
    alert = dead_letter_alert("15550001111", 7, kind="whatsapp", key="reply:w:0",
                              payload=message, reason="(#131026) undeliverable " * 40)
    assert alert is not None
    body = alert_text(alert.payload)
    assert "+15550002222" in body and "retry 7" in body and len(body) < 600
    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"}
    assert dead_letter_alert("15550001111", 8, kind="whatsapp", key="read:w",
                             payload=receipt, reason="x") is None


def test_auth_alert_is_keyed_by_the_incident() -> None:
    first = auth_alert("15550001111", "whatsapp", "whatsapp-token:ab12", "(#190) bad token")
    second = auth_alert("15550001111", "whatsapp", "whatsapp-token:ab12", "(#190) other row")
    assert first == second
    assert "WHATSAPP_ACCESS_TOKEN" in alert_text(first.payload)
    kitchen = auth_alert("15550001111", "kitchen", "kitchen-auth:cd34", "HTTP 403")
    assert kitchen.key != first.key and "kitchen" in alert_text(kitchen.payload)


def test_rows_to_the_owner_are_never_alerted_about() -> None:
    owner = owner_number("+15550001111")
    assert owner == "15550001111"
    assert is_alert_row("alert:dead:3", "wa:15550009999", owner)  # owner number since changed
    assert is_alert_row("handoff:1:0", "wa:15550001111", owner)
    assert not is_alert_row("reply:w:0", "wa:15550002222", owner)
    assert owner_number("") is None and owner_number(None) is None
