"""WhatsApp catalog carts (`type: order`): our menu, our prices, straight to the summary."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from bot.cart import CartLine
from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    NativeCart,
    NativeCartItem,
    decide,
)
from bot.native_cart import Basket, basket_notes, read_basket
from bot.replies import ButtonsReply, TextReply
from catalog.catalog import Catalog
from catalog.loader import load_catalog
from parsers.models import ParsedLine, ParseResult
from tests.paths import RESTAURANT_CATALOG
from tests.unit.shop import ScriptedParser

# The sample payload's cart (fixtures/whatsapp/order_cart.json); Meta's prices are stale.
SAMPLE = NativeCart((NativeCartItem("SKU-PIZZA-MARG-L", 2, "12.5"),
                     NativeCartItem("SKU-COLA-330", 3, "1.75")),
                    "No onions on the pizzas please")
TYPED = "2 chicken shawarma"


@cache
def restaurant() -> Catalog:
    return load_catalog(RESTAURANT_CATALOG)


def context(**stock: int) -> Context:
    parser = ScriptedParser({TYPED: ParseResult(lines=(
        ParsedLine("chicken-shawarma", 2, "regular", span=(0, 18)),))})
    return Context(restaurant(), parser, "Alex Buyer", stock=stock)


def items(*pairs: tuple[str, int]) -> tuple[NativeCartItem, ...]:
    return tuple(NativeCartItem(rid, quantity) for rid, quantity in pairs)


def texts_of(decision: Decision) -> list[str]:
    return [r.body for r in decision.replies if isinstance(r, TextReply | ButtonsReply)]


def summary_of(decision: Decision) -> ButtonsReply:
    reply = decision.replies[-1]
    assert isinstance(reply, ButtonsReply)
    assert "Confirm" in [title for _, title in reply.buttons]
    return reply


# ----------------------------------------------------------------------------- pure mapping


def test_sample_cart_maps_to_our_products_and_variants() -> None:
    basket = read_basket(SAMPLE.items, restaurant())
    assert basket == Basket((CartLine("margherita-pizza", 2, "large"),
                             CartLine("coca-cola", 3, "small")))


def test_catalog_ids_work_when_the_shop_set_no_retailer_ids() -> None:
    basket = read_basket(items(("pepsi:large", 1), ("fries-large", 2), ("falafel-wrap", 1)),
                         restaurant())
    assert basket.lines == (CartLine("pepsi", 1, "large"), CartLine("fries", 2, "large"),
                            CartLine("falafel-wrap", 1, None))


def test_the_same_item_twice_becomes_one_line() -> None:
    basket = read_basket(items(("SKU-COLA-330", 1), ("coca-cola:small", 2)), restaurant())
    assert basket.lines == (CartLine("coca-cola", 3, "small"),)


def test_unknown_and_unavailable_items_are_named_and_the_rest_kept() -> None:
    basket = read_basket(items(("SKU-GONE", 1), ("SKU-WRAP-LAMB", 2), ("pepsi", 1),
                               ("SKU-OLD", 1)), restaurant())
    assert basket.lines == (CartLine("pepsi", 1, "small"),)
    assert basket.not_on_menu == ("SKU-GONE", "SKU-OLD")
    assert basket.unavailable == ("Lamb Shawarma",)
    note = basket_notes(basket, had_order=False, example="x")
    assert "2 items in your cart aren't on our menu any more (SKU-GONE, SKU-OLD)" in note
    assert "Lamb Shawarma isn't available right now" in note


def test_sold_out_by_live_stock_counts_as_unavailable() -> None:
    basket = read_basket(items(("fries", 1), ("baklava", 1)), restaurant(), {"baklava": 0})
    assert basket.lines == (CartLine("fries", 1, "regular"),)
    assert basket.unavailable == ("Baklava (4 pcs)",)


def test_a_long_list_of_missing_items_is_cut_short() -> None:
    basket = Basket((), tuple(f"SKU-{n}" for n in range(8)))
    note = basket_notes(basket, had_order=False, example="x")
    assert "8 items in your cart aren't on our menu" in note
    assert "SKU-4 and 3 more" in note and "SKU-5" not in note


# ----------------------------------------------------------------------------- the conversation


def test_sample_cart_goes_straight_to_a_summary_at_our_prices() -> None:
    decision = decide(ConversationState(), SAMPLE, context())
    summary = summary_of(decision)
    # 2 x 17.99 and 3 x 1.99 from our menu, not Meta's 12.50 and 1.75.
    assert "2 × Margherita Pizza (Large) — $35.98" in summary.body
    assert "3 × Coca-Cola (Small) — $5.97" in summary.body
    assert "Total: $41.95" in summary.body
    assert len(decision.replies) == 1  # nothing to flag: just the summary
    assert decision.state.stage == "confirming"
    assert "No onions on the pizzas please" in summary.body  # the cart's message is the note
    assert decision.state.note == "No onions on the pizzas please"


def test_confirming_places_the_cart_at_our_prices() -> None:
    ctx = context()
    shown = decide(ConversationState(), SAMPLE, ctx)
    placed = decide(shown.state, ButtonTap(summary_of(shown).buttons[0][0]), ctx)
    if placed.place_order is None:  # the sample shop also delivers: it asks which first
        how = placed.replies[-1]
        assert isinstance(how, ButtonsReply)
        pickup = next(bid for bid, title in how.buttons if title == "Pickup")
        placed = decide(placed.state, ButtonTap(pickup), ctx)
    assert placed.place_order is not None
    assert placed.details.note == "No onions on the pizzas please"
    assert placed.place_order.total == Decimal("41.95")
    assert [(p.line.product, p.line.variant, p.line.quantity)
            for p in placed.place_order.lines] == [("margherita-pizza", "large", 2),
                                                   ("coca-cola", "small", 3)]


def test_a_cart_replaces_a_typed_order_and_says_so() -> None:
    ctx = context()
    typed = decide(ConversationState(), CustomerText(TYPED), ctx)
    assert "Chicken Shawarma" in summary_of(typed).body
    decision = decide(typed.state, SAMPLE, ctx)
    assert "replaces the order you had started" in texts_of(decision)[0]
    body = summary_of(decision).body
    assert "Chicken Shawarma" not in body and "Margherita Pizza (Large)" in body
    assert decision.state.revision > typed.state.revision  # the old summary's buttons go stale
    # "undo" can still bring the typed order back.
    assert decision.state.undo == typed.state.cart


def test_a_required_choice_is_asked_before_the_summary() -> None:
    decision = decide(ConversationState(),
                      NativeCart(items(("SKU-BURGER-CHEESE", 1), ("pepsi", 1))), context())
    assert decision.state.stage == "asking"
    question = decision.replies[-1]
    assert isinstance(question, ButtonsReply)
    assert "Doneness" in question.body
    assert [title for _, title in question.buttons] == ["Medium", "Well done"]
    answered = decide(decision.state, ButtonTap(question.buttons[1][0]), context())
    assert "1 × Cheeseburger — $10.99" in summary_of(answered).body


def test_a_product_with_sizes_but_no_default_gets_the_size_question() -> None:
    decision = decide(ConversationState(), NativeCart(items(("margherita-pizza", 1),)),
                      context())
    question = decision.replies[-1]
    assert isinstance(question, ButtonsReply)
    assert [title for _, title in question.buttons] == ["Small", "Medium", "Large"]


def test_flags_come_before_the_summary_of_what_is_left() -> None:
    decision = decide(ConversationState(),
                      NativeCart(items(("SKU-GONE", 1), ("SKU-COLA-1L", 2))), context())
    first, summary = decision.replies
    assert isinstance(first, TextReply)
    assert "1 item in your cart isn't on our menu any more (SKU-GONE)" in first.body
    assert "2 × Coca-Cola (Large) — $5.98" in summary_of(decision).body
    assert summary is decision.replies[-1]


def test_an_empty_cart_gets_a_helpful_reply_and_changes_nothing() -> None:
    decision = decide(ConversationState(), NativeCart(()), context())
    [reply] = texts_of(decision)
    assert "came through empty" in reply and "type your order" in reply
    assert decision.state == ConversationState()


def test_a_cart_of_only_unknown_items_keeps_the_typed_order() -> None:
    ctx = context()
    typed = decide(ConversationState(), CustomerText(TYPED), ctx)
    decision = decide(typed.state, NativeCart(items(("SKU-GONE", 1), ("SKU-WRAP-LAMB", 1))), ctx)
    [note, summary] = texts_of(decision)
    assert "SKU-GONE" in note and "Lamb Shawarma" in note
    assert "nothing left in your cart that we can make" in note
    assert "replaces" not in note
    assert decision.state.cart == typed.state.cart
    assert "2 × Chicken Shawarma" in summary
