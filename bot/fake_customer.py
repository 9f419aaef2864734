"""Builds webhook bodies the way Meta sends them, for the terminal chat and for tests."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from bot.security import sign

BUSINESS_DISPLAY_NUMBER = "15550001111"
WABA_ID = "1000000000000001"


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02" + secrets.token_bytes(18)).decode()


def envelope(message: dict[str, Any], phone: str, name: str, phone_number_id: str) -> bytes:
    """One message in the documented envelope, serialised with escaped unicode like Meta's."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": WABA_ID,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": BUSINESS_DISPLAY_NUMBER,
                                 "phone_number_id": phone_number_id},
                    "contacts": [{"profile": {"name": name}, "wa_id": phone}],
                    "messages": [message],
                },
            }],
        }],
    }
    return json.dumps(body).encode()  # ensure_ascii=True: \uXXXX escapes, as Meta signs them


def text_message(phone: str, text: str, timestamp: int | None = None) -> dict[str, Any]:
    return {"from": phone, "id": new_wamid(), "timestamp": str(timestamp or int(time.time())),
            "type": "text", "text": {"body": text}}


def button_reply(
    phone: str, button_id: str, title: str, context_wamid: str, timestamp: int | None = None
) -> dict[str, Any]:
    return {
        "context": {"from": BUSINESS_DISPLAY_NUMBER, "id": context_wamid},
        "from": phone, "id": new_wamid(), "timestamp": str(timestamp or int(time.time())),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id,
                                                                 "title": title}},
    }


def list_reply(
    phone: str, row_id: str, title: str, context_wamid: str, *, description: str = "",
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A tap on a row of a list message; Meta sends `description` only when the row had one."""
    reply: dict[str, Any] = {"id": row_id, "title": title}
    if description:
        reply["description"] = description
    return {
        "context": {"from": BUSINESS_DISPLAY_NUMBER, "id": context_wamid},
        "from": phone, "id": new_wamid(), "timestamp": str(timestamp or int(time.time())),
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": reply},
    }


def location_message(
    phone: str, latitude: float, longitude: float, *, name: str = "", address: str = "",
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A shared pin; `name` and `address` come only with a named place, not "current location"."""
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        location["name"] = name
    if address:
        location["address"] = address
    return {"from": phone, "id": new_wamid(), "timestamp": str(timestamp or int(time.time())),
            "type": "location", "location": location}


def order_message(
    phone: str, items: list[dict[str, Any]], *, text: str = "",
    catalog_id: str = "3000000000000003", timestamp: int | None = None,
) -> dict[str, Any]:
    """A native WhatsApp cart (`type: order`). Each item: product_retailer_id, quantity,
    item_price (the unit price, a JSON number as Meta sends it) and currency."""
    order: dict[str, Any] = {"catalog_id": catalog_id, "product_items": items}
    if text:
        order["text"] = text
    return {"from": phone, "id": new_wamid(), "timestamp": str(timestamp or int(time.time())),
            "type": "order", "order": order}


def raw_message(phone: str, content: dict[str, Any], timestamp: int | None = None
                ) -> dict[str, Any]:
    """Any message object (an image, a sticker, an unknown type): id, from and timestamp added."""
    return {"from": phone, "id": new_wamid(), "timestamp": str(timestamp or int(time.time())),
            **content}


def signed_headers(body: bytes, app_secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, app_secret)}
