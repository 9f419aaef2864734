"""The error every delivery adapter raises, and the retry policy that decides what happens next.

An adapter says *what kind* of failure it met; the policy (pure, unit-tested) turns the kind and
the row's attempt count into "try again in N seconds" or "give up: dead letter":

| kind        | raised for                                                   | attempts |
|-------------|--------------------------------------------------------------|----------|
| `transient` | timeouts, connection errors, HTTP 5xx and 429, WhatsApp      | 12       |
|             | 130429 / 131056 / 131057 (rate limits, maintenance)          |          |
| `flaky`     | WhatsApp 131000 ("something went wrong"): maybe transient,   | 3        |
|             | maybe a message Meta will never take                         |          |
| `permanent` | other 4xx, WhatsApp 131047, 131026, 131051, 100, ...         | 1        |
| `auth`      | credentials refused (WhatsApp 190 / HTTP 401): permanent,    | 1        |
|             | plus one owner alert per incident                            |          |

A row is given up when its attempts reach the budget of the error it just failed with. Twelve
transient attempts with the default 1 s doubling to a 300 s cap span about 20 minutes, long
enough for a printer to be switched back on or a partner API to come back.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from types import MappingProxyType


class FailureKind(StrEnum):
    TRANSIENT = "transient"
    FLAKY = "flaky"
    PERMANENT = "permanent"
    AUTH = "auth"


class DeliveryError(Exception):
    """A failed delivery.

    Give either `retryable` (True: transient, False: permanent; what simple adapters need) or
    an explicit `kind`. `retry_after` is the receiver's own "come back in N seconds" (HTTP
    Retry-After); `incident` names what an `auth` failure is about (e.g. one credential), so
    that the owner is alerted once per incident rather than once per row. `uncertain`: the
    request may have been accepted although no answer came (a timeout after it was written),
    so the outbox waits for proof either way before sending it again (bot.dispatcher).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        kind: FailureKind | None = None,
        retry_after: float | None = None,
        incident: str | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(message)
        if kind is None:
            if retryable is None:
                raise TypeError("DeliveryError needs retryable= or kind=")
            kind = FailureKind.TRANSIENT if retryable else FailureKind.PERMANENT
        self.kind = kind
        self.retry_after = retry_after
        self.incident = incident
        self.uncertain = uncertain

    @property
    def retryable(self) -> bool:
        return self.kind in (FailureKind.TRANSIENT, FailureKind.FLAKY)


DEFAULT_BUDGETS: Mapping[FailureKind, int] = MappingProxyType({
    FailureKind.TRANSIENT: 12,
    FailureKind.FLAKY: 3,
    FailureKind.PERMANENT: 1,
    FailureKind.AUTH: 1,
})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, and how many attempts each kind of failure gets."""

    base_seconds: float = 1.0
    max_seconds: float = 300.0
    # A receiver asking for more than this is most likely misconfigured; don't park the lane.
    max_retry_after: float = 3600.0
    jitter: float = 0.25  # ±25 %, so retries of many rows do not hit the receiver together
    budgets: Mapping[FailureKind, int] = field(default_factory=lambda: DEFAULT_BUDGETS)

    def attempts_allowed(self, kind: FailureKind) -> int:
        return self.budgets[kind]

    def backoff(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Delay after the `attempts`-th failure: base, 2×base, 4×base … capped, jittered."""
        plain = min(self.base_seconds * 2.0 ** max(attempts - 1, 0), self.max_seconds)
        return plain * (1.0 - self.jitter + 2.0 * self.jitter * rand())

    def next_delay(
        self, error: DeliveryError, attempts: int, rand: Callable[[], float] = random.random
    ) -> float | None:
        """Seconds until the next attempt after `attempts` failed ones; None: dead letter now."""
        if attempts >= self.attempts_allowed(error.kind):
            return None
        delay = self.backoff(attempts, rand)
        if error.retry_after is not None and error.retry_after > 0:
            # The receiver knows best when it will take work again; never come back sooner.
            delay = max(delay, min(error.retry_after, self.max_retry_after))
        return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """An HTTP Retry-After header (seconds, or an HTTP date) as seconds from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isdecimal():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
