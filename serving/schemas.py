"""The JSON the service reads and writes: the contract's columns, typed, and the answers.

Requests carry the columns of ``shared/spec/settlement-data.md`` under their contract
names. Codes are strings (``"21"``, never ``21``: a number would lose leading zeros);
dates are ``yyyy-MM-dd``, datetimes ``yyyy-MM-dd HH:mm:ss``; money is a number of yuan.
A missing required column or a wrong type is a 400 that names the field.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, NaiveDatetime, StrictStr, model_validator

from settlements.frames import TEXT
from settlements.lone import LoneSettlement
from settlements.schema import FEE_DETAILS, INSTITUTIONS, PERSONS, SETTLEMENTS, Table

MAX_FEE_LINES = 5_000
"""Most fee lines one settlement may carry in a request (a year's stay is well below)."""
MAX_BATCH = 1_000
"""Most settlements one /score request may carry; the service batches requests further."""

Code = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Money = Annotated[float, Field(allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]
Day = Annotated[dt.date, Field(ge=dt.date(1678, 1, 1), le=dt.date(2261, 12, 31))]
"""A date (``yyyy-MM-dd``) in the range intake accepts (nanosecond timestamps)."""
Instant = Annotated[NaiveDatetime, Field(ge=dt.datetime(1678, 1, 1), le=dt.datetime(2261, 12, 31))]
"""A local date-time (``yyyy-MM-dd HH:mm:ss``, no offset: the contract's times are local),
in the range intake accepts."""


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FeeLineIn(_Row):
    """One fee line (费用明细, 5204) of the settlement."""

    feedetl_sn: Code
    setl_id: Code
    mdtrt_id: Code
    fee_ocur_time: Instant
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
    begndate: Day
    enddate: Day
    setl_time: Instant
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
    brdy: Day
    insutype: Code
    insuplc_admdvs: Code
    dead_date: Day | None = None


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
    """Rows as a frame with the contract's columns in intake's types (codes as ``str``,
    dates and date-times ``datetime64[ns]``, numbers ``float64``), built column by column
    from the values (intake's coercion then has nothing left to convert)."""
    columns: dict[str, object] = {}
    for column in table.columns:
        if column.name not in model.model_fields:
            continue
        values = [getattr(r, column.name) for r in rows]
        if column.kind == "str":
            columns[column.name] = pd.array(values, dtype=TEXT)
        elif column.kind in ("date", "datetime"):
            columns[column.name] = np.array(values, dtype="datetime64[ns]")
        else:
            columns[column.name] = np.array(values, dtype="float64")
    return pd.DataFrame(columns, copy=False)


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


@functools.cache
def _lone_columns() -> dict[str, frozenset[str]]:
    return {
        table.name: frozenset(c for c in table.column_names if c in model.model_fields)
        for table, model in CONTRACT_MODELS.values()
    }


def to_lone(item: SettlementIn) -> LoneSettlement:
    """The request's one settlement as Python values (the fast path of ``/check``): the
    same rows and columns that ``to_frames`` makes frames of."""
    return LoneSettlement(
        settlement=item.settlement.model_dump(),
        fee_lines=[f.model_dump() for f in item.fee_details],
        person=item.person.model_dump(),
        institution=item.institution.model_dump(),
        columns=_lone_columns(),
    )
