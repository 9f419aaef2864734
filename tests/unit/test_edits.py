"""Cart edits in free text: reading their shape, and placing them against a cart.

The placing tests use the real order parser on the sample restaurant menu, because an edit is
only claimed when the parser confirms what its words name.
"""

from __future__ import annotations

from functools import cache

import pytest

from bot.cart import CartLine
from bot.edits import (
    AddItems,
    AddMore,
    AskWhich,
    Change,
    ClearCart,
    Edit,
    Edited,
    LineChange,
    Modify,
    Negate,
    NothingFits,
    NotInOrder,
    RemoveItems,
    SetQuantity,
    Undo,
    UnknownItem,
    apply_change,
    plan_edit,
    read_edit,
)
from catalog.catalog import Catalog
from catalog.loader import load_catalog
from parsers import OrderParser
from tests.paths import RESTAURANT_CATALOG


@cache
def menu() -> tuple[Catalog, OrderParser]:
    catalog = load_catalog(RESTAURANT_CATALOG)
    return catalog, OrderParser(catalog)


SHAWARMA = CartLine("chicken-shawarma", 2, "regular")
PEPSI = CartLine("pepsi", 1, "large")
BURGER = CartLine("cheeseburger", 1, None, (("medium", None),))
FRIES = CartLine("fries", 1, "regular")
CART = (SHAWARMA, PEPSI, BURGER, FRIES)


def plan(text: str, cart: tuple[CartLine, ...] = CART, *, bare_words: bool = True) -> object:
    catalog, parser = menu()
    return plan_edit(text, cart, catalog, parser, bare_words=bare_words)


def edited(text: str, cart: tuple[CartLine, ...] = CART) -> tuple[CartLine, ...]:
    outcome = plan(text, cart)
    assert isinstance(outcome, Edited), outcome
    return outcome.cart


@pytest.mark.parametrize(("text", "edit"), [
    ("make it 3", SetQuantity(3)),
    ("make that 2 please", SetQuantity(2)),
    ("3 of them", SetQuantity(3)),
    ("make the pepsi two", SetQuantity(2, "pepsi")),
    ("Remove the pepsi please!", RemoveItems("pepsi")),
    ("take off the fries", RemoveItems("fries")),
    ("delete the last one", RemoveItems("")),
    ("no pepsi", Negate("pepsi")),
    ("undo", Undo()),
    ("start over", ClearCart()),
    ("clear the order", ClearCart()),
    ("no, large", Change("large", "", correction=True, explicit=False)),
    ("large instead", Change("large", "", correction=True, explicit=False)),
    ("the large one", Change("large", "", correction=True, explicit=False)),
    ("actually make it large", Change("large", "", correction=True)),
    ("change it to large", Change("large")),
    ("change the burger to chicken", Change("chicken", "burger")),
    ("swap the pepsi for a 7up", Change("7up", "pepsi")),
    ("instead of the pepsi a 7up", Change("7up", "pepsi")),
    ("a coke instead of the pepsi", Change("coke", "pepsi")),
    ("add extra cheese to the burger", Modify("extra cheese", "burger")),
    ("no onions on the shawarma", Modify("no onions", "shawarma")),
    ("with garlic sauce on the wrap", Modify("with garlic sauce", "wrap")),
    ("I forgot the fries", AddItems("fries")),
    ("and 2 more shawarma", AddMore(2, "shawarma")),
    ("one more", AddMore(1)),
])
def test_the_shape_of_each_edit_is_read(text: str, edit: Edit) -> None:
    assert read_edit(text) == edit


@pytest.mark.parametrize("text", [
    "2 shawarma and a pepsi", "large pepsi", "a margherita", "can i get a pepsi", "also a pepsi",
    "a large margherita and a medium one", "12 Main Street", "hi", "large",
])
def test_ordinary_orders_and_answers_have_no_edit_shape(text: str) -> None:
    assert read_edit(text) is None


@pytest.mark.parametrize("text", [
    "2 shawarma and a pepsi", "large pepsi", "also a pepsi", "a cheeseburger with bacon",
    "a large margherita and a medium one", "2 chicken shawarma no garlic", "coke", "hi",
])
def test_ordinary_orders_are_not_claimed_even_with_a_full_cart(text: str) -> None:
    assert plan(text) is None


def test_a_correction_changes_the_size_of_the_last_line_that_has_it() -> None:
    cart = edited("no, small")  # only the pepsi comes in small
    assert cart == (SHAWARMA, CartLine("pepsi", 1, "small"), BURGER, FRIES)
    # Pepsi is already large: the fries are the last line that can still become large.
    assert edited("large instead") == (SHAWARMA, PEPSI, BURGER, CartLine("fries", 1, "large"))


