"""The planner's and auditor's console work: grades, credit archives, plans, the audit log.

Direct identifiers (an individual's name, a legal representative's name and ID number)
are shown only to the roles in ``ServingSettings.identifier_roles``; everyone else sees
``HIDDEN`` in their place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from supervision.config import SupervisionSettings
from supervision.store import Store

HIDDEN = "(hidden)"
PERSONAL_FIELDS = ("legal_rep_name", "legal_rep_id")
"""Fields that identify a natural person whatever the subject's kind."""


def _plain(value: Any) -> Any:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if type(value).__name__ == "Decimal":
        return float(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row with JSON-ready values."""
    return {str(k): _plain(v) for k, v in row.items()}


def redact(subject: dict[str, Any], show_identifiers: bool) -> dict[str, Any]:
    """The subject's basic information without direct identifiers unless they may be shown."""
    if show_identifiers:
        return subject
    out = dict(subject)
    for name in PERSONAL_FIELDS:
        if out.get(name):
            out[name] = HIDDEN
    if out.get("kind") == "individual" and out.get("name"):
        out["name"] = HIDDEN
    return out


def grades(store: Store, show_identifiers: bool, kind: str | None = None) -> list[dict[str, Any]]:
    """Every credit subject with its latest grade (ungraded subjects too)."""
    from supervision.ledger import list_subjects

    frame = list_subjects(store, kind=kind or None)
    return [redact(plain(r), show_identifiers) for r in frame.to_dict("records")]


def subject_archive(store: Store, key: str, show_identifiers: bool) -> dict[str, Any]:
    """A subject's credit archive (§1): basic information, records, measures, grade history."""
    from supervision.ledger import archive

    found = archive(store, key)
    out: dict[str, Any] = {"basic": redact(plain(found["basic"]), show_identifiers)}
    for part, rows in found.items():
        if part != "basic":
            out[part] = [plain(r) for r in rows]
    return out


def plans(store: Store) -> list[dict[str, Any]]:
    """Stored plans, newest first."""
    from supervision.planner import list_plans

    return [plain(r) for r in list_plans(store).to_dict("records")]


def plan(store: Store, plan_id: int, show_identifiers: bool) -> dict[str, Any]:
    """A stored plan: its inputs, realised ratios and targets."""
    from supervision.planner import load_plan

    return _plan_dict(load_plan(store, plan_id), show_identifiers)


def draw(
    store: Store,
    settings: SupervisionSettings,
    *,
    actor: str,
    plan_date: date,
    base_ratio: float,
    seed: int,
    show_identifiers: bool,
) -> dict[str, Any]:
    """Draw and store a 双随机 plan as ``actor``."""
    from supervision.planner import draw_plan

    result = draw_plan(
        store,
        plan_date=plan_date,
        base_ratio=base_ratio,
        seed=seed,
        settings=settings,
        actor=actor,
    )
    return _plan_dict(result, show_identifiers)


def _plan_dict(result: Any, show_identifiers: bool) -> dict[str, Any]:
    targets = [redact(plain(r), show_identifiers) for r in result.targets.to_dict("records")]
    return {
        "plan_id": result.plan_id,
        "plan_date": result.plan_date.isoformat(),
        "seed": result.seed,
        "base_ratio": result.base_ratio,
        "method": result.method,
        "ratios": [plain(r) for r in result.ratios.to_dict("records")],
        "targets": targets,
    }


def audit_log(store: Store, limit: int) -> dict[str, Any]:
    """The latest entries of the hash-chained audit log and whether the chain verifies."""
    from sqlalchemy import select

    from supervision.db import AuditEntry
    from supervision.store import verify_audit

    with store.read() as session:
        entries = (
            session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit))
            .scalars()
            .all()
        )
        rows = [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "details": e.details,
            }
            for e in entries
        ]
    report = verify_audit(store)
    return {
        "entries": rows,
        "verified": report.ok,
        "checked": report.entries,
        "problems": list(report.problems),
    }
