"""The conversation as a pure state machine: (state, customer event) -> (new state, replies, order).

No I/O here: the caller loads the state, calls `decide`, then stores the state, sends the
replies and places the order in one transaction (bot.processing).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

from bot import menu, shop_rules, texts
from bot.cart import CartLine, PricedCart, add_lines, price_cart
from bot.checkout import (
    OrderDetails,
    pin_address,
    read_address,
    read_fulfilment,
    read_note,
    stock_answer,
)
from bot.clarify import (
    PendingChoice,
    Question,
    apply_answer,
    ask,
    match_answer,
    next_question,
    which_line,
)
from bot.conversation_model import (  # the engine's values, importable from here too
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    Event,
    HandoffRelease,
    LocationPin,
    NativeCart,
    NativeCartItem,
    OtherMessage,
    Stage,
    TextParser,
    TimerFired,
)
from bot.edits import (
    AddItems,
    AskWhich,
    ClearCart,
    NothingFits,
    NotInOrder,
    Outcome,
    SetQuantity,
    Undo,
    UnknownItem,
    plan_edit,
    read_edit,
)
from bot.handoff import owner_alert, wants_person
from bot.native_cart import basket_notes, order_note, read_basket
from bot.replies import ButtonsReply, ListReply, Reply, TextReply
from catalog.catalog import Catalog
from catalog.models import FulfillmentMode
from parsers.models import ParseResult, Unresolved

# The engine's values live in bot.conversation_model; callers may take them from here.
__all__ = ["EXAMPLE_ORDER", "ButtonTap", "Context", "ConversationState", "CustomerText",
           "Decision", "Event", "HandoffRelease", "LocationPin", "NativeCart", "NativeCartItem",
           "OtherMessage", "Stage", "TextParser", "TimerFired", "decide", "summary_lines"]

EXAMPLE_ORDER = "2 chicken shawarma and a large pepsi"

_WORDS = re.compile(r"[a-z']+")
_YES = {"yes", "y", "yep", "yeah", "yup", "ok", "okay", "confirm", "confirmed", "sure", "correct",
        "place it", "go ahead", "sounds good", "perfect", "done"}
# "start over" / "clear the order" are edits (bot.edits.ClearCart): they empty the cart too.
_CANCEL = {"cancel", "cancel it", "cancel order", "cancel my order", "stop",
           "nevermind", "never mind", "forget it"}
_POLITE = {"please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "sir", "bro", "mate"}
_GREETING = {"hi", "hello", "hey", "hola", "salam", "salaam", "good morning", "good evening",
             "menu", "the menu", "show menu", "show me the menu", "start", "help",
             "what do you have"}



def decide(state: ConversationState, event: Event, ctx: Context) -> Decision:
    return _tracked(state, _decide_turn(state, event, ctx))


# Clarifying questions by kind, as the metrics name them (bot.clarify.QuestionKind).
_CLARIFY_KINDS = {"variant": "variant", "option": "option", "product": "ambiguous",
                  "stock": "stock", "line": "which_line"}


def _tracked(before: ConversationState, decision: Decision) -> Decision:
    """Remember whether a person helped with the open order, and tag a newly asked question."""
    new = decision.state
    # Set while handed off; kept until the order is placed or dropped, when the cart empties.
    assisted = new.handoff or (new.assisted and bool(new.cart or new.pending))
    outcomes = decision.outcomes
    if new.asking is not None and new.asking != before.asking:
        outcomes = (*outcomes, f"clarify:{_CLARIFY_KINDS[new.asking.kind]}")
    if assisted == new.assisted and outcomes == decision.outcomes:
        return decision
    return replace(decision, state=replace(new, assisted=assisted), outcomes=outcomes)


def _decide_turn(state: ConversationState, event: Event, ctx: Context) -> Decision:
    if isinstance(event, TimerFired | HandoffRelease):
        return _decide(state, event, ctx)  # no undo step: an expired cart is gone for good
    if state.handoff:
        return Decision(state)  # a person is answering: the bot stays quiet (message is stored)
    decision = _menu_kept(state, _decide(state, event, ctx))
    if decision.state.reminded:  # they wrote again: an idle cart later earns a fresh reminder
        decision = replace(decision, state=replace(decision.state, reminded=False))
    new = decision.state
    if decision.place_order is not None:
        return replace(decision, state=replace(new, undo=None))  # a placed order is final
    if new.cart != state.cart and new.undo is state.undo:
        # Remember the cart as it was, so "undo" can bring it back (one step).
        return replace(decision, state=replace(new, undo=state.cart))
    return decision


def _decide(state: ConversationState, event: Event, ctx: Context) -> Decision:
    if isinstance(event, ButtonTap):
        return _on_button(state, event.button_id, ctx)
    if isinstance(event, CustomerText):
        return _on_text(state, event.text, ctx)
    if isinstance(event, TimerFired):
        return _on_timer(state, event.kind, ctx)
    if isinstance(event, HandoffRelease):
        return _release(state, ctx)
    if isinstance(event, LocationPin):
        return _on_pin(state, event, ctx)
    if isinstance(event, NativeCart):
        # A WhatsApp cart is the customer's whole basket: it replaces a typed one.
        basket = read_basket(event.items, ctx.catalog, ctx.stock)
        note = basket_notes(basket, had_order=bool(state.cart or state.pending),
                            example=EXAMPLE_ORDER)
        notes: tuple[Reply, ...] = (TextReply(note),) if note else ()
        if not basket.lines:  # nothing we can sell: keep what they had
            return Decision(state, (*notes, *_repeat(state, ctx)))
        return _advance(replace(state, cart=basket.lines, pending=(), asking=None,
                                note=order_note(event.text, state.note),
                                revision=state.revision + 1),
                        ctx, notes)
    return _on_other(state, event.kind, ctx)  # media, stickers, reactions, unknown types


# What we say about each kind of message we cannot read as an order (texts.yaml keys).
_OTHER_TEXTS = {"audio": "media_voice", "voice": "media_voice", "image": "media_image",
                "video": "media_video", "document": "media_document",
                "sticker": "media_sticker", "contacts": "media_contacts",
                "reaction": "media_reaction"}
# Not something the customer said to us: "changed their number" notices and the like.
_SILENT_KINDS = {"system", "ephemeral"}


def _on_other(state: ConversationState, kind: str, ctx: Context) -> Decision:
    open_order = bool(state.cart or state.pending)
    if kind in _SILENT_KINDS or (kind == "reaction" and not open_order):
        return Decision(state)  # a 👍 on "order confirmed" needs no answer
    if kind == "request_welcome":  # the customer opened the chat for the first time
        return Decision(state, (_welcome(ctx),))
    sorry = texts.text(_OTHER_TEXTS.get(kind, "media_unknown"))
    if open_order:
        nudge = "" if kind == "reaction" else "\n" + texts.text("media_where_we_were")
        return Decision(state, (TextReply(sorry + nudge), *_repeat(state, ctx)))
    return Decision(state, (TextReply(
        sorry + "\n" + texts.text("media_type_order", example=EXAMPLE_ORDER)),))


def _on_timer(
    state: ConversationState, kind: Literal["reminder", "expiry", "handoff_timeout"],
    ctx: Context,
) -> Decision:
    if kind == "handoff_timeout":
        return _release(state, ctx)
    if state.handoff or not (state.cart or state.pending):
        return Decision(state)  # nothing left to remind about or to clear
    if kind == "reminder":
        if state.reminded:
            return Decision(state)
        return Decision(replace(state, reminded=True),
                        (TextReply(texts.text("reminder")), *_repeat(state, ctx)))
    return Decision(ConversationState(revision=state.revision + 1),
                    (TextReply(texts.text("cart_expired")),))


def _start_handoff(state: ConversationState, wrote: str, ctx: Context) -> Decision:
    order: list[str] = []
    total = ""
    if state.cart:
        priced = price_cart(state.cart, ctx.catalog)
        order, total = summary_lines(priced, ctx.catalog), ctx.catalog.format_money(priced.total)
    alert = owner_alert(ctx.customer_name, ctx.customer, wrote, order, total)
    return Decision(replace(state, handoff=True, assisted=True),
                    (TextReply(texts.text("handoff_started", shop=ctx.catalog.shop.name)),),
                    alerts=(alert,))


def _release(state: ConversationState, ctx: Context) -> Decision:
    if not state.handoff:
        return Decision(state)
    back = replace(state, handoff=False)
    return Decision(back, (TextReply(texts.text("handoff_released", shop=ctx.catalog.shop.name)),
                           *_repeat(back, ctx)))


def _typed_order_hint(state: ConversationState) -> Decision:
    return Decision(state, (TextReply(texts.text("media_not_supported", example=EXAMPLE_ORDER)),))


def _on_button(state: ConversationState, button_id: str, ctx: Context) -> Decision:
    if button_id.startswith(menu.PREFIX):
        return _on_menu_tap(state, button_id, ctx)
    action, _, rest = button_id.partition(":")
    revision, _, choice = rest.partition(":")
    if action not in ("confirm", "cancel", "ans", "edit", "ful"):
        return _on_text(state, button_id, ctx)
    if revision != str(state.revision) and (state.cart or state.pending):
        return Decision(state, (TextReply(texts.text("stale_summary")), _next_step(state, ctx)))
    if action == "ans":
        return _answer(state, choice, ctx)
    if action == "edit":
        return _edit_help(state, ctx)
    if action == "ful":
        return _choose_fulfilment(state, choice, ctx)
    return _confirm(state, ctx) if action == "confirm" else _cancel(state)


def _on_text(state: ConversationState, raw: str, ctx: Context) -> Decision:
    if wants_person(raw):
        return _start_handoff(state, raw, ctx)
    phrase = " ".join(w for w in _WORDS.findall(raw.lower()) if w not in _POLITE)
    if phrase in _YES and state.stage == "confirming":
        return _confirm(state, ctx)
    if state.stage == "idle" and not state.cart and not state.pending and (
        phrase in _YES or (not phrase and _WORDS.search(raw.lower()))
    ):
        # "ok" / "thanks" after an order (or out of the blue): acknowledge, don't lecture.
        return Decision(state, (TextReply(texts.text("acknowledged")),))
    if phrase in _CANCEL:
        return _cancel(state)
    checkout = _checkout_text(state, raw, phrase, ctx)
    if checkout is not None:
        return checkout
    if phrase in _GREETING or phrase in menu.ASK_WORDS:
        intro = None if phrase in menu.ASK_WORDS else _welcome_text(ctx)
        return _browse(state, ctx, menu.ShowCategories(), intro=intro)
    if state.browse:  # the menu is the latest list: "3", "more", "drinks" pick from it
        picked = _typed_pick(state, raw, ctx)
        if picked is not None:
            return picked
    if state.asking is not None:
        choice = match_answer(state.asking, raw, ctx.catalog)
        if choice is not None:
            return _answer(state, choice, ctx)
    edit = plan_edit(raw, state.cart, ctx.catalog, ctx.parser, bare_words=state.asking is None)
    if isinstance(edit, AddItems):
        raw = edit.text  # "I forgot the fries", "2 more falafel": an order in edit words
    elif edit is not None:
        return _edit(state, raw, edit, ctx)
    parsed = ctx.parser.parse(raw)
    return _tagged(_read_order(state, raw, phrase, parsed, ctx), f"parse:{_parse_outcome(parsed)}")


def _parse_outcome(parsed: ParseResult) -> str:
    """understood | partial | unknown_item | unavailable | nothing, for the metrics.

    A missing size or an ambiguous name is understood: the question that follows is counted as
    a clarification."""
    read = bool(parsed.lines) or any(u.reason == "ambiguous" and u.candidates
                                     for u in parsed.unresolved)
    problems = [u.reason for u in parsed.unresolved
                if u.reason not in ("missing_variant", "ambiguous")]
    if read:
        return "partial" if problems else "understood"
    if problems:
        return "unavailable" if all(p == "unavailable" for p in problems) else "unknown_item"
    return "nothing"


def _tagged(decision: Decision, *outcomes: str) -> Decision:
    return replace(decision, outcomes=(*decision.outcomes, *outcomes))


def _read_order(
    state: ConversationState, raw: str, phrase: str, parsed: ParseResult, ctx: Context
) -> Decision:
    """A message read as (part of) an order: add what was understood, say what was not."""
    # A product whose size was not given comes as a line *and* a missing_variant note: the line
    # joins the cart and the question about it is asked below, so the note needs no text.
    notes = tuple(TextReply(_explain(u, ctx)) for u in parsed.unresolved
                  if u.reason not in ("missing_variant", "ambiguous"))
    ambiguous = tuple(PendingChoice.from_mention(u.text, u.candidates)
                      for u in parsed.unresolved if u.reason == "ambiguous" and u.candidates)
    if parsed.lines or ambiguous:
        cart = add_lines(state.cart, [CartLine.from_parsed(line) for line in parsed.lines])
        changed = replace(state, cart=cart, pending=state.pending + ambiguous,
                          revision=state.revision + 1)
        return _advance(changed, ctx, notes)
    if notes:
        return Decision(state, (*notes, *_repeat(state, ctx)))
    if state.asking is not None:
        return Decision(state, (TextReply(texts.text("ask_again")), _next_step(state, ctx)))
    if not state.cart:
        return (_browse(state, ctx, menu.ShowCategories(), intro=_welcome_text(ctx))
                if not phrase else Decision(state, (_not_understood(),)))
    if state.stage == "checkout":
        return Decision(state, (TextReply(texts.text("checkout_not_understood")),
                                _next_step(state, ctx)))
    return Decision(state, (_not_understood(), _next_step(state, ctx)))


def _edit(state: ConversationState, raw: str, edit: Outcome, ctx: Context) -> Decision:
    if isinstance(edit, Undo):
        if state.undo is None:
            return Decision(state, (TextReply(texts.text("nothing_to_undo")), *_repeat(state, ctx)))
        restored = replace(state, cart=state.undo, undo=None, revision=state.revision + 1)
        return _advance(restored, ctx, ())
    if isinstance(edit, ClearCart):
        emptied = replace(state, stage="idle", cart=(), pending=(), asking=None, fulfilment=None,
                          address="", location=None, note="", revision=state.revision + 1)
        return Decision(emptied, (TextReply(texts.text("started_over", example=EXAMPLE_ORDER)),))
    if isinstance(edit, NotInOrder):
        return _not_in_order(state, edit.what, ctx)
    if isinstance(edit, NothingFits):
        return Decision(state, (TextReply(texts.text("edit_nothing_fits", text=edit.what)),
                                *_repeat(state, ctx)))
    if isinstance(edit, UnknownItem):
        return Decision(state, (TextReply(_explain(edit.unresolved, ctx)), *_repeat(state, ctx)),
                        outcomes=("parse:unknown_item",))
    if isinstance(edit, AskWhich):
        question = which_line(state.cart, edit.lines, edit.change, raw.strip(), ctx.catalog)
        asking = replace(state, stage="asking", asking=question, revision=state.revision + 1)
        return Decision(asking, (ask(question, asking.revision, ctx.catalog),))
    if isinstance(edit, AddItems):  # read as an order by the caller; never reaches here
        return Decision(state, _repeat(state, ctx))
    changed = replace(state, cart=edit.cart, revision=state.revision + 1)
    if not edit.cart and not state.pending:
        return Decision(replace(changed, stage="idle", asking=None),
                        (TextReply(texts.text("order_empty")),))
    return _advance(changed, ctx, ())


def _not_in_order(state: ConversationState, what: str, ctx: Context) -> Decision:
    return Decision(state, (TextReply(texts.text("not_in_order", text=what)),
                            *_repeat(state, ctx)))


def _answer(state: ConversationState, choice: str, ctx: Context) -> Decision:
    if state.asking is None or choice not in {cid for cid, _ in state.asking.choices}:
        return Decision(state, (TextReply(texts.text("stale_summary")), _next_step(state, ctx)))
    cart, pending = apply_answer(state.cart, state.pending, state.asking, choice, ctx.catalog)
    return _advance(replace(state, cart=add_lines((), list(cart)), pending=pending,
                            revision=state.revision + 1), ctx, ())


def _advance(state: ConversationState, ctx: Context, notes: tuple[Reply, ...]) -> Decision:
    """Ask the next missing thing, or show the summary when nothing is missing."""
    state, sold_out = _drop_sold_out(state, ctx)
    notes = (*notes, *sold_out)
    question = (next_question(state.cart, state.pending, ctx.catalog)
                or _stock_question(state.cart, ctx))
    if question is not None:
        asking = replace(state, stage="asking", asking=question)
        return Decision(asking, (*notes, ask(question, asking.revision, ctx.catalog)))
    if not state.cart:
        return Decision(replace(state, stage="idle", asking=None),
                        notes or (TextReply(texts.text("order_empty")),))
    ready = replace(state, stage="confirming", asking=None)
    return Decision(ready, (*notes, _summary(ready, ctx)))


def _next_step(state: ConversationState, ctx: Context) -> Reply:
    if state.asking is not None:
        return ask(state.asking, state.revision, ctx.catalog)
    if state.stage == "checkout":
        return _checkout_prompt(state)
    return _summary(state, ctx)


def _repeat(state: ConversationState, ctx: Context) -> tuple[Reply, ...]:
    """After a side remark, show again what we are waiting for, if anything."""
    return (_next_step(state, ctx),) if state.cart or state.asking else ()


def _confirm(state: ConversationState, ctx: Context) -> Decision:
    if state.stage == "checkout" and state.cart:
        return Decision(state, (_checkout_prompt(state),))  # a second tap: still waiting
    if state.stage != "confirming" or not state.cart:
        if state.asking is not None:
            return Decision(state, (_next_step(state, ctx),))
        return Decision(state, (TextReply(texts.text("nothing_to_confirm")),))
    refused = _refusal(state, ctx)
    if refused is not None:
        return refused
    modes = ctx.catalog.shop.fulfillment
    fulfilment = (state.fulfilment if state.fulfilment in modes
                  else modes[0] if len(modes) == 1 else None)
    if fulfilment is None or (fulfilment == "delivery" and not _has_address(state)):
        checkout = replace(state, stage="checkout", fulfilment=fulfilment)
        return Decision(checkout, (_checkout_prompt(checkout),))
    return _place(replace(state, fulfilment=fulfilment), ctx)


# Checkout: after the items are confirmed, how the order reaches the customer, then placing it.

def _checkout_text(
    state: ConversationState, raw: str, phrase: str, ctx: Context
) -> Decision | None:
    """Notes, answers to a stock question and checkout replies; None: not one of those."""
    note = read_note(raw)
    if note is not None:
        noted = replace(state, note=note)
        return Decision(noted, (TextReply(texts.text("note_added", note=note)),
                                *_repeat(noted, ctx)))
    if state.asking is not None and state.asking.kind == "stock":
        return _stock_reply(state, raw, phrase, ctx)
    if state.stage != "checkout" or not state.cart:
        return None
    words = phrase.split()
    mode = read_fulfilment(words) if len(words) <= 4 else None  # an address may say "collect"
    if mode is None and state.fulfilment is None:
        mode = _numbered_mode(raw)  # "1" / "second": the buttons' order, Pickup first
    if mode is not None and mode in ctx.catalog.shop.fulfillment and mode != state.fulfilment:
        return _choose_fulfilment(state, mode, ctx)
    if mode is not None or phrase in _YES:
        return Decision(state, (_checkout_prompt(state),))  # nothing new: ask again
    if phrase in _GREETING or read_edit(raw) is not None:
        return None  # "make it 3" at checkout: change the items, then confirm again
    if state.fulfilment != "delivery":
        return None  # not an answer to "pickup or delivery?": read it as an order
    address = read_address(raw)
    if address is None:
        return Decision(state, (TextReply(texts.text("address_too_short")),))
    return _place(replace(state, address=address, location=None), ctx)


_FIRST = {"1", "one", "first", "1st", "the first", "the first one"}
_SECOND = {"2", "two", "second", "2nd", "the second", "the second one"}


def _numbered_mode(raw: str) -> FulfillmentMode | None:
    said = " ".join(raw.lower().replace(".", " ").replace(")", " ").split())
    return "pickup" if said in _FIRST else "delivery" if said in _SECOND else None


def _stock_reply(
    state: ConversationState, raw: str, phrase: str, ctx: Context
) -> Decision | None:
    """"yes" / "no" / "make it 4" to "we only have 6 left — shall I make it 6?"."""
    assert state.asking is not None
    answer = stock_answer(phrase)
    if answer is not None:
        return _answer(state, answer, ctx)
    edit = read_edit(raw)
    if isinstance(edit, SetQuantity) and not edit.what:
        # "make it 4": the line asked about, not the last one touched.
        lines = list(state.cart)
        lines[state.asking.index] = replace(lines[state.asking.index], quantity=edit.quantity)
        return _advance(replace(state, cart=tuple(lines), revision=state.revision + 1), ctx, ())
    return None


def _choose_fulfilment(state: ConversationState, mode: str, ctx: Context) -> Decision:
    if state.stage != "checkout" or mode not in ctx.catalog.shop.fulfillment:
        return Decision(state, (TextReply(texts.text("stale_summary")), _next_step(state, ctx)))
    chosen = replace(state, fulfilment="delivery" if mode == "delivery" else "pickup")
    if chosen.fulfilment == "delivery" and not _has_address(chosen):
        return Decision(chosen, (_checkout_prompt(chosen),))
    return _place(chosen, ctx)


def _checkout_prompt(state: ConversationState) -> Reply:
    if state.fulfilment is None:
        return ButtonsReply(body=texts.text("ask_fulfilment"), buttons=(
            (f"ful:{state.revision}:pickup", texts.text("button_pickup")),
            (f"ful:{state.revision}:delivery", texts.text("button_delivery")),
        ))
    return TextReply(texts.text("ask_address"))


def _on_pin(state: ConversationState, pin: LocationPin, ctx: Context) -> Decision:
    delivers = "delivery" in ctx.catalog.shop.fulfillment
    if state.stage == "checkout" and state.cart and delivers and state.fulfilment != "pickup":
        located = replace(state, fulfilment="delivery", location=(pin.latitude, pin.longitude),
                          address=pin_address(pin.name, pin.address))
        return _place(located, ctx)
    thanks = texts.text("pin_out_of_context" if delivers else "pin_no_delivery")
    return Decision(state, (TextReply(thanks), *_repeat(state, ctx)))


def _has_address(state: ConversationState) -> bool:
    return bool(state.address or state.location)


def _edit_help(state: ConversationState, ctx: Context) -> Decision:
    if not state.cart:
        return Decision(state, (TextReply(texts.text("nothing_to_confirm")),))
    priced = price_cart(state.cart, ctx.catalog)
    lines = [*summary_lines(priced, ctx.catalog),
             texts.text("summary_total", total=ctx.catalog.format_money(priced.total))]
    # The order stays open; a change typed next brings a fresh summary with its own buttons.
    opened = replace(state, stage="confirming") if state.stage == "checkout" else state
    return Decision(opened, (TextReply(texts.text("edit_help", lines="\n".join(lines))),))


def _refusal(state: ConversationState, ctx: Context) -> Decision | None:
    """Why this order cannot be placed now (closed, stock, minimum); None when it can."""
    shop = ctx.catalog.shop
    closed = shop_rules.refusal_when_closed(shop, ctx.now)
    if closed is not None:
        return Decision(state, (TextReply(closed),))
    cleaned, sold_out = _drop_sold_out(state, ctx)
    if sold_out or _stock_question(cleaned.cart, ctx) is not None:
        return _advance(state, ctx, ())  # stock ran low since the summary: say so, ask again
    total = price_cart(state.cart, ctx.catalog).total
    missing = shop_rules.minimum_shortfall(shop, total)
    if missing is not None:
        assert shop.minimum_order is not None
        return Decision(state, (TextReply(texts.text(
            "minimum_not_met", minimum=ctx.catalog.format_money(shop.minimum_order),
            missing=ctx.catalog.format_money(missing))),))
    return None


def _place(state: ConversationState, ctx: Context) -> Decision:
    refused = _refusal(state, ctx)
    if refused is not None:
        return refused
    shop = ctx.catalog.shop
    details = OrderDetails(
        fulfilment="delivery" if state.fulfilment == "delivery" else "pickup",
        address=state.address, location=state.location, note=state.note,
        prepare_at=shop_rules.preorder_time(shop, ctx.now) if shop.preorders else None,
        assisted=state.assisted,
    )
    placed = ConversationState("idle", (), state.revision + 1, handoff=state.handoff)
    return Decision(placed, (), place_order=price_cart(state.cart, ctx.catalog), details=details)


def _stock_rooms(cart: tuple[CartLine, ...], ctx: Context) -> list[int | None]:
    """How many each line may have, given what is left and what earlier lines already take."""
    taken: dict[str, int] = {}
    rooms: list[int | None] = []
    for line in cart:
        product = ctx.catalog.product(line.product)
        left = shop_rules.units_left(product, ctx.stock) if product is not None else None
        if product is not None and not product.available:
            left = 0  # taken off the menu since it went into the cart
        if left is None:
            rooms.append(None)
            continue
        rooms.append(max(0, left - taken.get(line.product, 0)))
        taken[line.product] = taken.get(line.product, 0) + line.quantity
    return rooms


def _drop_sold_out(
    state: ConversationState, ctx: Context
) -> tuple[ConversationState, tuple[Reply, ...]]:
    """Take lines that cannot be had at all off the cart, saying so with alternatives."""
    rooms = _stock_rooms(state.cart, ctx)
    if all(room is None or room > 0 for room in rooms):
        return state, ()
    kept = tuple(line for line, room in zip(state.cart, rooms, strict=True) if room != 0)
    notes: list[Reply] = []
    for product_id in dict.fromkeys(line.product for line, room
                                    in zip(state.cart, rooms, strict=True) if room == 0):
        name = _product_name(ctx.catalog, product_id)
        others = shop_rules.alternatives(ctx.catalog, product_id, ctx.stock)
        notes.append(TextReply(
            texts.text("sold_out_with_alternatives", product=name, alternatives=_or_list(others))
            if others else texts.text("sold_out", product=name)))
    return replace(state, cart=kept, revision=state.revision + 1), tuple(notes)


def _stock_question(cart: tuple[CartLine, ...], ctx: Context) -> Question | None:
    """"We only have 6 left — shall I make it 6?" for the first line asking for too many."""
    for index, (line, room) in enumerate(zip(cart, _stock_rooms(cart, ctx), strict=True)):
        if room is not None and 0 < room < line.quantity:
            return Question("stock", index, _product_name(ctx.catalog, line.product), (
                ("trim", texts.text("button_stock_trim", left=room)),
                ("remove", texts.text("button_stock_remove")),
            ), group=str(room), product=line.product)
    return None


def _cancel(state: ConversationState) -> Decision:
    if not state.cart and not state.pending:
        return Decision(state, (TextReply(texts.text("nothing_to_cancel")),))
    emptied = replace(state, stage="idle", cart=(), pending=(), asking=None,
                      fulfilment=None, address="", location=None, note="",
                      revision=state.revision + 1)
    return Decision(emptied, (TextReply(texts.text("cancelled")),),
                    outcomes=("cancel:customer",))


def _summary(state: ConversationState, ctx: Context) -> ButtonsReply:
    priced = price_cart(state.cart, ctx.catalog)
    shop = ctx.catalog.shop
    body = [texts.text("summary_header"), *summary_lines(priced, ctx.catalog), ""]
    if state.note:
        body.append(texts.text("summary_note", note=state.note))
    if state.fulfilment == "delivery" and _has_address(state):
        body.append(texts.text("summary_delivery", address=state.address
                               or texts.text("pinned_location")))
    body.append(texts.text("summary_total", total=ctx.catalog.format_money(priced.total)))
    missing = shop_rules.minimum_shortfall(shop, priced.total)
    if missing is not None and shop.minimum_order is not None:
        body.append(texts.text("summary_minimum",
                               minimum=ctx.catalog.format_money(shop.minimum_order),
                               missing=ctx.catalog.format_money(missing)))
    closed = shop_rules.closed_notice(shop, ctx.now)
    if closed is not None:
        body.append(closed)
    body.append(texts.text("summary_question"))
    # Confirm stays first: it is the button most customers want, and tests tap it by position.
    return ButtonsReply(body="\n".join(body), buttons=(
        (f"confirm:{state.revision}", texts.text("button_confirm")),
        (f"edit:{state.revision}", texts.text("button_edit")),
        (f"cancel:{state.revision}", texts.text("button_cancel")),
    ))


def summary_lines(priced: PricedCart, catalog: Catalog) -> list[str]:
    lines = []
    for line in priced.lines:
        lines.append(f"• {line.title()} — {catalog.format_money(line.total)}")
        lines.extend(f"    {detail}" for detail in line.details())
    return lines


def _explain(unresolved: Unresolved, ctx: Context) -> str:
    names = [_product_name(ctx.catalog, pid) for pid in unresolved.candidates]
    if unresolved.reason == "unavailable" and names:
        others = shop_rules.alternatives(ctx.catalog, unresolved.candidates[0], ctx.stock)
        if others:
            return texts.text("unavailable_with_alternatives", product=names[0],
                              alternatives=_or_list(others))
        return texts.text("unavailable_item", product=names[0])
    if unresolved.reason == "ambiguous" and names:
        return texts.text("ambiguous_item", text=unresolved.text, candidates=_or_list(names))
    if names:
        return texts.text("unknown_item_suggest", text=unresolved.text,
                          candidates=_or_list(names[:3]))
    return texts.text("unknown_item", text=unresolved.text)


def _welcome(ctx: Context) -> Reply:
    """A short hello with the menu's categories one tap away."""
    return _menu_replies(ctx, menu.ShowCategories(), _welcome_text(ctx))[0][-1]