def test_change_it_to_large_asks_which_line_when_several_could_be() -> None:
    outcome = plan("change it to large")
    assert outcome == AskWhich((0, 3), LineChange("variant", variant="large"))


def test_a_named_line_changes_and_no_other_line_moves() -> None:
    cart = edited("make the shawarma large")
    assert cart == (CartLine("chicken-shawarma", 2, "large"), PEPSI, BURGER, FRIES)
    assert edited("make the pepsi 3") == (SHAWARMA, CartLine("pepsi", 3, "large"), BURGER, FRIES)


def test_a_pick_one_choice_replaces_the_earlier_pick() -> None:
    cart = edited("change the burger to well done")
    assert cart[2] == CartLine("cheeseburger", 1, None, (("well-done", None),))
    assert cart[:2] + cart[3:] == (SHAWARMA, PEPSI, FRIES)


def test_another_product_replaces_the_line_and_keeps_its_quantity() -> None:
    two_burgers = (SHAWARMA, CartLine("cheeseburger", 2, None, (("medium", None),)))
    cart = edited("change the burger to chicken", two_burgers)
    assert [(line.product, line.quantity) for line in cart] == [
        ("chicken-shawarma", 2), ("chicken-burger", 2)]
    # A size the new item also has is kept; a count said with it wins.
    swapped = edited("swap the pepsi for 2 cokes")
    assert swapped[1] == CartLine("coca-cola", 2, "large")
    assert swapped[0] == SHAWARMA and swapped[2:] == (BURGER, FRIES)


def test_options_and_removals_go_onto_the_named_line() -> None:
    cart = edited("add extra cheese to the shawarma")
    assert cart[0] == CartLine("chicken-shawarma", 2, "regular", (("cheese", "extra"),))
    cart = edited("no onions on the burger", cart)
    assert cart[2] == CartLine("cheeseburger", 1, None, (("medium", None),), ("onions",))
    assert cart[1] == PEPSI and cart[3] == FRIES


def test_with_puts_back_an_ingredient_taken_off() -> None:
    wrap = CartLine("shish-tawook-wrap", 1, None, (), ("garlic-sauce", "pickles"))
    assert edited("with garlic sauce on the wrap", (PEPSI, wrap)) == (
        PEPSI, CartLine("shish-tawook-wrap", 1, None, (), ("pickles",)))


def test_no_item_removes_it_only_when_it_is_in_the_cart() -> None:
    assert edited("no pepsi") == (SHAWARMA, BURGER, FRIES)
    assert plan("no pepsi", (SHAWARMA,)) is None  # not ordered: not an edit of this cart
    assert edited("no onions", (SHAWARMA, PEPSI)) == (
        CartLine("chicken-shawarma", 2, "regular", (), ("onions",)), PEPSI)


def test_more_raises_the_existing_line_or_orders_when_there_is_none() -> None:
    assert edited("and 2 more shawarma")[0] == CartLine("chicken-shawarma", 4, "regular")
    assert plan("2 more falafel wraps") == AddItems("2 falafel wraps")


def test_unknown_and_impossible_targets_are_reported() -> None:
    outcome = plan("swap the pepsi for a lasagna")
    assert isinstance(outcome, UnknownItem) and outcome.unresolved.text == "lasagna"
    assert plan("remove the kunafa") == NotInOrder("kunafa")
    assert plan("make it large", (BURGER,)) == NothingFits("large")


def test_a_waiting_question_keeps_its_bare_answers() -> None:
    assert plan("no, large", bare_words=False) is None
    assert plan("the large one", bare_words=False) is None
    assert isinstance(plan("change the pepsi to small", bare_words=False), Edited)


def test_line_changes_survive_json_and_apply_the_same() -> None:
    catalog, _ = menu()
    change = LineChange("replace", line=CartLine("coca-cola", 1, "small"), keep_variant=True)
    again = LineChange.from_json(change.to_json())
    assert again == change
    assert apply_change(PEPSI, again, catalog) == CartLine("coca-cola", 1, "large")
    assert apply_change(PEPSI, LineChange("remove"), catalog) is None
    assert apply_change(PEPSI, LineChange("quantity", 0), catalog) is None


def test_adding_to_the_whole_order_is_an_order_not_an_option() -> None:
    assert read_edit("add a pepsi to my order") == AddItems("a pepsi")
    assert read_edit("add extra cheese to the burger") == Modify("extra cheese", "burger")
