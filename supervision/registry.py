"""Registries: inspectors with their conflicts of interest, designated institutions and
designation applications with their review deadlines (ledger-rules.md §9)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import select

from settlements.errors import InputError
from supervision.calendar import add_working_days
from supervision.config import SupervisionSettings
from supervision.db import (
    CreditSubject,
    DesignatedInstitution,
    DesignationApplication,
    Inspector,
    InspectorConflict,
)
from supervision.errors import NotFoundError, RuleError
from supervision.store import Store

DESIGNATION_STATUSES = ("designated", "suspended", "terminated")
LEVELS = ("district", "city")


# --- inspectors -------------------------------------------------------------------------


def register_inspector(
    store: Store,
    code: str,
    *,
    actor: str,
    name: str | None = None,
    unit: str | None = None,
    active: bool = True,
) -> Inspector:
    """Register an inspector, or update one (``active=False`` takes them out of draws)."""
    if not code.strip():
        raise InputError("an inspector needs a code")
    with store.write(actor) as tx:
        inspector = tx.session.get(Inspector, code)
        if inspector is None:
            if name is None:
                raise InputError(f"inspector {code} is new: give a name")
            inspector = Inspector(code=code, name=name, unit=unit or "", registered_at=tx.now)
            tx.session.add(inspector)
        if name is not None:
            inspector.name = name
        if unit is not None:
            inspector.unit = unit
        inspector.active = active
        tx.describe("inspectors.register", active=active)
    return inspector


def add_conflict(store: Store, code: str, subject: str, *, reason: str, actor: str) -> None:
    """Exclude an inspector from a subject (its local code or credit key) for a stated reason."""
    if not reason.strip():
        raise InputError("a conflict of interest needs a reason")
    with store.write(actor) as tx:
        if tx.session.get(Inspector, code) is None:
            raise NotFoundError(f"there is no inspector {code}; add them first")
        known = tx.session.execute(
            select(InspectorConflict).where(
                InspectorConflict.inspector_code == code, InspectorConflict.subject_key == subject
            )
        ).scalar_one_or_none()
        if known is None:
            tx.session.add(
                InspectorConflict(
                    inspector_code=code, subject_key=subject, reason=reason, registered_at=tx.now
                )
            )
        tx.describe("inspectors.conflict")


def inspectors(store: Store) -> pd.DataFrame:
    """Inspectors with their conflicts (subject keys, comma-separated)."""
    with store.read() as session:
        people = session.execute(select(Inspector).order_by(Inspector.code)).scalars().all()
        conflicts = session.execute(select(InspectorConflict)).scalars().all()
    by_code: dict[str, list[str]] = {}
    for c in conflicts:
        by_code.setdefault(c.inspector_code, []).append(c.subject_key)
    return pd.DataFrame(
        [
            {
                "code": p.code,
                "name": p.name,
                "unit": p.unit,
                "active": p.active,
                "conflicts": ",".join(sorted(by_code.get(p.code, []))),
            }
            for p in people
        ],
        columns=["code", "name", "unit", "active", "conflicts"],
    )


# --- designated institutions ------------------------------------------------------------


def set_designation(
    store: Store,
    fixmedins_code: str,
    *,
    status: str,
    actor: str,
    agreement_start: date | None = None,
    agreement_end: date | None = None,
) -> DesignatedInstitution:
    """Record an institution's designation status and service-agreement dates."""
    if status not in DESIGNATION_STATUSES:
        raise InputError(f"status must be one of {', '.join(DESIGNATION_STATUSES)}")
    if agreement_start and agreement_end and agreement_end < agreement_start:
        raise InputError("the service agreement ends before it starts")
    with store.write(actor) as tx:
        subject = tx.session.execute(
            select(CreditSubject).where(CreditSubject.local_code == fixmedins_code)
        ).scalar_one_or_none()
        row = tx.session.get(DesignatedInstitution, fixmedins_code)
        if row is None:
            row = DesignatedInstitution(fixmedins_code=fixmedins_code, status=status)
            tx.session.add(row)
        row.subject_id = subject.id if subject else row.subject_id
        row.status = status
        row.agreement_start = agreement_start or row.agreement_start
        row.agreement_end = agreement_end or row.agreement_end
        row.updated_by = tx.actor
        tx.describe("registry.designation", status=status)
    return row


