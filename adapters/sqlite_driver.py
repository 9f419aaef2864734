"""SQLite for SQLAlchemy's async engine, run on the event loop's own thread.

Why not aiosqlite: it hands every driver call (cursor, execute, fetch, close, commit) to a
thread and back, and each hand-off costs about 0.5 ms of CPU on our machines against 0.07 ms
for the query itself (measured: a primary-key SELECT 523 µs through aiosqlite, 78 µs through
sqlite3 directly). A message touches the database some twenty times, so the hand-offs were
most of the server's CPU. SQLite calls on a local file in WAL mode take microseconds, so they
run inline: `await session.execute(...)` completes without giving up the loop.

What the thread used to make safe, a lock now does. Two connections of one process could
otherwise deadlock the loop: a coroutine holding a write transaction awaits something else, and
another coroutine's write, run inline, waits on SQLite's busy timeout with the loop blocked so
the first can never finish. So a connection takes an asyncio lock (one per database file and
event loop) before its first write and gives it back when its transaction ends; a second
writer in the same process waits for it asynchronously. Only another *process* holding the
file's write lock (a second `orderbot serve` on SQLite, a CLI command) makes a write wait inline,
for as long as that process's transaction lasts, bounded by busy_timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import weakref
from collections.abc import Iterator
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine.url import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

log = logging.getLogger(__name__)

DRIVER = "orderbot"  # URLs say sqlite+orderbot:///path; adapters.db maps sqlite:/// onto it
WRITE_LOCK_TIMEOUT_SECONDS = 10.0  # as PRAGMA busy_timeout: then "database is locked"
CHECKPOINT_SECONDS = 1.0  # how often the server moves the write-ahead log (Checkpointer)

# Statements that never take SQLite's write lock. Anything else (INSERT, UPDATE, DELETE,
# BEGIN, CREATE, a WITH that may write) takes the process's write lock first.
_READ_ONLY_PREFIXES = ("SELECT", "PRAGMA", "EXPLAIN")

_write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


class _Ready:
    """An awaitable that is already done. SQLAlchemy's async engine insists that a driver call
    awaits something (else: AwaitRequired); awaiting this costs a greenlet switch and never
    gives up the loop."""

    def __await__(self) -> Any:
        return iter(())


_READY = _Ready()


def _write_lock(database: str) -> asyncio.Lock | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None  # plain synchronous use (no loop): nothing else runs meanwhile
    return _write_locks.setdefault(loop, {}).setdefault(database, asyncio.Lock())


class _LockingCursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's async results on adapted cursors; a sqlite3 cursor can be
        read after the await as it is, so there is nothing to do."""

    def execute(self, sql: str, parameters: Any = (), /) -> _LockingCursor:
        with self._locked(sql):
            super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> _LockingCursor:
        with self._locked(sql):
            super().executemany(sql, parameters)
        return self

    def executescript(self, script: str, /) -> _LockingCursor:
        with self._locked(script):
            super().executescript(script)
        return self

    @contextlib.contextmanager
    def _locked(self, sql: str) -> Iterator[None]:
        """The process's write lock around a statement that may write (see _LockingConnection)."""
        connection: _LockingConnection = self.connection  # type: ignore[assignment]
        connection.before(sql)
        try:
            yield
        finally:
            connection.after()


class _LockingConnection(sqlite3.Connection):
    """A sqlite3 connection that holds the process's write lock for its write transactions."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.database_key = str(database)
        self._held: asyncio.Lock | None = None

    def cursor(self, factory: Any = _LockingCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> Any:
        return self.cursor().executescript(script)

    def before(self, sql: str) -> None:
        if in_greenlet():
            await_(_READY)
        if self._held is not None or sql.lstrip()[:7].upper().startswith(_READ_ONLY_PREFIXES):
            return
        lock = _write_lock(self.database_key)
        if lock is None or not in_greenlet():
            return
        try:
            # Free: taken without giving up the loop. Held by another connection of this
            # process: wait for it like SQLite's busy timeout would, but asynchronously.
            await_(lock.acquire() if not lock.locked()
                   else asyncio.wait_for(lock.acquire(), WRITE_LOCK_TIMEOUT_SECONDS))
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._held = lock

    def after(self) -> None:
        if self._held is not None and not self.in_transaction:
            self._release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        held, self._held = self._held, None
        if held is not None and held.locked():
            held.release()


class _InlineDBAPI:
    """The sqlite3 module, except that connect() makes locking connections."""

    paramstyle = "qmark"

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> _LockingConnection:
        kwargs["factory"] = _LockingConnection
        # The pool may close a connection from another thread (garbage collection).
        kwargs.setdefault("check_same_thread", False)
        return sqlite3.connect(*args, **kwargs)  # type: ignore[no-any-return]


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _InlineDBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool  # one in-memory database: one connection


class Checkpointer:
    """Copies the write-ahead log into the database file from a thread, every `interval`.

    SQLite does this itself every 1,000 pages, in the commit that crosses the mark, with an
    fsync; inline, that commit would hold the event loop for the length of the fsync. So the
    server's connections turn that off (wal_autocheckpoint=0, see adapters.db.make_engine)
    and this task does it beside the loop. PASSIVE: it never waits for, or blocks, a writer.
    """

    def __init__(self, database: str, interval: float = CHECKPOINT_SECONDS) -> None:
        self._database = database
        self._interval = interval

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await asyncio.to_thread(self.checkpoint)
            except sqlite3.Error as error:  # busy or away: the next round tries again
                log.warning("WAL checkpoint of the SQLite database failed: %s", error)

    def checkpoint(self) -> tuple[int, int, int]:
        """(busy, pages in the log, pages moved), as SQLite reports them."""
        connection = sqlite3.connect(self._database, timeout=WRITE_LOCK_TIMEOUT_SECONDS)
        try:
            busy, logged, moved = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return busy, logged, moved
        finally:
            connection.close()


registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")
