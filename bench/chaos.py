"""Chaos benchmark (issue 6, "Load and chaos"): customers order while the server is killed with
SIGKILL and restarted, and the WhatsApp emulator and the kitchen fail or stall at random; then
the database, the emulator's log and the kitchen's log are checked for anything lost or doubled.

Processes: this one (the simulated customers, Meta's webhook delivery and an HTTP kitchen
receiver), `orderbot serve` (configured only by environment variables, killed -9 and restarted
on the same port) and `orderbot emulator` (its seeded chaos mode, POST /_emulator/chaos; its
signed status webhooks, sent then delivered for every accepted message, go to the server as
Meta's do, so a send whose answer was lost in a stall is known to have arrived).

Each customer runs a real conversation: an order text (some as two messages delivered in the
wrong order), then answers whatever the bot asks by tapping the first choice (pickup when asked),
then taps Confirm (some tap Cancel). Webhooks are redelivered until acknowledged, as Meta does;
some customers' messages are delivered twice on purpose (same wamid). When the chaos time is
over, faults are switched off, the server is left up and the outbox is allowed to drain. Then:

- every acknowledged webhook has its inbound row, processed (done or failed);
- every outbox row reached the customer at most once: the emulator's log, per customer, is
  matched with the lane's rows by the outbox key each message carries (biz_opaque_callback_data;
  the wamid stored with the row and the content are the fallbacks);
- no order number was confirmed to a customer twice (a duplicate confirmation fails the run);
- every order is at the kitchen or dead-lettered in the outbox; tickets that arrived more than
  once (the kitchen may dedupe by Idempotency-Key) are counted, not hidden;
- orders in the database are exactly those customers confirmed.

It prints the counts and exits 1 when an invariant is violated.

    .venv/bin/python bench/chaos.py                  # 40 customers, 60 s of chaos, 6 kills
    .venv/bin/python bench/chaos.py --quick          # smoke run: a few customers, 2 kills
    .venv/bin/python bench/chaos.py --postgres --seed 7 --customers 50 --kills 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import child_env, postgres_database, process, wait_until_up
from bench.ports import child_port
from bot import fake_customer
from bot.dispatcher import CLAIM_LEASE
from bot.security import signature_matches

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "fixtures" / "catalog" / "restaurant.yaml"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
APP_SECRET = "chaos-app-secret"
VERIFY_TOKEN = "chaos-verify"
ACCESS_TOKEN = "chaos-access-token"
KITCHEN_SECRET = "chaos-kitchen-secret"
PHONE_NUMBER_ID = "106540352242922"
OWNER = "15550001111"  # shop.owner_whatsapp in the catalog: dead-letter alerts go there
CLIENT_TIMEOUT = 10.0  # the server's WhatsApp and kitchen clients give up after this long

# Orders that parse on the restaurant menu; some make the bot ask (a required option, a
# size, "falafel": wrap or plate) so that taps on questions are part of the run.
ORDER_TEXTS = ("2 chicken shawarma", "1 kofta wrap and fries", "a cheeseburger",
               "falafel", "2 hummus and 1 garlic bread", "chicken shawarma plate",
               "3 fattoush", "1 beef shawarma and a rice pudding", "veggie burger")
SPLIT_ORDERS = (("2 chicken shawarma", "1 fries"), ("1 hummus", "2 garlic bread"))
CONFIRMED = re.compile(r"order #(\d+) is confirmed")
CANCELLED = "order was cancelled"


# --- the server, killed and restarted ------------------------------------------------------------


class Server:
    """`orderbot serve` on a fixed port; kill() is SIGKILL, nothing is flushed or closed."""

    def __init__(self, settings: dict[str, str], workdir: Path) -> None:
        self.port = child_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = child_env(settings | {"ORDERBOT_HOST": "127.0.0.1",
                                          "ORDERBOT_PORT": str(self.port)})
        self._workdir = workdir
        self.log_path = workdir / "server.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        self.child: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.child = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=self._env,
                                      cwd=self._workdir, stdout=self._log,
                                      stderr=subprocess.STDOUT)
        self.starts += 1

    async def up(self, http: aiohttp.ClientSession) -> None:
        assert self.child is not None
        await wait_until_up(http, f"{self.url}/healthz", self.child, self.log_path)

    def kill(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGKILL)
            self.child.wait()

    def stop(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self._log.close()


# --- the kitchen receiver ------------------------------------------------------------------------


@dataclass
class Ticket:
    number: int | None
    key: str
    signed: bool


@dataclass
class Kitchen:
    """Takes signed tickets; fails or stalls at random while chaos is on. Dedupes nothing:
    every ticket that arrives is recorded, so duplicates can be counted."""

    rng: random.Random
    fail_rate: float
    stall_rate: float
    stall_seconds: float
    chaos: bool = False
    tickets: list[Ticket] = field(default_factory=list)
    failed: Counter[int] = field(default_factory=Counter)
    stalled: int = 0

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.chaos:
            roll = self.rng.random()
            if roll < self.fail_rate:
                status = self.rng.choice((500, 502, 503))
                self.failed[status] += 1
                return web.Response(status=status, text="kitchen busy (chaos)")
            if roll < self.fail_rate + self.stall_rate:
                self.stalled += 1
                # Shielded, as in the emulator: the kitchen takes the ticket after the stall even
                # if the sender gave up (and aiohttp cancelled this handler) meanwhile.
                await asyncio.shield(asyncio.sleep(self.stall_seconds))
        signed = signature_matches(body, request.headers.get("X-Orderbot-Signature"),
                                   KITCHEN_SECRET)
        number: int | None = None
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            raw = json.loads(body)["order"]["number"]
            number = raw if isinstance(raw, int) else None
        self.tickets.append(Ticket(number, request.headers.get("Idempotency-Key", ""), signed))
        return web.json_response({"ok": True}, status=200 if signed else 401)


# --- customers and Meta's webhook delivery -------------------------------------------------------


@dataclass
class Counts:
    webhooks_posted: int = 0  # HTTP attempts, retries and deliberate duplicates included
    messages: int = 0  # distinct customer messages (wamids)
    acked: set[str] = field(default_factory=set)  # wamids that got an HTTP 200
    unacked: set[str] = field(default_factory=set)  # wamids never acknowledged in time
    duplicates_sent: int = 0  # deliberate second deliveries of an acknowledged wamid
    reordered: int = 0  # customers whose first two messages were delivered in reverse
    errors: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    downtime: list[float] = field(default_factory=list)  # seconds from each kill to healthy


class Meta:
    """Delivers signed webhooks the way Meta does: again and again until acknowledged."""

    def __init__(self, http: aiohttp.ClientSession, server: Server, counts: Counts,
                 give_up_after: float) -> None:
        self._http = http
        self._server = server
        self.counts = counts
        self._give_up_after = give_up_after

    async def deliver(self, phone: str, name: str, message: dict[str, Any]) -> bool:
        body = fake_customer.envelope(message, phone, name, PHONE_NUMBER_ID)
        headers = fake_customer.signed_headers(body, APP_SECRET)
        wamid = str(message["id"])
        if wamid not in self.counts.acked and wamid not in self.counts.unacked:
            self.counts.messages += 1
        deadline = time.monotonic() + self._give_up_after
        pause = 0.2
        while time.monotonic() < deadline:
            self.counts.webhooks_posted += 1
            try:
                async with self._http.post(f"{self._server.url}/webhook", data=body,
                                           headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        self.counts.acked.add(wamid)
                        self.counts.unacked.discard(wamid)
                        return True
                    self.counts.errors[f"HTTP {response.status}"] += 1
            except (aiohttp.ClientError, TimeoutError) as error:
                self.counts.errors[type(error).__name__] += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)
        self.counts.unacked.add(wamid)
        return False


class Inbox:
    """Follows the emulator's log (long poll) and hands each customer their messages."""

    def __init__(self, http: aiohttp.ClientSession, emulator_url: str) -> None:
        self._http = http
        self._url = emulator_url
        self._after = 0
        self.entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._changed = asyncio.Condition()

    async def follow(self) -> None:
        while True:
            try:
                async with self._http.get(f"{self._url}/_emulator/messages",
                                          params={"after": str(self._after), "wait": "1"}
                                          ) as response:
                    found: list[dict[str, Any]] = (await response.json())["messages"]
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            if found:
                async with self._changed:
                    for entry in found:
                        self._after = max(self._after, int(entry["seq"]))
                        self.entries[str(entry["to"])].append(entry)
                    self._changed.notify_all()

    async def next_action(self, phone: str, seen: int, timeout: float
                          ) -> tuple[int, dict[str, Any] | None]:
        """The first message after `seen` the customer can act on (a question, a confirmation
        or a cancellation), and how many of their messages that covers; None on timeout."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    while True:
                        mine = self.entries[phone]
                        for index in range(seen, len(mine)):
                            if _actionable(mine[index]["payload"]):
                                return index + 1, mine[index]
                        seen = len(mine)
                        await self._changed.wait()
            except TimeoutError:
                return len(self.entries[phone]), None


def _actionable(payload: dict[str, Any]) -> bool:
    if payload.get("type") == "interactive":
        return True
    body = str(payload.get("text", {}).get("body", "")).lower()
    return bool(CONFIRMED.search(body)) or CANCELLED in body


@dataclass
class Outcome:
    phone: str
    plan: str  # "order" or "cancel"
    tapped_confirm: bool = False
    confirmed_number: int | None = None  # from the confirmation text the customer saw
    cancelled: bool = False
    stuck: str = ""  # why the conversation ended without a confirmation or cancellation
    wamids: list[str] = field(default_factory=list)


class Customer:
    def __init__(self, index: int, rng: random.Random, meta: Meta, inbox: Inbox,
                 answer_timeout: float) -> None:
        self.phone = f"1555077{index:04d}"
        self.name = f"Chaos Customer {index}"
        self._rng = rng
        self._meta = meta
        self._inbox = inbox
        self._timeout = answer_timeout
        self.cancels = rng.random() < 0.2
        self.duplicates = rng.random() < 0.3
        self.reorders = rng.random() < 0.2
        self.outcome = Outcome(self.phone, "cancel" if self.cancels else "order")

    async def _send(self, message: dict[str, Any]) -> bool:
        self.outcome.wamids.append(str(message["id"]))
        acked = await self._meta.deliver(self.phone, self.name, message)
        if acked and self.duplicates and self._rng.random() < 0.5:
            # Meta sometimes delivers a message twice; the second copy must change nothing.
            await asyncio.sleep(self._rng.uniform(0, 0.5))
            self._meta.counts.duplicates_sent += 1
            await self._meta.deliver(self.phone, self.name, message)
        return acked

    async def run(self, start_delay: float) -> Outcome:
        await asyncio.sleep(start_delay)
        now = int(time.time())
        if self.reorders:
            first, second = self._rng.choice(SPLIT_ORDERS)
            early = fake_customer.text_message(self.phone, first, now - 1)
            late = fake_customer.text_message(self.phone, second, now)
            self._meta.counts.reordered += 1
            sent = await self._send(late) and await self._send(early)
        else:
            sent = await self._send(
                fake_customer.text_message(self.phone, self._rng.choice(ORDER_TEXTS)))
        if not sent:
            self.outcome.stuck = "order text never acknowledged"
            return self.outcome
        seen = 0
        for _ in range(10):
            seen, entry = await self._inbox.next_action(self.phone, seen, self._timeout)
            if entry is None:
                self.outcome.stuck = "no answer"
                return self.outcome
            payload = entry["payload"]
            if payload["type"] == "text":
                body = str(payload["text"]["body"])
                if match := CONFIRMED.search(body.lower()):
                    self.outcome.confirmed_number = int(match.group(1))
                else:
                    self.outcome.cancelled = True
                return self.outcome
            tap = self._choose(payload["interactive"], str(entry["id"]))
            if tap is None:
                self.outcome.stuck = "a question it could not answer"
                return self.outcome
            if not await self._send(tap):
                self.outcome.stuck = "a tap never acknowledged"
                return self.outcome
        self.outcome.stuck = "too many questions"
        return self.outcome

    def _choose(self, interactive: dict[str, Any], context: str) -> dict[str, Any] | None:
        if interactive["type"] == "list":
            row = interactive["action"]["sections"][0]["rows"][0]
            return fake_customer.list_reply(self.phone, row["id"], row["title"], context)
        buttons = [b["reply"] for b in interactive["action"]["buttons"]]
        wanted = "cancel:" if self.cancels else "confirm:"
        chosen = next((b for b in buttons if b["id"].startswith(wanted)), None)
        if chosen is not None and not self.cancels:
            self.outcome.tapped_confirm = True
        if chosen is None:
            chosen = next((b for b in buttons if b["id"].endswith(":pickup")), buttons[0])
        return fake_customer.button_reply(self.phone, chosen["id"], chosen["title"], context)


# --- reading what happened -----------------------------------------------------------------------


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Read-only query on the server's database (SQLite file or PostgreSQL)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                timeout=30)) as connection:
            return connection.execute(sql).fetchall()
    import psycopg  # noqa: PLC0415  (only the --postgres run needs the driver)

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1),
                         autocommit=True) as connection:
        return connection.execute(sql).fetchall()


def backlog(url: str) -> int:
    found = rows(url, "SELECT (SELECT count(*) FROM inbound_message WHERE state = 'pending')"
                      " + (SELECT count(*) FROM outbox WHERE state = 'pending')")
    return int(found[0][0])


@dataclass
class Report:
    lines: list[tuple[str, object]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def count(self, label: str, value: object) -> None:
        self.lines.append((label, value))

    def violate(self, what: str, examples: list[str]) -> None:
        shown = ", ".join(examples[:5]) + (" ..." if len(examples) > 5 else "")
        self.violations.append(f"{what}: {len(examples)} ({shown})")


def _normalised(payload: dict[str, Any]) -> str:
    # The client adds the '+' to `to` and the row's key as biz_opaque_callback_data before
    # sending; nothing else changes on the way.
    body = dict(payload)
    body.pop("biz_opaque_callback_data", None)
    if isinstance(body.get("to"), str) and not body["to"].startswith("+"):
        body["to"] = "+" + body["to"]
    return json.dumps(body, sort_keys=True)


def check(report: Report, *, database_url: str, counts: Counts, outcomes: list[Outcome],
          emulator_log: list[dict[str, Any]], stalled_ids: set[str], stall_seconds: float,
          kitchen: Kitchen) -> None:
    check_inbound(report, database_url, counts)
    outbox = rows(database_url, "SELECT id, kind, lane, key, payload, state, result, last_error"
                                " FROM outbox ORDER BY id")
    check_replies(report, outbox, emulator_log, stalled_ids, stall_seconds)
    orders = {int(n): (str(c), str(w)) for n, c, w in rows(
        database_url, "SELECT number, customer, source_wamid FROM customer_order")}
    check_orders(report, orders, counts, outcomes, emulator_log)
    check_kitchen(report, orders, outbox, kitchen)
    spans = [_seconds(start, end) for start, end in rows(
        database_url, "SELECT created_at, sent_at FROM outbox WHERE sent_at IS NOT NULL")]
    report.count("slowest delivery, queued -> sent (s)", f"{max(spans, default=0.0):.1f}")
    report.count("deliveries that took over 30 s (retries with backoff, stalls, dead claims)",
                 sum(1 for span in spans if span > 30))


def _seconds(start: datetime | str, end: datetime | str) -> float:
    # SQLite hands datetimes back as text; both were written by the server's clock.
    begin = datetime.fromisoformat(start) if isinstance(start, str) else start
    finish = datetime.fromisoformat(end) if isinstance(end, str) else end
    return (finish - begin).total_seconds()


def check_inbound(report: Report, database_url: str, counts: Counts) -> None:
    """Every acknowledged webhook is stored and processed."""
    inbound = {str(w): str(s) for w, s in rows(database_url,
                                               "SELECT wamid, state FROM inbound_message")}
    missing = sorted(counts.acked - inbound.keys())
    pending = sorted(w for w in counts.acked if inbound.get(w) == "pending")
    states = Counter(inbound.get(w, "missing") for w in counts.acked)
    report.count("acknowledged messages: done / failed / pending / missing",
                 f"{states['done']} / {states['failed']} / {states['pending']} / "
                 f"{states['missing']}")
    if missing:
        report.violate("acknowledged but not stored", missing)
    if pending:
        report.violate("acknowledged but never processed", pending)


def check_replies(report: Report, outbox: list[tuple[Any, ...]],
                  emulator_log: list[dict[str, Any]], stalled_ids: set[str],
                  stall_seconds: float) -> None:
    """Every WhatsApp outbox row reached its recipient at most once."""
    by_result: dict[str, str] = {}
    lanes: dict[str, list[tuple[str, str, str]]] = defaultdict(list)  # to -> (key, state, body)
    for _, kind, lane, key, payload, state, result, _ in outbox:
        if kind != "whatsapp" or str(key).startswith("read:"):
            continue
        if result:
            by_result[str(result)] = str(key)
        lanes[str(lane).removeprefix("wa:")].append(
            (str(key), str(state), _normalised(json.loads(payload))))
    deliveries: Counter[str] = Counter()
    unrecorded: Counter[str] = Counter()  # cause -> sends the server never recorded
    unexplained: list[str] = []
    per_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in emulator_log:
        per_customer[str(entry["to"])].append(entry)
    for to, entries in per_customer.items():
        lane, position = lanes.get(to, []), 0
        for entry in sorted(entries, key=lambda e: int(e["seq"])):
            key = by_result.get(str(entry["id"]))
            opaque = entry["payload"].get("biz_opaque_callback_data")
            if key is None and any(row[0] == opaque for row in lane):
                key = str(opaque)  # the row it was sent for, though another copy was recorded
                cause = ("client timeout (stalled send)" if entry["id"] in stalled_ids
                         and stall_seconds >= CLIENT_TIMEOUT else "kill -9 before the result"
                         " was recorded")
                unrecorded[cause] += 1
            if key is None:
                # Sent, but its result was never stored: the copy of the row it repeats. The
                # lane goes strictly in order, so that row is at or after the last one matched.
                body = _normalised(entry["payload"])
                found = next((i for i in range(position, len(lane)) if lane[i][2] == body),
                             None)
                if found is None:
                    unexplained.append(f"{to} #{entry['seq']}")
                    continue
                key = lane[found][0]
                cause = ("client timeout (stalled send)" if entry["id"] in stalled_ids
                         and stall_seconds >= CLIENT_TIMEOUT else "kill -9 before the result"
                         " was recorded")
                unrecorded[cause] += 1
            position = next(i for i, row in enumerate(lane) if row[0] == key)
            deliveries[key] += 1
    doubled = sorted(key for key, n in deliveries.items() if n > 1)
    report.count("WhatsApp messages at the emulator", len(emulator_log))
    lost = [row for row in outbox if row[1] == "whatsapp" and not str(row[3]).startswith("read:")
            and row[5] == "sent" and str(row[7] or "").startswith("no answer")]
    report.count("  sends whose answer was lost (timeout), then: no resend / resent",
                 f"{sum(deliveries[str(r[3])] <= 1 for r in lost)} / "
                 f"{sum(deliveries[str(r[3])] > 1 for r in lost)}")
    report.count("  sent but not recorded by the server (then sent again)",
                 dict(unrecorded) or 0)
    report.count("  outbox rows delivered more than once", len(doubled))
    if doubled:
        report.violate("a customer got the same reply twice (outbox key)", doubled)
    if unexplained:
        report.violate("messages at the emulator that no outbox row explains", unexplained)


def check_orders(report: Report, orders: dict[int, tuple[str, str]], counts: Counts,
                 outcomes: list[Outcome], emulator_log: list[dict[str, Any]]) -> None:
    """No order number confirmed twice; the orders are exactly those customers confirmed."""
    confirmations: Counter[int] = Counter()
    for entry in emulator_log:
        if match := CONFIRMED.search(str(entry["payload"].get("text", {}).get("body", "")).lower()):
            confirmations[int(match.group(1))] += 1
    twice = sorted(f"#{n} x{c}" for n, c in confirmations.items() if c > 1)
    report.count("confirmation texts (distinct order numbers)",
                 f"{sum(confirmations.values())} ({len(confirmations)})")
    if twice:
        report.violate("duplicate order confirmations", twice)
    by_phone: dict[str, list[int]] = defaultdict(list)
    for number, (customer, _) in orders.items():
        by_phone[customer].append(number)
    tapped = {o.phone for o in outcomes if o.tapped_confirm}
    seen_confirmed = {o.phone: o.confirmed_number for o in outcomes if o.confirmed_number}
    report.count("customers: ordering / cancelling",
                 f"{sum(o.plan == 'order' for o in outcomes)} / "
                 f"{sum(o.plan == 'cancel' for o in outcomes)}")
    report.count("customers who tapped Confirm / saw the confirmation / saw the cancellation",
                 f"{len(tapped)} / {len(seen_confirmed)} / {sum(o.cancelled for o in outcomes)}")
    stuck = Counter(o.stuck for o in outcomes if o.stuck)
    report.count("customers left without an answer (by reason)", dict(stuck) or 0)
    report.count("orders in the database", len(orders))
    sources = {o.phone: set(o.wamids) for o in outcomes}
    several = [f"{p}: {n}" for p, n in by_phone.items() if len(n) > 1]
    if several:
        report.violate("customers with more than one order", several)
    unasked = [f"#{n}" for n, (c, w) in orders.items()
               if c not in tapped or w not in sources.get(c, set()) or w not in counts.acked]
    if unasked:
        report.violate("orders no customer confirmed", unasked)
    wrong = [f"{p} saw #{n}" for p, n in seen_confirmed.items() if by_phone.get(p) != [n]]
    if wrong:
        report.violate("confirmation seen but no such order for the customer", wrong)
    unplaced = [p for p in tapped if p not in by_phone]
    report.count("tapped Confirm but no order (the bot said why, e.g. sold out)", len(unplaced))


def check_kitchen(report: Report, orders: dict[int, tuple[str, str]],
                  outbox: list[tuple[Any, ...]], kitchen: Kitchen) -> None:
    """Every order is at the kitchen or dead-lettered; raw duplicates are counted."""
    ticket_states = {str(key).removeprefix("order-").split(":")[0]: str(state)
                     for _, kind, _, key, _, state, _, _ in outbox if kind in ("http", "kitchen")}
    received = Counter(t.number for t in kitchen.tickets if t.signed)
    keys = {t.key for t in kitchen.tickets if t.signed}
    dead = [n for n in orders if ticket_states.get(str(n)) == "dead"]
    lost = [f"#{n}" for n in orders if not received[n] and n not in dead]
    strangers = [f"#{n}" for n in received if n not in orders]
    unsigned = [t.key for t in kitchen.tickets if not t.signed]
    report.count("kitchen tickets received (raw) / distinct orders / distinct keys",
                 f"{sum(received.values())} / {len(received)} / {len(keys)}")
    report.count("  raw duplicate tickets (at-least-once; dedupe by Idempotency-Key)",
                 sum(received.values()) - len(received))
    report.count("  orders at the kitchen exactly once after dedupe by key",
                 sum(1 for n in orders if received[n]))
    report.count("  orders whose ticket is a dead letter", len(dead))
    if lost:
        report.violate("orders neither at the kitchen nor dead-lettered", lost)
    if strangers:
        report.violate("tickets for orders the database does not have", strangers)
    if unsigned:
        report.violate("tickets with a bad signature", unsigned)
    if len(keys) != len(received):
        report.violate("idempotency keys that do not name one order each",
                       [f"{len(keys)} keys for {len(received)} orders"])
    report.count("outbox dead letters (all kinds)", sum(1 for r in outbox if r[5] == "dead"))
    still = sum(1 for r in outbox if r[5] == "pending")
    if still:
        report.violate("outbox rows still pending after settling", [str(still)])


# --- running it ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    seed: int
    customers: int
    duration: float  # seconds of chaos
    kills: int
    postgres: str | None
    fail_rate: float
    stall_rate: float
    stall_seconds: float
    merge_window: float
    settle_timeout: float
    status_webhooks: bool = True  # the emulator reports statuses to the server


async def kill_now_and_then(plan: Plan, server: Server, http: aiohttp.ClientSession,
                            counts: Counts, rng: random.Random) -> None:
    """SIGKILL the server at random moments, restart it each time; the chaos lasts `duration`
    seconds of server uptime (restarts come on top, so every kill hits a working server)."""
    gap = plan.duration / (plan.kills + 1)
    for _ in range(plan.kills):
        await asyncio.sleep(rng.uniform(0.5, 1.5) * gap)
        server.kill()
        killed = time.monotonic()
        counts.kills += 1
        await asyncio.sleep(rng.uniform(0.2, 1.0))  # down for a moment: webhooks are refused
        server.start()
        await server.up(http)
        counts.downtime.append(time.monotonic() - killed)
    await asyncio.sleep(gap)


async def set_chaos(http: aiohttp.ClientSession, emulator_url: str, body: dict[str, Any]
                    ) -> dict[str, Any]:
    async with http.post(f"{emulator_url}/_emulator/chaos", json=body) as response:
        answer: dict[str, Any] = await response.json()
        if response.status != 200:
            raise SystemExit(f"chaos: the emulator refused {body}: {answer}")
        return answer


def count_faults(report: Report, counts: Counts, server: Server, injected: dict[str, Any],
                 kitchen: Kitchen) -> None:
    """What the customers sent and what chaos did to them."""
    report.count("kills (SIGKILL) and restarts", f"{counts.kills} / {server.starts - 1}")
    if counts.downtime:
        report.count("  seconds down per kill (kill -> healthy again), max",
                     f"{max(counts.downtime):.1f}")
    report.count("webhook POSTs (retries and duplicates included)", counts.webhooks_posted)
    report.count("customer messages / acknowledged / never acknowledged",
                 f"{counts.messages} / {len(counts.acked)} / {len(counts.unacked)}")
    report.count("deliberate duplicate deliveries / customers sending out of order",
                 f"{counts.duplicates_sent} / {counts.reordered}")
    report.count("webhook errors while the server was down or dying",
                 dict(counts.errors) or 0)
    report.count("emulator faults injected: failures by code / stalls",
                 f"{injected.get('failed', {})} / {injected.get('stalled', 0)}")
    report.count("kitchen faults injected: failures by status / stalls",
                 f"{dict(kitchen.failed)} / {kitchen.stalled}")


async def serve_kitchen(kitchen: Kitchen) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/tickets", kitchen.receive)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    port = child_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def run(plan: Plan, workdir: Path) -> tuple[Report, str]:
    rng = random.Random(plan.seed)
    report = Report()
    with contextlib.ExitStack() as stack:
        if plan.postgres is not None:
            database_url = stack.enter_context(postgres_database(plan.postgres))
        else:
            database_url = f"sqlite:///{workdir / 'chaos.db'}"
        emulator_port = child_port()
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        emulator_log_path = workdir / "emulator.log"

        kitchen = Kitchen(random.Random(plan.seed + 1), plan.fail_rate, plan.stall_rate,
                          plan.stall_seconds)
        runner, kitchen_port = await serve_kitchen(kitchen)

        server = Server({
            "ORDERBOT_DATABASE_URL": database_url,
            "ORDERBOT_CATALOG": str(CATALOG),
            "ORDERBOT_MERGE_WINDOW_SECONDS": str(plan.merge_window),
            # Short backoff so that retries happen within the run (the budgets stay the same).
            "ORDERBOT_RETRY_BASE_SECONDS": "0.2",
            "ORDERBOT_RETRY_MAX_SECONDS": "2",
            "ORDERBOT_OUTBOX_POLL_SECONDS": "0.5",
            "ORDERBOT_KITCHEN_WEBHOOK_URL": f"http://127.0.0.1:{kitchen_port}/tickets",
            "ORDERBOT_KITCHEN_WEBHOOK_SECRET": KITCHEN_SECRET,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_API_BASE_URL": f"{emulator_url}/v23.0",
        }, workdir)
        emulator_log_file = stack.enter_context(emulator_log_path.open("wb"))
        emulator = stack.enter_context(emulator_process(plan, emulator_port, server, workdir,
                                                        emulator_log_file))
        counts = Counts()
        timeout = aiohttp.ClientTimeout(total=15)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                await wait_until_up(http, f"{emulator_url}/_emulator/reads", emulator,
                                    emulator_log_path)
                server.start()
                await server.up(http)
                await set_chaos(http, emulator_url, {
                    "fail_rate": plan.fail_rate, "stall_rate": plan.stall_rate,
                    "stall_seconds": plan.stall_seconds, "seed": plan.seed,
                    "codes": [131000, 130429, 131016, 500, 503]})
                kitchen.chaos = True
                inbox = Inbox(http, emulator_url)
                follower = asyncio.create_task(inbox.follow())
                # Customers keep answering for a while after the chaos ends; Meta redelivers an
                # unacknowledged webhook for much longer than the server is ever down here.
                meta = Meta(http, server, counts, give_up_after=30.0)
                # Patient customers: under chaos a reply may wait out a dead worker's claim,
                # two stalls and retries with backoff behind failed sends in its lane (runs
                # have seen 76 s), and a customer who gives up ends their conversation early.
                answer_timeout = max(90.0, CLAIM_LEASE.total_seconds() + 2 * plan.stall_seconds
                                     + 10)
                customers = [Customer(i, random.Random(rng.random()), meta, inbox,
                                      answer_timeout) for i in range(plan.customers)]
                conversations = [asyncio.create_task(c.run(rng.uniform(0, 0.7 * plan.duration)))
                                 for c in customers]
                killer = asyncio.create_task(kill_now_and_then(plan, server, http, counts,
                                                               random.Random(plan.seed + 2)))
                await killer
                # Chaos off: what was injected first (turning it off forgets the counts).
                async with http.get(f"{emulator_url}/_emulator/chaos") as response:
                    emulator_faults: dict[str, Any] = (await response.json())["chaos"] or {}
                await set_chaos(http, emulator_url, {})
                kitchen.chaos = False
                outcomes = list(await asyncio.gather(*conversations))
                await settle(plan, server, database_url, http)
                follower.cancel()
                emulator_log, status_report = await read_emulator(http, emulator_url)
        finally:
            server.stop()
            await runner.cleanup()
        injected = emulator_faults
        count_faults(report, counts, server, injected, kitchen)
        check(report, database_url=database_url, counts=counts, outcomes=outcomes,
              emulator_log=[e for e in emulator_log if str(e["to"]) != OWNER],
              stalled_ids=set(injected.get("stalled_ids", [])),
              stall_seconds=plan.stall_seconds, kitchen=kitchen)
        report.count("owner alerts sent", sum(str(e["to"]) == OWNER for e in emulator_log))
        report.count("status webhooks acknowledged by the server (by status) / given up",
                     f"{status_report['acknowledged'] or 0} / {status_report['dropped']}"
                     if status_report["webhook_url"] else "off")
        return report, database_url.split("@", 1)[-1]


def emulator_process(plan: Plan, port: int, server: Server, workdir: Path, log: IO[bytes]
                     ) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """`orderbot emulator`; its status webhooks go to the server like Meta's: signed, posted
    again until acknowledged (also while the server is down after a kill)."""
    args = ["emulator", "--port", str(port)]
    if plan.status_webhooks:
        args += ["--webhook-url", f"{server.url}/webhook", "--app-secret", APP_SECRET]
    return process(args, child_env({"WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
                                    "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID}), workdir, log)


async def read_emulator(http: aiohttp.ClientSession, url: str
                        ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every message the emulator accepted, and what became of its status webhooks."""
    async with http.get(f"{url}/_emulator/messages", params={"after": "0"}) as response:
        log: list[dict[str, Any]] = (await response.json())["messages"]
    async with http.get(f"{url}/_emulator/statuses") as response:
        statuses: dict[str, Any] = await response.json()
    return log, statuses


