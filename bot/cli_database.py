"""Running one operator command's work against the configured database (and the catalog),
turning schema and catalog problems into an exit code."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession


def with_database(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]) -> int:
    from adapters.db import create_tables, make_engine, session_factory
    from adapters.migrations import SchemaError

    settings = load_settings()

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            await create_tables(engine, migrate=settings.auto_migrate)
            return await work(session_factory(engine))
        except SchemaError as error:
            print(f"orderbot: {error}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()

    return asyncio.run(run())


def run_catalog_command(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]
                         ) -> int:
    from catalog.errors import CatalogError

    try:
        return with_database(work)
    except CatalogError as error:
        print("orderbot: the catalog has problems:", *error.problems, sep="\n  ",
              file=sys.stderr)
        return 2
