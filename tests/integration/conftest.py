"""Fixtures shared by the tests that talk to the WhatsApp emulator. Each module defines its own
`emulator` (with or without status webhooks); these read its state and give an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.whatsapp_emulator import EMULATOR_STATE, EmulatorState


@pytest.fixture
def state(emulator: TestServer) -> EmulatorState:
    return emulator.app[EMULATOR_STATE]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http
