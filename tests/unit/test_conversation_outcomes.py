"""What a decision reports for the metrics (Decision.outcomes) and for the owner report
(whether a person helped with the order). Pure."""

from __future__ import annotations

from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    HandoffRelease,
    TimerFired,
    decide,
)
from parsers.models import ParsedLine, ParseResult, Unresolved
from tests.unit.shop import ScriptedParser, small_catalog

SCRIPT = {
    "2 chicken shawarma": ParseResult(lines=(ParsedLine("chicken-shawarma", 2, "regular"),)),
    "a margherita": ParseResult(lines=(ParsedLine("margherita", 1, None),), unresolved=(
        Unresolved("margherita", "missing_variant", ("small", "medium", "large"),
                   product="margherita"),)),
    "a pepsi and a lasagna": ParseResult(lines=(ParsedLine("pepsi", 1, "small"),),
                                         unresolved=(Unresolved("lasagna", "unknown"),)),
    "lasagna": ParseResult(unresolved=(Unresolved("lasagna", "unknown"),)),
    "baklava": ParseResult(unresolved=(Unresolved("baklava", "unavailable", ("baklava",)),)),
}


def context() -> Context:
    return Context(small_catalog(), ScriptedParser(SCRIPT), "Alex Buyer", customer="15550002222")


def run(*texts: str, state: ConversationState | None = None) -> list[Decision]:
    decisions = []
    state = state or ConversationState()
    for text in texts:
        decision = decide(state, CustomerText(text), context())
        decisions.append(decision)
        state = decision.state
    return decisions


def confirm(state: ConversationState) -> Decision:
    return decide(state, ButtonTap(f"confirm:{state.revision}"), context())


def test_each_order_text_reports_how_well_it_was_read() -> None:
    assert [d.outcomes for d in run("2 chicken shawarma")] == [("parse:understood",)]
    assert run("a pepsi and a lasagna")[0].outcomes == ("parse:partial",)
    assert run("lasagna")[0].outcomes == ("parse:unknown_item",)
    assert run("baklava")[0].outcomes == ("parse:unavailable",)
    assert run("qwerty zxcv")[0].outcomes == ("parse:nothing",)
    assert run("hi")[0].outcomes == ()  # a greeting is not read as an order


def test_a_question_is_counted_once_when_asked_not_when_repeated() -> None:
    asked, repeated, answered = run("a margherita", "lasagna", "large")
    assert asked.outcomes == ("parse:understood", "clarify:variant")
    assert repeated.outcomes == ("parse:unknown_item",)  # the same size question again
    assert answered.outcomes == ()  # the answer is not an order text


def test_a_customer_cancelling_an_open_order_is_reported() -> None:
    _, cancelled = run("2 chicken shawarma", "cancel")
    assert cancelled.outcomes == ("cancel:customer",)
    assert run("cancel")[0].outcomes == ()  # nothing was open


def test_an_order_placed_by_the_bot_alone_is_not_assisted() -> None:
    [summary] = run("2 chicken shawarma")
    placed = confirm(summary.state)
    assert placed.place_order is not None and placed.details.assisted is False


def test_an_order_a_person_helped_with_is_assisted_even_after_the_release() -> None:
    _, paused = run("2 chicken shawarma", "agent")
    assert paused.state.assisted
    back = decide(paused.state, HandoffRelease(), context())
    assert back.state.assisted and not back.state.handoff
    placed = confirm(back.state)
    assert placed.place_order is not None and placed.details.assisted is True
    # The next order starts afresh: no person has helped with it.
    [summary] = run("2 chicken shawarma", state=placed.state)
    assert not summary.state.assisted
    assert confirm(summary.state).details.assisted is False


def test_help_before_an_order_was_started_does_not_count_for_it() -> None:
    [paused] = run("agent")
    assert paused.state.assisted  # still handed off: whatever comes next is helped
    back = decide(paused.state, TimerFired("handoff_timeout"), context())
    assert not back.state.assisted  # released with nothing open
    [summary] = run("2 chicken shawarma", state=back.state)
    assert confirm(summary.state).details.assisted is False


def test_a_state_stored_before_the_flag_existed_reads_a_handoff_as_help() -> None:
    old = '{"stage": "confirming", "handoff": true, "cart": []}'
    assert ConversationState.from_json(old).assisted
    assert not ConversationState.from_json('{"stage": "idle"}').assisted
    state = ConversationState(assisted=True, handoff=True)
    assert ConversationState.from_json(state.to_json()) == state
