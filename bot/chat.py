"""`orderbot chat`: be a WhatsApp customer in a terminal.

Each line you type is sent to the server as a properly signed webhook, exactly as Meta would
send it; the bot's replies are read back from the local Cloud API emulator. Buttons are shown
as numbers: type the number to tap one.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from bot import fake_customer
from bot.config import Settings
from bot.demo import DEMO_APP_SECRET, DEMO_PHONE_NUMBER_ID, EMULATOR_PORT

QUIT = {"/quit", "/exit", "/q"}


class ChatScreen:
    """Prints bot messages and remembers the last buttons so a number can tap one."""

    def __init__(self) -> None:
        self.buttons: list[tuple[str, str]] = []
        self.buttons_wamid = ""

    def show(self, entry: dict[str, Any]) -> None:
        payload = entry["payload"]
        if payload.get("type") == "text":
            print(f"\nbot> {payload['text']['body']}", flush=True)
            return
        interactive = payload.get("interactive", {})
        print(f"\nbot> {interactive.get('body', {}).get('text', '')}")
        choices = _choices(interactive)
        if choices:
            self.buttons, self.buttons_wamid = choices, entry["id"]
            described = {row["id"]: row.get("description", "")
                         for section in interactive.get("action", {}).get("sections", [])
                         for row in section.get("rows", [])}
            for number, (choice_id, title) in enumerate(choices, start=1):
                detail = described.get(choice_id)
                print(f"     [{number}] {title}" + (f" — {detail}" if detail else ""))
            print("     (type a number to tap)", flush=True)

    def tapped(self, line: str) -> tuple[str, str] | None:
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            return self.buttons[int(line) - 1]
        return None


def _choices(interactive: dict[str, Any]) -> list[tuple[str, str]]:
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        return [(b["reply"]["id"], b["reply"]["title"]) for b in action.get("buttons", [])]
    return [(row["id"], row["title"]) for section in action.get("sections", [])
            for row in section.get("rows", [])]


async def _follow_replies(
    http: aiohttp.ClientSession, emulator: str, phone: str, screen: ChatScreen
) -> None:
    after = await _last_seq(http, emulator, phone)
    while True:
        try:
            async with http.get(f"{emulator}/_emulator/messages",
                                params={"to": phone, "after": str(after), "wait": "20"}) as resp:
                entries = (await resp.json())["messages"]
        except aiohttp.ClientError:
            print("\n(cannot reach the emulator — is `make demo` running?)", flush=True)
            await asyncio.sleep(2)
            continue
        for entry in entries:
            after = max(after, entry["seq"])
            screen.show(entry)


async def _last_seq(http: aiohttp.ClientSession, emulator: str, phone: str) -> int:
    with contextlib.suppress(aiohttp.ClientError, KeyError, ValueError):
        async with http.get(f"{emulator}/_emulator/messages",
                            params={"to": phone, "after": "0"}) as resp:
            entries = (await resp.json())["messages"]
            return max((e["seq"] for e in entries), default=0)
    return 0


async def run_chat(
    settings: Settings, server: str | None, emulator: str | None, phone: str, name: str
) -> int:
    secret = settings.secret("app_secret") or DEMO_APP_SECRET
    phone_number_id = settings.phone_number_id or DEMO_PHONE_NUMBER_ID
    server = server or f"http://{settings.host}:{settings.port}/webhook"
    emulator = (emulator or f"http://127.0.0.1:{EMULATOR_PORT}").rstrip("/")
    print(f"You are {name} (+{phone}) chatting with the shop at {server}.\n"
          "Type your messages; /quit to leave.", flush=True)
    screen = ChatScreen()
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        follower = asyncio.create_task(_follow_replies(http, emulator, phone, screen))
        try:
            while True:
                try:
                    line = (await loop.run_in_executor(None, input, "you> ")).strip()
                except EOFError:
                    break
                if line in QUIT:
                    break
                if not line:
                    continue
                tap = screen.tapped(line)
                message = (fake_customer.button_reply(phone, tap[0], tap[1], screen.buttons_wamid)
                           if tap else fake_customer.text_message(phone, line))
                body = fake_customer.envelope(message, phone, name, phone_number_id)
                try:
                    async with http.post(server, data=body,
                                         headers=fake_customer.signed_headers(body, secret)) as r:
                        if r.status != 200:
                            print(f"(server answered HTTP {r.status}: {await r.text()})")
                except aiohttp.ClientError as error:
                    print(f"(cannot reach the server at {server}: {error})")
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
    return 0