async def settle(plan: Plan, server: Server, database_url: str,
                 http: aiohttp.ClientSession) -> None:
    """Server up, faults off: wait until no message is pending and the outbox is quiet.

    A row whose delivery was in flight when the server was killed stays claimed until its lease
    runs out (adapters' claims last 60 s), so this may take a minute after a late kill.
    """
    if server.child is None or server.child.poll() is not None:
        server.start()
    await server.up(http)
    deadline = time.monotonic() + plan.settle_timeout
    while time.monotonic() < deadline:
        if not await asyncio.to_thread(backlog, database_url):
            await asyncio.sleep(1.0)  # a last look: an alert queued by a dead letter
            if not await asyncio.to_thread(backlog, database_url):
                return
        await asyncio.sleep(0.5)


def parse_args(argv: list[str] | None) -> tuple[Plan, Path | None]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5 customers, 8 s of chaos, 1 kill, 1 s stalls")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--customers", type=int, help="simulated customers (default 40)")
    parser.add_argument("--duration", type=float,
                        help="seconds of chaos, counted in server uptime (default 60)")
    parser.add_argument("--kills", type=int, help="SIGKILLs of the server (default 6)")
    parser.add_argument("--fail-rate", type=float, default=0.15,
                        help="share of WhatsApp sends and kitchen tickets that fail (0.15)")
    parser.add_argument("--stall-rate", type=float, default=0.05,
                        help="share that stall (0.05)")
    parser.add_argument("--stall-seconds", type=float,
                        help=f"how long a stall lasts (default {CLIENT_TIMEOUT + 1:g} s: past the"
                        " server's client timeout, so the sender gives up and may send again)")
    parser.add_argument("--merge-window", type=float, default=0.2,
                        help="ORDERBOT_MERGE_WINDOW_SECONDS for the server (default 0.2)")
    parser.add_argument("--settle-timeout", type=float, default=180.0,
                        help="how long to wait for the outbox to drain at the end (180 s)")
    parser.add_argument("--no-status-webhooks", dest="status_webhooks", action="store_false",
                        help="the emulator reports no statuses: a send whose answer was lost is"
                        " resent after the confirm wait (how often customers then get a reply"
                        " twice)")
    parser.add_argument("--postgres", nargs="?", const=PG_ADMIN_URL, default=None,
                        metavar="ADMIN_URL", help="use PostgreSQL: a fresh database is created"
                        f" through ADMIN_URL (default {PG_ADMIN_URL}) and dropped afterwards")
    parser.add_argument("--workdir", type=Path, help="keep the database and the logs here"
                        " (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    quick = args.quick
    plan = Plan(
        seed=args.seed,
        customers=args.customers or (5 if quick else 40),
        duration=args.duration or (8.0 if quick else 60.0),
        kills=args.kills if args.kills is not None else (1 if quick else 6),
        postgres=args.postgres,
        fail_rate=args.fail_rate,
        stall_rate=args.stall_rate,
        stall_seconds=(args.stall_seconds if args.stall_seconds is not None
                       else 1.0 if quick else CLIENT_TIMEOUT + 1),
        merge_window=args.merge_window,
        settle_timeout=args.settle_timeout,
        status_webhooks=args.status_webhooks,
    )
    if plan.customers < 1 or plan.duration <= 0 or plan.kills < 0:
        parser.error("--customers and --duration must be positive, --kills at least 0")
    return plan, args.workdir


def main(argv: list[str] | None = None) -> int:
    # A plain SIGTERM would skip the clean-up and leave the server and emulator running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan, workdir = parse_args(argv)
    database = "PostgreSQL (fresh database)" if plan.postgres else "SQLite (fresh file)"
    print(f"chaos: seed {plan.seed}, {plan.customers} customers, {plan.duration:g} s of chaos, "
          f"{plan.kills} kill(s), {database}; WhatsApp and kitchen: {plan.fail_rate:.0%} fail, "
          f"{plan.stall_rate:.0%} stall {plan.stall_seconds:g} s; status webhooks "
          f"{'on' if plan.status_webhooks else 'off'}", flush=True)
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="orderbot-chaos-")))
        else:
            workdir.mkdir(parents=True, exist_ok=True)
            for name in ("chaos.db", "chaos.db-wal", "chaos.db-shm", "server.log"):
                (workdir / name).unlink(missing_ok=True)
        started = time.monotonic()
        report, database_url = asyncio.run(run(plan, workdir))
        for label, value in report.lines:
            print(f"{label}: {value}")
        print(f"violations: {len(report.violations)}")
        for violation in report.violations:
            print(f"  VIOLATION {violation}")
        print(f"took {time.monotonic() - started:.0f} s ({database_url})", flush=True)
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
