"""The console's casework over the supervision store: the lead queue, a case with its
evidence timeline, decisions, and the ledger records a decision wrote.

Pure functions of the store, the scored dataset and plain arguments; the web layer calls
them with the logged-in user's actor name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.schema import INPATIENT_MED_TYPES, SUBSTANTIVE_CHARGE_ITEMS
from supervision.config import SupervisionSettings
from supervision.store import Store

OPEN_STATES = ("open", "assigned", "investigating")
REASON_SEPARATOR = " | "
"""How the leads table separates a lead's reasons."""
CHARGE_ITEM_NAMES = {
    "01": "bed",
    "02": "consultation",
    "03": "examination",
    "04": "lab test",
    "05": "treatment",
    "06": "surgery",
    "07": "nursing",
    "08": "materials",
    "09": "Western drug",
    "10": "herbal pieces",
    "11": "patent drug",
    "12": "general care",
    "13": "registration",
    "14": "other",
}


@dataclass(frozen=True)
class LeadFilter:
    """What the inspector narrows the queue to."""

    pattern: str | None = None
    institution: str | None = None
    min_amount: float | None = None
    subject_type: str | None = None
    state: str | None = None
    """One state, or ``None`` for every undecided case."""


def lead_queue(
    store: Store, dataset: Dataset | None, wanted: LeadFilter, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """The page of cases that pass the filter, most suspicious first, and how many pass.

    Ranks are per subject type, so a queue mixing types orders by score, then rank."""
    from supervision.cases import list_cases

    cases = list_cases(store, state=wanted.state, subject_type=wanted.subject_type)
    if wanted.state is None and len(cases):
        cases = cases[cases["state"].isin(OPEN_STATES)]
    if wanted.pattern:
        cases = cases[cases["pattern"] == wanted.pattern]
    if wanted.min_amount is not None:
        cases = cases[cases["amount_at_risk"].astype("float64") >= wanted.min_amount]
    if wanted.institution:
        cases = cases[_at_institution(cases, dataset, wanted.institution.strip())]
    cases = cases.sort_values(["score", "rank", "id"], ascending=[False, True, True], kind="stable")
    total = len(cases)
    start = max(page - 1, 0) * page_size
    rows = [_plain_row(r) for r in cases.iloc[start : start + page_size].to_dict("records")]
    for row in rows:
        note, reasons = split_reasons(str(row.get("reasons") or ""))
        row["top_reason"] = reasons[0] if reasons else ""
        row["cold_start"] = bool(note)
    return rows, total


def _at_institution(cases: pd.DataFrame, dataset: Dataset | None, code: str) -> pd.Series:
    """Cases about the institution, or about a visit, person or doctor seen there."""
    hit = (cases["subject_type"] == "institution") & (cases["subject_id"] == code)
    if dataset is not None:
        s = dataset.settlements
        there = s[s["fixmedins_code"] == code]
        hit |= (cases["subject_type"] == "visit") & cases["subject_id"].isin(there["mdtrt_id"])
        hit |= (cases["subject_type"] == "person") & cases["subject_id"].isin(there["psn_no"])
        if "atddr_no" in there.columns:
            hit |= (cases["subject_type"] == "doctor") & cases["subject_id"].isin(
                there["atddr_no"].dropna()
            )
    return hit


def _plain_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            out[str(key)] = None
        elif hasattr(value, "isoformat"):
            out[str(key)] = value.isoformat()
        elif type(value).__name__ == "Decimal":
            out[str(key)] = float(value)
        elif hasattr(value, "item"):
            out[str(key)] = value.item()
        else:
            out[str(key)] = value
    return out


def case_view(
    store: Store, dataset: Dataset | None, case_id: int, readmission_days: int
) -> dict[str, Any]:
    """A case with its reasons, history, evidence timeline and the ledger records it wrote."""
    from supervision.cases import get_case

    case = _plain_row(get_case(store, case_id))
    case["history"] = [_plain_row(e) for e in case.get("history", [])]
    case["reason_note"], case["reason_list"] = split_reasons(str(case.get("reasons") or ""))
    case["timeline"] = timeline(dataset, case["subject_type"], case["subject_id"], readmission_days)
    if not case["timeline"]:
        case["timeline"] = cited_settlements(dataset, str(case.get("evidence") or ""))
    options = liable_options(dataset, case["subject_type"], case["subject_id"])
    case["liable_options"] = options
    case["liable_registered"] = registered_subjects(store, options)
    case["ledger_records"] = ledger_records(store, case_id)
    return case


def split_reasons(text: str) -> tuple[str, list[str]]:
    """A lead's reasons as a list, and the note that may precede them (the cold-start
    preamble "cold start (…): unsupervised ranking, not a probability")."""
    reasons = [r.strip() for r in text.split(REASON_SEPARATOR) if r.strip()]
    note = ""
    if reasons and reasons[0].startswith("cold start") and "; " in reasons[0]:
        note, _, first = reasons[0].partition("; ")
        reasons[0] = first.strip()
    return note, reasons


def liable_options(dataset: Dataset | None, subject_type: str, subject_id: str) -> list[str]:
    """Who may be held liable for a confirmed case: for a visit, its institution and person."""
    if subject_type != "visit":
        return [subject_id]
    if dataset is None:
        return []
    s = dataset.settlements
    visit = s[s["mdtrt_id"] == subject_id]
    return list(dict.fromkeys([*visit["fixmedins_code"].astype(str), *visit["psn_no"].astype(str)]))


def registered_subjects(store: Store, keys: list[str]) -> list[str]:
    """Those of ``keys`` that are credit subjects of the ledger (local code or credit key)."""
    from sqlalchemy import or_, select

    from supervision.db import CreditSubject

    if not keys:
        return []
    with store.read() as session:
        found = session.execute(
            select(CreditSubject.local_code, CreditSubject.credit_key).where(
                or_(CreditSubject.local_code.in_(keys), CreditSubject.credit_key.in_(keys))
            )
        ).all()
    known = {k for row in found for k in row if k}
    return [k for k in keys if k in known]


def timeline(
    dataset: Dataset | None, subject_type: str, subject_id: str, readmission_days: int
) -> list[dict[str, Any]]:
    """The evidence as dated entries, oldest first.

    A visit: each day of the stay with its charges (an *empty* day has a bed fee and no
    substantive care), the person's other settlements during the stay (elsewhere, or at the
    same institution), and inpatient
    readmissions within ``readmission_days`` after discharge. A person: their settlements.
    """
    if dataset is None:
        return []
    s = dataset.settlements
    if subject_type == "person":
        rows = s[s["psn_no"] == subject_id].sort_values("begndate").head(200)
        return [_settlement_entry(r, "settlement") for r in rows.to_dict("records")]
    if subject_type != "visit":
        return []
    visit = s[s["mdtrt_id"] == subject_id]
    if visit.empty:
        return []
    begin, end = visit["begndate"].min(), visit["enddate"].max()
    person = str(visit["psn_no"].iloc[0])
    entries = _stay_days(dataset.fee_details, subject_id, begin, end)
    others = s[(s["psn_no"] == person) & (s["mdtrt_id"] != subject_id)]
    during = others[(others["begndate"] <= end) & (others["enddate"] >= begin)]
    here = str(visit["fixmedins_code"].iloc[0])
    entries += [
        _settlement_entry(r, "elsewhere" if str(r["fixmedins_code"]) != here else "during")
        for r in during.to_dict("records")
    ]
    inpatient = others["med_type"].isin(sorted(INPATIENT_MED_TYPES))
    after = others[
        inpatient
        & (others["begndate"] > end)
        & (others["begndate"] <= end + pd.Timedelta(days=readmission_days))
    ]
    entries += [_settlement_entry(r, "readmission") for r in after.to_dict("records")]
    return sorted(entries, key=lambda e: (e["date"], e["order"]))


EVIDENCE_ID = re.compile(r"\b(?:mdtrt_id|setl_id)=([^;|\s]+)")


def cited_settlements(
    dataset: Dataset | None, evidence: str, limit: int = 100
) -> list[dict[str, Any]]:
    """The settlements a lead's evidence cites (``mdtrt_id=…``, ``setl_id=…``), oldest first:
    the timeline of an institution or doctor case."""
    if dataset is None or not evidence:
        return []
    ids = {i for match in EVIDENCE_ID.findall(evidence) for i in match.split(",") if i}
    s = dataset.settlements
    cited = s[s["setl_id"].isin(ids) | s["mdtrt_id"].isin(ids)].sort_values("begndate")
    return [_settlement_entry(r, "cited") for r in cited.head(limit).to_dict("records")]


def _stay_days(
    fee_details: pd.DataFrame, mdtrt_id: str, begin: pd.Timestamp, end: pd.Timestamp
) -> list[dict[str, Any]]:
    lines = fee_details[fee_details["mdtrt_id"] == mdtrt_id]
    day = lines["fee_ocur_time"].dt.normalize()
    by_day = {d: g for d, g in lines.groupby(day)}
    entries = []
    for d in pd.date_range(begin.normalize(), end.normalize(), freq="D"):
        group = by_day.get(d)
        items = set() if group is None else set(group["med_chrgitm_type"].astype(str))
        charges = []
        total = 0.0
        if group is not None:
            sums = group.groupby(group["med_chrgitm_type"].astype(str))["det_item_fee_sumamt"].sum()
            charges = [
                f"{CHARGE_ITEM_NAMES.get(str(code), str(code))} {amount:.2f}"
                for code, amount in sums.items()
            ]
            total = float(sums.sum())
        empty = "01" in items and not (items & SUBSTANTIVE_CHARGE_ITEMS)
        entries.append(
            {
                "date": d.date().isoformat(),
                "order": 0,
                "kind": "empty" if empty else "day",
                "title": ("empty day: bed fee, no care" if empty else "stay day")
                if items
                else "no charges",
                "detail": ", ".join(charges),
                "amount": round(total, 2),
            }
        )
    return entries


def _settlement_entry(row: Mapping[Any, Any], kind: str) -> dict[str, Any]:
    titles = {
        "elsewhere": "settled elsewhere during the stay",
        "during": "another settlement at the same institution during the stay",
        "readmission": "readmitted after discharge",
        "settlement": "settlement",
        "cited": "settlement cited as evidence",
    }
    begin: date = row["begndate"].date()
    return {
        "date": begin.isoformat(),
        "order": 1,
        "kind": kind,
        "title": titles[kind],
        "detail": (
            f"{row['setl_id']} at {row['fixmedins_code']}, med_type {row['med_type']}, "
            f"{begin.isoformat()} to {row['enddate'].date().isoformat()}, "
            f"diagnosis {row['dise_codg']}"
        ),
        "amount": round(float(row["medfee_sumamt"]), 2),
    }


def ledger_records(store: Store, case_id: int) -> list[dict[str, Any]]:
    """The credit records written by the case's decision (bad information, §1)."""
    from sqlalchemy import select

    from supervision.db import CreditRecord, CreditSubject

    with store.read() as session:
        rows = session.execute(
            select(CreditRecord, CreditSubject.local_code, CreditSubject.kind)
            .join(CreditSubject, CreditSubject.id == CreditRecord.subject_id)
            .where(CreditRecord.case_id == case_id)
            .order_by(CreditRecord.id)
        ).all()
        return [
            {
                "id": record.id,
                "subject": local_code,
                "subject_kind": kind,
                "kind": record.kind,
                "severity": record.severity,
                "description": record.description,
                "entered_on": record.entered_on.isoformat(),
                "expires_on": record.expires_on.isoformat() if record.expires_on else None,
                "status": record.status,
                "entered_by": record.entered_by,
            }
            for record, local_code, kind in rows
        ]


def register_liable(store: Store, dataset: Dataset | None, key: str, *, actor: str) -> None:
    """Register the liable subject of a visit case in the ledger from the scored data, when
    the ledger does not know it yet: the visit's person as an insured individual (by its
    pseudonymous psn_no), or its institution when the data carry its credit code (uscc)."""
    from supervision.ledger import register_subject

    if dataset is None or registered_subjects(store, [key]):
        return
    persons = dataset.persons
    if key in set(persons["psn_no"].astype(str)):
        register_subject(
            store,
            kind="individual",
            credit_key=key,
            name=key,
            category="insured",
            local_code=key,
            actor=actor,
        )
        return
    inst = dataset.institutions
    row = inst[inst["fixmedins_code"].astype(str) == key]
    if len(row) and "uscc" in row.columns and pd.notna(row["uscc"].iloc[0]):
        register_subject(
            store,
            kind="institution",
            credit_key=str(row["uscc"].iloc[0]),
            name=str(row["fixmedins_name"].iloc[0]),
            category="pharmacy" if str(row["fixmedins_type"].iloc[0]) == "2" else "hospital",
            local_code=key,
            actor=actor,
        )


def decide(
    store: Store,
    settings: SupervisionSettings,
    case_id: int,
    outcome: str,
    *,
    actor: str,
    inspector: str,
    reason: str,
    expected_version: int,
    confirmed_amount: str | None = None,
    liable: str | None = None,
    severity: str | None = None,
    dataset: Dataset | None = None,
) -> None:
    """Decide a case as ``actor``: take it (assign to ``inspector``, start the
    investigation) if nobody has yet, then decide. ``expected_version`` is the version the
    inspector saw; if anyone changed the case since, nothing is written (``ConflictError``).
    A confirmed visit case's liable subject is registered from ``dataset`` when needed.
    """
    from supervision import cases

    case = cases.get_case(store, case_id)
    if outcome == "confirmed" and liable and case["subject_type"] == "visit":
        register_liable(store, dataset, liable, actor=actor)
    if case["version"] != expected_version:
        from supervision.errors import ConflictError

        raise ConflictError(
            f"case {case_id} changed since you opened it (now {case['state']}); reload it"
        )
    version = expected_version
    if case["state"] == "open":
        version = cases.assign(
            store, case_id, inspector, actor=actor, expected_version=version
        ).version
        case["state"] = "assigned"
    if case["state"] == "assigned":
        version = cases.start_investigation(
            store, case_id, actor=actor, expected_version=version
        ).version
    if outcome == "confirmed" and not confirmed_amount:
        confirmed_amount = str(case["amount_at_risk"])
    if outcome not in ("confirmed", "rejected", "inconclusive"):
        raise InputError("outcome must be confirmed, rejected or inconclusive")
    cases.decide_case(
        store,
        case_id,
        outcome,
        actor=actor,
        reason=reason,
        settings=settings,
        pattern=case["pattern"] if outcome == "confirmed" else None,
        severity=severity or None,
        confirmed_amount=confirmed_amount if outcome == "confirmed" else None,
        credit_subject=liable or None,
        expected_version=version,
    )
