"""Alembic revisions of the supervision store."""
