"""Small hand-built inputs shared by the supervision tests."""

from __future__ import annotations

import pandas as pd

from supervision import cases
from supervision.config import SupervisionSettings
from supervision.store import Store


def leads(*rows: tuple[str, str, str, float, int]) -> pd.DataFrame:
    """A leads table from (subject_type, subject_id, pattern, score, rank) tuples."""
    return pd.DataFrame(
        [
            {
                "subject_type": t,
                "subject_id": i,
                "pattern": p,
                "score": s,
                "rank": r,
                "amount_at_risk": 1234.5,
                "reasons": "empty bed days 12 (+0.31)",
                "evidence": "mdtrt M1: 2025-03-01..2025-03-14",
                "model_version": "fraud-person:7",
            }
            for t, i, p, s, r in rows
        ]
    )


def investigated_case(store: Store, subject_id: str = "P001", pattern: str = "bed_hanging") -> int:
    """Open, assign and start investigating one person case; return its id."""
    cases.open_cases(store, leads(("person", subject_id, pattern, 0.9, 1)), actor="scorer")
    case_id = int(cases.list_cases(store)["id"].iloc[-1])
    cases.assign(store, case_id, "INS1", actor="chief")
    cases.start_investigation(store, case_id, actor="INS1")
    return case_id


def confirm(
    store: Store,
    settings: SupervisionSettings,
    subject_id: str,
    pattern: str = "bed_hanging",
    severity: str | None = None,
) -> int:
    case_id = investigated_case(store, subject_id, pattern)
    cases.decide_case(
        store,
        case_id,
        "confirmed",
        actor="INS1",
        reason="records show empty days",
        settings=settings,
        pattern=pattern,
        severity=severity,
        confirmed_amount="800.00",
    )
    return case_id


def uscc_for(n: int) -> str:
    """A valid unified social credit code (check digit computed)."""
    from stdnum.cn import uscc

    base = f"91110000{100000000 + n}"
    return base + uscc.calc_check_digit(base)


def institution(store: Store, n: int, local_code: str | None = None, **extra: object) -> str:
    """Register hospital ``n``; return its local code (fixmedins_code)."""
    from supervision import ledger

    code = local_code or f"H{n:03d}"
    ledger.register_subject(
        store,
        kind="institution",
        credit_key=uscc_for(n),
        name=f"医院{n}",
        category="hospital",
        actor="registrar",
        local_code=code,
        **extra,  # type: ignore[arg-type]
    )
    return code


def institutions(store: Store, settings: SupervisionSettings, n: int) -> list[str]:
    """Enrol hospitals 1..n in one transaction (as ``institution`` does one by one)."""
    from datetime import date

    from supervision import ledger

    codes = [f"H{i:03d}" for i in range(1, n + 1)]
    table = pd.DataFrame(
        {
            "fixmedins_code": codes,
            "fixmedins_name": [f"医院{i}" for i in range(1, n + 1)],
            "fixmedins_type": ["1"] * n,
            "uscc": [uscc_for(i) for i in range(1, n + 1)],
        }
    )
    result = ledger.enroll_institutions(
        store, table, actor="registrar", on=date(2025, 1, 1), settings=settings
    )
    assert result.enrolled == n
    return codes
