"""The shared working frames every signal reads: visits, fee lines and the small tables.

``prepare`` turns one person's (or a partition of persons', or all) settlements and fee
lines, with the broadcast small tables, into ``PersonFrames``: one row per visit with its
person and institution attributes, and fee lines carrying integer positions of their
visit, person and item so that signals group on integers rather than strings. Inputs are
never modified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.common import factorize_positions, group_sums, positions, sort_order
from settlements.errors import InputError
from settlements.schema import (
    CHRONIC_MED_TYPES,
    DRUG_CHARGE_ITEMS,
    EMERGENCY_MED_TYPES,
    INPATIENT_MED_TYPES,
    PHARMACY_MED_TYPES,
    SUBSTANTIVE_CHARGE_ITEMS,
)

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
    "fund_pay_sumamt",
    "dise_codg",
)
FEE_COLUMNS = (
    "feedetl_sn",
    "setl_id",
    "mdtrt_id",
    "fee_ocur_time",
    "hilist_code",
    "list_type",
    "med_chrgitm_type",
    "cnt",
    "pric",
    "det_item_fee_sumamt",
    "bilg_dr_codg",
)
PERSON_COLUMNS = ("psn_no", "gend", "brdy", "insuplc_admdvs")
INSTITUTION_COLUMNS = ("fixmedins_code", "fixmedins_type", "admdvs")
CATALOG_LIMITS = (
    "lmt_gend",
    "lmt_age_min",
    "lmt_age_max",
    "max_prd_days",
    "max_daily_cnt",
    "bundle_code",
)
DAY = np.timedelta64(1, "D")

_ICD9_BOUNDS = np.array([1, 140, 240, 280, 290, 320, 390, 460, 520, 580, 630, 680, 710, 740, 760])


@dataclass(frozen=True)
class PersonFrames:
    """Working frames for a set of persons (one, a partition, or all).

    ``visits`` is indexed by ``mdtrt_id``; its positional row number is the ``v`` that fee
    lines carry. ``lines`` has one row per fee line of those visits. ``item_limits`` has one
    row per ``item_i`` with the catalogue limits of the item (the ``CATALOG_LIMITS`` the
    catalogue has): ``with_limits`` puts them on the lines a signal reads, rather than
    on every fee line.
    """

    settlements: pd.DataFrame
    visits: pd.DataFrame
    lines: pd.DataFrame
    persons: pd.DataFrame
    institutions: pd.DataFrame
    catalog: pd.DataFrame | None
    item_limits: pd.DataFrame = field(default_factory=pd.DataFrame)
    _derived: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    def derived(self, name: str, build: Callable[[PersonFrames], pd.DataFrame]) -> pd.DataFrame:
        """A frame derived from these (e.g. drug lines), built once and shared by signals.
        Callers must not modify it."""
        if name not in self._derived:
            self._derived[name] = build(self)
        return self._derived[name]

    def has(self, need: str) -> bool:
        """Whether an optional table or column (``catalog``, ``catalog.bundle_code``,
        ``persons.dead_date``, ``institutions.lat``, ``fee_details.prd_days`` ...) is present.

        Presence of the column, not of values, decides, so that every partition of a dataset
        builds the same signals."""
        table, _, column = need.partition(".")
        frame = {
            "catalog": self.catalog,
            "persons": self.persons,
            "institutions": self.institutions,
            "fee_details": self.lines,
            "settlements": self.settlements,
        }.get(table)
        if frame is None:
            return False
        if not column:
            return True
        return column in frame.columns


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    """Raise a one-line ``InputError`` naming the missing columns of ``table``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{table} lacks column(s) {', '.join(missing)}: "
            "validate the dataset with `fundguard intake validate` first"
        )


