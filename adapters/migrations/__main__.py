"""Developer command: write a new revision for a model change.

    python -m adapters.migrations revision "add customer email"

Builds a scratch SQLite database at the newest revision, compares it with the SQLModel models
(Alembic autogenerate) and writes versions/NNNN_<message>.py with the difference. Read it
before committing: renames come out as drop + add, and data moves are yours to write (use
--empty for a revision with no schema change).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import adapters.db  # noqa: F401  (the models register their tables)
from adapters.migrations import SCRIPT_LOCATION, alembic_config


def next_revision_id() -> str:
    numbers = [int(path.name[:4]) for path in (SCRIPT_LOCATION / "versions").glob("[0-9]*.py")
               if path.name[:4].isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="write a revision from the model changes")
    revision.add_argument("message", help="what changed, e.g. 'add customer email'")
    revision.add_argument("--empty", action="store_true",
                          help="no schema comparison: a revision to fill in by hand")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'head.db'}"
        config = alembic_config(url=url)
        command.upgrade(config, "head")
        if not args.empty:
            engine = create_engine(url)
            with engine.connect() as connection:
                changes = compare_metadata(MigrationContext.configure(connection),
                                           SQLModel.metadata)
            engine.dispose()
            if not changes:
                print("The models and the migrations agree: nothing to write "
                      "(--empty writes a revision to fill in by hand).", file=sys.stderr)
                return 1
        script = command.revision(config, message=args.message, autogenerate=not args.empty,
                                  rev_id=next_revision_id())
    path = Path(script.path) if script is not None and not isinstance(script, list) else None
    if path is None:
        return 1
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if Path(ruff).exists():  # generated lines can be long; the project is linted by ruff
        subprocess.run([ruff, "format", "--quiet", str(path)], check=False)
        subprocess.run([ruff, "check", "--fix", "--quiet", str(path)], check=False)
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
          "\nRead it, then run the tests (tests/integration/test_migrations.py checks that the "
          "migrations and the models agree).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
