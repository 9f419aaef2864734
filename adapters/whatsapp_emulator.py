"""Local Cloud API emulator: the /messages endpoint plus `/_emulator/` inspection and control.

Lets a shop owner try the bot without a Meta account, and tests drive the real client against
documented limits rather than a permissive mock. Localhost only: `/_emulator/` has no auth.

Faults: `/_emulator/fail` queues the next N failures exactly (tests); `/_emulator/chaos` makes
any send fail or stall at random, from a seed (bench/chaos.py). A stalled send is still
accepted when the stall ends, as Meta may accept a message whose answer the client never saw.

Status webhooks: given a webhook URL and the app secret (`orderbot emulator --webhook-url`),
every accepted message — one accepted after a stall too — is reported like Meta does: a
signed `statuses` notification "sent", then one "delivered", echoing the message's
biz_opaque_callback_data, each POSTed again until the server answers 200.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import math
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypedDict

import aiohttp
from aiohttp import web

from adapters.whatsapp_limits import validate_outbound
from bot.privacy import mask
from bot.security import sign

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS: Final = 30.0

# Default titles for injected errors (Graph-style wording, cosmetic only; clients key on code).
_ERROR_TITLES: Final = {
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    4: "Application request limit reached",
    100: "Invalid parameter",
    190: "Invalid OAuth access token",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message undeliverable",
    131030: "Recipient phone number not in allowed list",
    131047: "Re-engagement message",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    133010: "Phone number not registered",
}
# The HTTP status Graph answers each chaos code with; codes 500-599 are bare HTTP errors (a
# proxy or load balancer answering, no Graph envelope).
_CHAOS_HTTP_STATUS: Final = {1: 500, 2: 503, 4: 400, 130429: 429, 131000: 500, 131016: 503,
                             131056: 400, 131057: 503}
MAX_STALL_SECONDS: Final = 120.0
# Status webhooks: the WhatsApp Business Account and display number the notifications name
# (the emulator has no account; the bot reads neither), and how long a status the server does
# not acknowledge is posted again (Meta keeps trying for days; a local run needs minutes).
EMULATOR_WABA_ID: Final = "1000000000000001"
SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
EMULATOR_DISPLAY_NUMBER: Final = "15550001111"
WEBHOOK_GIVE_UP_SECONDS: Final = 300.0
_WEBHOOK_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
_UNSUPPORTED_POST: Final = (
    "Unsupported post request. Object with ID '{}' does not exist, cannot be loaded due to missing"
    " permissions, or does not support this operation. Please read the Graph API documentation"
    " at https://developers.facebook.com/docs/graph-api"
)


class LogEntry(TypedDict):
    """One accepted outbound message."""

    seq: int
    id: str
    to: str
    payload: dict[str, Any]
    received_at: str


class ReadReceipt(TypedDict):
    """One accepted mark-as-read request."""

    message_id: str
    typing: bool
    received_at: str


@dataclass
class FailureRule:
    """Makes the next `times` sends (to `to`, or to anyone) fail with a Graph error; with
    `read_receipts`, the next read receipts instead of messages."""

    code: int
    http_status: int
    times: int
    to: str | None
    message: str
    details: str
    read_receipts: bool = False


@dataclass
class StallRule:
    """Makes the next `times` message sends (to `to`, or to anyone) wait `seconds` before they
    are accepted, whether or not the client is still waiting (read receipts are not held)."""

    seconds: float
    times: int = 1
    to: str | None = None


@dataclass
class ChaosRule:
    """Every send fails with probability `fail_rate` (a code drawn from `codes`) or else stalls
    `stall_seconds` with probability `stall_rate`; draws come from a generator seeded with
    `seed`, so a run's sequence of faults is repeatable for a given order of requests."""

    fail_rate: float
    stall_rate: float
    stall_seconds: float
    codes: tuple[int, ...]
    seed: int
    rng: random.Random = field(init=False, repr=False)
    failed: Counter[int] = field(default_factory=Counter)  # injected failures by code
    stalled: int = 0
    stalled_ids: list[str] = field(default_factory=list)  # messages accepted after a stall

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self) -> int | float | None:
        """A code to fail with, a number of seconds to stall (float), or None: no fault."""
        roll = self.rng.random()
        if roll < self.fail_rate:
            code = self.rng.choice(self.codes)
            self.failed[code] += 1
            return code
        if roll < self.fail_rate + self.stall_rate:
            self.stalled += 1
            return float(self.stall_seconds)
        return None

    def report(self) -> dict[str, Any]:
        return {"fail_rate": self.fail_rate, "stall_rate": self.stall_rate,
                "stall_seconds": self.stall_seconds, "codes": list(self.codes),
                "seed": self.seed, "failed": {str(k): v for k, v in self.failed.items()},
                "stalled": self.stalled, "stalled_ids": list(self.stalled_ids)}


