"""The owner report's arithmetic on a small fixture day (bot.report, pure)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.cart import CartLine, price_cart
from bot.report import (
    Activity,
    OrderFact,
    Period,
    Report,
    SoldLine,
    build,
    render_text,
    to_json,
)
from tests.unit.shop import small_catalog

NEW_YORK = ZoneInfo("America/New_York")  # the fixture shop's timezone (UTC-5 in November)
DAY = date(2026, 11, 27)
ACTIVITY = Activity(messages=40, failed=1, limited=2, dead_letters=1, dead_now=3)


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A moment in New York, as the database stores it (UTC)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def sold(product: str, quantity: int, variant: str | None, total: str | None) -> SoldLine:
    return SoldLine(product, variant, quantity, None if total is None else Decimal(total))


def order(number: int, at: datetime, total: str, *lines: SoldLine, status: str = "new",
          currency: str = "USD", fulfillment: str = "pickup",
          assisted: bool | None = False) -> OrderFact:
    return OrderFact(number, at, status, Decimal(total), currency, fulfillment, lines, assisted)


def cancelled(number: int, hour: int, by: str | None, reason: str = "") -> OrderFact:
    return OrderFact(number, local(hour), "cancelled", Decimal("5.00"), "USD", "pickup",
                     (sold("pepsi", 1, "small", "5.00"),), False, by, reason)


FIXTURE_DAY = [
    order(1001, local(12, 10), "15.00", sold("chicken-shawarma", 2, "regular", "15.00")),
    order(1002, local(19, 5), "18.00", sold("margherita", 1, "large", "13.00"),
          sold("pepsi", 2, "large", "5.00"), fulfillment="delivery", assisted=True),
    # Stored before line totals were kept: its line is priced at today's menu.
    order(1003, local(19, 40), "9.50", sold("chicken-shawarma", 1, "large", None),
          assisted=None),
    # 23:30 in New York is 04:30 UTC on the 28th: still the 27th for the shop.
    order(1004, local(23, 30), "1.50", sold("pepsi", 1, "small", "1.50")),
    order(1005, local(19, 50), "9.00", sold("margherita", 1, "small", "9.00"),
          status="cancelled"),
    # Placed before the shop switched its currency: its money cannot be added to dollars.
    order(1006, local(13, 0), "7.00", sold("pepsi", 1, "small", "7.00"), currency="EUR"),
    # 20:00 on the 26th in New York is 01:00 UTC on the 27th: the shop's previous day.
    order(1000, local(20, 0, DAY - timedelta(days=1)), "99.00",
          sold("burger", 9, None, "99.00")),
]


def report_for(day: date = DAY, days: int = 1) -> Report:
    return build(Period.days_ending(day, days, NEW_YORK), FIXTURE_DAY, ACTIVITY, small_catalog())


def test_the_day_is_the_shops_day_not_utcs() -> None:
    period = Period.days_ending(DAY, 1, NEW_YORK)
    assert period.start == datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
    assert period.holds(local(23, 30)) and local(23, 30).date() == date(2026, 11, 28)
    assert not period.holds(local(20, 0, DAY - timedelta(days=1)))
    counted = report_for()
    assert counted.confirmed == 5 and counted.cancelled == 1  # not the 26th's burger order
    assert "burger" not in {item.product for item in counted.top_items}
    next_day = report_for(DAY + timedelta(days=1))
    assert next_day.confirmed == 0 and next_day.revenue == 0  # the 23:30 order is not the 28th's


def test_a_day_with_daylight_saving_change_is_23_hours() -> None:
    spring = Period.days_ending(date(2026, 3, 8), 1, NEW_YORK)
    assert spring.end - spring.start == timedelta(hours=23)


def test_revenue_is_exact_and_leaves_out_cancelled_and_foreign_currency_orders() -> None:
    report = report_for()
    assert report.revenue == Decimal("44.00")  # 15.00 + 18.00 + 9.50 + 1.50
    assert report.average == Decimal("11.00")  # four dollar orders
    assert report.other_currencies == (("EUR", 1, Decimal("7.00")),)
    assert (report.pickup, report.delivery) == (4, 1)


def test_top_items_by_quantity_with_their_revenue() -> None:
    items = [(i.product, i.quantity, i.revenue, i.estimated) for i in report_for().top_items]
    assert items == [
        ("pepsi", 4, Decimal("6.50"), False),  # the euro pepsi is sold, but not dollars
        ("chicken-shawarma", 3, Decimal("24.50"), True),  # 15.00 + the large at 9.50
        ("margherita", 1, Decimal("13.00"), False),  # the cancelled small one is not sold
    ]


def test_busiest_hour_and_orders_without_human_help() -> None:
    report = report_for()
    assert (report.busiest_hour, report.busiest_orders) == (19, 3)  # the cancelled one too
    assert (report.unassisted, report.assisted, report.help_unknown) == (3, 1, 1)
    assert report.unassisted_share == Decimal("0.75")


def test_the_text_an_owner_reads() -> None:
    text = render_text(report_for(), small_catalog())
    assert text.startswith("Test Grill — Friday 27 November 2026 (America/New_York)")
    assert "5 confirmed, 1 cancelled" in text
    assert "$44.00 (average order $11.00)" in text
    assert "1 order in EUR (7.00 EUR)" in text and "not counted above" in text
    assert "4 pickup, 1 delivery" in text
    assert "19:00–20:00 (3 orders)" in text
    assert "3 of 4 orders (75%)" in text and "1 older order did not record it" in text
    top = text[text.index("Top items"):text.index("Problems")]
    assert top.index("Pepsi") < top.index("Chicken Shawarma") < top.index("Margherita Pizza")
    assert "≈$24.50" in top and "today's menu prices" in top
    problems = text[text.index("Problems"):]
    assert "1 message could not be processed" in problems
    assert "2 messages over the rate limit" in problems
    assert "1 delivery (replies or tickets) failed for good" in problems
    assert "orderbot outbox list --state dead" in problems
    assert "3 failed deliveries from any day can be sent again" in problems
    assert "40 customer messages received" in text


def test_a_quiet_day_says_so_without_dividing_by_zero() -> None:
    empty = build(Period.days_ending(DAY, 1, NEW_YORK), [], Activity(), small_catalog())
    assert empty.average is None and empty.busiest_hour is None
    assert empty.unassisted_share is None and empty.top_items == ()
    text = render_text(empty, small_catalog())
    assert "0 confirmed" in text and "$0.00" in text and "Problems\n  none" in text
    assert to_json(empty)["average_order"] is None


def test_json_for_scripts_keeps_money_as_decimal_strings() -> None:
    data = json.loads(json.dumps(to_json(report_for())))
    assert data["from"] == data["to"] == "2026-11-27"
    assert data["timezone"] == "America/New_York" and data["currency"] == "USD"
    assert data["orders"] == {
        "confirmed": 5, "cancelled": 1, "pickup": 4, "delivery": 1,
        # The fixture's cancelled order is from before who cancelled was recorded.
        "cancelled_by": {"screen": 0, "system": 0, "operator": 0, "unknown": 1},
        "cancel_reasons": []}
    assert data["revenue"] == "44.00" and data["average_order"] == "11.00"
    assert data["help"] == {"none": 3, "human": 1, "unknown": 1, "no_help_share": 0.75}
    assert data["top_items"][0] == {"product": "pepsi", "name": "Pepsi", "quantity": 4,
                                    "revenue": "6.50", "estimated": False}
    assert data["failures"] == {"messages_failed": 1, "messages_rate_limited": 2,
                                "dead_letters": 1, "dead_letters_waiting": 3}


def test_several_days_add_up() -> None:
    week = report_for(DAY + timedelta(days=1), days=3)  # the 26th to the 28th
    assert week.period.label() == "26 – 28 November 2026"
    assert week.confirmed == 6 and week.revenue == Decimal("143.00")  # with the burger order


def test_days_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Period.days_ending(DAY, 0, NEW_YORK)


def test_lines_read_as_the_processor_stores_them() -> None:
    catalog = small_catalog()
    priced = price_cart((CartLine("chicken-shawarma", 2, "large", (("cheese", None),)),),
                        catalog)
    stored = json.loads(json.dumps([{**line.line.to_json(), "line_total": str(line.total)}
                                    for line in priced.lines]))
    assert SoldLine.from_json(stored[0]) == SoldLine("chicken-shawarma", "large", 2,
                                                     Decimal("21.00"), ("cheese",))
    old = {key: value for key, value in stored[0].items() if key != "line_total"}
    report = build(Period.days_ending(DAY, 1, NEW_YORK),
                   [order(1, local(9), "21.00", SoldLine.from_json(old))], Activity(), catalog)
    assert report.top_items[0].revenue == Decimal("21.00")  # today's menu, options included


# A day with cancellations from each side: the kitchen screen, a kitchen system (status
# callback), an operator (`orderbot order cancel`), and one from before who was recorded.
CANCELLATIONS = [
    cancelled(2001, 11, "screen", "out of dough"),
    cancelled(2002, 12, "operator", "closing early"),
    cancelled(2003, 13, "screen", "Out of dough"),  # the same reason, typed differently
    cancelled(2004, 14, "system", ""),  # no reason given: not a reason to list
    cancelled(2005, 15, None),  # cancelled before orderbot recorded who
    cancelled(2006, 16, "system", "fryer down"),
    cancelled(2007, 17, "screen", "no driver"),  # a fourth reason: not in the top three
    order(2008, local(18), "9.00", sold("margherita", 1, "small", "9.00")),
]


def cancellations_report() -> Report:
    return build(Period.days_ending(DAY, 1, NEW_YORK), CANCELLATIONS, Activity(),
                 small_catalog())


def test_cancellations_are_broken_down_by_who_with_the_top_reasons() -> None:
    report = cancellations_report()
    assert (report.confirmed, report.cancelled) == (1, 7)
    assert report.cancelled_by == (("screen", 3), ("system", 2), ("operator", 1),
                                   ("unknown", 1))
    # Most told first; ties keep the earlier order's reason first.
    assert report.cancel_reasons == (("out of dough", 2), ("closing early", 1),
                                     ("fryer down", 1))
    assert report.revenue == Decimal("9.00")  # cancelled orders still bring in nothing


def test_the_owner_reads_who_cancelled_and_why() -> None:
    text = render_text(cancellations_report(), small_catalog())
    assert ("Orders          1 confirmed, 7 cancelled (kitchen screen 3, kitchen system 2, "
            "operator 1, not recorded 1)\n") in text
    assert "Cancel reasons  out of dough ×2, closing early ×1, fryer down ×1\n" in text
    assert "no driver" not in text


def test_cancellations_from_before_it_was_recorded_are_not_broken_down() -> None:
    text = render_text(report_for(), small_catalog())  # its one cancellation is older
    assert "5 confirmed, 1 cancelled\n" in text
    assert "not recorded" not in text and "Cancel reasons" not in text
    only_unreasoned = build(Period.days_ending(DAY, 1, NEW_YORK),
                            [cancelled(3001, 12, "operator")], Activity(), small_catalog())
    text = render_text(only_unreasoned, small_catalog())
    assert "0 confirmed, 1 cancelled (operator 1)\n" in text and "Cancel reasons" not in text


def test_json_gives_scripts_who_cancelled_and_the_reasons() -> None:
    data = json.loads(json.dumps(to_json(cancellations_report())))
    assert data["orders"]["cancelled_by"] == {"screen": 3, "system": 2, "operator": 1,
                                              "unknown": 1}
    assert data["orders"]["cancel_reasons"] == [
        {"reason": "out of dough", "orders": 2}, {"reason": "closing early", "orders": 1},
        {"reason": "fryer down", "orders": 1}]
