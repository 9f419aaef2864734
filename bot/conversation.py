"""The conversation as a pure state machine: (state, customer event) -> (new state, replies, order).

No I/O here: the caller loads the state, calls `decide`, then stores the state, sends the
replies and places the order in one transaction (bot.processing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from bot import texts
from bot.cart import CartLine, PricedCart, add_lines, price_cart
from bot.clarify import PendingChoice, Question, apply_answer, ask, match_answer, next_question
from bot.edits import (
    Edit,
    SetQuantity,
    Undo,
    line_of,
    products_named,
    read_edit,
    remove_products,
    set_quantity,
)
from bot.replies import ButtonsReply, Reply, TextReply
from catalog.catalog import Catalog
from parsers.models import ParseResult, Unresolved

# idle: no open order; asking: a clarifying question is out; confirming: the summary is out;
# checkout: confirmed items, collecting pickup/delivery, address or note before placing.
Stage = Literal["idle", "asking", "confirming", "checkout"]
EXAMPLE_ORDER = "2 chicken shawarma and a large pepsi"
_MENU_ITEMS_SHOWN = 40

_WORDS = re.compile(r"[a-z']+")
_YES = {"yes", "y", "yep", "yeah", "yup", "ok", "okay", "confirm", "confirmed", "sure", "correct",
        "place it", "go ahead", "sounds good", "perfect", "done"}
_CANCEL = {"cancel", "cancel it", "cancel order", "cancel my order", "start over", "stop",
           "nevermind", "never mind", "forget it", "clear", "reset"}
_POLITE = {"please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "sir", "bro", "mate"}
_GREETING = {"hi", "hello", "hey", "hola", "salam", "salaam", "good morning", "good evening",
             "menu", "the menu", "show menu", "show me the menu", "start", "help",
             "what do you have"}


class TextParser(Protocol):
    def parse(self, text: str) -> ParseResult: ...


@dataclass(frozen=True)
class ConversationState:
    stage: Stage = "idle"
    cart: tuple[CartLine, ...] = ()
    revision: int = 0  # bumps on every change; button ids carry it to spot stale taps
    pending: tuple[PendingChoice, ...] = ()  # ambiguous mentions still to pick from
    asking: Question | None = None  # the question the customer was last asked
    undo: tuple[CartLine, ...] | None = None  # the cart before its last change
    fulfilment: str | None = None  # "pickup" | "delivery" once chosen
    address: str = ""  # typed delivery address, or the name/address of a location pin
    location: tuple[float, float] | None = None  # (latitude, longitude) of a location pin
    note: str = ""  # the customer's note for the whole order
    handoff: bool = False  # a person took over: the bot stays quiet until released
    reminded: bool = False  # the idle-cart reminder went out for this cart

    def to_json(self) -> str:
        return json.dumps({
            "stage": self.stage, "revision": self.revision,
            "cart": [line.to_json() for line in self.cart],
            "pending": [p.to_json() for p in self.pending],
            "asking": self.asking.to_json() if self.asking else None,
            "undo": None if self.undo is None else [line.to_json() for line in self.undo],
            "fulfilment": self.fulfilment, "address": self.address,
            "location": list(self.location) if self.location else None,
            "note": self.note, "handoff": self.handoff, "reminded": self.reminded,
        })

    @classmethod
    def from_json(cls, raw: str) -> ConversationState:
        data: dict[str, Any] = json.loads(raw) if raw else {}
        asking = data.get("asking")
        return cls(
            stage=data.get("stage", "idle"),
            cart=tuple(CartLine.from_json(line) for line in data.get("cart", [])),
            revision=int(data.get("revision", 0)),
            pending=tuple(PendingChoice.from_json(p) for p in data.get("pending", [])),
            asking=Question.from_json(asking) if asking else None,
            undo=(None if data.get("undo") is None
                  else tuple(CartLine.from_json(line) for line in data["undo"])),
            fulfilment=data.get("fulfilment"),
            address=str(data.get("address") or ""),
            location=(None if not data.get("location")
                      else (float(data["location"][0]), float(data["location"][1]))),
            note=str(data.get("note") or ""),
            handoff=bool(data.get("handoff", False)),
            reminded=bool(data.get("reminded", False)),
        )


@dataclass(frozen=True)
class CustomerText:
    text: str


@dataclass(frozen=True)
class ButtonTap:
    button_id: str


@dataclass(frozen=True)
class OtherMessage:
    kind: str  # image, audio, sticker, reaction... anything we cannot read as an order


@dataclass(frozen=True)
class LocationPin:
    latitude: float
    longitude: float
    name: str = ""
    address: str = ""


@dataclass(frozen=True)
class NativeCartItem:
    retailer_id: str  # product_retailer_id from the WhatsApp catalog
    quantity: int
    price: str = ""  # item_price as sent, for information only: our catalog sets prices


@dataclass(frozen=True)
class NativeCart:
    """A cart sent from WhatsApp's own catalog UI (`type: order`)."""

    items: tuple[NativeCartItem, ...]
    text: str = ""


