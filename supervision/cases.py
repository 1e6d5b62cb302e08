"""Verification: leads become cases, inspectors move them through their states and decide.

States: open → assigned → investigating → confirmed / rejected / inconclusive. Every
transition is a ``CaseEvent`` (who, when, from, to, why). Two inspectors deciding the same
case at once: the case row carries a version; the loser gets ``ConflictError`` and nothing
of its decision is written. A confirmation writes a bad record in the credit ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, tuple_

from features.contract import Pattern
from settlements.errors import InputError
from settlements.schema import LEADS, PATTERNS, SUBJECT_TYPES
from supervision import ledger
from supervision.calendar import local_date
from supervision.config import SEVERITIES, SupervisionSettings
from supervision.db import Case, CaseEvent
from supervision.errors import ConflictError, NotFoundError, RuleError
from supervision.store import Store, Tx

OPEN, ASSIGNED, INVESTIGATING = "open", "assigned", "investigating"
CONFIRMED, REJECTED, INCONCLUSIVE = "confirmed", "rejected", "inconclusive"
OUTCOMES = (CONFIRMED, REJECTED, INCONCLUSIVE)
TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({ASSIGNED}),
    ASSIGNED: frozenset({ASSIGNED, INVESTIGATING}),
    INVESTIGATING: frozenset(OUTCOMES),
}
LABEL_COLUMNS = ("subject_type", "subject_id", "pattern", "outcome", "decided_on", "model_version")


@dataclass(frozen=True)
class OpenResult:
    """What ``open_cases`` did: ``read = opened + existing + quarantined + skipped``."""

    read: int
    opened: int
    existing: int
    quarantined: pd.DataFrame
    """Leads rows that could not become cases, with a ``reason`` column."""
    skipped: int = 0
    """Valid leads left out by ``top``."""


def read_leads(path: Path) -> pd.DataFrame:
    """Read a leads table (Parquet or CSV) with codes as strings; one-line error if unusable."""
    if not path.is_file():
        raise InputError(f"{path} is not a file; pass the leads file that scoring wrote")
    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, dtype={"subject_id": str, "subject_type": str})
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    missing = [c for c in LEADS.required_columns if c not in frame.columns]
    if missing:
        raise InputError(f"{path} is not a leads table: missing {', '.join(missing)}")
    return frame


def _validate_leads(leads: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split leads into usable rows and quarantined rows with a reason."""
    frame = leads.reset_index(drop=True).copy()
    for col in ("subject_type", "subject_id", "pattern", "reasons", "evidence", "model_version"):
        frame[col] = frame[col].astype("string")
    score = pd.to_numeric(frame["score"], errors="coerce")
    rank = pd.to_numeric(frame["rank"], errors="coerce")
    amount = pd.to_numeric(frame["amount_at_risk"], errors="coerce")
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    checks = [
        (frame["subject_id"].isna() | (frame["subject_id"].str.strip() == ""), "no subject_id"),
        (~frame["subject_type"].isin(sorted(SUBJECT_TYPES)), "unknown subject_type"),
        (~frame["pattern"].isin(sorted(PATTERNS)), "unknown pattern"),
        (score.isna() | (score < 0) | (score > 1), "score not in 0..1"),
        (rank.isna() | (rank < 1), "rank not a positive number"),
        (amount.isna() | (amount < 0), "amount_at_risk missing or negative"),
        (frame["model_version"].isna(), "no model_version"),
    ]
    for bad, why in checks:
        reason = reason.mask(reason.isna() & bad.fillna(True), why)
    dup = frame.duplicated(["subject_type", "subject_id", "pattern"], keep="first")
    reason = reason.mask(reason.isna() & dup, "duplicate (subject, pattern) in the file")
    frame = frame.assign(score=score, rank=rank, amount_at_risk=amount)
    bad_rows = reason.notna()
    return frame[~bad_rows], leads.reset_index(drop=True)[bad_rows].assign(reason=reason[bad_rows])


