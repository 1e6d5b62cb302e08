"""A hand-built world: one bed-hanging stay at H1 with empty days, the person's pharmacy
purchase elsewhere during the stay, and a readmission after discharge; its leads."""

from __future__ import annotations

import pandas as pd

from settlements.config import IntakeSettings
from settlements.dataset import Dataset
from settlements.intake import validate_dataset


def _settlement(
    setl_id: str, mdtrt: str, inst: str, med: str, begin: str, end: str, fee: float
) -> dict[str, object]:
    return {
        "setl_id": setl_id,
        "mdtrt_id": mdtrt,
        "psn_no": "P1",
        "fixmedins_code": inst,
        "med_type": med,
        "begndate": begin,
        "enddate": end,
        "setl_time": f"{end} 17:00:00",
        "medfee_sumamt": fee,
        "hifp_pay": fee * 0.7,
        "fund_pay_sumamt": fee * 0.7,
        "acct_pay": 0.0,
        "psn_cash_pay": fee * 0.3,
        "dise_codg": "J18.9",
    }


def _line(sn: str, setl_id: str, mdtrt: str, at: str, item: str, fee: float) -> dict[str, object]:
    list_type = "101" if item in ("09", "11") else "201"
    return {
        "feedetl_sn": sn,
        "setl_id": setl_id,
        "mdtrt_id": mdtrt,
        "fee_ocur_time": at,
        "hilist_code": f"C{item}",
        "list_type": list_type,
        "med_chrgitm_type": item,
        "cnt": 1.0,
        "pric": fee,
        "det_item_fee_sumamt": fee,
        "bilg_dr_codg": "D1",
    }


def small_world() -> Dataset:
    """Stay M1 (2024-03-01..05) at H1: treated on the 1st and 5th, bed fee only on 2nd-4th;
    a pharmacy purchase at R9 on the 3rd; readmission M3 at H1 on the 12th."""
    settlements = pd.DataFrame(
        [
            _settlement("S1", "M1", "H1", "21", "2024-03-01", "2024-03-05", 900.0),
            _settlement("S2", "M2", "R9", "41", "2024-03-03", "2024-03-03", 120.0),
            _settlement("S3", "M3", "H1", "21", "2024-03-12", "2024-03-15", 800.0),
        ]
    )
    lines = []
    for day in range(1, 6):
        at = f"2024-03-{day:02d} 08:00:00"
        lines.append(_line(f"b{day}", "S1", "M1", at, "01", 80.0))
        if day in (1, 5):
            lines.append(_line(f"d{day}", "S1", "M1", at, "09", 150.0))
    lines.append(_line("r1", "S2", "M2", "2024-03-03 10:00:00", "11", 120.0))
    lines.append(_line("x1", "S3", "M3", "2024-03-12 09:00:00", "05", 800.0))
    raw = Dataset(
        settlements=settlements,
        fee_details=pd.DataFrame(lines),
        persons=pd.DataFrame(
            [
                {
                    "psn_no": "P1",
                    "gend": "1",
                    "brdy": "1950-01-01",
                    "insutype": "390",
                    "insuplc_admdvs": "110105",
                }
            ]
        ),
        institutions=pd.DataFrame(
            [
                {
                    "fixmedins_code": "H1",
                    "fixmedins_name": "第一医院",
                    "fixmedins_type": "1",
                    "admdvs": "110105",
                },
                {
                    "fixmedins_code": "R9",
                    "fixmedins_name": "九号药店",
                    "fixmedins_type": "2",
                    "admdvs": "110105",
                },
            ]
        ),
    )
    result = validate_dataset(raw, IntakeSettings())
    assert sum(len(q) for q in result.quarantine.values()) == 0, result.quarantine
    return result.dataset


def small_leads() -> pd.DataFrame:
    """Three leads: the stay (bed-hanging, rank 1), the readmission, and institution R9."""
    return pd.DataFrame(
        {
            "subject_type": ["visit", "visit", "institution"],
            "subject_id": ["M1", "M3", "R9"],
            "pattern": ["bed_hanging", "split_billing", "other"],
            "score": [0.91, 0.40, 0.30],
            "rank": [1, 2, 1],
            "amount_at_risk": [630.0, 560.0, 84.0],
            "reasons": [
                "3 empty days (+1.20) | settled elsewhere during the stay (+0.80)",
                "readmitted within 15 days (+0.50)",
                "cost per visit above peers (+0.30)",
            ],
            "evidence": ["M1 days 2024-03-02..04; S2", "M1, M3", "S2"],
            "model_version": ["fundguard/1"] * 3,
        }
    )
