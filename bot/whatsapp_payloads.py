"""Walks a WhatsApp Cloud API webhook body into inbound messages and status updates. Pure.

Meta batches updates (several entries, changes and messages per POST), adds fields over time and
sometimes omits `from` (username users, 2026): so we walk every level, keep each message object
whole, and skip what we do not understand instead of failing the whole delivery.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard

from bot.conversation import LocationPin, NativeCart, NativeCartItem

log = logging.getLogger(__name__)


class PayloadError(ValueError):
    """The body is not a WhatsApp Business Account notification at all."""


@dataclass(frozen=True)
class Inbound:
    """One customer message, with what we need to route and answer it."""

    wamid: str
    customer: str  # stable key: the phone (wa_id) or, for username users, the BSUID
    reply_to: str  # where replies go: the phone number when known, else the BSUID
    phone_number_id: str
    type: str
    timestamp: int
    name: str
    message: dict[str, Any]


@dataclass(frozen=True)
class Status:
    """A delivery status for one of our outbound messages."""

    wamid: str
    status: str
    recipient: str
    timestamp: int
    error_code: int | None
    raw: dict[str, Any]
    # The biz_opaque_callback_data we sent with the message (the outbox row's key), if any.
    opaque: str | None = None

    @property
    def accepted(self) -> bool:
        """Meta took the message (sent, delivered, read, played), as opposed to `failed`."""
        return self.status in ACCEPTED_STATUSES


ACCEPTED_STATUSES = frozenset({"sent", "delivered", "read", "played"})
MAX_OPAQUE_LENGTH = 512  # Meta's limit on biz_opaque_callback_data; the column's size


@dataclass
class Notification:
    """Everything one webhook POST carried."""

    messages: list[Inbound] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    skipped: int = 0  # items we could not read (logged, acknowledged)


# Meta's notifications nest about a dozen levels deep (body > entry > change > value > message >
# order > items > item). A body nested far deeper is no notification, and reading or re-encoding
# it would exhaust Python's recursion limit, so it is refused like any body that is not JSON.
MAX_JSON_DEPTH = 64


def read_json(body: bytes) -> Any:
    """The webhook body as JSON. PayloadError for anything Meta could not have sent: not UTF-8,
    not JSON, NaN/Infinity (Python's own extension), or nested deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(body, parse_constant=_not_json)
    except RecursionError:
        raise PayloadError("the body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, a 5000-digit number
        raise PayloadError(f"the body is not JSON ({error})") from None
    if _plainly_tidy(body):
        return value  # the walk below costs more than the parse itself; nothing for it to do
    return _tidy(value)


# A body that cannot hold anything _tidy changes: fewer brackets than the depth limit (so it
# cannot nest deeper), no NUL byte (UTF-16/32 bodies have them everywhere, so they take the
# walk), no \u0000 or surrogate escape and no UTF-8-encoded surrogate (json lets those through).
_RISKY = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]|\x00")


def _plainly_tidy(body: bytes) -> bool:
    return (body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH
            and _RISKY.search(body) is None)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# JSON may escape a lone UTF-16 surrogate ("\ud800") and NUL ("\u0000"); neither can be stored
# (SQLite and PostgreSQL refuse them) or sent on, so one in a name wedged that customer's
# messages for good. No one types either: they become U+FFFD, the replacement character.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _clean(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text) if _UNSTORABLE.search(text) else text


def _tidy(value: Any) -> Any:
    """Refuse a body nested deeper than MAX_JSON_DEPTH, and clean every string in place.
    Iterative: the point is not to recurse on a hostile body."""
    if isinstance(value, str):
        return _clean(value)
    if not isinstance(value, dict | list):
        return value
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_JSON_DEPTH:
            raise PayloadError(f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(node, dict):
            for key in [k for k in node if _UNSTORABLE.search(k)]:
                node[_clean(key)] = node.pop(key)
            places: Any = node.items()
        else:
            places = enumerate(node)
        for place, child in list(places):
            if isinstance(child, str):
                node[place] = _clean(child)
            elif isinstance(child, dict | list):
                stack.append((child, level + 1))
    return value


def parse_notification(body: Any) -> Notification:
    """Walk every entry/change/message. Raises PayloadError only for a wrong envelope."""
    if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
        raise PayloadError("not a whatsapp_business_account notification")
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("'entry' must be a list")
    result = Notification()
    for entry in entries:
        for change in _dicts(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue  # other subscribed fields (template status, account updates...)
            _read_value(value, result)
    return result


def _read_value(value: dict[str, Any], result: Notification) -> None:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    phone_number_id = str(metadata.get("phone_number_id", "")) if metadata else ""
    names = _contact_names(value.get("contacts"))
    for message in _dicts(value.get("messages")):
        inbound = _read_message(message, phone_number_id, names)
        if inbound is None:
            result.skipped += 1
        else:
            result.messages.append(inbound)
    for status in _dicts(value.get("statuses")):
        parsed = _read_status(status)
        if parsed is None:
            result.skipped += 1
        else:
            result.statuses.append(parsed)
    for error in _dicts(value.get("errors")):
        log.warning("WhatsApp reported an error: code=%s title=%s", error.get("code"),
                    error.get("title"))


def _read_message(
    message: dict[str, Any], phone_number_id: str, names: dict[str, str]
) -> Inbound | None:
    wamid = message.get("id")
    phone = message.get("from")
    user_id = message.get("from_user_id")
    # A sender we could never answer (not a phone number, not a user id) is a broken item,
    # skipped like one without an id rather than stored, processed and answered into the void.
    sender = phone if _fits(phone, _PHONE) else user_id if _fits(user_id, _USER_ID) else None
    if not _fits(wamid, _ID) or sender is None:
        log.warning("skipping a message without a usable id or sender")
        return None
    kind = message.get("type")
    name = names.get(sender) or (names.get(user_id, "") if isinstance(user_id, str) else "")
    return Inbound(
        wamid=wamid,
        customer=sender,
        reply_to=sender,
        phone_number_id=phone_number_id[:64],  # the inbox's column sizes
        type=kind[:32] if isinstance(kind, str) else "unknown",
        timestamp=_int(message.get("timestamp")),
        name=name,
        message=message,
    )


# What the inbox can hold and we can answer: Meta's phone numbers are digits, its user ids
# (BSUIDs) "US.1349..." and its message ids base64 text; the lengths are the columns' sizes.
_PHONE = re.compile(r"[0-9]{1,15}")  # E.164: at most 15 digits
_USER_ID = re.compile(r"[!-~]{1,160}")  # printable ASCII: the format is "subject to change"
_ID = re.compile(r"[^\s]{1,255}")
_STATUS = re.compile(r"[a-z_]{1,32}")
_OPAQUE = re.compile(rf".{{1,{MAX_OPAQUE_LENGTH}}}", re.DOTALL)


def _fits(value: Any, shape: re.Pattern[str]) -> TypeGuard[str]:
    return isinstance(value, str) and shape.fullmatch(value) is not None


def _read_status(status: dict[str, Any]) -> Status | None:
    wamid, state = status.get("id"), status.get("status")
    if not _fits(wamid, _ID) or not _fits(state, _STATUS):
        return None
    errors = [e for e in _dicts(status.get("errors")) if _int(e.get("code"))]
    recipient = status.get("recipient_id") or status.get("recipient_user_id") or ""
    opaque = status.get("biz_opaque_callback_data")
    return Status(
        wamid=wamid,
        status=state,
        recipient=str(recipient)[:160],
        timestamp=_int(status.get("timestamp")),
        error_code=_int(errors[0]["code"]) if errors else None,
        raw=status,
        opaque=opaque if _fits(opaque, _OPAQUE) else None,
    )


def _contact_names(contacts: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in _dicts(contacts):
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if not isinstance(name, str):
            continue
        for key in (contact.get("wa_id"), contact.get("user_id")):
            if isinstance(key, str) and key:
                names[key] = name
    return names


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# The inbox keeps timestamps and error codes in INTEGER columns (32-bit on PostgreSQL); a number
# outside them is not a real one, and storing it would fail the whole delivery.
_MAX_STORED_INT = 2**31 - 1


def _int(value: Any) -> int:
    """A non-negative whole number from an int or numeric text; 0 when it is none or too big."""
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None  # False for inf and NaN
    elif isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 12:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 <= value <= _MAX_STORED_INT else 0


# WhatsApp caps a text message at 4096 characters: a longer body was not typed by a customer,
# and reading only that much bounds the time one message can hold the parser.
MAX_TEXT_LENGTH = 4096


def message_text(message: dict[str, Any]) -> str | None:
    """The text a customer typed, if the message is a text."""
    text = message.get("text")
    body = text.get("body") if isinstance(text, dict) else None
    return body[:MAX_TEXT_LENGTH] if isinstance(body, str) else None


def reply_id(message: dict[str, Any]) -> str | None:
    """The id of the reply button or list row the customer tapped, if any."""
    interactive = message.get("interactive")
    if isinstance(interactive, dict):
        for key in ("button_reply", "list_reply"):
            reply = interactive.get(key)
            if isinstance(reply, dict) and isinstance(reply.get("id"), str):
                return str(reply["id"])
    button = message.get("button")  # template quick-reply
    if isinstance(button, dict) and isinstance(button.get("payload"), str):
        return str(button["payload"])
    return None


# A WhatsApp cart line of more than this is a tampered or broken payload, not a real basket;
# the customer sees the capped number in the summary before confirming.
MAX_CART_QUANTITY = 999


def native_cart(message: dict[str, Any]) -> NativeCart | None:
    """A `type: order` message (a cart sent from the shop's WhatsApp catalog) as an event.

    None when the message carries no readable order at all. A single item that cannot be read
    (no retailer id, a quantity that is not a positive whole number) is left out and logged:
    the customer sees the summary of what was understood before anything is placed.
    """
    order = message.get("order")
    items = order.get("product_items") if isinstance(order, dict) else None
    if not isinstance(order, dict) or not isinstance(items, list):
        return None
    read: list[NativeCartItem] = []
    for item in items:
        cart_item = _cart_item(item)
        if cart_item is None:
            log.warning("skipping an unreadable cart item: %.200r", item)
        else:
            read.append(cart_item)
    text = order.get("text")
    return NativeCart(tuple(read), text.strip() if isinstance(text, str) else "")


def _cart_item(item: Any) -> NativeCartItem | None:
    if not isinstance(item, dict):
        return None
    retailer_id = item.get("product_retailer_id")
    if isinstance(retailer_id, int) and not isinstance(retailer_id, bool):
        retailer_id = str(retailer_id)  # numeric SKUs typed as numbers by some senders
    quantity = _whole_number(item.get("quantity"))
    if not isinstance(retailer_id, str) or not retailer_id.strip() or quantity is None:
        return None
    if quantity < 1:
        return None
    return NativeCartItem(retailer_id.strip(), min(quantity, MAX_CART_QUANTITY),
                          _price_text(item.get("item_price")))


def _whole_number(value: Any) -> int | None:
    """2, 2.0 and "2" (Meta's old SDK typed it as a string); not True, 2.5 or "two"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
        return int(value.strip())
    return None


def _price_text(value: Any) -> str:
    """The unit price as exact decimal text ("12.5"), or "" when it is not a price."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return ""
    try:
        price = Decimal(str(value).strip())  # str() of a float keeps 12.5 as 12.5
    except InvalidOperation:
        return ""
    return str(price) if price.is_finite() and price >= 0 else ""


def location_pin(message: dict[str, Any]) -> LocationPin | None:
    """A shared location as an event; None when it has no usable coordinates."""
    location = message.get("location")
    if not isinstance(location, dict):
        return None
    latitude = _coordinate(location.get("latitude"), 90)
    longitude = _coordinate(location.get("longitude"), 180)
    if latitude is None or longitude is None:
        return None
    name, address = location.get("name"), location.get("address")
    return LocationPin(latitude, longitude,
                       name.strip() if isinstance(name, str) else "",
                       address.strip() if isinstance(address, str) else "")


def _coordinate(value: Any, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None
