"""Institution-level signals of the ``other`` pattern: networks, overlaps, peers and profiles.

Each function reads a contract ``Dataset`` and returns a new frame with one row per
institution of ``dataset.institutions`` (index ``subject_id`` = ``fixmedins_code``) and
``float64`` columns prefixed ``inst_``. They use claims, persons and institutions only,
never labels, so they can be computed transductively over every institution of a region
(graph signals see all settlements, scored or not). Counts and shares are 0 for an
institution without the settlements a signal looks at.

The signals:

* volume — settlements, persons, fund paid (size; the baseline the others must beat);
* shared persons — how many of an institution's persons are also treated elsewhere and
  how big the institutions they share are (patient-sharing rings, card collection);
* shared physicians — physicians billing at several institutions, the institutions they
  connect, the size of the connected physician–institution component, concentration;
* overlapping stays — inpatient stays of one person that overlap another stay at another
  (or the same) institution: impossible presence;
* claims after death — settlements starting after the person's death date;
* stay profile — cost and length of inpatient stays and their spread, with robust z-scores
  (median/MAD) against institutions of the same region;
* code diversity — distinct diagnoses and procedure items per stay;
* repeated claims — identical claims (same person, diagnosis and amount) and quick
  readmissions of the same person;
* patient profile — age, sex, deceased share, share insured in another region.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np
import pandas as pd
from pandas.api.typing import SeriesGroupBy
from pydantic import BaseModel, ConfigDict, Field
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from features.common import (
    first_occurrence,
    pair_counts,
    positions,
    repeated_rows,
    sort_order,
    unique_ints,
)
from settlements.dataset import Dataset
from settlements.schema import INPATIENT_MED_TYPES

SUBJECT = "subject_id"
MAD_SCALE = 1.4826
"""Makes the median absolute deviation a consistent estimate of a normal standard deviation."""


class ProviderNetworkSettings(BaseModel):
    """Parameters of the institution network and peer signals (the ``other`` pattern)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    peer_region_digits: int = Field(
        default=2,
        ge=0,
        le=6,
        description=(
            "Leading digits of the institution's admdvs that define its peer region (2 = "
            "province, 4 = city, 0 = one national peer group)."
        ),
    )
    network_peer_min_institutions: int = Field(
        default=5,
        ge=1,
        description=(
            "Smallest peer region judged on its own; institutions of smaller regions are "
            "compared with all institutions."
        ),
    )
    robust_z_clip: float = Field(
        default=10.0,
        gt=0,
        description="Robust z-scores are clipped to +/- this value.",
    )
    repeat_window_days: int = Field(
        default=30,
        ge=0,
        description=(
            "A new inpatient stay of the same person at the same institution within this many "
            "days of the previous discharge counts as a quick readmission."
        ),
    )


class _Keys:
    """Integer codes of a dataset's keys, worked out once and shared by the signal
    functions, which run one after another on the same dataset: hashing a million
    settlement codes (and ten million fee-line codes) in each of them was most of their
    time. A code is a position among the ``*_names``; -1 is a missing value."""

    def __init__(self, dataset: Dataset) -> None:
        s = dataset.settlements
        self._dataset = weakref.ref(dataset)
        self.inst, self.inst_names = _codes(s["fixmedins_code"])
        self.psn, self.psn_names = _codes(s["psn_no"])

    def of(self, dataset: Dataset) -> bool:
        return self._dataset() is dataset

    @functools.cached_property
    def dise(self) -> tuple[np.ndarray, pd.Index]:
        """The main diagnosis of each settlement, codes in the order of the sorted names."""
        return _codes(self._get().settlements["dise_codg"], sort=True)

    @functools.cached_property
    def settlement(self) -> tuple[np.ndarray, pd.Index]:
        """The setl_id of each settlement."""
        return _codes(self._get().settlements["setl_id"])

    @functools.cached_property
    def fee_settlement(self) -> np.ndarray:
        """Each fee line's settlement: the row of the first settlement with its setl_id."""
        codes, names = self.settlement
        valid = self.first_settlement & (codes >= 0)
        first_row = np.empty(len(names), dtype=np.intp)
        first_row[codes[valid]] = np.flatnonzero(valid)
        if (codes < 0).any():  # a missing setl_id, which a fee line's missing one finds
            names = names.append(pd.Index([pd.NA], dtype="string"))
            first_row = np.append(first_row, np.flatnonzero(codes < 0)[0])
        found = positions(names, self._get().fee_details["setl_id"].astype("string"))
        return np.where(found >= 0, first_row[found], -1)

    @functools.cached_property
    def first_settlement(self) -> np.ndarray:
        """Whether each settlement row is the first with its setl_id (``~duplicated()``)."""
        return first_occurrence(self.settlement[0])

    @functools.cached_property
    def person_row(self) -> np.ndarray:
        """Each settlement's row in ``persons`` (-1: none), as ``lookup`` of its psn_no
        there finds it."""
        index = pd.Index(self.persons["psn_no"].astype("string"))
        missing = pd.Index([pd.NA], dtype="string")
        found = np.append(positions(index, self.psn_names), positions(index, missing))
        return found[self.psn]  # psn -1 (missing): the last

    @functools.cached_property
    def persons(self) -> pd.DataFrame:
        """The persons table without repeated psn_no."""
        return self._get().persons.drop_duplicates("psn_no")

    def _get(self) -> Dataset:
        dataset = self._dataset()
        if dataset is None:  # pragma: no cover - the memo dies with its dataset
            raise RuntimeError("the dataset of these keys is gone")
        return dataset


