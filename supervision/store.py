"""The supervision store: engine, schema migrations, attributed write transactions, audit chain.

``open_store(url)`` brings the schema to the latest Alembic revision and returns a ``Store``.
Every write goes through ``Store.write(actor)``, a transaction that appends one audit entry
per inserted or changed row to a hash-chained log before it commits; ``verify_audit``
re-walks the chain and re-digests every audited row, so a changed entry, a removed entry or
a row changed behind the services' back is detected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from settlements.errors import InputError
from supervision.db import AuditEntry, AuditHead, Base
from supervision.errors import ConflictError

GENESIS = "0" * 64
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utc_now() -> datetime:
    return datetime.now(UTC)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store's schema to ``revision`` with the packaged Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, start transactions (pysqlite's own is unsafe).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # Writers take the write lock up front: concurrent writers queue instead of
            # failing on a stale snapshot; a reader that waits sees the committed state.
            mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True)


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Connect to the store at ``url`` (SQLite file or PostgreSQL) and migrate it to head."""
    try:
        engine = _engine(url)
        if upgrade:
            migrate(engine)
    except OperationalError as exc:
        raise InputError(
            f"cannot open the store {engine_url_safe(url)}: {str(exc.orig).splitlines()[0]}; "
            "check FUNDGUARD_DATABASE_URL"
        ) from None
    return Store(engine)


def engine_url_safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Tx:
    """A write transaction attributed to ``actor``; changed rows are audited on commit."""

    session: Session
    actor: str
    now: datetime
    action: str = "change"
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self, action: str, **details: Any) -> None:
        """Name what the transaction does (the audit ``action``) with non-personal details."""
        self.action = action
        self.details.update(details)


class Store:
    """Sessions on one database; writes via ``write(actor)``, reads via ``read()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        write_engine = (
            engine.execution_options(sqlite_begin="IMMEDIATE")
            if engine.dialect.name == "sqlite"
            else engine
        )
        self._write = sessionmaker(write_engine, expire_on_commit=False, autoflush=True)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; it is closed (never committed) at the end, and the objects it
        loaded stay readable."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self, actor: str) -> Iterator[Tx]:
        """A transaction by ``actor``: all or nothing, audited, conflicts as ``ConflictError``."""
        if not actor or not actor.strip():
            raise InputError("every change needs the user who makes it (actor)")
        session = self._write()
        touched: dict[tuple[type, Any], Any] = {}

        @event.listens_for(session, "before_flush")
        def _collect(sess: Session, _ctx: Any, _instances: Any) -> None:
            if sess.deleted:
                raise InputError("the supervision store never deletes rows; revoke or expire them")
            for obj in list(sess.new) + list(sess.dirty):
                touched[(type(obj), id(obj))] = obj

        tx = Tx(session=session, actor=actor.strip(), now=utc_now())
        try:
            yield tx
            session.flush()
            _append_audit(session, tx, list(touched.values()))
            session.commit()
        except StaleDataError:
            session.rollback()
            raise ConflictError(
                "someone else changed this record first; reload it and try again"
            ) from None
        except IntegrityError as exc:
            session.rollback()
            raise ConflictError(
                f"the change clashes with stored data ({str(exc.orig).splitlines()[0]}); "
                "reload and try again"
            ) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


# --- audit chain -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(float(value))
    return value


def row_digest(obj: Any) -> str:
    """SHA-256 of a row's non-null column values, canonically rendered.

    NULLs are left out so that a migration adding a nullable column does not change the
    digest of existing rows; a value set to or from NULL still changes it.
    """
    mapper = inspect(obj).mapper
    state = {
        attr.key: _plain(value)
        for attr in mapper.column_attrs
        if (value := getattr(obj, attr.key)) is not None
    }
    text = json.dumps(state, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_hash(entry: AuditEntry) -> str:
    fields = [
        str(entry.seq),
        _plain(entry.at),
        entry.actor,
        entry.action,
        entry.entity,
        entry.entity_id,
        entry.details,
        entry.row_digest,
        entry.prev_hash,
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def _identity(obj: Any) -> str:
    key = inspect(obj).identity
    return "/".join(str(k) for k in key) if key else "?"


def _append_audit(session: Session, tx: Tx, objects: list[Any]) -> None:
    if not objects:
        return
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update(),
        execution_options={"populate_existing": True},
    ).scalar_one()
    details = json.dumps(tx.details, sort_keys=True, ensure_ascii=False, default=str)
    rows = []
    seq, prev = head.seq, head.hash
    for obj in sorted(objects, key=lambda o: (o.__tablename__, _identity(o))):
        seq += 1
        entry = AuditEntry(
            seq=seq,
            at=tx.now,
            actor=tx.actor,
            action=tx.action,
            entity=obj.__tablename__,
            entity_id=_identity(obj),
            details=details,
            row_digest=row_digest(obj),
            prev_hash=prev,
        )
        prev = entry.hash = _entry_hash(entry)
        rows.append({c.key: getattr(entry, c.key) for c in AuditEntry.__table__.columns})
    session.execute(insert(AuditEntry), rows)
    head.seq, head.hash = seq, prev
    session.flush()


@dataclass(frozen=True)
class AuditReport:
    """What ``verify_audit`` found: the entries checked and every problem, one line each."""

    entries: int
    rows: int
    problems: tuple[str, ...]
    head: str = GENESIS
    """Hash of the last entry: record it elsewhere (a report, a notary) to anchor the chain."""

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_audit(store: Store) -> AuditReport:
    """Re-walk the hash chain and re-digest every audited row; report every mismatch."""
    problems: list[str] = []
    tables = {m.class_.__tablename__: m.class_ for m in Base.registry.mappers}
    audited = {n: c for n, c in tables.items() if n not in ("audit_log", "audit_head")}
    last_digest: dict[tuple[str, str], str] = {}
    count = 0
    with store.read() as session:
        prev, expected_seq = GENESIS, 1
        for entry in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
            count += 1
            if entry.seq != expected_seq:
                problems.append(f"entry {expected_seq} is missing (next is {entry.seq})")
            if entry.prev_hash != prev:
                problems.append(f"entry {entry.seq} does not follow its predecessor")
            if _entry_hash(entry) != entry.hash:
                problems.append(f"entry {entry.seq} was altered")
            prev, expected_seq = entry.hash, entry.seq + 1
            last_digest[(entry.entity, entry.entity_id)] = entry.row_digest
        head = session.get(AuditHead, 1)
        if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
            problems.append(
                f"the chain ends at entry {expected_seq - 1} but its head says {head.seq}"
            )
        rows = 0
        for name, cls in audited.items():
            seen = set()
            for obj in session.execute(select(cls)).scalars():
                rows += 1
                key = (name, _identity(obj))
                seen.add(key[1])
                digest = last_digest.get(key)
                if digest is None:
                    problems.append(f"{name} row {key[1]} was written outside the audit log")
                elif digest != row_digest(obj):
                    problems.append(f"{name} row {key[1]} was changed after its last audit entry")
            for entity, entity_id in last_digest:
                if entity == name and entity_id not in seen:
                    problems.append(f"{name} row {entity_id} was deleted")
    return AuditReport(entries=count, rows=rows, problems=tuple(problems), head=prev)
