"""WhatsApp's 24-hour customer service window, as pure rules.

Inside the window (24 h after the customer's last message) a business may send anything; after
it only an approved template goes through (error 131047 otherwise). Messages the bot sends on
its own — timer reminders, cart expiry, "the bot is back" — check the window first and become
the configured template, or are not sent at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.replies import Reply, addressed_to, fit_to_whatsapp, graph_payload

WINDOW = timedelta(hours=24)

Delivery = Literal["session", "template", "dropped"]


@dataclass(frozen=True)
class Template:
    """An approved message template without variables, e.g. "You have an unfinished order…"."""

    name: str
    language: str = "en"


@dataclass(frozen=True)
class Outgoing:
    """What to send for one batch of bot-initiated replies, and why."""

    delivery: Delivery
    payloads: tuple[dict[str, Any], ...]


def opened_at(sent_at: int, processed_at: datetime) -> datetime:
    """When a customer message opened the window.

    Meta counts from the message's own timestamp. A timestamp ahead of our clock (clock skew, or
    a test's fixed timestamps) is not trusted: then the time we handled the message counts.
    """
    if sent_at > 0:
        sent = datetime.fromtimestamp(sent_at, UTC)
        if sent <= processed_at:
            return sent
    return processed_at


def is_open(last_customer_at: datetime | None, now: datetime) -> bool:
    return last_customer_at is not None and now - last_customer_at < WINDOW


def plan(
    replies: tuple[Reply, ...] | list[Reply],
    to: str,
    last_customer_at: datetime | None,
    now: datetime,
    template: Template | None,
) -> Outgoing:
    """Session messages while the window is open; else one template (if configured) or none."""
    if not replies:
        return Outgoing("session", ())
    if is_open(last_customer_at, now):
        fitted = fit_to_whatsapp(replies)  # a long summary becomes text + a short button message
        return Outgoing("session", tuple(graph_payload(reply, to) for reply in fitted))
    if template is None:
        return Outgoing("dropped", ())
    return Outgoing("template", (template_payload(template, to),))


def template_payload(template: Template, to: str) -> dict[str, Any]:
    """The /messages body of a template message (shared/whatsapp-cloud-api.md §6.6)."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **addressed_to(to),
        "type": "template",
        "template": {"name": template.name, "language": {"code": template.language}},
    }
