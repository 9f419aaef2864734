"""The cart against the stock: how many of each line can be had, the lines that are sold out, and
the "we only have 6 left — shall I make it 6?" question. Pure: the counts come in the Context.
"""

from __future__ import annotations

from dataclasses import replace

from bot import shop_rules, texts
from bot.cart import CartLine
from bot.clarify import Question
from bot.conversation_model import Context, ConversationState
from bot.conversation_texts import or_list, product_name
from bot.replies import Reply, TextReply


def stock_rooms(cart: tuple[CartLine, ...], ctx: Context) -> list[int | None]:
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


def drop_sold_out(
    state: ConversationState, ctx: Context
) -> tuple[ConversationState, tuple[Reply, ...]]:
    """Take lines that cannot be had at all off the cart, saying so with alternatives."""
    rooms = stock_rooms(state.cart, ctx)
    if all(room is None or room > 0 for room in rooms):
        return state, ()
    kept = tuple(line for line, room in zip(state.cart, rooms, strict=True) if room != 0)
    notes: list[Reply] = []
    for product_id in dict.fromkeys(line.product for line, room
                                    in zip(state.cart, rooms, strict=True) if room == 0):
        name = product_name(ctx.catalog, product_id)
        others = shop_rules.alternatives(ctx.catalog, product_id, ctx.stock)
        notes.append(TextReply(
            texts.text("sold_out_with_alternatives", product=name, alternatives=or_list(others))
            if others else texts.text("sold_out", product=name)))
    return replace(state, cart=kept, revision=state.revision + 1), tuple(notes)


def stock_question(cart: tuple[CartLine, ...], ctx: Context) -> Question | None:
    """"We only have 6 left — shall I make it 6?" for the first line asking for too many."""
    for index, (line, room) in enumerate(zip(cart, stock_rooms(cart, ctx), strict=True)):
        if room is not None and 0 < room < line.quantity:
            return Question("stock", index, product_name(ctx.catalog, line.product), (
                ("trim", texts.text("button_stock_trim", left=room)),
                ("remove", texts.text("button_stock_remove")),
            ), group=str(room), product=line.product)
    return None