def open_cases(
    store: Store, leads: pd.DataFrame, *, actor: str, top: int | None = None
) -> OpenResult:
    """Open one case per (subject, pattern) of ``leads``; existing cases are left as they are.

    ``top`` keeps only the ``top`` best-ranked leads of each subject type.
    """
    good, quarantined = _validate_leads(leads)
    read, skipped = len(leads), 0
    if top is not None:
        kept = good.sort_values("rank").groupby("subject_type", sort=False).head(top)
        skipped = len(good) - len(kept)
        good = kept
    keys = list(zip(good["subject_type"], good["subject_id"], good["pattern"], strict=True))
    with store.write(actor) as tx:
        existing: set[tuple[str, str, str]] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = tx.session.execute(
                select(Case.subject_type, Case.subject_id, Case.pattern).where(
                    tuple_(Case.subject_type, Case.subject_id, Case.pattern).in_(chunk)
                )
            )
            existing.update((r[0], r[1], r[2]) for r in rows)
        fresh = good[[k not in existing for k in keys]]
        opened: list[Case] = []
        for row in fresh.to_dict("records"):
            case = Case(
                subject_type=str(row["subject_type"]),
                subject_id=str(row["subject_id"]),
                pattern=str(row["pattern"]),
                state=OPEN,
                score=float(row["score"]),
                rank=int(row["rank"]),
                amount_at_risk=_money(row["amount_at_risk"]),
                reasons=_text(row["reasons"]),
                evidence=_text(row["evidence"]),
                model_version=str(row["model_version"]),
                opened_by=tx.actor,
                opened_at=tx.now,
            )
            opened.append(case)
        tx.session.add_all(opened)
        tx.session.flush()
        for case in opened:
            _event(tx, case, None, OPEN, "opened from a lead")
        tx.describe("cases.open", opened=len(fresh), existing=len(existing))
    return OpenResult(
        read=read,
        opened=len(fresh),
        existing=len(existing),
        quarantined=quarantined,
        skipped=skipped,
    )


def report_case(
    store: Store,
    *,
    subject_type: str,
    subject_id: str,
    pattern: str,
    informant: str,
    evidence: str,
    actor: str,
) -> Case:
    """Open a case from an informant's report (举报); the informant is kept inside the case."""
    if subject_type not in SUBJECT_TYPES or pattern not in PATTERNS:
        raise InputError(
            f"subject type must be one of {sorted(SUBJECT_TYPES)}, pattern one of "
            f"{sorted(PATTERNS)}"
        )
    with store.write(actor) as tx:
        case = tx.session.execute(
            select(Case).where(
                Case.subject_type == subject_type,
                Case.subject_id == subject_id,
                Case.pattern == pattern,
            )
        ).scalar_one_or_none()
        if case is not None:
            raise RuleError(f"case {case.id} already covers this subject and pattern")
        case = Case(
            subject_type=subject_type,
            subject_id=subject_id,
            pattern=pattern,
            state=OPEN,
            score=0.0,
            rank=0,
            amount_at_risk=Decimal("0.00"),
            reasons="informant report",
            evidence=evidence,
            model_version="report",
            informant=informant,
            opened_by=tx.actor,
            opened_at=tx.now,
        )
        tx.session.add(case)
        tx.session.flush()
        _event(tx, case, None, OPEN, "opened from an informant report")
        tx.describe("cases.report", case=case.id)
    return case


def _text(value: Any) -> str:
    return (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and value != value)
        else str(value)
    )


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InputError(f"{value!r} is not an amount of money") from None


def _event(tx: Tx, case: Case, from_state: str | None, to_state: str, reason: str) -> None:
    tx.session.add(
        CaseEvent(
            case_id=case.id,
            from_state=from_state,
            to_state=to_state,
            actor=tx.actor,
            at=tx.now,
            reason=reason,
        )
    )


def _load(tx: Tx, case_id: int, expected_version: int | None) -> Case:
    case = tx.session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"there is no case {case_id}; list them with `fundguard cases list`")
    if expected_version is not None and case.version != expected_version:
        raise ConflictError(
            f"case {case_id} changed since you read it (version {expected_version}, now "
            f"{case.version}, state {case.state}); reload it and decide again"
        )
    return case


