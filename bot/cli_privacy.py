"""`orderbot forget` and `orderbot retention run`: deleting a customer's personal data and
blanking old webhook payloads."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli_database import with_database
from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession


def forget(args: argparse.Namespace) -> int:
    from bot import privacy_admin

    if not args.yes:
        if not sys.stdin.isatty():
            print(f"orderbot: forgetting {args.wa_id} cannot be undone; add --yes to confirm",
                  file=sys.stderr)
            return 2
        answer = input(f"Delete the personal data of {args.wa_id}? This cannot be undone. "
                       "Type yes: ")
        if answer.strip().lower() != "yes":
            print("orderbot: nothing changed", file=sys.stderr)
            return 2
    settings = load_settings()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        done = await privacy_admin.forget(sessions, args.wa_id,
                                          sheet=settings.stock_sheet is not None)
        if done is None:
            print(f"orderbot: nothing is stored about WhatsApp number {args.wa_id}",
                  file=sys.stderr)
            return 1
        print(done.summary())
        return 0

    return with_database(work)


def retention_run(_args: argparse.Namespace) -> int:
    from bot import privacy_admin

    days = load_settings().payload_retention_days

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        if not days:
            print("ORDERBOT_PAYLOAD_RETENTION_DAYS is 0: payloads are kept forever.")
            return 0
        blanked = await privacy_admin.blank_old_payloads(sessions, days)
        print(f"{blanked} payload(s) older than {days:g} day(s) blanked.")
        return 0

    return with_database(work)
