"""The JSON the service reads and writes: the contract's columns, typed, and the answers.

Requests carry the columns of ``shared/spec/settlement-data.md`` under their contract
names. Codes are strings (``"21"``, never ``21``: a number would lose leading zeros);
dates are ``yyyy-MM-dd``, datetimes ``yyyy-MM-dd HH:mm:ss``; money is a number of yuan.
A missing required column or a wrong type is a 400 that names the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from settlements.schema import FEE_DETAILS, INSTITUTIONS, PERSONS, SETTLEMENTS, Table

MAX_FEE_LINES = 5_000
"""Most fee lines one settlement may carry in a request (a year's stay is well below)."""
MAX_BATCH = 1_000
"""Most settlements one /score request may carry; the service batches requests further."""

Code = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Money = Annotated[float, Field(allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FeeLineIn(_Row):
    """One fee line (费用明细, 5204) of the settlement."""

    feedetl_sn: Code
    setl_id: Code
    mdtrt_id: Code
    fee_ocur_time: dt.datetime
    hilist_code: Code
    hilist_name: StrictStr | None = None
    list_type: Code
    med_chrgitm_type: Code
    cnt: Number
    pric: Number
    det_item_fee_sumamt: Money
    bilg_dr_codg: Code
    prd_days: Number | None = None


class SettlementFields(_Row):
    """One settlement (结算信息, 5203)."""

    setl_id: Code
    mdtrt_id: Code
    psn_no: Code
    fixmedins_code: Code
    med_type: Code
    begndate: dt.date
    enddate: dt.date
    setl_time: dt.datetime
    medfee_sumamt: Money
    hifp_pay: Money
    fund_pay_sumamt: Money
    acct_pay: Money
    psn_cash_pay: Money
    dise_codg: Code
    atddr_no: Code | None = None
    mdtrt_cert_type: Code | None = None
    refd_setl_flag: Code | None = None


class PersonFields(_Row):
    """The insured person (参保人员, 1101), without direct identifiers (they are ignored)."""

    psn_no: Code
    gend: Code
    brdy: dt.date
    insutype: Code
    insuplc_admdvs: Code
    dead_date: dt.date | None = None


class InstitutionFields(_Row):
    """The designated institution (定点医药机构, 1201)."""

    fixmedins_code: Code
    fixmedins_name: StrictStr
    fixmedins_type: Code
    hosp_lv: Code | None = None
    admdvs: Code
    uscc: Code | None = None
    lat: Number | None = None
    lon: Number | None = None
    aprv_bed_cnt: Number | None = None


class SettlementIn(BaseModel):
    """A settlement with its fee lines, its insured person and its institution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settlement: SettlementFields
    fee_details: list[FeeLineIn] = Field(default_factory=list, max_length=MAX_FEE_LINES)
    person: PersonFields
    institution: InstitutionFields

    @model_validator(mode="after")
    def _belongs_together(self) -> SettlementIn:
        setl_id = self.settlement.setl_id
        strays = {f.setl_id for f in self.fee_details if f.setl_id != setl_id}
        if strays:
            raise ValueError(
                f"fee_details carry setl_id {sorted(strays)[0]!r}, not the settlement's "
                f"{setl_id!r}: send each settlement with its own fee lines"
            )
        if self.person.psn_no != self.settlement.psn_no:
            raise ValueError("person.psn_no differs from settlement.psn_no")
        if self.institution.fixmedins_code != self.settlement.fixmedins_code:
            raise ValueError("institution.fixmedins_code differs from settlement.fixmedins_code")
        if self.settlement.enddate < self.settlement.begndate:
            raise ValueError("settlement.enddate is before settlement.begndate")
        return self


class PatternScore(BaseModel):
    """The settlement's visit's (or person's) score for one pattern."""

    subject_type: str = Field(description="visit (the settlement's stay) or person.")
    pattern: str
    score: float = Field(description="Calibrated probability of confirmation, 0 to 1.")


class FlagOut(BaseModel):
    """A rule that fired, with its plain-language explanation for the inspector."""

    subject_type: str
    feature: str
    pattern: str
    explanation: str
    evidence: str = ""


class CheckResult(BaseModel):
    """The answer for one settlement: scores, flags and what to do."""

    setl_id: str
    recommendation: Literal["pass", "review", "invalid"] = Field(
        description="review when any pattern's score reaches the review threshold; invalid "
        "when the settlement breaks the data contract (see problems; /score only, /check "
        "answers 400)."
    )
    scores: list[PatternScore] = Field(default_factory=list)
    flags: list[FlagOut] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    model_version: str


CONTRACT_MODELS: dict[str, tuple[Table, type[_Row]]] = {
    "settlements": (SETTLEMENTS, SettlementFields),
    "fee_details": (FEE_DETAILS, FeeLineIn),
    "persons": (PERSONS, PersonFields),
    "institutions": (INSTITUTIONS, InstitutionFields),
}
"""Each request row model with the contract table it mirrors (a test keeps them in step)."""


def _frame(rows: list[_Row], table: Table, model: type[_Row]) -> pd.DataFrame:
    """Rows as a frame with the contract's columns and dtypes (codes as strings)."""
    names = [c for c in table.column_names if c in model.model_fields]
    frame = pd.DataFrame.from_records([r.model_dump() for r in rows], columns=names)
    for column in table.columns:
        if column.name not in names:
            continue
        if column.kind == "str":
            frame[column.name] = frame[column.name].astype("string")
        elif column.kind in ("date", "datetime"):
            frame[column.name] = pd.to_datetime(frame[column.name]).astype("datetime64[ns]")
        else:
            frame[column.name] = frame[column.name].astype("float64")
    return frame


def to_frames(items: list[SettlementIn]) -> dict[str, pd.DataFrame]:
    """The request's settlements, fee lines, persons and institutions as contract frames.

    Persons and institutions are de-duplicated by key.
    """
    persons = {i.person.psn_no: i.person for i in items}
    institutions = {i.institution.fixmedins_code: i.institution for i in items}
    return {
        "settlements": _frame([i.settlement for i in items], SETTLEMENTS, SettlementFields),
        "fee_details": _frame([f for i in items for f in i.fee_details], FEE_DETAILS, FeeLineIn),
        "persons": _frame(list(persons.values()), PERSONS, PersonFields),
        "institutions": _frame(list(institutions.values()), INSTITUTIONS, InstitutionFields),
    }
