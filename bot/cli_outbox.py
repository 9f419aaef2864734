"""`orderbot outbox list|show|retry`: see the delivery outbox and send dead rows again."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli_database import with_database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession


def outbox_list(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        rows = await outbox_admin.list_rows(sessions, args.state, args.limit)
        for row in rows:
            print(outbox_admin.describe(row))
        if not rows:
            print("the outbox is empty" if args.state is None else f"no {args.state} rows")
        return 0

    return with_database(work)


def outbox_show(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        row = await outbox_admin.get_row(sessions, args.id)
        if row is None:
            print(f"orderbot: outbox row {args.id} does not exist", file=sys.stderr)
            return 1
        print(outbox_admin.details(row))
        return 0

    return with_database(work)


def outbox_retry(args: argparse.Namespace) -> int:
    from bot import outbox_admin

    if bool(args.ids) == args.all_dead:
        print("orderbot: give outbox row ids or --all-dead (not both)", file=sys.stderr)
        return 2

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        retried, problems = await outbox_admin.retry(sessions, None if args.all_dead else args.ids)
        for problem in problems:
            print(f"orderbot: {problem}", file=sys.stderr)
        print(f"{len(retried)} row(s) pending again: "
              f"{', '.join(f'#{row_id}' for row_id in retried) or 'none'}"
              " (a running server delivers them within a few seconds)")
        return 1 if problems else 0

    return with_database(work)
