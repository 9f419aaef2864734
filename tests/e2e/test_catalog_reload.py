"""The running server picks up catalog edits, and keeps the last good menu when one is broken."""

from __future__ import annotations

import shutil
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters.whatsapp_emulator import EmulatorState
from bot.app import CATALOG_KEY, create_app
from bot.config import Settings
from tests.conftest import ClientFactory, wait_for
from tests.e2e.test_order_flow import last_body, say
from tests.paths import RESTAURANT_CATALOG

Client = TestClient[web.Request, web.Application]


async def test_edited_menu_is_used_without_restart_and_a_broken_one_is_not(
    tmp_path: Path, settings: Settings, aiohttp_client: ClientFactory, emulated: EmulatorState
) -> None:
    menu = tmp_path / "menu.yaml"
    shutil.copy(RESTAURANT_CATALOG, menu)
    bot = await aiohttp_client(create_app(settings.model_copy(update={"catalog_path": menu})))
    holder = bot.app[CATALOG_KEY]

    text = menu.read_text()
    menu.write_text(text.replace("price: 7.49", "price: 6.49", 1))  # the falafel wrap
    assert holder.reload_if_changed()
    await say(bot, "1 falafel wrap")
    await _wait_for_body(bot, emulated, "$6.49")

    menu.write_text(text.replace("price: 7.49", "price: seven", 1))
    assert not holder.reload_if_changed()  # broken: logged, last good menu kept
    await say(bot, "cancel")
    await say(bot, "1 falafel wrap")
    await _wait_for_body(bot, emulated, "$6.49")


async def _wait_for_body(bot: Client, emulated: EmulatorState, needle: str) -> None:
    await wait_for(lambda: needle in last_body(emulated))
