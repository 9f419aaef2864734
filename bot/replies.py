"""Outgoing message contents as values, and their WhatsApp Cloud API request bodies. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TextReply:
    body: str


@dataclass(frozen=True)
class ButtonsReply:
    """Up to three reply buttons as (id, title) pairs under a body text."""

    body: str
    buttons: tuple[tuple[str, str], ...]
    header: str | None = None
    footer: str | None = None


@dataclass(frozen=True)
class ListReply:
    """A list message: a button that opens up to ten rows of (id, title, description)."""

    body: str
    button: str
    rows: tuple[tuple[str, str, str], ...]
    section: str = ""


Reply = TextReply | ButtonsReply | ListReply


def is_prompt(reply: Reply) -> bool:
    """Interactive replies ask for the customer's next step; a newer one replaces an older one."""
    return isinstance(reply, ButtonsReply | ListReply)


def graph_payload(reply: Reply, to: str) -> dict[str, Any]:
    """The /messages request body for one reply; `to` gets the '+' Meta asks for."""
    recipient = to if to.startswith("+") else f"+{to}"
    base: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
    }
    if isinstance(reply, TextReply):
        return {**base, "type": "text", "text": {"preview_url": False, "body": reply.body}}
    if isinstance(reply, ListReply):
        rows = [{"id": row_id, "title": title, **({"description": text} if text else {})}
                for row_id, title, text in reply.rows]
        section: dict[str, Any] = {"rows": rows}
        if reply.section:
            section["title"] = reply.section
        return {**base, "type": "interactive", "interactive": {
            "type": "list", "body": {"text": reply.body},
            "action": {"button": reply.button, "sections": [section]}}}
    interactive: dict[str, Any] = {
        "type": "button",
        "body": {"text": reply.body},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": button_id, "title": title}}
                for button_id, title in reply.buttons
            ]
        },
    }
    if reply.header:
        interactive["header"] = {"type": "text", "text": reply.header}
    if reply.footer:
        interactive["footer"] = {"text": reply.footer}
    return {**base, "type": "interactive", "interactive": interactive}


def mark_read_payload(wamid: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
