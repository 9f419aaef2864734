"""The `http` ticket adapter: the signed JSON ticket POSTed to ORDERBOT_KITCHEN_WEBHOOK_URL."""

from __future__ import annotations

from typing import Any

from adapters.base import AdapterContext
from adapters.kitchen_http import HttpKitchen


class HttpTicketAdapter:
    name = "http"

    def __init__(self, context: AdapterContext) -> None:
        self._context = context

    async def deliver(self, ticket: dict[str, Any], key: str) -> str:
        settings = self._context.settings
        kitchen = HttpKitchen(self._context.http(), settings.kitchen_webhook_url or "",
                              settings.secret("kitchen_webhook_secret"))
        # Receivers were promised `Idempotency-Key: order-<number>` (README); the outbox key
        # also names the adapter, which is only needed inside orderbot. One http ticket per
        # order keeps the short form unique.
        return await kitchen.deliver(ticket, receiver_key(ticket, key))


def receiver_key(ticket: dict[str, Any], key: str) -> str:
    number = ticket.get("order", {}).get("number")
    return f"order-{number}" if isinstance(number, int) else key


def build_adapter(context: AdapterContext) -> HttpTicketAdapter:
    return HttpTicketAdapter(context)
