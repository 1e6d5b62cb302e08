"""The credit ledger: subjects and their archives, measures, grades, lists, objections, complaints.

Every rule and number comes from ``shared/spec/ledger-rules.md`` through ``SupervisionSettings``.
Records and measures are never deleted: they are corrected, expired, revoked, lifted or
superseded, with the reason kept. Every write names its ``actor``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from settlements.errors import InputError
from supervision.calendar import (
    add_days,
    add_months,
    add_working_days,
    add_years,
    local_date,
    today,
)
from supervision.config import GRADES, SEVERITIES, SupervisionSettings
from supervision.db import (
    Case,
    Complaint,
    CreditRecord,
    CreditSubject,
    DesignatedInstitution,
    Grade,
    Measure,
    Notification,
    Objection,
)
from supervision.errors import NotFoundError, RuleError
from supervision.store import Store, Tx

INSTITUTION, INDIVIDUAL = "institution", "individual"
INSTITUTION_CATEGORIES = ("hospital", "pharmacy", "employer", "agency", "manufacturer", "other")
INDIVIDUAL_CATEGORIES = ("physician", "nurse", "pharmacist", "insured", "other_individual")
RECORD_KINDS = ("basic", "trustworthy", "bad")
IN_FORCE, EXPIRED, CORRECTED, REVOKED = "in_force", "expired", "corrected", "revoked"
ACTIVE, LIFTED, SUPERSEDED = "active", "lifted", "superseded"
WRITTEN_WARNING = "written_warning"
CASH_SETTLEMENT = "cash_settlement"
TIME_LIMITED = "time_limited_reimbursement"
BLACKLIST, REDLIST, KEY_MONITORING = "blacklist", "redlist", "key_monitoring"
COUNT_MEASURES = (WRITTEN_WARNING, CASH_SETTLEMENT, TIME_LIMITED)
NOT_COUNTED = frozenset({"warning_interview", "complaint"})
"""Bad-record categories that are not confirmed dishonest acts, so not counted for §3."""
CASE_SUBJECT_CATEGORY = {"person": "insured", "doctor": "physician"}


# --- subjects ---------------------------------------------------------------------------


def validate_credit_key(kind: str, credit_key: str) -> str:
    """The compact credit key; a USCC must pass its check digit."""
    key = credit_key.strip()
    if kind == INSTITUTION:
        try:
            return str(uscc.validate(key))
        except ValidationError as exc:
            raise InputError(
                f"{credit_key!r} is not a valid unified social credit code ({exc}); "
                "check the 18 characters"
            ) from None
    if kind == INDIVIDUAL:
        if not key:
            raise InputError("an individual needs the pseudonym of the resident ID number")
        return key
    raise InputError(f"kind must be {INSTITUTION} or {INDIVIDUAL}")


def validate_resident_id(value: str) -> str:
    """A resident ID number (18 characters, check digit), compact."""
    try:
        return str(ric.validate(value.strip()))
    except ValidationError as exc:
        raise InputError(
            f"{value!r} is not a valid resident ID number ({exc}); check the 18 characters"
        ) from None


def register_subject(
    store: Store,
    *,
    kind: str,
    credit_key: str,
    name: str,
    category: str,
    actor: str,
    local_code: str | None = None,
    resident_id: str | None = None,
    legal_rep_name: str | None = None,
    legal_rep_id: str | None = None,
    business_reg_no: str | None = None,
    practice_registration: str | None = None,
    insured_staff: int | None = None,
    arrears_months: int | None = None,
    arrears_amount: Decimal | None = None,
) -> CreditSubject:
    """Register a credit subject (or update its basic information if its key is known)."""
    key = validate_credit_key(kind, credit_key)
    if resident_id is not None:
        if kind != INDIVIDUAL:
            raise InputError("only an individual has a resident ID number")
        resident_id = validate_resident_id(resident_id)
    if legal_rep_id is not None:
        legal_rep_id = validate_resident_id(legal_rep_id)
    allowed = INSTITUTION_CATEGORIES if kind == INSTITUTION else INDIVIDUAL_CATEGORIES
    if category not in allowed:
        raise InputError(f"category of an {kind} must be one of {', '.join(allowed)}")
    with store.write(actor) as tx:
        subject = tx.session.execute(
            select(CreditSubject).where(CreditSubject.kind == kind, CreditSubject.credit_key == key)
        ).scalar_one_or_none()
        if subject is None:
            subject = CreditSubject(
                kind=kind, credit_key=key, registered_by=tx.actor, registered_at=tx.now
            )
            tx.session.add(subject)
        subject.name = name
        subject.category = category
        values = {
            "local_code": local_code,
            "resident_id": resident_id,
            "legal_rep_name": legal_rep_name,
            "legal_rep_id": legal_rep_id,
            "business_reg_no": business_reg_no,
            "practice_registration": practice_registration,
            "insured_staff": insured_staff,
            "arrears_months": arrears_months,
            "arrears_amount": arrears_amount,
        }
        for attr, value in values.items():
            if value is not None:
                setattr(subject, attr, value)
        tx.describe("ledger.register_subject", kind=kind)
    return subject


def find_subject(session: Session, key: str) -> CreditSubject:
    """The subject whose local code (fixmedins_code, psn_no…) or credit key is ``key``."""
    subject = (
        session.execute(
            select(CreditSubject)
            .where(or_(CreditSubject.local_code == key, CreditSubject.credit_key == key))
            .order_by(CreditSubject.id)
        )
        .scalars()
        .first()
    )
    if subject is None:
        raise NotFoundError(
            f"no credit subject {key!r}; register it with `fundguard ledger add-subject`"
        )
    return subject


# --- enrolment of a dataset's institutions ---------------------------------------------

INSTITUTION_TYPE_CATEGORY = {"1": "hospital", "2": "pharmacy"}
"""Ledger category of each ``fixmedins_type`` code (1 medical institution, 2 retail pharmacy)."""


@dataclass(frozen=True)
class EnrollResult:
    """What ``enroll_institutions`` did: ``read = enrolled + already + len(rejected)``."""

    read: int
    enrolled: int
    """Institutions newly registered as credit subjects."""
    already: int
    """Institutions that were credit subjects before (nothing of theirs is overwritten)."""
    rejected: pd.DataFrame
    """Institution rows that were not enrolled, with a ``reason`` column."""
    designated: int
    """Institutions newly entered in the designated-institution registry."""
    agreement_end: date
    """Last day of the service agreement recorded for newly designated institutions."""


def _uscc_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "no unified social credit code (uscc)"
    try:
        uscc.validate(value.strip())
    except ValidationError as exc:
        return f"invalid unified social credit code ({exc})"
    return None


def _enrollable(institutions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the institutions table into rows that can be enrolled and rejected rows."""
    missing = [
        c for c in ("fixmedins_code", "fixmedins_name", "fixmedins_type")
        if c not in institutions.columns
    ]  # fmt: skip
    if missing:
        raise InputError(f"the institutions table lacks {', '.join(missing)}")
    source = institutions.reset_index(drop=True)
    blank = pd.Series(pd.NA, index=source.index, dtype="string")
    code = source["fixmedins_code"].astype("string").str.strip()
    name = source["fixmedins_name"].astype("string").str.strip()
    kind = source["fixmedins_type"].astype("string").str.strip()
    raw_key = source["uscc"].astype("string") if "uscc" in source.columns else blank
    key_problem = raw_key.map(_uscc_problem, na_action=None).astype("string")
    key = (
        raw_key.where(key_problem.isna())
        .map(lambda v: uscc.compact(v) if isinstance(v, str) else pd.NA)
        .astype("string")
    )
    reason = blank.copy()
    checks = [
        (code.isna() | (code == ""), "no fixmedins_code"),
        (code.duplicated(keep="first") & code.notna(), "fixmedins_code repeated in the table"),
        (name.isna() | (name == ""), "no fixmedins_name"),
        (~kind.isin(list(INSTITUTION_TYPE_CATEGORY)), "fixmedins_type is neither 1 nor 2"),
    ]
    for bad, why in checks:
        reason = reason.mask(reason.isna() & bad.fillna(True), why)
    reason = reason.fillna(key_problem)
    shared = key.notna() & reason.isna() & key.where(reason.isna()).duplicated(keep="first")
    first_code = (
        pd.DataFrame({"key": key, "code": code})[reason.isna()].drop_duplicates("key")
        .set_index("key")["code"]
    )  # fmt: skip
    reason = reason.mask(
        shared,
        "unified social credit code already used by " + key.map(first_code).fillna("?"),
    )
    frame = pd.DataFrame(
        {
            "fixmedins_code": code,
            "name": name,
            "category": kind.map(INSTITUTION_TYPE_CATEGORY),
            "credit_key": key,
        }
    )
    bad = reason.notna()
    return frame[~bad], source[bad].assign(reason=reason[bad])


