"""Acknowledgements before processing (bot.ingest.Ingest.acknowledgements_first): in a flood,
webhooks waiting for their commit go before the next message is processed, so Meta hears 200s;
at an ordinary pace processing never waits. Through the real server with signed payloads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from adapters import inbox
from bot import fake_customer, ingest
from bot.webhook import INGEST_KEY
from tests.conftest import PHONE_NUMBER_ID, post_signed

Client = TestClient[web.Request, web.Application]


def body_for(number: int) -> bytes:
    phone = f"1555003{number:04d}"
    return fake_customer.envelope(fake_customer.text_message(phone, "2 large pepperoni"),
                                  phone, "Ann", PHONE_NUMBER_ID)


async def until_unanswered(bot: Client, count: int) -> None:
    """Until `count` webhooks wait for their commit (they reach the server one by one, later
    on a busy machine)."""
    async with asyncio.timeout(10):
        while bot.app[INGEST_KEY].unanswered < count:
            await asyncio.sleep(0.005)


@pytest.fixture
def slow_commits(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.Event]:
    """The inbox writer's commits wait for this event: webhooks pile up unanswered."""
    go_on = asyncio.Event()
    store = inbox.insert_messages

    async def held(*args: Any, **kwargs: Any) -> set[str]:
        await go_on.wait()
        return await store(*args, **kwargs)

    monkeypatch.setattr(inbox, "insert_messages", held)
    yield go_on
    go_on.set()  # a failed test must not leave the server's shutdown waiting


async def test_processing_waits_while_webhooks_pile_up_and_goes_on_once_they_are_answered(
        bot: Client, slow_commits: asyncio.Event) -> None:
    posts = [asyncio.create_task(post_signed(bot, body_for(n)))
             for n in range(ingest.ACK_BACKLOG + 4)]
    await until_unanswered(bot, len(posts))  # every webhook is in, waiting for its commit
    gate = asyncio.create_task(bot.app[INGEST_KEY].acknowledgements_first())
    await asyncio.sleep(0.1)
    assert not gate.done()  # more than ACK_BACKLOG webhooks wait: processing holds back
    slow_commits.set()
    await asyncio.wait_for(gate, timeout=ingest.ACK_FIRST_LONGEST_SECONDS)
    assert await asyncio.gather(*posts) == [200] * len(posts)


async def test_at_an_ordinary_pace_processing_does_not_wait(
        bot: Client, slow_commits: asyncio.Event) -> None:
    posts = [asyncio.create_task(post_signed(bot, body_for(n)))
             for n in range(ingest.ACK_BACKLOG)]
    await until_unanswered(bot, len(posts))  # all waiting for their commit, not more than that
    # Well under the pause (ACK_FIRST_LONGEST_SECONDS) it would take if it waited.
    await asyncio.wait_for(bot.app[INGEST_KEY].acknowledgements_first(), timeout=0.15)
    slow_commits.set()
    assert await asyncio.gather(*posts) == [200] * len(posts)


async def test_a_pause_is_bounded_so_processing_is_never_starved(
        bot: Client, slow_commits: asyncio.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "ACK_FIRST_LONGEST_SECONDS", 0.05)
    posts = [asyncio.create_task(post_signed(bot, body_for(n)))
             for n in range(ingest.ACK_BACKLOG + 4)]
    await until_unanswered(bot, len(posts))
    await asyncio.wait_for(bot.app[INGEST_KEY].acknowledgements_first(), timeout=1)
    slow_commits.set()
    assert await asyncio.gather(*posts) == [200] * len(posts)


async def test_in_a_flood_processing_waits_for_every_acknowledgement(
        bot: Client, slow_commits: asyncio.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    # Four webhooks in a moment count as a flood here (as 40 in 0.1 s do in production): then
    # even a few waiting for their commit hold processing back, not only more than
    # ACK_BACKLOG of them.
    monkeypatch.setattr(ingest, "FLOOD_DELIVERIES", 4)
    posts = [asyncio.create_task(post_signed(bot, body_for(n))) for n in range(4)]
    await until_unanswered(bot, len(posts))
    gate = asyncio.create_task(bot.app[INGEST_KEY].acknowledgements_first())
    await asyncio.sleep(0.1)
    assert not gate.done()
    slow_commits.set()
    await asyncio.wait_for(gate, timeout=ingest.ACK_FIRST_LONGEST_SECONDS)
    assert await asyncio.gather(*posts) == [200] * len(posts)

    # A quiet spell ends the flood: a webhook waiting alone no longer holds processing back.
    await asyncio.sleep(2 * ingest.FLOOD_WINDOW_SECONDS)
    slow_commits.clear()
    post = asyncio.create_task(post_signed(bot, body_for(99)))
    await until_unanswered(bot, 1)
    await asyncio.wait_for(bot.app[INGEST_KEY].acknowledgements_first(), timeout=0.15)
    slow_commits.set()
    assert await post == 200
