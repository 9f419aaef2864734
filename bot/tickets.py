"""The kitchen ticket: a versioned JSON document built from a confirmed order. Pure.

Schema `orderbot.ticket.v1` (documented in the README): receivers may rely on every key here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.cart import PricedCart, PricedLine
from catalog.catalog import Catalog

TICKET_SCHEMA = "orderbot.ticket.v1"


def display_number(number: int) -> str:
    return f"#{number}"


def build_ticket(
    number: int,
    created_at: datetime,
    priced: PricedCart,
    catalog: Catalog,
    customer_name: str,
    *,
    fulfillment: str = "pickup",
) -> dict[str, Any]:
    return {
        "schema": TICKET_SCHEMA,
        "order": {
            "number": number,
            "display_number": display_number(number),
            # The kitchen reads the shop's local time; the offset keeps it unambiguous.
            "created_at": (created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
                           ).astimezone(ZoneInfo(catalog.shop.timezone)).isoformat(),
            "fulfillment": fulfillment,
        },
        "shop": catalog.shop.name,
        "customer": {
            "name": customer_name,
            "first_name": customer_name.split(maxsplit=1)[0] if customer_name.strip() else "",
        },
        "lines": [_line(line) for line in priced.lines],
        "total": str(priced.total),
        "currency": catalog.shop.currency,
    }


def _line(line: PricedLine) -> dict[str, Any]:
    item = line.line
    return {
        "quantity": item.quantity,
        "product_id": item.product,
        "product": line.product_name,
        "variant_id": item.variant,
        "variant": line.variant_name,
        "options": [
            {"id": choice_id, "qualifier": qualifier, "name": name}
            for (choice_id, qualifier), name in zip(item.options, line.option_names, strict=True)
        ],
        "removed": [
            {"id": removed_id, "name": name}
            for removed_id, name in zip(item.removed, line.removed_names, strict=True)
        ],
        "note": item.note,
        "unit_price": str(line.unit_price),
        "line_total": str(line.total),
    }


def render_ticket_text(ticket: dict[str, Any], width: int = 42) -> str:
    """Plain-text ticket for a screen or receipt printer: removals shouted, notes quoted."""
    order = ticket["order"]
    rule = "=" * width
    out = [rule, f"ORDER {order['display_number']}".center(width),
           f"{order['fulfillment'].upper()} · {ticket['customer']['first_name']}".center(width),
           order["created_at"][:16].replace("T", " ").center(width), rule]
    for line in ticket["lines"]:
        variant = f" ({line['variant']})" if line["variant"] else ""
        out.append(f"{line['quantity']} x {line['product']}{variant}")
        out.extend(f"   + {(o['qualifier'] + ' ') if o['qualifier'] else ''}{o['name']}"
                   for o in line["options"])
        out.extend(f"   NO {r['name'].upper()}" for r in line["removed"])
        if line["note"]:
            out.append(f"   note: {line['note']}")
    out += [rule, f"TOTAL {ticket['total']} {ticket['currency']}".rjust(width), rule]
    return "\n".join(out)
