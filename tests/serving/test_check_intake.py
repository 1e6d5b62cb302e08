"""A /check request's rows are judged by intake exactly as the same rows sent as text."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

from serving.schemas import SettlementIn, to_frames
from settlements.config import IntakeSettings
from settlements.dataset import Dataset
from settlements.intake import validate_dataset

KEY = b"check-intake-test-key"


def _request() -> dict[str, Any]:
    """A four-day stay with bed, drug and examination lines on three days."""
    lines = [
        {
            "feedetl_sn": str(n),
            "setl_id": "S1",
            "mdtrt_id": "M1",
            "fee_ocur_time": f"2024-03-0{day} 08:00:00",
            "hilist_code": code,
            "list_type": "201" if item == "01" else "101",
            "med_chrgitm_type": item,
            "cnt": cnt,
            "pric": pric,
            "det_item_fee_sumamt": cnt * pric,
            "bilg_dr_codg": "D1",
        }
        for n, (day, code, item, cnt, pric) in enumerate(
            [
                (1, "BED", "01", 1.0, 80.0),
                (1, "X0001", "09", 3.0, 12.5),
                (2, "BED", "01", 1.0, 80.0),
                (2, "E0001", "03", 1.0, 150.0),
                (4, "BED", "01", 1.0, 80.0),
                (4, "X0002", "11", 2.0, 33.3),
            ]
        )
    ]
    return {
        "settlement": {
            "setl_id": "S1",
            "mdtrt_id": "M1",
            "psn_no": "P1",
            "fixmedins_code": "H1",
            "med_type": "21",
            "begndate": "2024-03-01",
            "enddate": "2024-03-04",
            "setl_time": "2024-03-04 16:00:00",
            "medfee_sumamt": 900.0,
            "hifp_pay": 630.0,
            "fund_pay_sumamt": 630.0,
            "acct_pay": 0.0,
            "psn_cash_pay": 270.0,
            "dise_codg": "J18.9",
        },
        "fee_details": lines,
        "person": {
            "psn_no": "P1",
            "gend": "1",
            "brdy": "1950-01-01",
            "insutype": "390",
            "insuplc_admdvs": "110105",
        },
        "institution": {
            "fixmedins_code": "H1",
            "fixmedins_name": "第一医院",
            "fixmedins_type": "1",
            "admdvs": "110105",
            "lat": 39.9,
            "lon": 116.4,
        },
    }


def _changed(table: str, row: int | None, **changes: object) -> dict[str, Any]:
    body = _request()
    if table == "fee_details":
        lines = body["fee_details"]
        if row is None:  # an exact copy of the first line
            lines.append(copy.deepcopy(lines[0]))
        else:
            lines[row].update(changes)
    else:
        body[table].update(changes)
    return body


CASES = {
    "valid": _request(),
    "unknown_code": _changed("fee_details", 1, list_type="999"),
    "non_positive_quantity": _changed("fee_details", 2, cnt=-1.0, det_item_fee_sumamt=-80.0),
    "duplicate_row": _changed("fee_details", None),
    "fee_outside_stay": _changed("fee_details", 3, fee_ocur_time="2024-02-20 08:00:00"),
    "visit_mismatch": _changed("fee_details", 0, mdtrt_id="M2"),
    "line_total_mismatch": _changed("fee_details", 5, det_item_fee_sumamt=70.0),
    "person_quarantined": _changed("person", None, gend="7"),
    "institution_quarantined": _changed("institution", None, lat=123.0),
    "settled_before_start": _changed("settlement", None, setl_time="2024-02-01 09:00:00"),
    "negative_amount": _changed("settlement", None, hifp_pay=-5.0),
}


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's cells as a CSV gives them: text, dates as yyyy-MM-dd[ HH:mm:ss]."""
    out = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_dtype(values.dtype):
            text = values.dt.strftime("%Y-%m-%d %H:%M:%S")
            if name in ("begndate", "enddate", "brdy", "dead_date"):
                text = values.dt.strftime("%Y-%m-%d")
            out[name] = text.astype(object).where(values.notna(), None)
        elif pd.api.types.is_float_dtype(values.dtype):
            out[name] = [None if pd.isna(v) else repr(float(v)) for v in values]
        else:
            out[name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out, dtype=object)


@pytest.mark.parametrize("case", list(CASES))
def test_a_check_request_is_judged_as_the_same_rows_sent_as_text(case: str) -> None:
    # given one settlement's request (valid, or breaking one rule) as the service types it
    frames = to_frames([SettlementIn.model_validate(CASES[case])])
    text = {name: _as_text(frame) for name, frame in frames.items()}
    # when intake validates the typed frames and the same rows as text
    typed = validate_dataset(Dataset(**frames), IntakeSettings(), KEY)
    plain = validate_dataset(Dataset(**text), IntakeSettings(), KEY)
    # then the accepted tables, the quarantined rows with their reasons and the
    # reconciliation are the same
    for (name, accepted), (_, expected) in zip(
        typed.dataset.tables(), plain.dataset.tables(), strict=True
    ):
        pd.testing.assert_frame_equal(accepted, expected, check_exact=True, obj=name)
    assert typed.reconciliation == plain.reconciliation
    for name, rows in typed.quarantine.items():
        other = plain.quarantine[name]
        columns = [c for c in rows.columns if c in ("rule", "reason") or c.endswith(("_id", "_sn"))]
        pd.testing.assert_frame_equal(
            rows[columns].astype(str), other[columns].astype(str), obj=name
        )
    rules = {r for rec in typed.reconciliation.values() for r in rec.rules}
    assert rules == (set() if case == "valid" else {case} | _followers(case))


def _followers(case: str) -> set[str]:
    """The rules of the rows a quarantined parent takes along."""
    if case in ("person_quarantined", "institution_quarantined"):
        return {
            "unknown_code" if case == "person_quarantined" else "coordinates_out_of_range",
            "settlement_quarantined",
        }
    if case in ("settled_before_start", "negative_amount"):
        return {"settlement_quarantined"}
    return set()
