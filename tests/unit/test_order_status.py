"""The kitchen status rule: forward freely, back one step, repeats change nothing."""

from __future__ import annotations

import pytest

from bot.order_status import (
    FLOW,
    TransitionError,
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


def test_an_order_outside_the_kitchen_flow_cannot_be_moved() -> None:
    assert normalise("cancelled") is None
    with pytest.raises(TransitionError, match="the order is cancelled"):
        transition("cancelled", "ready")


def test_the_ready_message_says_pickup_or_on_its_way() -> None:
    pickup = ready_message(1001, "pickup", "Alex Buyer", "Sahara Grill")
    assert "#1001" in pickup and "ready for pickup" in pickup and "Sahara Grill" in pickup
    assert "Alex" in pickup and "Buyer" not in pickup
    delivery = ready_message(1002, "delivery", "", "Sahara Grill")
    assert "#1002" in delivery and "on its way" in delivery
    assert "pickup" not in delivery and not delivery.startswith("Good news,")
