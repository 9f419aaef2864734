"""Schema migrations with Alembic, configured in code (the revisions are in versions/).

`upgrade` brings a database to the newest revision: the server does it at start (unless
ORDERBOT_AUTO_MIGRATE is off) and `orderbot db upgrade` on demand. One migration runs at a
time per database: PostgreSQL takes a transaction-scoped advisory lock, SQLite a write lock,
so processes starting together wait for the first and then find nothing left to do.

A database from before migrations (our tables, no alembic_version) is adopted: brought to the
baseline schema (missing tables, indexes and nullable columns added; rows kept), stamped as
the baseline, then upgraded like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from adapters.migrations.baseline import baseline_metadata

log = logging.getLogger(__name__)
# Alembic announces each of its plugins at INFO on every run: noise in the server's log.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

SCRIPT_LOCATION = Path(__file__).resolve().parent
BASELINE_REVISION = "0001"
# pg_advisory_xact_lock key: "orderbot" in ASCII, so no other application's lock collides.
MIGRATION_LOCK_KEY = int.from_bytes(b"orderbot", "big")
UPGRADE_HINT = "run `orderbot db upgrade` (or set ORDERBOT_AUTO_MIGRATE=true)"


class SchemaError(Exception):
    """The database's schema does not fit this version of orderbot; the message says why."""


@dataclass(frozen=True)
class SchemaState:
    current: tuple[str, ...]  # revisions recorded in alembic_version; () when none
    head: str  # the newest revision this version knows
    legacy: bool  # orderbot's tables made before migrations existed (no alembic_version)
    empty: bool  # none of orderbot's tables

    @property
    def at_head(self) -> bool:
        return self.current == (self.head,)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Revisions this version does not know: a newer orderbot migrated the database."""
        return tuple(rev for rev in self.current if _script().get_revision(rev) is None)

    def describe(self) -> str:
        if self.unknown:
            return (f"revision {', '.join(self.current)} is newer than this orderbot knows "
                    f"(newest here: {self.head}): upgrade orderbot")
        if self.at_head:
            return f"revision {self.head} (the newest)"
        if self.empty:
            return f"empty: no tables yet (the newest revision is {self.head})"
        if self.legacy:
            return f"made before migrations: needs adopting, then revision {self.head}"
        return f"revision {', '.join(self.current)}, behind the newest ({self.head})"


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration without an alembic.ini: the scripts live in this package."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    # Reading the revision files once per process keeps the "already at head" check cheap.
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the baseline always exists
        raise SchemaError("no migration revisions found")
    return head


def read_state(connection: Connection) -> SchemaState:
    current = tuple(MigrationContext.configure(connection).get_current_heads())
    ours = {table.name for table in baseline_metadata().sorted_tables}
    present = ours & set(inspect(connection).get_table_names())
    return SchemaState(current=current, head=head_revision(),
                       legacy=not current and bool(present), empty=not current and not present)


def upgrade(connection: Connection) -> SchemaState:
    """Bring the schema to the newest revision inside the caller's transaction; returns the
    state found before. Safe to call from several processes at once."""
    _lock(connection)
    before = read_state(connection)
    if before.at_head:
        return before
    if before.unknown:
        raise SchemaError(f"the database schema is at {before.describe()}")
    config = alembic_config(connection=connection)
    if before.legacy:
        log.info("database made before migrations: adopting it as revision %s",
                 BASELINE_REVISION)
        _adopt_baseline(connection)
        command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")
    log.info("database schema upgraded from %s to %s", ", ".join(before.current)
             or ("before migrations" if before.legacy else "nothing"), before.head)
    return before


def check(connection: Connection) -> SchemaState:
    """For ORDERBOT_AUTO_MIGRATE=false: refuse a database that is not at the newest revision."""
    state = read_state(connection)
    if not state.at_head:
        hint = "upgrade orderbot" if state.unknown else UPGRADE_HINT
        raise SchemaError(f"the database schema is {state.describe()}; {hint}")
    return state


def _lock(connection: Connection) -> None:
    """Held until the caller's transaction ends, so a second process waits, then finds the
    schema at head."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # The driver defers BEGIN until the first write and runs DDL outside a transaction;
        # an explicit BEGIN IMMEDIATE takes the write lock now (others wait: busy_timeout) and
        # makes the whole migration one transaction.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _adopt_baseline(connection: Connection) -> None:
    """Bring a database made by an older create_all to the baseline schema, keeping its rows:
    create the tables it lacks, add the nullable columns and the indexes it lacks."""
    baseline = baseline_metadata()
    baseline.create_all(connection, checkfirst=True)
    inspector = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    for table in baseline.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise SchemaError(f"table {table.name} has no column {column.name} and it "
                                  "cannot be added to existing rows automatically")
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(text(
                f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"))
            log.info("added column %s.%s", table.name, column.name)
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(connection)
