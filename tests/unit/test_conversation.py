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
from bot.replies import ButtonsReply, ListReply, TextReply
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
    assert [title for _, title in summary.buttons] == ["Confirm", "Edit", "Cancel"]
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
    cancelled = decide(asked.state, ButtonTap(summary_of(asked).buttons[2][0]), ctx)
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


PIZZA = ParseResult(
    lines=(ParsedLine("margherita", 2, None),),
    unresolved=(Unresolved("pizza", "missing_variant", ("small", "medium", "large"),
                           product="margherita"),))


def test_missing_size_is_asked_with_buttons_and_a_typed_answer_works() -> None:
    ctx = context(pizza=PIZZA)
    asked = decide(ConversationState(), CustomerText("pizza"), ctx)
    [question] = asked.replies
    assert isinstance(question, ButtonsReply)
    assert "Margherita Pizza" in question.body
    assert [title for _, title in question.buttons] == ["Small", "Medium", "Large"]
    assert asked.state.stage == "asking"
    answered = decide(asked.state, CustomerText("the large one pls"), ctx)
    assert "2 × Margherita Pizza (Large) — $26.00" in summary_of(answered).body
    by_number = decide(asked.state, CustomerText("2"), ctx)
    assert "(Medium)" in summary_of(by_number).body
    by_button = decide(asked.state, ButtonTap(question.buttons[0][0]), ctx)
    assert "(Small)" in summary_of(by_button).body


def test_an_answer_that_is_no_choice_repeats_the_question() -> None:
    ctx = context(pizza=PIZZA)
    asked = decide(ConversationState(), CustomerText("pizza"), ctx)
    again = decide(asked.state, CustomerText("hmm"), ctx)
    assert again.state == asked.state
    assert "isn't one of the choices" in again.replies[0].body
    assert again.replies[1] == asked.replies[0]
    assert decide(asked.state, CustomerText("yes"), ctx).place_order is None


def test_required_option_is_asked_before_the_summary() -> None:
    ctx = context(burger=ParseResult(lines=(ParsedLine("burger", 1, None),)))
    asked = decide(ConversationState(), CustomerText("burger"), ctx)
    [question] = asked.replies
    assert isinstance(question, ButtonsReply)
    assert "Doneness" in question.body and "Burger" in question.body
    done = decide(asked.state, CustomerText("wel done"), ctx)  # a typo is fine
    summary = summary_of(done).body
    assert "1 × Burger — $10.00" in summary and "Doneness: Well done" in summary


def test_ambiguous_item_is_a_list_question_then_its_size() -> None:
    ctx = context(shawarma=ParseResult(unresolved=(Unresolved(
        "2 shawarma", "ambiguous",
        ("chicken-shawarma", "margherita", "baklava", "pepsi", "burger")),)))
    asked = decide(ConversationState(), CustomerText("shawarma"), ctx)
    [question] = asked.replies
    assert isinstance(question, ListReply)  # four choices: more than reply buttons allow
    assert [row[1] for row in question.rows] == [  # the unavailable baklava is not offered
        "Chicken Shawarma", "Margherita Pizza", "Pepsi", "Burger"]
    assert all(len(row[1]) <= 24 for row in question.rows)
    picked = decide(asked.state, ButtonTap(question.rows[1][0]), ctx)
    size = picked.replies[0]
    assert isinstance(size, ButtonsReply) and "Margherita Pizza" in size.body
    done = decide(picked.state, CustomerText("small"), ctx)
    assert "2 × Margherita Pizza (Small) — $18.00" in summary_of(done).body


def test_an_old_answer_button_does_not_change_the_cart() -> None:
    ctx = context(pizza=PIZZA)
    asked = decide(ConversationState(), CustomerText("pizza"), ctx)
    old_small = asked.replies[0].buttons[0][0]  # type: ignore[union-attr]
    answered = decide(asked.state, CustomerText("large"), ctx)
    stale = decide(answered.state, ButtonTap(old_small), ctx)
    assert stale.state.cart == answered.state.cart
    assert "out of date" in stale.replies[0].body


