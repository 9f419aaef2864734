"""Browsing the menu: category and item pages, typed picks, taps, and WhatsApp's list limits."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from adapters.whatsapp_limits import validate_outbound
from bot import menu, texts
from bot.conversation import (
    ButtonTap,
    Context,
    ConversationState,
    CustomerText,
    Decision,
    decide,
)
from bot.replies import ButtonsReply, ListReply, Reply, TextReply, graph_payload
from catalog.catalog import Catalog
from catalog.models import CatalogFile
from parsers.models import ParsedLine, ParseResult
from tests.paths import FIXTURES
from tests.unit.shop import ScriptedParser, small_catalog

NO_STOCK: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _default_texts() -> Iterator[None]:
    texts.reset()
    yield
    texts.reset()


@cache
def fixture_catalog(name: str) -> Catalog:
    return Catalog.from_file(FIXTURES / "catalog" / f"{name}.yaml")


def one_category_catalog(count: int) -> Catalog:
    return Catalog(CatalogFile.model_validate({
        "shop": {"name": "Corner Shop", "currency": "USD"},
        "products": [{"id": f"tea-{n}", "name": f"Tea number {n}", "category": "Tea",
                      "price": "2.00"} for n in range(1, count + 1)],
    }))


def page(target: menu.Listing, catalog: Catalog | None = None,
         stock: dict[str, int] = NO_STOCK) -> menu.Page:
    found = menu.page_for(target, catalog or small_catalog(), stock)
    assert found is not None
    return found


def titles(page_: menu.Page) -> list[str]:
    return [row.title for row in page_.rows]


def described(page_: menu.Page) -> dict[str, str]:
    return {row.title: row.description for row in page_.rows}


def every_page(catalog: Catalog) -> Iterator[menu.Page]:
    """Every page a customer can reach, found by following the More… rows from the start."""
    starts: list[menu.Listing] = [menu.ShowCategories()]
    starts += [menu.ShowCategory(name) for name in menu.categories(catalog, NO_STOCK)]
    for start in starts:
        current: menu.Page | None = page(start, catalog)
        while current is not None:
            yield current
            more = menu.read_id(current.rows[-1].id)
            if current.number + 1 >= current.count:
                break
            assert isinstance(more, menu.ShowCategories | menu.ShowCategory)
            assert more.page == current.number + 1
            current = page(more, catalog)


# --- pages -------------------------------------------------------------------------------------


def test_categories_page_lists_only_categories_with_something_to_order() -> None:
    cats = page(menu.ShowCategories())
    assert titles(cats) == ["Wraps", "Drinks", "Pizza", "Burgers"]  # Desserts: baklava is off
    assert described(cats)["Wraps"] == "1 item"
    assert cats.count == 1 and cats.id == "menu:cats:0"


def test_item_prices_use_the_default_variant_or_from_the_cheapest() -> None:
    catalog = small_catalog()
    prices = {title: desc for p in ("Wraps", "Drinks", "Pizza", "Burgers")
              for title, desc in described(page(menu.ShowCategory(p), catalog)).items()}
    assert prices == {"Chicken Shawarma": "$7.50", "Pepsi": "$1.50",
                      "Margherita Pizza": "from $9.00", "Burger": "$10.00"}


def test_prices_follow_the_shop_currency() -> None:
    catalog = Catalog(CatalogFile.model_validate({
        "shop": {"name": "Souq", "currency": "KWD"},
        "products": [{"id": "tea", "name": "Tea", "category": "Hot", "price": "0.5"}]}))
    assert described(page(menu.ShowCategory("Hot"), catalog)) == {"Tea": "0.500 KWD"}


def test_unavailable_and_sold_out_products_are_not_listed() -> None:
    catalog = small_catalog()
    assert "Baklava" not in str(list(every_page(catalog)))
    sold_out = {"pepsi": 0}
    assert "Drinks" not in titles(page(menu.ShowCategories(), catalog, sold_out))
    assert menu.page_for(menu.ShowCategory("Drinks"), catalog, sold_out) is None
    assert menu.page_for(menu.ShowCategory("Desserts"), catalog, NO_STOCK) is None


def test_catalog_stock_of_zero_hides_the_product_in_the_real_menu() -> None:
    catalog = fixture_catalog("restaurant")
    gone = [p for p in catalog.products if p.stock == 0 or not p.available]
    assert gone  # the sample menu has both kinds
    listed = {row.id for p in every_page(catalog) for row in p.rows}
    assert not {menu.add_id(p.id) for p in gone} & listed


@pytest.mark.parametrize(("total", "starts"), [
    (1, [0]), (10, [0]), (11, [0, 9]), (19, [0, 9]), (20, [0, 9, 18]), (28, [0, 9, 18])])
def test_pages_hold_nine_rows_and_more_and_the_last_up_to_ten(
        total: int, starts: list[int]) -> None:
    assert menu.page_starts(total) == starts


def test_a_long_category_pages_through_every_item_once() -> None:
    catalog = one_category_catalog(23)
    first = page(menu.ShowCategory("Tea"), catalog)
    assert first.count == 3
    assert titles(first)[-1] == "More…" and first.rows[-1].description == "Page 2 of 3"
    pages = [p for p in every_page(catalog) if p.kind == "items"]
    added = [row.title for p in pages for row in p.rows if row.id.startswith("menu:add:")]
    assert added == [f"Tea number {n}" for n in range(1, 24)]
    assert [len(p.rows) for p in pages] == [10, 10, 5]
    assert "Page 2 of 3" in menu.body(pages[1])


def test_a_page_past_the_end_shows_the_last_page() -> None:
    last = page(menu.ShowCategory("Tea", 7), one_category_catalog(23))
    assert last.number == 2 and titles(last)[-1] == "Tea number 23"


def test_long_names_are_cut_with_an_ellipsis_and_shown_whole_below() -> None:
    catalog = fixture_catalog("grocery")
    rows = [row for p in every_page(catalog) for row in p.rows]
    row = next(r for r in rows if r.id == "menu:add:blue-valley-organic-basmati-rice")
    assert row.title == "Blue Valley Organic Bas…"
    assert row.description.startswith("$") and "Blue Valley Organic Basmati Rice" in row.description


# --- row ids -----------------------------------------------------------------------------------


def test_row_ids_say_what_a_tap_does() -> None:
    assert menu.read_id("menu:cats:1") == menu.ShowCategories(1)
    assert menu.read_id("menu:cat:2:Oil, Sugar & Salt") == menu.ShowCategory("Oil, Sugar & Salt", 2)
    assert menu.read_id("menu:add:pepsi") == menu.AddItem("pepsi")


@pytest.mark.parametrize("row_id", [
    "menu:", "menu:cats:", "menu:cats:x", "menu:cat:1:", "menu:cat::Drinks", "menu:cat:-1:Drinks",
    "menu:add:", "menu:zzz:1", "ans:3:large", "menu:cats:99999", "menu:cat:٣:Drinks"])
def test_ids_we_do_not_make_are_refused(row_id: str) -> None:
    assert menu.read_id(row_id) is None


# --- typed picks -------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "picked"), [
    ("2", menu.ShowCategory("Drinks")),
    ("#2", menu.ShowCategory("Drinks")),
    ("2.", menu.ShowCategory("Drinks")),
    ("number 2", menu.ShowCategory("Drinks")),
    ("the second one", menu.ShowCategory("Drinks")),
    ("pizza", menu.ShowCategory("Pizza")),
    ("Burgers!", menu.ShowCategory("Burgers")),
    ("burgrs", menu.ShowCategory("Burgers")),  # near spelling, on the category page only
    ("7", menu.BadNumber(4)),
    ("0", menu.BadNumber(4)),
    ("more", None),  # one page only
    ("2 pepsi", None),  # an order: left to the parser
    ("pizza margherita", None),
])
def test_a_typed_answer_to_the_category_list(typed: str, picked: menu.Pick | None) -> None:
    catalog = small_catalog()
    assert menu.read_pick(page(menu.ShowCategories(), catalog), typed, catalog, NO_STOCK) == picked


def test_typed_more_and_numbers_on_an_item_page() -> None:
    catalog = one_category_catalog(23)
    second = page(menu.ShowCategory("Tea", 1), catalog)
    assert menu.read_pick(second, "more", catalog, NO_STOCK) == menu.ShowCategory("Tea", 2)
    assert menu.read_pick(second, "10", catalog, NO_STOCK) == menu.ShowCategory("Tea", 2)
    assert menu.read_pick(second, "1", catalog, NO_STOCK) == menu.AddItem("tea-10")
    assert menu.read_pick(second, "back", catalog, NO_STOCK) == menu.ShowCategories()
    assert menu.read_pick(second, "tea number 12", catalog, NO_STOCK) is None  # the parser's job
    last = page(menu.ShowCategory("Tea", 2), catalog)
    assert menu.read_pick(last, "more", catalog, NO_STOCK) is None


def test_a_category_part_or_typo_is_read_on_the_grocery_category_page() -> None:
    catalog = fixture_catalog("grocery")
    cats = page(menu.ShowCategories(), catalog)
    assert menu.read_pick(cats, "coffee", catalog, NO_STOCK) == menu.ShowCategory("Coffee & Tea")
    assert menu.read_pick(cats, "froozen", catalog, NO_STOCK) == menu.ShowCategory("Frozen")
    assert menu.read_pick(cats, "more", catalog, NO_STOCK) == menu.ShowCategories(1)
    # On an item page a category must be named in full: "tea" may be an order there.
    items = page(menu.ShowCategory("Drinks"), catalog)
    assert menu.read_pick(items, "tea", catalog, NO_STOCK) is None
    assert menu.read_pick(items, "frozen", catalog, NO_STOCK) == menu.ShowCategory("Frozen")


# --- WhatsApp limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["restaurant", "grocery"])
def test_every_menu_page_of_the_sample_catalogs_passes_the_whatsapp_limits(name: str) -> None:
    catalog = fixture_catalog(name)
    pages = list(every_page(catalog))
    listed = {row.id for p in pages for row in p.rows if row.id.startswith("menu:add:")}
    offered = {menu.add_id(p.id) for p in catalog.products if menu.listable(p, NO_STOCK)}
    assert listed == offered  # every product one can order is reachable, nothing else
    for current in pages:
        reply = menu.render(current)
        assert isinstance(reply, ListReply)
        assert validate_outbound(graph_payload(reply, "15550002222")) == [], current.id
        assert all(len(row_id) <= 100 for row_id, _, _ in reply.rows)
    assert name != "grocery" or len([p for p in pages if p.kind == "categories"]) == 2


def test_the_welcome_list_passes_the_limits_and_stays_short() -> None:
    for name in ("restaurant", "grocery"):
        catalog = fixture_catalog(name)
        parser = ScriptedParser()
        [reply] = decide(ConversationState(), CustomerText("hi"),
                         Context(catalog, parser, "Alexandra Long-Name")).replies
        assert isinstance(reply, ListReply)
        assert validate_outbound(graph_payload(reply, "15550002222")) == []
        assert len(reply.body) < 300


def test_a_list_label_reworded_past_the_limit_falls_back_to_numbered_text(
        tmp_path: Path) -> None:
    mine = tmp_path / "texts.yaml"
    mine.write_text('menu_items_button: "Have a look at everything"\n', encoding="utf-8")
    texts.load_overrides(mine)
    reply = menu.render(page(menu.ShowCategory("Pizza")))
    assert isinstance(reply, TextReply)
    assert "1. Margherita Pizza — from $9.00" in reply.body
    assert validate_outbound(graph_payload(reply, "15550002222")) == []


# --- in the conversation -----------------------------------------------------------------------


def context(script: dict[str, ParseResult] | None = None,
            stock: dict[str, int] | None = None) -> Context:
    return Context(small_catalog(), ScriptedParser(script), "Alex Buyer", stock=stock or {})


def only_list(decision: Decision) -> ListReply:
    reply = decision.replies[-1]
    assert isinstance(reply, ListReply)
    return reply


def row(reply: ListReply, title: str) -> str:
    return next(row_id for row_id, row_title, _ in reply.rows if row_title == title)


def bodies(replies: tuple[Reply, ...]) -> str:
    return "\n".join(r.body for r in replies)


def summary(decision: Decision) -> str:
    reply = decision.replies[-1]
    assert isinstance(reply, ButtonsReply) and reply.buttons[0][1] == "Confirm"
    return reply.body


def test_hi_gets_a_short_welcome_with_the_categories_a_tap_away() -> None:
    hello = decide(ConversationState(), CustomerText("Hi!"), context())
    welcome = only_list(hello)
    assert welcome.body.startswith("Hi Alex! Welcome to Test Grill.")
    assert "$" not in welcome.body  # no price list in the text any more
    assert [title for _, title, _ in welcome.rows] == ["Wraps", "Drinks", "Pizza", "Burgers"]
    assert hello.state.browse == "menu:cats:0"


def test_tapping_a_category_then_an_item_puts_it_in_the_cart() -> None:
    ctx = context()
    hello = decide(ConversationState(), CustomerText("menu"), ctx)
    wraps = decide(hello.state, ButtonTap(row(only_list(hello), "Wraps")), ctx)
    assert only_list(wraps).rows[0][1:] == ("Chicken Shawarma", "$7.50")
    added = decide(wraps.state, ButtonTap(row(only_list(wraps), "Chicken Shawarma")), ctx)
    assert "1 × Chicken Shawarma (Regular) — $7.50" in summary(added)
    again = decide(added.state, ButtonTap("menu:add:chicken-shawarma"), ctx)
    assert "2 × Chicken Shawarma (Regular) — $15.00" in summary(again)


def test_an_item_without_a_default_size_gets_the_usual_question() -> None:
    ctx = context()
    asked = decide(ConversationState(), ButtonTap("menu:add:margherita"), ctx)
    assert "Which one would you like for your Margherita Pizza?" in bodies(asked.replies)
    answered = decide(asked.state, CustomerText("large"), ctx)
    assert "1 × Margherita Pizza (Large) — $13.00" in summary(answered)


def test_typed_numbers_and_names_browse_like_taps() -> None:
    ctx = context()
    hello = decide(ConversationState(), CustomerText("hello"), ctx)
    drinks = decide(hello.state, CustomerText("2"), ctx)
    assert only_list(drinks).body.startswith("*Drinks*")
    assert drinks.state.browse == "menu:cat:0:Drinks"
    pepsi = decide(drinks.state, CustomerText("1"), ctx)
    assert "1 × Pepsi (Small) — $1.50" in summary(pepsi)
    named = decide(hello.state, CustomerText("Pizza please"), ctx)
    assert [t for _, t, _ in only_list(named).rows] == ["Margherita Pizza"]


def test_a_number_not_on_the_list_is_explained_and_the_list_shown_again() -> None:
    ctx = context()
    hello = decide(ConversationState(), CustomerText("menu"), ctx)
    wrong = decide(hello.state, CustomerText("9"), ctx)
    assert "from 1 to 4" in wrong.replies[0].body
    assert only_list(wrong).rows == only_list(hello).rows
    assert wrong.state == hello.state


def test_after_the_summary_a_typed_number_is_not_a_menu_pick() -> None:
    ctx = context({"3": ParseResult()})
    hello = decide(ConversationState(), CustomerText("menu"), ctx)
    added = decide(hello.state, ButtonTap("menu:add:pepsi"), ctx)
    assert added.state.browse == ""
    typed = decide(added.state, CustomerText("3"), ctx)
    assert typed.state.cart == added.state.cart  # not the Pizza category
    assert not any(isinstance(r, ListReply) for r in typed.replies)


def test_menu_during_a_question_then_the_answer_still_counts() -> None:
    ctx = context({"pizza": ParseResult(lines=(ParsedLine("margherita", 1, None),))})
    asked = decide(ConversationState(), CustomerText("pizza"), ctx)
    assert asked.state.asking is not None
    browsing = decide(asked.state, CustomerText("show me the menu"), ctx)
    assert browsing.state.browse == "menu:cats:0" and browsing.state.asking == asked.state.asking
    answered = decide(browsing.state, CustomerText("medium"), ctx)
    assert "1 × Margherita Pizza (Medium) — $11.00" in summary(answered)


@pytest.mark.parametrize(("row_id", "says"), [
    ("menu:add:lasagna", "no longer on our menu"),
    ("menu:cat:0:Soups", "out of date"),
    ("menu:cat:x:Drinks", "out of date"),
    ("menu:whatever", "out of date"),
    ("menu:add:baklava", "Baklava is not available"),
])
def test_a_stale_or_unknown_row_gets_a_helpful_reply_and_the_menu(row_id: str, says: str) -> None:
    ctx = context()
    tapped = decide(ConversationState(), ButtonTap(row_id), ctx)
    assert says in tapped.replies[0].body
    assert only_list(tapped).rows[0][0] == "menu:cat:0:Wraps"
    assert tapped.state.cart == ()


def test_a_sold_out_item_tapped_from_an_old_list_shows_its_category() -> None:
    ctx = context(stock={"chicken-shawarma": 0, "pepsi": 5})
    tapped = decide(ConversationState(), ButtonTap("menu:add:pepsi"), ctx)
    assert "1 × Pepsi" in summary(tapped)
    ctx = context(stock={"pepsi": 0})
    refused = decide(ConversationState(), ButtonTap("menu:add:pepsi"), ctx)
    assert "Pepsi is not available" in refused.replies[0].body
    assert refused.state.cart == ()


def test_taps_keep_the_cart_and_the_browse_state_survives_a_restart() -> None:
    ctx = context()
    added = decide(ConversationState(), ButtonTap("menu:add:pepsi"), ctx)
    hello = decide(added.state, CustomerText("menu"), ctx)
    assert hello.state.cart == added.state.cart
    stored = ConversationState.from_json(hello.state.to_json())
    assert stored == hello.state
    drinks = decide(stored, CustomerText("2"), ctx)
    assert drinks.state.browse == "menu:cat:0:Drinks"
    assert "Total: $1.50" in summary(added)
