"""The per-sender token bucket (bot.rate_limit): what a flooding number and a calm one get."""

from __future__ import annotations

from bot.rate_limit import Bucket, RateLimiter


class Stored:
    """The buckets as the database keeps them between batches (adapters.rate_buckets)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.buckets: dict[str, Bucket] = {}

    def take(self, sender: str, now: float) -> str:
        plan = self.limiter.plan([sender], now, self.buckets)
        self.buckets.update(plan.buckets)
        [verdict] = plan.verdicts
        return "ok" if verdict.allowed else "notify" if verdict.notify else "refused"


def verdicts(stored: Stored, sender: str, count: int, now: float) -> list[str]:
    return [stored.take(sender, now) for _ in range(count)]


def test_a_burst_passes_then_the_first_message_over_is_told_once() -> None:
    stored = Stored(RateLimiter(per_minute=30, burst=5))
    assert verdicts(stored, "flood", 9, now=0.0) == ["ok"] * 5 + ["notify"] + ["refused"] * 3


def test_a_flood_from_one_number_does_not_touch_another() -> None:
    stored = Stored(RateLimiter(per_minute=30, burst=3))
    verdicts(stored, "flood", 50, now=0.0)
    assert verdicts(stored, "calm", 3, now=0.5) == ["ok", "ok", "ok"]


def test_tokens_come_back_at_the_sustained_rate() -> None:
    stored = Stored(RateLimiter(per_minute=30, burst=2))  # one token every 2 s
    assert verdicts(stored, "a", 3, now=0.0) == ["ok", "ok", "notify"]
    assert verdicts(stored, "a", 1, now=1.0) == ["refused"]  # half a token
    assert verdicts(stored, "a", 2, now=2.0) == ["ok", "refused"]  # still the same spell


def test_a_new_spell_after_a_full_refill_is_told_again() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)  # full again 2 s after emptying
    assert limiter.refill_seconds == 2.0
    stored = Stored(limiter)
    assert verdicts(stored, "a", 3, now=0.0) == ["ok", "ok", "notify"]
    assert verdicts(stored, "a", 3, now=2.0) == ["ok", "ok", "notify"]


def test_a_fast_human_never_hits_the_default_limit() -> None:
    stored = Stored(RateLimiter(per_minute=30, burst=20))  # the defaults
    # 15 messages in 20 seconds, then one every 3 seconds for 5 minutes.
    times = [i * 20 / 15 for i in range(15)] + [20 + 3 * i for i in range(100)]
    assert all(stored.take("human", t) == "ok" for t in times)


def test_zero_per_minute_switches_limiting_off() -> None:
    limiter = RateLimiter(per_minute=0, burst=1)
    assert not limiter.enabled
    stored = Stored(limiter)
    assert verdicts(stored, "a", 100, now=0.0) == ["ok"] * 100
    assert stored.buckets == {}  # nothing to store


def test_a_batch_is_decided_in_order_and_returns_the_buckets_to_store() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    plan = limiter.plan(["a", "a", "a", "b"], now=0.0, known={})
    assert [(v.allowed, v.notify) for v in plan.verdicts] == [
        (True, False), (True, False), (False, True), (True, False)]
    assert plan.buckets == {"a": Bucket(0.0, 0.0, notified=True), "b": Bucket(1.0, 0.0)}
    # Not stored (e.g. the batch failed to commit): the same messages get the same answers.
    assert limiter.plan(["a", "a", "a", "b"], now=0.0, known={}).verdicts == plan.verdicts
    assert not limiter.plan(["a"], now=0.0, known=plan.buckets).verdicts[0].allowed


def test_a_bucket_another_process_stored_counts() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    emptied_elsewhere = {"a": Bucket(tokens=0.0, at=10.0, notified=True)}
    plan = limiter.plan(["a", "a"], now=10.5, known=emptied_elsewhere)
    assert [(v.allowed, v.notify) for v in plan.verdicts] == [(False, False), (False, False)]
    assert plan.buckets["a"].tokens == 0.5  # half a second's refill, nothing spent


def test_a_clock_stepping_back_does_not_drain_the_bucket() -> None:
    stored = Stored(RateLimiter(per_minute=60, burst=2))
    stored.take("a", now=100.0)
    assert stored.take("a", now=50.0) == "ok"
    assert stored.buckets["a"].at == 100.0  # the refill restarts from the later time
    assert stored.take("a", now=100.5) == "notify"  # no refill for the step back
