"""Where a confirmed order is in the kitchen: new -> preparing -> ready -> done. Pure.

The kitchen display's buttons, and external kitchen systems through the signed status callback,
move orders with the same rule: forward to any later status (a kitchen system may only ever
report "ready"), or back exactly one step (undo a mis-tap). Moving to "ready" tells the customer.

Beside the flow, an order can be **cancelled** while it is new or preparing (the kitchen ran out,
the shop closes early): its stock goes back and the customer is told. Not once it is ready or
done: the food is made, so its units cannot go back on the shelf, and the customer has already
been told it is ready (or on its way) — that is a refund for a person to sort out, not a status.
Cancelled is final, with no undo: the released units may already be sold to someone else and
the customer has been told, and neither can be taken back. Cancelling again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeGuard

from bot import texts
from bot.cancellation import REASON_LIMIT
from bot.tickets import display_number

Status = Literal["new", "preparing", "ready", "done", "cancelled"]
FLOW: tuple[Status, ...] = ("new", "preparing", "ready", "done")
CANCELLED: Status = "cancelled"
STATUSES: tuple[Status, ...] = (*FLOW, CANCELLED)
CANCELLABLE: tuple[Status, ...] = ("new", "preparing")
# Rows stored before statuses existed say "confirmed": that is an order nobody has touched.
LEGACY: dict[str, Status] = {"confirmed": "new"}
# Stored values of orders still on the kitchen's screen (done ones leave it).
OPEN_STORED: tuple[str, ...] = ("new", "preparing", "ready", *LEGACY)


class TransitionError(ValueError):
    """A change the rule refuses; the message says why, for the kitchen to read."""


@dataclass(frozen=True)
class Transition:
    before: Status
    after: Status

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def tells_customer(self) -> bool:
        """Arriving at "ready" or "cancelled" messages the customer (undo does not unsend)."""
        return self.changed and self.after in ("ready", CANCELLED)

    @property
    def cancels(self) -> bool:
        """This change cancels the order: its stock goes back."""
        return self.changed and self.after == CANCELLED


def is_status(value: object) -> TypeGuard[Status]:
    return isinstance(value, str) and value in STATUSES


def normalise(stored: str) -> Status | None:
    """The status of a stored order; None for a value no version of orderbot wrote."""
    if is_status(stored):
        return stored
    return LEGACY.get(stored)


def _known(stored: str) -> Status:
    status = normalise(stored)
    if status is None:
        raise TransitionError(f"the order is {stored}: the kitchen cannot change its status")
    return status


def _in_flow(stored: str) -> Status:
    """The order's place in the kitchen flow; a cancelled order has none."""
    status = _known(stored)
    if status == CANCELLED:
        raise TransitionError("the order is cancelled: it cannot be reopened (its stock went "
                              "back and the customer was told); they can simply order again")
    return status


def transition(current: str, target: str) -> Transition:
    """Check a change from the stored status to `target`; raises TransitionError if refused.

    Asking for the status an order already has is not an error: a double click or a retried
    callback changes nothing (and sends nothing again).
    """
    before = _known(current)
    if not is_status(target):
        raise TransitionError(f"'{target}' is not a status; use one of: {', '.join(STATUSES)}")
    if before == target:
        return Transition(before, target)
    before = _in_flow(current)
    if target == CANCELLED:
        if before not in CANCELLABLE:
            raise TransitionError(f"an order that is {before} cannot be cancelled: the food is "
                                  "made (the customer may have it already); sort it out with "
                                  "them in person")
        return Transition(before, target)
    here, there = FLOW.index(before), FLOW.index(target)
    if there < here - 1:
        raise TransitionError(f"an order that is {before} can only go back one step, to "
                              f"{FLOW[here - 1]}, not to {target}")
    return Transition(before, target)


def next_status(current: str) -> Status:
    """The bump button's target; raises TransitionError for a finished order."""
    here = FLOW.index(_in_flow(current))
    if here == len(FLOW) - 1:
        raise TransitionError("the order is already done")
    return FLOW[here + 1]


def previous_status(current: str) -> Status:
    """The undo button's target; raises TransitionError for a new (or cancelled) order."""
    here = FLOW.index(_in_flow(current))
    if here == 0:
        raise TransitionError("the order is new: there is nothing to undo")
    return FLOW[here - 1]


def ready_message(number: int, fulfillment: str, customer_name: str, shop: str) -> str:
    """What the customer reads when the kitchen marks the order ready."""
    first = customer_name.split(maxsplit=1)[0] if customer_name.strip() else ""
    key = "order_ready_delivery" if fulfillment == "delivery" else "order_ready_pickup"
    return texts.text(key, name=f", {first}" if first else "", number=display_number(number),
                      shop=shop)


def clean_reason(reason: str | None) -> str:
    """A cancellation reason as the customer will read it: one line, trimmed ("" for none).

    Raises ValueError when it is longer than REASON_LIMIT (a customer message, not a report).
    """
    text = " ".join((reason or "").split())
    if len(text) > REASON_LIMIT:
        raise ValueError(f"the reason is {len(text)} characters long; keep it within "
                         f"{REASON_LIMIT}, the customer reads it on a phone")
    return text


def cancelled_message(number: int, customer_name: str, shop: str, reason: str = "") -> str:
    """What the customer reads when the shop cancels a confirmed order (reason: clean_reason)."""
    first = customer_name.split(maxsplit=1)[0] if customer_name.strip() else ""
    values: dict[str, object] = {"name": f" {first}" if first else "",
                                 "number": display_number(number), "shop": shop}
    if reason:
        return texts.text("order_cancelled_reason", reason=reason, **values)
    return texts.text("order_cancelled", **values)