_KEYS: dict[int, _Keys] = {}


def _keys(dataset: Dataset) -> _Keys:
    """The keys of ``dataset``, made on first use and forgotten with the dataset."""
    found = _KEYS.get(id(dataset))
    if found is None or not found.of(dataset):
        found = _KEYS[id(dataset)] = _Keys(dataset)
        weakref.finalize(dataset, _KEYS.pop, id(dataset), None)
    return found


def _codes(values: pd.Series, sort: bool = False) -> tuple[np.ndarray, pd.Index]:
    codes, names = pd.factorize(values.astype("string"), sort=sort)
    return codes, pd.Index(names, dtype="string")


def _named(values: pd.Series, names: pd.Index) -> pd.Series:
    """A result grouped on codes, indexed by the codes' names (code -1, missing, dropped)."""
    codes = values.index.to_numpy()
    keep = codes >= 0
    return pd.Series(values.to_numpy()[keep], index=names.take(codes[keep]))


def _by(codes: np.ndarray, values: np.ndarray | pd.Series) -> SeriesGroupBy:
    """``values`` grouped on integer codes: pandas' algorithms (so sums and means are what
    grouping on the codes' names gives), without hashing strings."""
    return pd.Series(np.asarray(values)).groupby(codes)


def _distinct(group: np.ndarray, member: np.ndarray, n_members: int) -> np.ndarray:
    """The distinct (group, member) pairs of rows with both, as ``group * n + member``."""
    ok = (group >= 0) & (member >= 0)
    return unique_ints(group[ok].astype(np.int64) * max(n_members, 1) + member[ok])


def _institutions(dataset: Dataset) -> pd.Index:
    codes = dataset.institutions["fixmedins_code"].astype("string")
    return pd.Index(codes.unique(), dtype="string", name=SUBJECT)


def _frame(index: pd.Index, columns: dict[str, pd.Series]) -> pd.DataFrame:
    """The output frame: every institution, float64, 0 where a signal saw nothing."""
    out = pd.DataFrame({name: values.reindex(index) for name, values in columns.items()})
    out.index = index
    return out.astype("float64").fillna(0.0)


def _stays(dataset: Dataset) -> pd.DataFrame:
    """Inpatient settlements with stay length (days) and the fields the signals read."""
    s = dataset.settlements
    stays = s.loc[s["med_type"].isin(INPATIENT_MED_TYPES)]
    length = (stays["enddate"] - stays["begndate"]).dt.days.astype("float64") + 1.0
    return pd.DataFrame(
        {
            "setl_id": stays["setl_id"].astype("string"),
            "psn_no": stays["psn_no"].astype("string"),
            "inst": stays["fixmedins_code"].astype("string"),
            "begndate": stays["begndate"],
            "enddate": stays["enddate"],
            "cost": stays["medfee_sumamt"].astype("float64"),
            "fund": stays["fund_pay_sumamt"].astype("float64"),
            "length": length.clip(lower=1.0),
            "dise_codg": stays["dise_codg"].astype("string"),
        },
        copy=False,
    ).reset_index(drop=True)


