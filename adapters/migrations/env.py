"""Alembic's environment, run by every Alembic command (configured in code, no alembic.ini).

The server and `orderbot db` hand over an open connection (config.attributes["connection"]),
already in the transaction that holds the migration lock; the developer command
(`python -m adapters.migrations revision`) gives a URL instead.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import adapters.db  # noqa: F401  (the models register their tables on SQLModel.metadata)


def render_item(kind: str, value: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Write SQLModel's column types as the plain SQLAlchemy types they are in the database,
    so revisions do not import SQLModel (and stay valid if the models move)."""
    if kind != "type":
        return False
    if isinstance(value, AutoString):
        length = getattr(value.impl, "length", None)
        return f"sa.String({length})" if length is not None else "sa.String()"
    if isinstance(value, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_item=render_item,
        # SQLite alters a table by copying it: batch mode writes revisions that work on both.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    if context.is_offline_mode():
        raise SystemExit("orderbot migrations run against a database, not as SQL scripts")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as fresh:
            run_migrations(fresh)
            fresh.commit()
    finally:
        engine.dispose()


run()
