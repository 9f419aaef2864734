"""`orderbot outbox list|show|retry`: an operator finds a dead letter and sends it again."""

from __future__ import annotations

import asyncio
import os
import sys

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlmodel import col, select

from adapters.db import OutboxItem
from adapters.whatsapp_emulator import EmulatorState, FailureRule
from bot import fake_customer
from bot.config import Settings
from bot.state import APP_STATE
from tests.conftest import BOTH_DATABASES, CUSTOMER, PHONE_NUMBER_ID, post_signed, wait_for

pytestmark = BOTH_DATABASES

Client = TestClient[web.Request, web.Application]


async def orderbot(settings: Settings, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env["ORDERBOT_DATABASE_URL"] = settings.database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "outbox", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


async def rows(bot: Client, state: str) -> list[OutboxItem]:
    async with bot.app[APP_STATE].sessions() as session:
        return list(await session.exec(
            select(OutboxItem).where(col(OutboxItem.state) == state)))


async def test_a_dead_reply_is_listed_explained_and_delivered_after_retry(
    bot: Client, emulated: EmulatorState, settings: Settings
) -> None:
    # WhatsApp refuses the summary for good (131026: message undeliverable).
    emulated.failures.append(FailureRule(code=131026, http_status=400, times=1, to=CUSTOMER,
                                         message="Message undeliverable", details=""))
    message = fake_customer.text_message(CUSTOMER, "a falafel wrap")
    assert await post_signed(bot, fake_customer.envelope(message, CUSTOMER, "Alex",
                                                         PHONE_NUMBER_ID)) == 200
    await bot.app[APP_STATE].processor.idle()
    await wait_for(lambda: not emulated.failures)
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    [dead] = await rows(bot, "dead")
    assert not [m for m in emulated.messages_to(CUSTOMER) if m["payload"]["type"] == "interactive"]

    code, out = await orderbot(settings, "list", "--state", "dead")
    assert code == 0
    assert f"#{dead.id}" in out and "131026" in out and f"wa:{CUSTOMER}" in out

    code, out = await orderbot(settings, "show", str(dead.id))
    assert code == 0 and "Falafel Wrap" in out and "131026" in out

    code, out = await orderbot(settings, "retry", "--all-dead")
    assert code == 0 and f"#{dead.id}" in out
    bot.app[APP_STATE].dispatcher.kick()  # the running server would find it at its next poll
    await wait_for(lambda: any(m["payload"]["type"] == "interactive"
                               for m in emulated.messages_to(CUSTOMER)))
    assert not await rows(bot, "dead")
    await bot.app[APP_STATE].dispatcher.wait_quiet()
    code, out = await orderbot(settings, "retry", str(dead.id))
    assert code == 1 and "is sent, not dead" in out


async def test_retry_refuses_rows_that_are_not_dead_and_unknown_ids(
    bot: Client, settings: Settings
) -> None:
    code, out = await orderbot(settings, "retry", "999")
    assert code == 1 and "outbox row 999 does not exist" in out
    code, out = await orderbot(settings, "retry")
    assert code == 2 and "--all-dead" in out
    code, out = await orderbot(settings, "show", "999")
    assert code == 1 and "does not exist" in out
    code, out = await orderbot(settings, "list")
    assert code == 0 and "the outbox is empty" in out
