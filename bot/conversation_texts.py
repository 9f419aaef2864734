"""Wording the conversation needs without its state: the example order, the lines of an order
summary, why a mention was not understood (with alternatives), the welcome. Pure;
bot.conversation and the modules of its turns build their replies from these.
"""

from __future__ import annotations

from bot import shop_rules, texts
from bot.cart import PricedCart
from bot.conversation_model import Context
from bot.replies import TextReply
from catalog.catalog import Catalog
from parsers.models import Unresolved

EXAMPLE_ORDER = "2 chicken shawarma and a large pepsi"


def summary_lines(priced: PricedCart, catalog: Catalog) -> list[str]:
    lines = []
    for line in priced.lines:
        lines.append(f"• {line.title()} — {catalog.format_money(line.total)}")
        lines.extend(f"    {detail}" for detail in line.details())
    return lines


def explain(unresolved: Unresolved, ctx: Context) -> str:
    names = [product_name(ctx.catalog, pid) for pid in unresolved.candidates]
    if unresolved.reason == "unavailable" and names:
        others = shop_rules.alternatives(ctx.catalog, unresolved.candidates[0], ctx.stock)
        if others:
            return texts.text("unavailable_with_alternatives", product=names[0],
                              alternatives=or_list(others))
        return texts.text("unavailable_item", product=names[0])
    if unresolved.reason == "ambiguous" and names:
        return texts.text("ambiguous_item", text=unresolved.text, candidates=or_list(names))
    if names:
        return texts.text("unknown_item_suggest", text=unresolved.text,
                          candidates=or_list(names[:3]))
    return texts.text("unknown_item", text=unresolved.text)


def welcome_text(ctx: Context) -> str:
    name = f" {ctx.customer_name.split()[0]}" if ctx.customer_name.strip() else ""
    return texts.text("welcome", name=name, shop=ctx.catalog.shop.name, example=EXAMPLE_ORDER,
                      button=texts.text("menu_button"))


def not_understood() -> TextReply:
    return TextReply(texts.text("not_understood", example=EXAMPLE_ORDER))


def product_name(catalog: Catalog, product_id: str) -> str:
    product = catalog.product(product_id)
    return product.name if product else product_id


def or_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