@dataclass(frozen=True)
class TimerFired:
    kind: Literal["reminder", "expiry", "handoff_timeout"]


Event = CustomerText | ButtonTap | OtherMessage | LocationPin | NativeCart | TimerFired


@dataclass(frozen=True)
class Decision:
    state: ConversationState
    replies: tuple[Reply, ...] = ()
    place_order: PricedCart | None = None  # set when the customer confirmed


@dataclass(frozen=True)
class Context:
    """What a decision may read besides the state."""

    catalog: Catalog
    parser: TextParser
    customer_name: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))  # aware UTC
    stock: Mapping[str, int] = field(default_factory=dict)  # product id -> units left
    extra: dict[str, Any] = field(default_factory=dict)


def decide(state: ConversationState, event: Event, ctx: Context) -> Decision:
    decision = _decide(state, event, ctx)
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
        return Decision(state)
    if isinstance(event, LocationPin):
        return _typed_order_hint(state)
    if isinstance(event, NativeCart):
        return _typed_order_hint(state)
    return _typed_order_hint(state)  # OtherMessage: media, stickers, reactions, unknown types


def _typed_order_hint(state: ConversationState) -> Decision:
    return Decision(state, (TextReply(texts.text("media_not_supported", example=EXAMPLE_ORDER)),))


def _on_button(state: ConversationState, button_id: str, ctx: Context) -> Decision:
    action, _, rest = button_id.partition(":")
    revision, _, choice = rest.partition(":")
    if action not in ("confirm", "cancel", "ans"):
        return _on_text(state, button_id, ctx)
    if revision != str(state.revision) and (state.cart or state.pending):
        return Decision(state, (TextReply(texts.text("stale_summary")), _next_step(state, ctx)))
    if action == "ans":
        return _answer(state, choice, ctx)
    return _confirm(state, ctx) if action == "confirm" else _cancel(state)


def _on_text(state: ConversationState, raw: str, ctx: Context) -> Decision:
    phrase = " ".join(w for w in _WORDS.findall(raw.lower()) if w not in _POLITE)
    if phrase in _YES and state.stage == "confirming":
        return _confirm(state, ctx)
    if phrase in _CANCEL:
        return _cancel(state)
    if state.asking is not None:
        choice = match_answer(state.asking, raw, ctx.catalog)
        if choice is not None:
            return _answer(state, choice, ctx)
    edit = read_edit(raw) if state.cart or state.pending or state.undo else None
    if edit is not None:
        return _edit(state, edit, ctx)
    parsed = ctx.parser.parse(raw)
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
    if phrase in _GREETING or not state.cart:
        return Decision(state, (_welcome(ctx) if phrase in _GREETING or not phrase
                                else _not_understood(),))
    return Decision(state, (_not_understood(), _summary(state, ctx)))