def enroll_institutions(
    store: Store,
    institutions: pd.DataFrame,
    *,
    actor: str,
    on: date,
    settings: SupervisionSettings,
) -> EnrollResult:
    """Register every institution of a dataset as a credit subject and a designated institution.

    An institution becomes an ``institution`` subject keyed by its unified social credit code
    (check digit verified), with ``local_code`` = ``fixmedins_code`` (the key leads and cases
    use) and category hospital or pharmacy from ``fixmedins_type``; and it enters the
    designated-institution registry (status designated, a service agreement from ``on`` for
    ``settings.agreement_years``). Rows without a valid code, or clashing with the ledger,
    are rejected with the reason. Re-running changes nothing: existing subjects and
    designations are left as they are.
    """
    good, rejected = _enrollable(institutions)
    agreement_end = add_years(on, settings.agreement_years) - timedelta(days=1)
    codes = good["fixmedins_code"].tolist()
    keys = good["credit_key"].tolist()
    refused: dict[int, str] = {}
    enrolled = already = designated = 0
    with store.write(actor) as tx:
        by_key: dict[str, CreditSubject] = {}
        by_code: dict[str, CreditSubject] = {}
        rows: dict[str, DesignatedInstitution] = {}
        for start in range(0, len(good), 500):
            chunk_keys, chunk_codes = keys[start : start + 500], codes[start : start + 500]
            for known in tx.session.execute(
                select(CreditSubject).where(
                    or_(
                        (CreditSubject.kind == INSTITUTION)
                        & CreditSubject.credit_key.in_(chunk_keys),
                        CreditSubject.local_code.in_(chunk_codes),
                    )
                )
            ).scalars():
                if known.kind == INSTITUTION:
                    by_key[known.credit_key] = known
                if known.local_code is not None:
                    by_code[known.local_code] = known
            for row in tx.session.execute(
                select(DesignatedInstitution).where(
                    DesignatedInstitution.fixmedins_code.in_(chunk_codes)
                )
            ).scalars():
                rows[row.fixmedins_code] = row
        enrolled_subjects: list[tuple[str, CreditSubject]] = []
        for position, item in zip(good.index, good.itertuples(index=False), strict=True):
            code, key = str(item.fixmedins_code), str(item.credit_key)
            subject, holder = by_key.get(key), by_code.get(code)
            if subject is not None and subject.local_code not in (None, code):
                refused[position] = (
                    f"unified social credit code already enrolled as {subject.local_code}"
                )
                continue
            if holder is not None and holder is not subject:
                refused[position] = (
                    f"fixmedins_code already enrolled with credit key {holder.credit_key}"
                )
                continue
            if subject is None:
                subject = CreditSubject(
                    kind=INSTITUTION,
                    credit_key=key,
                    local_code=code,
                    name=str(item.name),
                    category=str(item.category),
                    registered_by=tx.actor,
                    registered_at=tx.now,
                )
                tx.session.add(subject)
                enrolled += 1
            else:
                if subject.local_code is None:
                    subject.local_code = code
                already += 1
            enrolled_subjects.append((code, subject))
        tx.session.flush()
        for code, subject in enrolled_subjects:
            designation = rows.get(code)
            if designation is None:
                tx.session.add(
                    DesignatedInstitution(
                        fixmedins_code=code,
                        subject_id=subject.id,
                        status="designated",
                        agreement_start=on,
                        agreement_end=agreement_end,
                        updated_by=tx.actor,
                    )
                )
                designated += 1
            elif designation.subject_id is None:
                designation.subject_id = subject.id
        tx.describe("ledger.enroll", enrolled=enrolled, already=already, designated=designated)
    if refused:
        extra = institutions.reset_index(drop=True).loc[list(refused)]
        rejected = pd.concat(
            [rejected, extra.assign(reason=pd.Series(refused, dtype="string"))]
        ).sort_index()
    return EnrollResult(
        read=len(institutions),
        enrolled=enrolled,
        already=already,
        rejected=rejected.reset_index(drop=True),
        designated=designated,
        agreement_end=agreement_end,
    )


