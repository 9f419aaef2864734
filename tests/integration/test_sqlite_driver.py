"""The inline SQLite driver (adapters.sqlite_driver): what the thread of aiosqlite used to make
safe, the write lock must keep safe — concurrent coroutines of one process never freeze the
event loop on SQLite's lock, and their transactions stay whole."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters import sqlite_driver
from adapters.db import make_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
    yield engine
    await engine.dispose()


async def test_configured_sqlite_urls_use_the_inline_driver(engine: AsyncEngine) -> None:
    assert engine.dialect.driver == sqlite_driver.DRIVER
    assert make_engine("sqlite+aiosqlite:///x.db").dialect.driver == sqlite_driver.DRIVER


async def test_a_second_writer_waits_for_the_first_without_blocking_the_loop(
        engine: AsyncEngine) -> None:
    first_wrote, first_may_commit = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('first')"))
            first_wrote.set()
            await first_may_commit.wait()  # holds SQLite's write lock across an await
            order.append("first committed")

    async def second() -> None:
        await first_wrote.wait()
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('second')"))
            order.append("second wrote")

    async def ticker() -> int:
        # Keeps running while the second writer waits: the loop is not blocked.
        ticks = 0
        await first_wrote.wait()
        for _ in range(5):
            await asyncio.sleep(0.01)
            ticks += 1
        first_may_commit.set()
        return ticks

    loop = asyncio.get_running_loop()
    started = loop.time()
    _, _, ticks = await asyncio.gather(first(), second(), ticker())
    assert ticks == 5
    assert order == ["first committed", "second wrote"]
    assert loop.time() - started < 5  # not SQLite's 10 s busy timeout
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM item ORDER BY id"))).scalars()
        assert list(names) == ["first", "second"]


async def test_reads_go_on_while_a_write_transaction_is_open(engine: AsyncEngine) -> None:
    async with engine.begin() as writer:
        await writer.execute(text("INSERT INTO item (name) VALUES ('uncommitted')"))
        async with engine.connect() as reader:  # WAL: readers see the last commit
            count = (await reader.execute(text("SELECT count(*) FROM item"))).scalar_one()
        assert count == 0


async def test_a_rolled_back_transaction_gives_the_lock_back(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('lost')"))
            raise RuntimeError("the caller fails mid-transaction")
    async with engine.begin() as connection:  # would wait for the lock if it were kept
        await asyncio.wait_for(
            connection.execute(text("INSERT INTO item (name) VALUES ('kept')")), timeout=2)
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM item"))).scalars()
        assert list(names) == ["kept"]


async def test_a_writer_waiting_too_long_gets_database_is_locked(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_driver, "WRITE_LOCK_TIMEOUT_SECONDS", 0.05)
    async with engine.begin() as holder:
        await holder.execute(text("INSERT INTO item (name) VALUES ('held')"))
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as waiter:
                await waiter.execute(text("INSERT INTO item (name) VALUES ('late')"))


def test_plain_synchronous_use_outside_a_loop_works(tmp_path: Path) -> None:
    # The driver's connections also serve code with no event loop (no lock needed there).
    connection = sqlite_driver.InlineSQLiteDialect.import_dbapi().connect(
        str(tmp_path / "plain.db"))
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    assert connection.execute("SELECT x FROM t").fetchall() == [(1,)]
    connection.close()
    assert isinstance(connection, sqlite3.Connection)


async def test_the_servers_commits_leave_the_log_to_the_background_checkpointer(
        tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
    for number in range(1200):  # past SQLite's own mark of 1,000 pages in the log
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES (:name)"),
                                     {"name": f"item {number}"})
    busy, logged, moved = await asyncio.to_thread(sqlite_driver.Checkpointer(str(path)).checkpoint)
    assert (busy, moved) == (0, logged)
    assert logged > 1000  # no commit moved the log inline
    await engine.dispose()
    plain = sqlite3.connect(path)
    assert plain.execute("SELECT count(*) FROM item").fetchone() == (1200,)
    plain.close()


async def test_other_engines_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    engine = make_engine(f"sqlite:///{path}")  # a CLI command's engine
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
    for number in range(1200):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES (:name)"),
                                     {"name": f"item {number}"})
    _, logged, _ = await asyncio.to_thread(sqlite_driver.Checkpointer(str(path)).checkpoint)
    assert logged < 1000
    await engine.dispose()
