"""`orderbot report`: the owner report for a day or the last N days, as text or JSON."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli_database import run_catalog_command
from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession


def report(args: argparse.Namespace) -> int:
    """The owner report (bot.report): a day, or the last N days, by the shop's own calendar."""
    import json
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from adapters.report_query import read_period
    from bot import report as owner_report
    from catalog.loader import load_catalog

    if args.days < 1:
        print("orderbot: --days must be 1 or more", file=sys.stderr)
        return 2
    try:
        last = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        print(f"orderbot: {args.date!r} is not a date: write it as YYYY-MM-DD", file=sys.stderr)
        return 2
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        catalog = load_catalog(settings.catalog_path)
        zone = ZoneInfo(catalog.shop.timezone)
        period = owner_report.Period.days_ending(
            last or owner_report.today(zone, datetime.now(UTC)), args.days, zone)
        orders, activity = await read_period(sessions, period)
        built = owner_report.build(period, orders, activity, catalog)
        print(json.dumps(owner_report.to_json(built), indent=2) if args.json
              else owner_report.render_text(built, catalog))
        return 0

    return run_catalog_command(work)