def _welcome_text(ctx: Context) -> str:
    name = f" {ctx.customer_name.split()[0]}" if ctx.customer_name.strip() else ""
    return texts.text("welcome", name=name, shop=ctx.catalog.shop.name, example=EXAMPLE_ORDER,
                      button=texts.text("menu_button"))


def _not_understood() -> TextReply:
    return TextReply(texts.text("not_understood", example=EXAMPLE_ORDER))


def _browse(state: ConversationState, ctx: Context, target: menu.Listing,
            notes: tuple[Reply, ...] = (), intro: str | None = None) -> Decision:
    replies, shown = _menu_replies(ctx, target, intro)
    return Decision(replace(state, browse=shown), (*notes, *replies))


def _menu_replies(ctx: Context, target: menu.Listing,
                  intro: str | None = None) -> tuple[tuple[Reply, ...], str]:
    """A menu page, and its id; a category that is gone (or sold out) shows the categories."""
    page = menu.page_for(target, ctx.catalog, ctx.stock)
    notes: tuple[Reply, ...] = ()
    if page is None and isinstance(target, menu.ShowCategory):
        notes = (TextReply(texts.text("menu_changed")),)
        page = menu.page_for(menu.ShowCategories(), ctx.catalog, ctx.stock)
    if page is None:
        return (*notes, TextReply(texts.text("menu_empty"))), ""
    return (*notes, menu.render(page, intro)), page.id


