"""`orderbot db upgrade` and `orderbot db current`: the database's schema revision; and the
check `serve` makes when ORDERBOT_AUTO_MIGRATE is off."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.config import load_settings

if TYPE_CHECKING:
    from sqlalchemy import Connection


def db_upgrade(_args: argparse.Namespace) -> int:
    """`orderbot db upgrade`: the schema to the newest migration, whatever ORDERBOT_AUTO_MIGRATE
    says (the command for deployments that migrate by hand)."""
    from adapters import migrations

    def upgrade(connection: Connection) -> str:
        before = migrations.upgrade(connection)
        if before.at_head:
            return f"already at {before.describe()}"
        return f"was {before.describe()}; now at revision {before.head} (the newest)"

    return _schema_command(upgrade)


def db_current(_args: argparse.Namespace) -> int:
    """`orderbot db current`: the database's schema revision; exit 1 when it is not the newest."""
    from adapters import migrations

    def current(connection: Connection) -> str:
        state = migrations.read_state(connection)
        if not state.at_head:
            raise migrations.SchemaError(state.describe()
                                         + ("" if state.unknown else "; run `orderbot db upgrade`"))
        return state.describe()

    return _schema_command(current)


def schema_problem(database_url: str) -> str | None:
    """Why `serve` must not start on this database with ORDERBOT_AUTO_MIGRATE=false, or None
    when its schema is at the newest revision."""
    from adapters.db import make_engine
    from adapters.migrations import SchemaError, check

    async def run() -> str | None:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(check)
            return None
        except SchemaError as error:
            return str(error)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _schema_command(work: Callable[[Connection], str]) -> int:
    from sqlalchemy.engine import make_url

    from adapters.db import make_engine
    from adapters.migrations import SchemaError

    settings = load_settings()
    where = make_url(settings.database_url).render_as_string(hide_password=True)

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with engine.begin() as connection:
                print(f"{where}: {await connection.run_sync(work)}")
            return 0
        except SchemaError as error:
            print(f"orderbot: {where}: {error}", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()

    return asyncio.run(run())
