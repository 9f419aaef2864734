"""Human handoff in the pure state machine: asking for a person, staying quiet, coming back."""

from __future__ import annotations

import pytest

from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    HandoffRelease,
    OtherMessage,
    TimerFired,
    decide,
)
from bot.handoff import wants_person
from bot.replies import ButtonsReply
from parsers.models import ParsedLine, ParseResult
from tests.unit.shop import ScriptedParser, small_catalog

ORDER = "2 chicken shawarma and a large pepsi"
ORDER_RESULT = ParseResult(lines=(
    ParsedLine("chicken-shawarma", 2, "regular", span=(0, 18)),
    ParsedLine("pepsi", 1, "large", span=(23, 36)),
))


def context() -> Context:
    return Context(small_catalog(), ScriptedParser({ORDER: ORDER_RESULT}), "Alex Buyer",
                   customer="15550002222")


def with_cart() -> ConversationState:
    return decide(ConversationState(), CustomerText(ORDER), context()).state


def bodies(decision: Decision) -> str:
    return "\n".join(reply.body for reply in decision.replies)


@pytest.mark.parametrize("text", [
    "agent", "human", "Human please!", "talk to someone", "speak to a person", "real person",
    "call me", "Can I talk to a human please?", "I want to speak with the manager",
    "connect me to customer service", "AGENT!!", "can someone call me back",
    "is there a real person there", "i don't want to talk to a bot", "give me a call",
    "let me chat with one of your staff", "please call me", "call me back about my order",
])
def test_requests_for_a_person_are_recognised(text: str) -> None:
    assert wants_person(text)


@pytest.mark.parametrize("text", [
    ORDER, "a wrap for someone else", "2 personal pizzas", "hi", "menu", "yes",
    "remove the pepsi", "an agenda", "humane burger", "call me when you arrive",
    "ring me at the door, 3rd floor",
])
def test_orders_and_chat_are_not_handoff_requests(text: str) -> None:
    assert not wants_person(text)


def test_asking_for_a_person_pauses_the_bot_and_alerts_the_owner_with_the_order() -> None:
    decision = decide(with_cart(), CustomerText("can I talk to a human?"), context())
    assert decision.state.handoff
    assert "Test Grill" in bodies(decision) and "quiet" in bodies(decision)
    [alert] = decision.alerts
    assert "Alex Buyer (+15550002222)" in alert
    assert "can I talk to a human?" in alert
    assert "2 × Chicken Shawarma (Regular)" in alert and "Total: $17.50" in alert
    assert "orderbot handoff release 15550002222" in alert
    assert decision.state.cart == with_cart().cart  # the order is kept for afterwards


def test_while_handed_off_the_bot_says_nothing_and_changes_nothing() -> None:
    paused = decide(with_cart(), CustomerText("agent"), context()).state
    for event in (CustomerText("and a large pepsi"), CustomerText("yes"),
                  ButtonTap(f"confirm:{paused.revision}"), OtherMessage("image"),
                  CustomerText("human!!")):
        quiet = decide(paused, event, context())
        assert quiet.replies == () and quiet.alerts == () and quiet.place_order is None
        assert quiet.state == paused


def test_release_brings_the_bot_back_and_shows_the_order_again() -> None:
    paused = decide(with_cart(), CustomerText("agent"), context()).state
    back = decide(paused, HandoffRelease(), context())
    assert not back.state.handoff
    assert "order bot again" in back.replies[0].body
    summary = back.replies[-1]
    assert isinstance(summary, ButtonsReply) and "Total: $17.50" in summary.body
    # ...and the customer is answered normally again.
    assert decide(back.state, CustomerText("yes"), context()).place_order is not None


def test_the_handoff_timeout_releases_like_the_command() -> None:
    paused = decide(ConversationState(), CustomerText("real person"), context()).state
    back = decide(paused, TimerFired("handoff_timeout"), context())
    assert not back.state.handoff
    assert [r.body for r in back.replies] == [r.body for r in
                                              decide(paused, HandoffRelease(), context()).replies]


def test_releasing_a_conversation_that_is_not_handed_off_says_nothing() -> None:
    idle = decide(with_cart(), HandoffRelease(), context())
    assert idle.replies == () and idle.state == with_cart()
