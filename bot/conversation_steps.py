"""The moves most turns of the conversation end with. Pure.

After a change to the order or an answer to a question (`answer`): ask the next missing thing or
show the summary (`advance`); after a side remark: show again what we are waiting for (`repeat`,
`next_step`: the question, the summary or the pickup/delivery prompt); once everything is known:
place the order, unless the shop cannot take it now (`refusal`, `place`). bot.conversation,
bot.checkout_flow and bot.menu_turns all end their turns here, which is why these live apart
from each of them.
"""

from __future__ import annotations

from dataclasses import replace

from bot import shop_rules, texts
from bot.cart import add_lines, price_cart
from bot.cart_stock import drop_sold_out, stock_question
from bot.checkout import OrderDetails
from bot.clarify import apply_answer, ask, next_question
from bot.conversation_model import Context, ConversationState, Decision
from bot.conversation_texts import summary_lines
from bot.replies import ButtonsReply, Reply, TextReply


def answer(state: ConversationState, choice: str, ctx: Context) -> Decision:
    if state.asking is None or choice not in {cid for cid, _ in state.asking.choices}:
        return Decision(state, (TextReply(texts.text("stale_summary")), next_step(state, ctx)))
    cart, pending = apply_answer(state.cart, state.pending, state.asking, choice, ctx.catalog)
    return advance(replace(state, cart=add_lines((), list(cart)), pending=pending,
                           revision=state.revision + 1), ctx, ())


def advance(state: ConversationState, ctx: Context, notes: tuple[Reply, ...]) -> Decision:
    """Ask the next missing thing, or show the summary when nothing is missing."""
    state, sold_out = drop_sold_out(state, ctx)
    notes = (*notes, *sold_out)
    question = (next_question(state.cart, state.pending, ctx.catalog)
                or stock_question(state.cart, ctx))
    if question is not None:
        asking = replace(state, stage="asking", asking=question)
        return Decision(asking, (*notes, ask(question, asking.revision, ctx.catalog)))
    if not state.cart:
        return Decision(replace(state, stage="idle", asking=None),
                        notes or (TextReply(texts.text("order_empty")),))
    ready = replace(state, stage="confirming", asking=None)
    return Decision(ready, (*notes, summary(ready, ctx)))


def next_step(state: ConversationState, ctx: Context) -> Reply:
    if state.asking is not None:
        return ask(state.asking, state.revision, ctx.catalog)
    if state.stage == "checkout":
        return checkout_prompt(state)
    return summary(state, ctx)


def repeat(state: ConversationState, ctx: Context) -> tuple[Reply, ...]:
    """After a side remark, show again what we are waiting for, if anything."""
    return (next_step(state, ctx),) if state.cart or state.asking else ()


def summary(state: ConversationState, ctx: Context) -> ButtonsReply:
    priced = price_cart(state.cart, ctx.catalog)
    shop = ctx.catalog.shop
    body = [texts.text("summary_header"), *summary_lines(priced, ctx.catalog), ""]
    if state.note:
        body.append(texts.text("summary_note", note=state.note))
    if state.fulfilment == "delivery" and has_address(state):
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


def checkout_prompt(state: ConversationState) -> Reply:
    if state.fulfilment is None:
        return ButtonsReply(body=texts.text("ask_fulfilment"), buttons=(
            (f"ful:{state.revision}:pickup", texts.text("button_pickup")),
            (f"ful:{state.revision}:delivery", texts.text("button_delivery")),
        ))
    return TextReply(texts.text("ask_address"))


def has_address(state: ConversationState) -> bool:
    return bool(state.address or state.location)


def refusal(state: ConversationState, ctx: Context) -> Decision | None:
    """Why this order cannot be placed now (closed, stock, minimum); None when it can."""
    shop = ctx.catalog.shop
    closed = shop_rules.refusal_when_closed(shop, ctx.now)
    if closed is not None:
        return Decision(state, (TextReply(closed),))
    cleaned, sold_out = drop_sold_out(state, ctx)
    if sold_out or stock_question(cleaned.cart, ctx) is not None:
        return advance(state, ctx, ())  # stock ran low since the summary: say so, ask again
    total = price_cart(state.cart, ctx.catalog).total
    missing = shop_rules.minimum_shortfall(shop, total)
    if missing is not None:
        assert shop.minimum_order is not None
        return Decision(state, (TextReply(texts.text(
            "minimum_not_met", minimum=ctx.catalog.format_money(shop.minimum_order),
            missing=ctx.catalog.format_money(missing))),))
    return None


def place(state: ConversationState, ctx: Context) -> Decision:
    refused = refusal(state, ctx)
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