def require_input(
    settlements: pd.DataFrame,
    fee_lines: pd.DataFrame,
    persons: pd.DataFrame,
    institutions: pd.DataFrame,
) -> None:
    """The one-line ``InputError`` of ``prepare`` when a table lacks a column it reads."""
    require_columns(settlements, SETTLEMENT_COLUMNS, "settlements")
    require_columns(fee_lines, FEE_COLUMNS, "fee_details")
    require_columns(persons, PERSON_COLUMNS, "persons")
    require_columns(institutions, INSTITUTION_COLUMNS, "institutions")


def days_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Days (float, fractional for times of day) from ``earlier`` to ``later``."""
    return (later - earlier).dt.total_seconds() / 86_400.0


def diagnosis_chapter(codes: pd.Series) -> pd.Series:
    """The diagnosis chapter of ICD codes: the letter of an ICD-10 code (``K29`` -> ``K``), the
    chapter number of a numeric ICD-9 code (``4280`` -> ``9-07``); ``?`` when unknown."""
    # worked out once per distinct code (a dataset has a few thousand among millions)
    position, distinct = pd.factorize(codes.astype("string"))
    chapters = _chapters(pd.Series(distinct, dtype="string")).to_numpy(dtype=object)
    lookup = pd.array(np.append(chapters, "?"), dtype="string")  # position -1: the last
    return pd.Series(lookup.take(position), index=codes.index, dtype="string", name=codes.name)


def _chapters(codes: pd.Series) -> pd.Series:
    text = codes.astype("string").str.strip().str.upper().fillna("")
    first = text.str[:1]
    numeric = pd.to_numeric(text.str[:3], errors="coerce")
    chapter_no = np.searchsorted(_ICD9_BOUNDS, numeric.fillna(-1).to_numpy(), side="right")
    icd9 = pd.Series([f"9-{n:02d}" for n in range(len(_ICD9_BOUNDS) + 1)], dtype="string")
    icd9_chapter = pd.Series(icd9.to_numpy()[chapter_no], index=text.index, dtype="string").where(
        numeric.notna()
    )
    out = first.where(first.str.isalpha().fillna(False), icd9_chapter)
    return out.fillna("?").replace("", "?").astype("string")


def _midnight(times: pd.Series) -> pd.Series:
    """``times.dt.normalize()``; for naive numpy datetimes by flooring to the day in numpy
    (pandas' normalize is several times slower on millions of fee lines)."""
    if not (isinstance(times.dtype, np.dtype) and times.dtype.kind == "M"):
        return times.dt.normalize()
    values = times.to_numpy()
    day = values.astype("datetime64[D]").astype(values.dtype)  # NaT stays NaT
    return pd.Series(day, index=times.index, name=times.name)


def _string(series: pd.Series) -> pd.Series:
    """Codes as pandas strings; string columns (``str`` or ``string``) pass unconverted."""
    if isinstance(series.dtype, pd.StringDtype):
        return series
    return series.astype("string")


def prepare(
    settlements: pd.DataFrame,
    fee_lines: pd.DataFrame,
    persons: pd.DataFrame,
    institutions: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
) -> PersonFrames:
    """Build the working frames from settlements and fee lines of any set of persons."""
    require_input(settlements, fee_lines, persons, institutions)

    setl = _settlement_frame(settlements)
    visits = _visit_frame(setl, persons, institutions)
    lines, item_codes = _line_frame(fee_lines, visits)
    return PersonFrames(
        settlements=setl,
        visits=visits,
        lines=lines,
        persons=persons,
        institutions=institutions,
        catalog=catalog,
        item_limits=_item_limits(item_codes, catalog),
        _derived={"items": pd.DataFrame({"item": item_codes})},
    )


def items(pf: PersonFrames) -> pd.Series:
    """The item code of each ``item_i`` of ``pf.lines`` (codes in order of appearance)."""
    table = pf.derived("items", lambda f: pd.DataFrame({"item": pd.factorize(f.lines["item"])[1]}))
    return table["item"]


def item_code(pf: PersonFrames, rows: pd.DataFrame) -> pd.Series:
    """The item code of each of ``rows`` (fee lines with ``item_i``), on their index: for
    the lines an evidence line shows, where the signal itself works on ``item_i``."""
    codes = items(pf).array.take(rows["item_i"].to_numpy(), allow_fill=True)
    return pd.Series(codes, index=rows.index, dtype="string")


def _settlement_frame(settlements: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in (*SETTLEMENT_COLUMNS, "atddr_no", "refd_setl_flag") if c in settlements]
    setl = settlements[cols].copy()
    for c in ("setl_id", "mdtrt_id", "psn_no", "fixmedins_code", "med_type", "dise_codg"):
        setl[c] = _string(setl[c])
    for c in ("begndate", "enddate", "setl_time"):
        setl[c] = pd.to_datetime(setl[c])
    setl["begndate"] = setl["begndate"].dt.normalize()
    setl["enddate"] = setl["enddate"].dt.normalize()
    for c in ("medfee_sumamt", "fund_pay_sumamt"):
        setl[c] = pd.to_numeric(setl[c]).astype("float64")
    refund = (
        setl["refd_setl_flag"].astype("string").eq("1").fillna(False)
        if "refd_setl_flag" in setl
        else pd.Series(False, index=setl.index)
    )
    setl["is_refund"] = refund.to_numpy(dtype=bool)
    if "atddr_no" not in setl:
        setl["atddr_no"] = pd.Series(pd.NA, index=setl.index, dtype="string")
    setl["atddr_no"] = _string(setl["atddr_no"])
    # sort_values(["mdtrt_id", "is_refund", "setl_time"]) without a categorical per column
    visit, distinct = pd.factorize(setl["mdtrt_id"], sort=True)
    visit = np.where(visit < 0, len(distinct), visit)  # missing ids last
    return setl.take(sort_order(visit, setl["is_refund"].to_numpy(), setl["setl_time"].to_numpy()))


def _per_visit(setl: pd.DataFrame) -> pd.DataFrame:
    """``setl.groupby("mdtrt_id", sort=False)`` aggregated to one row per visit (first
    non-missing codes, first and last dates and times, summed amounts, the count), by
    the runs of one id: ``_settlement_frame`` sorts settlements by visit, missing ids
    last, so no string is hashed again."""
    ids = setl["mdtrt_id"]
    n_rows = int(ids.notna().sum())  # the rows with an id come first
    codes = np.zeros(n_rows, dtype=np.int64)
    if n_rows:
        present = pa.array(ids.array[:n_rows])
        change = pc.not_equal(present[1:], present[:-1]).to_numpy(zero_copy_only=False)
        np.cumsum(change, out=codes[1:])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if n_rows else codes
    n = len(starts)
    rows = np.arange(n_rows)

    def first(column: str) -> pd.api.extensions.ExtensionArray:
        values = setl[column].array[:n_rows]
        missing = np.asarray(pd.isna(values))
        at = starts
        if missing.any():  # the first row with a value (-1: none)
            candidate = np.where(missing, n_rows, rows)
            at = np.minimum.reduceat(candidate, starts) if n else starts
            at = np.where(at == n_rows, -1, at)
        return values.take(at, allow_fill=True)

    def extreme(column: str, reduce: np.ufunc) -> np.ndarray:
        values = setl[column].to_numpy()[:n_rows]
        ints = values.view(np.int64)
        missing = np.isnat(values)
        fill = np.iinfo(np.int64).max if reduce is np.minimum else np.iinfo(np.int64).min
        out = reduce.reduceat(np.where(missing, fill, ints), starts) if n else ints[:0]
        out[out == fill] = np.iinfo(np.int64).min  # NaT: no value in the group
        return out.view(values.dtype)

    medfee, fund = group_sums(
        codes,
        [setl["medfee_sumamt"].to_numpy()[:n_rows], setl["fund_pay_sumamt"].to_numpy()[:n_rows]],
        n,
    )
    index = pd.Index(ids.array[:n_rows].take(starts), dtype="string", name="mdtrt_id")
    return pd.DataFrame(
        {
            "psn_no": first("psn_no"),
            "fixmedins_code": first("fixmedins_code"),
            "med_type": first("med_type"),
            "begndate": extreme("begndate", np.minimum),
            "enddate": extreme("enddate", np.maximum),
            "first_setl_time": extreme("setl_time", np.minimum),
            "last_setl_time": extreme("setl_time", np.maximum),
            "medfee": medfee,
            "fund": fund,
            "dise_codg": first("dise_codg"),
            "atddr_no": first("atddr_no"),
            "first_setl_id": first("setl_id"),
            "n_settlements": np.diff(np.r_[starts, n_rows]).astype(np.int64),
        },
        index=index,
    )


def _visit_frame(
    setl: pd.DataFrame, persons: pd.DataFrame, institutions: pd.DataFrame
) -> pd.DataFrame:
    visits = _per_visit(setl)
    med = visits["med_type"]
    visits["is_stay"] = med.isin(INPATIENT_MED_TYPES).to_numpy(dtype=bool)
    visits["is_emergency"] = med.isin(EMERGENCY_MED_TYPES).to_numpy(dtype=bool)
    visits["is_chronic"] = med.isin(CHRONIC_MED_TYPES).to_numpy(dtype=bool)
    visits["is_pharmacy"] = med.isin(PHARMACY_MED_TYPES).to_numpy(dtype=bool)
    visits["stay_days"] = (days_between(visits["enddate"], visits["begndate"]) + 1).clip(lower=1)
    visits["chapter"] = diagnosis_chapter(visits["dise_codg"])

    p = persons.drop_duplicates("psn_no")
    p = p.set_index(p["psn_no"].astype("string"))
    person_row = positions(p.index, visits["psn_no"])
    visits["gend"] = _take(p["gend"].astype("string"), person_row)
    visits["brdy"] = _take(pd.to_datetime(p["brdy"]), person_row)
    visits["insuplc_admdvs"] = _take(p["insuplc_admdvs"].astype("string"), person_row)
    if "dead_date" in p:
        visits["dead_date"] = _take(pd.to_datetime(p["dead_date"]), person_row)

    inst = institutions.drop_duplicates("fixmedins_code")
    inst = inst.set_index(inst["fixmedins_code"].astype("string"))
    pos = positions(inst.index, visits["fixmedins_code"])
    visits["fixmedins_type"] = _take(inst["fixmedins_type"].astype("string"), pos)
    visits["admdvs"] = _take(inst["admdvs"].astype("string"), pos)
    if "hosp_lv" in inst:
        visits["hosp_lv"] = _take(inst["hosp_lv"].astype("string"), pos).fillna("?")
    else:
        visits["hosp_lv"] = pd.Series("?", index=visits.index, dtype="string")
    for c in ("lat", "lon"):
        if c in inst:
            visits[c] = _take(pd.to_numeric(inst[c]).astype("float64"), pos)
    visits["psn_i"] = _person_codes(visits["psn_no"], person_row)
    return visits


def _person_codes(psn_no: pd.Series, person_row: np.ndarray) -> np.ndarray:
    """``pd.factorize(psn_no)[0]``: of each visit's row in the persons table when every
    visit has a person there (no string hashed again), else of the codes."""
    if len(person_row) and person_row.min() >= 0 and not psn_no.hasnans:
        return factorize_positions(person_row)[0]
    return pd.factorize(psn_no)[0]


def _take(values: pd.Series, pos: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Values at positions ``pos``; missing where ``pos`` is -1."""
    return values.array.take(pos, allow_fill=True)


def _line_frame(fee_lines: pd.DataFrame, visits: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """Fee lines of the visits, and the item code of each ``item_i``."""
    v = positions(visits.index, fee_lines["mdtrt_id"].astype("string"))
    keep = v >= 0
    src = fee_lines.loc[keep] if not keep.all() else fee_lines
    v = v[keep]
    item = pd.Series(_string(src["hilist_code"]).array, copy=False)
    list_type = pd.Series(_string(src["list_type"]).array, copy=False)
    chrg_column = pd.Series(_string(src["med_chrgitm_type"]).array, copy=False)
    # the columns gathered first and framed once: setting a column copies it
    cols: dict[str, object] = {
        "v": v,
        "psn_i": visits["psn_i"].to_numpy()[v],
        "setl_id": _string(src["setl_id"]).array,
        "feedetl_sn": _string(src["feedetl_sn"]).array,
        "day": _midnight(pd.to_datetime(src["fee_ocur_time"])).array,
        "item": item.array,
        "list_type": list_type.array,
        "chrg": chrg_column.array,
        "cnt": pd.to_numeric(src["cnt"]).astype("float64").to_numpy(),
        "pric": pd.to_numeric(src["pric"]).astype("float64").to_numpy(),
        "amt": pd.to_numeric(src["det_item_fee_sumamt"]).astype("float64").to_numpy(),
        "doctor": _string(src["bilg_dr_codg"]).array,
    }
    if "prd_days" in src:
        cols["prd_days"] = pd.to_numeric(src["prd_days"]).astype("float64").to_numpy()
    chrg_codes, chrg_values = pd.factorize(chrg_column)
    chrg = pd.Index(chrg_values)

    def charged(codes: frozenset[str] | set[str]) -> np.ndarray:
        return np.append(chrg.isin(list(codes)), False)[chrg_codes]

    cols["is_bed"] = charged({"01"})
    cols["is_care"] = charged(SUBSTANTIVE_CHARGE_ITEMS)
    cols["is_exam"] = charged({"03", "04"})
    drug_list = list_type.isin({"101", "102"})
    cols["is_drug"] = charged(DRUG_CHARGE_ITEMS) | drug_list.to_numpy(dtype=bool)
    codes, uniques = pd.factorize(item)
    cols["item_i"] = codes
    lines = pd.DataFrame(cols, copy=False)
    return lines, uniques


def _item_limits(item_codes: pd.Index, catalog: pd.DataFrame | None) -> pd.DataFrame:
    """The catalogue limits of each item code (in ``item_i`` order), missing when the
    catalogue does not list the item; no columns without a catalogue."""
    out = pd.DataFrame(index=pd.RangeIndex(len(item_codes)))
    if catalog is None or not len(catalog):
        return out
    cat = catalog.drop_duplicates("hilist_code")
    cat = cat.set_index(cat["hilist_code"].astype("string"))
    pos = cat.index.get_indexer(item_codes)
    for c in CATALOG_LIMITS:
        if c not in cat:
            continue
        if c in ("lmt_gend", "bundle_code"):
            out[c] = _take(cat[c].astype("string"), pos)
        else:
            out[c] = np.asarray(_take(pd.to_numeric(cat[c]).astype("float64"), pos), "float64")
    return out


def has_limit(pf: PersonFrames, column: str) -> np.ndarray:
    """Whether each fee line's item has a value of the catalogue limit ``column``."""
    if column not in pf.item_limits:
        return np.zeros(len(pf.lines), dtype=bool)
    by_item = pf.item_limits[column].notna().to_numpy(bool)
    return np.append(by_item, False)[pf.lines["item_i"].to_numpy()]  # item_i -1: none


def with_limits(pf: PersonFrames, rows: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``rows`` (fee lines with ``item_i``) with the catalogue limits of their items, for
    those of ``columns`` the catalogue has."""
    have = [c for c in columns if c in pf.item_limits]
    if not have:
        return rows
    item_i = rows["item_i"].to_numpy()
    limits = pf.item_limits
    return rows.assign(**{c: limits[c].array.take(item_i, allow_fill=True) for c in have})