def _case_subject(tx: Tx, case: Case, credit_subject: str | None) -> CreditSubject:
    """The liable subject of a confirmed case; individuals are registered on first use."""
    key = credit_subject or (case.subject_id if case.subject_type != "visit" else None)
    if key is None:
        raise InputError(
            f"case {case.id} is about a visit; name the liable subject (credit_subject / "
            "--subject: a psn_no, fixmedins_code or credit key)"
        )
    try:
        return find_subject(tx.session, key)
    except NotFoundError:
        category = CASE_SUBJECT_CATEGORY.get(case.subject_type)
        if category is None:
            raise NotFoundError(
                f"institution {key!r} is not in the ledger; enrol the dataset's institutions "
                "(fundguard ledger enroll DIR) or register it with its credit code "
                f"(fundguard ledger add-subject --kind institution --local-code {key} ...)"
            ) from None
    subject = CreditSubject(
        kind=INDIVIDUAL,
        credit_key=key,
        local_code=key,
        name=key,
        category=category,
        registered_by=tx.actor,
        registered_at=tx.now,
    )
    tx.session.add(subject)
    tx.session.flush()
    return subject


# --- records ----------------------------------------------------------------------------


def _notify(
    tx: Tx,
    subject: CreditSubject,
    on: date,
    message: str,
    record: CreditRecord | None = None,
    measure: Measure | None = None,
) -> None:
    tx.session.flush()
    tx.session.add(
        Notification(
            subject_id=subject.id,
            sent_on=on,
            message=message,
            record_id=record.id if record else None,
            measure_id=measure.id if measure else None,
        )
    )


def _write_record(
    tx: Tx,
    subject: CreditSubject,
    settings: SupervisionSettings,
    *,
    kind: str,
    category: str,
    description: str,
    provider: str,
    legal_basis: str,
    severity: str | None,
    entered_on: date,
    expires_on: date | None = None,
    case_id: int | None = None,
    amount: Decimal | None = None,
    corrects_id: int | None = None,
) -> CreditRecord:
    if kind not in RECORD_KINDS:
        raise InputError(f"record kind must be one of {', '.join(RECORD_KINDS)}")
    if kind == "bad" and severity not in SEVERITIES:
        raise InputError(f"a bad record needs a severity: {', '.join(SEVERITIES)}")
    if kind == "bad" and expires_on is None:
        expires_on = add_years(entered_on, settings.record_validity_years)
    record = CreditRecord(
        subject_id=subject.id,
        kind=kind,
        category=category,
        description=description,
        provider=provider,
        legal_basis=legal_basis,
        severity=severity,
        entered_on=entered_on,
        expires_on=expires_on,
        status=IN_FORCE,
        case_id=case_id,
        amount=amount,
        corrects_id=corrects_id,
        entered_by=tx.actor,
    )
    tx.session.add(record)
    tx.session.flush()
    _notify(tx, subject, entered_on, f"{kind} record entered: {description}", record=record)
    if kind == "bad":
        refresh_measures(tx, subject, entered_on, settings)
    return record


def record_confirmed_case(
    tx: Tx, case: Case, settings: SupervisionSettings, credit_subject: str | None = None
) -> CreditSubject:
    """Write the bad record of a confirmed case (§1) and the measures that follow."""
    subject = _case_subject(tx, case, credit_subject)
    on = local_date(case.decided_at or tx.now)
    _write_record(
        tx,
        subject,
        settings,
        kind="bad",
        category="confirmed_case",
        description=f"case {case.id}: {case.confirmed_pattern} confirmed "
        f"({case.confirmed_amount} yuan)",
        provider="fund supervision (verification)",
        legal_basis="medical-insurance fund supervision regulations; verified case",
        severity=case.severity,
        entered_on=on,
        case_id=case.id,
        amount=case.confirmed_amount,
    )
    return subject


REPORT_VERIFIED = "report_verified"
"""Category of the trustworthy record of an informant whose report was verified (举报查实)."""


def credit_informant(tx: Tx, case: Case, settings: SupervisionSettings) -> CreditRecord | None:
    """A confirmed report earns its informant a trustworthy record 举报查实 (§1).

    Only when the informant was given as a known credit subject (local code or credit key,
    e.g. the pseudonym of a resident ID); otherwise nothing is written. Informants are
    protected (§8): the record names neither the case nor the reported subject, so the
    informant's archive cannot be traced to the case; only the case points to the record.
    """
    if not case.informant or not case.informant.strip():
        return None
    try:
        informant = find_subject(tx.session, case.informant.strip())
    except NotFoundError:
        return None
    return _write_record(
        tx,
        informant,
        settings,
        kind="trustworthy",
        category=REPORT_VERIFIED,
        description="a report of fraud against the medical-insurance fund, verified (举报查实)",
        provider="fund supervision (verification)",
        legal_basis="credit rules: a report of someone else's fraud verified by the bureau",
        severity=None,
        entered_on=local_date(case.decided_at or tx.now),
    )


def add_record(
    store: Store,
    subject_key: str,
    *,
    kind: str,
    category: str,
    description: str,
    provider: str,
    legal_basis: str,
    actor: str,
    settings: SupervisionSettings,
    severity: str | None = None,
    entered_on: date | None = None,
    expires_on: date | None = None,
) -> CreditRecord:
    """Enter a basic, trustworthy or bad record by hand (with provider and legal basis)."""
    with store.write(actor) as tx:
        subject = find_subject(tx.session, subject_key)
        record = _write_record(
            tx,
            subject,
            settings,
            kind=kind,
            category=category,
            description=description,
            provider=provider,
            legal_basis=legal_basis,
            severity=severity,
            entered_on=entered_on or today(),
            expires_on=expires_on,
        )
        tx.describe("ledger.add_record", kind=kind, category=category)
    return record


def _change_record(
    tx: Tx, record_id: int, status: str, reason: str, on: date, settings: SupervisionSettings
) -> CreditRecord:
    if not reason.strip():
        raise InputError("a change to a record needs a reason")
    record = tx.session.get(CreditRecord, record_id)
    if record is None:
        raise NotFoundError(f"there is no record {record_id}")
    if record.status != IN_FORCE:
        raise RuleError(f"record {record_id} is already {record.status}")
    record.status = status
    record.status_reason = reason.strip()
    subject = tx.session.get_one(CreditSubject, record.subject_id)
    _notify(tx, subject, on, f"record {record_id} {status}: {reason}", record=record)
    return record


def revoke_record(
    store: Store,
    record_id: int,
    *,
    reason: str,
    actor: str,
    settings: SupervisionSettings,
    on: date | None = None,
) -> CreditRecord:
    """Revoke a record (kept, marked revoked with the reason) and adjust the measures."""
    on = on or today()
    with store.write(actor) as tx:
        record = _change_record(tx, record_id, REVOKED, reason, on, settings)
        refresh_measures(tx, tx.session.get_one(CreditSubject, record.subject_id), on, settings)
        tx.describe("ledger.revoke_record", record=record_id)
    return record