def _move(tx: Tx, case: Case, to_state: str, reason: str) -> None:
    if to_state not in TRANSITIONS.get(case.state, frozenset()):
        raise ConflictError(
            f"case {case.id} is {case.state}; it cannot become {to_state}"
            + (" (it was already decided)" if case.state in OUTCOMES else "")
        )
    _event(tx, case, case.state, to_state, reason)
    case.state = to_state


def assign(
    store: Store,
    case_id: int,
    inspector: str,
    *,
    actor: str,
    reason: str = "assigned",
    expected_version: int | None = None,
) -> Case:
    """Assign (or reassign) a case to an inspector."""
    with store.write(actor) as tx:
        case = _load(tx, case_id, expected_version)
        _move(tx, case, ASSIGNED, f"{reason} (to {inspector})")
        case.assignee = inspector
        tx.describe("cases.assign", case=case_id)
    return case


def start_investigation(
    store: Store,
    case_id: int,
    *,
    actor: str,
    reason: str = "investigation started",
    expected_version: int | None = None,
) -> Case:
    """Mark an assigned case as under investigation."""
    with store.write(actor) as tx:
        case = _load(tx, case_id, expected_version)
        _move(tx, case, INVESTIGATING, reason)
        tx.describe("cases.investigate", case=case_id)
    return case


def decide_case(
    store: Store,
    case_id: int,
    outcome: str,
    *,
    actor: str,
    reason: str,
    settings: SupervisionSettings,
    pattern: str | None = None,
    severity: str | None = None,
    confirmed_amount: Decimal | str | float | None = None,
    credit_subject: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """Decide a case under investigation: confirmed, rejected or inconclusive, with a reason.

    A confirmation needs the confirmed ``pattern`` and ``confirmed_amount``; ``severity``
    defaults from the pattern (``settings.pattern_severity``). It writes a bad record on the
    liable credit subject (``credit_subject``: a local code or credit key, needed for
    visit cases) and the measures that follow; a confirmed informant's report earns the
    informant, if a known credit subject, a trustworthy record (举报查实, ledger-rules §1).
    Exactly one of two concurrent decisions wins; the other raises ``ConflictError``.
    """
    if outcome not in OUTCOMES:
        raise InputError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if not reason or not reason.strip():
        raise InputError("a decision needs a reason")
    amount: Decimal | None = None
    if outcome == CONFIRMED:
        if pattern is None or confirmed_amount is None:
            raise InputError("a confirmation needs the pattern and the confirmed amount")
        if pattern not in {p.value for p in Pattern}:
            raise InputError(f"pattern must be one of {', '.join(p.value for p in Pattern)}")
        severity = severity or settings.pattern_severity.get(pattern, "severe")
        if severity not in SEVERITIES:
            raise InputError(f"severity must be one of {', '.join(SEVERITIES)}")
        amount = _money(confirmed_amount)
        if amount < 0:
            raise InputError("the confirmed amount cannot be negative")
    with store.write(actor) as tx:
        case = _load(tx, case_id, expected_version)
        _move(tx, case, outcome, reason.strip())
        case.decision_reason = reason.strip()
        case.decided_by = tx.actor
        case.decided_at = tx.now
        if outcome == CONFIRMED:
            case.confirmed_pattern = pattern
            case.severity = severity
            case.confirmed_amount = amount
            tx.session.flush()
            subject = ledger.record_confirmed_case(tx, case, settings, credit_subject)
            case.credit_subject_id = subject.id
            reward = ledger.credit_informant(tx, case, settings)
            if reward is not None:
                case.informant_record_id = reward.id
        tx.describe("cases.decide", case=case_id, outcome=outcome)
    return case


# --- reads ------------------------------------------------------------------------------


INFORMANT_COLUMNS = ("informant", "informant_record_id")
"""Case columns that identify an informant: read only with ``include_informant``."""


def _case_dict(case: Case, include_informant: bool) -> dict[str, Any]:
    row = {c.key: getattr(case, c.key) for c in Case.__table__.columns}
    if not include_informant:
        for col in INFORMANT_COLUMNS:
            row.pop(col)
    return row


def get_case(store: Store, case_id: int, *, include_informant: bool = False) -> dict[str, Any]:
    """A case with its evidence, reasons and history; the informant only when asked."""
    with store.read() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"there is no case {case_id}")
        events = session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).scalars()
        row = _case_dict(case, include_informant)
        row["history"] = [
            {
                "from": e.from_state,
                "to": e.to_state,
                "actor": e.actor,
                "at": e.at,
                "reason": e.reason,
            }
            for e in events
        ]
    return row


