"""Supervision commands: ``db``, ``cases``, ``ledger``, ``registry``, ``inspectors``, ``plan``.

Every command that changes the store names its user with ``--actor`` (default: the
``FUNDGUARD_ACTOR`` variable, else the login name), which the audit log records.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from fundguard.console import console, summary
from settlements.errors import InputError
from supervision.config import GRADES, SupervisionSettings
from supervision.store import Store, open_store


def _settings() -> SupervisionSettings:
    from fundguard.cli import settings

    return settings().supervision


def _store() -> Store:
    from fundguard.cli import settings

    return open_store(settings().store_url)


def _default_actor() -> str:
    return os.environ.get("FUNDGUARD_ACTOR") or getpass.getuser()


ACTOR = typer.Option(
    None, "--actor", help="Who makes the change (default: $FUNDGUARD_ACTOR or the login name)."
)
DATE_FORMATS = ["%Y-%m-%d"]


def _actor(value: str | None) -> str:
    return value or _default_actor()


def _day(value: datetime | None) -> date:
    from supervision.calendar import today

    return value.date() if value else today()


def _show(frame: pd.DataFrame, title: str, limit: int = 50) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    console.print(table)
    if len(frame) > limit:
        console.print(f"… {len(frame) - limit} more rows")


def _write_frame(frame: pd.DataFrame, out: Path, sheet: str = "data") -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False, encoding="utf-8-sig")
    elif out.suffix == ".xlsx":
        frame.to_excel(out, index=False, sheet_name=sheet)
    elif out.suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        raise InputError(f"{out}: write .csv, .xlsx or .parquet")


def _dump(value: Any) -> None:
    console.print_json(json.dumps(value, default=str, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add the supervision command groups and ``plan`` to the app."""
    app.add_typer(_db_app(), name="db")
    app.add_typer(_cases_app(), name="cases")
    app.add_typer(_ledger_app(), name="ledger")
    app.add_typer(_registry_app(), name="registry")
    app.add_typer(_inspectors_app(), name="inspectors")
    _plan_command(app)
    app.add_typer(_plans_app(), name="plans")


# --- db -----------------------------------------------------------------------------------


