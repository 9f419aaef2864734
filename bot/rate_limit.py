"""Per-sender rate limiting: a token bucket per customer. Pure: the caller passes the time.

Each sender has a bucket of `burst` tokens that refills at `per_minute` tokens a minute; a
message takes one token, and a message that finds the bucket empty is over the limit. The first
message over the limit in a "limited spell" is marked `notify` (the sender gets one polite reply);
the spell ends when the bucket is full again, i.e. the sender stopped for as long as a whole burst
takes to refill.

Decisions are made in two steps, `plan` then `apply`, so a caller that stores the messages can
apply them only once they are committed: a failed write (answered 503, redelivered by Meta)
must not spend a customer's tokens twice.

A sender whose bucket is full is indistinguishable from one never seen, so such idle buckets are
dropped (oldest first) and memory stays bounded by recent senders; `max_senders` caps it even
under a flood of distinct numbers (the least recently seen is then forgotten early, which only
ever lets a message through).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

DEFAULT_MAX_SENDERS = 100_000


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    notify: bool = False  # the first refusal of a limited spell: tell the sender once


ALLOWED = Verdict(allowed=True)
REFUSED = Verdict(allowed=False)


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float  # when `tokens` was last brought up to date
    notified: bool = False  # this spell's sender was told already


@dataclass(frozen=True)
class Plan:
    """Verdicts for a run of messages (in order) and the buckets as they would be after them."""

    verdicts: tuple[Verdict, ...]
    buckets: dict[str, Bucket]
    now: float


class RateLimiter:
    """Token buckets by sender. `per_minute` <= 0 switches limiting off (everything allowed)."""

    def __init__(self, per_minute: float, burst: int,
                 max_senders: int = DEFAULT_MAX_SENDERS) -> None:
        self._rate = max(0.0, per_minute) / 60.0  # tokens a second
        self._burst = float(max(1, burst))
        self._max_senders = max(1, max_senders)
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()  # least recently seen first
        # A bucket untouched this long has refilled completely.
        self._refill_seconds = self._burst / self._rate if self._rate > 0 else 0.0

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    def __len__(self) -> int:
        """Senders currently remembered."""
        return len(self._buckets)

    def plan(self, senders: Sequence[str], now: float) -> Plan:
        """What one message from each of `senders` (in this order) at `now` would get; nothing
        changes until `apply`. `now` is in seconds from any fixed origin."""
        if not self.enabled:
            return Plan((ALLOWED,) * len(senders), {}, now)
        buckets: dict[str, Bucket] = {}
        verdicts = []
        for sender in senders:
            bucket = buckets.get(sender) or self._refilled(sender, now)
            if bucket.tokens >= 1.0:
                buckets[sender] = replace(bucket, tokens=bucket.tokens - 1.0)
                verdicts.append(ALLOWED)
            elif bucket.notified:
                buckets[sender] = bucket
                verdicts.append(REFUSED)
            else:
                buckets[sender] = replace(bucket, notified=True)
                verdicts.append(Verdict(allowed=False, notify=True))
        return Plan(tuple(verdicts), buckets, now)

    def apply(self, plan: Plan) -> None:
        """Make a plan's decisions count (after the messages were stored)."""
        for sender, bucket in plan.buckets.items():
            self._buckets[sender] = bucket
            self._buckets.move_to_end(sender)
        self._evict_idle(plan.now)
        while len(self._buckets) > self._max_senders:
            self._buckets.popitem(last=False)

    def take(self, sender: str, now: float) -> Verdict:
        """One message, decided and applied at once."""
        plan = self.plan([sender], now)
        self.apply(plan)
        return plan.verdicts[0]

    def _refilled(self, sender: str, now: float) -> Bucket:
        bucket = self._buckets.get(sender)
        if bucket is None:
            return Bucket(tokens=self._burst, at=now)
        # max(): a clock stepping backwards must not drain the bucket.
        tokens = min(self._burst, bucket.tokens + max(0.0, now - bucket.at) * self._rate)
        # Refilled completely: the spell is over, a new one may be told again.
        return Bucket(tokens, now, notified=bucket.notified and tokens < self._burst)

    def _evict_idle(self, now: float) -> None:
        # The front is the least recently seen; stop at the first one still refilling, so each
        # call does work only for what it drops.
        while self._buckets:
            sender, bucket = next(iter(self._buckets.items()))
            if now - bucket.at < self._refill_seconds:
                return
            del self._buckets[sender]
