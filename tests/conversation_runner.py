"""Plays a scripted conversation (fixtures/conversations/*.yaml) through the real stack.

The app is served over HTTP, every customer message is a signed webhook built by
bot.fake_customer, replies are read from the Cloud API emulator and orders from the kitchen
receiver. After each step the runner waits until the bot is done (processor idle, outbox quiet)
and then checks what the customer saw during that step. The file format is documented in
fixtures/conversations/README.md; this module follows it, and refuses files it would misread
(an unknown key is a typo that would otherwise check nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import AliasChoices, SecretStr
from sqlmodel import col, select

from adapters.db import InboundMessage, OrderRow, OutboxItem
from adapters.whatsapp_emulator import EmulatorState, LogEntry
from bot import fake_customer
from bot.app import create_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.state import APP_STATE, AppState
from catalog.loader import load_catalog
from tests.conftest import PHONE_NUMBER_ID, Kitchen, post_signed
from tests.paths import FIXTURES, ROOT

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]

CONVERSATIONS = FIXTURES / "conversations"
CATALOGS = FIXTURES / "catalog"
DEFAULT_CUSTOMER = "alex"
# A Wednesday: every sample catalog is open at noon on weekdays.
DEFAULT_DAY = (2026, 11, 25, 12, 0)
SETTLE_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0

_FILE_KEYS = {"name", "catalog", "clock", "settings", "steps", "order", "notes"}
_KINDS = ("say", "tap", "burst", "send", "location", "cart", "restart", "cli", "advance")
_CHECKS = {"reply", "no_reply", "buttons", "silent", "messages", "customer"}
_EXTRAS = {"duplicate": {"say", "tap"}, "reorder": {"burst"}, "older": {"tap"},
           "output": {"cli"}, "exit": {"cli"}}
_LINE_KEYS = {"product", "variant", "quantity", "options", "removed"}
# Readable, stable numbers for the usual names; any other name gets a hashed one.
_KNOWN_PHONES = {"alex": "15550100001", "sam": "15550100002", "kim": "15550100003",
                 "jo": "15550100004", "lee": "15550100005", "maya": "15550100006",
                 "omar": "15550100007", "priya": "15550100008", "chen": "15550100009",
                 "ana": "15550100010"}
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")


class ConversationError(AssertionError):
    """The conversation file is malformed or the bot did not behave as it says."""


def phone_of(customer: str) -> str:
    if customer in _KNOWN_PHONES:
        return _KNOWN_PHONES[customer]
    number = int(hashlib.sha256(customer.encode()).hexdigest(), 16) % 10_000
    return f"1555011{number:04d}"


def profile_name(customer: str) -> str:
    return f"{customer.capitalize()} Buyer"


@lru_cache(maxsize=8)
def _shop_of(path: Path) -> tuple[str, str]:
    """(timezone, currency) of a catalog file."""
    shop = load_catalog(path).shop
    return shop.timezone, shop.currency


@dataclass(frozen=True)
class Conversation:
    path: Path
    name: str
    catalog: Path
    clock: datetime
    settings: dict[str, Any]
    steps: list[dict[str, Any]]
    check_order: bool
    order: dict[str, list[dict[str, Any]] | None] | list[dict[str, Any]] | None
    customers: tuple[str, ...]


def load_conversation(path: Path) -> Conversation:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    if not isinstance(data, dict):
        raise ConversationError(f"{where}: expected a mapping with name and steps")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise ConversationError(f"{where}: unknown key(s) {sorted(unknown)}; "
                                f"known: {sorted(_FILE_KEYS)}")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise ConversationError(f"{where}: 'name' is required")
    catalog = _catalog_path(str(data.get("catalog", "restaurant")), where)
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ConversationError(f"{where}: 'steps' must be a non-empty list")
    customers = {DEFAULT_CUSTOMER}
    for number, step in enumerate(steps, 1):
        _check_step(step, f"{where} step {number}")
        customers.add(step.get("customer", DEFAULT_CUSTOMER))
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConversationError(f"{where}: 'settings' must be a mapping")
    _check_settings(settings, where)
    order = data.get("order")
    if "order" in data:
        _check_order(order, where, customers)
    phones = [phone_of(c) for c in customers]
    if len(set(phones)) != len(phones):
        raise ConversationError(f"{where}: two customer names map to the same number; "
                                "rename one")
    return Conversation(
        path=path, name=data["name"], catalog=catalog,
        clock=_clock(data.get("clock"), catalog, where), settings=settings, steps=steps,
        check_order="order" in data, order=order, customers=tuple(sorted(customers)))


def _catalog_path(value: str, where: str) -> Path:
    candidate = CATALOGS / f"{value}.yaml"
    if candidate.exists():
        return candidate
    raise ConversationError(f"{where}: unknown catalog '{value}' (a name in fixtures/catalog/)")


def _clock(value: Any, catalog: Path, where: str) -> datetime:
    zone = ZoneInfo(_shop_of(catalog)[0])
    if value is None:
        return datetime(*DEFAULT_DAY, tzinfo=zone)
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError as error:
        raise ConversationError(f"{where}: clock: {error}") from None
    # YAML reads an unquoted timestamp as naive UTC; a quoted one without offset is shop time.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC if isinstance(value, datetime) else zone)
    return moment


def _check_step(step: Any, where: str) -> None:
    if not isinstance(step, dict):
        raise ConversationError(f"{where}: a step is a mapping like {{say: hi}}")
    kinds = [k for k in _KINDS if k in step]
    if len(kinds) != 1:
        raise ConversationError(f"{where}: needs exactly one of {list(_KINDS)}, got {kinds}")
    kind = kinds[0]
    unknown = set(step) - {kind} - _CHECKS - set(_EXTRAS)
    if unknown:
        raise ConversationError(f"{where}: unknown key(s) {sorted(unknown)}")
    for extra, allowed in _EXTRAS.items():
        if extra in step and kind not in allowed:
            raise ConversationError(f"{where}: '{extra}' only goes with {sorted(allowed)}")
    if step.get("silent") and ("reply" in step or "buttons" in step):
        raise ConversationError(f"{where}: 'silent' contradicts 'reply'/'buttons'")
    for key in ("reply", "no_reply", "buttons", "output"):
        value = step.get(key)
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            raise ConversationError(f"{where}: '{key}' must be a list of strings")
    customer = step.get("customer", DEFAULT_CUSTOMER)
    if not isinstance(customer, str) or not _NAME.match(customer):
        raise ConversationError(f"{where}: customer must be a short lower-case name")
    value = step[kind]
    expected: dict[str, type | tuple[type, ...]] = {
        "say": str, "tap": str, "burst": list, "send": dict, "location": dict,
        "cart": (list, dict), "restart": bool, "cli": list, "advance": (int, float)}
    if (not isinstance(value, expected[kind]) or (kind == "restart" and value is not True)
            or (kind == "advance" and isinstance(value, bool))):
        raise ConversationError(f"{where}: '{kind}' has the wrong type ({value!r}); quote "
                                "texts such as \"yes\", \"no\" or \"2\" (YAML reads them "
                                "as booleans and numbers)")
    if kind == "send" and not isinstance(step["send"].get("type"), str):
        raise ConversationError(f"{where}: a raw message needs a 'type'")


def _check_settings(settings: dict[str, Any], where: str) -> None:
    unknown = set(settings) - set(Settings.model_fields)
    if unknown:
        raise ConversationError(f"{where}: settings: unknown field(s) {sorted(unknown)}")
    blocked = {"database_url", "catalog_path", "api_base_url", "kitchen_webhook_url"}
    if blocked & set(settings):
        raise ConversationError(f"{where}: settings: {sorted(blocked & set(settings))} are "
                                "set by the runner")


def _check_order(order: Any, where: str, customers: set[str]) -> None:
    if order is None:
        return
    groups = order.values() if isinstance(order, dict) else [order]
    if isinstance(order, dict) and set(order) - customers:
        raise ConversationError(f"{where}: order for customers who never spoke: "
                                f"{sorted(set(order) - customers)}")
    for lines in groups:
        if lines is None:
            continue
        if not isinstance(lines, list) or not lines:
            raise ConversationError(f"{where}: order: a non-empty list of lines, or null")
        for line in lines:
            if (not isinstance(line, dict) or set(line) - _LINE_KEYS
                    or not {"product", "quantity"} <= set(line)):
                raise ConversationError(f"{where}: order line {line!r}: needs product and "
                                        f"quantity; may have {sorted(_LINE_KEYS)}")


# ----------------------------------------------------------------------------- what was seen

def visible_text(entry: LogEntry) -> str:
    """Everything a customer can read in one message: bodies, buttons, list rows."""
    payload = entry["payload"]
    kind = str(payload.get("type"))
    if kind == "text":
        return str(payload["text"]["body"])
    if kind != "interactive":
        return json.dumps(payload.get(kind, payload), ensure_ascii=False)
    interactive = payload["interactive"]
    parts = [str(interactive.get("header", {}).get("text", "")),
             str(interactive.get("body", {}).get("text", "")),
             str(interactive.get("footer", {}).get("text", ""))]
    action = interactive.get("action", {})
    parts += [b["reply"]["title"] for b in action.get("buttons", [])]
    if "button" in action:
        parts.append(str(action["button"]))
    for section in action.get("sections", []):
        parts.append(str(section.get("title", "")))
        for row in section.get("rows", []):
            parts += [str(row.get("title", "")), str(row.get("description", ""))]
    return "\n".join(p for p in parts if p)


def choices(entry: LogEntry) -> list[dict[str, str]]:
    """The buttons or list rows of an interactive message, as {id, title, description}."""
    interactive = entry["payload"].get("interactive") or {}
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        return [{"id": b["reply"]["id"], "title": b["reply"]["title"], "description": ""}
                for b in action.get("buttons", [])]
    return [{"id": row["id"], "title": row["title"], "description": row.get("description", "")}
            for section in action.get("sections", []) for row in section.get("rows", [])]


def render(entry: LogEntry) -> str:
    """One sent message as a reader would see it, for failure reports."""
    payload = entry["payload"]
    if payload.get("type") == "text":
        body = payload["text"]["body"]
    elif payload.get("type") == "interactive":
        interactive = payload["interactive"]
        body = interactive.get("body", {}).get("text", "")
        titles = " ".join(f"[{c['title']}]" for c in choices(entry))
        list_button = interactive.get("action", {}).get("button")
        body += f"\n{'(list ' + repr(list_button) + ') ' if list_button else ''}{titles}"
    else:
        body = f"<{payload.get('type')}> {json.dumps(payload, ensure_ascii=False)}"
    return "\n".join(("  bot> " if n == 0 else "       ") + line
                     for n, line in enumerate(body.splitlines() or [""]))


# ----------------------------------------------------------------------------- the runner

@dataclass
class ConversationRunner:
    conversation: Conversation
    base_settings: Settings
    client_factory: ClientFactory
    emulator: EmulatorState
    kitchen: Kitchen
    workdir: Path
    transcript: list[str] = field(default_factory=list)
    client: Client | None = None
    _last_timestamp: int = 0

    def __post_init__(self) -> None:
        self.clock = ManualClock(self.conversation.clock)
        update = {"catalog_path": self.conversation.catalog}
        if self.conversation.settings:
            checked = Settings(**self.conversation.settings)  # validates types and bounds
            update |= {k: getattr(checked, k) for k in self.conversation.settings}
        self.settings = self.base_settings.model_copy(update=update)

    @property
    def state(self) -> AppState:
        assert self.client is not None
        return self.client.app[APP_STATE]

    async def run(self) -> None:
        self.client = await self.client_factory(create_app(self.settings, clock=self.clock))
        await self._settle(0, {"start": True})
        for number, step in enumerate(self.conversation.steps, 1):
            await self.run_step(number, step)
        if self.conversation.check_order:
            await self._check_order()

    async def run_step(self, number: int, step: dict[str, Any]) -> None:
        customer = str(step.get("customer", DEFAULT_CUSTOMER))
        phone = phone_of(customer)
        before = self.emulator.last_seq
        self.transcript.append(f"step {number}: {customer}> {_short(step)}")
        kind = next(k for k in _KINDS if k in step)
        cli_result = await getattr(self, f"_do_{kind}")(number, step, customer)
        await self._settle(number, step)
        sent = self.emulator.select(phone, before)
        self.transcript += [render(entry) for entry in sent]
        others = [e for e in self.emulator.select(None, before) if e["to"] != phone]
        self.transcript += [f"  (to {e['to']}) " + render(e).strip() for e in others]
        self._check_replies(number, step, sent)
        if kind == "cli":
            self._check_cli(number, step, cli_result)

    # --------------------------------------------------------------- step kinds

    def _timestamp(self) -> int:
        """The clock's time, strictly increasing so the customer's typing order is kept."""
        self._last_timestamp = max(int(self.clock.now().timestamp()), self._last_timestamp + 1)
        return self._last_timestamp

    async def _post(self, number: int, step: dict[str, Any], body: bytes) -> None:
        assert self.client is not None
        status = await post_signed(self.client, body)
        if status != 200:
            self._fail(number, step, f"the webhook answered HTTP {status}", [])

    async def _deliver(self, number: int, step: dict[str, Any], customer: str,
                       message: dict[str, Any]) -> None:
        phone = phone_of(customer)
        body = fake_customer.envelope(message, phone, profile_name(customer), PHONE_NUMBER_ID)
        if step.get("duplicate"):
            # Meta retries overlap: the same signed body arrives twice at once.
            await asyncio.gather(self._post(number, step, body), self._post(number, step, body))
        else:
            await self._post(number, step, body)

    async def _do_say(self, number: int, step: dict[str, Any], customer: str) -> None:
        message = fake_customer.text_message(phone_of(customer), step["say"], self._timestamp())
        await self._deliver(number, step, customer, message)

    async def _do_tap(self, number: int, step: dict[str, Any], customer: str) -> None:
        phone = phone_of(customer)
        title = step["tap"]
        interactive = [e for e in reversed(self.emulator.messages_to(phone))
                       if e["payload"].get("type") == "interactive"]
        if not interactive:
            self._fail(number, step, "no interactive message was ever sent to this customer",
                       [])
        older = int(step.get("older", 0))
        if older:
            offering = [e for e in interactive
                        if any(c["title"] == title for c in choices(e))]
            if len(offering) <= older:
                self._fail(number, step, f"fewer than {older + 1} messages offer '{title}'",
                           [])
            entry = offering[older]
        else:
            entry = interactive[0]
        match = next((c for c in choices(entry) if c["title"] == title), None) or next(
            (c for c in choices(entry) if c["title"].casefold() == title.casefold()), None)
        if match is None:
            offered = [c["title"] for c in choices(entry)]
            self._fail(number, step, f"the latest interactive message has no '{title}' "
                       f"(it offers {offered})", [entry])
        if entry["payload"]["interactive"]["type"] == "button":
            message = fake_customer.button_reply(phone, match["id"], match["title"],
                                                 entry["id"], self._timestamp())
        else:
            message = fake_customer.list_reply(phone, match["id"], match["title"], entry["id"],
                                               description=match["description"],
                                               timestamp=self._timestamp())
        await self._deliver(number, step, customer, message)

    async def _do_burst(self, number: int, step: dict[str, Any], customer: str) -> None:
        phone = phone_of(customer)
        bodies = [fake_customer.envelope(
            fake_customer.text_message(phone, str(text), self._timestamp()), phone,
            profile_name(customer), PHONE_NUMBER_ID) for text in step["burst"]]
        for body in reversed(bodies) if step.get("reorder") else bodies:
            await self._post(number, step, body)

    async def _do_send(self, number: int, step: dict[str, Any], customer: str) -> None:
        message = fake_customer.raw_message(phone_of(customer), step["send"], self._timestamp())
        await self._deliver(number, step, customer, message)

    async def _do_location(self, number: int, step: dict[str, Any], customer: str) -> None:
        pin = step["location"]
        message = fake_customer.location_message(
            phone_of(customer), float(pin["latitude"]), float(pin["longitude"]),
            name=str(pin.get("name", "")), address=str(pin.get("address", "")),
            timestamp=self._timestamp())
        await self._deliver(number, step, customer, message)

    async def _do_cart(self, number: int, step: dict[str, Any], customer: str) -> None:
        cart = step["cart"]
        items, text = (cart, "") if isinstance(cart, list) else (cart["items"],
                                                                  str(cart.get("text", "")))
        currency = _shop_of(self.conversation.catalog)[1]
        product_items = [{"product_retailer_id": str(item["retailer_id"]),
                          "quantity": item.get("quantity", 1),
                          "item_price": item.get("price", 0),
                          "currency": item.get("currency", currency)} for item in items]
        message = fake_customer.order_message(phone_of(customer), product_items, text=text,
                                              timestamp=self._timestamp())
        await self._deliver(number, step, customer, message)

    async def _do_restart(self, number: int, step: dict[str, Any], customer: str) -> None:
        assert self.client is not None
        await self.client.close()  # runs the app's shutdown: the database file stays
        self.client = await self.client_factory(create_app(self.settings, clock=self.clock))

    async def _do_advance(self, number: int, step: dict[str, Any], customer: str) -> None:
        run_timers = getattr(self.state.processor, "run_timers", None)
        if run_timers is None:
            self._fail(number, step, "timers not implemented: Processor.run_timers() does "
                       "not exist yet", [])
        self.clock.advance(timedelta(minutes=float(step["advance"])))
        await run_timers()

    async def _do_cli(self, number: int, step: dict[str, Any], customer: str
                      ) -> tuple[int, str]:
        names = set(self.conversation.customers)
        args = [phone_of(a) if a in names else str(a) for a in step["cli"]]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, cwd=self.workdir, env=self._cli_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout=CLI_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            self._fail(number, step, f"orderbot {' '.join(args)} ran over {CLI_TIMEOUT} s", [])
        code = process.returncode if process.returncode is not None else -1
        text = output.decode(errors="replace")
        self.transcript.append("  $ orderbot " + " ".join(args) + f"  (exit {code})\n"
                               + "\n".join("    " + line for line in text.splitlines()))
        return code, text

    def _cli_env(self) -> dict[str, str]:
        """This conversation's settings as the documented environment variables."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                          os.environ.get("PYTHONPATH")]))
        for name, info in Settings.model_fields.items():
            value = getattr(self.settings, name)
            alias = info.validation_alias
            if value is None or not isinstance(alias, AliasChoices):
                continue
            variable = str(alias.choices[0])
            env[variable] = (value.get_secret_value() if isinstance(value, SecretStr)
                             else str(value))
        return env

    # --------------------------------------------------------------- waiting and checking

    async def _settle(self, number: int, step: dict[str, Any]) -> None:
        """Until the bot has handled everything and delivered everything it decided."""
        state = self.state
        try:
            await asyncio.wait_for(state.processor.idle(), timeout=SETTLE_TIMEOUT)
        except TimeoutError:
            self._fail(number, step, "the bot was still processing after "
                       f"{SETTLE_TIMEOUT} s", [])
        await state.dispatcher.wait_quiet(timeout=SETTLE_TIMEOUT)
        due = await state.dispatcher.pending_due()
        if due:
            self._fail(number, step, f"{due} outbox row(s) still undelivered", [])
        async with state.sessions() as session:
            failed = (await session.exec(select(InboundMessage).where(
                col(InboundMessage.error).is_not(None)))).first()
            # Dead letters, and rows still failing; a row that failed once and then went
            # out (a retry that worked) is not a problem.
            broken = (await session.exec(select(OutboxItem).where(
                col(OutboxItem.last_error).is_not(None),
                col(OutboxItem.state) != "sent"))).first()
        if failed is not None:
            self._fail(number, step, f"the bot crashed on a message: {failed.error}", [])
        if broken is not None:
            self._fail(number, step, f"a {broken.kind} delivery failed ({broken.state}): "
                       f"{broken.last_error}\npayload: {broken.payload}", [])

    def _check_replies(self, number: int, step: dict[str, Any], sent: list[LogEntry]) -> None:
        seen = "\n".join(visible_text(entry) for entry in sent).casefold()
        missing = [r for r in step.get("reply", []) if r.casefold() not in seen]
        if missing:
            self._fail(number, step, f"reply {missing} not found", sent)
        unwanted = [r for r in step.get("no_reply", []) if r.casefold() in seen]
        if unwanted:
            self._fail(number, step, f"no_reply {unwanted} was sent", sent)
        if step.get("silent") and sent:
            self._fail(number, step, "expected silence, the bot sent something", sent)
        if "messages" in step and len(sent) != step["messages"]:
            self._fail(number, step, f"expected {step['messages']} message(s), "
                       f"got {len(sent)}", sent)
        if "buttons" in step:
            interactive = [e for e in sent if e["payload"].get("type") == "interactive"]
            if not interactive:
                self._fail(number, step, "expected buttons, no interactive message was sent",
                           sent)
            titles = [c["title"] for c in choices(interactive[-1])]
            if titles != step["buttons"]:
                self._fail(number, step, f"buttons {titles} != expected {step['buttons']}",
                           sent)

    def _check_cli(self, number: int, step: dict[str, Any], result: tuple[int, str]) -> None:
        code, output = result
        if code != step.get("exit", 0):
            self._fail(number, step, f"orderbot exited {code}, expected {step.get('exit', 0)}"
                       f"\n{output}", [])
        missing = [o for o in step.get("output", []) if o.casefold() not in output.casefold()]
        if missing:
            self._fail(number, step, f"output {missing} not found in:\n{output}", [])

    async def _check_order(self) -> None:
        expected = self.conversation.order
        async with self.state.sessions() as session:
            owners = {row.number: row.customer for row in await session.exec(select(OrderRow))}
        by_phone = {phone_of(c): c for c in self.conversation.customers}
        received: dict[str, list[list[dict[str, Any]]]] = {}
        for ticket in self.kitchen.tickets:
            owner = by_phone.get(owners.get(ticket["order"]["number"], ""), "?")
            received.setdefault(owner, []).append(ticket["lines"])
        wanted: dict[str, Any] = {}
        if isinstance(expected, list):
            # One list: the only ticket of the conversation, whoever sent it.
            senders = sorted(received) or [DEFAULT_CUSTOMER]
            wanted = {sender: expected for sender in senders}
        elif expected is not None:
            wanted = {c: lines for c, lines in expected.items() if lines is not None}
        problems = []
        for customer in sorted(set(received) | set(wanted)):
            got = received.get(customer, [])
            want = wanted.get(customer)
            if want is None:
                problems.append(f"{customer}: no order expected, the kitchen got "
                                f"{[_lines(t) for t in got]}")
            elif len(got) != 1:
                problems.append(f"{customer}: expected one ticket, the kitchen got {len(got)}: "
                                f"{[_lines(t) for t in got]}")
            elif not _lines_match(got[0], want):
                problems.append(f"{customer}: ticket lines {_lines(got[0])}\n"
                                f"    expected {want}")
        if problems:
            self._fail(len(self.conversation.steps), {"order": expected},
                       "the kitchen ticket(s) differ:\n  " + "\n  ".join(problems), [])

    def _fail(self, number: int, step: dict[str, Any], problem: str,
              sent: list[LogEntry]) -> NoReturn:
        shown = "\n".join(render(e) for e in sent) or "  (nothing)"
        raise ConversationError(
            f"{self.conversation.path.name} ({self.conversation.name})\n"
            f"step {number} failed: {problem}\n"
            f"step {number}: {_short(step)}\n"
            f"the bot sent during this step:\n{shown}\n"
            "conversation so far:\n" + "\n".join(self.transcript))


def _short(step: dict[str, Any]) -> str:
    return json.dumps(step, ensure_ascii=False, default=str)


def _lines(ticket_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"product": line["product_id"], "variant": line["variant_id"],
             "quantity": line["quantity"],
             "options": [o["id"] for o in line["options"]],
             "removed": [r["id"] for r in line["removed"]]} for line in ticket_lines]


def _lines_match(ticket_lines: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    """Product and quantity always; variant, options and removed when the file names them."""
    actual = _lines(ticket_lines)
    if len(actual) != len(expected):
        return False
    for got, want in zip(actual, expected, strict=True):
        for key, value in want.items():
            if key in ("options", "removed"):
                if sorted(got[key]) != sorted(value or []):
                    return False
            elif got[key] != value:
                return False
    return True
