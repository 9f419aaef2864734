"""The kitchen ticket: a versioned JSON document built from a confirmed order. Pure.

Schema `orderbot.ticket.v1` (documented in the README): receivers may rely on every key here.
Keys are only ever added to v1 (delivery, note, prepare_at, a line's category, part came later),
never renamed or removed. `part` is added by bot.routing to a ticket that carries only some of
the order's lines.
"""

from __future__ import annotations

import unicodedata
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
        "lines": [_line(line, catalog) for line in priced.lines],
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


def _line(line: PricedLine, catalog: Catalog) -> dict[str, Any]:
    item = line.line
    product = catalog.product(item.product)
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
        # The menu category: routes send a category to its station (bot.routing).
        "category": product.category if product is not None else "",
    }


def render_ticket_text(ticket: dict[str, Any], width: int = 42) -> str:
    """Plain-text ticket for a screen or a receipt printer, never wider than `width` columns.

    58 mm paper takes 32 columns, 80 mm 42 or 48. Widths are counted in display columns
    (a CJK character or an emoji takes two), long words are cut, and continuation lines are
    indented under their line so a wrapped product name still reads as one item.
    """
    width = max(width, MIN_WIDTH)
    order = ticket["order"]
    rule, thin = "=" * width, "-" * width
    customer = ticket.get("customer") or {}
    out = [rule]
    out += _centered(f"ORDER {order['display_number']}", width)
    out += _centered(f"{str(order['fulfillment']).upper()} · {customer.get('first_name', '')}"
                     .rstrip(" ·"), width)
    out += _centered(_local_time(order["created_at"]), width)
    if ticket.get("prepare_at"):
        # Taken while closed: the kitchen starts it at this local time, not on arrival.
        out += _centered(f"PRE-ORDER {_local_time(ticket['prepare_at'])}", width)
    part = ticket.get("part")
    if part:
        # Routed: other lines of the order went to another station; say so on the paper.
        out += _centered(f"PART: {part['lines']} OF {part['of']} LINES", width)
    out.append(rule)
    delivery = ticket.get("delivery")
    if delivery:
        out += _wrap(f"TO: {delivery['address']}" if delivery.get("address") else "TO:", width)
        if delivery.get("latitude") is not None:
            out += _wrap(f"PIN: {delivery['latitude']:.5f},{delivery['longitude']:.5f}", width)
    if ticket.get("note"):
        out += _wrap(f"NOTE: {ticket['note']}", width)
    if delivery or ticket.get("note"):
        out.append(thin)
    for line in ticket["lines"]:
        out += _line_text(line, width)
    out.append(rule)
    if not part:  # a partial ticket's total would not match the lines on it
        amount = f"{ticket['total']} {ticket['currency']}"
        out += _label_right("TOTAL", amount, width)
        out.append(rule)
    return "\n".join(out)


MIN_WIDTH = 20  # below this even "ORDER #1001" and a quantity column stop making sense
LINE_INDENT = "   "  # options, removals and notes sit under their item


def _line_text(line: dict[str, Any], width: int) -> list[str]:
    variant = f" ({line['variant']})" if line.get("variant") else ""
    head = f"{line['quantity']} x "
    # Continuation lines of a long name start under the name, not under the quantity.
    out = _wrap(f"{head}{line['product']}{variant}", width,
                indent=" " * min(_columns(head), width // 2))
    for option in line.get("options", []):
        qualifier = f"{option['qualifier']} " if option.get("qualifier") else ""
        out += _wrap(f"{LINE_INDENT}+ {qualifier}{option['name']}", width,
                     indent=LINE_INDENT + "  ")
    for removed in line.get("removed", []):
        # Shouted: a missed "no onion" is the mistake a customer notices first.
        out += _wrap(f"{LINE_INDENT}NO {removed['name'].upper()}", width,
                     indent=LINE_INDENT + "   ")
    if line.get("note"):
        out += _wrap(f"{LINE_INDENT}note: {line['note']}", width, indent=LINE_INDENT + "  ")
    return out


def _local_time(iso: str) -> str:
    """'2026-11-27T19:41:00-05:00' -> '2026-11-27 19:41' (the shop's own clock)."""
    return iso[:16].replace("T", " ")


def _label_right(label: str, value: str, width: int) -> list[str]:
    """'TOTAL' on the left and the amount flush right, or on two lines when it cannot fit."""
    gap = width - _columns(label) - _columns(value)
    if gap >= 1:
        return [label + " " * gap + value]
    return _wrap(label, width) + [_pad_left(part, width) for part in _wrap(value, width)]


def _pad_left(text: str, width: int) -> str:
    return " " * max(width - _columns(text), 0) + text


def _centered(text: str, width: int) -> list[str]:
    lines = _wrap(text, width)
    centred = []
    for line in lines:
        spare = width - _columns(line)
        centred.append(" " * (spare // 2) + line)
    return centred


def _char_columns(char: str) -> int:
    """Display columns of one character: 0 for combining marks, 2 for wide (CJK, emoji)."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _columns(text: str) -> int:
    return sum(_char_columns(char) for char in text)


def _wrap(text: str, width: int, indent: str = LINE_INDENT) -> list[str]:
    """Greedy word wrap by display columns; a word wider than the paper is cut.

    textwrap counts characters, which lets a line of wide characters run off the paper.
    Leading spaces of `text` are kept (they indent the first line); later lines get `indent`.
    """
    current = text[: len(text) - len(text.lstrip())]  # the line being filled, with its indent
    lines: list[str] = []
    for word in text.split():
        if current.strip():
            if _columns(current) + 1 + _columns(word) <= width:
                current += " " + word
                continue
            lines.append(current)
            current = indent
        for char in word:  # the word starts a line; cut it where the paper ends
            if _columns(current) + _char_columns(char) > width:
                lines.append(current)
                current = indent
            current += char
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines
