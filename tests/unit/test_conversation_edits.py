"""Corrections and edits in a conversation: the reply a customer sees and the cart after it.

Driven through `decide` with the real order parser on the sample restaurant menu.
"""

from __future__ import annotations

from functools import cache

from bot.cart import CartLine
from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    decide,
)
from bot.replies import ButtonsReply, ListReply, Reply
from catalog.loader import load_catalog
from parsers import OrderParser
from tests.paths import RESTAURANT_CATALOG


@cache
def context() -> Context:
    catalog = load_catalog(RESTAURANT_CATALOG)
    return Context(catalog, OrderParser(catalog), "Alex Buyer")


def say(state: ConversationState, *texts: str) -> Decision:
    decision = Decision(state)
    for text in texts:
        decision = decide(decision.state, CustomerText(text), context())
    return decision


def body(reply: Reply) -> str:
    return str(getattr(reply, "body", ""))


def summary(decision: Decision) -> str:
    last = decision.replies[-1]
    assert isinstance(last, ButtonsReply) and "Total:" in last.body, decision.replies
    return last.body


def items(decision: Decision) -> list[tuple[str, int, str | None]]:
    return [(line.product, line.quantity, line.variant) for line in decision.state.cart]


START = "2 chicken shawarma, a large pepsi and fries"


def started() -> Decision:
    decision = say(ConversationState(), START)
    assert items(decision) == [("chicken-shawarma", 2, "regular"), ("pepsi", 1, "large"),
                               ("fries", 1, "regular")]
    return decision


def test_make_it_three_changes_the_last_line_only() -> None:
    before = started()
    after = say(before.state, "make it 3")
    assert after.state.cart[:2] == before.state.cart[:2]
    assert after.state.cart[2] == CartLine("fries", 3, "regular")
    assert "3 × French Fries (Regular)" in summary(after)


def test_no_large_right_after_adding_changes_that_item() -> None:
    before = say(started().state, "a pepsi")  # a small pepsi, now the last line
    after = say(before.state, "no, large")
    assert items(after)[-1] == ("pepsi", 1, "large")
    assert after.state.cart[0] == before.state.cart[0]  # the shawarma never moves
    assert "Pepsi (Large)" in summary(after)


def test_change_it_to_large_with_two_sized_lines_asks_and_a_typed_answer_works() -> None:
    base = say(ConversationState(), "a chicken shawarma and a pepsi")
    asked = say(base.state, "change it to large")
    [question] = asked.replies
    assert isinstance(question, ListReply | ButtonsReply)
    assert "Which item" in question.body
    assert asked.state.cart == base.state.cart  # nothing changes until they say which
    answered = say(asked.state, "the pepsi")
    assert items(answered) == [("chicken-shawarma", 1, "regular"), ("pepsi", 1, "large")]
    assert "1 × Pepsi (Large)" in summary(answered)


def test_which_line_can_be_tapped_and_survives_a_restart() -> None:
    base = say(ConversationState(), "a chicken shawarma and a pepsi")
    asked = say(base.state, "change it to large")
    restored = ConversationState.from_json(asked.state.to_json())
    assert restored == asked.state
    [question] = asked.replies
    assert isinstance(question, ListReply)
    tapped = decide(restored, ButtonTap(question.rows[0][0]), context())
    assert items(tapped) == [("chicken-shawarma", 1, "large"), ("pepsi", 1, "small")]


def test_remove_with_two_matching_lines_offers_all_of_them() -> None:
    base = say(ConversationState(), "a large pepsi and a chicken shawarma", "a small pepsi")
    asked = say(base.state, "remove the pepsi")
    [question] = asked.replies
    assert isinstance(question, ButtonsReply)
    assert [title for _, title in question.buttons] == [
        "Pepsi (Large)", "Pepsi (Small)", "All of them"]
    everything = decide(asked.state, ButtonTap(question.buttons[2][0]), context())
    assert items(everything) == [("chicken-shawarma", 1, "regular")]
    typed = say(asked.state, "the small one")
    assert items(typed) == [("pepsi", 1, "large"), ("chicken-shawarma", 1, "regular")]


def test_change_the_burger_to_chicken_keeps_the_quantity() -> None:
    base = say(ConversationState(), "2 cheeseburgers and a pepsi", "well done")
    changed = say(base.state, "change the burger to chicken")
    assert items(changed) == [("chicken-burger", 2, None), ("pepsi", 1, "small")]
    assert changed.state.cart[1] == base.state.cart[1]
    assert "2 × Crispy Chicken Burger" in summary(changed)