def correct_record(
    store: Store,
    record_id: int,
    *,
    reason: str,
    actor: str,
    settings: SupervisionSettings,
    description: str | None = None,
    severity: str | None = None,
    on: date | None = None,
) -> CreditRecord:
    """Correct a record: the old one is marked corrected, a new one ``corrects`` it."""
    on = on or today()
    with store.write(actor) as tx:
        new = _correct(tx, record_id, reason, on, settings, description, severity)
        tx.describe("ledger.correct_record", record=record_id)
    return new


def _correct(
    tx: Tx,
    record_id: int,
    reason: str,
    on: date,
    settings: SupervisionSettings,
    description: str | None,
    severity: str | None,
) -> CreditRecord:
    old = _change_record(tx, record_id, CORRECTED, reason, on, settings)
    subject = tx.session.get_one(CreditSubject, old.subject_id)
    return _write_record(
        tx,
        subject,
        settings,
        kind=old.kind,
        category=old.category,
        description=description or old.description,
        provider=old.provider,
        legal_basis=old.legal_basis,
        severity=severity or old.severity,
        entered_on=old.entered_on,
        expires_on=old.expires_on if severity is None else None,
        case_id=old.case_id,
        amount=old.amount,
        corrects_id=old.id,
    )


def expire_records(store: Store, *, actor: str, settings: SupervisionSettings, on: date) -> int:
    """Mark records past their expiry as expired (kept; no longer counted); adjust measures."""
    with store.write(actor) as tx:
        due = (
            tx.session.execute(
                select(CreditRecord).where(
                    CreditRecord.status == IN_FORCE,
                    CreditRecord.expires_on.is_not(None),
                    CreditRecord.expires_on <= on,
                )
            )
            .scalars()
            .all()
        )
        for record in due:
            record.status = EXPIRED
            record.status_reason = f"validity ended on {record.expires_on}"
        for subject_id in sorted({r.subject_id for r in due}):
            refresh_measures(tx, tx.session.get_one(CreditSubject, subject_id), on, settings)
        tx.describe("ledger.expire_records", expired=len(due))
    return len(due)


def _in_force(records: list[CreditRecord], on: date) -> list[CreditRecord]:
    return [
        r
        for r in records
        if r.status == IN_FORCE
        and r.entered_on <= on
        and (r.expires_on is None or on < r.expires_on)
    ]


# --- measures and lists -----------------------------------------------------------------


def _measures(tx: Tx, subject: CreditSubject, kinds: tuple[str, ...]) -> list[Measure]:
    return list(
        tx.session.execute(
            select(Measure)
            .where(Measure.subject_id == subject.id, Measure.kind.in_(kinds))
            .order_by(Measure.id)
        ).scalars()
    )


def _add_measure(
    tx: Tx,
    subject: CreditSubject,
    kind: str,
    starts_on: date,
    ends_on: date | None,
    reason: str,
    record: CreditRecord | None,
    notify_on: date,
) -> Measure:
    measure = Measure(
        subject_id=subject.id,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        record_id=record.id if record else None,
        status=ACTIVE,
        created_by=tx.actor,
    )
    tx.session.add(measure)
    until = f" until {ends_on}" if ends_on else ""
    _notify(
        tx, subject, notify_on, f"measure {kind} from {starts_on}{until}: {reason}", measure=measure
    )
    return measure


def refresh_measures(
    tx: Tx, subject: CreditSubject, on: date, settings: SupervisionSettings
) -> None:
    """Bring the subject's count measures (§3) and blacklist (§2) in line with its archive."""
    tx.session.flush()
    records = list(
        tx.session.execute(
            select(CreditRecord).where(
                CreditRecord.subject_id == subject.id, CreditRecord.kind == "bad"
            )
        ).scalars()
    )
    current = _in_force(records, on)
    if subject.kind == INDIVIDUAL and subject.category in settings.count_measure_categories:
        counted = sorted(
            (r for r in current if r.category not in NOT_COUNTED),
            key=lambda r: (r.entered_on, r.id),
        )
        _apply_count_measure(tx, subject, counted, on, settings)
    severe = [r for r in current if _at_least(r.severity, settings.blacklist_severity)]
    listed = [m for m in _measures(tx, subject, (BLACKLIST,)) if m.status == ACTIVE]
    if severe and not listed:
        latest = max(severe, key=lambda r: (r.entered_on, r.id))
        _add_measure(
            tx,
            subject,
            BLACKLIST,
            latest.entered_on,
            None,
            f"{latest.severity} dishonest act (record {latest.id})",
            latest,
            on,
        )
    elif listed and not severe:
        for measure in listed:
            _lift(tx, subject, measure, on, "no severe record in force any more")


def _at_least(severity: str | None, threshold: str) -> bool:
    return severity in SEVERITIES and SEVERITIES.index(severity) >= SEVERITIES.index(threshold)


def _lift(tx: Tx, subject: CreditSubject, measure: Measure, on: date, reason: str) -> None:
    measure.status = LIFTED
    measure.status_reason = reason
    measure.lifted_on = on
    if measure.ends_on is None or measure.ends_on > on:
        measure.ends_on = on
    _notify(tx, subject, on, f"measure {measure.kind} lifted: {reason}", measure=measure)


def _apply_count_measure(
    tx: Tx,
    subject: CreditSubject,
    counted: list[CreditRecord],
    on: date,
    settings: SupervisionSettings,
) -> None:
    n = len(counted)
    wanted: tuple[str, CreditRecord] | None = None
    if n >= settings.time_limited_at_records:
        wanted = (TIME_LIMITED, counted[-1])
    elif n >= settings.cash_settlement_at_records:
        wanted = (CASH_SETTLEMENT, counted[-1])
    elif n >= settings.warning_at_records:
        wanted = (WRITTEN_WARNING, counted[-1])
    existing = [m for m in _measures(tx, subject, COUNT_MEASURES) if m.status == ACTIVE]
    for measure in existing:
        if wanted is None or (measure.kind, measure.record_id) != (wanted[0], wanted[1].id):
            if measure.kind == WRITTEN_WARNING and wanted is not None:
                continue  # a warning was given; it stays in the archive as given
            running = measure.ends_on is None or measure.ends_on >= on
            if running or wanted is None:
                measure.status = SUPERSEDED
                measure.status_reason = f"{n} record(s) in force on {on}"
                if running and measure.ends_on is not None and measure.ends_on > on:
                    measure.ends_on = on
                    _notify(
                        tx,
                        subject,
                        on,
                        f"measure {measure.kind} ended: {n} record(s) in force",
                        measure=measure,
                    )
    if wanted is None:
        return
    kind, record = wanted
    already = [m for m in _measures(tx, subject, (kind,)) if m.record_id == record.id]
    if any(m.status == ACTIVE for m in already):
        return
    if kind == WRITTEN_WARNING:
        ends = record.entered_on
    else:
        ends = record.entered_on + timedelta(days=settings.measure_duration_days)
    _add_measure(
        tx, subject, kind, record.entered_on, ends, f"{n} dishonesty record(s) in force", record, on
    )