@dataclass(frozen=True)
class StatusWebhook:
    """Where the emulator reports statuses, and the app secret it signs them with."""

    url: str
    app_secret: str
    give_up_after: float = WEBHOOK_GIVE_UP_SECONDS


@dataclass(frozen=True)
class EmulatorConfig:
    """What the emulator insists on; None disables the check."""

    access_token: str | None
    phone_number_id: str | None


class EmulatorState:
    """Everything the emulator accepted, readable from tests in-process."""

    def __init__(self) -> None:
        self.reads: list[ReadReceipt] = []
        self.failures: list[FailureRule] = []
        self.stalls: list[StallRule] = []
        self.chaos: ChaosRule | None = None
        self.stalling: set[asyncio.Future[web.Response]] = set()  # sends held by chaos
        # Every hit on /messages, accepted or not: proves whether a request reached us at all.
        self.request_count = 0
        self.status_webhook: StatusWebhook | None = None  # None: no status webhooks
        self.statuses_posted: Counter[str] = Counter()  # acknowledged, by status
        self.statuses_dropped = 0  # given up after WEBHOOK_GIVE_UP_SECONDS
        self.reporting: set[asyncio.Task[None]] = set()  # status webhooks being posted
        self._http: aiohttp.ClientSession | None = None
        self._messages: dict[str, list[LogEntry]] = {}
        self._seq = 0
        self._changed = asyncio.Condition()
        self._closing = False

    @property
    def last_seq(self) -> int:
        """The seq of the newest message ever accepted (0 before the first)."""
        return self._seq

    def messages_to(self, wa_id: str) -> list[LogEntry]:
        """Messages accepted for one recipient, oldest first; the '+' is optional."""
        return list(self._messages.get(wa_id.lstrip("+"), []))

    def select(self, to: str | None, after: int) -> list[LogEntry]:
        """Messages with seq > after, for one recipient or all, in seq order."""
        if to is not None:
            pool = self._messages.get(to.lstrip("+"), [])
        else:
            pool = [entry for entries in self._messages.values() for entry in entries]
        return sorted((e for e in pool if e["seq"] > after), key=lambda e: e["seq"])

    async def record_message(self, wa_id: str, payload: dict[str, Any]) -> LogEntry:
        async with self._changed:
            self._seq += 1
            entry = LogEntry(
                seq=self._seq,
                id=_new_wamid(wa_id, self._seq),
                to=wa_id,
                payload=payload,
                received_at=_now(),
            )
            self._messages.setdefault(wa_id, []).append(entry)
            self._changed.notify_all()
        return entry

    def record_read(self, payload: dict[str, Any]) -> ReadReceipt:
        receipt = ReadReceipt(
            message_id=str(payload["message_id"]),
            typing="typing_indicator" in payload,
            received_at=_now(),
        )
        self.reads.append(receipt)
        return receipt

    def take_stall(self, payload: dict[str, Any]) -> float | None:
        """Consume one use of the first stall rule matching this message; its seconds."""
        if "status" in payload:
            return None
        wa_id = str(payload.get("to") or payload.get("recipient") or "").lstrip("+")
        for rule in self.stalls:
            if rule.to is None or rule.to.lstrip("+") == wa_id:
                rule.times -= 1
                if rule.times <= 0:
                    self.stalls.remove(rule)
                return rule.seconds
        return None

    def take_failure(self, wa_id: str, *, read_receipt: bool = False) -> FailureRule | None:
        """Consume one use of the first failure rule matching this send (a read receipt has
        no recipient)."""
        for rule in self.failures:
            if rule.read_receipts == read_receipt and (rule.to is None or rule.to == wa_id):
                rule.times -= 1
                if rule.times <= 0:
                    self.failures.remove(rule)
                return rule
        return None

    async def wait_for_messages(self, to: str | None, after: int, timeout: float) -> list[LogEntry]:
        """Long-poll: return as soon as a matching message exists, or [] after `timeout` s."""
        found = self.select(to, after)
        if found or timeout <= 0:
            return found
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(
                        lambda: self._closing or bool(self.select(to, after))
                    )
            except TimeoutError:
                pass
        return self.select(to, after)

    async def close(self) -> None:
        """Release every pending long-poll so that shutdown doesn't wait up to 30 s."""
        async with self._changed:
            self._closing = True
            self._changed.notify_all()

    def report_statuses(self, entry: LogEntry, phone_number_id: str) -> None:
        """Post the message's "sent" then "delivered" status webhooks, in the background."""
        hook = self.status_webhook
        if hook is None or self._closing:
            return
        task = asyncio.get_running_loop().create_task(
            self._report(hook, entry, phone_number_id), name="emulator-status-webhook")
        self.reporting.add(task)
        task.add_done_callback(self.reporting.discard)

    async def statuses_reported(self, timeout: float = 10.0) -> None:
        """Until every status webhook so far was acknowledged or given up (tests)."""
        async with asyncio.timeout(timeout):
            while self.reporting:
                await asyncio.wait(set(self.reporting))

    async def _report(self, hook: StatusWebhook, entry: LogEntry, phone_number_id: str
                      ) -> None:
        for status in ("sent", "delivered"):
            body = json.dumps(status_notification(entry, status, phone_number_id)).encode()
            if not await self._post_until_acknowledged(hook, body):
                self.statuses_dropped += 1
                log.warning("emulator: gave up posting the %s status of message #%d", status,
                            entry["seq"])
                return
            self.statuses_posted[status] += 1

    async def _post_until_acknowledged(self, hook: StatusWebhook, body: bytes) -> bool:
        """POST as Meta does: again, with growing pauses, until the server answers 200."""
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=_WEBHOOK_TIMEOUT)
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(body, hook.app_secret)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + hook.give_up_after
        pause = 0.2
        while not self._closing:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._http.post(hook.url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        return True
            if loop.time() + pause > deadline:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        return False

    async def shutdown(self) -> None:
        """Stop posting statuses and close the webhook client."""
        await self.close()
        for task in list(self.reporting):
            task.cancel()
        await asyncio.gather(*self.reporting, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    def reset(self) -> None:
        """Forget messages, reads and failure and chaos rules. seq keeps counting so pollers
        stay valid."""
        self._messages.clear()
        self.reads.clear()
        self.failures.clear()
        self.stalls.clear()
        self.chaos = None
        self.request_count = 0


EMULATOR_STATE: Final = web.AppKey("emulator_state", EmulatorState)
EMULATOR_CONFIG: Final = web.AppKey("emulator_config", EmulatorConfig)


def create_emulator_app(
    access_token: str | None = None, phone_number_id: str | None = None,
    status_webhook: StatusWebhook | None = None,
) -> web.Application:
    """Build the emulator app; pass a token / phone number id to have them enforced, and a
    status webhook to have every accepted message's statuses posted to a server."""
    app = web.Application()
    app[EMULATOR_STATE] = EmulatorState()
    app[EMULATOR_STATE].status_webhook = status_webhook
    app[EMULATOR_CONFIG] = EmulatorConfig(access_token, phone_number_id)
    app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/messages", _handle_messages)
    app.router.add_get("/_emulator/messages", _handle_list_messages)
    app.router.add_get("/_emulator/reads", _handle_list_reads)
    app.router.add_post("/_emulator/fail", _handle_fail)
    app.router.add_post("/_emulator/chaos", _handle_chaos)
    app.router.add_get("/_emulator/chaos", _handle_chaos_report)
    app.router.add_get("/_emulator/statuses", _handle_status_report)
    app.router.add_post("/_emulator/reset", _handle_reset)
    app.on_shutdown.append(_wake_pollers)
    app.on_cleanup.append(_stop_reporting)
    return app


async def run_emulator(
    host: str, port: int, access_token: str | None, phone_number_id: str | None,
    status_webhook: StatusWebhook | None = None,
) -> web.AppRunner:
    """Start the emulator on host:port; the caller stops it with `await runner.cleanup()`."""
    runner = web.AppRunner(create_emulator_app(access_token, phone_number_id, status_webhook),
                           shutdown_timeout=5.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("WhatsApp Cloud API emulator listening on %s", runner.addresses)
    return runner


async def _handle_messages(request: web.Request) -> web.Response:
    state = request.app[EMULATOR_STATE]
    config = request.app[EMULATOR_CONFIG]
    state.request_count += 1
    if config.access_token is not None and not _authorized(request, config.access_token):
        log.warning("emulator: rejected request with a missing or wrong access token")
        return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
    phone_number_id = request.match_info["phone_number_id"]
    if config.phone_number_id is not None and phone_number_id != config.phone_number_id:
        message = _UNSUPPORTED_POST.format(phone_number_id)
        return _graph_error(400, 100, message, error_subcode=33)
    try:
        payload: Any = json.loads(await request.text())
    except ValueError:
        return _graph_error(400, 100, "(#100) Invalid parameter", "request body is not JSON")
    problems = validate_outbound(payload)
    if problems:
        log.warning("emulator: rejected invalid payload: %s", problems)
        return _graph_error(400, 100, "(#100) Invalid parameter", "; ".join(problems))
    stall = state.take_stall(payload)
    if state.chaos is not None and stall is None:
        fault = state.chaos.draw()
        if isinstance(fault, int):
            log.info("emulator: chaos failure %s", fault)
            return _chaos_error(fault)
        stall = fault
    if stall is not None:
        # Shielded: the message is accepted when the stall ends even if the client gave up
        # meanwhile (and its server cancels the handler), as Meta may accept a message
        # whose answer never reached the sender.
        stalled = asyncio.ensure_future(_accept_after(state, payload, stall, phone_number_id))
        state.stalling.add(stalled)
        stalled.add_done_callback(state.stalling.discard)
        return await asyncio.shield(stalled)
    return await _accept(state, payload, phone_number_id)


async def _accept_after(state: EmulatorState, payload: dict[str, Any], stall: float,
                        phone_number_id: str) -> web.Response:
    await asyncio.sleep(stall)
    return await _accept(state, payload, phone_number_id, stalled=True)


async def _accept(state: EmulatorState, payload: dict[str, Any], phone_number_id: str, *,
                  stalled: bool = False) -> web.Response:
    if "status" in payload:
        rule = state.take_failure("", read_receipt=True)
        if rule is not None:
            log.info("emulator: injected failure %s for a read receipt", rule.code)
            return _graph_error(rule.http_status, rule.code, rule.message, rule.details)
        state.record_read(payload)
        return web.json_response({"success": True})
    # `to` wins when both are given (shared/whatsapp-cloud-api.md §6); a BSUID-only send is
    # recorded under the BSUID.
    by_user_id = payload.get("to") is None
    wa_id = str(payload["recipient"] if by_user_id else payload["to"]).lstrip("+")
    rule = state.take_failure(wa_id)
    if rule is not None:
        log.info("emulator: injected failure %s for %s", rule.code, mask(wa_id))
        return _graph_error(rule.http_status, rule.code, rule.message, rule.details)
    entry = await state.record_message(wa_id, payload)
    if stalled and state.chaos is not None:
        state.chaos.stalled_ids.append(entry["id"])
    state.report_statuses(entry, phone_number_id)
    log.info("emulator: accepted %s message #%d to %s", payload["type"], entry["seq"],
             mask(wa_id))
    return web.json_response(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": payload["recipient"], "user_id": wa_id} if by_user_id
                         else {"input": payload["to"], "wa_id": wa_id}],
            "messages": [{"id": entry["id"]}],
        }
    )


async def _handle_list_messages(request: web.Request) -> web.Response:
    state = request.app[EMULATOR_STATE]
    to = request.query.get("to") or None
    try:
        after = int(request.query.get("after", "0"))
        wait = float(request.query.get("wait", "0"))
    except ValueError:
        return _control_error("'after' must be an integer and 'wait' a number of seconds")
    if not math.isfinite(wait):
        return _control_error("'wait' must be a finite number of seconds")
    wait = min(max(wait, 0.0), MAX_WAIT_SECONDS)
    entries = await state.wait_for_messages(to, after, wait)
    return web.json_response({"messages": entries, "last_seq": state.last_seq})


async def _handle_list_reads(request: web.Request) -> web.Response:
    return web.json_response({"reads": request.app[EMULATOR_STATE].reads})


async def _handle_fail(request: web.Request) -> web.Response:
    try:
        rule = _parse_failure(json.loads(await request.text()))
    except ValueError as exc:
        return _control_error(str(exc))
    request.app[EMULATOR_STATE].failures.append(rule)
    log.info(
        "emulator: next %d send(s) to %s fail with %d", rule.times,
        mask(rule.to) if rule.to else "anyone", rule.code
    )
    return web.json_response({"queued": len(request.app[EMULATOR_STATE].failures)})


async def _handle_chaos(request: web.Request) -> web.Response:
    """Replace the chaos rule; zero rates (or an empty body) turn chaos off."""
    try:
        rule = _parse_chaos(json.loads(await request.text() or "{}"))
    except ValueError as exc:
        return _control_error(str(exc))
    state = request.app[EMULATOR_STATE]
    state.chaos = rule if rule.fail_rate or rule.stall_rate else None
    log.info("emulator: chaos %s", "off" if state.chaos is None else rule)
    return web.json_response({"chaos": rule.report() if state.chaos else None})


async def _handle_chaos_report(request: web.Request) -> web.Response:
    """The chaos rule in force with what it injected so far ({"chaos": null} when off)."""
    chaos = request.app[EMULATOR_STATE].chaos
    return web.json_response({"chaos": chaos.report() if chaos else None})


async def _handle_status_report(request: web.Request) -> web.Response:
    """Status webhooks: where they go, how many the server acknowledged, dropped, in flight."""
    state = request.app[EMULATOR_STATE]
    hook = state.status_webhook
    return web.json_response({"webhook_url": hook.url if hook else None,
                              "acknowledged": dict(state.statuses_posted),
                              "dropped": state.statuses_dropped,
                              "in_flight": len(state.reporting)})


async def _handle_reset(request: web.Request) -> web.Response:
    request.app[EMULATOR_STATE].reset()
    return web.json_response({"ok": True})


async def _wake_pollers(app: web.Application) -> None:
    await app[EMULATOR_STATE].close()


async def _stop_reporting(app: web.Application) -> None:
    await app[EMULATOR_STATE].shutdown()


def status_notification(entry: LogEntry, status: str, phone_number_id: str) -> dict[str, Any]:
    """A `statuses` webhook for one accepted message, shaped like Meta's
    (shared/fixtures/whatsapp/status_sent.json), echoing its biz_opaque_callback_data."""
    payload = entry["payload"]
    by_user_id = payload.get("to") is None
    item: dict[str, Any] = {"id": entry["id"], "status": status,
                            "timestamp": str(int(time.time()))}
    contact: dict[str, Any] = {"profile": {"name": ""}}
    if by_user_id:
        item["recipient_user_id"] = contact["user_id"] = entry["to"]
    else:
        item["recipient_id"] = contact["wa_id"] = entry["to"]
    opaque = payload.get("biz_opaque_callback_data")
    if isinstance(opaque, str):
        item["biz_opaque_callback_data"] = opaque
    item["pricing"] = {"billable": False, "pricing_model": "PMP",
                       "type": "free_customer_service", "category": "service"}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": EMULATOR_DISPLAY_NUMBER,
                     "phone_number_id": phone_number_id},
        "contacts": [contact],
        "statuses": [item],
    }
    return {"object": "whatsapp_business_account",
            "entry": [{"id": EMULATOR_WABA_ID,
                       "changes": [{"value": value, "field": "messages"}]}]}


