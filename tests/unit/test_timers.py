"""Idle-cart reminder, cart expiry and handoff timeout: when they are due and what they do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.conversation import (
    Context,
    ConversationState,
    CustomerText,
    Decision,
    TimerFired,
    decide,
)
from bot.replies import ButtonsReply
from bot.timers import Due, TimerSettings, due_now, next_timer
from parsers.models import ParsedLine, ParseResult
from tests.unit.shop import ScriptedParser, small_catalog

ORDER = "2 chicken shawarma and a large pepsi"
PIZZA = "a margherita"
SCRIPT = {
    ORDER: ParseResult(lines=(ParsedLine("chicken-shawarma", 2, "regular"),
                              ParsedLine("pepsi", 1, "large"))),
    PIZZA: ParseResult(lines=(ParsedLine("margherita", 1, None),)),
    "and a large pepsi": ParseResult(lines=(ParsedLine("pepsi", 1, "large"),)),
}
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DEFAULTS = TimerSettings()


def context() -> Context:
    return Context(small_catalog(), ScriptedParser(SCRIPT), "Alex Buyer", customer="15550002222")


def with_cart(text: str = ORDER) -> ConversationState:
    return decide(ConversationState(), CustomerText(text), context()).state


def bodies(decision: Decision) -> str:
    return "\n".join(reply.body for reply in decision.replies)


def test_no_open_order_no_timer() -> None:
    assert next_timer(ConversationState(), T0, DEFAULTS) is None
    assert next_timer(with_cart(), None, DEFAULTS) is None


def test_an_open_order_is_reminded_first_then_expires() -> None:
    cart = with_cart()
    assert next_timer(cart, T0, DEFAULTS) == Due("reminder", T0 + timedelta(minutes=15))
    reminded = decide(cart, TimerFired("reminder"), context()).state
    assert next_timer(reminded, T0, DEFAULTS) == Due("expiry", T0 + timedelta(minutes=120))


def test_a_handed_off_conversation_only_has_the_handoff_timeout() -> None:
    paused = decide(with_cart(), CustomerText("agent"), context()).state
    assert next_timer(paused, T0, DEFAULTS) == Due("handoff_timeout", T0 + timedelta(minutes=60))
    never = TimerSettings.minutes(15, 120, 0)
    assert next_timer(paused, T0, never) is None


def test_zero_switches_a_timer_off_and_a_late_reminder_is_skipped() -> None:
    cart = with_cart()
    no_reminder = TimerSettings.minutes(0, 30, 60)
    assert next_timer(cart, T0, no_reminder) == Due("expiry", T0 + timedelta(minutes=30))
    late = TimerSettings.minutes(45, 30, 60)  # expiry comes first: no reminder for a gone cart
    assert next_timer(cart, T0, late) == Due("expiry", T0 + timedelta(minutes=30))
    reminded = decide(cart, TimerFired("reminder"), context()).state
    assert next_timer(reminded, T0, TimerSettings.minutes(15, 0, 60)) is None


def test_the_reminder_shows_the_order_again_once() -> None:
    cart = with_cart()
    first = decide(cart, TimerFired("reminder"), context())
    assert first.state.reminded and first.state.cart == cart.cart
    assert "isn't placed yet" in first.replies[0].body
    summary = first.replies[-1]
    assert isinstance(summary, ButtonsReply) and "Total: $17.50" in summary.body
    assert "Confirm" in [title for _, title in summary.buttons]
    again = decide(first.state, TimerFired("reminder"), context())
    assert again.replies == () and again.state == first.state


def test_the_reminder_repeats_an_open_question() -> None:
    asking = with_cart(PIZZA)
    assert asking.stage == "asking"
    reminded = decide(asking, TimerFired("reminder"), context())
    question = reminded.replies[-1]
    assert isinstance(question, ButtonsReply)
    assert {title for _, title in question.buttons} == {"Small", "Medium", "Large"}


def test_writing_again_earns_a_fresh_reminder_later() -> None:
    reminded = decide(with_cart(), TimerFired("reminder"), context()).state
    wrote = decide(reminded, CustomerText("and a large pepsi"), context()).state
    assert not wrote.reminded
    assert next_timer(wrote, T0, DEFAULTS) == Due("reminder", T0 + timedelta(minutes=15))


def test_expiry_empties_the_cart_and_says_so() -> None:
    cart = with_cart()
    expired = decide(cart, TimerFired("expiry"), context())
    assert expired.state.cart == () and expired.state.stage == "idle"
    assert expired.state.asking is None and not expired.state.reminded
    assert "cleared" in bodies(expired)
    assert next_timer(expired.state, T0, DEFAULTS) is None
    # A button from the expired summary is not trusted any more.
    assert expired.state.revision != cart.revision


def test_timers_for_a_cart_that_is_gone_or_handed_off_say_nothing() -> None:
    for kind in ("reminder", "expiry"):
        assert decide(ConversationState(), TimerFired(kind), context()).replies == ()
        paused = decide(with_cart(), CustomerText("agent"), context()).state
        quiet = decide(paused, TimerFired(kind), context())
        assert quiet.replies == () and quiet.state == paused


def test_after_a_long_outage_only_the_expiry_fires() -> None:
    cart = with_cart()
    assert due_now(cart, T0, DEFAULTS, T0 + timedelta(minutes=14)) is None
    assert due_now(cart, T0, DEFAULTS, T0 + timedelta(minutes=15)) == "reminder"
    assert due_now(cart, T0, DEFAULTS, T0 + timedelta(hours=3)) == "expiry"
