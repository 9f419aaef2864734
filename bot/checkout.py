"""Checkout details and how to read them from what a customer types. Pure.

After the customer confirms the items, the order still needs how it reaches them (pickup or
delivery, and where to) and may carry a note for the whole order. These helpers read those
from free text; bot.conversation decides when to ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot import texts
from catalog.models import FulfillmentMode, Shop

StockAnswer = Literal["trim", "remove"]
MAX_NOTE = 500
MAX_ADDRESS = 500
MIN_ADDRESS = 6  # shorter than "1 Main" cannot be found by a driver

_NOTE = re.compile(
    r"^\s*(?:(?:please|pls|and|also|can you|could you)\s+)*"
    r"(?:add\s+(?:a\s+|this\s+|the\s+)?notes?|notes?)\b\s*(?:[:\-–—,]\s*|that\s+|saying\s+)?"
    r"(?P<note>.*?)\s*$", re.IGNORECASE | re.DOTALL)
_ADDRESS_LEAD = re.compile(
    r"^\s*(?:(?:please\s+)?deliver(?:\s+it)?\s+to|address\s*[:\-]?|my\s+address\s+is|"
    r"it'?s|to)\s*[:\-]?\s*", re.IGNORECASE)
_PICKUP_WORDS = {"pickup", "pick", "collect", "collection", "takeaway", "takeout", "carryout"}
_DELIVERY_WORDS = {"delivery", "deliver", "delivered", "deliveries"}
_TRIM_WORDS = {"yes", "y", "yep", "yeah", "ok", "okay", "sure", "fine", "trim"}
_REMOVE_WORDS = {"no", "nope", "remove", "remove it", "no thanks", "no remove it", "drop it",
                 "skip it", "forget it", "take it off"}


@dataclass(frozen=True)
class OrderDetails:
    """What goes with a confirmed order besides its lines."""

    fulfilment: FulfillmentMode = "pickup"
    address: str = ""  # typed address, or the name/address of the shared pin
    location: tuple[float, float] | None = None  # (latitude, longitude) of the pin
    note: str = ""
    prepare_at: datetime | None = None  # a pre-order taken while closed: the opening time
    assisted: bool = False  # a person took over the chat while it was being taken (handoff)


def read_note(text: str) -> str | None:
    """'note: ring the bell' / 'add a note that it's a gift' -> the note; None otherwise."""
    match = _NOTE.match(text)
    if match is None or not match.group("note").strip(" .:"):
        return None
    return match.group("note").strip()[:MAX_NOTE]


def read_fulfilment(words: list[str]) -> FulfillmentMode | None:
    """'pickup', 'I'll collect it', 'deliver please' -> the mode named; None if none or both."""
    pickup = bool(_PICKUP_WORDS.intersection(words))
    delivery = bool(_DELIVERY_WORDS.intersection(words))
    if pickup == delivery:
        return None
    return "pickup" if pickup else "delivery"


_FIRST = {"1", "one", "first", "1st", "the first", "the first one"}
_SECOND = {"2", "two", "second", "2nd", "the second", "the second one"}


def read_numbered_mode(raw: str) -> FulfillmentMode | None:
    """"1" / "the second one" -> the mode at that place among the buttons (Pickup first)."""
    said = " ".join(raw.lower().replace(".", " ").replace(")", " ").split())
    return "pickup" if said in _FIRST else "delivery" if said in _SECOND else None


def read_address(text: str) -> str | None:
    """The address in 'deliver to 12 Cedar St, apt 4'; None when it is too short to use."""
    address = _ADDRESS_LEAD.sub("", text.strip(), count=1).strip(" .")
    return address[:MAX_ADDRESS] if len(address) >= MIN_ADDRESS else None


def stock_answer(phrase: str) -> StockAnswer | None:
    """A typed answer to "shall I make it N?": yes trims the line, no removes it."""
    if phrase in _TRIM_WORDS:
        return "trim"
    if phrase in _REMOVE_WORDS:
        return "remove"
    return None


def pin_address(name: str, address: str) -> str:
    """What a shared location pin says about itself: 'Home, 100 Example Ave'."""
    return ", ".join(part.strip() for part in (name, address) if part.strip())[:MAX_ADDRESS]


def where_text(details: OrderDetails) -> str:
    return details.address or texts.text("pinned_location")


def confirmation_line(details: OrderDetails, shop: Shop, when: str = "") -> str:
    """'Pickup at Sahara Grill.' / 'We'll deliver it to 12 Cedar St.' (+ pre-order timing)."""
    if details.fulfilment == "delivery":
        line = texts.text("confirmed_delivery", address=where_text(details))
    else:
        line = texts.text("confirmed_pickup", shop=shop.name)
    if when:
        line += " " + texts.text("confirmed_preorder", when=when)
    return line
