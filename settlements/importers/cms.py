"""Import the public Medicare provider-fraud claims (CMS files) into the settlement contract.

The source is the "Healthcare Provider Fraud Detection Analysis" dataset: claim files
(inpatient, optionally outpatient), a beneficiary file and provider-level labels. Each
claim becomes one settlement of one visit, each beneficiary a person, each provider an
institution and each provider label an institution-level ``other`` label. The mapping
decisions are documented in ``docs/cms-import.md``; every source row is accounted for
(read = written + skipped, with a reason per skipped row).

The importer converts; it does not validate the contract. Rows it can represent (even a
discharge before admission) are written and left to intake validation to quarantine; rows
it cannot represent (no key, a duplicate key, an unreadable date or amount) are skipped
and listed in ``skipped`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from settlements.dataset import Dataset
from settlements.errors import InputError
from settlements.progress import Track, no_track
from settlements.schema import INPUT_TABLES

INPATIENT_MED_TYPE = "21"
OUTPATIENT_MED_TYPE = "11"
INSUTYPE = "310"
"""Medicare Part A is funded by payroll contributions, like the employee basic scheme (310)."""
UNKNOWN_ADMDVS = "000000"
"""Region code of a person without a beneficiary record or an institution without persons."""
STAY_ITEM_TYPE = "14"
"""The claim-total line is charge type 14 (other): the source has no itemised charges, and
calling it a bed fee (01) would invent empty bed days for the bed-hanging signals."""
PROCEDURE_ITEM_TYPE = "06"
CONSULTATION_ITEM_TYPE = "02"
SERVICE_LIST_TYPE = "201"
UNSPECIFIED_PROCEDURE = "PROC-UNSPECIFIED"
CONSULTATION_CODE = "CONSULT-OTHER"
DIAGNOSIS_COLUMNS = tuple(f"ClmDiagnosisCode_{i}" for i in range(1, 11))
PROCEDURE_COLUMNS = tuple(f"ClmProcedureCode_{i}" for i in range(1, 7))
CLAIM_KEYS = ("ClaimID", "BeneID", "Provider")
NA_VALUES = ["NA", ""]

SETTLEMENT_COLUMNS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "med_type",
    "begndate",
    "enddate",
    "setl_time",
    "medfee_sumamt",
    "hifp_pay",
    "fund_pay_sumamt",
    "acct_pay",
    "psn_cash_pay",
    "dise_codg",
    "atddr_no",
    "refd_setl_flag",
    "adm_dise_codg",
    "dise_codg_other",
    "drg_codg",
)
FEE_COLUMNS = (
    "feedetl_sn",
    "setl_id",
    "mdtrt_id",
    "fee_ocur_time",
    "hilist_code",
    "hilist_name",
    "list_type",
    "med_chrgitm_type",
    "cnt",
    "pric",
    "det_item_fee_sumamt",
    "bilg_dr_codg",
)


@dataclass(frozen=True)
class CmsFiles:
    """The source files found in a CMS dataset directory."""

    inpatient: tuple[Path, ...]
    outpatient: tuple[Path, ...]
    beneficiaries: tuple[Path, ...]
    labels: Path | None


@dataclass(frozen=True)
class TableCount:
    """How the rows of one source became rows of one contract table."""

    source: str
    table: str
    read: int
    written: int
    skipped: Mapping[str, int] = field(default_factory=dict)
    """Reason -> source rows not written for it."""
    added: Mapping[str, int] = field(default_factory=dict)
    """Reason -> rows written that no source row of this table gave (e.g. placeholders)."""

    @property
    def reconciles(self) -> bool:
        """``read + added = written + skipped``."""
        return self.read + sum(self.added.values()) == self.written + sum(self.skipped.values())


@dataclass(frozen=True)
class ImportResult:
    """The converted dataset, its reconciliation and the skipped source rows."""

    dataset: Dataset
    counts: tuple[TableCount, ...]
    skipped: pd.DataFrame
    """One row per skipped source row: ``source``, ``line`` (1-based, header = 1), ``key``,
    ``reason``."""


def find_cms_files(src: Path, *, include_test: bool = True) -> CmsFiles:
    """The claim, beneficiary and label files of ``src``; ``InputError`` when unusable."""
    if not src.is_dir():
        raise InputError(f"{src} is not a directory: pass the medicare-provider-fraud folder")

    def glob(pattern: str) -> tuple[Path, ...]:
        found = [p for p in src.glob(pattern) if include_test or p.name.startswith("Train")]
        return tuple(sorted(found, key=lambda p: (not p.name.startswith("Train"), p.name)))

    inpatient = glob("*_Inpatientdata*.csv*")
    outpatient = glob("*_Outpatientdata*.csv*")
    beneficiaries = glob("*_Beneficiarydata*.csv*")
    if not inpatient and not outpatient:
        raise InputError(
            f"{src} has no *_Inpatientdata*.csv(.gz) or *_Outpatientdata*.csv(.gz) file: "
            "pass the folder holding the CMS claim files"
        )
    if not beneficiaries:
        raise InputError(f"{src} has no *_Beneficiarydata*.csv(.gz) file: add it and rerun")
    labels = sorted(src.glob("Train-labels*.csv")) or sorted(
        p for p in src.glob("Train-*.csv") if "data" not in p.name.lower()
    )
    return CmsFiles(inpatient, outpatient, beneficiaries, labels[0] if labels else None)


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A source file as strings, ``NA`` and empty as missing."""
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=NA_VALUES, skipinitialspace=True
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read {path.name}: {first}") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{path.name} lacks the column(s) {', '.join(missing)}: is it a CMS file?")
    frame["_source"] = path.name
    frame["_line"] = np.arange(2, len(frame) + 2)
    return frame


