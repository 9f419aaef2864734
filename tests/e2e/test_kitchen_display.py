"""The kitchen display over plain HTTP: access, the live stream, status changes, the callback API.

Orders are placed through the real signed webhook; the customer's "ready" message is checked at
the WhatsApp emulator. The page itself, in a browser, is tests/e2e/test_kitchen_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlmodel import col, select

from adapters.db import OrderRow, create_tables, make_engine, session_factory
from adapters.whatsapp_emulator import EmulatorState
from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.security import sign
from bot.state import APP_STATE
from tests.conftest import (
    CUSTOMER,
    KITCHEN_SECRET,
    ClientFactory,
    wait_for,
)
from tests.e2e.test_order_flow import confirm_for_pickup, last_body, say, tap

Client = TestClient[web.Request, web.Application]
TOKEN = "kitchen-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def display_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"kitchen_display_token": SecretStr(TOKEN)})


@pytest.fixture
async def kbot(aiohttp_client: ClientFactory, display_settings: Settings) -> Client:
    return await aiohttp_client(create_app(display_settings))


async def place_pickup_order(client: Client, emulated: EmulatorState, text: str = "2 falafel wrap"
                             ) -> None:
    await say(client, text)
    await wait_for(lambda: any(e["payload"]["type"] == "interactive"
                               for e in emulated.messages_to(CUSTOMER)))
    await confirm_for_pickup(client, emulated)
    await wait_for(lambda: "confirmed" in last_body(emulated))


async def place_delivery_order(client: Client, emulated: EmulatorState) -> None:
    await say(client, "a falafel wrap")
    await wait_for(lambda: any(e["payload"]["type"] == "interactive"
                               for e in emulated.messages_to(CUSTOMER)))
    await tap(client, emulated, "Confirm")
    await wait_for(lambda: "pick it up" in last_body(emulated))
    await tap(client, emulated, "Delivery")
    await wait_for(lambda: "deliver" in last_body(emulated).lower())
    await say(client, "12 Harbour Road, flat 3")
    await wait_for(lambda: "confirmed" in last_body(emulated))


def ready_messages(emulated: EmulatorState) -> list[str]:
    bodies = [e["payload"].get("text", {}).get("body", "") for e in emulated.messages_to(CUSTOMER)]
    return [body for body in bodies if "is ready" in body]


async def open_tickets(client: Client) -> list[dict[str, Any]]:
    response = await client.get("/kitchen/tickets", headers=BEARER)
    assert response.status == 200
    tickets: list[dict[str, Any]] = (await response.json())["tickets"]
    return tickets


async def wait_for_ticket(client: Client, number: int) -> dict[str, Any]:
    for _ in range(500):
        for ticket in await open_tickets(client):
            if ticket["number"] == number:
                return ticket
        await asyncio.sleep(0.02)
    raise AssertionError(f"ticket {number} never reached the display")


async def bump(client: Client, number: int, status: str) -> ClientResponse:
    return await client.post(f"/kitchen/orders/{number}/status", json={"status": status},
                             headers=BEARER)


# --- access ---

async def test_without_the_token_the_display_shows_nothing(
    kbot: Client, emulated: EmulatorState
) -> None:
    await place_pickup_order(kbot, emulated)
    await wait_for_ticket(kbot, 1001)
    for path in ("/kitchen", "/kitchen/tickets", "/kitchen/events"):
        anonymous = await kbot.get(path)
        assert anonymous.status == 401, path
        assert "Falafel" not in await anonymous.text()
    wrong = await kbot.get("/kitchen/tickets", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 403
    forged_cookie = await kbot.get("/kitchen/tickets", cookies={"orderbot_kitchen": TOKEN})
    assert forged_cookie.status == 403  # the cookie holds a derived value, not the token
    refused = await kbot.post("/kitchen/orders/1001/status", json={"status": "ready"})
    assert refused.status == 401
    assert ready_messages(emulated) == []


async def test_the_token_link_sets_a_cookie_and_leaves_the_address_bar(
    kbot: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    bad = await kbot.get("/kitchen", params={"token": "guess"}, allow_redirects=False)
    assert bad.status == 403
    opened = await kbot.get("/kitchen", params={"token": TOKEN}, allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/kitchen"
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    page = await kbot.get("/kitchen")  # the client keeps the cookie, as a browser does
    assert page.status == 200
    html = await page.text()
    assert 'name="kitchen-csrf"' in html and "__CSRF__" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert TOKEN not in caplog.text  # the access log shows the request, redacted
    assert "token=[redacted]" in caplog.text


async def test_a_change_from_the_browser_needs_the_csrf_header(
    kbot: Client, emulated: EmulatorState
) -> None:
    await place_pickup_order(kbot, emulated)
    await wait_for_ticket(kbot, 1001)
    await kbot.get("/kitchen", params={"token": TOKEN})  # signed in by cookie
    no_csrf = await kbot.post("/kitchen/orders/1001/status", json={"status": "preparing"})
    assert no_csrf.status == 403  # a cross-site form post carries the cookie, not the header
    html = await (await kbot.get("/kitchen")).text()
    csrf = html.split('name="kitchen-csrf" content="', 1)[1].split('"', 1)[0]
    ok = await kbot.post("/kitchen/orders/1001/status", json={"status": "preparing"},
                         headers={"X-Kitchen-CSRF": csrf})
    assert ok.status == 200 and (await ok.json())["status"] == "preparing"


# --- the live stream ---

async def next_event(stream: ClientResponse, timeout: float = 10.0) -> tuple[str, Any]:
    """The next named server-sent event (comments and retry lines skipped)."""
    name, data = "", ""
    while True:
        raw = await asyncio.wait_for(stream.content.readline(), timeout)
        assert raw, "the stream ended"
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            data = line[len("data: "):]
        elif line == "" and name:
            return name, json.loads(data)


@pytest.fixture
async def streams(kbot: Client) -> AsyncIterator[list[ClientResponse]]:
    opened = [await kbot.get("/kitchen/events", headers=BEARER) for _ in range(2)]
    yield opened
    for stream in opened:
        stream.close()


async def test_every_open_screen_gets_a_new_ticket_and_each_status_change(
    kbot: Client, emulated: EmulatorState, streams: list[ClientResponse]
) -> None:
    for stream in streams:
        assert stream.status == 200
        assert stream.headers["Content-Type"] == "text/event-stream"
        assert await next_event(stream) == ("snapshot", {"tickets": []})

    await say(kbot, "2 chicken shawarma no garlic and a large pepsi")
    await wait_for(lambda: any(e["payload"]["type"] == "interactive"
                               for e in emulated.messages_to(CUSTOMER)))
    await confirm_for_pickup(kbot, emulated)
    for stream in streams:  # both tabs, without asking
        name, view = await next_event(stream)
        assert (name, view["number"], view["status"]) == ("ticket", 1001, "new")
        ticket = view["ticket"]
        assert ticket["customer"]["first_name"] == "Alex"
        assert ticket["order"]["fulfillment"] == "pickup"
        shawarma = ticket["lines"][0]
        assert (shawarma["quantity"], shawarma["product"]) == (2, "Chicken Shawarma")
        assert [r["name"] for r in shawarma["removed"]] == ["Garlic sauce"]

    assert (await bump(kbot, 1001, "preparing")).status == 200
    for stream in streams:
        name, view = await next_event(stream)
        assert (name, view["number"], view["status"]) == ("ticket", 1001, "preparing")


async def test_a_screen_that_connects_later_gets_the_open_tickets_at_once(
    kbot: Client, emulated: EmulatorState
) -> None:
    await place_pickup_order(kbot, emulated)
    await wait_for_ticket(kbot, 1001)
    await bump(kbot, 1001, "preparing")
    stream = await kbot.get("/kitchen/events", headers=BEARER)
    name, snapshot = await next_event(stream)
    stream.close()
    assert name == "snapshot"
    assert [(t["number"], t["status"]) for t in snapshot["tickets"]] == [(1001, "preparing")]


# --- status changes and the customer's message ---

async def test_ready_tells_the_customer_once_whatever_the_clicks(
    kbot: Client, emulated: EmulatorState
) -> None:
    await place_pickup_order(kbot, emulated)
    await wait_for_ticket(kbot, 1001)
    assert (await bump(kbot, 1001, "preparing")).status == 200
    assert ready_messages(emulated) == []  # preparing is the kitchen's business

    double = await asyncio.gather(bump(kbot, 1001, "ready"), bump(kbot, 1001, "ready"))
    assert sorted(r.status for r in double) == [200, 200]
    answers = [await r.json() for r in double]
    assert sorted(a["changed"] for a in answers) == [False, True]
    await wait_for(lambda: bool(ready_messages(emulated)))
    [message] = ready_messages(emulated)
    assert "#1001" in message and "ready for pickup" in message and "Sahara Grill" in message

    undo = await bump(kbot, 1001, "preparing")
    assert (await undo.json())["status"] == "preparing"
    again = await bump(kbot, 1001, "ready")
    assert (await again.json())["customer_told"] is None  # already told: not sent twice
    await kbot.app[APP_STATE].dispatcher.wait_quiet()
    assert len(ready_messages(emulated)) == 1

    assert (await bump(kbot, 1001, "done")).status == 200
    [ticket] = [t for t in await open_tickets(kbot) if t["number"] == 1001]
    assert ticket["status"] == "done"  # still listed (recently done) so a mis-tap can be undone


async def test_a_delivery_order_is_on_its_way(kbot: Client, emulated: EmulatorState) -> None:
    await place_delivery_order(kbot, emulated)
    ticket = await wait_for_ticket(kbot, 1001)
    assert ticket["ticket"]["delivery"]["address"] == "12 Harbour Road, flat 3"
    assert (await bump(kbot, 1001, "ready")).status == 200
    await wait_for(lambda: bool(ready_messages(emulated)))
    assert "on its way" in ready_messages(emulated)[0]


async def test_after_a_restart_the_display_shows_the_open_tickets_again(
    aiohttp_client: ClientFactory, display_settings: Settings, emulated: EmulatorState
) -> None:
    first = await aiohttp_client(create_app(display_settings))
    await place_pickup_order(first, emulated)
    await wait_for_ticket(first, 1001)
    await bump(first, 1001, "preparing")
    await first.close()

    second = await aiohttp_client(create_app(display_settings))
    [ticket] = await open_tickets(second)
    assert (ticket["number"], ticket["status"]) == (1001, "preparing")
    assert ticket["ticket"]["lines"][0]["product"] == "Falafel Wrap"


async def test_orders_stored_before_statuses_existed_show_as_new(
    kbot: Client, emulated: EmulatorState, display_settings: Settings
) -> None:
    await place_pickup_order(kbot, emulated)
    await wait_for_ticket(kbot, 1001)
    engine = make_engine(display_settings.database_url)
    await create_tables(engine)
    async with session_factory(engine)() as session, session.begin():
        order = (await session.exec(select(OrderRow).where(col(OrderRow.number) == 1001))).one()
        order.status = "confirmed"  # what every order said before this feature
        session.add(order)
    await engine.dispose()
    [ticket] = await open_tickets(kbot)
    assert ticket["status"] == "new"
    assert (await (await bump(kbot, 1001, "preparing")).json())["previous"] == "new"


async def test_outside_the_24_hour_window_ready_is_sent_as_the_template(
    aiohttp_client: ClientFactory, display_settings: Settings, emulated: EmulatorState
) -> None:
    clock = ManualClock(datetime.now(UTC))
    client = await aiohttp_client(create_app(
        display_settings.model_copy(update={"reminder_template": "order_update"}), clock))
    await place_pickup_order(client, emulated)
    await wait_for_ticket(client, 1001)
    clock.advance(timedelta(hours=25))  # a pre-order made the day before, say
    answer = await (await bump(client, 1001, "ready")).json()
    assert answer["customer_told"] == "template"
    await wait_for(lambda: emulated.messages_to(CUSTOMER)[-1]["payload"]["type"] == "template")
    assert emulated.messages_to(CUSTOMER)[-1]["payload"]["template"]["name"] == "order_update"
    assert ready_messages(emulated) == []


# --- the signed status callback for kitchen systems ---

async def callback(client: Client, number: int | str, body: bytes,
                   signature: str | None) -> ClientResponse:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Orderbot-Signature"] = signature
    return await client.post(f"/api/orders/{number}/status", data=body, headers=headers)


async def test_the_status_callback_checks_the_signature_first(
    kbot: Client, emulated: EmulatorState
) -> None:
    await place_pickup_order(kbot, emulated)
    body = b'{"status": "ready"}'
    assert (await callback(kbot, 1001, body, None)).status == 401
    assert (await callback(kbot, 1001, body, sign(body, "wrong-secret"))).status == 403
    tampered = b'{"status": "done"}'
    assert (await callback(kbot, 1001, tampered, sign(body, KITCHEN_SECRET))).status == 403
    assert (await callback(kbot, 9999, body, sign(body, "wrong-secret"))).status == 403
    await kbot.app[APP_STATE].dispatcher.wait_quiet()
    assert ready_messages(emulated) == []


async def test_a_kitchen_system_marks_an_order_ready(kbot: Client, emulated: EmulatorState
                                                      ) -> None:
    await place_pickup_order(kbot, emulated)
    await wait_for_ticket(kbot, 1001)
    body = b'{"status": "ready"}'
    answer = await callback(kbot, 1001, body, sign(body, KITCHEN_SECRET))
    assert answer.status == 200
    assert await answer.json() == {"number": 1001, "status": "ready", "previous": "new",
                                   "changed": True, "customer_told": "session"}
    await wait_for(lambda: bool(ready_messages(emulated)))
    assert "#1001" in ready_messages(emulated)[0]
    # the display follows: the same service moved the same order
    assert [t["status"] for t in await open_tickets(kbot)] == ["ready"]

    unknown = await callback(kbot, 4242, body, sign(body, KITCHEN_SECRET))
    assert unknown.status == 404
    back_two = b'{"status": "new"}'
    refused = await callback(kbot, 1001, back_two, sign(back_two, KITCHEN_SECRET))
    assert refused.status == 409
    assert "only go back one step" in (await refused.json())["error"]
    nonsense = b'{"status": "cooking"}'
    assert (await callback(kbot, 1001, nonsense, sign(nonsense, KITCHEN_SECRET))).status == 409
    not_json = b"ready"
    assert (await callback(kbot, 1001, not_json, sign(not_json, KITCHEN_SECRET))).status == 400


async def test_a_timestamped_callback_cannot_be_replayed_later(
    kbot: Client, emulated: EmulatorState
) -> None:
    await place_pickup_order(kbot, emulated)
    await wait_for_ticket(kbot, 1001)

    async def timestamped(body: bytes, at: int, signed_at: int | None = None) -> ClientResponse:
        stamp = str(signed_at if signed_at is not None else at)
        return await kbot.post("/api/orders/1001/status", data=body, headers={
            "Content-Type": "application/json", "X-Orderbot-Timestamp": str(at),
            "X-Orderbot-Signature": sign(stamp.encode() + b"." + body, KITCHEN_SECRET)})

    now = int(datetime.now(UTC).timestamp())
    body = b'{"status": "preparing"}'
    assert (await timestamped(body, now)).status == 200
    # A recording of a request from ten minutes ago is refused, whatever it says.
    stale = await timestamped(b'{"status": "ready"}', now - 600)
    assert stale.status == 403
    assert "X-Orderbot-Timestamp" in (await stale.json())["error"]
    # Changing the timestamp of a recorded request breaks its signature.
    assert (await timestamped(b'{"status": "ready"}', now, signed_at=now - 600)).status == 403
    # A body-only signature does not cover a timestamp header that was added.
    plain = b'{"status": "ready"}'
    assert (await kbot.post("/api/orders/1001/status", data=plain, headers={
        "Content-Type": "application/json", "X-Orderbot-Timestamp": str(now),
        "X-Orderbot-Signature": sign(plain, KITCHEN_SECRET)})).status == 403
    assert (await timestamped(b'{"status": "ready"}', int(1e15))).status == 403
    await kbot.app[APP_STATE].dispatcher.wait_quiet()
    assert ready_messages(emulated) == []
    assert [t["status"] for t in await open_tickets(kbot)] == ["preparing"]


async def test_without_a_secret_the_callback_is_refused(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(
        update={"kitchen_webhook_secret": None, "kitchen_webhook_url": None})))
    body = b'{"status": "ready"}'
    assert (await callback(client, 1001, body, sign(body, KITCHEN_SECRET))).status == 403
    assert (await client.get("/kitchen", params={"token": TOKEN})).status == 403  # display off


