"""Kitchen ticket JSON and its text rendering."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cart import CartLine, price_cart
from bot.tickets import TICKET_SCHEMA, build_ticket, render_ticket_text
from tests.unit.shop import small_catalog

WHEN = datetime(2026, 11, 27, 19, 30, tzinfo=UTC)


def ticket() -> dict[str, object]:
    catalog = small_catalog()
    cart = (CartLine("chicken-shawarma", 2, "large", (("cheese", "extra"),), ("garlic",),
                     "well done"), CartLine("pepsi", 1, "small"))
    return build_ticket(1001, WHEN, price_cart(cart, catalog), catalog, "Alex Buyer")


def test_ticket_carries_structured_lines_and_exact_money() -> None:
    data = ticket()
    assert data["schema"] == TICKET_SCHEMA
    assert data["order"] == {"number": 1001, "display_number": "#1001",
                             "created_at": "2026-11-27T14:30:00-05:00", "fulfillment": "pickup"}
    assert data["customer"] == {"name": "Alex Buyer", "first_name": "Alex"}
    first = data["lines"][0]  # type: ignore[index]
    assert first["product"] == "Chicken Shawarma" and first["variant"] == "Large"
    assert first["options"] == [{"id": "cheese", "qualifier": "extra", "name": "Cheese"}]
    assert first["removed"] == [{"id": "garlic", "name": "Garlic sauce"}]
    assert (first["unit_price"], first["line_total"]) == ("10.50", "21.00")
    assert (data["total"], data["currency"]) == ("22.50", "USD")


def test_text_ticket_shouts_removals_and_fits_the_paper() -> None:
    text = render_ticket_text(ticket(), width=32)
    assert "ORDER #1001" in text
    assert "2 x Chicken Shawarma (Large)" in text
    assert "NO GARLIC SAUCE" in text
    assert "+ extra Cheese" in text
    assert "note: well done" in text
    assert max(len(line) for line in text.splitlines()) <= 32
