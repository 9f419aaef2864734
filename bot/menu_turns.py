"""Browsing the menu in the conversation: showing a page, a tap on a row, a number typed against
the page last shown, and putting a picked item in the cart. Pure.

The pages themselves, their row ids and reading a typed pick are bot.menu's.
"""

from __future__ import annotations

from dataclasses import replace

from bot import menu, texts
from bot.cart import CartLine, add_lines
from bot.conversation_model import Context, ConversationState, Decision
from bot.conversation_steps import advance
from bot.conversation_texts import welcome_text
from bot.replies import ButtonsReply, ListReply, Reply, TextReply


def welcome(ctx: Context) -> Reply:
    """A short hello with the menu's categories one tap away."""
    return _menu_replies(ctx, menu.ShowCategories(), welcome_text(ctx))[0][-1]


def browse(state: ConversationState, ctx: Context, target: menu.Listing,
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


def on_menu_tap(state: ConversationState, row_id: str, ctx: Context) -> Decision:
    target = menu.read_id(row_id)
    if target is None:  # not an id we make (any more): show the menu as it is now
        return browse(state, ctx, menu.ShowCategories(), (TextReply(texts.text("menu_changed")),))
    return _on_menu_target(state, target, ctx)


def typed_pick(state: ConversationState, raw: str, ctx: Context) -> Decision | None:
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
        return browse(state, ctx, target)
    product = ctx.catalog.product(target.product_id)
    if product is None:
        return browse(state, ctx, menu.ShowCategories(),
                      (TextReply(texts.text("menu_item_gone")),))
    if not menu.listable(product, ctx.stock):
        others = menu.items_in(ctx.catalog, product.category, ctx.stock)
        sorry = TextReply(texts.text("unavailable_item", product=product.name))
        return browse(state, ctx, menu.ShowCategory(product.category) if others
                      else menu.ShowCategories(), (sorry,))
    # One of it, as the shop serves it by default; without a default the usual question asks.
    default = product.default_variant
    line = CartLine(product.id, 1, default.id if default else None)
    added = replace(state, cart=add_lines(state.cart, [line]), revision=state.revision + 1,
                    browse="")
    return advance(added, ctx, ())


def menu_kept(before: ConversationState, decision: Decision) -> Decision:
    """Typed numbers pick from the menu only while it is the latest list the customer saw."""
    state = decision.state
    other_prompt = any(isinstance(r, ButtonsReply | ListReply) and not menu.is_menu(r)
                       for r in decision.replies)
    asked = state.asking is not None and state.asking != before.asking
    if state.browse and (other_prompt or asked or decision.place_order is not None):
        return replace(decision, state=replace(state, browse=""))
    return decision