def _edit(state: ConversationState, edit: Edit, ctx: Context) -> Decision:
    if isinstance(edit, Undo):
        if state.undo is None:
            return Decision(state, (TextReply(texts.text("nothing_to_undo")), *_repeat(state, ctx)))
        restored = replace(state, cart=state.undo, undo=None, revision=state.revision + 1)
        return _advance(restored, ctx, ())
    named = products_named(ctx.parser.parse(edit.what)) if edit.what else set()
    if isinstance(edit, SetQuantity):
        target = line_of(state.cart, named) if edit.what else None
        if edit.what and target is None:
            return _not_in_order(state, edit.what, ctx)
        cart = set_quantity(state.cart, edit.quantity, target)
    else:
        cart = remove_products(state.cart, named)
        if cart == state.cart:
            return _not_in_order(state, edit.what, ctx)
    changed = replace(state, cart=cart, revision=state.revision + 1)
    if not cart and not state.pending:
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
    question = next_question(state.cart, state.pending, ctx.catalog)
    if question is not None:
        asking = replace(state, stage="asking", asking=question)
        return Decision(asking, (*notes, ask(question, asking.revision, ctx.catalog)))
    if not state.cart:
        return Decision(replace(state, stage="idle", asking=None), notes)
    ready = replace(state, stage="confirming", asking=None)
    return Decision(ready, (*notes, _summary(ready, ctx)))


def _next_step(state: ConversationState, ctx: Context) -> Reply:
    if state.asking is not None:
        return ask(state.asking, state.revision, ctx.catalog)
    return _summary(state, ctx)


def _repeat(state: ConversationState, ctx: Context) -> tuple[Reply, ...]:
    """After a side remark, show again what we are waiting for, if anything."""
    return (_next_step(state, ctx),) if state.cart or state.asking else ()


def _confirm(state: ConversationState, ctx: Context) -> Decision:
    if state.stage != "confirming" or not state.cart:
        if state.asking is not None:
            return Decision(state, (_next_step(state, ctx),))
        return Decision(state, (TextReply(texts.text("nothing_to_confirm")),))
    priced = price_cart(state.cart, ctx.catalog)
    return Decision(ConversationState("idle", (), state.revision + 1), (), place_order=priced)


def _cancel(state: ConversationState) -> Decision:
    if not state.cart and not state.pending:
        return Decision(state, (TextReply(texts.text("nothing_to_cancel")),))
    emptied = replace(state, stage="idle", cart=(), pending=(), asking=None,
                      revision=state.revision + 1)
    return Decision(emptied, (TextReply(texts.text("cancelled")),))


def _summary(state: ConversationState, ctx: Context) -> ButtonsReply:
    priced = price_cart(state.cart, ctx.catalog)
    body = "\n".join([texts.text("summary_header"), *summary_lines(priced, ctx.catalog), "",
                      texts.text("summary_total", total=ctx.catalog.format_money(priced.total)),
                      texts.text("summary_question")])
    return ButtonsReply(body=body, buttons=(
        (f"confirm:{state.revision}", texts.text("button_confirm")),
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
        return texts.text("unavailable_item", product=names[0])
    if unresolved.reason == "ambiguous" and names:
        return texts.text("ambiguous_item", text=unresolved.text, candidates=_or_list(names))
    if names:
        return texts.text("unknown_item_suggest", text=unresolved.text,
                          candidates=_or_list(names[:3]))
    return texts.text("unknown_item", text=unresolved.text)


def _welcome(ctx: Context) -> TextReply:
    name = f" {ctx.customer_name.split()[0]}" if ctx.customer_name.strip() else ""
    return TextReply(texts.text("welcome", name=name, shop=ctx.catalog.shop.name,
                                example=EXAMPLE_ORDER, menu=menu_text(ctx.catalog)))


def _not_understood() -> TextReply:
    return TextReply(texts.text("not_understood", example=EXAMPLE_ORDER))


def menu_text(catalog: Catalog) -> str:
    """Categories with items and prices, cut to stay well inside one WhatsApp text."""
    lines = [texts.text("menu_header")]
    shown = 0
    available = [p for p in catalog.products if p.available]
    for category in catalog.categories():
        items = [p for p in available if p.category == category]
        if not items or shown >= _MENU_ITEMS_SHOWN:
            continue
        lines.append(f"\n*{category}*")
        for product in items[: _MENU_ITEMS_SHOWN - shown]:
            lines.append(f"• {product.name} — {catalog.format_money(product.price)}")
            shown += 1
    if len(available) > shown:
        lines.append("\n" + texts.text("menu_more", count=len(available) - shown))
    return "\n".join(lines)


def _product_name(catalog: Catalog, product_id: str) -> str:
    product = catalog.product(product_id)
    return product.name if product else product_id


def _or_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
