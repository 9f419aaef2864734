"""Local Cloud API emulator: the /messages endpoint plus `/_emulator/` inspection and control.

Lets a shop owner try the bot without a Meta account, and tests drive the real client against
documented limits rather than a permissive mock. Localhost only: `/_emulator/` has no auth.

Faults: `/_emulator/fail` queues the next N failures exactly (tests); `/_emulator/chaos` makes
any send fail or stall at random, from a seed (bench/chaos.py). A stalled send is still
accepted when the stall ends, as Meta may accept a message whose answer the client never saw.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import math
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypedDict

from aiohttp import web

from adapters.whatsapp_limits import validate_outbound
from bot.privacy import mask

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
    """Makes the next `times` sends (to `to`, or to anyone) fail with a Graph error."""

    code: int
    http_status: int
    times: int
    to: str | None
    message: str
    details: str


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
class EmulatorConfig:
    """What the emulator insists on; None disables the check."""

    access_token: str | None
    phone_number_id: str | None


class EmulatorState:
    """Everything the emulator accepted, readable from tests in-process."""

    def __init__(self) -> None:
        self.reads: list[ReadReceipt] = []
        self.failures: list[FailureRule] = []
        self.chaos: ChaosRule | None = None
        self.stalling: set[asyncio.Future[web.Response]] = set()  # sends held by chaos
        # Every hit on /messages, accepted or not: proves whether a request reached us at all.
        self.request_count = 0
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

    def take_failure(self, wa_id: str) -> FailureRule | None:
        """Consume one use of the first failure rule matching this recipient."""
        for rule in self.failures:
            if rule.to is None or rule.to == wa_id:
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

    def reset(self) -> None:
        """Forget messages, reads and failure and chaos rules. seq keeps counting so pollers
        stay valid."""
        self._messages.clear()
        self.reads.clear()
        self.failures.clear()
        self.chaos = None
        self.request_count = 0


EMULATOR_STATE: Final = web.AppKey("emulator_state", EmulatorState)
EMULATOR_CONFIG: Final = web.AppKey("emulator_config", EmulatorConfig)


def create_emulator_app(
    access_token: str | None = None, phone_number_id: str | None = None
) -> web.Application:
    """Build the emulator app; pass a token / phone number id to have them enforced."""
    app = web.Application()
    app[EMULATOR_STATE] = EmulatorState()
    app[EMULATOR_CONFIG] = EmulatorConfig(access_token, phone_number_id)
    app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/messages", _handle_messages)
    app.router.add_get("/_emulator/messages", _handle_list_messages)
    app.router.add_get("/_emulator/reads", _handle_list_reads)
    app.router.add_post("/_emulator/fail", _handle_fail)
    app.router.add_post("/_emulator/chaos", _handle_chaos)
    app.router.add_get("/_emulator/chaos", _handle_chaos_report)
    app.router.add_post("/_emulator/reset", _handle_reset)
    app.on_shutdown.append(_wake_pollers)
    return app


async def run_emulator(
    host: str, port: int, access_token: str | None, phone_number_id: str | None
) -> web.AppRunner:
    """Start the emulator on host:port; the caller stops it with `await runner.cleanup()`."""
    runner = web.AppRunner(create_emulator_app(access_token, phone_number_id), shutdown_timeout=5.0)
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
    if state.chaos is not None:
        fault = state.chaos.draw()
        if isinstance(fault, int):
            log.info("emulator: chaos failure %s", fault)
            return _chaos_error(fault)
        if fault is not None:
            # Shielded: the message is accepted when the stall ends even if the client gave up
            # meanwhile (and its server cancels the handler), as Meta may accept a message
            # whose answer never reached the sender.
            stalled = asyncio.ensure_future(_accept_after(state, payload, fault))
            state.stalling.add(stalled)
            stalled.add_done_callback(state.stalling.discard)
            return await asyncio.shield(stalled)
    return await _accept(state, payload)


async def _accept_after(state: EmulatorState, payload: dict[str, Any], stall: float
                        ) -> web.Response:
    await asyncio.sleep(stall)
    return await _accept(state, payload, stalled=True)


async def _accept(state: EmulatorState, payload: dict[str, Any], *, stalled: bool = False
                  ) -> web.Response:
    if "status" in payload:
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


async def _handle_reset(request: web.Request) -> web.Response:
    request.app[EMULATOR_STATE].reset()
    return web.json_response({"ok": True})


async def _wake_pollers(app: web.Application) -> None:
    await app[EMULATOR_STATE].close()


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
    return FailureRule(code, http_status, times, to.lstrip("+") if to else None, message, details)


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
