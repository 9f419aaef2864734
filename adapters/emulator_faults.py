"""Fault injection for the Cloud API emulator (adapters/whatsapp_emulator.py).

Three kinds of rule, each set through a `/_emulator/` control endpoint: a FailureRule
(`/_emulator/fail`) makes the next N sends fail exactly (tests); a StallRule holds the next N
sends before accepting them; a ChaosRule (`/_emulator/chaos`) makes any send fail or stall at
random, from a seed (bench/chaos.py). Also here: parsing the control bodies into rules, taking
the rule a send meets, and the Graph-style error answers — injected ones and the emulator's own
rejections alike.
"""

from __future__ import annotations

import math
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

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


def take_stall(stalls: list[StallRule], payload: dict[str, Any]) -> float | None:
    """Consume one use of the first stall rule matching this message; its seconds."""
    if "status" in payload:
        return None
    wa_id = str(payload.get("to") or payload.get("recipient") or "").lstrip("+")
    for rule in stalls:
        if rule.to is None or rule.to.lstrip("+") == wa_id:
            rule.times -= 1
            if rule.times <= 0:
                stalls.remove(rule)
            return rule.seconds
    return None


def take_failure(failures: list[FailureRule], wa_id: str, *, read_receipt: bool = False
                 ) -> FailureRule | None:
    """Consume one use of the first failure rule matching this send (a read receipt has
    no recipient)."""
    for rule in failures:
        if rule.read_receipts == read_receipt and (rule.to is None or rule.to == wa_id):
            rule.times -= 1
            if rule.times <= 0:
                failures.remove(rule)
            return rule
    return None


def parse_failure(body: Any) -> FailureRule:
    """The rule a `/_emulator/fail` body asks for; ValueError says what is wrong with it."""
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


def parse_chaos(body: Any) -> ChaosRule:
    """The rule a `/_emulator/chaos` body asks for; ValueError says what is wrong with it."""
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


def chaos_error(code: int) -> web.Response:
    """The answer to a send that chaos fails with `code` (a Graph code or an HTTP status)."""
    if 500 <= code <= 599:
        return web.Response(status=code, text="upstream unavailable (injected by the emulator)")
    title = _ERROR_TITLES.get(code, "Injected error")
    return graph_error(_CHAOS_HTTP_STATUS[code], code, f"(#{code}) {title}",
                       f"{title} (injected by the emulator's chaos mode)")


def graph_error(
    http_status: int,
    code: int,
    message: str,
    details: str | None = None,
    error_subcode: int | None = None,
) -> web.Response:
    """A Graph API error answer, shaped like Meta's (injected faults and the emulator's own
    rejections both answer with it)."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if error_subcode is not None:
        error["type"] = "GraphMethodException"
        error["error_subcode"] = error_subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")
    return web.json_response({"error": error}, status=http_status)


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
