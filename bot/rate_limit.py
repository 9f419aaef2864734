"""Per-sender rate limiting: a token bucket per customer. Pure: the caller passes the buckets it
knows and the time, and stores the buckets the plan returns (adapters.rate_buckets keeps them
in the database, so every server process sharing it counts against the same buckets).

Each sender has a bucket of `burst` tokens that refills at `per_minute` tokens a minute; a
message takes one token, and a message that finds the bucket empty is over the limit. The first
message over the limit in a "limited spell" is marked `notify` (the sender gets one polite reply);
the spell ends when the bucket is full again, i.e. the sender stopped for as long as a whole burst
takes to refill.

A sender whose bucket is full is indistinguishable from one never seen, so a bucket untouched
for `refill_seconds` may be forgotten (adapters.rate_buckets.prune): storage stays bounded by
recent senders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    notify: bool = False  # the first refusal of a limited spell: tell the sender once


ALLOWED = Verdict(allowed=True)
REFUSED = Verdict(allowed=False)


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float  # when `tokens` was last brought up to date (epoch seconds)
    notified: bool = False  # this spell's sender was told already


@dataclass(frozen=True)
class Plan:
    """Verdicts for a run of messages (in order) and the senders' buckets after them."""

    verdicts: tuple[Verdict, ...]
    buckets: dict[str, Bucket]


class RateLimiter:
    """Token-bucket arithmetic. `per_minute` <= 0 switches limiting off (everything allowed)."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self._rate = max(0.0, per_minute) / 60.0  # tokens a second
        self._burst = float(max(1, burst))

    @property
    def enabled(self) -> bool:
        return self._rate > 0

    @property
    def refill_seconds(self) -> float:
        """A bucket untouched this long has refilled completely (0 when limiting is off)."""
        return self._burst / self._rate if self._rate > 0 else 0.0

    def plan(self, senders: Sequence[str], now: float,
             known: Mapping[str, Bucket]) -> Plan:
        """What one message from each of `senders` (in this order) at `now` gets, given the
        buckets stored for them (`known`; a sender missing from it has a full bucket)."""
        if not self.enabled:
            return Plan((ALLOWED,) * len(senders), {})
        buckets: dict[str, Bucket] = {}
        verdicts = []
        for sender in senders:
            bucket = buckets.get(sender) or self._refilled(known.get(sender), now)
            if bucket.tokens >= 1.0:
                buckets[sender] = replace(bucket, tokens=bucket.tokens - 1.0)
                verdicts.append(ALLOWED)
            elif bucket.notified:
                buckets[sender] = bucket
                verdicts.append(REFUSED)
            else:
                buckets[sender] = replace(bucket, notified=True)
                verdicts.append(Verdict(allowed=False, notify=True))
        return Plan(tuple(verdicts), buckets)

    def _refilled(self, bucket: Bucket | None, now: float) -> Bucket:
        if bucket is None:
            return Bucket(tokens=self._burst, at=now)
        # max(): a clock stepping backwards (or another process's clock a little ahead of
        # this one's) must not drain the bucket.
        tokens = min(self._burst, bucket.tokens + max(0.0, now - bucket.at) * self._rate)
        # Refilled completely: the spell is over, a new one may be told again.
        return Bucket(tokens, max(now, bucket.at),
                      notified=bucket.notified and tokens < self._burst)
