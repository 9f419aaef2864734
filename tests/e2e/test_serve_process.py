"""Black-box: `orderbot serve` as a real process, configured only by the documented variables."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.whatsapp_emulator import EmulatorState
from bench.ports import child_port
from bot import fake_customer
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
from tests.paths import RESTAURANT_CATALOG

ORDERBOT = [sys.executable, "-m", "bot.cli"]


async def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *ORDERBOT, *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env["ORDERBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    return env


async def test_serve_refuses_to_start_without_secrets_and_names_them(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    env["WHATSAPP_APP_SECRET"] = "set-but-others-missing"
    code, out = await run("serve", env=env)
    assert code == 2
    assert "WHATSAPP_VERIFY_TOKEN" in out and "WHATSAPP_ACCESS_TOKEN" in out
    assert "WHATSAPP_PHONE_NUMBER_ID" in out
    assert "set-but-others-missing" not in out  # never echo a secret


async def test_serve_refuses_a_broken_catalog_with_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "menu.yaml"
    broken.write_text("shop:\n  name: X\nproducts:\n  - id: tea\n    name: Tea\n    price: abc\n")
    env = base_env(tmp_path) | {
        "ORDERBOT_CATALOG": str(broken), "WHATSAPP_APP_SECRET": "a",
        "WHATSAPP_VERIFY_TOKEN": "b", "WHATSAPP_ACCESS_TOKEN": "c",
        "WHATSAPP_PHONE_NUMBER_ID": "d"}
    code, out = await run("serve", env=env)
    assert code == 2
    assert "line 6" in out and "price" in out


async def test_a_served_process_takes_an_order_end_to_end(
    tmp_path: Path, emulator: TestServer, emulated: EmulatorState,
    kitchen_server: TestServer, kitchen: Kitchen,
) -> None:
    port = child_port()
    env = base_env(tmp_path) | {
        "ORDERBOT_CATALOG": str(RESTAURANT_CATALOG),
        "ORDERBOT_HOST": "127.0.0.1", "ORDERBOT_PORT": str(port),
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_API_BASE_URL": str(emulator.make_url("/v23.0")),
        "ORDERBOT_KITCHEN_WEBHOOK_URL": str(kitchen_server.make_url("/tickets")),
        "ORDERBOT_KITCHEN_WEBHOOK_SECRET": KITCHEN_SECRET,
    }
    log_path = tmp_path / "serve.log"
    log_file = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        *ORDERBOT, "serve", env=env, stdout=log_file, stderr=log_file)
    url = f"http://127.0.0.1:{port}/webhook"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_up(http, f"http://127.0.0.1:{port}/healthz")
            await _send(http, url, fake_customer.text_message(CUSTOMER, "a falafel wrap"))
            await wait_for(lambda: any(e["payload"]["type"] == "interactive"
                                       for e in emulated.messages_to(CUSTOMER)), timeout=20)
            summary = [e for e in emulated.messages_to(CUSTOMER)
                       if e["payload"]["type"] == "interactive"][-1]
            confirm_id = summary["payload"]["interactive"]["action"]["buttons"][0]["reply"]["id"]
            await _send(http, url, fake_customer.button_reply(CUSTOMER, confirm_id, "Confirm",
                                                              summary["id"]))
            # The sample shop offers pickup and delivery: it asks which before placing.
            await wait_for(lambda: "pick it up" in str(emulated.messages_to(CUSTOMER)[-1]),
                           timeout=20)
            await _send(http, url, fake_customer.text_message(CUSTOMER, "pickup"))
            await wait_for(lambda: bool(kitchen.tickets), timeout=20)
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=20)
        except TimeoutError:
            process.kill()
            raise AssertionError("orderbot serve ignored SIGTERM:\n"
                                 + log_path.read_text()[-3000:]) from None
        finally:
            log_file.close()
    assert kitchen.tickets[0]["lines"][0]["product_id"] == "falafel-wrap"
    assert kitchen.refused == 0


async def _send(http: aiohttp.ClientSession, url: str, message: dict[str, object]) -> None:
    body = fake_customer.envelope(message, CUSTOMER, "Alex Buyer", PHONE_NUMBER_ID)
    async with http.post(url, data=body,
                         headers=fake_customer.signed_headers(body, APP_SECRET)) as response:
        assert response.status == 200


async def wait_until_up(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(300):
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("orderbot serve did not come up")
