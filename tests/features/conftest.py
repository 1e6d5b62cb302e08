"""Builders of small hand-made datasets for feature tests: settlements, fee lines, stays,
persons, institutions and a catalogue, typed as intake hands them over."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from settlements.dataset import Dataset

_SN = itertools.count(1)

INSTITUTIONS = {
    # code: (type, level, admdvs, lat, lon, beds)
    "H1": ("1", "3", "440106", 23.13, 113.26, 100.0),
    "H2": ("1", "3", "440104", 23.12, 113.28, 100.0),
    "H3": ("1", "2", "110101", 39.90, 116.40, 50.0),  # Beijing, ~1900 km from Guangzhou
    "Y1": ("2", "?", "440106", 23.13, 113.27, np.nan),
    "Y2": ("2", "?", "440104", 23.11, 113.25, np.nan),
}


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@dataclass
class World:
    """A growing hand-built dataset."""

    settlements: list[dict[str, object]] = field(default_factory=list)
    fees: list[dict[str, object]] = field(default_factory=list)
    persons: dict[str, dict[str, object]] = field(default_factory=dict)
    catalog: list[dict[str, object]] | None = None

    def person(
        self, psn_no: str, gend: str = "1", brdy: str = "1970-01-01", dead: str | None = None
    ) -> None:
        self.persons[psn_no] = {
            "psn_no": psn_no,
            "gend": gend,
            "brdy": ts(brdy),
            "insutype": "310",
            "insuplc_admdvs": "440100",
            "dead_date": ts(dead) if dead else pd.NaT,
        }

    def visit(
        self,
        mdtrt_id: str,
        psn_no: str = "P1",
        inst: str = "H1",
        med_type: str = "11",
        begin: str = "2024-03-01",
        end: str | None = None,
        time: str | None = None,
        medfee: float = 100.0,
        fund: float | None = None,
        dise: str = "K29",
        doctor: str = "D1",
        setl_id: str | None = None,
        refund: str = "0",
    ) -> str:
        """Add one settlement (a visit, or one settlement of a stay); return its setl_id."""
        if psn_no not in self.persons:
            self.person(psn_no)
        setl_id = setl_id or f"S{len(self.settlements) + 1}"
        end = end or begin
        self.settlements.append(
            {
                "setl_id": setl_id,
                "mdtrt_id": mdtrt_id,
                "psn_no": psn_no,
                "fixmedins_code": inst,
                "med_type": med_type,
                "begndate": ts(begin),
                "enddate": ts(end),
                "setl_time": ts(time) if time else ts(end) + pd.Timedelta(hours=10),
                "medfee_sumamt": medfee,
                "hifp_pay": fund if fund is not None else medfee * 0.7,
                "fund_pay_sumamt": fund if fund is not None else medfee * 0.7,
                "acct_pay": 0.0,
                "psn_cash_pay": medfee * 0.3,
                "dise_codg": dise,
                "atddr_no": doctor,
                "mdtrt_cert_type": "03",
                "refd_setl_flag": refund,
            }
        )
        return setl_id

    def fee(
        self,
        setl_id: str,
        day: str,
        item: str,
        chrg: str,
        cnt: float = 1.0,
        pric: float = 10.0,
        prd_days: float = np.nan,
        doctor: str = "D1",
        list_type: str | None = None,
    ) -> None:
        setl = next(s for s in self.settlements if s["setl_id"] == setl_id)
        if list_type is None:
            list_type = {"09": "101", "11": "101", "10": "102", "08": "301"}.get(chrg, "201")
        self.fees.append(
            {
                "feedetl_sn": f"F{next(_SN)}",
                "setl_id": setl_id,
                "mdtrt_id": setl["mdtrt_id"],
                "fee_ocur_time": ts(day) + pd.Timedelta(hours=9),
                "hilist_code": item,
                "hilist_name": item,
                "list_type": list_type,
                "med_chrgitm_type": chrg,
                "cnt": cnt,
                "pric": pric,
                "det_item_fee_sumamt": cnt * pric,
                "bilg_dr_codg": doctor,
                "prd_days": prd_days,
            }
        )

    def stay(
        self,
        mdtrt_id: str,
        begin: str,
        end: str,
        psn_no: str = "P1",
        inst: str = "H1",
        empty: tuple[str, ...] = (),
        dise: str = "K29",
        medfee: float | None = None,
        exam_only: bool = False,
    ) -> str:
        """An inpatient stay with a bed fee every day and care on every day not in ``empty``."""
        days = pd.date_range(begin, end, freq="D")
        fee = medfee if medfee is not None else 300.0 * len(days)
        setl_id = self.visit(
            mdtrt_id, psn_no, inst, "21", begin, end, medfee=fee, dise=dise, doctor="D9"
        )
        for d in days:
            day = d.strftime("%Y-%m-%d")
            self.fee(setl_id, day, "BED01", "01", pric=50.0, doctor="D9")
            if day not in empty:
                if exam_only:
                    self.fee(setl_id, day, "CT001", "03", pric=250.0, doctor="D9")
                else:
                    self.fee(setl_id, day, "NUR01", "07", pric=50.0, doctor="D9")
                    self.fee(setl_id, day, "DRG01", "09", pric=20.0, doctor="D9")
        return setl_id

    def dataset(self, with_catalog: bool = True) -> Dataset:
        inst = pd.DataFrame(
            [
                {
                    "fixmedins_code": code,
                    "fixmedins_name": f"Institution {code}",
                    "fixmedins_type": t,
                    "hosp_lv": lv,
                    "admdvs": ad,
                    "lat": lat,
                    "lon": lon,
                    "aprv_bed_cnt": beds,
                }
                for code, (t, lv, ad, lat, lon, beds) in INSTITUTIONS.items()
            ]
        )
        fees = pd.DataFrame(self.fees) if self.fees else _empty_fees()
        catalog = None
        if with_catalog:
            catalog = pd.DataFrame(self.catalog or [_catalog_row("BED01", "201")])
            for c in ("lmt_gend", "bundle_code"):
                catalog[c] = catalog.get(c, pd.Series(pd.NA, index=catalog.index)).astype("string")
            for c in ("lmt_age_min", "lmt_age_max", "max_prd_days", "max_daily_cnt"):
                catalog[c] = catalog.get(c, pd.Series(np.nan, index=catalog.index)).astype(
                    "float64"
                )
        return Dataset(
            settlements=_typed(pd.DataFrame(self.settlements)),
            fee_details=_typed(fees),
            persons=_typed(pd.DataFrame(list(self.persons.values()))),
            institutions=_typed(inst),
            catalog=_typed(catalog) if catalog is not None else None,
        )

    def limit(self, item: str, list_type: str = "101", **limits: object) -> None:
        """Declare a catalogue item with limits (lmt_gend, max_prd_days, bundle_code ...)."""
        self.catalog = [
            row
            for row in (self.catalog or [_catalog_row("BED01", "201")])
            if row["hilist_code"] != item
        ]
        self.catalog.append({**_catalog_row(item, list_type), **limits})


def _catalog_row(item: str, list_type: str) -> dict[str, object]:
    return {"hilist_code": item, "hilist_name": item, "list_type": list_type}


def _empty_fees() -> pd.DataFrame:
    cols = [
        "feedetl_sn", "setl_id", "mdtrt_id", "fee_ocur_time", "hilist_code", "hilist_name",
        "list_type", "med_chrgitm_type", "cnt", "pric", "det_item_fee_sumamt", "bilg_dr_codg",
        "prd_days",
    ]  # fmt: skip
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Codes as strings, dates as datetime64[ns], numbers as float64 (as intake gives them)."""
    out = frame.copy()
    for c in out.columns:
        if c in ("fee_ocur_time", "begndate", "enddate", "setl_time", "brdy", "dead_date"):
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
        elif c in (
            "cnt", "pric", "det_item_fee_sumamt", "prd_days", "medfee_sumamt", "hifp_pay",
            "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "lat", "lon", "aprv_bed_cnt",
            "lmt_age_min", "lmt_age_max", "max_prd_days", "max_daily_cnt",
        ):  # fmt: skip
            out[c] = pd.to_numeric(out[c]).astype("float64")
        else:
            out[c] = out[c].astype("string")
    return out


@pytest.fixture
def world() -> World:
    return World()