def list_cases(
    store: Store,
    *,
    state: str | None = None,
    subject_type: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    """Cases by lead rank (most suspicious first), without informants."""
    query = select(Case).order_by(Case.subject_type, Case.rank, Case.id)
    if state:
        query = query.where(Case.state == state)
    if subject_type:
        query = query.where(Case.subject_type == subject_type)
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with store.read() as session:
        rows = [_case_dict(c, False) for c in session.execute(query).scalars()]
    columns = [c.key for c in Case.__table__.columns if c.key not in INFORMANT_COLUMNS]
    return pd.DataFrame(rows, columns=columns)


def labels_frame(store: Store) -> pd.DataFrame:
    """Verified outcomes as the contract's ``labels`` table plus ``model_version``.

    Confirmed cases label their confirmed pattern; rejected leads are negatives; inconclusive
    and undecided cases are not labels. Where two decided cases share a key, a confirmation
    wins over a rejection, and the latest decision over earlier ones.
    """
    query = select(Case).where(Case.state.in_((CONFIRMED, REJECTED))).order_by(Case.decided_at)
    with store.read() as session:
        rows = [
            {
                "subject_type": c.subject_type,
                "subject_id": c.subject_id,
                "pattern": c.confirmed_pattern if c.state == CONFIRMED else c.pattern,
                "outcome": c.state,
                "decided_on": local_date(c.decided_at) if c.decided_at else None,
                "model_version": c.model_version,
            }
            for c in session.execute(query).scalars()
        ]
    frame = pd.DataFrame(rows, columns=list(LABEL_COLUMNS))
    frame["_confirmed"] = frame["outcome"] == CONFIRMED
    frame = frame.drop_duplicates(
        ["subject_type", "subject_id", "pattern", "_confirmed"], keep="last"
    ).sort_values("_confirmed", kind="stable")
    frame = frame.drop_duplicates(["subject_type", "subject_id", "pattern"], keep="last")
    frame = frame.drop(columns="_confirmed").sort_values(["subject_type", "subject_id", "pattern"])
    for col in ("subject_type", "subject_id", "pattern", "outcome", "model_version"):
        frame[col] = frame[col].astype("string")
    frame["decided_on"] = pd.to_datetime(frame["decided_on"]).dt.date
    frame = frame.reset_index(drop=True)
    labels_schema().validate(frame)
    return frame


def labels_schema() -> Any:
    """The pandera schema of ``labels_frame`` (the supervision → training boundary)."""
    import pandera.pandas as pa

    def coded(codes: frozenset[str]) -> pa.Column:
        return pa.Column("string", pa.Check.isin(sorted(codes)))

    return pa.DataFrameSchema(
        {
            "subject_type": coded(SUBJECT_TYPES),
            "subject_id": pa.Column("string", pa.Check.str_length(min_value=1)),
            "pattern": coded(PATTERNS),
            "outcome": coded(frozenset({CONFIRMED, REJECTED})),
            "decided_on": pa.Column(object, nullable=True),
            "model_version": pa.Column("string"),
        },
        unique=["subject_type", "subject_id", "pattern"],
        strict=True,
        ordered=True,
    )


def export_labels(store: Store, path: Path) -> int:
    """Write ``labels_frame`` as Parquet (or CSV by suffix); return the row count."""
    frame = labels_frame(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return len(frame)
