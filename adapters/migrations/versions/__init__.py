"""Alembic revisions, one file each (`python -m adapters.migrations revision "what changed"`)."""