def _physician_links(dataset: Dataset) -> pd.DataFrame:
    """Distinct (physician, institution) pairs from attending physicians and fee-line doctors.

    Works on integer codes (one hash per key), so that millions of fee lines stay cheap.
    """
    k = _keys(dataset)
    s = dataset.settlements
    first = k.first_settlement
    position = k.fee_settlement
    doctors = [dataset.fee_details["bilg_dr_codg"].astype("string")]
    insts = [np.where(position >= 0, k.inst[position], -1)]
    if "atddr_no" in s:
        doctors.insert(0, s["atddr_no"].astype("string")[first])
        insts.insert(0, k.inst[first])
    doctor_code, doctor_names = pd.factorize(pd.concat(doctors, ignore_index=True))
    inst_all = np.concatenate(insts)
    n_inst = len(k.inst_names)
    pair = _distinct(doctor_code, inst_all, n_inst)
    return pd.DataFrame(
        {
            "doctor": pd.array(np.asarray(doctor_names)[pair // n_inst], dtype="string"),
            "inst": pd.array(k.inst_names.to_numpy()[pair % n_inst], dtype="string"),
        },
        copy=False,
    )


def _robust_z(values: pd.Series, groups: pd.Series, settings: ProviderNetworkSettings) -> pd.Series:
    """(x - peer median) / (1.4826 * peer MAD); small peer groups use the global peers."""
    frame = pd.DataFrame({"x": values, "g": groups}).dropna(subset=["x"])
    size = frame.groupby("g")["x"].transform("size")
    frame["g"] = frame["g"].where(size >= settings.network_peer_min_institutions, "*")
    median = frame.groupby("g")["x"].transform("median")
    mad = (frame["x"] - median).abs().groupby(frame["g"]).transform("median")
    global_mad = float((frame["x"] - frame["x"].median()).abs().median())
    scale = (MAD_SCALE * mad).where(mad > 0, MAD_SCALE * global_mad)
    scale = scale.where(scale > 0, 1.0)
    z = ((frame["x"] - median) / scale).clip(-settings.robust_z_clip, settings.robust_z_clip)
    return z.reindex(values.index)


def measure_institution_volume(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Size of an institution: settlements, distinct persons, fund paid, settlements per person.

    Rule: counts over all settlements of the institution. Size is the baseline that the
    other signals are judged against (large providers are more often confirmed).
    """
    k = _keys(dataset)
    n_inst = len(k.inst_names)
    settlements = _named(_by(k.inst, k.inst).size().astype("float64"), k.inst_names)
    pair = _distinct(k.inst, k.psn, len(k.psn_names))
    persons = pd.Series(np.bincount(pair // max(len(k.psn_names), 1), minlength=n_inst))
    persons = _named(persons.astype("float64"), k.inst_names)
    fund = _by(k.inst, dataset.settlements["fund_pay_sumamt"]).sum().astype("float64")
    return _frame(
        _institutions(dataset),
        {
            "inst_settlements": settlements,
            "inst_persons": persons.reindex(settlements.index),
            "inst_fund_pay_total": _named(fund, k.inst_names),
            "inst_settlements_per_person": settlements / persons.reindex(settlements.index),
        },
    )


def count_shared_persons(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Persons shared with other institutions and the size of the institutions sharing them.

    Rule: over distinct (person, institution) pairs of all settlements, the share of the
    institution's persons also settled at at least one other institution, the mean number
    of institutions per person, the number of other institutions sharing at least one person,
    and the settlements of those institutions (sum and max, weighted by shared persons), i.e.
    whether its patients also go to large providers (patient-sharing rings).
    """
    k = _keys(dataset)
    n_inst = len(k.inst_names)
    ok = (k.inst >= 0) & (k.psn >= 0)
    key = np.sort(k.psn[ok].astype(np.int64) * max(n_inst, 1) + k.inst[ok])
    new = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    pair, n = key[new], np.diff(np.r_[np.flatnonzero(new), len(key)])
    psn, inst = pair // max(n_inst, 1), pair % max(n_inst, 1)
    per_person = np.bincount(psn, minlength=len(k.psn_names))[psn].astype("float64")
    elsewhere = per_person > 1
    size = np.bincount(inst, weights=n, minlength=n_inst)  # settlements per institution
    # the self-merge of shared on psn_no, less self-pairs, counted by (inst, inst_other)
    weights = pair_counts(
        pd.Series(psn[elsewhere]), pd.Series(inst[elsewhere]), ("inst", "inst_other", "persons")
    )
    inst_w = weights["inst"].to_numpy()
    other_size = size[weights["inst_other"].to_numpy()]
    w_count = np.bincount(inst_w, minlength=n_inst).astype("float64")
    weighted = np.bincount(
        inst_w, weights=weights["persons"].to_numpy() * other_size, minlength=n_inst
    )
    largest = np.full(n_inst, -np.inf)
    np.maximum.at(largest, inst_w, other_size)
    count = np.bincount(inst, minlength=n_inst).astype("float64")
    seen = count > 0
    linked = w_count > 0
    names = k.inst_names
    return _frame(
        _institutions(dataset),
        {
            "inst_shared_person_share": pd.Series(
                np.bincount(inst, weights=elsewhere, minlength=n_inst)[seen] / count[seen],
                index=names[seen],
            ),
            "inst_institutions_per_person": pd.Series(
                np.bincount(inst, weights=per_person, minlength=n_inst)[seen] / count[seen],
                index=names[seen],
            ),
            "inst_person_sharing_institutions": pd.Series(w_count[linked], index=names[linked]),
            "inst_person_sharing_volume": pd.Series(
                weighted[linked] / size[linked], index=names[linked]
            ),
            "inst_person_sharing_max_size": pd.Series(largest[linked], index=names[linked]),
        },
    )


def count_shared_physicians(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Physicians shared with other institutions, the network they form, and concentration.

    Rule: physicians are the attending physician of each settlement and the ordering
    physician of each fee line. Per institution: distinct physicians, settlements per
    physician, share of its physicians who bill at another institution too, the number of
    other institutions reached through them, the settlements of those institutions, the
    number of institutions in its connected component of the physician–institution graph,
    and the concentration of its settlements on its attending physicians (Herfindahl index
    and top physician's share).
    """
    index = _institutions(dataset)
    links = _physician_links(dataset)
    per_doctor = links.groupby("doctor")["inst"].transform("size")
    links["shared"] = per_doctor > 1
    g = links.groupby("inst")
    s = dataset.settlements
    k = _keys(dataset)
    size = _named(_by(k.inst, k.inst).size().astype("float64"), k.inst_names)

    codes = pd.Index(links["inst"].unique(), dtype="string")
    doctors = pd.Index(links["doctor"].unique(), dtype="string")
    rows = codes.get_indexer(links["inst"])
    doctor_cols = doctors.get_indexer(links["doctor"])
    cols = doctor_cols + len(codes)
    n = len(codes) + len(doctors)
    graph = coo_matrix((np.ones(len(links)), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    inst_component = pd.Series(component[: len(codes)], index=codes)
    component_size = inst_component.map(inst_component.value_counts()).astype("float64")
    reached, volume = _institutions_reached(rows, doctor_cols, codes, size)

    columns: dict[str, pd.Series] = {
        "inst_physicians": g.size().astype("float64"),
        "inst_settlements_per_physician": size / g.size().astype("float64"),
        "inst_shared_physician_share": g["shared"].mean().astype("float64"),
        "inst_physician_sharing_institutions": reached,
        "inst_physician_sharing_volume": volume,
        "inst_physician_component_institutions": component_size,
    }
    if "atddr_no" in s:
        # (institution, physician) pairs in the order of the physicians' codes, as grouping
        # on the codes themselves orders them (so the sums below add in the same order)
        doctor, doctor_names = _codes(s["atddr_no"], sort=True)
        n_doctors = max(len(doctor_names), 1)
        ok = (k.inst >= 0) & (doctor >= 0)
        key = np.sort(k.inst[ok].astype(np.int64) * n_doctors + doctor[ok])
        new = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
        counts = pd.Series(
            np.diff(np.r_[np.flatnonzero(new), len(key)]), index=key[new] // n_doctors
        )
        share = counts / counts.groupby(level=0).transform("sum")
        columns["inst_attending_hhi"] = _named((share**2).groupby(level=0).sum(), k.inst_names)
        columns["inst_top_attending_share"] = _named(share.groupby(level=0).max(), k.inst_names)
    else:
        columns["inst_attending_hhi"] = pd.Series(dtype="float64")
        columns["inst_top_attending_share"] = pd.Series(dtype="float64")
    return _frame(index, columns)


def _institutions_reached(
    inst: np.ndarray, doctor: np.ndarray, codes: pd.Index, size: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Per institution: the other institutions sharing at least one physician with it, and
    the sum of their settlements.

    ``inst``, ``doctor`` are the integer positions of the distinct (physician, institution)
    links. The institution × institution co-occurrence is the sparse product of the
    institution × physician incidence with its transpose, so memory grows with the linked
    institution pairs, never with physicians × institutions² as a self-join would.
    """
    n_inst = len(codes)
    incidence = csr_matrix(
        (np.ones(len(inst), dtype=np.int64), (inst, doctor)),
        shape=(n_inst, int(doctor.max()) + 1 if len(doctor) else 0),
    )
    pairs = (incidence @ incidence.T).tocoo()
    other = pairs.row != pairs.col
    row, col = pairs.row[other], pairs.col[other]
    other_size = np.nan_to_num(size.reindex(codes).to_numpy(dtype="float64"))[col]
    count = np.bincount(row, minlength=n_inst).astype("float64")
    volume = np.bincount(row, weights=other_size, minlength=n_inst)
    linked = count > 0
    return (
        pd.Series(count[linked], index=codes[linked]),
        pd.Series(volume[linked], index=codes[linked]),
    )


def count_overlapping_stays(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Inpatient stays of one person that overlap another of the person's stays.

    Rule: two inpatient stays of the same person overlap when each begins on or before the
    other's end (impossible presence / card lending when at another institution; duplicate
    billing when at the same one). Per institution: stays overlapping a stay at another
    institution (count and share of its stays) and stays overlapping another stay at the
    same institution (count and share).
    """
    stays = _stays(dataset)[["setl_id", "psn_no", "inst", "begndate", "enddate"]]
    several = stays.loc[stays["psn_no"].duplicated(keep=False)]
    pairs = several.merge(several, on="psn_no", suffixes=("", "_o"))
    pairs = pairs.loc[
        (pairs["setl_id"] != pairs["setl_id_o"])
        & (pairs["begndate"] <= pairs["enddate_o"])
        & (pairs["begndate_o"] <= pairs["enddate"])
    ]
    elsewhere = pairs.loc[pairs["inst"] != pairs["inst_o"]].drop_duplicates("setl_id")
    same = pairs.loc[pairs["inst"] == pairs["inst_o"]].drop_duplicates("setl_id")
    total = stays.groupby("inst").size().astype("float64")
    n_elsewhere = elsewhere.groupby("inst").size().astype("float64")
    n_same = same.groupby("inst").size().astype("float64")
    return _frame(
        _institutions(dataset),
        {
            "inst_stays_overlapping_elsewhere": n_elsewhere,
            "inst_stays_overlapping_elsewhere_share": n_elsewhere.reindex(total.index) / total,
            "inst_stays_overlapping_same": n_same,
            "inst_stays_overlapping_same_share": n_same.reindex(total.index) / total,
        },
    )


def count_claims_after_death(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Settlements that begin after the person's registered death date.

    Rule: ``begndate > persons.dead_date`` (card use after death). Per institution: count
    and share of its settlements, and the count of distinct deceased persons it settled for.
    """
    s = dataset.settlements
    k = _keys(dataset)
    index = _institutions(dataset)
    if "dead_date" in dataset.persons:
        died = _person_values(k, "dead_date")
    else:
        died = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    after = (s["begndate"] > died.to_numpy()).fillna(False).astype("float64")
    by = _by(k.inst, after)
    return _frame(
        index,
        {
            "inst_settlements_after_death": _named(by.sum(), k.inst_names),
            "inst_settlements_after_death_share": _named(by.mean(), k.inst_names),
        },
    )


def _person_values(k: _Keys, column: str) -> pd.Series:
    """The persons' ``column`` for each settlement (missing where the person is unknown)."""
    values = k.persons[column]
    return pd.Series(pd.api.extensions.take(values.array, k.person_row, allow_fill=True))


def profile_stays(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Cost and length of an institution's inpatient stays, absolute and against its peers.

    Rule: per institution over its inpatient stays, the mean, standard deviation and maximum
    of the total fee per stay, the stay length (days) and the daily cost (fee / length);
    and robust z-scores ((x - median) / (1.4826 MAD)) of the mean fee, mean length and mean
    daily cost against institutions of the same peer region (first ``peer_region_digits``
    of admdvs; regions with fewer than ``network_peer_min_institutions`` use all).
    Unusual spread and outliers (many long or costly stays) are what no single rule catches.
    """
    index = _institutions(dataset)
    stays = _stays(dataset)
    stays["daily"] = stays["cost"] / stays["length"]
    g = stays.groupby("inst")
    columns: dict[str, pd.Series] = {}
    for name, col in (("cost", "cost"), ("length", "length"), ("daily_cost", "daily")):
        columns[f"inst_stay_{name}_mean"] = g[col].mean()
        columns[f"inst_stay_{name}_sd"] = g[col].std(ddof=0)
        columns[f"inst_stay_{name}_max"] = g[col].max()
    inst = dataset.institutions.set_index(dataset.institutions["fixmedins_code"].astype("string"))
    region = inst["admdvs"].astype("string").str[: settings.peer_region_digits]
    region = region[~region.index.duplicated()]
    for name in ("cost", "length", "daily_cost"):
        mean = columns[f"inst_stay_{name}_mean"]
        columns[f"inst_stay_{name}_peer_z"] = _robust_z(mean, region.reindex(mean.index), settings)
    return _frame(index, columns)


def measure_code_diversity(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Diversity of diagnoses and procedures billed by an institution.

    Rule: distinct main diagnoses (dise_codg) per settlement, share of the most frequent
    diagnosis, distinct surgery items (fee lines of charge type 06) and surgery lines per
    settlement, share of settlements with a surgery line, and the most surgery lines on one
    settlement. A provider billing the same few codes for many persons, or many procedures
    per stay, stands out.
    """
    index = _institutions(dataset)
    k = _keys(dataset)
    n_inst = len(k.inst_names)
    dise, dise_names = k.dise
    n_dise = max(len(dise_names), 1)
    settlements = _named(_by(k.inst, k.inst).size().astype("float64"), k.inst_names)
    ok = (k.inst >= 0) & (dise >= 0)
    key = np.sort(k.inst[ok].astype(np.int64) * n_dise + dise[ok])
    new = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    pair_inst = key[new] // n_dise
    pair_n = np.diff(np.r_[np.flatnonzero(new), len(key)])
    top = np.zeros(n_inst, dtype=np.int64)
    np.maximum.at(top, pair_inst, pair_n)
    diagnoses = np.bincount(pair_inst, minlength=n_inst).astype("float64")
    has_diagnosis = np.bincount(pair_inst, minlength=n_inst) > 0

    fees = dataset.fee_details
    surgery = np.flatnonzero((fees["med_chrgitm_type"] == "06").fillna(False).to_numpy(bool))
    setl = k.fee_settlement[surgery]
    inst = np.where(setl >= 0, k.inst[setl], -1)
    item, item_names = pd.factorize(fees["hilist_code"].astype("string").take(surgery))
    n_items = max(len(item_names), 1)
    has_inst = inst >= 0
    lines = np.bincount(inst[has_inst], minlength=n_inst).astype("float64")
    items = np.bincount(_distinct(inst, item, n_items) // n_items, minlength=n_inst)
    per_setl = np.bincount(setl[has_inst], minlength=len(k.inst))
    with_surgery = np.flatnonzero(per_setl)
    surgery_settlements = np.bincount(k.inst[with_surgery], minlength=n_inst)
    most = np.zeros(n_inst, dtype=np.int64)
    np.maximum.at(most, k.inst[with_surgery], per_setl[with_surgery])
    operated = lines > 0
    names = k.inst_names
    return _frame(
        index,
        {
            "inst_diagnoses_per_settlement": pd.Series(diagnoses, index=names) / settlements,
            "inst_top_diagnosis_share": (
                pd.Series(top[has_diagnosis], index=names[has_diagnosis]) / settlements
            ),
            "inst_surgery_items": pd.Series(
                items[operated].astype("float64"), index=names[operated]
            ),
            "inst_surgery_lines_per_settlement": (
                pd.Series(lines[operated], index=names[operated]) / settlements
            ),
            "inst_surgery_settlement_share": (
                pd.Series(surgery_settlements[operated], index=names[operated]) / settlements
            ),
            "inst_surgery_lines_max": pd.Series(
                most[operated].astype("float64"), index=names[operated]
            ),
        },
    )


def count_repeated_claims(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Identical claims and quick readmissions of the same person at the same institution.

    Rule: a settlement is repeated when another settlement of the same person at the same
    institution has the same main diagnosis and the same total fee; a readmission is an
    inpatient stay beginning within ``repeat_window_days`` of the same person's previous
    discharge from the same institution. Per institution: counts and shares of both.
    """
    index = _institutions(dataset)
    s = dataset.settlements
    k = _keys(dataset)
    key = pd.DataFrame(
        {
            "inst": k.inst,
            "psn": k.psn,
            "dise": k.dise[0],
            "fee": s["medfee_sumamt"].to_numpy("float64"),
        },
        copy=False,
    )
    repeated = _by(k.inst, repeated_rows(key, list(key.columns)).astype("float64"))
    stay = np.flatnonzero(s["med_type"].isin(INPATIENT_MED_TYPES).to_numpy(bool))
    inst, psn = k.inst[stay], k.psn[stay]
    begin = s["begndate"].to_numpy()[stay]
    order = sort_order(inst, psn, begin)
    inst, psn, begin = inst[order], psn[order], begin[order]
    end = s["enddate"].to_numpy()[stay][order]
    same = np.r_[False, (inst[1:] == inst[:-1]) & (psn[1:] == psn[:-1])] & (inst >= 0) & (psn >= 0)
    previous_end = pd.Series(np.r_[end[:1], end[:-1]]).where(same)
    gap = (pd.Series(begin) - previous_end).dt.days
    readmitted = _by(inst, (gap <= settings.repeat_window_days).fillna(False).astype("float64"))
    return _frame(
        index,
        {
            "inst_repeated_claims": _named(repeated.sum(), k.inst_names),
            "inst_repeated_claim_share": _named(repeated.mean(), k.inst_names),
            "inst_quick_readmissions": _named(readmitted.sum(), k.inst_names),
            "inst_quick_readmission_share": _named(readmitted.mean(), k.inst_names),
        },
    )


def profile_patients(dataset: Dataset, settings: ProviderNetworkSettings) -> pd.DataFrame:
    """Who an institution's settlements are for: age, sex, deceased and out-of-region persons.

    Rule: per institution over its settlements: mean and standard deviation of the person's
    age at admission (years), share of men (gend 1), share of settlements of persons with a
    registered death date, and share of settlements of persons insured outside the
    institution's peer region (first ``peer_region_digits`` of admdvs vs insuplc_admdvs).
    """
    index = _institutions(dataset)
    s = dataset.settlements
    k = _keys(dataset)
    persons = k.persons
    birth = _person_values(k, "brdy")
    age = ((s["begndate"].reset_index(drop=True) - birth).dt.days / 365.25).astype("float64")
    male = (_person_values(k, "gend").astype("string") == "1").fillna(False).astype("float64")
    deceased = (
        _person_values(k, "dead_date").notna()
        if "dead_date" in persons
        else pd.Series(False, index=age.index)
    ).astype("float64")
    digits = settings.peer_region_digits
    home = _person_values(k, "insuplc_admdvs").astype("string").str[:digits]
    institutions = dataset.institutions.drop_duplicates("fixmedins_code")
    located = institutions.set_index(institutions["fixmedins_code"].astype("string"))["admdvs"]
    region = located.astype("string").str[:digits].array
    # the region of each code of k.inst; the last, for code -1, as lookup finds a missing key
    at = np.append(
        positions(located.index, k.inst_names),
        positions(located.index, pd.Index([pd.NA], dtype="string")),
    )
    there = pd.Series(region.take(at[k.inst], allow_fill=True), dtype="string")
    away = (home != there).fillna(False).astype("float64")
    by_age = _by(k.inst, age)
    return _frame(
        index,
        {
            "inst_patient_age_mean": _named(by_age.mean(), k.inst_names),
            "inst_patient_age_sd": _named(by_age.std(ddof=0), k.inst_names),
            "inst_patient_male_share": _named(_by(k.inst, male).mean(), k.inst_names),
            "inst_patient_deceased_share": _named(_by(k.inst, deceased).mean(), k.inst_names),
            "inst_patient_other_region_share": _named(_by(k.inst, away).mean(), k.inst_names),
        },
    )


DATASET_COLUMNS: dict[str, tuple[str, ...]] = {
    "settlements": (
        "setl_id",
        "psn_no",
        "fixmedins_code",
        "med_type",
        "begndate",
        "enddate",
        "medfee_sumamt",
        "fund_pay_sumamt",
        "dise_codg",
        "atddr_no",
    ),
    "fee_details": ("setl_id", "hilist_code", "med_chrgitm_type", "bilg_dr_codg"),
    "persons": ("psn_no", "brdy", "gend", "dead_date", "insuplc_admdvs"),
}
"""The columns of the large tables that the signal functions read (institutions: all), so
that a caller holding the tables elsewhere (Spark) brings only these."""

SIGNAL_FUNCTIONS = (
    measure_institution_volume,
    count_shared_persons,
    count_shared_physicians,
    count_overlapping_stays,
    count_claims_after_death,
    profile_stays,
    measure_code_diversity,
    count_repeated_claims,
    profile_patients,
)
"""Every institution signal function of this module, in documentation order."""

SIGNAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "measure_institution_volume": (
        "inst_settlements",
        "inst_persons",
        "inst_fund_pay_total",
        "inst_settlements_per_person",
    ),
    "count_shared_persons": (
        "inst_shared_person_share",
        "inst_institutions_per_person",
        "inst_person_sharing_institutions",
        "inst_person_sharing_volume",
        "inst_person_sharing_max_size",
    ),
    "count_shared_physicians": (
        "inst_physicians",
        "inst_settlements_per_physician",
        "inst_shared_physician_share",
        "inst_physician_sharing_institutions",
        "inst_physician_sharing_volume",
        "inst_physician_component_institutions",
        "inst_attending_hhi",
        "inst_top_attending_share",
    ),
    "count_overlapping_stays": (
        "inst_stays_overlapping_elsewhere",
        "inst_stays_overlapping_elsewhere_share",
        "inst_stays_overlapping_same",
        "inst_stays_overlapping_same_share",
    ),
    "count_claims_after_death": (
        "inst_settlements_after_death",
        "inst_settlements_after_death_share",
    ),
    "profile_stays": (
        "inst_stay_cost_mean",
        "inst_stay_cost_sd",
        "inst_stay_cost_max",
        "inst_stay_length_mean",
        "inst_stay_length_sd",
        "inst_stay_length_max",
        "inst_stay_daily_cost_mean",
        "inst_stay_daily_cost_sd",
        "inst_stay_daily_cost_max",
        "inst_stay_cost_peer_z",
        "inst_stay_length_peer_z",
        "inst_stay_daily_cost_peer_z",
    ),
    "measure_code_diversity": (
        "inst_diagnoses_per_settlement",
        "inst_top_diagnosis_share",
        "inst_surgery_items",
        "inst_surgery_lines_per_settlement",
        "inst_surgery_settlement_share",
        "inst_surgery_lines_max",
    ),
    "count_repeated_claims": (
        "inst_repeated_claims",
        "inst_repeated_claim_share",
        "inst_quick_readmissions",
        "inst_quick_readmission_share",
    ),
    "profile_patients": (
        "inst_patient_age_mean",
        "inst_patient_age_sd",
        "inst_patient_male_share",
        "inst_patient_deceased_share",
        "inst_patient_other_region_share",
    ),
}
"""The columns each signal function returns, in order (what the registry declares)."""


def build_provider_signals(
    dataset: Dataset, settings: ProviderNetworkSettings | None = None
) -> pd.DataFrame:
    """All signals of this module side by side, one row per institution."""
    settings = settings or ProviderNetworkSettings()
    return pd.concat([fn(dataset, settings) for fn in SIGNAL_FUNCTIONS], axis=1)
