"""The conversation as a pure state machine: (state, customer event) -> (new state, replies, order).

No I/O here: the caller loads the state, calls `decide`, then stores the state, sends the
replies and places the order in one transaction (bot.processing).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from bot import texts
from bot.cart import CartLine, PricedCart, add_lines, price_cart
from bot.replies import ButtonsReply, Reply, TextReply
from catalog.catalog import Catalog
from parsers.models import ParseResult, Unresolved

Stage = Literal["idle", "ordering", "confirming"]
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
    revision: int = 0  # bumps on every cart change; button ids carry it to spot stale taps

    def to_json(self) -> str:
        return json.dumps({"stage": self.stage, "revision": self.revision,
                           "cart": [line.to_json() for line in self.cart]})

    @classmethod
    def from_json(cls, raw: str) -> ConversationState:
        data: dict[str, Any] = json.loads(raw) if raw else {}
        return cls(
            stage=data.get("stage", "idle"),
            cart=tuple(CartLine.from_json(line) for line in data.get("cart", [])),
            revision=int(data.get("revision", 0)),
        )


@dataclass(frozen=True)
class CustomerText:
    text: str


@dataclass(frozen=True)
class ButtonTap:
    button_id: str


@dataclass(frozen=True)
class OtherMessage:
    kind: str  # image, audio, location... anything we cannot read as an order yet


Event = CustomerText | ButtonTap | OtherMessage


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
    extra: dict[str, Any] = field(default_factory=dict)


def decide(state: ConversationState, event: Event, ctx: Context) -> Decision:
    if isinstance(event, ButtonTap):
        return _on_button(state, event.button_id, ctx)
    if isinstance(event, OtherMessage):
        return Decision(state, (TextReply(texts.text("media_not_supported",
                                                     example=EXAMPLE_ORDER)),))
    return _on_text(state, event.text, ctx)


def _on_button(state: ConversationState, button_id: str, ctx: Context) -> Decision:
    action, _, revision = button_id.partition(":")
    if action not in ("confirm", "cancel"):
        return _on_text(state, button_id, ctx)
    if revision and revision != str(state.revision) and state.cart:
        return Decision(state, (TextReply(texts.text("stale_summary")), _summary(state, ctx)))
    return _confirm(state, ctx) if action == "confirm" else _cancel(state)


def _on_text(state: ConversationState, raw: str, ctx: Context) -> Decision:
    phrase = " ".join(w for w in _WORDS.findall(raw.lower()) if w not in _POLITE)
    if phrase in _YES and state.stage == "confirming":
        return _confirm(state, ctx)
    if phrase in _CANCEL:
        return _cancel(state)
    parsed = ctx.parser.parse(raw)
    complete = [line for line in parsed.lines if not _needs_variant(line.product, line.variant,
                                                                     parsed.unresolved)]
    notes = tuple(TextReply(_explain(u, ctx)) for u in parsed.unresolved)
    if complete:
        new_cart = add_lines(state.cart, [CartLine.from_parsed(line) for line in complete])
        new_state = ConversationState("confirming", new_cart, state.revision + 1)
        return Decision(new_state, (*notes, _summary(new_state, ctx)))
    if notes:
        return Decision(state, notes)
    if phrase in _GREETING or not state.cart:
        return Decision(state, (_welcome(ctx) if phrase in _GREETING or not phrase
                                else _not_understood(),))
    return Decision(state, (_not_understood(), _summary(state, ctx)))


def _needs_variant(product: str, variant: str | None, unresolved: tuple[Unresolved, ...]) -> bool:
    # The parser reports a product whose size was not given both as a line and as a question;
    # such a line cannot be priced, so it waits for the customer's answer.
    return variant is None and any(
        u.reason == "missing_variant" and product in (u.product, *u.candidates)
        for u in unresolved
    )


def _confirm(state: ConversationState, ctx: Context) -> Decision:
    if not state.cart:
        return Decision(state, (TextReply(texts.text("nothing_to_confirm")),))
    priced = price_cart(state.cart, ctx.catalog)
    return Decision(ConversationState("idle", (), state.revision + 1), (), place_order=priced)


def _cancel(state: ConversationState) -> Decision:
    if not state.cart:
        return Decision(state, (TextReply(texts.text("nothing_to_cancel")),))
    return Decision(ConversationState("idle", (), state.revision + 1),
                    (TextReply(texts.text("cancelled")),))


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
    if unresolved.reason == "missing_variant":
        return _ask_variant(unresolved, ctx)
    if unresolved.reason == "unavailable" and names:
        return texts.text("unavailable_item", product=names[0])
    if unresolved.reason == "ambiguous" and names:
        return texts.text("ambiguous_item", text=unresolved.text, candidates=_or_list(names))
    if names:
        return texts.text("unknown_item_suggest", text=unresolved.text,
                          candidates=_or_list(names[:3]))
    return texts.text("unknown_item", text=unresolved.text)


def _ask_variant(unresolved: Unresolved, ctx: Context) -> str:
    ids = (unresolved.product, *unresolved.candidates)
    product = next((p for pid in ids if pid and (p := ctx.catalog.product(pid))), None)
    if product is None:
        return texts.text("unknown_item", text=unresolved.text)
    variants = [v.name for v in product.variants]
    example = f"{variants[-1].lower()} {product.name.lower()}"
    return texts.text("missing_variant", product=product.name, variants=_or_list(variants),
                      example=example)


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


def with_stage(state: ConversationState, stage: Stage) -> ConversationState:
    return replace(state, stage=stage)
