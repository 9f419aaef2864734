"""The kitchen display in a real browser: Debian's chromium, headless, driven by Playwright.

A ticket confirmed through the signed webhook appears on an open page without a reload, in
every open tab; tapping it through to "ready" sends the customer's WhatsApp message; Cancel
asks first, then moves the ticket to the finished section and tells the customer. The
customer's name carries HTML, which the page must show as text.

The browser is Debian's package (the tests install it when they can, as root); `playwright
install` is never run, as it downloads browser builds of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from adapters.whatsapp_emulator import EmulatorState
from bot import fake_customer
from bot.app import create_app
from bot.config import Settings
from tests.conftest import CUSTOMER, PHONE_NUMBER_ID, ClientFactory, post_signed, wait_for
from tests.e2e.test_order_flow import last_body

if TYPE_CHECKING:  # the package may be missing: the test is skipped then
    from playwright.async_api import Page

Client = TestClient[web.Request, web.Application]
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-test-kitchen-token-0123456789"
NAME = "<i>Sam</i> Buyer"  # a WhatsApp profile name is whatever the customer typed
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _apt_install() -> str:
    """Install Debian's chromium; returns the tail of apt's output for a skip reason."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    return (done.stdout + done.stderr)[-400:]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed on first use when we are root; else the test is skipped."""
    try:
        import playwright.async_api  # noqa: F401, PLC0415
    except ImportError:
        pytest.skip("the playwright package is missing: pip install -e '.[dev]'")
    if not CHROMIUM.exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip(f"no browser: {CHROMIUM} is missing and only root can "
                        "`apt-get install chromium`")
        output = _apt_install()
        if not CHROMIUM.exists():
            pytest.skip(f"`apt-get install chromium` did not give {CHROMIUM}: {output}")
    return CHROMIUM


async def send(client: Client, message: dict[str, object]) -> None:
    body = fake_customer.envelope(message, CUSTOMER, NAME, PHONE_NUMBER_ID)
    assert await post_signed(client, body) == 200


async def tap(client: Client, emulated: EmulatorState, title: str) -> None:
    for entry in reversed(emulated.messages_to(CUSTOMER)):
        interactive = entry["payload"].get("interactive")
        for button in (interactive or {}).get("action", {}).get("buttons", []):
            if button["reply"]["title"] == title:
                await send(client, fake_customer.button_reply(
                    CUSTOMER, button["reply"]["id"], title, entry["id"]))
                return
    raise AssertionError(f"no '{title}' button was shown")


def ready_messages(emulated: EmulatorState) -> list[str]:
    bodies = [e["payload"].get("text", {}).get("body", "") for e in emulated.messages_to(CUSTOMER)]
    return [body for body in bodies if "is ready" in body]


async def test_a_confirmed_order_appears_live_and_ready_tells_the_customer(
    chromium: Path, tmp_path: Path, aiohttp_client: ClientFactory, settings: Settings,
    emulated: EmulatorState,
) -> None:
    from playwright.async_api import async_playwright, expect  # noqa: PLC0415

    bot = await aiohttp_client(create_app(
        settings.model_copy(update={"kitchen_display_token": SecretStr(TOKEN)})))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(chromium), headless=True,
            args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(str(bot.make_url("/kitchen")) + f"?token={TOKEN}")
            assert page.url.endswith("/kitchen")  # the token left the address bar
            await expect(page.locator("#connection")).to_have_text("live")
            other_tab = await browser.new_page()
            await other_tab.goto(str(bot.make_url("/kitchen")))  # signed in by the cookie
            await expect(other_tab.locator("#connection")).to_have_text("live")
            await expect(page.locator("#empty")).to_be_visible()

            # The customer orders on WhatsApp; nobody touches the page.
            await send(bot, fake_customer.text_message(CUSTOMER, "2 chicken shawarma no garlic"))
            await wait_for(lambda: "Shall I place this order" in last_body(emulated))
            await tap(bot, emulated, "Confirm")
            await wait_for(lambda: "pick it up" in last_body(emulated))
            await tap(bot, emulated, "Pickup")

            ticket = page.locator('article[data-number="1001"]')
            await expect(ticket).to_be_visible()
            await expect(ticket.locator(".item")).to_have_text("2 x Chicken Shawarma (Regular)")
            await expect(ticket.locator(".removed")).to_have_text("NO GARLIC SAUCE")
            await expect(ticket.locator(".who")).to_have_text("PICKUP · <i>Sam</i>")
            assert await ticket.locator("i").count() == 0  # shown as text, not as markup
            await expect(ticket.locator(".age")).to_have_text(re.compile(r"^\d+:\d\d$"))

            await ticket.get_by_role("button", name="Start").click()
            await expect(ticket).to_have_attribute("data-status", "preparing")
            assert ready_messages(emulated) == []
            await ticket.get_by_role("button", name="Ready").click()
            await expect(ticket).to_have_attribute("data-status", "ready")
            await wait_for(lambda: bool(ready_messages(emulated)))
            [message] = ready_messages(emulated)
            assert "#1001" in message and "ready for pickup" in message

            # The other tab followed every change without a reload.
            await expect(other_tab.locator('article[data-number="1001"]')).to_have_attribute(
                "data-status", "ready")
            assert await ticket.get_by_role("button", name="Cancel").count() == 0  # ready: no
            await cancel_a_second_order(bot, emulated, page)
        finally:
            await browser.close()


async def cancel_a_second_order(bot: Client, emulated: EmulatorState, page: Page) -> None:
    """Cancel is final, so it happens only after the cook confirms the prompt."""
    from playwright.async_api import expect  # noqa: PLC0415

    await send(bot, fake_customer.text_message(CUSTOMER, "a falafel wrap"))
    await wait_for(lambda: "Shall I place this order" in last_body(emulated))
    await tap(bot, emulated, "Confirm")
    await wait_for(lambda: "pick it up" in last_body(emulated))
    await tap(bot, emulated, "Pickup")
    second = page.locator('#tickets article[data-number="1002"]')
    await expect(second).to_be_visible()
    page.once("dialog", lambda dialog: dialog.dismiss())
    await second.get_by_role("button", name="Cancel").click()
    await expect(second).to_have_attribute("data-status", "new")  # answered "no": nothing
    page.once("dialog", lambda dialog: dialog.accept())
    await second.get_by_role("button", name="Cancel").click()
    finished = page.locator('#done article[data-number="1002"]')
    await expect(finished).to_have_attribute("data-status", "cancelled")
    await expect(second).to_have_count(0)  # left the open list
    assert await finished.get_by_role("button").count() == 0  # final: no undo
    await expect(finished.locator(".cancel-reason")).to_have_text("CANCELLED by kitchen screen")
    await wait_for(lambda: "had to cancel your order #1002" in last_body(emulated))
