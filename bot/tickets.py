"""The kitchen ticket: a versioned JSON document built from a confirmed order. Pure.

Schema `orderbot.ticket.v1` (documented in the README): receivers may rely on every key here.
Keys are only ever added to v1 (delivery, note, prepare_at came later), never renamed or removed.
"""

from __future__ import annotations

import textwrap
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
    address: str = "",
    location: tuple[float, float] | None = None,
    note: str = "",
    prepare_at: datetime | None = None,
) -> dict[str, Any]:
    zone = ZoneInfo(catalog.shop.timezone)
    return {
        "schema": TICKET_SCHEMA,
        "order": {
            "number": number,
            "display_number": display_number(number),
            # The kitchen reads the shop's local time; the offset keeps it unambiguous.
            "created_at": _aware(created_at).astimezone(zone).isoformat(),
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
        "delivery": _delivery(address, location) if fulfillment == "delivery" else None,
        "note": note,  # the customer's note for the whole order ("ring the bell")
        # A pre-order taken while the shop was closed: start it at this (local) time.
        "prepare_at": _aware(prepare_at).astimezone(zone).isoformat() if prepare_at else None,
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _delivery(address: str, location: tuple[float, float] | None) -> dict[str, Any]:
    if location is None:
        return {"address": address, "latitude": None, "longitude": None, "maps_url": None}
    latitude, longitude = location
    return {"address": address, "latitude": latitude, "longitude": longitude,
            # A link any phone opens in its maps app, for whoever drives.
            "maps_url": f"https://www.google.com/maps/search/?api=1&query={latitude},{longitude}"}


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
           order["created_at"][:16].replace("T", " ").center(width)]
    if ticket.get("prepare_at"):
        # Taken while closed: the kitchen starts it at this local time, not on arrival.
        out.append(f"PRE-ORDER {ticket['prepare_at'][:16].replace('T', ' ')}".center(width))
    out.append(rule)
    delivery = ticket.get("delivery")
    if delivery:
        out.extend(_wrap(f"TO: {delivery['address']}" if delivery["address"] else "TO:", width))
        if delivery["latitude"] is not None:
            out.append(f"PIN: {delivery['latitude']:.5f},{delivery['longitude']:.5f}")
    if ticket.get("note"):
        out.extend(_wrap(f"NOTE: {ticket['note']}", width))
    if delivery or ticket.get("note"):
        out.append("-" * width)
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


def _wrap(text: str, width: int) -> list[str]:
    """Long addresses and notes broken on spaces so they stay on the paper."""
    return textwrap.wrap(text, width=width, subsequent_indent="   ") or [text]
