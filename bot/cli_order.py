"""`orderbot order cancel`: cancel a confirmed order the way the server does."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli_database import run_catalog_command
from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession


def order_cancel(args: argparse.Namespace) -> int:
    """The server's own status service and transaction: the stock comes back, the customer's
    message is queued for the running server's dispatcher, and its screens are refreshed."""
    from adapters.inventory import Inventory
    from bot import inventory as rules
    from bot.api import OrderStatusService, UnknownOrder
    from bot.clock import Clock
    from bot.order_status import CANCELLED, TransitionError, clean_reason
    from bot.window import Template
    from catalog.loader import load_catalog

    try:
        number = int(str(args.number).lstrip("#"))
    except ValueError:
        print(f"orderbot: {args.number!r} is not an order number (e.g. 1001)", file=sys.stderr)
        return 2
    try:
        reason = clean_reason(args.reason)
    except ValueError as error:
        print(f"orderbot: {error}", file=sys.stderr)
        return 2
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        catalog = load_catalog(settings.catalog_path)
        service = OrderStatusService(
            sessions, shop_name=lambda: catalog.shop.name, clock=Clock(),
            template=(Template(settings.reminder_template, settings.template_language)
                      if settings.reminder_template else None),
            on_outbox=lambda: None,  # the running server's dispatcher polls the outbox
            inventory=Inventory(sheet=settings.stock_sheet is not None),
            catalog=lambda: catalog,
            refresh_display="display" in settings.ticket_routing().adapters)
        try:
            change = await service.change(number, CANCELLED, reason, by="operator")
        except UnknownOrder:
            print(f"orderbot: there is no order #{number}", file=sys.stderr)
            return 1
        except TransitionError as error:
            print(f"orderbot: order #{number} was not cancelled: {error}", file=sys.stderr)
            return 1
        if not change.transition.changed:
            print(f"Order #{number} was already cancelled; nothing changed.")
            return 0
        returned = ", ".join(f"{units} × {rules.key_text(key)}" for key, units in change.returned)
        told = {
            "session": "the customer is told (a running server sends it within seconds)",
            "template": "WhatsApp's 24-hour window is closed, so the customer gets the "
                        "ORDERBOT_REMINDER_TEMPLATE template instead",
            "dropped": "the customer is not told: WhatsApp's 24-hour window is closed and "
                       "ORDERBOT_REMINDER_TEMPLATE is not set",
            None: "the customer had been told already",
        }[change.told]
        print(f"Cancelled order #{number} (it was {change.transition.before}); "
              f"{f'returned to stock: {returned}' if returned else 'no stock to return'}; "
              f"{told}.")
        return 0

    return run_catalog_command(work)