def urge_rectification(
    store: Store, subject_key: str, *, on: date, actor: str, settings: SupervisionSettings
) -> Measure:
    """Urge a blacklisted subject to rectify within ``rectification_months`` (§7)."""
    with store.write(actor) as tx:
        measure = _blacklist_entry(tx, subject_key)
        measure.urged_on = on
        measure.rectify_by = add_months(on, settings.rectification_months)
        _notify(
            tx,
            tx.session.get_one(CreditSubject, measure.subject_id),
            on,
            f"rectify by {measure.rectify_by}",
            measure=measure,
        )
        tx.describe("ledger.urge_rectification")
    return measure


def _blacklist_entry(tx: Tx, subject_key: str) -> Measure:
    subject = find_subject(tx.session, subject_key)
    listed = [m for m in _measures(tx, subject, (BLACKLIST,)) if m.status == ACTIVE]
    if not listed:
        raise RuleError(f"{subject_key} is not on the blacklist")
    return listed[-1]


def confirm_rectification(
    store: Store,
    subject_key: str,
    *,
    on: date,
    actor: str,
    reason: str,
    settings: SupervisionSettings,
) -> Measure:
    """Confirm a blacklisted subject's rectification; removal is due in N working days (§7)."""
    if not reason.strip():
        raise InputError("confirming a rectification needs a reason")
    with store.write(actor) as tx:
        measure = _blacklist_entry(tx, subject_key)
        measure.rectified_on = on
        measure.remove_by = add_working_days(on, settings.removal_working_days)
        measure.status_reason = reason.strip()
        tx.describe("ledger.confirm_rectification")
    return measure


def remove_from_blacklist(
    store: Store, subject_key: str, *, on: date, actor: str, reason: str
) -> Measure:
    """Remove a subject whose rectification was confirmed from the blacklist (§7)."""
    with store.write(actor) as tx:
        measure = _blacklist_entry(tx, subject_key)
        if measure.rectified_on is None:
            raise RuleError(f"{subject_key}'s rectification is not confirmed yet")
        _lift(
            tx,
            tx.session.get_one(CreditSubject, measure.subject_id),
            measure,
            on,
            reason or "rectification confirmed",
        )
        tx.describe("ledger.remove_from_blacklist")
    return measure


def pending_removals(store: Store, *, on: date) -> pd.DataFrame:
    """Blacklisted subjects whose rectification is confirmed but who are not yet removed."""
    with store.read() as session:
        rows = session.execute(
            select(
                CreditSubject.credit_key,
                CreditSubject.name,
                Measure.rectified_on,
                Measure.remove_by,
            )
            .join(Measure, Measure.subject_id == CreditSubject.id)
            .where(
                Measure.kind == BLACKLIST,
                Measure.status == ACTIVE,
                Measure.rectified_on.is_not(None),
            )
        ).all()
    frame = pd.DataFrame(rows, columns=["credit_key", "name", "rectified_on", "remove_by"])
    frame["overdue"] = frame["remove_by"].map(lambda d: d < on).astype(bool)
    return frame


def overdue_rectifications(store: Store, *, on: date) -> pd.DataFrame:
    """Blacklisted subjects past their rectification deadline: due a warning interview (§7)."""
    with store.read() as session:
        rows = session.execute(
            select(
                CreditSubject.credit_key, CreditSubject.name, Measure.urged_on, Measure.rectify_by
            )
            .join(Measure, Measure.subject_id == CreditSubject.id)
            .where(
                Measure.kind == BLACKLIST,
                Measure.status == ACTIVE,
                Measure.rectify_by < on,
                Measure.rectified_on.is_(None),
                Measure.interviewed_on.is_(None),
            )
        ).all()
    return pd.DataFrame(rows, columns=["credit_key", "name", "urged_on", "rectify_by"])


def record_warning_interview(
    store: Store,
    subject_key: str,
    *,
    on: date,
    attended: bool,
    notes: str,
    actor: str,
    settings: SupervisionSettings,
) -> CreditRecord:
    """Record a warning interview (or the refusal to attend) in the subject's archive (§7)."""
    with store.write(actor) as tx:
        subject = find_subject(tx.session, subject_key)
        listed = [m for m in _measures(tx, subject, (BLACKLIST,)) if m.status == ACTIVE]
        for measure in listed:
            measure.interviewed_on = on
        what = "attended" if attended else "refused to attend or cooperate"
        record = _write_record(
            tx,
            subject,
            settings,
            kind="bad",
            category="warning_interview",
            description=f"warning interview with the principal responsible person: {what}; {notes}",
            provider="medical-insurance agency",
            legal_basis="rectification overdue (§7)",
            severity=settings.interview_severity,
            entered_on=on,
        )
        tx.describe("ledger.warning_interview", attended=attended)
    return record


# --- score, grade, red list -------------------------------------------------------------


def scoring_version(settings: SupervisionSettings) -> str:
    """The scoring rule's name with a digest of every number it uses, published with grades."""
    rule = {
        "base": settings.score_base,
        "weights": settings.severity_weights,
        "half_life": settings.recency_half_life_years,
        "trust": [settings.trustworthy_points, settings.trustworthy_cap],
        "floors": settings.grade_floors,
    }
    digest = hashlib.sha256(json.dumps(rule, sort_keys=True).encode()).hexdigest()[:8]
    return f"{settings.score_model_version}+{digest}"


def credit_scores(
    records: pd.DataFrame, subject_ids: pd.Index, on: date, settings: SupervisionSettings
) -> pd.Series:
    """Score every subject from its records in force on ``on`` (§5).

    ``records`` has subject_id, kind, severity, entered_on, expires_on, status. A bad record
    takes its severity weight, halved every ``recency_half_life_years``; trustworthy records
    add ``trustworthy_points`` each up to ``trustworthy_cap``.
    """
    frame = records.copy()
    entered = pd.to_datetime(frame["entered_on"])
    expires = pd.to_datetime(frame["expires_on"])
    day = pd.Timestamp(on)
    live = (frame["status"] == IN_FORCE) & (entered <= day) & (expires.isna() | (day < expires))
    frame = frame[live]
    entered = entered[live]
    age_years = (day - entered).dt.days / 365.25
    weight = frame["severity"].map(settings.severity_weights).astype(float).fillna(0.0)
    decay = np.power(0.5, age_years / settings.recency_half_life_years)
    penalty: pd.Series = (weight * decay).where(frame["kind"] == "bad", 0.0)
    bonus = pd.Series(
        np.where(frame["kind"] == "trustworthy", settings.trustworthy_points, 0.0),
        index=frame.index,
    )
    by_subject = (
        pd.DataFrame({"subject_id": frame["subject_id"], "penalty": penalty, "bonus": bonus})
        .groupby("subject_id")[["penalty", "bonus"]]
        .sum()
    )
    by_subject = by_subject.reindex(subject_ids, fill_value=0.0)
    score = (
        settings.score_base
        - by_subject["penalty"]
        + by_subject["bonus"].clip(upper=settings.trustworthy_cap)
    )
    return score.rename("score")


