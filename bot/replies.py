"""Outgoing message contents as values, and their WhatsApp Cloud API request bodies. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from adapters.whatsapp_limits import BSUID_RE


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


MAX_TEXT_BODY = 4096  # WhatsApp's limits, enforced by the emulator too
MAX_INTERACTIVE_BODY = 1024


def fit_to_whatsapp(replies: Sequence[Reply]) -> list[Reply]:
    """Split replies WhatsApp would refuse for length, keeping every word and every button.

    A long order's summary can pass the 1024 characters an interactive body allows: its lines
    go ahead as plain text and the buttons follow under the last paragraph (the question).
    """
    fitted: list[Reply] = []
    for reply in replies:
        if isinstance(reply, TextReply):
            fitted.extend(TextReply(part) for part in _chunks(reply.body, MAX_TEXT_BODY))
        elif len(reply.body) <= MAX_INTERACTIVE_BODY:
            fitted.append(reply)
        else:
            head, _, question = reply.body.rstrip().rpartition("\n")
            if not head or len(question) > MAX_INTERACTIVE_BODY:
                head, question = reply.body, "👆"
            fitted.extend(TextReply(part) for part in _chunks(head, MAX_TEXT_BODY))
            fitted.append(replace(reply, body=question))
    return fitted


def _chunks(text: str, limit: int) -> list[str]:
    """Cut at line breaks where possible, never inside the limit's worth of one line."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts


def is_prompt(reply: Reply) -> bool:
    """Interactive replies ask for the customer's next step; a newer one replaces an older one."""
    return isinstance(reply, ButtonsReply | ListReply)


def addressed_to(to: str) -> dict[str, str]:
    """`to` with the '+' Meta asks for (without it Meta guesses the country), or `recipient`
    for a customer known only by their business-scoped user id."""
    if BSUID_RE.fullmatch(to):
        return {"recipient": to}
    return {"to": to if to.startswith("+") else f"+{to}"}


def graph_payload(reply: Reply, to: str) -> dict[str, Any]:
    """The /messages request body for one reply."""
    base: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **addressed_to(to),
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


def read_receipt_lane(to: str) -> str:
    """The outbox lane of a chat's read receipts, beside its messages' lane (`wa:<to>`): the
    answer does not wait behind the receipt's round trip to Meta, nor behind a receipt Meta
    refuses and the dispatcher retries. Receipts keep their own order in their lane."""
    return f"wa:{to}:read"


def mark_read_payload(wamid: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
