"""The printed ticket: fits 58 mm (32 columns) and 80 mm (42/48) paper, whatever the names."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.cart import CartLine, price_cart
from bot.tickets import build_ticket, render_ticket_text
from tests.unit.shop import small_catalog

WHEN = datetime(2026, 11, 27, 19, 30, tzinfo=UTC)
WIDTHS = (32, 42, 48)
WIDE_NAME = "珍珠奶茶 大杯 少冰 半糖 加椰果 加布丁 🧋🧋🧋"  # two columns per character


def ticket(**changes: Any) -> dict[str, Any]:
    catalog = small_catalog()
    cart = (CartLine("chicken-shawarma", 2, "large", (("cheese", "extra"),), ("garlic",),
                     "well done"), CartLine("pepsi", 1, "small"))
    return build_ticket(1001, WHEN, price_cart(cart, catalog), catalog, "Alex Buyer", **changes)


def columns(line: str) -> int:
    """Display columns as a terminal or a printer with a wide font would use them."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in line)


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if columns(line) > width]
    assert too_wide == [], f"lines wider than {width} columns: {too_wide}"


@pytest.mark.parametrize("width", WIDTHS)
def test_header_items_and_total_fit_each_paper_width(width: int) -> None:
    text = render_ticket_text(ticket(), width)
    lines = text.splitlines()
    assert lines[0] == "=" * width and lines[-1] == "=" * width
    assert "ORDER #1001" in lines[1] and lines[1].strip() == "ORDER #1001"
    assert lines[2].strip() == "PICKUP · Alex"
    assert lines[3].strip() == "2026-11-27 14:30"  # the shop's local time, not UTC
    assert "2 x Chicken Shawarma (Large)" in lines
    assert "   + extra Cheese" in lines
    assert "   NO GARLIC SAUCE" in lines  # removals shouted
    assert "   note: well done" in lines
    assert "1 x Pepsi (Small)" in lines
    total = lines[-2]
    # The label on the left, the amount flush with the right edge of the paper.
    assert total.startswith("TOTAL ") and total.endswith("22.50 USD") and len(total) == width
    assert_fits(text, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_long_names_wrap_under_the_item_and_keep_every_word(width: int) -> None:
    data = ticket()
    name = "Extraordinarily Long Family Size Chicken Shawarma Platter With Everything"
    data["lines"][0]["product"] = name
    data["lines"][0]["removed"] = [{"id": "o", "name": "Caramelised red onion marmalade"}]
    text = render_ticket_text(data, width)
    assert_fits(text, width)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("2 x Extraordinarily"))
    item = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("    ") or line.startswith("   +"):
            break
        item.append(line)
    assert len(item) >= 2  # it really wrapped
    assert all(line.startswith("    ") for line in item[1:])  # under the name, not the 2
    assert " ".join(" ".join(item).split()) == f"2 x {name} (Large)"
    shouted = " ".join(line.strip() for line in lines if "CARAMELISED" in line or
                       "MARMALADE" in line)
    assert "NO CARAMELISED RED ONION MARMALADE" in shouted


def test_a_word_longer_than_the_paper_is_cut_not_overflowing() -> None:
    data = ticket(note="ring-the-bell-twice-and-leave-it-at-the-green-door-behind-the-shop")
    text = render_ticket_text(data, 32)
    assert_fits(text, 32)
    joined = "".join(line.strip() for line in text.splitlines()
                     if "NOTE" in line or (line.startswith("   ") and "-" in line))
    assert "ring-the-bell-twice-and-leave-it-at-the-green-door-behind-the-shop" in joined


@pytest.mark.parametrize("width", WIDTHS)
def test_unicode_names_fit_by_display_columns(width: int) -> None:
    data = ticket()
    data["customer"]["first_name"] = "Zoë"
    data["lines"][0]["product"] = "شاورما دجاج كبيرة مع ثومية إضافية وبطاطا مقلية"
    data["lines"][1]["product"] = WIDE_NAME
    data["lines"][1]["removed"] = [{"id": "ice", "name": "glaçons é"}]
    text = render_ticket_text(data, width)
    assert_fits(text, width)
    assert "PICKUP · Zoë" in text
    assert "NO GLAÇONS É" in text
    # Nothing lost: every character of the wide name is somewhere on the ticket.
    squeezed = "".join(text.split())
    assert "".join(WIDE_NAME.split()) in squeezed


def test_delivery_address_pin_and_order_note_come_before_the_items() -> None:
    data = ticket(fulfillment="delivery",
                  address="Flat 3, 12 Harbour Road, behind the big green gate near the mosque",
                  location=(40.7128, -74.006), note="ring the bell twice")
    text = render_ticket_text(data, 32)
    assert_fits(text, 32)
    lines = text.splitlines()
    assert lines[2].strip() == "DELIVERY · Alex"
    to = lines.index(next(line for line in lines if line.startswith("TO: ")))
    assert lines[to] == "TO: Flat 3, 12 Harbour Road,"
    assert lines[to + 1].startswith("   behind")
    assert "PIN: 40.71280,-74.00600" in lines
    assert "NOTE: ring the bell twice" in lines
    assert lines.index("NOTE: ring the bell twice") < lines.index("2 x Chicken Shawarma (Large)")


def test_pre_order_says_when_to_start() -> None:
    data = ticket(prepare_at=datetime(2026, 11, 28, 16, 0, tzinfo=UTC))
    text = render_ticket_text(data, 42)
    assert "PRE-ORDER 2026-11-28 11:00" in text  # 16:00 UTC is 11:00 in New York


def test_a_routed_part_says_so_and_shows_no_total() -> None:
    data = ticket()
    data["lines"] = data["lines"][1:]
    data["part"] = {"lines": 1, "of": 2}
    text = render_ticket_text(data, 32)
    assert "PART: 1 OF 2 LINES" in text
    assert "TOTAL" not in text  # 22.50 is the whole order's, not these lines'
    assert "1 x Pepsi (Small)" in text and "Chicken" not in text


def test_a_long_total_moves_to_its_own_line_rather_than_overflow() -> None:
    data = ticket()
    data["total"], data["currency"] = "1234567.500", "KWD"
    lines = render_ticket_text(data, 20).splitlines()  # the narrowest paper we render for
    assert_fits("\n".join(lines), 20)
    assert lines[-3:-1] == ["TOTAL", " " * 5 + "1234567.500 KWD"]


def test_ticket_lines_name_their_menu_category() -> None:
    assert [line["category"] for line in ticket()["lines"]] == ["Wraps", "Drinks"]
