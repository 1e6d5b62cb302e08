"""Store fixtures: every store test runs on SQLite and, when reachable, on PostgreSQL.

PostgreSQL is named by ``FUNDGUARD_TEST_POSTGRES_URL`` (default: the local trust-auth
server); each pytest-xdist worker migrates its own schema once, and every test starts from emptied
tables (DELETE, ids restarted), so parallel workers never collide.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from supervision.config import SupervisionSettings
from supervision.store import Store, open_store

POSTGRES_URL = os.environ.get(
    "FUNDGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@lru_cache(maxsize=1)
def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} unreachable: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    open_store(f"sqlite:///{path.as_posix()}").close()
    return path


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[str]:
    """A PostgreSQL schema migrated once per session (per xdist worker)."""
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    schema = f"fg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"create schema {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    open_store(url).close()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"drop schema {schema} cascade"))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    """Empty every table and restart its ids: DELETE on these few rows is several times
    faster than TRUNCATE, which recreates each table's files."""
    from supervision.db import Base
    from supervision.store import GENESIS

    engine = _postgres_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(
            text(
                "select sequence_name from information_schema.sequences "
                "where sequence_schema = current_schema()"
            )
        ).scalars()
        for name in list(sequences):
            conn.execute(text(f"alter sequence {name} restart"))
        conn.execute(text(f"insert into audit_head (id, seq, hash) values (1, 0, '{GENESIS}')"))


@cache
def _postgres_engine(url: str) -> Engine:
    return create_engine(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty, migrated store: a SQLite file, or the session's PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path.as_posix()}"
    url: str = request.getfixturevalue("_postgres_schema")
    _empty_postgres(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, upgrade=False)  # the template and the schema are migrated
    yield s
    s.close()


@pytest.fixture
def settings() -> SupervisionSettings:
    return SupervisionSettings()
