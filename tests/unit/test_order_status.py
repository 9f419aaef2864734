"""The kitchen status rule: forward freely, back one step, repeats change nothing; cancel
only before the food is made, and for good."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import texts
from bot.cancellation import REASON_LIMIT
from bot.order_status import (
    FLOW,
    TransitionError,
    cancelled_message,
    clean_reason,
    next_status,
    normalise,
    previous_status,
    ready_message,
    transition,
)


def test_the_bump_button_walks_an_order_through_the_kitchen() -> None:
    status = "new"
    seen = [status]
    while status != "done":
        step = transition(status, next_status(status))
        assert step.changed
        status = step.after
        seen.append(status)
    assert seen == list(FLOW)
    with pytest.raises(TransitionError, match="already done"):
        next_status("done")


def test_only_arriving_at_ready_tells_the_customer() -> None:
    assert transition("preparing", "ready").tells_customer
    assert transition("new", "ready").tells_customer  # a kitchen system may skip "preparing"
    assert not transition("new", "preparing").tells_customer
    assert not transition("ready", "done").tells_customer


def test_undo_goes_back_exactly_one_step() -> None:
    assert previous_status("done") == "ready"
    assert previous_status("ready") == "preparing"
    step = transition("ready", "preparing")
    assert step.changed and not step.tells_customer
    with pytest.raises(TransitionError, match="nothing to undo"):
        previous_status("new")


def test_undoing_done_back_to_ready_is_a_change_to_ready() -> None:
    # It arrives at "ready" again; that the customer hears it only once is the service's job
    # (one outbox key per order), tested end to end.
    step = transition("done", "ready")
    assert (step.before, step.after, step.changed, step.tells_customer) == (
        "done", "ready", True, True)


def test_going_back_more_than_one_step_is_refused_with_the_reason() -> None:
    with pytest.raises(TransitionError) as refused:
        transition("done", "new")
    assert "only go back one step" in str(refused.value)
    assert "to ready" in str(refused.value)  # says what *is* possible
    with pytest.raises(TransitionError):
        transition("ready", "new")


def test_an_unknown_status_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(TransitionError) as refused:
        transition("new", "cooking")
    assert "'cooking' is not a status" in str(refused.value)
    assert "new, preparing, ready, done" in str(refused.value)


def test_asking_for_the_current_status_changes_nothing_and_tells_nobody() -> None:
    step = transition("ready", "ready")
    assert not step.changed and not step.tells_customer


def test_orders_stored_before_statuses_existed_read_as_new() -> None:
    assert normalise("confirmed") == "new"
    assert transition("confirmed", "preparing").before == "new"
    assert next_status("confirmed") == "preparing"


def test_a_status_no_version_wrote_cannot_be_moved() -> None:
    assert normalise("lost") is None
    with pytest.raises(TransitionError, match="the order is lost"):
        transition("lost", "ready")


# --- cancelling ---

@pytest.mark.parametrize("current", ["new", "preparing", "confirmed"])
def test_an_order_not_yet_made_can_be_cancelled_and_the_customer_is_told(current: str) -> None:
    step = transition(current, "cancelled")
    assert step.changed and step.cancels and step.tells_customer
    assert step.after == "cancelled"
    assert step.before == normalise(current)


@pytest.mark.parametrize("current", ["ready", "done"])
def test_once_the_food_is_made_it_cannot_be_cancelled(current: str) -> None:
    with pytest.raises(TransitionError) as refused:
        transition(current, "cancelled")
    assert f"an order that is {current} cannot be cancelled" in str(refused.value)
    assert "the food is made" in str(refused.value)  # says why


def test_cancelling_twice_is_no_change_and_tells_nobody_again() -> None:
    step = transition("cancelled", "cancelled")
    assert not step.changed and not step.cancels and not step.tells_customer


@pytest.mark.parametrize("target", ["new", "preparing", "ready", "done"])
def test_a_cancelled_order_is_final(target: str) -> None:
    with pytest.raises(TransitionError, match="cannot be reopened"):
        transition("cancelled", target)
    with pytest.raises(TransitionError, match="cancelled"):
        previous_status("cancelled")  # no undo button either
    with pytest.raises(TransitionError, match="cancelled"):
        next_status("cancelled")


def test_cancelled_is_named_among_the_statuses() -> None:
    assert normalise("cancelled") == "cancelled"
    with pytest.raises(TransitionError, match="done, cancelled"):
        transition("new", "binned")


def test_a_reason_is_trimmed_to_one_line_and_kept_short() -> None:
    assert clean_reason("  we ran out\n\n of  falafel  ") == "we ran out of falafel"
    assert clean_reason(None) == "" and clean_reason("   ") == ""
    assert clean_reason("x" * REASON_LIMIT) == "x" * REASON_LIMIT
    with pytest.raises(ValueError, match=f"within {REASON_LIMIT}"):
        clean_reason("x" * (REASON_LIMIT + 1))


def test_the_cancel_message_names_the_order_and_the_reason_if_given() -> None:
    plain = cancelled_message(1001, "Alex Buyer", "Sahara Grill")
    assert plain.startswith("Sorry Alex, Sahara Grill had to cancel your order #1001.")
    assert "Buyer" not in plain and "Reason" not in plain
    reasoned = cancelled_message(1002, "", "Sahara Grill", "we ran out of falafel")
    assert reasoned.startswith("Sorry, Sahara Grill had to cancel your order #1002.")
    assert "Reason: we ran out of falafel" in reasoned
    assert len(reasoned) <= 4096


def test_a_shop_can_reword_the_cancel_message(tmp_path: Path) -> None:
    mine = tmp_path / "texts.yaml"
    mine.write_text('order_cancelled_reason: "Order {number} is off ({reason})."\n',
                    encoding="utf-8")
    texts.load_overrides(mine)
    try:
        assert cancelled_message(7, "Alex", "Shop", "no gas") == "Order #7 is off (no gas)."
    finally:
        texts.reset()


def test_the_ready_message_says_pickup_or_on_its_way() -> None:
    pickup = ready_message(1001, "pickup", "Alex Buyer", "Sahara Grill")
    assert "#1001" in pickup and "ready for pickup" in pickup and "Sahara Grill" in pickup
    assert "Alex" in pickup and "Buyer" not in pickup
    delivery = ready_message(1002, "delivery", "", "Sahara Grill")
    assert "#1002" in delivery and "on its way" in delivery
    assert "pickup" not in delivery and not delivery.startswith("Good news,")
