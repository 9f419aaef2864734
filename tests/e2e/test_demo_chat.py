"""The README's first command, black-box: `orderbot demo` and `orderbot chat` as real processes.

A customer types an order in the chat terminal and taps the buttons it shows; the demo's
kitchen printer (which refuses tickets without a valid signature) prints the ticket, and the
chat shows the confirmation with the same order number. Only the ports are moved, through the
documented variables, so the test does not collide with a demo someone is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from bench.ports import child_port

ORDERBOT = [sys.executable, "-m", "bot.cli"]
STEP_TIMEOUT = 30.0


class Terminal:
    """A running command whose output is collected as it arrives."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = ""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(4096):
            self.output += chunk.decode(errors="replace")

    async def wait_for(self, pattern: str, start: int = 0) -> re.Match[str]:
        """The first match of `pattern` in the output after `start`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_TIMEOUT
        while (match := re.compile(pattern).search(self.output, start)) is None:
            if loop.time() > deadline or self.process.returncode is not None:
                raise AssertionError(f"never saw {pattern!r}; output so far:\n{self.output}")
            await asyncio.sleep(0.05)
        return match

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def started(*args: str, env: dict[str, str], cwd: Path) -> AsyncIterator[Terminal]:
    process = await asyncio.create_subprocess_exec(
        *ORDERBOT, *args, env=env, cwd=cwd, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    terminal = Terminal(process)
    try:
        yield terminal
    finally:
        await terminal.stop()


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env |= {"ORDERBOT_PORT": str(child_port()),
            "ORDERBOT_DEMO_EMULATOR_PORT": str(child_port()),
            "ORDERBOT_DEMO_KITCHEN_PORT": str(child_port()),
            "ORDERBOT_MERGE_WINDOW_SECONDS": "0.2",
            "PYTHONUNBUFFERED": "1",
            # The checkout's repository root, so `python -m bot.cli` imports this code.
            "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return env


def button_number(output: str, title: str) -> str:
    """The number the chat printed for the last button with this title."""
    numbers = re.findall(rf"\[(\d+)\] {re.escape(title)}\b", output)
    assert numbers, f"no {title!r} button in:\n{output}"
    return str(numbers[-1])


async def test_demo_and_chat_place_an_order_that_the_kitchen_prints(tmp_path: Path) -> None:
    env = demo_env()
    async with started("demo", env=env, cwd=tmp_path) as demo:
        await demo.wait_for(r"Now open a second terminal")
        async with started("chat", env=env, cwd=tmp_path) as chat:
            await chat.wait_for(r"you> ")
            seen = len(chat.output)
            await chat.type("2 chicken shawarma and a large pepsi")
            # Tap Confirm on the summary and Pickup when asked (the shop also delivers),
            # until the confirmation with the order number arrives.
            number = ""
            for _ in range(4):
                match = await chat.wait_for(r"\[\d+\] (Pickup|Confirm)\b|order #(\d{4})", seen)
                seen = match.end()
                if match.group(2):
                    number = match.group(2)
                    break
                await chat.type(button_number(chat.output, match.group(1)))
            assert number, f"no order number reached:\n{chat.output}"
            assert "Chicken Shawarma" in chat.output and "Pepsi" in chat.output
        ticket = await demo.wait_for(rf"ORDER #{number}")
        printed = demo.output[ticket.start():]
        assert re.search(r"2\s*x?\s*Chicken Shawarma", printed, re.IGNORECASE), printed
        assert "Pepsi" in printed
        assert "bad signature" not in demo.output
    assert (tmp_path / "orderbot.db").exists()  # the demo's SQLite database, where it was run


async def test_demo_says_which_port_is_taken_instead_of_a_traceback(tmp_path: Path) -> None:
    env = demo_env()
    with contextlib.closing(__import__("socket").socket()) as busy:
        busy.bind(("127.0.0.1", int(env["ORDERBOT_DEMO_KITCHEN_PORT"])))
        busy.listen()
        async with started("demo", env=env, cwd=tmp_path) as demo:
            code = await asyncio.wait_for(demo.process.wait(), STEP_TIMEOUT)
            await asyncio.sleep(0.1)
    assert code == 2, demo.output
    assert "ORDERBOT_DEMO_KITCHEN_PORT" in demo.output
    assert "Traceback" not in demo.output