def test_unavailable_item_is_refused_clearly() -> None:
    ctx = context(baklava=ParseResult(unresolved=(
        Unresolved("baklava", "unavailable", ("baklava",)),)))
    [reply] = decide(ConversationState(), CustomerText("baklava"), ctx).replies
    assert reply.body == "Sorry, Baklava is not available right now."


def test_greeting_gets_a_short_welcome_and_the_menu_as_a_list() -> None:
    [reply] = decide(ConversationState(), CustomerText("Hi!"), context()).replies
    assert isinstance(reply, ListReply)  # categories one tap away; items and prices: test_menu
    assert reply.body.startswith("Hi Alex! Welcome to Test Grill.")
    assert [title for _, title, _ in reply.rows] == ["Wraps", "Drinks", "Pizza", "Burgers"]
    assert "Desserts" not in str(reply)  # its only item, baklava, is not available


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


def test_a_size_said_with_an_ambiguous_item_is_kept_after_the_pick() -> None:
    ctx = context(pizzas=ParseResult(unresolved=(Unresolved(
        "2 large pizzas", "ambiguous", ("margherita", "chicken-shawarma")),)))
    asked = decide(ConversationState(), CustomerText("pizzas"), ctx)
    picked = decide(asked.state, CustomerText("margherita"), ctx)
    assert "2 × Margherita Pizza (Large) — $26.00" in summary_of(picked).body


def test_remove_an_item_keeps_the_others_untouched() -> None:
    ctx = context(pepsi=ParseResult(lines=(ParsedLine("pepsi", 1, "small"),)))
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    removed = decide(asked.state, CustomerText("remove the pepsi"), ctx)
    assert [line.product for line in removed.state.cart] == ["chicken-shawarma"]
    assert removed.state.cart[0] == asked.state.cart[0]
    assert "Total: $15.00" in summary_of(removed).body


def test_make_it_three_changes_the_last_line_and_undo_brings_it_back() -> None:
    ctx = context()
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    three = decide(asked.state, CustomerText("make it 3"), ctx)
    assert [(line.product, line.quantity) for line in three.state.cart] == [
        ("chicken-shawarma", 2), ("pepsi", 3)]
    undone = decide(three.state, CustomerText("undo"), ctx)
    assert undone.state.cart == asked.state.cart
    assert "Total: $17.50" in summary_of(undone).body


def test_make_a_named_item_a_number() -> None:
    ctx = context(shawarma=ParseResult(lines=(ParsedLine("chicken-shawarma", 1, "regular"),)))
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    changed = decide(asked.state, CustomerText("make the shawarma five"), ctx)
    assert [(line.product, line.quantity) for line in changed.state.cart] == [
        ("chicken-shawarma", 5), ("pepsi", 1)]


def test_removing_something_not_ordered_says_so_and_changes_nothing() -> None:
    ctx = context(**{"baklava": ParseResult(unresolved=(
        Unresolved("baklava", "unavailable", ("baklava",)),))})
    asked = decide(ConversationState(), CustomerText(ORDER), ctx)
    nothing = decide(asked.state, CustomerText("remove the baklava"), ctx)
    assert nothing.state == asked.state
    assert nothing.replies[0].body == "I couldn't find “baklava” in your order."


def test_removing_the_last_item_empties_the_order_and_undo_after_cancel_restores() -> None:
    ctx = context()
    asked = decide(ConversationState(), CustomerText("2 chicken shawarma and a large pepsi"), ctx)
    cancelled = decide(asked.state, CustomerText("cancel"), ctx)
    restored = decide(cancelled.state, CustomerText("undo"), ctx)
    assert restored.state.cart == asked.state.cart
    placed = decide(restored.state, CustomerText("ok"), ctx)
    assert placed.place_order is not None
    assert decide(placed.state, CustomerText("undo"), ctx).state.cart == ()
