"""The conversation state machine, driven event by event without any I/O."""

from __future__ import annotations

from decimal import Decimal

from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    OtherMessage,
    decide,
)
from bot.replies import ButtonsReply, TextReply
from parsers.models import ChosenOption, ParsedLine, ParseResult, Unresolved
from tests.unit.shop import ScriptedParser, small_catalog

ORDER = "2 chicken shawarma and a large pepsi"
ORDER_RESULT = ParseResult(lines=(
    ParsedLine("chicken-shawarma", 2, "regular", span=(0, 18)),
    ParsedLine("pepsi", 1, "large", span=(23, 36)),
))


def context(**script: ParseResult) -> Context:
    return Context(small_catalog(), ScriptedParser({ORDER: ORDER_RESULT, **script}), "Alex Buyer")


def summary_of(decision: Decision) -> ButtonsReply:
    reply = decision.replies[-1]
    assert isinstance(reply, ButtonsReply)
    return reply


def test_an_order_gets_a_priced_summary_with_confirm_and_cancel() -> None:
    decision = decide(ConversationState(), CustomerText(ORDER), context())
    summary = summary_of(decision)
    assert "2 × Chicken Shawarma (Regular) — $15.00" in summary.body
    assert "1 × Pepsi (Large) — $2.50" in summary.body
    assert "Total: $17.50" in summary.body
    assert [title for _, title in summary.buttons] == ["Confirm", "Cancel"]
    assert all(len(title) <= 20 for _, title in summary.buttons)
    assert decision.state.stage == "confirming"
    assert decision.place_order is None


def test_confirm_button_places_the_order_and_clears_the_cart() -> None:
    ctx = context()
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    confirm_id = summary_of(asked).buttons[0][0]
    placed = decide(asked.state, ButtonTap(confirm_id), ctx)
    assert placed.place_order is not None
    assert placed.place_order.total == Decimal("17.50")
    assert [p.line.product for p in placed.place_order.lines] == ["chicken-shawarma", "pepsi"]
    assert placed.state.cart == () and placed.state.stage == "idle"


def test_typed_yes_confirms_only_when_a_summary_is_waiting() -> None:
    ctx = context()
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    assert decide(asked.state, CustomerText("Yes please!"), ctx).place_order is not None
    assert decide(asked.state, CustomerText("ok"), ctx).place_order is not None
    assert decide(asked.state, CustomerText("yes and a pepsi"), ctx).place_order is None
    idle = decide(ConversationState(), CustomerText("yes"), ctx)
    assert idle.place_order is None


def test_a_stale_confirm_button_shows_the_current_order_instead() -> None:
    ctx = context(**{"and a baklava please": ParseResult(lines=(
        ParsedLine("chicken-shawarma", 1, "large"),))})
    first = decide(ConversationState(), CustomerText(ORDER), ctx)
    old_confirm = summary_of(first).buttons[0][0]
    changed = decide(first.state, CustomerText("and a baklava please"), ctx)
    stale = decide(changed.state, ButtonTap(old_confirm), ctx)
    assert stale.place_order is None
    assert "out of date" in stale.replies[0].body
    assert "Total: $27.00" in summary_of(stale).body


def test_same_item_twice_merges_into_one_line() -> None:
    ctx = context()
    once = decide(ConversationState(), CustomerText(ORDER), ctx)
    twice = decide(once.state, CustomerText(ORDER), ctx)
    assert [(line.product, line.quantity) for line in twice.state.cart] == [
        ("chicken-shawarma", 4), ("pepsi", 2)]


def test_options_and_removals_are_priced_and_shown() -> None:
    text = "large chicken shawarma extra cheese no garlic"
    ctx = context(**{text: ParseResult(lines=(ParsedLine(
        "chicken-shawarma", 1, "large", (ChosenOption("cheese", "extra"),), ("garlic",)),))})
    summary = summary_of(decide(ConversationState(), CustomerText(text), ctx))
    assert "1 × Chicken Shawarma (Large) — $10.50" in summary.body
    assert "with extra Cheese" in summary.body and "no Garlic sauce" in summary.body


def test_cancel_clears_the_cart_and_says_so() -> None:
    ctx = context()
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    cancelled = decide(asked.state, ButtonTap(summary_of(asked).buttons[1][0]), ctx)
    assert cancelled.state.cart == ()
    assert "cancelled" in cancelled.replies[0].body
    typed = decide(asked.state, CustomerText("Cancel my order"), ctx)
    assert typed.state.cart == ()


def test_unknown_item_names_the_text_and_suggests() -> None:
    ctx = context(lasagna=ParseResult(unresolved=(
        Unresolved("lasagna", "unknown", ("margherita",)),)))
    decision = decide(ConversationState(), CustomerText("lasagna"), ctx)
    assert decision.replies == (TextReply(
        "Sorry, we don't have “lasagna”. Did you mean Margherita Pizza?"),)
    assert decision.state == ConversationState()


def test_missing_size_is_asked_and_the_line_waits() -> None:
    ctx = context(pizza=ParseResult(
        lines=(ParsedLine("margherita", 1, None),),
        unresolved=(Unresolved("pizza", "missing_variant", ("small", "medium", "large"),
                               product="margherita"),)))
    decision = decide(ConversationState(), CustomerText("pizza"), ctx)
    assert decision.state.cart == ()
    [question] = decision.replies
    assert "Margherita Pizza" in question.body and "Small, Medium or Large" in question.body


def test_unavailable_item_is_refused_clearly() -> None:
    ctx = context(baklava=ParseResult(unresolved=(
        Unresolved("baklava", "unavailable", ("baklava",)),)))
    [reply] = decide(ConversationState(), CustomerText("baklava"), ctx).replies
    assert reply.body == "Sorry, Baklava is not available right now."


def test_greeting_gets_welcome_with_menu_and_prices() -> None:
    [reply] = decide(ConversationState(), CustomerText("Hi!"), context()).replies
    assert reply.body.startswith("Hi Alex! Welcome to Test Grill.")
    assert "Chicken Shawarma — $7.50" in reply.body
    assert "Baklava" not in reply.body  # unavailable items are not offered


def test_nonsense_with_a_cart_keeps_the_cart_and_repeats_the_summary() -> None:
    ctx = context()
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    lost = decide(asked.state, CustomerText("qwerty"), ctx)
    assert lost.state == asked.state
    assert "didn't catch" in lost.replies[0].body
    assert "Total: $17.50" in summary_of(lost).body


def test_media_gets_a_helpful_reply() -> None:
    [reply] = decide(ConversationState(), OtherMessage("audio"), context()).replies
    assert "type" in reply.body


def test_state_survives_a_json_round_trip() -> None:
    text = "x"
    ctx = context(x=ParseResult(lines=(ParsedLine(
        "chicken-shawarma", 3, "large", (ChosenOption("cheese", "double"),), ("garlic",),
        "well done"),)))
    state = decide(ConversationState(), CustomerText(text), ctx).state
    assert ConversationState.from_json(state.to_json()) == state