def test_change_the_burger_to_well_done_replaces_the_doneness() -> None:
    base = say(ConversationState(), "a cheeseburger and fries", "medium")
    changed = say(base.state, "change the burger to well done")
    assert changed.state.cart[0].options == (("well-done", None),)
    assert changed.state.cart[1] == base.state.cart[1]
    assert "Doneness: Well done" in summary(changed)


def test_swap_for_something_we_do_not_have_suggests_and_keeps_the_order() -> None:
    before = started()
    after = say(before.state, "swap the pepsi for a pepsy max")
    assert after.state.cart == before.state.cart
    texts = [body(reply) for reply in after.replies]
    assert any("we don't have" in text for text in texts), texts
    assert "Total:" in texts[-1]
    coke = say(before.state, "instead of the pepsi a coke")
    assert items(coke)[1] == ("coca-cola", 1, "large")  # the size carries over


def test_extra_cheese_and_no_onions_modify_the_named_line() -> None:
    before = started()
    cheese = say(before.state, "add extra cheese to the shawarma")
    assert cheese.state.cart[0].options == (("cheese", "extra"),)
    assert cheese.state.cart[1:] == before.state.cart[1:]
    assert "with extra Cheese" in summary(cheese)
    onions = say(cheese.state, "no onions on the shawarma")
    assert onions.state.cart[0].removed == ("onions",)
    assert "no Onions" in summary(onions)
    assert len(onions.state.cart) == 3  # no new line was added


def test_forgot_and_more_add_without_duplicating_lines() -> None:
    before = say(ConversationState(), "2 chicken shawarma")
    forgot = say(before.state, "I forgot the fries")
    assert items(forgot) == [("chicken-shawarma", 2, "regular"), ("fries", 1, "regular")]
    assert forgot.state.cart[1].note == ""  # "forgot" is not an instruction for the kitchen
    more = say(forgot.state, "and 2 more shawarma")
    assert items(more) == [("chicken-shawarma", 4, "regular"), ("fries", 1, "regular")]
    assert "4 × Chicken Shawarma" in summary(more)


def test_no_pepsi_removes_it_and_undo_brings_it_back() -> None:
    before = started()
    removed = say(before.state, "no pepsi")
    assert items(removed) == [("chicken-shawarma", 2, "regular"), ("fries", 1, "regular")]
    assert say(removed.state, "undo").state.cart == before.state.cart


def test_delete_the_last_one_and_take_off_the_fries() -> None:
    before = started()
    assert say(before.state, "delete the last one").state.cart == before.state.cart[:2]
    assert say(before.state, "take off the fries").state.cart == before.state.cart[:2]


def test_start_over_empties_the_order_kindly_and_undo_restores_it() -> None:
    before = started()
    cleared = say(before.state, "start over")
    assert cleared.state.cart == () and cleared.state.stage == "idle"
    [reply] = cleared.replies
    assert "start over" in body(reply) and "empty" in body(reply)
    assert say(cleared.state, "undo").state.cart == before.state.cart
    assert say(before.state, "clear the order").state.cart == ()


def test_new_orders_are_added_not_read_as_edits() -> None:
    before = started()
    more = say(before.state, "2 beef shawarma and a pepsi")
    assert items(more)[:3] == items(before)
    assert ("beef-shawarma", 2, "regular") in items(more)
    assert ("pepsi", 1, "small") in items(more)
    large = say(before.state, "large pepsi")
    assert items(large) == [("chicken-shawarma", 2, "regular"), ("pepsi", 2, "large"),
                            ("fries", 1, "regular")]


def test_a_size_question_still_takes_no_large_as_its_answer() -> None:
    asked = say(started().state, "a margherita")
    assert asked.state.stage == "asking"
    answered = say(asked.state, "no, large")
    assert ("margherita-pizza", 1, "large") in items(answered)
    assert items(answered)[:3] == items(started())


def test_make_it_large_when_nothing_comes_in_sizes_says_so() -> None:
    base = say(ConversationState(), "a falafel plate")
    after = say(base.state, "make it large")
    assert after.state.cart == base.state.cart
    assert "None of the items" in body(after.replies[0])