def grade_of(score: float, settings: SupervisionSettings) -> str:
    """The grade a score maps to (``settings.grade_floors``)."""
    for grade in GRADES[:-1]:
        if score >= settings.grade_floors[grade]:
            return grade
    return GRADES[-1]


def _records_frame(session: Session, subject_ids: list[int] | None = None) -> pd.DataFrame:
    query = select(
        CreditRecord.subject_id,
        CreditRecord.kind,
        CreditRecord.category,
        CreditRecord.severity,
        CreditRecord.entered_on,
        CreditRecord.expires_on,
        CreditRecord.status,
    )
    if subject_ids is not None:
        query = query.where(CreditRecord.subject_id.in_(subject_ids))
    rows = session.execute(query).all()
    return pd.DataFrame(
        rows,
        columns=[
            "subject_id",
            "kind",
            "category",
            "severity",
            "entered_on",
            "expires_on",
            "status",
        ],
    )


def complaint_steps(
    records: pd.DataFrame, subject_ids: pd.Index, on: date, settings: SupervisionSettings
) -> pd.Series:
    """Grade steps each subject loses for its verified complaints in force (§8)."""
    entered = pd.to_datetime(records["entered_on"])
    expires = pd.to_datetime(records["expires_on"])
    day = pd.Timestamp(on)
    live = (
        (records["status"] == IN_FORCE)
        & (records["category"] == "complaint")
        & (entered <= day)
        & (expires.isna() | (day < expires))
    )
    counts = records.loc[live, "subject_id"].value_counts()
    return (counts.reindex(subject_ids, fill_value=0) * settings.complaint_grade_steps).astype(int)


def grade_subjects(
    store: Store,
    *,
    year: int,
    on: date,
    actor: str,
    settings: SupervisionSettings,
    subject_keys: list[str] | None = None,
) -> pd.DataFrame:
    """Score and grade subjects for ``year`` as of ``on``; update the red list (§5)."""
    with store.write(actor) as tx:
        subjects = _grade(tx, year, on, settings, subject_keys)
        tx.describe("ledger.grade", year=year, subjects=len(subjects))
    return subjects


def _grade(
    tx: Tx, year: int, on: date, settings: SupervisionSettings, subject_keys: list[str] | None
) -> pd.DataFrame:
    session = tx.session
    if subject_keys is None:
        subjects = list(session.execute(select(CreditSubject).order_by(CreditSubject.id)).scalars())
    else:
        subjects = [find_subject(session, k) for k in subject_keys]
    ids = [s.id for s in subjects]
    records = _records_frame(session, ids)
    scores = credit_scores(records, pd.Index(ids), on, settings)
    steps = complaint_steps(records, pd.Index(ids), on, settings)
    version = scoring_version(settings)
    existing = {
        g.subject_id: g
        for g in session.execute(
            select(Grade).where(Grade.year == year, Grade.subject_id.in_(ids))
        ).scalars()
    }
    out = []
    for subject in subjects:
        score = round(float(scores[subject.id]), 4)
        grade = GRADES[min(GRADES.index(grade_of(score, settings)) + int(steps[subject.id]), 4)]
        row = existing.get(subject.id)
        if row is None:
            row = Grade(subject_id=subject.id, year=year)
            session.add(row)
        row.score, row.grade, row.scoring_version = score, grade, version
        row.graded_on, row.graded_by = on, tx.actor
        out.append(
            {
                "subject_id": subject.id,
                "credit_key": subject.credit_key,
                "name": subject.name,
                "year": year,
                "score": score,
                "grade": grade,
                "scoring_version": version,
            }
        )
    session.flush()
    _update_redlist(tx, subjects, year, on, settings)
    return pd.DataFrame(
        out,
        columns=["subject_id", "credit_key", "name", "year", "score", "grade", "scoring_version"],
    )


def _update_redlist(
    tx: Tx, subjects: list[CreditSubject], year: int, on: date, settings: SupervisionSettings
) -> None:
    """Red list (§5): excellent ``redlist_consecutive_years`` years running, no dishonest
    record in force, no contribution arrears, and (designated institutions) designation kept.
    Key monitoring: subjects graded in ``monitored_grades`` this year."""
    need = settings.redlist_consecutive_years
    years = list(range(year - need + 1, year + 1))
    ids = [s.id for s in subjects]
    grades = tx.session.execute(
        select(Grade.subject_id, Grade.year, Grade.grade).where(
            Grade.subject_id.in_(ids), Grade.year.in_(years)
        )
    ).all()
    excellent: dict[int, set[int]] = {}
    current: dict[int, str] = {}
    for subject_id, y, grade in grades:
        if grade == "excellent":
            excellent.setdefault(subject_id, set()).add(y)
        if y == year:
            current[subject_id] = grade
    active: dict[tuple[int, str], list[Measure]] = {}
    for measure in tx.session.execute(
        select(Measure).where(
            Measure.subject_id.in_(ids),
            Measure.kind.in_((REDLIST, KEY_MONITORING)),
            Measure.status == ACTIVE,
        )
    ).scalars():
        active.setdefault((measure.subject_id, measure.kind), []).append(measure)
    lapsed = {
        subject_id
        for (subject_id,) in tx.session.execute(
            select(DesignatedInstitution.subject_id).where(
                DesignatedInstitution.subject_id.in_(ids),
                DesignatedInstitution.status != "designated",
            )
        )
    }
    for subject in subjects:
        qualifies = (
            excellent.get(subject.id, set()) >= set(years)
            and not subject.arrears_months
            and subject.id not in lapsed
        )
        if qualifies:
            bad = [r for r in _bad_records(tx, subject) if r.category not in NOT_COUNTED]
            qualifies = not _in_force(bad, on)
        listed = active.get((subject.id, REDLIST), [])
        if qualifies and not listed:
            _add_measure(
                tx,
                subject,
                REDLIST,
                on,
                None,
                f"graded excellent {need} consecutive years ({years[0]}-{year})",
                None,
                on,
            )
        elif listed and not qualifies:
            for measure in listed:
                _lift(tx, subject, measure, on, f"red-list conditions not met in {year}")
        monitored = active.get((subject.id, KEY_MONITORING), [])
        this_grade = current.get(subject.id)
        if this_grade in settings.monitored_grades and not monitored:
            _add_measure(
                tx,
                subject,
                KEY_MONITORING,
                on,
                None,
                f"graded {this_grade} for {year}: key monitoring, warning interview with a "
                "rectification deadline",
                None,
                on,
            )
        elif monitored and this_grade is not None and this_grade not in settings.monitored_grades:
            for measure in monitored:
                _lift(tx, subject, measure, on, f"graded {this_grade} for {year}")


