"""Checkout in the conversation: after the items are confirmed, how the order reaches the
customer (pickup or delivery, an address or a location pin), then placing it. Pure.

What the customer types is read by bot.checkout; this module decides what each reply does to the
conversation. A note for the order and a typed answer to "shall I make it 6?" are taken here too,
before a message is read as an order.
"""

from __future__ import annotations

from dataclasses import replace

from bot import texts
from bot.checkout import (
    pin_address,
    read_address,
    read_fulfilment,
    read_note,
    read_numbered_mode,
    stock_answer,
)
from bot.conversation_model import Context, ConversationState, Decision, LocationPin
from bot.conversation_steps import (
    advance,
    answer,
    checkout_prompt,
    has_address,
    next_step,
    place,
    refusal,
    repeat,
)
from bot.edits import SetQuantity, read_edit
from bot.phrases import GREETING, YES
from bot.replies import TextReply


def confirm(state: ConversationState, ctx: Context) -> Decision:
    if state.stage == "checkout" and state.cart:
        return Decision(state, (checkout_prompt(state),))  # a second tap: still waiting
    if state.stage != "confirming" or not state.cart:
        if state.asking is not None:
            return Decision(state, (next_step(state, ctx),))
        return Decision(state, (TextReply(texts.text("nothing_to_confirm")),))
    refused = refusal(state, ctx)
    if refused is not None:
        return refused
    modes = ctx.catalog.shop.fulfillment
    fulfilment = (state.fulfilment if state.fulfilment in modes
                  else modes[0] if len(modes) == 1 else None)
    if fulfilment is None or (fulfilment == "delivery" and not has_address(state)):
        checkout = replace(state, stage="checkout", fulfilment=fulfilment)
        return Decision(checkout, (checkout_prompt(checkout),))
    return place(replace(state, fulfilment=fulfilment), ctx)


def checkout_text(
    state: ConversationState, raw: str, phrase: str, ctx: Context
) -> Decision | None:
    """Notes, answers to a stock question and checkout replies; None: not one of those."""
    note = read_note(raw)
    if note is not None:
        noted = replace(state, note=note)
        return Decision(noted, (TextReply(texts.text("note_added", note=note)),
                                *repeat(noted, ctx)))
    if state.asking is not None and state.asking.kind == "stock":
        return _stock_reply(state, raw, phrase, ctx)
    if state.stage != "checkout" or not state.cart:
        return None
    words = phrase.split()
    mode = read_fulfilment(words) if len(words) <= 4 else None  # an address may say "collect"
    if mode is None and state.fulfilment is None:
        mode = read_numbered_mode(raw)  # "1" / "second": the buttons' order, Pickup first
    if mode is not None and mode in ctx.catalog.shop.fulfillment and mode != state.fulfilment:
        return choose_fulfilment(state, mode, ctx)
    if mode is not None or phrase in YES:
        return Decision(state, (checkout_prompt(state),))  # nothing new: ask again
    if phrase in GREETING or read_edit(raw) is not None:
        return None  # "make it 3" at checkout: change the items, then confirm again
    if state.fulfilment != "delivery":
        return None  # not an answer to "pickup or delivery?": read it as an order
    address = read_address(raw)
    if address is None:
        return Decision(state, (TextReply(texts.text("address_too_short")),))
    return place(replace(state, address=address, location=None), ctx)


def _stock_reply(
    state: ConversationState, raw: str, phrase: str, ctx: Context
) -> Decision | None:
    """"yes" / "no" / "make it 4" to "we only have 6 left — shall I make it 6?"."""
    assert state.asking is not None
    choice = stock_answer(phrase)
    if choice is not None:
        return answer(state, choice, ctx)
    edit = read_edit(raw)
    if isinstance(edit, SetQuantity) and not edit.what:
        # "make it 4": the line asked about, not the last one touched.
        lines = list(state.cart)
        lines[state.asking.index] = replace(lines[state.asking.index], quantity=edit.quantity)
        return advance(replace(state, cart=tuple(lines), revision=state.revision + 1), ctx, ())
    return None


def choose_fulfilment(state: ConversationState, mode: str, ctx: Context) -> Decision:
    if state.stage != "checkout" or mode not in ctx.catalog.shop.fulfillment:
        return Decision(state, (TextReply(texts.text("stale_summary")), next_step(state, ctx)))
    chosen = replace(state, fulfilment="delivery" if mode == "delivery" else "pickup")
    if chosen.fulfilment == "delivery" and not has_address(chosen):
        return Decision(chosen, (checkout_prompt(chosen),))
    return place(chosen, ctx)


def on_pin(state: ConversationState, pin: LocationPin, ctx: Context) -> Decision:
    delivers = "delivery" in ctx.catalog.shop.fulfillment
    if state.stage == "checkout" and state.cart and delivers and state.fulfilment != "pickup":
        located = replace(state, fulfilment="delivery", location=(pin.latitude, pin.longitude),
                          address=pin_address(pin.name, pin.address))
        return place(located, ctx)
    thanks = texts.text("pin_out_of_context" if delivers else "pin_no_delivery")
    return Decision(state, (TextReply(thanks), *repeat(state, ctx)))