def _parse_failure(body: Any) -> FailureRule:
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object like {'code': 131000}")
    code = _int_field(body, "code", None)
    http_status = _int_field(body, "http_status", 400)
    times = _int_field(body, "times", 1)
    if not 400 <= http_status <= 599:
        raise ValueError("'http_status' must be 400-599")
    if times < 1:
        raise ValueError("'times' must be at least 1")
    to = body.get("to")
    if to is not None and not isinstance(to, str):
        raise ValueError("'to' must be a wa_id string")
    title = _ERROR_TITLES.get(code, "Injected error")
    message = body.get("message", f"(#{code}) {title}")
    details = body.get("details", f"{title} (injected by the emulator)")
    if not isinstance(message, str) or not isinstance(details, str):
        raise ValueError("'message' and 'details' must be strings")
    read_receipts = body.get("read_receipts", False)
    if not isinstance(read_receipts, bool):
        raise ValueError("'read_receipts' must be true or false")
    if read_receipts and to is not None:
        raise ValueError("a read receipt has no recipient: give 'to' or 'read_receipts', not both")
    return FailureRule(code, http_status, times, to.lstrip("+") if to else None, message, details,
                       read_receipts)


def _parse_chaos(body: Any) -> ChaosRule:
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object like {'fail_rate': 0.1, 'stall_rate': 0.05}")
    fail_rate = _number_field(body, "fail_rate", 0.0)
    stall_rate = _number_field(body, "stall_rate", 0.0)
    stall_seconds = _number_field(body, "stall_seconds", 11.0)
    if not (0 <= fail_rate <= 1 and 0 <= stall_rate <= 1 and fail_rate + stall_rate <= 1):
        raise ValueError("'fail_rate' and 'stall_rate' must be 0-1 and add up to at most 1")
    if not 0 <= stall_seconds <= MAX_STALL_SECONDS:
        raise ValueError(f"'stall_seconds' must be 0-{MAX_STALL_SECONDS:g}")
    codes = body.get("codes", [131000, 130429, 500])
    if (not isinstance(codes, list) or not codes
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes)):
        raise ValueError("'codes' must be a non-empty list of integers")
    unknown = [c for c in codes if c not in _CHAOS_HTTP_STATUS and not 500 <= c <= 599]
    if unknown:
        raise ValueError(f"'codes': no chaos answer for {unknown}; use Graph codes "
                         f"{sorted(_CHAOS_HTTP_STATUS)} or HTTP statuses 500-599")
    return ChaosRule(fail_rate, stall_rate, stall_seconds, tuple(codes),
                     _int_field(body, "seed", 0))