def _bad_records(tx: Tx, subject: CreditSubject) -> list[CreditRecord]:
    return list(
        tx.session.execute(
            select(CreditRecord).where(
                CreditRecord.subject_id == subject.id, CreditRecord.kind == "bad"
            )
        ).scalars()
    )


# --- objections -------------------------------------------------------------------------


def file_objection(
    store: Store,
    subject_key: str,
    *,
    target: str,
    target_id: int,
    applicant: str,
    contact: str,
    description: str,
    reasons: str,
    commitment_signed: bool,
    filed_on: date,
    actor: str,
    settings: SupervisionSettings,
    decision_received_on: date | None = None,
) -> Objection:
    """File an objection to a record or a measure (§6); measures are not suspended meanwhile.

    Against a measure it must be filed within ``objection_file_days`` of receiving the written
    decision and carry a signed credit commitment. The answer is due ``objection_answer_days``
    after acceptance (on filing).
    """
    if target not in ("record", "measure"):
        raise InputError("an objection is against a record or a measure")
    with store.write(actor) as tx:
        subject = find_subject(tx.session, subject_key)
        thing: CreditRecord | Measure | None = (
            tx.session.get(CreditRecord, target_id)
            if target == "record"
            else tx.session.get(Measure, target_id)
        )
        if thing is None or thing.subject_id != subject.id:
            raise NotFoundError(f"{subject_key} has no {target} {target_id}")
        if target == "measure":
            if decision_received_on is None:
                raise InputError(
                    "an objection to a measure needs the date the decision was received"
                )
            last_day = add_days(
                decision_received_on,
                settings.objection_file_days,
                working=settings.objection_working_days,
            )
            if filed_on > last_day:
                raise RuleError(
                    f"the objection period ended on {last_day} "
                    f"({settings.objection_file_days} days after {decision_received_on})"
                )
            if not commitment_signed:
                raise RuleError("an objection to a measure needs a signed credit commitment")
        objection = Objection(
            subject_id=subject.id,
            target=target,
            target_id=target_id,
            applicant=applicant,
            contact=contact,
            description=description,
            reasons=reasons,
            commitment_signed=commitment_signed,
            decision_received_on=decision_received_on,
            filed_on=filed_on,
            accepted_on=filed_on,
            answer_by=add_days(
                filed_on, settings.objection_answer_days, working=settings.objection_working_days
            ),
            state="pending",
        )
        tx.session.add(objection)
        tx.describe("ledger.file_objection", target=target)
    return objection


def answer_objection(
    store: Store,
    objection_id: int,
    *,
    upheld: bool,
    outcome: str,
    on: date,
    actor: str,
    settings: SupervisionSettings,
    corrected_description: str | None = None,
    corrected_severity: str | None = None,
) -> Objection:
    """Answer an objection in writing; an upheld one corrects the record and adjusts measures.

    An upheld objection to a record corrects it (when a corrected description or severity is
    given) or revokes it; one to a measure lifts the measure. Both changes name the objection.
    """
    if not outcome.strip():
        raise InputError("an answer needs its outcome in writing")
    with store.write(actor) as tx:
        objection = tx.session.get(Objection, objection_id)
        if objection is None:
            raise NotFoundError(f"there is no objection {objection_id}")
        if objection.state != "pending":
            raise RuleError(f"objection {objection_id} was already answered")
        subject = tx.session.get_one(CreditSubject, objection.subject_id)
        why = f"objection {objection_id} upheld: {outcome.strip()}"
        if upheld and objection.target == "record":
            if corrected_description or corrected_severity:
                _correct(
                    tx,
                    objection.target_id,
                    why,
                    on,
                    settings,
                    corrected_description,
                    corrected_severity,
                )
            else:
                _change_record(tx, objection.target_id, REVOKED, why, on, settings)
            refresh_measures(tx, subject, on, settings)
        elif upheld:
            measure = tx.session.get_one(Measure, objection.target_id)
            if measure.status == ACTIVE:
                _lift(tx, subject, measure, on, why)
        objection.state = "upheld" if upheld else "dismissed"
        objection.outcome = outcome.strip()
        objection.answered_on = on
        objection.answered_by = tx.actor
        _notify(tx, subject, on, f"objection {objection_id} {objection.state}: {outcome}")
        tx.describe("ledger.answer_objection", upheld=upheld)
    return objection


def overdue_objections(store: Store, *, on: date) -> pd.DataFrame:
    """Pending objections whose written answer is past due."""
    with store.read() as session:
        rows = session.execute(
            select(
                Objection.id,
                Objection.subject_id,
                Objection.target,
                Objection.target_id,
                Objection.accepted_on,
                Objection.answer_by,
            ).where(Objection.state == "pending", Objection.answer_by < on)
        ).all()
    return pd.DataFrame(
        rows,
        columns=["objection_id", "subject_id", "target", "target_id", "accepted_on", "answer_by"],
    )


# --- complaints -------------------------------------------------------------------------


def record_complaint(
    store: Store,
    *,
    against: str,
    complainant: str,
    description: str,
    received_on: date,
    actor: str,
) -> Complaint:
    """Record a complaint (投诉) against a subject; the complainant is an individual pseudonym."""
    with store.write(actor) as tx:
        subject = find_subject(tx.session, against)
        try:
            person = find_subject(tx.session, complainant)
        except NotFoundError:
            person = CreditSubject(
                kind=INDIVIDUAL,
                credit_key=validate_credit_key(INDIVIDUAL, complainant),
                name=complainant,
                category="other_individual",
                registered_by=tx.actor,
                registered_at=tx.now,
            )
            tx.session.add(person)
            tx.session.flush()
        complaint = Complaint(
            subject_id=subject.id,
            complainant_id=person.id,
            description=description,
            received_on=received_on,
            state="recorded",
            recorded_by=tx.actor,
        )
        tx.session.add(complaint)
        tx.describe("ledger.record_complaint")
    return complaint


