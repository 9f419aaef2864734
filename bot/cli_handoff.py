"""`orderbot handoff list|release`: conversations a person has taken over, and giving them
back to the bot."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli_database import run_catalog_command
from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.processing import Processor
    from catalog.catalog import Catalog
    from parsers import OrderParser


def handoff_processor(sessions: async_sessionmaker[AsyncSession]) -> Processor:
    """The server's processor, so a release takes the same path as the handoff timeout."""
    from bot.processing import Processor
    from bot.timers import TimerSettings
    from bot.window import Template
    from catalog.loader import load_catalog

    settings = load_settings()
    catalog = load_catalog(settings.catalog_path)
    return Processor(
        sessions, catalog=lambda: catalog, parser=lambda: order_parser(catalog),
        on_outbox=lambda: None,  # the running server's dispatcher polls the outbox
        timers=TimerSettings.minutes(settings.reminder_minutes, settings.cart_expiry_minutes,
                                     settings.handoff_timeout_minutes),
        template=(Template(settings.reminder_template, settings.template_language)
                  if settings.reminder_template else None),
    )


def order_parser(catalog: Catalog) -> OrderParser:
    from parsers import OrderParser  # slow to import, and a release never parses text

    return OrderParser(catalog)


def handoff_list(_args: argparse.Namespace) -> int:
    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        rows = await handoff_processor(sessions).handed_off()
        if not rows:
            print("No conversation is handed off: the bot answers everyone.")
        for row in rows:
            since, due = row.timer_from, row.due_at
            last = f"last message {since:%Y-%m-%d %H:%M} UTC" if since else "no message yet"
            resumes = (f"the bot resumes at {due:%Y-%m-%d %H:%M} UTC"
                       if due and row.due_kind == "handoff_timeout" else "paused until released")
            print(f"{row.customer}  {row.name or '(no name)'}  {last}, {resumes}")
        return 0

    return run_catalog_command(work)


def handoff_release(args: argparse.Namespace) -> int:
    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        released = await handoff_processor(sessions).release_handoff(args.wa_id)
        if released is None:
            print(f"orderbot: no conversation with WhatsApp number {args.wa_id} (see "
                  "`orderbot handoff list`)", file=sys.stderr)
            return 1
        who = f"{released.customer} ({released.name or 'no name'})"
        if not released.was_paused:
            print(f"{who} was not handed off; nothing changed.")
            return 0
        told = {
            "session": "told them the bot is back (a running server sends it within seconds)",
            "template": "WhatsApp's 24-hour window is closed, so they get the "
                        "ORDERBOT_REMINDER_TEMPLATE template instead",
            "dropped": "not told: WhatsApp's 24-hour window is closed and "
                       "ORDERBOT_REMINDER_TEMPLATE is not set",
        }[released.delivery]
        print(f"Released {who}: the bot answers them again; {told}.")
        return 0

    return run_catalog_command(work)
