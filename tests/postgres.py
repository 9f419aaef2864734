"""A fresh PostgreSQL database per test, on the machine's server (127.0.0.1:5432, trust auth).

Tests that use it skip, saying why, when no server answers (fail instead when
ORDERBOT_TEST_REQUIRE_POSTGRES is set, as CI may); set ORDERBOT_TEST_POSTGRES_URL to point
elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests skipped: psycopg not installed")

ADMIN_URL = os.environ.get("ORDERBOT_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_database(prefix: str = "orderbot_test") -> Iterator[str]:
    """Yields the plain postgresql:// URL of a new, empty database, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        if os.environ.get("ORDERBOT_TEST_REQUIRE_POSTGRES"):  # CI: both databases, or red
            pytest.fail(f"PostgreSQL required (ORDERBOT_TEST_REQUIRE_POSTGRES) but no server at "
                        f"{ADMIN_URL} ({error})", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: no server at {ADMIN_URL} ({error})")
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_driver(url: str) -> str:
    """The SQLAlchemy URL orderbot is configured with (psycopg 3 driver)."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def empty_tables(url: str) -> None:
    """Delete every row of a database kept for several tests (ids restart), keeping its schema
    and its migration revision: much cheaper than a new database per test."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET lock_timeout = '10s'")  # a test that left a transaction open
        tables = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'")]
        if tables:
            names = ", ".join(f'"{name}"' for name in tables)
            connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
