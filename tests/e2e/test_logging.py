"""Black-box: `orderbot serve` writes JSON log lines in which one message's story shares one
correlation id (webhook, processing, and the delivery of what it caused), and no customer's
number or secret appears anywhere."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.whatsapp_emulator import EmulatorState
from bench.ports import child_port
from bot import fake_customer
from bot.logs import correlation_id_for
from tests.conftest import (
    ACCESS_TOKEN,
    APP_SECRET,
    CUSTOMER,
    KITCHEN_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    Kitchen,
    wait_for,
)
from tests.e2e.test_serve_process import ORDERBOT, base_env, wait_until_up
from tests.paths import RESTAURANT_CATALOG

DELIVERY_LOGGERS = ("bot.dispatcher", "adapters.")


async def test_one_message_s_log_lines_share_its_correlation_id_and_mask_the_customer(
    tmp_path: Path, emulator: TestServer, emulated: EmulatorState,
    kitchen_server: TestServer, kitchen: Kitchen,
) -> None:
    port = child_port()
    env = base_env(tmp_path) | {  # no ORDERBOT_LOG_FORMAT: JSON is serve's default
        "ORDERBOT_LOG_LEVEL": "DEBUG",
        "ORDERBOT_CATALOG": str(RESTAURANT_CATALOG),
        "ORDERBOT_HOST": "127.0.0.1", "ORDERBOT_PORT": str(port),
        "ORDERBOT_RETRY_BASE_SECONDS": "0.1", "ORDERBOT_MERGE_WINDOW_SECONDS": "0.1",
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_API_BASE_URL": str(emulator.make_url("/v23.0")),
        "ORDERBOT_KITCHEN_WEBHOOK_URL": str(kitchen_server.make_url("/tickets")),
        "ORDERBOT_KITCHEN_WEBHOOK_SECRET": KITCHEN_SECRET,
    }
    log_path = tmp_path / "serve.log"
    sent: dict[str, str] = {}  # what the customer wrote -> its wamid
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *ORDERBOT, "serve", env=env, stdout=log_file, stderr=log_file)
        url = f"http://127.0.0.1:{port}/webhook"
        try:
            async with aiohttp.ClientSession() as http:
                await wait_until_up(http, f"http://127.0.0.1:{port}/healthz")
                # The first reply fails once, with the number in Graph's words: a delivery
                # line that quotes it.
                async with http.post(emulator.make_url("/_emulator/fail"), json={
                        "code": 131000, "http_status": 500, "to": CUSTOMER,
                        "details": f"could not reach {CUSTOMER} just now"}) as response:
                    assert response.status == 200
                sent["order"] = await _send(http, url, fake_customer.text_message(
                    CUSTOMER, "a falafel wrap"))
                await wait_for(lambda: any(e["payload"]["type"] == "interactive"
                                           for e in emulated.messages_to(CUSTOMER)), timeout=20)
                summary = [e for e in emulated.messages_to(CUSTOMER)
                           if e["payload"]["type"] == "interactive"][-1]
                confirm = summary["payload"]["interactive"]["action"]["buttons"][0]["reply"]["id"]
                sent["confirm"] = await _send(http, url, fake_customer.button_reply(
                    CUSTOMER, confirm, "Confirm", summary["id"]))
                await wait_for(lambda: "pick it up" in str(emulated.messages_to(CUSTOMER)[-1]),
                               timeout=20)
                sent["pickup"] = await _send(http, url, fake_customer.text_message(
                    CUSTOMER, "pickup"))
                await wait_for(lambda: bool(kitchen.tickets), timeout=20)
                await wait_for(lambda: "confirmed" in str(emulated.messages_to(CUSTOMER)[-1]),
                               timeout=20)
        finally:
            if process.returncode is None:
                process.terminate()
            await asyncio.wait_for(process.wait(), timeout=20)

    written = log_path.read_text()
    lines = [_json_line(text) for text in written.splitlines() if text.strip()]
    ids = {what: correlation_id_for(wamid) for what, wamid in sent.items()}

    # Every correlation id in the logs is one of the messages' (a stray one would be a leak
    # of context from one message into another's lines).
    seen = {line["correlation_id"] for line in lines if "correlation_id" in line}
    assert seen <= set(ids.values()), f"ids of no message: {seen - set(ids.values())}"

    # Each message's handling wrote lines under its id.
    for what, correlation_id in ids.items():
        handling = [line for line in lines if line.get("correlation_id") == correlation_id
                    and not line["logger"].startswith(DELIVERY_LOGGERS)]
        assert handling, f"no webhook/processing line carries the id of '{what}'"

    # The outbox rows each message caused carry its id, and so do their delivery lines: the
    # failed first reply to the order, and the kitchen ticket placed by "pickup".
    rows = _outbox_rows(tmp_path / "serve.db")
    ticket = [row for row in rows if row["kind"] in ("kitchen", "http")]
    assert [row["correlation_id"] for row in ticket] == [ids["pickup"]]
    replies = [row for row in rows if row["kind"] == "whatsapp"
               and json.loads(row["payload"]).get("to", "").lstrip("+") == CUSTOMER]
    assert {row["correlation_id"] for row in replies} <= set(ids.values())
    assert replies[0]["correlation_id"] == ids["order"]
    for what in ("order", "pickup"):
        delivery = [line for line in lines if line.get("correlation_id") == ids[what]
                    and line["logger"].startswith(DELIVERY_LOGGERS)]
        assert delivery, f"no delivery line carries the id of '{what}'"
    retried = [line for line in lines if line["logger"] == "bot.dispatcher"
               and line["level"] == "WARNING"]
    assert retried and all(line.get("correlation_id") == ids["order"] for line in retried)

    # Nobody's number in full, no secret: not in a message, an exception or an extra field.
    assert CUSTOMER not in written
    assert "…" + CUSTOMER[-4:] in written  # the failed delivery's line, masked
    for secret in (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, KITCHEN_SECRET):
        assert secret not in written


def _json_line(text: str) -> dict[str, Any]:
    try:
        line: dict[str, Any] = json.loads(text)
    except ValueError:
        raise AssertionError(f"not a JSON log line: {text!r}") from None
    assert {"ts", "level", "logger", "message"} <= set(line), text
    return line


def _outbox_rows(database: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        return list(connection.execute(
            "SELECT kind, payload, correlation_id FROM outbox ORDER BY id"))


async def _send(http: aiohttp.ClientSession, url: str, message: dict[str, Any]) -> str:
    body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
    async with http.post(url, data=body,
                         headers=fake_customer.signed_headers(body, APP_SECRET)) as response:
        assert response.status == 200
    wamid: str = message["id"]
    return wamid
