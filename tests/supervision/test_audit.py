"""The audit log: every change is chained; verification finds any tampering."""

from __future__ import annotations

from sqlalchemy import text

from supervision.config import SupervisionSettings
from supervision.store import Store, verify_audit
from tests.supervision.helpers import confirm


def _tamper(store: Store, sql: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql))


def test_an_untouched_store_verifies(store: Store, settings: SupervisionSettings) -> None:
    confirm(store, settings, "P1")
    report = verify_audit(store)
    assert report.ok, report.problems
    assert report.entries >= report.rows > 0


def test_a_row_changed_behind_the_services_back_is_detected(
    store: Store, settings: SupervisionSettings
) -> None:
    confirm(store, settings, "P1")
    _tamper(store, "update credit_records set severity = 'general'")
    problems = verify_audit(store).problems
    assert any("credit_records row 1 was changed" in p for p in problems)


def test_an_altered_audit_entry_is_detected(store: Store, settings: SupervisionSettings) -> None:
    confirm(store, settings, "P1")
    _tamper(store, "update audit_log set actor = 'someone-else' where seq = 2")
    assert "entry 2 was altered" in verify_audit(store).problems


def test_a_removed_audit_entry_is_detected(store: Store, settings: SupervisionSettings) -> None:
    confirm(store, settings, "P1")
    _tamper(store, "delete from audit_log where seq = 3")
    problems = verify_audit(store).problems
    assert "entry 3 is missing (next is 4)" in problems
    assert "entry 4 does not follow its predecessor" in problems


def test_a_row_inserted_outside_the_services_is_detected(
    store: Store, settings: SupervisionSettings
) -> None:
    confirm(store, settings, "P1")
    _tamper(
        store,
        "insert into inspectors (code, name, unit, active, registered_at) "
        "values ('X', 'x', '', true, '2026-01-01 00:00:00+00')",
    )
    assert "inspectors row X was written outside the audit log" in verify_audit(store).problems


def test_the_migrations_create_exactly_the_declared_schema(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from supervision.db import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_store_at_the_first_revision_is_upgraded_in_place(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, inspect

    from supervision.store import migrate, open_store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(create_engine(url), "0001")
    assert "resident_id" not in {
        c["name"] for c in inspect(create_engine(url)).get_columns("credit_subjects")
    }
    store = open_store(url)
    assert "resident_id" in {
        c["name"] for c in inspect(store.engine).get_columns("credit_subjects")
    }


def test_a_null_column_does_not_enter_the_row_digest_but_a_value_does() -> None:
    """So a migration that adds a nullable column leaves existing rows' digests valid."""
    from datetime import UTC, datetime

    from supervision.db import CreditSubject
    from supervision.store import row_digest

    subject = CreditSubject(
        id=1,
        kind="individual",
        credit_key="P1",
        name="P1",
        category="insured",
        registered_by="a",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        version=1,
    )
    before = row_digest(subject)
    subject.resident_id = None
    assert row_digest(subject) == before
    subject.resident_id = "110101199001011237"
    assert row_digest(subject) != before
