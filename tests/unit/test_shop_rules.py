"""Opening hours, minimum order and availability: fixed instants, several zones, DST days."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot import shop_rules
from catalog.catalog import Catalog
from catalog.models import CatalogFile, Shop

NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def shop(**settings: Any) -> Shop:
    return Shop.model_validate({"name": "Night Grill", "timezone": "America/New_York",
                                **settings})


GRILL = shop(hours={
    "mon": "11:00-23:00", "tue": "11:00-23:00", "wed": "11:00-23:00", "thu": "11:00-23:00",
    "fri": "18:00-02:00",                       # past midnight: until 2 am on Saturday
    "sat": ["11:00-15:00", "17:00-23:00"],      # a break in the afternoon
    "sun": "closed",
})


def new_york(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time, as the aware UTC instant the bot's clock gives."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def when(at: datetime, rules: Shop = GRILL) -> str:
    state = shop_rules.opening(rules, at)
    assert not state.open and state.next_open is not None
    return shop_rules.when_text(state.next_open, at)


def test_open_inside_a_range_and_closed_outside_it() -> None:
    assert shop_rules.opening(GRILL, new_york(2026, 11, 23, 11, 0)).open  # Monday, opening
    assert shop_rules.opening(GRILL, new_york(2026, 11, 23, 22, 59)).open
    assert not shop_rules.opening(GRILL, new_york(2026, 11, 23, 23, 0)).open  # closing time


def test_closed_in_the_morning_opens_today_and_late_at_night_tomorrow() -> None:
    assert when(new_york(2026, 11, 23, 9, 15)) == "today at 11:00"
    assert when(new_york(2026, 11, 23, 23, 30)) == "tomorrow at 11:00"


def test_a_range_past_midnight_is_open_in_the_small_hours_of_the_next_day() -> None:
    assert shop_rules.opening(GRILL, new_york(2026, 11, 27, 23, 45)).open  # Friday night
    assert shop_rules.opening(GRILL, new_york(2026, 11, 28, 1, 59)).open  # Saturday 1:59 am
    assert not shop_rules.opening(GRILL, new_york(2026, 11, 28, 2, 0)).open
    assert when(new_york(2026, 11, 28, 2, 0)) == "today at 11:00"  # Saturday's first range
    # Thursday's range does not run past midnight: Friday 1 am is closed until 18:00.
    assert when(new_york(2026, 11, 27, 1, 0)) == "today at 18:00"


def test_a_break_between_two_ranges_says_when_the_second_starts() -> None:
    assert when(new_york(2026, 11, 28, 16, 0)) == "today at 17:00"


def test_a_closed_day_is_skipped_and_the_weekday_is_named() -> None:
    # Saturday 23:30: Sunday is closed, so the next opening is Monday.
    assert when(new_york(2026, 11, 28, 23, 30)) == "on Monday at 11:00"
    assert when(new_york(2026, 11, 29, 12, 0)) == "tomorrow at 11:00"  # Sunday noon


def test_a_shop_without_hours_is_always_open_and_one_closed_all_week_never_opens() -> None:
    assert shop_rules.opening(shop(), new_york(2026, 11, 29, 3, 0)).open
    never = shop(hours={day: "closed" for day in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                  "sun")})
    assert shop_rules.opening(never, new_york(2026, 11, 23, 12, 0)) == shop_rules.Opening(False)
    assert shop_rules.refusal_when_closed(never, new_york(2026, 11, 23, 12, 0)) == (
        "Sorry, we're closed at the moment and not taking orders.")


def test_hours_are_read_in_the_shops_own_time_zone() -> None:
    tokyo = shop(timezone="Asia/Tokyo", hours={"wed": "11:00-14:00"})
    new_york_shop = shop(hours={"tue": "20:00-23:00"})
    instant = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 12:00 Wed in Tokyo, 22:00 Tue in NY
    assert shop_rules.opening(tokyo, instant).open
    assert shop_rules.opening(new_york_shop, instant).open
    later = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 15:00 in Tokyo, 01:00 in New York
    assert not shop_rules.opening(tokyo, later).open
    assert shop_rules.when_text(shop_rules.opening(tokyo, later).next_open or later, later) == (
        "on Wednesday at 11:00")  # next week: Tokyo's shop only opens on Wednesdays
    assert when(later, new_york_shop) == "on Tuesday at 20:00"


def test_the_night_clocks_go_forward_the_range_keeps_its_wall_clock_times() -> None:
    night = shop(hours={"sun": "00:00-04:00", "sat": "20:00-23:00"})
    # 14 March 2027: 02:00 EST becomes 03:00 EDT; 00:00-04:00 lasts three real hours.
    assert shop_rules.opening(night, datetime(2027, 3, 14, 7, 30, tzinfo=UTC)).open  # 3:30 EDT
    assert not shop_rules.opening(night, datetime(2027, 3, 14, 8, 0, tzinfo=UTC)).open  # 4:00
    # Opening after the change is announced in the new local time.
    saturday_late = new_york(2027, 3, 13, 23, 30)
    assert when(saturday_late, night) == "tomorrow at 00:00"
    state = shop_rules.opening(night, saturday_late)
    assert state.next_open == datetime(2027, 3, 14, 5, 0, tzinfo=UTC)


def test_the_night_clocks_go_back_the_repeated_hour_stays_open() -> None:
    night = shop(hours={"sun": "00:00-04:00"})
    # 1 November 2026: 02:00 EDT becomes 01:00 EST; 00:00-04:00 lasts five real hours.
    assert shop_rules.opening(night, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)).open  # 1:30 EDT
    assert shop_rules.opening(night, datetime(2026, 11, 1, 6, 30, tzinfo=UTC)).open  # 1:30 EST
    assert shop_rules.opening(night, datetime(2026, 11, 1, 8, 59, tzinfo=UTC)).open  # 3:59 EST
    assert not shop_rules.opening(night, datetime(2026, 11, 1, 9, 0, tzinfo=UTC)).open


def test_a_closed_shop_refuses_unless_it_takes_preorders() -> None:
    late = new_york(2026, 11, 23, 23, 30)
    refusal = shop_rules.refusal_when_closed(GRILL, late)
    assert refusal is not None and "tomorrow at 11:00" in refusal
    assert shop_rules.refusal_when_closed(GRILL, new_york(2026, 11, 23, 12, 0)) is None
    preorders = GRILL.model_copy(update={"preorders": True})
    assert shop_rules.refusal_when_closed(preorders, late) is None
    assert shop_rules.preorder_time(preorders, late) == datetime(2026, 11, 24, 11, 0,
                                                                tzinfo=NEW_YORK)
    notice = shop_rules.closed_notice(preorders, late)
    assert notice is not None and "prepare your order when we open tomorrow at 11:00" in notice
    assert shop_rules.closed_notice(preorders, new_york(2026, 11, 23, 12, 0)) is None


def test_minimum_order_shortfall_is_exact_money() -> None:
    rules = shop(minimum_order="15.00")
    assert shop_rules.minimum_shortfall(rules, Decimal("11.51")) == Decimal("3.49")
    assert shop_rules.minimum_shortfall(rules, Decimal("15.00")) is None
    assert shop_rules.minimum_shortfall(shop(), Decimal("0.50")) is None


def desserts() -> Catalog:
    return Catalog(CatalogFile.model_validate({
        "shop": {"name": "Sweets"},
        "products": [
            {"id": "baklava", "name": "Baklava", "category": "Desserts", "price": "5",
             "available": False},
            {"id": "kunafa", "name": "Kunafa", "category": "Desserts", "price": "6",
             "stock": 6},
            {"id": "mahalabia", "name": "Mahalabia", "category": "Desserts", "price": "4",
             "stock": 0},
            {"id": "rice-pudding", "name": "Rice Pudding", "category": "Desserts", "price": "4"},
            {"id": "tea", "name": "Tea", "category": "Drinks", "price": "2"},
            {"id": "cake", "name": "Cake", "category": "Desserts", "price": "4"},
            {"id": "pie", "name": "Pie", "category": "Desserts", "price": "4"},
        ],
    }))


def test_alternatives_come_from_the_same_category_and_can_be_sold() -> None:
    catalog = desserts()
    # Not the item itself, not the sold-out Mahalabia, not the tea; menu order, three at most.
    assert shop_rules.alternatives(catalog, "baklava", {}) == ["Kunafa", "Rice Pudding", "Cake"]
    # A live count of zero takes the kunafa out too.
    assert shop_rules.alternatives(catalog, "baklava", {"kunafa": 0}) == [
        "Rice Pudding", "Cake", "Pie"]


def test_units_left_prefer_the_live_count_over_the_catalog() -> None:
    kunafa = desserts().product("kunafa")
    assert kunafa is not None
    assert shop_rules.units_left(kunafa, {}) == 6
    assert shop_rules.units_left(kunafa, {"kunafa": 2}) == 2
    rice = desserts().product("rice-pudding")
    assert rice is not None and shop_rules.units_left(rice, {}) is None  # not counted