def _chaos_error(code: int) -> web.Response:
    if 500 <= code <= 599:
        return web.Response(status=code, text="upstream unavailable (injected by the emulator)")
    title = _ERROR_TITLES.get(code, "Injected error")
    return _graph_error(_CHAOS_HTTP_STATUS[code], code, f"(#{code}) {title}",
                        f"{title} (injected by the emulator's chaos mode)")


def _number_field(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"'{name}' must be a number")
    return float(value)


def _int_field(body: dict[str, Any], name: str, default: int | None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{name}' must be an integer")
    return value


def _authorized(request: web.Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _graph_error(
    http_status: int,
    code: int,
    message: str,
    details: str | None = None,
    error_subcode: int | None = None,
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if error_subcode is not None:
        error["type"] = "GraphMethodException"
        error["error_subcode"] = error_subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")
    return web.json_response({"error": error}, status=http_status)


def _control_error(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _new_wamid(wa_id: str, seq: int) -> str:
    # Same layout as real wamids (base64 of a small binary record holding the recipient and a
    # message key); seq in the key makes every id unique for the life of the process.
    key = f"{seq:08X}{secrets.token_hex(5).upper()}".encode()
    number = wa_id.encode()
    raw = b"\x1c\x18" + bytes([len(number)]) + number + b"\x15\x02\x00\x11\x18"
    return "wamid." + base64.b64encode(raw + bytes([len(key)]) + key + b"\x00").decode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
