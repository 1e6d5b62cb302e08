"""Hand-built request bodies: one inpatient stay with a bed fee and a drug per day."""

from __future__ import annotations

from typing import Any


def stay(setl_id: str = "S1", days: int = 3, psn_no: str = "P1") -> dict[str, Any]:
    """A /check body: a general inpatient stay of ``days`` days at hospital H1."""
    lines = []
    for day in range(days):
        date = f"2024-03-{day + 1:02d}"
        lines.append(_line(setl_id, f"{day}a", f"{date} 08:00:00", "01", "201", "BED", 60.0))
        lines.append(_line(setl_id, f"{day}b", f"{date} 09:00:00", "09", "101", "DRUG", 35.5))
    return {
        "settlement": {
            "setl_id": setl_id,
            "mdtrt_id": f"M{setl_id}",
            "psn_no": psn_no,
            "fixmedins_code": "H1",
            "med_type": "21",
            "begndate": "2024-03-01",
            "enddate": f"2024-03-{days:02d}",
            "setl_time": f"2024-03-{days:02d} 16:00:00",
            "medfee_sumamt": 95.5 * days,
            "hifp_pay": 70.0 * days,
            "fund_pay_sumamt": 70.0 * days,
            "acct_pay": 0.0,
            "psn_cash_pay": 25.5 * days,
            "dise_codg": "J18.9",
        },
        "fee_details": lines,
        "person": {
            "psn_no": psn_no,
            "gend": "2",
            "brdy": "1950-05-01",
            "insutype": "390",
            "insuplc_admdvs": "110105",
        },
        "institution": {
            "fixmedins_code": "H1",
            "fixmedins_name": "第一医院",
            "fixmedins_type": "1",
            "hosp_lv": "3",
            "admdvs": "110105",
        },
    }


def _line(
    setl_id: str, sn: str, at: str, item: str, list_type: str, code: str, fee: float
) -> dict[str, Any]:
    return {
        "feedetl_sn": sn,
        "setl_id": setl_id,
        "mdtrt_id": f"M{setl_id}",
        "fee_ocur_time": at,
        "hilist_code": code,
        "list_type": list_type,
        "med_chrgitm_type": item,
        "cnt": 1,
        "pric": fee,
        "det_item_fee_sumamt": fee,
        "bilg_dr_codg": "D1",
    }
