"""`orderbot report`: the owner's day after real conversations through the server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from sqlmodel import col, select

from adapters.db import OrderRow
from adapters.whatsapp_emulator import EmulatorState, FailureRule
from bot import fake_customer
from bot.app import ORDER_STATUS_KEY, create_app
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import PHONE_NUMBER_ID, ClientFactory, post_signed, wait_for
from tests.paths import ROOT

Client = TestClient[web.Request, web.Application]
ALONE = "15550003001"  # orders with the bot alone
HELPED = "15550003002"  # asks for a person halfway through
CANCELLED = "15550003003"  # orders; the kitchen cancels it
UNLUCKY = "15550003004"  # WhatsApp refuses our answer for good: a dead letter
SHOP_ZONE = ZoneInfo("America/New_York")  # the sample restaurant's timezone


def orderbot(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env |= {"ORDERBOT_DATABASE_URL": settings.database_url,
            "ORDERBOT_CATALOG": str(settings.catalog_path), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False, env=env, cwd=ROOT)


async def settle(client: Client) -> None:
    state = client.app[APP_STATE]
    await state.processor.idle()
    await state.dispatcher.wait_quiet()


async def say(client: Client, customer: str, text: str) -> None:
    message = fake_customer.text_message(customer, text)
    body = fake_customer.envelope(message, customer, "Sam Customer", PHONE_NUMBER_ID)
    assert await post_signed(client, body) == 200
    await settle(client)


async def tap(client: Client, emulated: EmulatorState, customer: str, title: str) -> None:
    """Tap the button with this title on the newest button message the customer got."""
    for entry in reversed(emulated.messages_to(customer)):
        buttons: list[dict[str, Any]] = (
            entry["payload"].get("interactive", {}).get("action", {}).get("buttons", []))
        for button in buttons:
            if button["reply"]["title"] == title:
                message = fake_customer.button_reply(customer, button["reply"]["id"], title,
                                                     entry["id"])
                body = fake_customer.envelope(message, customer, "Sam Customer",
                                              PHONE_NUMBER_ID)
                assert await post_signed(client, body) == 200
                await settle(client)
                return
    raise AssertionError(f"no {title!r} button was sent to {customer}")


async def orders(client: Client) -> dict[str, OrderRow]:
    async with client.app[APP_STATE].sessions() as session:
        return {row.customer: row for row in await session.exec(select(OrderRow)
                                                                .order_by(col(OrderRow.id)))}


async def test_the_owner_report_after_a_day_of_real_conversations(
    bot: Client, emulated: EmulatorState, settings: Settings
) -> None:
    await say(bot, ALONE, "2 chicken shawarma and a large pepsi")
    await tap(bot, emulated, ALONE, "Confirm")
    await tap(bot, emulated, ALONE, "Pickup")

    await say(bot, HELPED, "a falafel wrap")
    await say(bot, HELPED, "can I talk to a person please")
    await bot.app[APP_STATE].processor.release_handoff(HELPED)
    await settle(bot)
    await tap(bot, emulated, HELPED, "Confirm")
    await tap(bot, emulated, HELPED, "Delivery")
    await say(bot, HELPED, "12 Harbour Road, flat 3")

    await say(bot, CANCELLED, "a chicken shawarma")
    await tap(bot, emulated, CANCELLED, "Confirm")
    await tap(bot, emulated, CANCELLED, "Pickup")
    placed = await orders(bot)
    await bot.app[ORDER_STATUS_KEY].change(placed[CANCELLED].number or 0, "cancelled",
                                           "we ran out", by="screen")

    emulated.failures.append(FailureRule(code=131026, http_status=400, times=1, to=UNLUCKY,
                                         message="Message undeliverable", details=""))
    await say(bot, UNLUCKY, "hi")
    await wait_for(lambda: not emulated.failures)
    await settle(bot)

    placed = await orders(bot)
    assert placed[ALONE].assisted is False  # the bot took this order alone
    assert placed[HELPED].assisted is True  # a person took over while it was being taken
    assert json.loads(placed[ALONE].lines)[0]["line_total"] == "17.98"
    revenue = Decimal(placed[ALONE].total) + Decimal(placed[HELPED].total)
    day = placed[ALONE].created_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(SHOP_ZONE).date()

    shown = await asyncio.to_thread(orderbot, settings, "report", "--date", day.isoformat())
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert text.startswith(f"Sahara Grill — {day:%A} {day.day} {day:%B %Y} (America/New_York)")
    assert "2 confirmed, 1 cancelled (kitchen screen 1)\nCancel reasons  we ran out ×1\n" in text
    assert f"${revenue} (average order ${revenue / 2:.2f})" in text
    assert "1 pickup, 1 delivery" in text
    assert "1 of 2 orders (50%)" in text
    top = text[text.index("Top items"):text.index("Problems")]
    assert "1. Chicken Shawarma" in top and "2 sold  $17.98" in top  # not the cancelled one
    assert "1 delivery (replies or tickets) failed for good" in text
    assert "orderbot outbox list --state dead" in text
    assert ALONE not in text and "Sam" not in text  # a summary, not a customer list

    as_json = await asyncio.to_thread(orderbot, settings, "report", "--date", day.isoformat(),
                                      "--json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["orders"] == {
        "confirmed": 2, "cancelled": 1, "pickup": 1, "delivery": 1,
        "cancelled_by": {"screen": 1, "system": 0, "operator": 0, "unknown": 0},
        "cancel_reasons": [{"reason": "we ran out", "orders": 1}]}
    assert Decimal(data["revenue"]) == revenue
    assert data["help"] == {"none": 1, "human": 1, "unknown": 0, "no_help_share": 0.5}
    assert data["failures"]["dead_letters"] == 1 and data["failures"]["messages_failed"] == 0

    # The day before had nothing; a bad date is refused by name.
    yesterday = day.fromordinal(day.toordinal() - 1).isoformat()
    empty = await asyncio.to_thread(orderbot, settings, "report", "--date", yesterday, "--json")
    assert json.loads(empty.stdout)["orders"]["confirmed"] == 0
    wrong = await asyncio.to_thread(orderbot, settings, "report", "--date", "27/11/2026")
    assert wrong.returncode == 2 and "YYYY-MM-DD" in wrong.stderr


async def test_the_owner_page_shows_the_report_to_the_display_token_only(
    aiohttp_client: ClientFactory, emulated: EmulatorState, settings: Settings
) -> None:
    token = "owner-page-token-0123456789"
    client = await aiohttp_client(create_app(settings.model_copy(
        update={"kitchen_display_token": SecretStr(token)})))
    await say(client, ALONE, "2 chicken shawarma and a large pepsi")
    await tap(client, emulated, ALONE, "Confirm")
    await tap(client, emulated, ALONE, "Pickup")

    assert (await client.get("/owner/report")).status == 401
    assert (await client.get("/owner/report?token=wrong")).status == 403
    assert (await client.get("/owner/report", headers={
        "Authorization": "Bearer wrong"})).status == 401
    signed_in = await client.get(f"/owner/report?token={token}", allow_redirects=False)
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/owner/report"
    assert "Path=/owner" in signed_in.headers["Set-Cookie"]
    page = await client.get("/owner/report")  # the cookie from the redirect
    assert page.status == 200 and page.content_type == "text/html"
    body = await page.text()
    assert "Sahara Grill — " in body and "1 confirmed" in body and "$20.97" in body
    assert "<script" not in body and token not in body
    assert "script-src" not in page.headers["Content-Security-Policy"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/owner/report?date=2001-01-01", headers=bearer)).status == 200
    assert "0 confirmed" in await (await client.get("/owner/report?date=2001-01-01&days=7",
                                                    headers=bearer)).text()
    assert (await client.get("/owner/report?date=01/01/2001", headers=bearer)).status == 400
    assert (await client.get("/owner/report?days=0", headers=bearer)).status == 400