def _strip_float_suffix(codes: pd.Series) -> pd.Series:
    """Codes written as ``4019.0`` by some mirrors: drop the spurious ``.0``, keep the rest."""
    return codes.str.strip().str.replace(r"\.0$", "", regex=True)


def _date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")


def _money(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64")


class _Skips:
    """Collects skipped source rows with their reasons."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def take(self, frame: pd.DataFrame, bad: pd.Series, key: str, reason: str) -> pd.DataFrame:
        """Record the ``bad`` rows of ``frame`` and return the others."""
        if bad.any():
            rows = frame.loc[bad]
            self.parts.append(
                pd.DataFrame(
                    {
                        "source": rows["_source"].to_numpy(),
                        "line": rows["_line"].to_numpy(),
                        "key": rows[key].to_numpy() if key in rows else pd.NA,
                        "reason": reason,
                    }
                )
            )
        return frame.loc[~bad]

    def frame(self) -> pd.DataFrame:
        columns = ["source", "line", "key", "reason"]
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype="string") for c in columns}).astype(
                {"line": "int64"}
            )
        return pd.concat(self.parts, ignore_index=True).astype(
            {"source": "string", "key": "string", "reason": "string", "line": "int64"}
        )

    def reasons(self, sources: set[str], since: int = 0) -> dict[str, int]:
        parts = [p for p in self.parts[since:] if p["source"].isin(sources).any()]
        if not parts:
            return {}
        counts = pd.concat(parts)["reason"].value_counts(sort=False)
        return {str(reason): int(n) for reason, n in counts.items()}


def _read_claims(
    files: CmsFiles, skips: _Skips, track: Track
) -> tuple[pd.DataFrame, dict[str, int]]:
    """All claim rows that can be represented, tagged with their med_type; rows read per file."""
    parts = []
    read: dict[str, int] = {}
    sources = [(p, INPATIENT_MED_TYPE) for p in files.inpatient] + [
        (p, OUTPATIENT_MED_TYPE) for p in files.outpatient
    ]
    for path, med_type in track(sources, "reading claims", total=len(sources)):
        frame = _read(path, (*CLAIM_KEYS, "ClaimStartDt", "ClaimEndDt", "InscClaimAmtReimbursed"))
        frame["_med_type"] = med_type
        read[path.name] = len(frame)
        parts.append(frame)
    claims = pd.concat(parts, ignore_index=True)
    for c in (
        *DIAGNOSIS_COLUMNS,
        *PROCEDURE_COLUMNS,
        "ClmAdmitDiagnosisCode",
        "DiagnosisGroupCode",
    ):
        if c not in claims:
            claims[c] = pd.Series(pd.NA, index=claims.index, dtype="string")
        claims[c] = _strip_float_suffix(claims[c].astype("string"))
    for c in ("AttendingPhysician", "OperatingPhysician", "OtherPhysician", "DeductibleAmtPaid"):
        if c not in claims:
            claims[c] = pd.Series(pd.NA, index=claims.index, dtype="string")
        claims[c] = claims[c].astype("string").str.strip()
    for c in CLAIM_KEYS:
        claims[c] = claims[c].astype("string").str.strip()

    no_key = claims[list(CLAIM_KEYS)].isna().any(axis=1)
    claims = skips.take(claims, no_key, "ClaimID", "missing ClaimID, BeneID or Provider")
    claims = skips.take(
        claims, claims["ClaimID"].duplicated(), "ClaimID", "duplicate ClaimID (first kept)"
    )
    start_source = claims["AdmissionDt"] if "AdmissionDt" in claims else claims["ClaimStartDt"]
    end_source = claims["DischargeDt"] if "DischargeDt" in claims else claims["ClaimEndDt"]
    claims["_begn"] = _date(start_source.fillna(claims["ClaimStartDt"]))
    claims["_end"] = _date(end_source.fillna(claims["ClaimEndDt"]))
    claims["_setl"] = _date(claims["ClaimEndDt"]).fillna(claims["_end"])
    claims = skips.take(
        claims,
        claims[["_begn", "_end"]].isna().any(axis=1),
        "ClaimID",
        "unreadable admission/discharge (or claim start/end) date",
    )
    claims["_fund"] = _money(claims["InscClaimAmtReimbursed"])
    deductible = claims["DeductibleAmtPaid"]
    claims["_cash"] = _money(deductible).fillna(0.0)
    bad_amount = claims["_fund"].isna() | (deductible.notna() & _money(deductible).isna())
    claims = skips.take(
        claims, bad_amount, "ClaimID", "unreadable InscClaimAmtReimbursed or DeductibleAmtPaid"
    )
    return claims, read


def _settlements(claims: pd.DataFrame) -> pd.DataFrame:
    """One settlement per claim: the claim is both the settlement and the visit."""
    diagnosis = claims["ClmDiagnosisCode_1"].fillna(claims["ClmAdmitDiagnosisCode"])
    others = claims[list(DIAGNOSIS_COLUMNS[1:])]
    other_codes = others.apply(lambda col: col.where(col.isna(), "|" + col)).fillna("")
    other_joined = other_codes.sum(axis=1).str.lstrip("|").replace("", pd.NA)
    frame = pd.DataFrame(
        {
            "setl_id": claims["ClaimID"],
            "mdtrt_id": claims["ClaimID"],
            "psn_no": claims["BeneID"],
            "fixmedins_code": claims["Provider"],
            "med_type": claims["_med_type"],
            "begndate": claims["_begn"],
            "enddate": claims["_end"],
            "setl_time": claims["_setl"],
            "medfee_sumamt": claims["_fund"] + claims["_cash"],
            "hifp_pay": claims["_fund"],
            "fund_pay_sumamt": claims["_fund"],
            "acct_pay": 0.0,
            "psn_cash_pay": claims["_cash"],
            "dise_codg": diagnosis,
            "atddr_no": claims["AttendingPhysician"],
            "refd_setl_flag": "0",
            "adm_dise_codg": claims["ClmAdmitDiagnosisCode"],
            "dise_codg_other": other_joined,
            "drg_codg": claims["DiagnosisGroupCode"],
        }
    )
    strings = [c for c in SETTLEMENT_COLUMNS if frame[c].dtype != "float64" and "date" not in c]
    strings = [c for c in strings if c != "setl_time"]
    return frame.astype(dict.fromkeys(strings, "string")).reset_index(drop=True)


def _fee_details(claims: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fee lines: one claim-total line per claim, then one zero-amount line per procedure code
    (surgery, by the operating physician) and one for the other physician (consultation).

    Lines of one claim add up to its ``medfee_sumamt``: the total line carries it all.
    """
    doctor = (
        claims["AttendingPhysician"]
        .fillna(claims["OperatingPhysician"])
        .fillna(claims["OtherPhysician"])
    )
    surgeon = claims["OperatingPhysician"].fillna(doctor)
    when = claims["_begn"]
    total = claims["_fund"] + claims["_cash"]
    drg = claims["DiagnosisGroupCode"]
    base = pd.DataFrame(
        {
            "setl_id": claims["ClaimID"],
            "mdtrt_id": claims["ClaimID"],
            "fee_ocur_time": when,
            "hilist_code": ("DRG" + drg).fillna("CLAIM-TOTAL"),
            "hilist_name": ("claim total, DRG " + drg).fillna("claim total"),
            "list_type": SERVICE_LIST_TYPE,
            "med_chrgitm_type": STAY_ITEM_TYPE,
            "cnt": 1.0,
            "pric": total,
            "det_item_fee_sumamt": total,
            "bilg_dr_codg": doctor,
            "_order": 0,
        }
    )
    procedures = claims[["ClaimID", *PROCEDURE_COLUMNS]].melt(
        id_vars="ClaimID", var_name="_slot", value_name="hilist_code"
    )
    procedures = procedures.dropna(subset=["hilist_code"])
    procedures["_order"] = procedures["_slot"].str.rsplit("_", n=1).str[1].astype("int64")
    has_procedure = claims["ClaimID"].isin(procedures["ClaimID"])
    unspecified = claims.loc[claims["OperatingPhysician"].notna() & ~has_procedure, ["ClaimID"]]
    unspecified = unspecified.assign(hilist_code=UNSPECIFIED_PROCEDURE, _order=1)
    surgery = pd.concat([procedures.drop(columns="_slot"), unspecified], ignore_index=True)
    lookup = claims.set_index("ClaimID")
    surgery = surgery.assign(
        setl_id=surgery["ClaimID"],
        mdtrt_id=surgery["ClaimID"],
        fee_ocur_time=surgery["ClaimID"].map(lookup["_begn"]),
        hilist_name="procedure (ICD-9-CM vol. 3 code as in source)",
        list_type=SERVICE_LIST_TYPE,
        med_chrgitm_type=PROCEDURE_ITEM_TYPE,
        cnt=1.0,
        pric=0.0,
        det_item_fee_sumamt=0.0,
        bilg_dr_codg=surgery["ClaimID"].map(surgeon.set_axis(claims["ClaimID"])),
    ).drop(columns="ClaimID")
    consult = claims.loc[claims["OtherPhysician"].notna()]
    consult = pd.DataFrame(
        {
            "setl_id": consult["ClaimID"],
            "mdtrt_id": consult["ClaimID"],
            "fee_ocur_time": consult["_begn"],
            "hilist_code": CONSULTATION_CODE,
            "hilist_name": "other physician on the claim",
            "list_type": SERVICE_LIST_TYPE,
            "med_chrgitm_type": CONSULTATION_ITEM_TYPE,
            "cnt": 1.0,
            "pric": 0.0,
            "det_item_fee_sumamt": 0.0,
            "bilg_dr_codg": consult["OtherPhysician"],
            "_order": 7,
        }
    )
    lines = pd.concat([base, surgery, consult], ignore_index=True)
    lines = lines.sort_values(["setl_id", "_order"], kind="stable")
    lines["feedetl_sn"] = (lines.groupby("setl_id").cumcount() + 1).astype("string")
    lines = lines.loc[:, list(FEE_COLUMNS)].reset_index(drop=True)
    strings = [
        "feedetl_sn",
        "setl_id",
        "mdtrt_id",
        "hilist_code",
        "hilist_name",
        "list_type",
        "med_chrgitm_type",
        "bilg_dr_codg",
    ]
    lines = lines.astype(dict.fromkeys(strings, "string")).astype(
        {"fee_ocur_time": "datetime64[ns]", "cnt": "float64", "pric": "float64"}
    )
    lines["det_item_fee_sumamt"] = lines["det_item_fee_sumamt"].astype("float64")
    derived = {
        "claim-total lines (one per claim)": len(base),
        "procedure lines (one per procedure code)": len(procedures),
        "unspecified-procedure lines (operating physician, no code)": len(unspecified),
        "consultation lines (other physician)": len(consult),
    }
    return lines, derived


def _persons(
    files: CmsFiles, claims: pd.DataFrame, skips: _Skips, track: Track
) -> tuple[pd.DataFrame, int, int]:
    """Beneficiaries as persons, plus a placeholder for each claimant without a record."""
    parts = [
        _read(p, ("BeneID", "DOB", "Gender"))
        for p in track(files.beneficiaries, "reading beneficiaries")
    ]
    bene = pd.concat(parts, ignore_index=True)
    read = len(bene)
    bene["BeneID"] = bene["BeneID"].astype("string").str.strip()
    bene = skips.take(bene, bene["BeneID"].isna(), "BeneID", "missing BeneID")
    bene = skips.take(bene, bene["BeneID"].duplicated(), "BeneID", "duplicate BeneID (first kept)")
    for c in ("State", "County", "DOD"):
        if c not in bene:
            bene[c] = pd.Series(pd.NA, index=bene.index, dtype="string")
    state = pd.to_numeric(bene["State"], errors="coerce")
    county = pd.to_numeric(bene["County"], errors="coerce")
    known = state.notna() & county.notna() & state.between(0, 99) & county.between(0, 999)
    region = (
        state.fillna(0).astype("int64").map("{:02d}".format)
        + county.fillna(0).astype("int64").map("{:03d}".format)
        + "0"
    ).where(known, UNKNOWN_ADMDVS)
    gender = bene["Gender"].astype("string").str.strip()
    persons = pd.DataFrame(
        {
            "psn_no": bene["BeneID"],
            "gend": gender.where(gender.isin(["1", "2"]), "0"),
            "brdy": _date(bene["DOB"]),
            "insutype": INSUTYPE,
            "insuplc_admdvs": region,
            "dead_date": _date(bene["DOD"]),
        }
    )
    missing = pd.Index(claims["BeneID"].unique()).difference(pd.Index(persons["psn_no"]))
    placeholders = pd.DataFrame(
        {
            "psn_no": missing.to_numpy(),
            "gend": "0",
            "brdy": pd.NaT,
            "insutype": INSUTYPE,
            "insuplc_admdvs": UNKNOWN_ADMDVS,
            "dead_date": pd.NaT,
        }
    )
    persons = pd.concat([persons, placeholders], ignore_index=True)
    persons = persons.astype(
        {
            "psn_no": "string",
            "gend": "string",
            "insutype": "string",
            "insuplc_admdvs": "string",
            "brdy": "datetime64[ns]",
            "dead_date": "datetime64[ns]",
        }
    )
    return persons, read, len(placeholders)


def _institutions(settlements: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame:
    """One institution per provider with claims, located where most of its claimants live:
    the most frequent state (2 digits) of its claims' persons, then the most frequent county
    within that state; ``000000`` when none of its claimants has a known region."""
    region = settlements[["fixmedins_code", "psn_no"]].merge(
        persons[["psn_no", "insuplc_admdvs"]], on="psn_no", how="left"
    )
    region = region.loc[region["insuplc_admdvs"].fillna(UNKNOWN_ADMDVS) != UNKNOWN_ADMDVS]
    region = region.assign(state=region["insuplc_admdvs"].str[:2])
    state_counts = region.groupby(["fixmedins_code", "state"]).size().rename("n").reset_index()
    state_counts = state_counts.sort_values(
        ["fixmedins_code", "n", "state"], ascending=[True, False, True]
    )
    top_state = state_counts.drop_duplicates("fixmedins_code")[["fixmedins_code", "state"]]
    in_state = region.merge(top_state, on=["fixmedins_code", "state"])
    county_counts = (
        in_state.groupby(["fixmedins_code", "insuplc_admdvs"]).size().rename("n").reset_index()
    ).sort_values(["fixmedins_code", "n", "insuplc_admdvs"], ascending=[True, False, True])
    located = county_counts.drop_duplicates("fixmedins_code").set_index("fixmedins_code")
    codes = pd.Index(settlements["fixmedins_code"].unique()).sort_values()
    admdvs = located["insuplc_admdvs"].reindex(codes).fillna(UNKNOWN_ADMDVS)
    return pd.DataFrame(
        {
            "fixmedins_code": codes.to_numpy(),
            "fixmedins_name": codes.to_numpy(),
            "fixmedins_type": "1",
            "admdvs": admdvs.to_numpy(),
        }
    ).astype("string")


def _labels(path: Path, providers: pd.Index, skips: _Skips) -> tuple[pd.DataFrame, int]:
    """Provider labels as institution-level ``other`` outcomes (Yes confirmed, No rejected)."""
    raw = _read(path, ("Provider", "PotentialFraud"))
    read = len(raw)
    raw["Provider"] = raw["Provider"].astype("string").str.strip()
    verdict = raw["PotentialFraud"].astype("string").str.strip().str.lower()
    raw = raw.assign(outcome=verdict.map({"yes": "confirmed", "no": "rejected"}))
    raw = skips.take(raw, raw["Provider"].isna(), "Provider", "missing Provider")
    raw = skips.take(raw, raw["outcome"].isna(), "Provider", "PotentialFraud is neither Yes nor No")
    raw = skips.take(
        raw, raw["Provider"].duplicated(), "Provider", "duplicate Provider (first kept)"
    )
    raw = skips.take(
        raw,
        ~raw["Provider"].isin(providers),
        "Provider",
        "provider has no claims in the imported files",
    )
    labels = pd.DataFrame(
        {
            "subject_type": "institution",
            "subject_id": raw["Provider"],
            "pattern": "other",
            "outcome": raw["outcome"],
        }
    ).astype("string")
    return labels.reset_index(drop=True), read


def import_cms(src: Path, *, include_test: bool = True, track: Track = no_track) -> ImportResult:
    """Convert the CMS files of ``src`` into a contract ``Dataset`` with its reconciliation.

    ``include_test=False`` reads only the ``Train*`` files. Raises ``InputError`` when the
    folder lacks the claim or beneficiary files or a file cannot be read.
    """
    files = find_cms_files(src, include_test=include_test)
    skips = _Skips()
    claims, claims_read = _read_claims(files, skips, track)
    written = claims["_source"].value_counts()
    counts = [
        TableCount(name, "settlements", read, int(written.get(name, 0)), skips.reasons({name}))
        for name, read in claims_read.items()
    ]
    settlements = _settlements(claims)
    fee_details, derived = _fee_details(claims)
    mark = len(skips.parts)
    persons, persons_read, placeholders = _persons(files, claims, skips, track)
    person_skips = skips.reasons({p.name for p in files.beneficiaries}, since=mark)
    institutions = _institutions(settlements, persons)
    counts += [
        TableCount("claims (derived)", "fee_details", 0, len(fee_details), added=derived),
        TableCount(
            "beneficiaries",
            "persons",
            persons_read,
            len(persons),
            person_skips,
            {"placeholder for a claimant without a beneficiary record": placeholders},
        ),
        TableCount(
            "claims (distinct Provider)",
            "institutions",
            len(institutions),
            len(institutions),
        ),
    ]
    labels = None
    if files.labels is not None:
        mark = len(skips.parts)
        labels, labels_read = _labels(files.labels, pd.Index(institutions["fixmedins_code"]), skips)
        counts.append(
            TableCount(
                files.labels.name,
                "labels",
                labels_read,
                len(labels),
                skips.reasons({files.labels.name}, since=mark),
            )
        )
    dataset = Dataset(
        settlements=settlements,
        fee_details=fee_details,
        persons=persons,
        institutions=institutions,
        labels=labels,
    )
    return ImportResult(dataset=dataset, counts=tuple(counts), skipped=skips.frame())


def write_import(result: ImportResult, out: Path, fmt: str = "parquet") -> Path | None:
    """Write the dataset into ``out`` and the skipped rows beside it; the skipped file's path
    (``out/import_skipped.csv``) or ``None`` when nothing was skipped.

    Contract table files of an earlier run in ``out`` (either format) are replaced, so the
    directory holds exactly this import.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file: pass a directory to write the dataset into")
    if out.is_dir():
        for table in INPUT_TABLES:
            for suffix in (".parquet", ".csv"):
                (out / f"{table.name}{suffix}").unlink(missing_ok=True)
    result.dataset.write(out, fmt)
    target = out / "import_skipped.csv"
    if result.skipped.empty:
        target.unlink(missing_ok=True)
        return None
    result.skipped.to_csv(target, index=False)
    return target
