"""Every scripted conversation in fixtures/conversations/ through the real stack, one case each.

The format is in fixtures/conversations/README.md; tests/conversation_runner.py plays a file.
The last tests here check the runner itself: a wrong expectation must fail, and say where.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from adapters.whatsapp_emulator import EmulatorState
from bot.config import Settings
from tests.conftest import BOTH_DATABASES, ClientFactory, Kitchen
from tests.conversation_runner import (
    CONVERSATIONS,
    ConversationError,
    ConversationRunner,
    load_conversation,
)

FILES = sorted(CONVERSATIONS.glob("*.yaml"))
Play = Callable[[Path], Awaitable[None]]


@pytest.fixture
def play(aiohttp_client: ClientFactory, settings: Settings, emulated: EmulatorState,
         kitchen: Kitchen, tmp_path: Path) -> Play:
    async def run(path: Path) -> None:
        runner = ConversationRunner(load_conversation(path), base_settings=settings,
                                    client_factory=aiohttp_client, emulator=emulated,
                                    kitchen=kitchen, workdir=tmp_path)
        await runner.run()

    return run


@BOTH_DATABASES  # the scale-out store must hold every conversation too (issue 6)
@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
async def test_conversation(path: Path, play: Play) -> None:
    await play(path)


def test_the_conversations_are_there() -> None:
    assert len(FILES) >= 10, f"expected the scripted conversations in {CONVERSATIONS}"


# ----------------------------------------------------------------------------- the runner itself

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "probe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_wrong_reply_fails_with_the_step_and_what_the_bot_said(
    play: Play, tmp_path: Path
) -> None:
    path = write(tmp_path, "name: probe\nsteps:\n  - say: hi\n    reply: [Sahara]\n"
                           "  - say: 2 falafel wrap\n    reply: [Total, '$99.99']\n")
    with pytest.raises(ConversationError) as failure:
        await play(path)
    report = str(failure.value)
    assert "step 2 failed: reply ['$99.99'] not found" in report
    assert "2 × Falafel Wrap" in report and "[Confirm]" in report  # what was sent
    assert "Welcome to Sahara Grill" in report  # the transcript of step 1


async def test_a_wrong_order_fails_and_shows_the_ticket(
    play: Play, tmp_path: Path
) -> None:
    path = write(tmp_path, "name: probe\nsteps:\n  - say: 2 falafel wrap\n  - tap: Confirm\n"
                           "  - tap: Pickup\norder:\n  - {product: falafel-wrap, quantity: 3}\n")
    with pytest.raises(ConversationError) as failure:
        await play(path)
    assert "'product': 'falafel-wrap'" in str(failure.value)
    assert "'quantity': 2" in str(failure.value)


async def test_a_tap_on_a_button_that_is_not_offered_fails(
    play: Play, tmp_path: Path
) -> None:
    path = write(tmp_path, "name: probe\nsteps:\n  - say: 1 fries\n  - tap: Pay now\n")
    with pytest.raises(ConversationError, match=r"no 'Pay now' \(it offers \['Confirm', "):
        await play(path)


@pytest.mark.parametrize("text", [
    "name: x\nsteps:\n  - say: hi\n    replies: [hi]\n",           # a typo'd check
    "name: x\nsteps:\n  - say: hi\n    tap: Confirm\n",            # two kinds in one step
    "name: x\nsteps:\n  - burst: [a]\n    duplicate: true\n",      # duplicate needs say/tap
    "name: x\nsettings: {merge_window: 1}\nsteps:\n  - say: hi\n",  # not a Settings field
    "name: x\nsteps:\n  - say: hi\norder:\n  - {product: fries}\n",  # no quantity
])
def test_malformed_files_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConversationError):
        load_conversation(write(tmp_path, text))