def designations(store: Store, *, on: date | None = None) -> pd.DataFrame:
    """Designated institutions; ``agreement_in_force`` on ``on`` when a date is given."""
    with store.read() as session:
        rows = (
            session.execute(
                select(DesignatedInstitution).order_by(DesignatedInstitution.fixmedins_code)
            )
            .scalars()
            .all()
        )
    frame = pd.DataFrame(
        [
            {
                "fixmedins_code": r.fixmedins_code,
                "status": r.status,
                "agreement_start": r.agreement_start,
                "agreement_end": r.agreement_end,
            }
            for r in rows
        ],
        columns=["fixmedins_code", "status", "agreement_start", "agreement_end"],
    )
    if on is not None:
        frame["agreement_in_force"] = [
            s == "designated" and a is not None and a <= on and (e is None or on <= e)
            for s, a, e in zip(
                frame["status"], frame["agreement_start"], frame["agreement_end"], strict=True
            )
        ]
    return frame


def _review_days(level: str, settings: SupervisionSettings) -> int:
    if level == "district":
        return settings.district_review_working_days
    if level == "city":
        return settings.city_review_working_days
    raise InputError(f"level must be one of {', '.join(LEVELS)}")


def receive_application(
    store: Store,
    *,
    applicant: str,
    level: str,
    received_on: date,
    actor: str,
    settings: SupervisionSettings,
    fixmedins_code: str | None = None,
) -> DesignationApplication:
    """Record a complete designation application; its review is due in N working days."""
    days = _review_days(level, settings)
    with store.write(actor) as tx:
        application = DesignationApplication(
            applicant=applicant,
            fixmedins_code=fixmedins_code,
            level=level,
            received_on=received_on,
            review_by=add_working_days(received_on, days),
            extensions=0,
            state="pending",
            recorded_by=tx.actor,
        )
        tx.session.add(application)
        tx.describe("registry.application", level=level)
    return application


def extend_review(
    store: Store, application_id: int, *, actor: str, settings: SupervisionSettings
) -> DesignationApplication:
    """Extend a pending review by ``review_extension_working_days`` (at most the allowed times)."""
    with store.write(actor) as tx:
        application = tx.session.get(DesignationApplication, application_id)
        if application is None:
            raise NotFoundError(f"there is no application {application_id}")
        if application.state != "pending":
            raise RuleError(f"application {application_id} is already {application.state}")
        if application.extensions >= settings.review_max_extensions:
            raise RuleError(
                f"application {application_id}'s review was already extended "
                f"{application.extensions} time(s), the most allowed"
            )
        application.extensions += 1
        application.review_by = add_working_days(
            application.review_by, settings.review_extension_working_days
        )
        tx.describe("registry.extend")
    return application


def decide_application(
    store: Store, application_id: int, *, approved: bool, reason: str, on: date, actor: str
) -> DesignationApplication:
    """Approve or refuse an application (an approval designates the institution if coded)."""
    if not reason.strip():
        raise InputError("a decision on an application needs a reason")
    with store.write(actor) as tx:
        application = tx.session.get(DesignationApplication, application_id)
        if application is None:
            raise NotFoundError(f"there is no application {application_id}")
        if application.state != "pending":
            raise RuleError(f"application {application_id} is already {application.state}")
        application.state = "approved" if approved else "refused"
        application.decided_on = on
        application.decision_reason = reason.strip()
        if approved and application.fixmedins_code:
            row = tx.session.get(DesignatedInstitution, application.fixmedins_code)
            if row is None:
                row = DesignatedInstitution(
                    fixmedins_code=application.fixmedins_code, status="designated"
                )
                tx.session.add(row)
            row.status, row.updated_by = "designated", tx.actor
        tx.describe("registry.decide", approved=approved)
    return application


def overdue_applications(store: Store, *, on: date) -> pd.DataFrame:
    """Pending applications whose review deadline has passed on ``on``."""
    with store.read() as session:
        rows = (
            session.execute(
                select(DesignationApplication)
                .where(
                    DesignationApplication.state == "pending", DesignationApplication.review_by < on
                )
                .order_by(DesignationApplication.review_by)
            )
            .scalars()
            .all()
        )
    return pd.DataFrame(
        [
            {
                "id": a.id,
                "applicant": a.applicant,
                "level": a.level,
                "received_on": a.received_on,
                "review_by": a.review_by,
                "extensions": a.extensions,
                "days_overdue": (on - a.review_by).days,
            }
            for a in rows
        ],
        columns=[
            "id",
            "applicant",
            "level",
            "received_on",
            "review_by",
            "extensions",
            "days_overdue",
        ],
    )
