"""The supervision store's tables (SQLAlchemy 2 declarative); the schema is made by Alembic.

Money is ``Decimal`` in ``Numeric`` columns; times are tz-aware UTC (``UtcDateTime``);
calendar dates (entry, expiry, deadlines) are ``Date`` in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

Money = Numeric(16, 2)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp with time zone that is always tz-aware UTC in Python, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass a tz-aware time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Inspector(Base):
    """An inspector who can be drawn for 双随机 inspections and assigned cases."""

    __tablename__ = "inspectors"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InspectorConflict(Base):
    """A conflict of interest: the inspector is never drawn for that subject."""

    __tablename__ = "inspector_conflicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspector_code: Mapped[str] = mapped_column(ForeignKey("inspectors.code"), index=True)
    subject_key: Mapped[str] = mapped_column(String(64))
    """The credit key or local code (fixmedins_code, psn_no) of the subject."""
    reason: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (UniqueConstraint("inspector_code", "subject_key"),)


class Case(Base):
    """A lead under verification: one per (subject, pattern)."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    pattern: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    amount_at_risk: Mapped[Decimal] = mapped_column(Money)
    reasons: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(100))
    informant: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """Who reported it, if anyone: shown only inside the case."""
    informant_record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The trustworthy record (举报查实) a confirmed report earned its informant: like the
    informant, shown only inside the case (the record itself does not name the case)."""
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_pattern: Mapped[str | None] = mapped_column(String(32), nullable=True)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    confirmed_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    credit_subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("credit_subjects.id"), nullable=True
    )
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", "pattern"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CaseEvent(Base):
    """One transition of a case: who, when, from which state to which, and why."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)


class CreditSubject(Base):
    """A credit subject with its archive's basic information (§1)."""

    __tablename__ = "credit_subjects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    """institution or individual."""
    credit_key: Mapped[str] = mapped_column(String(64))
    """The unified social credit code, or the pseudonym of the resident ID."""
    local_code: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    """fixmedins_code, psn_no or physician code that leads and cases use."""
    name: Mapped[str] = mapped_column(String(200))
    resident_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    """An individual's resident ID number: the ledger, which must name its subjects, keeps the
    mapping from the pseudonym; it never leaves the archive."""
    category: Mapped[str] = mapped_column(String(32))
    legal_rep_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    legal_rep_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    business_reg_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    practice_registration: Mapped[str | None] = mapped_column(String(200), nullable=True)
    insured_staff: Mapped[int | None] = mapped_column(Integer, nullable=True)
    arrears_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    arrears_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (UniqueConstraint("kind", "credit_key"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CreditRecord(Base):
    """A trustworthy or bad record of an archive (§1): never deleted, only changed in status."""

    __tablename__ = "credit_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """trustworthy or bad."""
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    entered_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    """in_force, expired, corrected or revoked."""
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Measure(Base):
    """A measure or list entry in effect for a subject (§3, §5, §7): lifted, never deleted."""

    __tablename__ = "measures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    """active, lifted or superseded."""
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    lifted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    urged_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    rectify_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    rectified_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    remove_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    interviewed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Notification(Base):
    """What a subject was told, and when (§3: told of every record and measure)."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"), index=True)
    sent_on: Mapped[date] = mapped_column(Date)
    message: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_records.id"), nullable=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("measures.id"), nullable=True)


class Grade(Base):
    """A subject's credit score and grade for a year, with the scoring rule that made it."""

    __tablename__ = "grades"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(16))
    scoring_version: Mapped[str] = mapped_column(String(100))
    graded_on: Mapped[date] = mapped_column(Date)
    graded_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __table_args__ = (UniqueConstraint("subject_id", "year"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Objection(Base):
    """An objection to a record or a measure, with its deadlines (§6)."""

    __tablename__ = "objections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"), index=True)
    target: Mapped[str] = mapped_column(String(16))
    """record or measure."""
    target_id: Mapped[int] = mapped_column(Integer)
    applicant: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)
    commitment_signed: Mapped[bool] = mapped_column(Boolean)
    decision_received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    filed_on: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date] = mapped_column(Date)
    answer_by: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    """pending, upheld or dismissed."""
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Complaint(Base):
    """A complaint (投诉) against a subject: recorded, then verified or proven false (§8)."""

    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"), index=True)
    complainant_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"))
    description: Mapped[str] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    """recorded, verified, unfounded or false."""
    finding: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DesignatedInstitution(Base):
    """The designation status and service agreement of an institution (§9)."""

    __tablename__ = "designated_institutions"
    fixmedins_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("credit_subjects.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    """designated, suspended or terminated."""
    agreement_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    agreement_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DesignationApplication(Base):
    """An application for designation with its review deadline (§9)."""

    __tablename__ = "designation_applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    applicant: Mapped[str] = mapped_column(String(200))
    fixmedins_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    level: Mapped[str] = mapped_column(String(16))
    """district or city."""
    received_on: Mapped[date] = mapped_column(Date)
    review_by: Mapped[date] = mapped_column(Date)
    extensions: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    """pending, approved or refused."""
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Plan(Base):
    """A 双随机 draw: its inputs, seed and method, so it can be re-run and published."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_date: Mapped[date] = mapped_column(Date)
    base_ratio: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PlanTarget(Base):
    """One inspection target of a plan, how it was picked and who inspects it."""

    __tablename__ = "plan_targets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("credit_subjects.id"))
    grade: Mapped[str] = mapped_column(String(16))
    probability: Mapped[float] = mapped_column(Float)
    picked_by: Mapped[str] = mapped_column(String(16))
    """random or risk."""
    risk_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    inspectors: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """One hash-chained entry of the append-only audit log."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)
    row_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row that serialises appends to the audit chain (locked by each writer)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