def decide_complaint(
    store: Store,
    complaint_id: int,
    *,
    finding: str,
    reason: str,
    on: date,
    actor: str,
    settings: SupervisionSettings,
) -> Complaint:
    """Verify a complaint (§8): ``verified`` lowers the subject's score and regrades it;
    ``false`` (proven false) blacklists the complainant; ``unfounded`` changes nothing.

    A verified complaint is a bad record in the subject's archive: its severity weighs on the
    score, and each one in force lowers the grade by ``complaint_grade_steps``."""
    if finding not in ("verified", "unfounded", "false"):
        raise InputError("finding must be verified, unfounded or false")
    if not reason.strip():
        raise InputError("a complaint finding needs a reason")
    with store.write(actor) as tx:
        complaint = tx.session.get(Complaint, complaint_id)
        if complaint is None:
            raise NotFoundError(f"there is no complaint {complaint_id}")
        if complaint.state != "recorded":
            raise RuleError(f"complaint {complaint_id} is already {complaint.state}")
        complaint.state, complaint.finding = finding, reason.strip()
        complaint.decided_on, complaint.decided_by = on, tx.actor
        if finding == "verified":
            subject = tx.session.get_one(CreditSubject, complaint.subject_id)
            _write_record(
                tx,
                subject,
                settings,
                kind="bad",
                category="complaint",
                description=f"verified complaint {complaint_id}: {reason.strip()}",
                provider="medical-insurance agency (complaints)",
                legal_basis="verified complaint (§8)",
                severity=settings.complaint_severity,
                entered_on=on,
            )
            _grade(tx, on.year, on, settings, [subject.credit_key])
        elif finding == "false":
            person = tx.session.get_one(CreditSubject, complaint.complainant_id)
            _write_record(
                tx,
                person,
                settings,
                kind="bad",
                category="false_complaint",
                description=f"complaint {complaint_id} proven false: {reason.strip()}",
                provider="medical-insurance agency (complaints)",
                legal_basis="false complaint (§8)",
                severity=settings.false_complaint_severity,
                entered_on=on,
            )
            if not [m for m in _measures(tx, person, (BLACKLIST,)) if m.status == ACTIVE]:
                record = _bad_records(tx, person)[-1]
                _add_measure(
                    tx,
                    person,
                    BLACKLIST,
                    on,
                    None,
                    f"proven false complaint {complaint_id}",
                    record,
                    on,
                )
        tx.describe("ledger.decide_complaint", finding=finding)
    return complaint


# --- reads ------------------------------------------------------------------------------


def _rows(objs: Any, model: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {c.key: getattr(o, c.key) for c in model.__table__.columns if c.key not in drop}
        for o in objs
    ]


def archive(store: Store, subject_key: str) -> dict[str, Any]:
    """A subject's credit archive: basic information, records, measures, grades, notices,
    objections. Nothing in it names an informant or a complainant."""
    with store.read() as session:
        subject = find_subject(session, subject_key)

        def owned(model: Any, order: Any) -> list[Any]:
            query = select(model).where(model.subject_id == subject.id).order_by(order)
            return list(session.execute(query).scalars().all())

        records = owned(CreditRecord, CreditRecord.id)
        measures = owned(Measure, Measure.id)
        grades = owned(Grade, Grade.year)
        notices = owned(Notification, Notification.id)
        objections = owned(Objection, Objection.id)
        record_rows = _rows(records, CreditRecord)
        return {
            "basic": _rows([subject], CreditSubject)[0],
            "trustworthy": [r for r in record_rows if r["kind"] == "trustworthy"],
            "bad": [r for r in record_rows if r["kind"] == "bad"],
            "other": [r for r in record_rows if r["kind"] == "basic"],
            "measures": _rows(measures, Measure),
            "grades": _rows(grades, Grade),
            "notifications": _rows(notices, Notification),
            "objections": _rows(objections, Objection),
        }


def list_subjects(store: Store, *, kind: str | None = None) -> pd.DataFrame:
    """Credit subjects with their latest grade (for consoles and exports)."""
    query = select(
        CreditSubject.id,
        CreditSubject.kind,
        CreditSubject.credit_key,
        CreditSubject.local_code,
        CreditSubject.name,
        CreditSubject.category,
    ).order_by(CreditSubject.id)
    if kind:
        query = query.where(CreditSubject.kind == kind)
    with store.read() as session:
        rows = session.execute(query).all()
    frame = pd.DataFrame(
        rows, columns=["subject_id", "kind", "credit_key", "local_code", "name", "category"]
    )
    grades = latest_grades(store)[["subject_id", "year", "grade"]]
    return frame.merge(grades, on="subject_id", how="left")


def latest_grades(store: Store) -> pd.DataFrame:
    """Each subject's latest grade (subjects never graded are absent)."""
    with store.read() as session:
        rows = session.execute(
            select(
                CreditSubject.id,
                CreditSubject.kind,
                CreditSubject.credit_key,
                CreditSubject.local_code,
                CreditSubject.name,
                Grade.year,
                Grade.score,
                Grade.grade,
                Grade.scoring_version,
            )
            .join(Grade, Grade.subject_id == CreditSubject.id)
            .order_by(CreditSubject.id, Grade.year)
        ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "subject_id",
            "kind",
            "credit_key",
            "local_code",
            "name",
            "year",
            "score",
            "grade",
            "scoring_version",
        ],
    )
    return frame.drop_duplicates("subject_id", keep="last").reset_index(drop=True)


WARNING_COLUMNS = (
    "kind",
    "credit_key",
    "local_code",
    "name",
    "measure",
    "starts_on",
    "ends_on",
    "reason",
    "grade",
)


def current_measures(store: Store, *, on: date) -> pd.DataFrame:
    """Warnings for other systems: who is restricted on ``on``, from when to when, and why."""
    with store.read() as session:
        rows = session.execute(
            select(
                CreditSubject.id,
                CreditSubject.kind,
                CreditSubject.credit_key,
                CreditSubject.local_code,
                CreditSubject.name,
                Measure.kind,
                Measure.starts_on,
                Measure.ends_on,
                Measure.reason,
            )
            .join(Measure, Measure.subject_id == CreditSubject.id)
            .where(
                Measure.status == ACTIVE,
                Measure.starts_on <= on,
                or_(Measure.ends_on.is_(None), Measure.ends_on >= on),
            )
            .order_by(CreditSubject.id, Measure.id)
        ).all()
    frame = pd.DataFrame(rows, columns=["subject_id", *WARNING_COLUMNS[:-1]])
    grades = latest_grades(store)[["subject_id", "grade"]]
    frame = frame.merge(grades, on="subject_id", how="left").drop(columns="subject_id")
    return frame[list(WARNING_COLUMNS)]
