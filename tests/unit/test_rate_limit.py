"""The per-sender token bucket (bot.rate_limit): what a flooding number and a calm one get."""

from __future__ import annotations

from bot.rate_limit import RateLimiter


def verdicts(limiter: RateLimiter, sender: str, count: int, now: float) -> list[str]:
    out = []
    for _ in range(count):
        verdict = limiter.take(sender, now)
        out.append("ok" if verdict.allowed else "notify" if verdict.notify else "refused")
    return out


def test_a_burst_passes_then_the_first_message_over_is_told_once() -> None:
    limiter = RateLimiter(per_minute=30, burst=5)
    assert verdicts(limiter, "flood", 9, now=0.0) == ["ok"] * 5 + ["notify"] + ["refused"] * 3


def test_a_flood_from_one_number_does_not_touch_another() -> None:
    limiter = RateLimiter(per_minute=30, burst=3)
    verdicts(limiter, "flood", 50, now=0.0)
    assert verdicts(limiter, "calm", 3, now=0.5) == ["ok", "ok", "ok"]


def test_tokens_come_back_at_the_sustained_rate() -> None:
    limiter = RateLimiter(per_minute=30, burst=2)  # one token every 2 s
    assert verdicts(limiter, "a", 3, now=0.0) == ["ok", "ok", "notify"]
    assert verdicts(limiter, "a", 1, now=1.0) == ["refused"]  # half a token
    assert verdicts(limiter, "a", 2, now=2.0) == ["ok", "refused"]  # still the same spell


def test_a_new_spell_after_a_full_refill_is_told_again() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)  # full again 2 s after emptying
    assert verdicts(limiter, "a", 3, now=0.0) == ["ok", "ok", "notify"]
    assert verdicts(limiter, "a", 3, now=2.0) == ["ok", "ok", "notify"]


def test_a_fast_human_never_hits_the_default_limit() -> None:
    limiter = RateLimiter(per_minute=30, burst=20)  # the defaults
    # 15 messages in 20 seconds, then one every 3 seconds for 5 minutes.
    times = [i * 20 / 15 for i in range(15)] + [20 + 3 * i for i in range(100)]
    assert all(limiter.take("human", t).allowed for t in times)


def test_zero_per_minute_switches_limiting_off() -> None:
    limiter = RateLimiter(per_minute=0, burst=1)
    assert not limiter.enabled
    assert verdicts(limiter, "a", 100, now=0.0) == ["ok"] * 100
    assert len(limiter) == 0


def test_a_plan_changes_nothing_until_applied() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    plan = limiter.plan(["a", "a", "a", "b"], now=0.0)
    assert [(v.allowed, v.notify) for v in plan.verdicts] == [
        (True, False), (True, False), (False, True), (True, False)]
    # Not applied (e.g. the batch failed to commit): the same messages get the same answers.
    assert limiter.plan(["a", "a", "a", "b"], now=0.0).verdicts == plan.verdicts
    limiter.apply(plan)
    assert not limiter.plan(["a"], now=0.0).verdicts[0].allowed


def test_idle_senders_are_forgotten_and_memory_is_capped() -> None:
    limiter = RateLimiter(per_minute=60, burst=2, max_senders=100)
    for number in range(50):
        limiter.take(f"s{number}", now=0.0)
    assert len(limiter) == 50
    limiter.take("late", now=10.0)  # everyone else has refilled by now
    assert len(limiter) == 1
    for number in range(1000):
        limiter.take(f"t{number}", now=20.0)
    assert len(limiter) == 100


def test_a_clock_stepping_back_does_not_drain_the_bucket() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    limiter.take("a", now=100.0)
    assert limiter.take("a", now=50.0).allowed
