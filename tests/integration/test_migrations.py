"""Schema migrations (adapters.migrations) on SQLite and PostgreSQL: a new database, one from
before migrations, two processes starting at once, and the models/migrations drift check.

PostgreSQL cases use a fresh database on the machine's server and skip, saying why, without one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select

from adapters import migrations
from adapters.db import OrderRow, OutboxItem, create_tables, make_engine, session_factory
from tests.paths import ROOT

REVISION_COMMAND = 'python -m adapters.migrations revision "what you changed"'


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'orderbot.db'}"
        return
    # Imported here: tests.postgres skips its importer (all of it) when psycopg is missing.
    from tests.postgres import fresh_database, with_driver  # noqa: PLC0415

    with fresh_database("orderbot_migrations") as url:
        yield with_driver(url)


async def run(engine: AsyncEngine, work: Any) -> Any:
    async with engine.begin() as connection:
        return await connection.run_sync(work)


def schema_differences(connection: sa.Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))


def table_names(connection: sa.Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


async def test_an_empty_database_is_upgraded_to_the_newest_revision(empty_database: str) -> None:
    engine = make_engine(empty_database)
    try:
        before = await run(engine, migrations.read_state)
        assert before.empty and not before.at_head
        await create_tables(engine)
        after = await run(engine, migrations.read_state)
        assert after.at_head and after.current == (migrations.head_revision(),)
        assert {t.name for t in SQLModel.metadata.sorted_tables} <= await run(engine, table_names)
        async with session_factory(engine)() as session, session.begin():  # the models fit
            session.add(OutboxItem(kind="whatsapp", lane="wa:1", key="k1", payload="{}",
                                   correlation_id="c0ffee"))
        await create_tables(engine)  # a second start finds nothing to do and keeps the row
        async with session_factory(engine)() as session:
            assert (await session.exec(select(OutboxItem.correlation_id))).all() == ["c0ffee"]
    finally:
        await engine.dispose()


async def test_the_migrations_build_exactly_the_schema_the_models_describe(
    empty_database: str,
) -> None:
    engine = make_engine(empty_database)
    try:
        await create_tables(engine)
        differences = await run(engine, schema_differences)
    finally:
        await engine.dispose()
    assert not differences, (
        "The SQLModel models (adapters/db.py) and the migrations (adapters/migrations/versions) "
        f"differ: {differences}\nYou changed a model: write a migration for it with\n    "
        f"{REVISION_COMMAND}\nthen read the file it writes and commit it with the model change.")


def old_style_metadata(dropped: dict[str, set[str]], missing_tables: set[str]) -> sa.MetaData:
    """The models as an older orderbot's create_all made them: some columns and tables absent."""
    old = sa.MetaData()
    for table in SQLModel.metadata.sorted_tables:
        if table.name in missing_tables:
            continue
        gone = dropped.get(table.name, set())
        together = [sa.UniqueConstraint(*constraint.columns.keys())
                    for constraint in list(table.constraints)
                    if isinstance(constraint, sa.UniqueConstraint) and len(constraint.columns) > 1]
        sa.Table(table.name, old,
                 *(column._copy() for column in table.columns if column.name not in gone),
                 *together)
    return old


async def test_a_database_from_before_migrations_is_adopted_and_keeps_its_rows(
    empty_database: str,
) -> None:
    # status_event.biz_opaque_callback_data came with migration 0004, rate_bucket with 0005,
    # customer_order.cancelled_by and cancel_reason with 0006, after the baseline.
    old = old_style_metadata({"outbox": {"correlation_id"},
                              "customer_order": {"assisted", "cancelled_by", "cancel_reason"},
                              "status_event": {"biz_opaque_callback_data"}},
                             missing_tables={"stock_reservation", "rate_bucket"})
    engine = make_engine(empty_database)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(old.create_all)
            await connection.execute(old.tables["customer_order"].insert().values(
                number=1001, customer="15550100001", customer_name="Alex", source_wamid="wamid.1",
                lines="[]", total="12.50", currency="USD", fulfillment="pickup", address="",
                note="", status="done", created_at=sa.func.now()))
            await connection.execute(old.tables["outbox"].insert().values(
                kind="kitchen", lane="kitchen", key="ticket:1001", payload="{}", state="sent",
                attempts=1, next_attempt_at=sa.func.now(), created_at=sa.func.now()))
        assert (await run(engine, migrations.read_state)).legacy

        await create_tables(engine)  # what the server does at start

        state = await run(engine, migrations.read_state)
        assert state.at_head and not state.legacy
        assert not await run(engine, schema_differences)  # now exactly the models' schema
        async with session_factory(engine)() as session:
            order = (await session.exec(select(OrderRow))).one()
            outbox = (await session.exec(select(OutboxItem))).one()
        assert (order.number, order.total, order.assisted) == (1001, "12.50", None)
        assert (order.cancelled_by, order.cancel_reason) == (None, "")  # the existing row
        assert (outbox.key, outbox.correlation_id) == ("ticket:1001", None)
    finally:
        await engine.dispose()


async def test_two_processes_starting_together_migrate_once(empty_database: str) -> None:
    # Each engine is its own connection pool, as a second server process would have.
    engines = [make_engine(empty_database) for _ in range(3)]
    try:
        await asyncio.gather(*(create_tables(engine) for engine in engines))
        async with engines[0].connect() as connection:
            versions = (await connection.execute(
                sa.text("SELECT version_num FROM alembic_version"))).scalars().all()
        assert versions == [migrations.head_revision()]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_every_revision_downgrades_to_nothing_and_upgrades_again(
    empty_database: str,
) -> None:
    engine = make_engine(empty_database)
    try:
        await create_tables(engine)

        def down_and_up(connection: sa.Connection) -> tuple[set[str], set[str]]:
            config = migrations.alembic_config(connection=connection)
            command.downgrade(config, "base")
            emptied = table_names(connection) - {"alembic_version"}
            command.upgrade(config, "head")
            return emptied, table_names(connection)

        emptied, again = await run(engine, down_and_up)
        assert emptied == set()
        assert {t.name for t in SQLModel.metadata.sorted_tables} <= again
    finally:
        await engine.dispose()


# ----------------------------------------------------------------------------- the commands

async def orderbot(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


async def test_with_auto_migrate_off_serve_refuses_until_db_upgrade_is_run(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERBOT_", "WHATSAPP_"))}
    env |= {"ORDERBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
            "ORDERBOT_AUTO_MIGRATE": "false", "WHATSAPP_APP_SECRET": "s",
            "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_ACCESS_TOKEN": "a",
            "WHATSAPP_PHONE_NUMBER_ID": "1"}
    code, out = await orderbot(env, "serve", "--port", "1")
    assert code == 2, out
    assert "cannot start" in out and "orderbot db upgrade" in out
    code, out = await orderbot(env, "db", "current")
    assert code == 1 and "orderbot db upgrade" in out, out

    code, out = await orderbot(env, "db", "upgrade")
    assert code == 0, out
    assert f"now at revision {migrations.head_revision()}" in out
    code, out = await orderbot(env, "db", "current")
    assert code == 0 and "(the newest)" in out, out
