"""Where a confirmed order is in the kitchen: new -> preparing -> ready -> done. Pure.

The kitchen display's buttons, and external kitchen systems through the signed status callback,
move orders with the same rule: forward to any later status (a kitchen system may only ever
report "ready"), or back exactly one step (undo a mis-tap). Moving to "ready" is the one change
the customer hears about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeGuard

from bot import texts
from bot.tickets import display_number

Status = Literal["new", "preparing", "ready", "done"]
FLOW: tuple[Status, ...] = ("new", "preparing", "ready", "done")
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
        """Only arriving at "ready" messages the customer (undoing it does not unsend)."""
        return self.changed and self.after == "ready"


def is_status(value: object) -> TypeGuard[Status]:
    return isinstance(value, str) and value in FLOW


def normalise(stored: str) -> Status | None:
    """The kitchen status of a stored order; None for one outside this flow (e.g. cancelled)."""
    if is_status(stored):
        return stored
    return LEGACY.get(stored)


def _known(stored: str) -> Status:
    status = normalise(stored)
    if status is None:
        raise TransitionError(f"the order is {stored}: the kitchen cannot change its status")
    return status


def transition(current: str, target: str) -> Transition:
    """Check a change from the stored status to `target`; raises TransitionError if refused.

    Asking for the status an order already has is not an error: a double click or a retried
    callback changes nothing (and sends nothing again).
    """
    before = _known(current)
    if not is_status(target):
        raise TransitionError(f"'{target}' is not a status; use one of: {', '.join(FLOW)}")
    here, there = FLOW.index(before), FLOW.index(target)
    if there < here - 1:
        raise TransitionError(f"an order that is {before} can only go back one step, to "
                              f"{FLOW[here - 1]}, not to {target}")
    return Transition(before, target)


def next_status(current: str) -> Status:
    """The bump button's target; raises TransitionError for a finished order."""
    here = FLOW.index(_known(current))
    if here == len(FLOW) - 1:
        raise TransitionError("the order is already done")
    return FLOW[here + 1]


def previous_status(current: str) -> Status:
    """The undo button's target; raises TransitionError for a new order."""
    here = FLOW.index(_known(current))
    if here == 0:
        raise TransitionError("the order is new: there is nothing to undo")
    return FLOW[here - 1]


def ready_message(number: int, fulfillment: str, customer_name: str, shop: str) -> str:
    """What the customer reads when the kitchen marks the order ready."""
    first = customer_name.split(maxsplit=1)[0] if customer_name.strip() else ""
    key = "order_ready_delivery" if fulfillment == "delivery" else "order_ready_pickup"
    return texts.text(key, name=f", {first}" if first else "", number=display_number(number),
                      shop=shop)
