"""Alembic migrations of the supervision store (``fundguard db upgrade`` or ``open_store``)."""
