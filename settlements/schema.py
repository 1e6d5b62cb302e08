"""The settlement data contract (``shared/spec/settlement-data.md``) as declared values.

Every reader, validator, generator and importer works from these declarations, so a
change to the contract is made here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["str", "date", "datetime", "money", "number"]


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    kind: ColumnKind
    required: bool = True
    codes: frozenset[str] | None = None
    """The known codes of a coded column; ``None`` when any value is allowed."""
    identifier: bool = False
    """A direct personal identifier: pseudonymised at intake, never leaves it in clear."""


@dataclass(frozen=True)
class Table:
    """One table of a dataset directory."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = True
    description: str = ""
    references: dict[str, str] = field(default_factory=dict)
    """Foreign keys: column -> table whose key it must match."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


MED_TYPES = frozenset(
    {
        "11",  # general outpatient
        "12",  # outpatient registration
        "13",  # emergency
        "14",  # chronic / special outpatient
        "15",  # outpatient surgery (day case)
        "16",  # outpatient maternity
        "19",  # other outpatient
        "21",  # general inpatient
        "22",  # outpatient-to-inpatient transfer
        "23",  # day surgery inpatient
        "24",  # inpatient maternity
        "29",  # other inpatient
        "41",  # pharmacy purchase
        "51",  # maternity
        "99",  # other
    }
)
OUTPATIENT_MED_TYPES = frozenset({"11", "12", "13", "14", "15", "16", "19"})
INPATIENT_MED_TYPES = frozenset({"21", "22", "23", "24", "29"})
PHARMACY_MED_TYPES = frozenset({"41"})
EMERGENCY_MED_TYPES = frozenset({"13"})
CHRONIC_MED_TYPES = frozenset({"14"})

LIST_TYPES = frozenset({"101", "102", "201", "301"})
CHARGE_ITEM_TYPES = frozenset({f"{i:02d}" for i in range(1, 15)})
"""01 bed, 02 consultation, 03 examination, 04 lab test, 05 treatment, 06 surgery,
07 nursing, 08 materials, 09 Western drug, 10 herbal pieces, 11 patent drug,
12 general care, 13 registration, 14 other."""
SUBSTANTIVE_CHARGE_ITEMS = frozenset({"03", "04", "05", "06", "07", "09", "10", "11"})
"""Items that show a patient was actually treated (exam, lab, treatment, surgery,
nursing, drugs): a stay day with only a bed fee and none of these is an empty day."""
DRUG_CHARGE_ITEMS = frozenset({"09", "10", "11"})
CERT_TYPES = frozenset({"01", "02", "03"})
REFUND_FLAGS = frozenset({"0", "1"})
GENDERS = frozenset({"0", "1", "2", "9"})
INSTITUTION_TYPES = frozenset({"1", "2"})
SUBJECT_TYPES = frozenset({"visit", "person", "institution", "doctor"})
PATTERNS = frozenset({"bed_hanging", "split_billing", "card_lending", "over_prescription", "other"})
OUTCOMES = frozenset({"confirmed", "rejected"})

SETTLEMENTS = Table(
    name="settlements",
    description="结算信息 — one row per settlement (5203)",
    key=("setl_id",),
    references={"psn_no": "persons", "fixmedins_code": "institutions"},
    columns=(
        Column("setl_id", "str"),
        Column("mdtrt_id", "str"),
        Column("psn_no", "str"),
        Column("fixmedins_code", "str"),
        Column("med_type", "str", codes=MED_TYPES),
        Column("begndate", "date"),
        Column("enddate", "date"),
        Column("setl_time", "datetime"),
        Column("medfee_sumamt", "money"),
        Column("hifp_pay", "money"),
        Column("fund_pay_sumamt", "money"),
        Column("acct_pay", "money"),
        Column("psn_cash_pay", "money"),
        Column("dise_codg", "str"),
        Column("atddr_no", "str", required=False),
        Column("mdtrt_cert_type", "str", required=False, codes=CERT_TYPES),
        Column("refd_setl_flag", "str", required=False, codes=REFUND_FLAGS),
    ),
)

FEE_DETAILS = Table(
    name="fee_details",
    description="费用明细 — one row per charged item (5204)",
    key=("setl_id", "feedetl_sn"),
    references={"setl_id": "settlements"},
    columns=(
        Column("feedetl_sn", "str"),
        Column("setl_id", "str"),
        Column("mdtrt_id", "str"),
        Column("fee_ocur_time", "datetime"),
        Column("hilist_code", "str"),
        Column("hilist_name", "str", required=False),
        Column("list_type", "str", codes=LIST_TYPES),
        Column("med_chrgitm_type", "str", codes=CHARGE_ITEM_TYPES),
        Column("cnt", "number"),
        Column("pric", "number"),
        Column("det_item_fee_sumamt", "money"),
        Column("bilg_dr_codg", "str"),
        Column("prd_days", "number", required=False),
    ),
)

PERSONS = Table(
    name="persons",
    description="参保人员 (1101)",
    key=("psn_no",),
    columns=(
        Column("psn_no", "str"),
        Column("gend", "str", codes=GENDERS),
        Column("brdy", "date"),
        Column("insutype", "str"),
        Column("insuplc_admdvs", "str"),
        Column("certno", "str", required=False, identifier=True),
        Column("psn_name", "str", required=False, identifier=True),
        Column("dead_date", "date", required=False),
    ),
)

INSTITUTIONS = Table(
    name="institutions",
    description="定点医药机构 (1201)",
    key=("fixmedins_code",),
    columns=(
        Column("fixmedins_code", "str"),
        Column("fixmedins_name", "str"),
        Column("fixmedins_type", "str", codes=INSTITUTION_TYPES),
        Column("hosp_lv", "str", required=False),
        Column("admdvs", "str"),
        Column("uscc", "str", required=False),
        Column("lat", "number", required=False),
        Column("lon", "number", required=False),
        Column("aprv_bed_cnt", "number", required=False),
    ),
)

CATALOG = Table(
    name="catalog",
    description="目录与知识库 — limits per catalogue item",
    key=("hilist_code",),
    required=False,
    columns=(
        Column("hilist_code", "str"),
        Column("hilist_name", "str"),
        Column("list_type", "str", codes=LIST_TYPES),
        Column("lmt_gend", "str", required=False, codes=frozenset({"1", "2"})),
        Column("lmt_age_min", "number", required=False),
        Column("lmt_age_max", "number", required=False),
        Column("max_prd_days", "number", required=False),
        Column("max_daily_cnt", "number", required=False),
        Column("bundle_code", "str", required=False),
    ),
)

LABELS = Table(
    name="labels",
    description="核查结论 — verification outcomes",
    key=("subject_type", "subject_id", "pattern"),
    required=False,
    columns=(
        Column("subject_type", "str", codes=SUBJECT_TYPES),
        Column("subject_id", "str"),
        Column("pattern", "str", codes=PATTERNS),
        Column("outcome", "str", codes=OUTCOMES),
        Column("decided_on", "date", required=False),
    ),
)

LEADS = Table(
    name="leads",
    description="线索 — what scoring writes",
    key=("subject_type", "subject_id", "pattern"),
    required=False,
    columns=(
        Column("subject_type", "str", codes=SUBJECT_TYPES),
        Column("subject_id", "str"),
        Column("pattern", "str", codes=PATTERNS),
        Column("score", "number"),
        Column("rank", "number"),
        Column("amount_at_risk", "money"),
        Column("reasons", "str"),
        Column("evidence", "str"),
        Column("model_version", "str"),
    ),
)

INPUT_TABLES: tuple[Table, ...] = (SETTLEMENTS, FEE_DETAILS, PERSONS, INSTITUTIONS, CATALOG, LABELS)
TABLES: dict[str, Table] = {t.name: t for t in (*INPUT_TABLES, LEADS)}
