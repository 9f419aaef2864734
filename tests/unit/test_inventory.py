"""Stock rules (bot.inventory): the catalog-file sync, low-stock crossings, counts, ids."""

from __future__ import annotations

import pytest

from bot import inventory as rules
from bot.inventory import Counted, SyncStep
from catalog.catalog import Catalog
from catalog.loader import load_catalog
from tests.paths import RESTAURANT_CATALOG


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(RESTAURANT_CATALOG)


# --- which side wins when the catalog file changes ---

def test_a_newly_counted_product_starts_at_the_files_number() -> None:
    assert rules.sync_plan({"kunafa": 6}, {}) == [SyncStep("insert", ("kunafa", ""), 6)]


def test_an_unchanged_file_number_leaves_the_live_count_alone() -> None:
    # 6 in the file, sold down to 2: saving the file for a price change must not undo sales.
    assert rules.sync_plan({"kunafa": 6}, {("kunafa", ""): Counted(2, seeded=6)}) == []


def test_a_changed_file_number_is_a_recount_and_resets_the_live_count() -> None:
    plan = rules.sync_plan({"kunafa": 10}, {("kunafa", ""): Counted(2, seeded=6)})
    assert plan == [SyncStep("reset", ("kunafa", ""), 10)]


def test_removing_stock_from_the_file_makes_the_product_unlimited_again() -> None:
    rows = {("kunafa", ""): Counted(2, seeded=6), ("baklava", ""): Counted(5, seeded=24)}
    plan = rules.sync_plan({"kunafa": None}, rows)  # kunafa uncounted, baklava deleted
    assert sorted(step.key for step in plan if step.kind == "delete") == [
        ("baklava", ""), ("kunafa", "")]


def test_counts_set_by_hand_are_never_touched_by_the_file() -> None:
    rows = {("pepsi", ""): Counted(3, seeded=None), ("pepsi", "large"): Counted(1, seeded=None)}
    assert rules.sync_plan({"pepsi": None}, rows) == []


def test_a_hand_set_product_that_the_file_starts_counting_takes_the_files_number() -> None:
    plan = rules.sync_plan({"pepsi": 12}, {("pepsi", ""): Counted(3, seeded=None)})
    assert plan == [SyncStep("reset", ("pepsi", ""), 12)]


# --- low stock: once per crossing ---

def test_a_sale_crossing_the_threshold_alerts_once() -> None:
    first = rules.after_sale(2, low_stock_at=2, flagged=False)
    assert first == rules.LowStock(alert=True, flagged=True)
    again = rules.after_sale(1, low_stock_at=2, flagged=first.flagged)
    assert again == rules.LowStock(alert=False, flagged=True)


def test_a_sale_above_the_threshold_does_not_alert() -> None:
    assert rules.after_sale(3, low_stock_at=2, flagged=False) == rules.LowStock(False, False)


def test_after_a_restock_above_the_threshold_the_next_crossing_alerts_again() -> None:
    flagged = rules.after_restock(10, low_stock_at=2)
    assert flagged is False
    assert rules.after_sale(2, low_stock_at=2, flagged=flagged).alert


def test_a_restock_that_stays_low_does_not_alert_later() -> None:
    # The owner set 1 themselves: they know it is low; the next sale does not tell them again.
    flagged = rules.after_restock(1, low_stock_at=2)
    assert flagged is True
    assert not rules.after_sale(0, low_stock_at=2, flagged=flagged).alert


def test_without_a_threshold_the_owner_hears_only_when_it_sells_out() -> None:
    assert not rules.after_sale(1, low_stock_at=None, flagged=False).alert
    assert rules.after_sale(0, low_stock_at=None, flagged=False).alert


def test_alert_texts_name_the_item_and_the_restock_command(catalog: Catalog) -> None:
    low = rules.low_stock_alert(catalog, ("kunafa", ""), 2)
    assert "Kunafa" in low and "2 left" in low and "orderbot stock add kunafa N" in low
    out = rules.low_stock_alert(catalog, ("pepsi", "large"), 0)
    assert "Sold out" in out and "Pepsi (Large)" in out and "pepsi:large" in out


# --- what the conversation sees, what an order takes ---

def test_live_counts_add_up_sizes_and_a_product_count_caps_them(catalog: Catalog) -> None:
    counts = rules.live_counts([("pepsi", "small", 2), ("pepsi", "large", 0), ("kunafa", "", 4),
                                ("beef-shawarma", "", 1), ("beef-shawarma", "regular", 5),
                                ("beef-shawarma", "large", 5)], catalog)
    assert counts == {"pepsi": 2, "kunafa": 4, "beef-shawarma": 1}


def test_a_product_is_sold_out_only_when_every_size_is(catalog: Catalog) -> None:
    assert rules.live_counts([("pepsi", "small", 0), ("pepsi", "large", 0)], catalog) == {
        "pepsi": 0}
    # Only the large is counted: the small is unlimited, so pepsi as a whole is too.
    assert rules.live_counts([("pepsi", "large", 0)], catalog) == {}


def test_an_order_takes_from_the_product_and_from_its_size() -> None:
    want = rules.demand([("pepsi", "large", 2), ("pepsi", "small", 1), ("kunafa", None, 3)])
    assert want == {("pepsi", ""): 3, ("pepsi", "large"): 2, ("pepsi", "small"): 1,
                    ("kunafa", ""): 3}


# --- ids typed at the command line ---

def test_ids_parse_with_and_without_a_variant(catalog: Catalog) -> None:
    assert rules.parse_key("kunafa", catalog) == ("kunafa", "")
    assert rules.parse_key("pepsi:large", catalog) == ("pepsi", "large")
    assert rules.key_text(("pepsi", "large")) == "pepsi:large"


def test_unknown_ids_suggest_the_nearest(catalog: Catalog) -> None:
    with pytest.raises(rules.StockKeyError, match="Did you mean 'kunafa'"):
        rules.parse_key("kunafe", catalog)
    with pytest.raises(rules.StockKeyError, match=r"has no variant 'larg'.*Did you mean 'large'"):
        rules.parse_key("pepsi:larg", catalog)
    with pytest.raises(rules.StockKeyError, match="'kunafa' has no variants"):
        rules.parse_key("kunafa:large", catalog)