def _on_menu_tap(state: ConversationState, row_id: str, ctx: Context) -> Decision:
    target = menu.read_id(row_id)
    if target is None:  # not an id we make (any more): show the menu as it is now
        return _browse(state, ctx, menu.ShowCategories(), (TextReply(texts.text("menu_changed")),))
    return _on_menu_target(state, target, ctx)


def _typed_pick(state: ConversationState, raw: str, ctx: Context) -> Decision | None:
    shown = menu.read_id(state.browse)
    if not isinstance(shown, menu.ShowCategories | menu.ShowCategory):
        return None
    page = menu.page_for(shown, ctx.catalog, ctx.stock)
    pick = menu.read_pick(page, raw, ctx.catalog, ctx.stock) if page else None
    if page is None or pick is None:
        return None
    if isinstance(pick, menu.BadNumber):
        return Decision(state, (TextReply(texts.text("menu_bad_number", count=pick.count)),
                                menu.render(page)))
    return _on_menu_target(state, pick, ctx)


def _on_menu_target(state: ConversationState, target: menu.Target, ctx: Context) -> Decision:
    if not isinstance(target, menu.AddItem):
        return _browse(state, ctx, target)
    product = ctx.catalog.product(target.product_id)
    if product is None:
        return _browse(state, ctx, menu.ShowCategories(),
                       (TextReply(texts.text("menu_item_gone")),))
    if not menu.listable(product, ctx.stock):
        others = menu.items_in(ctx.catalog, product.category, ctx.stock)
        sorry = TextReply(texts.text("unavailable_item", product=product.name))
        return _browse(state, ctx, menu.ShowCategory(product.category) if others
                       else menu.ShowCategories(), (sorry,))
    # One of it, as the shop serves it by default; without a default the usual question asks.
    default = product.default_variant
    line = CartLine(product.id, 1, default.id if default else None)
    added = replace(state, cart=add_lines(state.cart, [line]), revision=state.revision + 1,
                    browse="")
    return _advance(added, ctx, ())


def _menu_kept(before: ConversationState, decision: Decision) -> Decision:
    """Typed numbers pick from the menu only while it is the latest list the customer saw."""
    state = decision.state
    other_prompt = any(isinstance(r, ButtonsReply | ListReply) and not menu.is_menu(r)
                       for r in decision.replies)
    asked = state.asking is not None and state.asking != before.asking
    if state.browse and (other_prompt or asked or decision.place_order is not None):
        return replace(decision, state=replace(state, browse=""))
    return decision


def _product_name(catalog: Catalog, product_id: str) -> str:
    product = catalog.product(product_id)
    return product.name if product else product_id


def _or_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