def _db_app() -> typer.Typer:
    db = typer.Typer(help="The supervision store's schema.", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade() -> None:
        """Create or migrate the store's schema to the latest revision (Alembic)."""
        store = _store()
        console.print(f"store {store.url} is at the latest schema")

    return db


# --- cases --------------------------------------------------------------------------------


def _cases_app() -> typer.Typer:
    from supervision import cases

    app = typer.Typer(
        help="Verification of leads: open, assign, investigate, decide.", no_args_is_help=True
    )

    @app.command("open")
    def open_(
        leads: Path = typer.Argument(..., help="Leads file (Parquet or CSV) written by scoring."),
        top: int | None = typer.Option(None, help="Open only the N best-ranked per subject type."),
        actor: str | None = ACTOR,
    ) -> None:
        """Open one case per (subject, pattern) of a leads file; re-running adds no duplicates."""
        from fundguard.cli import settings

        frame = cases.read_leads(leads)
        result = cases.open_cases(_store(), frame, actor=_actor(actor), top=top)
        rows: dict[str, object] = {
            "leads read": result.read,
            "cases opened": result.opened,
            "already open": result.existing,
            "quarantined": len(result.quarantined),
            "left out by --top": result.skipped,
        }
        if len(result.quarantined):
            out = settings().data_dir / "quarantine" / f"{leads.stem}.leads-quarantine.csv"
            _write_frame(result.quarantined, out)
            rows["quarantine file"] = out
        summary("cases open", rows)

    @app.command("list")
    def list_(
        state: str | None = typer.Option(None, help="open, assigned, investigating, confirmed, …"),
        subject_type: str | None = typer.Option(None, "--type", help="visit, person, …"),
        limit: int = typer.Option(50, help="Rows to show."),
    ) -> None:
        """Cases by lead rank, most suspicious first."""
        frame = cases.list_cases(_store(), state=state, subject_type=subject_type, limit=limit)
        cols = [
            "id",
            "state",
            "subject_type",
            "subject_id",
            "pattern",
            "rank",
            "score",
            "amount_at_risk",
            "assignee",
            "version",
        ]
        _show(frame[cols], "cases", limit)

    @app.command("show")
    def show(
        case_id: int,
        with_informant: bool = typer.Option(
            False, help="Include the informant (only for those working the case)."
        ),
    ) -> None:
        """A case with its reasons, evidence and history."""
        _dump(cases.get_case(_store(), case_id, include_informant=with_informant))

    @app.command("assign")
    def assign(
        case_id: int,
        inspector: str,
        reason: str = typer.Option("assigned"),
        version: int | None = typer.Option(None, help="Version you read (conflict check)."),
        actor: str | None = ACTOR,
    ) -> None:
        """Assign a case to an inspector."""
        case = cases.assign(
            _store(),
            case_id,
            inspector,
            actor=_actor(actor),
            reason=reason,
            expected_version=version,
        )
        console.print(f"case {case.id} assigned to {inspector} (version {case.version})")

    @app.command("investigate")
    def investigate(
        case_id: int,
        reason: str = typer.Option("investigation started"),
        version: int | None = typer.Option(None),
        actor: str | None = ACTOR,
    ) -> None:
        """Start investigating an assigned case."""
        case = cases.start_investigation(
            _store(), case_id, actor=_actor(actor), reason=reason, expected_version=version
        )
        console.print(f"case {case.id} under investigation (version {case.version})")

    @app.command("decide")
    def decide(
        case_id: int,
        outcome: str = typer.Argument(..., help="confirmed, rejected or inconclusive"),
        reason: str = typer.Option(..., help="Why: a decision needs a reason."),
        pattern: str | None = typer.Option(None, help="Confirmed pattern (needed to confirm)."),
        severity: str | None = typer.Option(
            None, help="general/serious/severe; default by pattern."
        ),
        amount: str | None = typer.Option(None, help="Confirmed amount in yuan (to confirm)."),
        subject: str | None = typer.Option(
            None, help="Liable subject (psn_no, fixmedins_code or credit key); needed for visits."
        ),
        version: int | None = typer.Option(None, help="Version you read (conflict check)."),
        actor: str | None = ACTOR,
    ) -> None:
        """Decide a case; a confirmation writes a bad record in the credit ledger."""
        case = cases.decide_case(
            _store(),
            case_id,
            outcome,
            actor=_actor(actor),
            reason=reason,
            settings=_settings(),
            pattern=pattern,
            severity=severity,
            confirmed_amount=Decimal(amount) if amount is not None else None,
            credit_subject=subject,
            expected_version=version,
        )
        extra = f", {case.severity}, {case.confirmed_amount} yuan" if case.severity else ""
        console.print(f"case {case.id} {case.state}{extra}")

    @app.command("report")
    def report(
        subject_type: str,
        subject_id: str,
        pattern: str,
        informant: str = typer.Option(..., help="Who reported it (kept inside the case)."),
        evidence: str = typer.Option(..., help="What was reported."),
        actor: str | None = ACTOR,
    ) -> None:
        """Open a case from an informant's report (举报)."""
        case = cases.report_case(
            _store(),
            subject_type=subject_type,
            subject_id=subject_id,
            pattern=pattern,
            informant=informant,
            evidence=evidence,
            actor=_actor(actor),
        )
        console.print(f"case {case.id} opened from a report")

    @app.command("export-labels")
    def export_labels(out: Path = typer.Option(..., help="labels.parquet or labels.csv")) -> None:
        """Write verified outcomes as the contract's labels table (with model_version)."""
        n = cases.export_labels(_store(), out)
        summary("labels", {"rows": n, "file": out})

    return app


# --- ledger -------------------------------------------------------------------------------


def _ledger_app() -> typer.Typer:
    from supervision import ledger, reports
    from supervision.store import verify_audit

    app = typer.Typer(
        help="The credit ledger: subjects, records, measures, grades, lists.", no_args_is_help=True
    )
    on_opt = typer.Option(None, "--on", formats=DATE_FORMATS, help="Date (default: today).")

    @app.command("add-subject")
    def add_subject(
        kind: str = typer.Option(..., help="institution or individual"),
        credit_key: str = typer.Option(..., help="USCC, or the pseudonym of the resident ID."),
        name: str = typer.Option(...),
        category: str = typer.Option(..., help="hospital, pharmacy, employer, …; insured, …"),
        local_code: str | None = typer.Option(None, help="fixmedins_code, psn_no or doctor code."),
        resident_id: str | None = typer.Option(None, help="An individual's resident ID number."),
        legal_rep_name: str | None = typer.Option(None),
        legal_rep_id: str | None = typer.Option(None),
        business_reg_no: str | None = typer.Option(None),
        insured_staff: int | None = typer.Option(None),
        arrears_months: int | None = typer.Option(None),
        arrears_amount: str | None = typer.Option(None),
        actor: str | None = ACTOR,
    ) -> None:
        """Register a credit subject (institutions need a valid unified social credit code)."""
        subject = ledger.register_subject(
            _store(),
            kind=kind,
            credit_key=credit_key,
            name=name,
            category=category,
            actor=_actor(actor),
            local_code=local_code,
            resident_id=resident_id,
            legal_rep_name=legal_rep_name,
            legal_rep_id=legal_rep_id,
            business_reg_no=business_reg_no,
            insured_staff=insured_staff,
            arrears_months=arrears_months,
            arrears_amount=Decimal(arrears_amount) if arrears_amount else None,
        )
        console.print(f"subject {subject.id}: {subject.kind} {subject.credit_key}")

    @app.command("enroll")
    def enroll(
        directory: Path = typer.Argument(..., help="Dataset directory (its institutions table)."),
        on: datetime | None = typer.Option(
            None, "--on", formats=DATE_FORMATS, help="Enrolment date, start of the agreement."
        ),
        actor: str | None = ACTOR,
    ) -> None:
        """Enrol every institution of a dataset: credit subject (by its USCC) and designated
        institution with a service agreement; re-running adds nothing."""
        from fundguard.cli import settings
        from settlements.readers import locate_table, read_table_file
        from settlements.schema import INSTITUTIONS

        if not directory.is_dir():
            raise InputError(f"{directory} is not a directory: give the dataset directory")
        path = locate_table(directory, INSTITUTIONS)
        if path is None:
            raise InputError(
                f"{directory}: no institutions table (expected institutions.parquet or "
                "institutions.csv)"
            )
        result = ledger.enroll_institutions(
            _store(),
            read_table_file(path, INSTITUTIONS),
            actor=_actor(actor),
            on=_day(on),
            settings=_settings(),
        )
        rows: dict[str, object] = {
            "institutions read": result.read,
            "enrolled": result.enrolled,
            "already enrolled": result.already,
            "rejected": len(result.rejected),
            "newly designated": result.designated,
            "agreements until": result.agreement_end if result.designated else "-",
        }
        if len(result.rejected):
            out = settings().data_dir / "quarantine" / "institutions.enroll-rejected.csv"
            _write_frame(result.rejected, out)
            rows["rejected file"] = out
            for reason, n in result.rejected["reason"].value_counts().head(10).items():
                console.print(f"rejected {n}: {reason}")
        summary("ledger enroll", rows)

    @app.command("add-record")
    def add_record(
        subject: str,
        kind: str = typer.Option(..., help="basic, trustworthy or bad"),
        category: str = typer.Option(..., help="e.g. commendation, report_verified, penalty"),
        description: str = typer.Option(...),
        provider: str = typer.Option(..., help="Who provided the information."),
        legal_basis: str = typer.Option(...),
        severity: str | None = typer.Option(None, help="general/serious/severe (bad records)."),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Enter a record in a subject's archive."""
        record = ledger.add_record(
            _store(),
            subject,
            kind=kind,
            category=category,
            description=description,
            provider=provider,
            legal_basis=legal_basis,
            severity=severity,
            entered_on=_day(on),
            actor=_actor(actor),
            settings=_settings(),
        )
        console.print(f"record {record.id} entered, expires {record.expires_on}")

    @app.command("revoke")
    def revoke(
        record_id: int,
        reason: str = typer.Option(...),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Revoke a record (kept with the reason) and adjust measures."""
        ledger.revoke_record(
            _store(),
            record_id,
            reason=reason,
            actor=_actor(actor),
            settings=_settings(),
            on=_day(on),
        )
        console.print(f"record {record_id} revoked")

    @app.command("correct")
    def correct(
        record_id: int,
        reason: str = typer.Option(...),
        description: str | None = typer.Option(None),
        severity: str | None = typer.Option(None),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Correct a record: the old one is kept as corrected, a new one replaces it."""
        new = ledger.correct_record(
            _store(),
            record_id,
            reason=reason,
            actor=_actor(actor),
            settings=_settings(),
            description=description,
            severity=severity,
            on=_day(on),
        )
        console.print(f"record {record_id} corrected by record {new.id}")

    @app.command("expire")
    def expire(on: datetime | None = on_opt, actor: str | None = ACTOR) -> None:
        """Mark records past their validity as expired and adjust measures."""
        n = ledger.expire_records(_store(), actor=_actor(actor), settings=_settings(), on=_day(on))
        console.print(f"{n} record(s) expired")

    @app.command("archive")
    def archive(subject: str) -> None:
        """A subject's credit archive (basic, trustworthy, bad, measures, grades, notices)."""
        _dump(ledger.archive(_store(), subject))

    @app.command("grade")
    def grade(
        year: int = typer.Option(..., help="Grading year."),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Score and grade every subject for a year; update the red list."""
        frame = ledger.grade_subjects(
            _store(), year=year, on=_day(on), actor=_actor(actor), settings=_settings()
        )
        lowest = frame.sort_values(["score", "subject_id"]).drop(columns="subject_id")
        _show(lowest, f"grades {year}, lowest scores first", 15)
        counts = frame["grade"].value_counts()
        summary(
            f"grades {year}",
            {"subjects graded": len(frame)}
            | {g: int(counts.get(g, 0)) for g in GRADES if counts.get(g, 0)},
        )

    @app.command("warnings")
    def warnings(
        on: datetime | None = on_opt,
        out: Path | None = typer.Option(None, help="Write .csv/.xlsx/.parquet."),
    ) -> None:
        """Current measures for other systems: who is restricted, from when to when, why."""
        frame = ledger.current_measures(_store(), on=_day(on))
        if out:
            _write_frame(frame, out, "warnings")
            summary("warnings", {"measures": len(frame), "file": out})
        else:
            _show(frame, "current measures")

    @app.command("urge")
    def urge(subject: str, on: datetime | None = on_opt, actor: str | None = ACTOR) -> None:
        """Urge a blacklisted subject to rectify (deadline: rectification_months)."""
        m = ledger.urge_rectification(
            _store(), subject, on=_day(on), actor=_actor(actor), settings=_settings()
        )
        console.print(f"{subject} must rectify by {m.rectify_by}")

    @app.command("rectified")
    def rectified(
        subject: str,
        reason: str = typer.Option(...),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Confirm a rectification; removal is due within removal_working_days working days."""
        m = ledger.confirm_rectification(
            _store(), subject, on=_day(on), actor=_actor(actor), reason=reason, settings=_settings()
        )
        console.print(f"{subject}: remove from the blacklist by {m.remove_by}")

    @app.command("remove")
    def remove(
        subject: str,
        reason: str = typer.Option("rectification confirmed"),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Remove a rectified subject from the blacklist."""
        ledger.remove_from_blacklist(
            _store(), subject, on=_day(on), actor=_actor(actor), reason=reason
        )
        console.print(f"{subject} removed from the blacklist")

    @app.command("due")
    def due(on: datetime | None = on_opt) -> None:
        """What is due: removals, overdue rectifications (interviews), overdue objections."""
        store, day = _store(), _day(on)
        _show(ledger.pending_removals(store, on=day), "blacklist removals due")
        _show(ledger.overdue_rectifications(store, on=day), "rectification overdue: interview")
        _show(ledger.overdue_objections(store, on=day), "objections past their answer date")

    @app.command("interview")
    def interview(
        subject: str,
        notes: str = typer.Option(""),
        attended: bool = typer.Option(True, "--attended/--refused"),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Record a warning interview (or a refusal) in the subject's archive."""
        r = ledger.record_warning_interview(
            _store(),
            subject,
            on=_day(on),
            attended=attended,
            notes=notes,
            actor=_actor(actor),
            settings=_settings(),
        )
        console.print(f"interview recorded as record {r.id}")

    @app.command("object")
    def object_(
        subject: str,
        target: str = typer.Option(..., help="record or measure"),
        target_id: int = typer.Option(...),
        applicant: str = typer.Option(...),
        contact: str = typer.Option(...),
        description: str = typer.Option(..., help="The disputed information."),
        reasons: str = typer.Option(...),
        commitment: bool = typer.Option(False, help="A signed credit commitment is attached."),
        received: datetime | None = typer.Option(
            None, formats=DATE_FORMATS, help="When the written decision was received."
        ),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """File an objection to a record or a measure (measures continue meanwhile)."""
        o = ledger.file_objection(
            _store(),
            subject,
            target=target,
            target_id=target_id,
            applicant=applicant,
            contact=contact,
            description=description,
            reasons=reasons,
            commitment_signed=commitment,
            filed_on=_day(on),
            actor=_actor(actor),
            settings=_settings(),
            decision_received_on=received.date() if received else None,
        )
        console.print(f"objection {o.id} accepted; answer due by {o.answer_by}")

    @app.command("answer")
    def answer(
        objection_id: int,
        outcome: str = typer.Option(...),
        upheld: bool = typer.Option(..., "--upheld/--dismissed"),
        description: str | None = typer.Option(None, help="Corrected description."),
        severity: str | None = typer.Option(None, help="Corrected severity."),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Answer an objection; upheld corrects the record or lifts the measure."""
        o = ledger.answer_objection(
            _store(),
            objection_id,
            upheld=upheld,
            outcome=outcome,
            on=_day(on),
            actor=_actor(actor),
            settings=_settings(),
            corrected_description=description,
            corrected_severity=severity,
        )
        console.print(f"objection {o.id} {o.state}")

    @app.command("complain")
    def complain(
        against: str,
        complainant: str = typer.Option(..., help="ID pseudonym."),
        description: str = typer.Option(...),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Record a complaint (投诉) against a subject."""
        c = ledger.record_complaint(
            _store(),
            against=against,
            complainant=complainant,
            description=description,
            received_on=_day(on),
            actor=_actor(actor),
        )
        console.print(f"complaint {c.id} recorded")

    @app.command("complaint-finding")
    def complaint_finding(
        complaint_id: int,
        finding: str = typer.Argument(..., help="verified, unfounded or false"),
        reason: str = typer.Option(...),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Decide a complaint: verified regrades the subject; false blacklists the complainant."""
        c = ledger.decide_complaint(
            _store(),
            complaint_id,
            finding=finding,
            reason=reason,
            on=_day(on),
            actor=_actor(actor),
            settings=_settings(),
        )
        console.print(f"complaint {c.id} {c.state}")

    @app.command("blacklist-report")
    def blacklist_report(
        quarter: str = typer.Option(..., help="e.g. 2026Q4"),
        out: Path = typer.Option(..., help="blacklist.csv or blacklist.xlsx"),
    ) -> None:
        """The quarterly blacklist report table (CSV or XLSX) and its deadlines."""
        store = _store()
        frame = reports.blacklist_report(store, quarter)
        reports.write_report(frame, out)
        compile_by, send_by = reports.report_deadlines(quarter, _settings())
        summary(
            f"blacklist report {quarter}",
            {
                "subjects": len(frame),
                "file": out,
                "compile by": compile_by,
                "send by": send_by,
            },
        )

    @app.command("reports-due")
    def reports_due(on: datetime | None = on_opt) -> None:
        """Which quarterly report is due next, by when, and what it will list."""
        due = reports.next_report(_store(), _day(on), _settings())
        summary("next blacklist report", {k: v for k, v in due.items() if k != "entries"})
        _show(due["entries"], "subjects to report")

    @app.command("verify")
    def verify() -> None:
        """Re-walk the audit chain and re-digest every row; exit 1 if anything was tampered."""
        report = verify_audit(_store())
        summary(
            "audit",
            {
                "entries": report.entries,
                "rows": report.rows,
                "problems": len(report.problems),
                "head": report.head,
            },
        )
        for problem in report.problems:
            console.print(f"[red]{problem}[/]")
        if not report.ok:
            raise typer.Exit(1)

    return app


# --- registry and inspectors --------------------------------------------------------------


def _registry_app() -> typer.Typer:
    from supervision import registry

    app = typer.Typer(
        help="Designated institutions and designation applications.", no_args_is_help=True
    )
    on_opt = typer.Option(None, "--on", formats=DATE_FORMATS, help="Date (default: today).")

    @app.command("designate")
    def designate(
        fixmedins_code: str,
        status: str = typer.Option("designated"),
        agreement_start: datetime | None = typer.Option(None, formats=DATE_FORMATS),
        agreement_end: datetime | None = typer.Option(None, formats=DATE_FORMATS),
        actor: str | None = ACTOR,
    ) -> None:
        """Set an institution's designation status and service-agreement dates."""
        registry.set_designation(
            _store(),
            fixmedins_code,
            status=status,
            actor=_actor(actor),
            agreement_start=agreement_start.date() if agreement_start else None,
            agreement_end=agreement_end.date() if agreement_end else None,
        )
        console.print(f"{fixmedins_code}: {status}")

    @app.command("list")
    def list_() -> None:
        """Designated institutions with their agreement dates."""
        _show(registry.designations(_store()), "designated institutions")

    @app.command("apply")
    def apply(
        applicant: str,
        level: str = typer.Option(..., help="district or city"),
        fixmedins_code: str | None = typer.Option(None),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Record a complete designation application; its review deadline follows."""
        a = registry.receive_application(
            _store(),
            applicant=applicant,
            level=level,
            received_on=_day(on),
            actor=_actor(actor),
            settings=_settings(),
            fixmedins_code=fixmedins_code,
        )
        console.print(f"application {a.id}: review by {a.review_by}")

    @app.command("extend")
    def extend(application_id: int, actor: str | None = ACTOR) -> None:
        """Extend an application's review once."""
        a = registry.extend_review(
            _store(), application_id, actor=_actor(actor), settings=_settings()
        )
        console.print(f"application {a.id}: review by {a.review_by}")

    @app.command("decide")
    def decide(
        application_id: int,
        approved: bool = typer.Option(..., "--approve/--refuse"),
        reason: str = typer.Option(...),
        on: datetime | None = on_opt,
        actor: str | None = ACTOR,
    ) -> None:
        """Decide an application."""
        a = registry.decide_application(
            _store(),
            application_id,
            approved=approved,
            reason=reason,
            on=_day(on),
            actor=_actor(actor),
        )
        console.print(f"application {a.id}: {a.state}")

    @app.command("overdue")
    def overdue(on: datetime | None = on_opt) -> None:
        """Applications whose review deadline has passed without a decision."""
        _show(registry.overdue_applications(_store(), on=_day(on)), "overdue reviews")

    return app


def _inspectors_app() -> typer.Typer:
    from supervision import registry

    app = typer.Typer(help="Inspectors and their conflicts of interest.", no_args_is_help=True)

    @app.command("add")
    def add(
        code: str,
        name: str = typer.Option(...),
        unit: str = typer.Option(""),
        actor: str | None = ACTOR,
    ) -> None:
        """Register an inspector (or reactivate one)."""
        registry.register_inspector(_store(), code, name=name, unit=unit, actor=_actor(actor))
        console.print(f"inspector {code} registered")

    @app.command("retire")
    def retire(code: str, actor: str | None = ACTOR) -> None:
        """Take an inspector out of future draws."""
        registry.register_inspector(_store(), code, active=False, actor=_actor(actor))
        console.print(f"inspector {code} inactive")

    @app.command("conflict")
    def conflict(
        code: str,
        subject: str = typer.Argument(..., help="Local code or credit key."),
        reason: str = typer.Option(...),
        actor: str | None = ACTOR,
    ) -> None:
        """Record a conflict of interest: the inspector is never drawn for that subject."""
        registry.add_conflict(_store(), code, subject, reason=reason, actor=_actor(actor))
        console.print(f"inspector {code} excluded from {subject}")

    @app.command("list")
    def list_() -> None:
        """Inspectors with their conflicts."""
        _show(registry.inspectors(_store()), "inspectors")

    return app


# --- plan ---------------------------------------------------------------------------------


def _plan_command(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        on: datetime = typer.Option(..., "--date", formats=DATE_FORMATS, help="Plan date."),
        base_ratio: float = typer.Option(..., help="Base spot-check ratio, e.g. 0.1."),
        seed: int = typer.Option(..., help="Seed of the draw (published with the plan)."),
        leads: Path | None = typer.Option(None, help="Leads file for the optional risk tilt."),
        out: Path | None = typer.Option(None, help="Write the targets as .csv or .xlsx."),
        actor: str | None = ACTOR,
    ) -> None:
        """双随机 draw: random targets by grade, random inspectors; stored and reproducible."""
        from supervision import cases, planner

        lead_frame = cases.read_leads(leads) if leads else None
        result = planner.draw_plan(
            _store(),
            plan_date=on.date(),
            base_ratio=base_ratio,
            seed=seed,
            settings=_settings(),
            actor=_actor(actor),
            leads=lead_frame,
        )
        _show(result.ratios, f"plan {result.plan_id}: realised ratios per grade", 10)
        _show(result.targets, "targets", 30)
        if out:
            planner.write_plan(result, out)
        summary(
            "plan",
            {
                "plan": result.plan_id,
                "targets": len(result.targets),
                "seed": seed,
                "method": result.method,
                "file": out or "-",
            },
        )


def _plans_app() -> typer.Typer:
    from supervision import planner

    app = typer.Typer(
        help="Stored 双随机 plans: list them, show or publish one.", no_args_is_help=True
    )

    @app.command("list")
    def list_() -> None:
        """Stored plans, newest first."""
        _show(planner.list_plans(_store()), "plans")

    @app.command("show")
    def show(
        plan_id: int, out: Path | None = typer.Option(None, help="Write the plan as .csv or .xlsx.")
    ) -> None:
        """A stored plan's targets, inspectors, seed and method (for publication, 一公开)."""
        result = planner.load_plan(_store(), plan_id)
        _show(result.targets, f"plan {plan_id} of {result.plan_date}", 1000)
        if out:
            planner.write_plan(result, out)
        summary(
            "plan",
            {
                "plan": plan_id,
                "seed": result.seed,
                "base ratio": result.base_ratio,
                "method": result.method,
                "file": out or "-",
            },
        )

    return app
