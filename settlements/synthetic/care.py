"""Honest care: the visits insured persons make, and the fee lines each visit brings.

A *visit* is one row of an internal frame (integer keys, day offsets from the period
start): an inpatient stay, an outpatient or emergency visit, a chronic-disease visit or a
pharmacy purchase. Fee lines are expanded from visits by the clinical templates of
``catalog`` in vectorised passes (one pass per template item, never one per line). Fraud
is injected by editing visits (adding some, setting their line modifiers) before the
expansion, so honest and fraudulent care share one code path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from settlements.schema import CERT_TYPES, MED_TYPES
from settlements.synthetic.catalog import (
    CONDITIONS,
    EXTRA_DIAGNOSES,
    HONEST_STAY_GROUPS,
    PHARMACY_BASKETS,
    SAME_CHAPTER,
    STAY_GROUP_INDEX,
    STAY_GROUPS,
    VISIT_KINDS,
    Charge,
    item_arrays,
    item_ids,
)
from settlements.synthetic.config import WorldConfig
from settlements.synthetic.world import (
    TIER_CLINIC,
    TIER_PHARMACY,
    TIER_SECONDARY,
    TIER_TERTIARY,
    Region,
)

STAY, OUTPATIENT, CHRONIC, PHARMACY = 0, 1, 2, 3
"""Visit categories (``cat``)."""
CHRONIC_BASKET = 100
"""Pharmacy visits with ``kind >= CHRONIC_BASKET`` buy the drugs of condition
``kind - CHRONIC_BASKET`` instead of an over-the-counter basket."""

VISIT_COLUMNS: dict[str, object] = {
    "person": np.int64,
    "inst": np.int64,
    "doctor": np.int64,
    "med_type": np.int64,
    "dise": np.int64,
    "cat": np.int8,
    "kind": np.int64,
    "begin": np.int64,
    "los": np.int64,
    "sec": np.int64,
    "settle_delay": np.int64,
    "prd": np.int64,
    "daily_mult": np.float64,
    "empty_share": np.float64,
    "token": np.float64,
    "double_bed": bool,
    "bundle_split": bool,
    "extra_item": np.int64,
    "hv_item": np.int64,
    "cert": np.int64,
    "injected": bool,
}
"""Internal visit frame: person row (in the chunk), institution and attending doctor rows,
codes, template kind, first day and length (days), time of day (seconds) of the visit or
of the settlement of a stay, and the line modifiers fraud sets."""

DEFAULTS: dict[str, object] = {
    "settle_delay": 0,
    "prd": 0,
    "daily_mult": 1.0,
    "empty_share": 0.0,
    "token": 0.0,
    "double_bed": False,
    "bundle_split": False,
    "extra_item": -1,
    "hv_item": -1,
    "cert": "01",
    "injected": False,
}


def _all_codes() -> tuple[str, ...]:
    codes = [*sorted(MED_TYPES), *sorted(CERT_TYPES)]
    codes += [c for g in STAY_GROUPS for c in g.codes] + [k.code for k in VISIT_KINDS]
    codes += [c.code for c in CONDITIONS] + [b[1] for b in PHARMACY_BASKETS]
    codes += [*SAME_CHAPTER.values(), *EXTRA_DIAGNOSES]
    return tuple(dict.fromkeys(codes))


CODES: tuple[str, ...] = _all_codes()
"""Every code a visit's ``med_type``, ``dise`` and ``cert`` may hold: visits keep the
row number here (integers are fast to copy and compare), the assembly writes the code."""
CODE_ID: dict[str, int] = {c: i for i, c in enumerate(CODES)}
CONDITION_CODES = np.array([CODE_ID[c.code] for c in CONDITIONS])


def code_ids(values: object) -> np.ndarray | int:
    """The ``CODES`` row of a code or of each code in an array (KeyError if unknown)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr if arr.ndim else int(arr)
    if arr.ndim == 0:
        return CODE_ID[str(arr)]
    uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
    return np.array([CODE_ID[u] for u in uniq], dtype=np.int64)[inverse]


def make_visits(**columns: object) -> pd.DataFrame:
    """A visit frame from the given columns; unspecified modifiers take their defaults.

    ``med_type``, ``dise`` and ``cert`` may be given as codes; they are kept as rows of
    ``CODES``."""
    lengths = [np.size(a) for a in map(np.asarray, columns.values()) if np.ndim(a) > 0]
    n = max(lengths) if lengths else 1
    data = {}
    for name, dtype in VISIT_COLUMNS.items():
        value = columns.get(name, DEFAULTS.get(name))
        if value is None:
            raise ValueError(f"visit column {name} is required")
        if name in ("med_type", "dise", "cert"):
            value = code_ids(value)
        arr = np.asarray(value)
        data[name] = (np.full(n, arr.item()) if arr.ndim == 0 else arr).astype(dtype)  # type: ignore[call-overload]
    return pd.DataFrame(data)


def _choose_weighted(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column index per row of a non-negative weight matrix, proportionally."""
    total = weights.sum(axis=1, keepdims=True)
    cum = np.cumsum(weights / np.where(total > 0, total, 1), axis=1)
    u = rng.random((len(weights), 1))
    return np.minimum((u > cum).sum(axis=1), weights.shape[1] - 1)


def usual_institutions(
    persons: pd.DataFrame, region: Region, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """Each person's usual institution of every tier: one in the home district if any."""
    district = persons["district"].to_numpy()
    inst = region.institutions
    usual = {}
    for tier in (TIER_CLINIC, TIER_SECONDARY, TIER_TERTIARY, TIER_PHARMACY):
        rows = region.of_tier(tier)
        home = inst["district"].to_numpy()[rows]
        choice = rows[(rng.random(len(persons)) * len(rows)).astype(np.int64)]
        for d in np.unique(district):
            local = rows[home == d]
            if len(local) and tier != TIER_TERTIARY:
                who = np.flatnonzero(district == d)
                choice[who] = local[(rng.random(len(who)) * len(local)).astype(np.int64)]
        usual[tier] = choice
    return usual


def _pick_inst(
    tiers: np.ndarray,
    person: np.ndarray,
    usual: dict[int, np.ndarray],
    region: Region,
    rng: np.random.Generator,
    loyalty: float = 0.85,
) -> np.ndarray:
    """An institution of the given tier for each visit: usually the person's usual one."""
    out = np.empty(len(tiers), dtype=np.int64)
    for tier in np.unique(tiers):
        sel = np.flatnonzero(tiers == tier)
        rows = region.of_tier(int(tier))
        anywhere = rows[(rng.random(len(sel)) * len(rows)).astype(np.int64)]
        out[sel] = np.where(rng.random(len(sel)) < loyalty, usual[int(tier)][person[sel]], anywhere)
    return out


def _cert(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(np.array(["01", "03", "02"]), n, p=[0.55, 0.4, 0.05])


def honest_visits(
    persons: pd.DataFrame,
    usual: dict[int, np.ndarray],
    region: Region,
    config: WorldConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The honest visits of a chunk of persons over the period, without conflicts.

    A person is never in two places at once (no visit during their own stay, no
    overlapping stays), has no visit after death, and is not readmitted within 15 days
    nor settled twice a day at one institution: such cases appear only where fraud or
    a designated look-alike puts them, so that the truth file is complete.
    """
    age = persons["age"].to_numpy()
    male = persons["gend"].to_numpy() == "1"
    n = len(persons)
    frames = [
        _outpatient(age, male, usual, region, config, rng),
        _chronic(persons, usual, region, config, rng),
        _pharmacy(n, usual, region, config, rng),
        _stays(age, male, usual, region, config, rng),
    ]
    frames.append(_in_hospital_deaths(persons, usual, region, rng))
    visits = pd.concat(frames, ignore_index=True)
    return remove_conflicts(visits, persons["dead_day"].to_numpy())


def _outpatient(
    age: np.ndarray,
    male: np.ndarray,
    usual: dict[int, np.ndarray],
    region: Region,
    config: WorldConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    factor = np.select([age < 15, age < 60], [1.3, 0.8], 1.5)
    rate = (config.outpatient_rate + config.emergency_rate) * factor * config.days / 365
    counts = rng.poisson(rate)
    person = np.repeat(np.arange(len(age)), counts)
    a, m = age[person], male[person]
    w = np.zeros((len(person), len(VISIT_KINDS)))
    em_share = config.emergency_rate / max(config.outpatient_rate + config.emergency_rate, 1e-9)
    for k, kind in enumerate(VISIT_KINDS):
        fits = (a >= kind.age[0]) & (a <= kind.age[1])
        if kind.sex is not None:
            fits &= m == (kind.sex == "1")
        share = em_share if kind.med_type == "13" else 1 - em_share
        w[:, k] = np.where(fits, kind.weight * share, 0)
    kind_of = _choose_weighted(w, rng)
    med_type = np.array([k.med_type for k in VISIT_KINDS])[kind_of]
    emergency = med_type == "13"
    u = rng.random(len(person))
    tiers = np.where(
        emergency,
        np.where(u < 0.5, TIER_SECONDARY, TIER_TERTIARY),
        np.select([u < 0.55, u < 0.82], [TIER_CLINIC, TIER_SECONDARY], TIER_TERTIARY),
    )
    inst = _pick_inst(tiers, person, usual, region, rng)
    sec = np.where(
        emergency,
        rng.integers(0, 86_400, len(person)),
        rng.integers(8 * 3600, 17 * 3600, len(person)),
    )
    return make_visits(
        person=person,
        inst=inst,
        doctor=region.random_doctor(inst, rng),
        med_type=med_type,
        dise=np.array([k.code for k in VISIT_KINDS])[kind_of],
        cat=OUTPATIENT,
        kind=kind_of,
        begin=rng.integers(0, config.days, len(person)),
        los=1,
        sec=sec,
        cert=_cert(len(person), rng),
    )


def chronic_supply(
    stable: np.ndarray, condition: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Days supplied per chronic prescription: 56–84 for stable patients, else 28–30."""
    supply = np.where(
        stable,
        rng.choice(np.array([56, 60, 84]), len(stable)),
        rng.choice(np.array([28, 30]), len(stable)),
    )
    renal = condition == next(i for i, c in enumerate(CONDITIONS) if c.key == "renal")
    return np.where(renal, 7, supply)


def _chronic(
    persons: pd.DataFrame,
    usual: dict[int, np.ndarray],
    region: Region,
    config: WorldConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    condition = persons["condition"].to_numpy()
    who = np.flatnonzero(condition >= 0)
    supply = chronic_supply(persons["stable"].to_numpy()[who], condition[who], rng)
    interval = np.maximum(supply - rng.integers(0, 4, len(who)), 5)
    first = (rng.random(len(who)) * interval).astype(np.int64)
    counts = np.maximum((config.days - 1 - first) // interval + 1, 0)
    rep = np.repeat(np.arange(len(who)), counts)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    person = who[rep]
    cond = condition[person]
    begin = first[rep] + k * interval[rep] + rng.integers(-1, 2, len(rep))
    begin = np.clip(begin, 0, config.days - 1)
    specialist = np.isin(cond, [i for i, c in enumerate(CONDITIONS) if not c.long_supply])
    tiers = np.where(
        specialist, TIER_TERTIARY, np.where(rng.random(len(rep)) < 0.7, TIER_CLINIC, TIER_SECONDARY)
    )
    inst = _pick_inst(tiers, person, usual, region, rng, loyalty=1.0)
    doctor = region.random_doctor(inst, rng)
    oncology = cond == next(i for i, c in enumerate(CONDITIONS) if c.key == "lung_cancer")
    doctor = np.where(oncology, region.doctor_start[inst], doctor)
    return make_visits(
        person=person,
        inst=inst,
        doctor=doctor,
        med_type="14",
        dise=np.array([c.code for c in CONDITIONS])[cond],
        cat=CHRONIC,
        kind=cond,
        begin=begin,
        los=1,
        sec=rng.integers(8 * 3600, 17 * 3600, len(rep)),
        prd=supply[rep],
        cert=_cert(len(rep), rng),
    )


def _pharmacy(
    n: int,
    usual: dict[int, np.ndarray],
    region: Region,
    config: WorldConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    counts = rng.poisson(config.pharmacy_rate * config.days / 365, n)
    person = np.repeat(np.arange(n), counts)
    basket = rng.integers(0, len(PHARMACY_BASKETS), len(person))
    inst = _pick_inst(np.full(len(person), TIER_PHARMACY), person, usual, region, rng, 0.8)
    lo = np.array([b[3][0] for b in PHARMACY_BASKETS])[basket]
    hi = np.array([b[3][1] for b in PHARMACY_BASKETS])[basket]
    return make_visits(
        person=person,
        inst=inst,
        doctor=region.random_doctor(inst, rng),
        med_type="41",
        dise=np.array([b[1] for b in PHARMACY_BASKETS])[basket],
        cat=PHARMACY,
        kind=basket,
        begin=rng.integers(0, config.days, len(person)),
        los=1,
        sec=rng.integers(8 * 3600, 21 * 3600, len(person)),
        prd=rng.integers(lo, hi + 1),
        cert=_cert(len(person), rng),
    )


def stay_los(group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lo = np.array([g.los[0] for g in STAY_GROUPS])[group]
    hi = np.array([g.los[1] for g in STAY_GROUPS])[group]
    return rng.integers(lo, hi + 1)


def stay_tier(group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Secondary or tertiary hospital: surgery and cancer go to tertiary hospitals more."""
    heavy = np.isin(
        group,
        [
            STAY_GROUP_INDEX[k]
            for k in ("coronary", "hip_fracture", "lung_cancer", "haemorrhage", "stroke")
        ],
    )
    return np.where(
        rng.random(len(group)) < np.where(heavy, 0.7, 0.4), TIER_TERTIARY, TIER_SECONDARY
    )


def stay_groups_for(age: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An honest diagnosis group for each patient, by age and sex."""
    honest = [STAY_GROUP_INDEX[k] for k in HONEST_STAY_GROUPS]
    w = np.zeros((len(age), len(honest)))
    for j, gi in enumerate(honest):
        g = STAY_GROUPS[gi]
        fits = (age >= g.age[0]) & (age <= g.age[1])
        if g.sex is not None:
            fits &= male == (g.sex == "1")
        w[:, j] = np.where(fits, np.where(age < 60, g.weight_young, g.weight_old), 0)
    return np.array(honest)[_choose_weighted(w, rng)]


def _stays(
    age: np.ndarray,
    male: np.ndarray,
    usual: dict[int, np.ndarray],
    region: Region,
    config: WorldConfig,
    rng: np.random.Generator,
) -> pd.DataFrame:
    factor = np.select([age < 15, age < 45, age < 65, age < 80], [0.6, 0.5, 1.0, 2.0], 3.0)
    counts = np.minimum(rng.poisson(config.inpatient_rate * factor * config.days / 365), 3)
    person = np.repeat(np.arange(len(age)), counts)
    group = stay_groups_for(age[person], male[person], rng)
    return new_stays(person, group, usual, region, config, rng)


def new_stays(
    person: np.ndarray,
    group: np.ndarray,
    usual: dict[int, np.ndarray],
    region: Region,
    config: WorldConfig,
    rng: np.random.Generator,
    begin: np.ndarray | None = None,
    los: np.ndarray | None = None,
    inst: np.ndarray | None = None,
) -> pd.DataFrame:
    """Inpatient stays of the given diagnosis groups, with a fitting hospital and doctor."""
    los = stay_los(group, rng) if los is None else los
    if inst is None:
        inst = _pick_inst(stay_tier(group, rng), person, usual, region, rng, loyalty=0.8)
    if begin is None:
        begin = (rng.random(len(person)) * np.maximum(config.days - los, 1)).astype(np.int64)
    # one of the group's diagnosis codes, uniformly (codes as rows of CODES)
    widest = max(len(g.codes) for g in STAY_GROUPS)
    table = np.array(
        [[CODE_ID[g.codes[i % len(g.codes)]] for i in range(widest)] for g in STAY_GROUPS]
    )
    count = np.array([len(g.codes) for g in STAY_GROUPS])[group]
    dise = table[group, (rng.random(len(person)) * count).astype(np.int64)]
    doctor = region.random_doctor(inst, rng)
    oncology = group == STAY_GROUP_INDEX["lung_cancer"]
    doctor = np.where(
        oncology & (region.institutions["tier"].to_numpy()[inst] == TIER_TERTIARY),
        region.doctor_start[inst],
        doctor,
    )
    return make_visits(
        person=person,
        inst=inst,
        doctor=doctor,
        med_type="21",
        dise=dise,
        cat=STAY,
        kind=group,
        begin=begin,
        los=los,
        sec=rng.integers(9 * 3600, 17 * 3600, len(person)),
        cert=_cert(len(person), rng),
    )


def _in_hospital_deaths(
    persons: pd.DataFrame, usual: dict[int, np.ndarray], region: Region, rng: np.random.Generator
) -> pd.DataFrame:
    """About a third of the deceased die in hospital: a final stay ending on the death day."""
    dead_day = persons["dead_day"].to_numpy()
    who = np.flatnonzero((dead_day >= 10) & (rng.random(len(persons)) < 0.35))
    group = rng.choice(
        np.array([STAY_GROUP_INDEX[k] for k in ("stroke", "pneumonia", "haemorrhage", "copd")]),
        len(who),
    )
    los = np.minimum(stay_los(group, rng), dead_day[who] + 1)
    stays = new_stays(
        who, group, usual, region, WorldConfig(), rng, begin=dead_day[who] - los + 1, los=los
    )
    return stays


def remove_conflicts(visits: pd.DataFrame, dead_day: np.ndarray) -> pd.DataFrame:
    """Drop honest visits that would look like fraud by accident (see ``honest_visits``)."""
    v = visits
    death = dead_day[v["person"].to_numpy()]
    end = v["begin"].to_numpy() + v["los"].to_numpy() - 1
    v = v[(death < 0) | (end <= death)]

    stays = v[v["cat"] == STAY].sort_values(["person", "begin"], kind="stable")
    end = (stays["begin"] + stays["los"] - 1).to_numpy()
    person = stays["person"].to_numpy()
    same = np.r_[False, person[1:] == person[:-1]]
    prev_end = np.r_[-10_000, end[:-1]]
    # iterate: dropping a stay can free the next one; two passes settle nearly all cases
    keep = ~same | (stays["begin"].to_numpy() > prev_end + 15)
    stays = stays[keep]
    end = (stays["begin"] + stays["los"] - 1).to_numpy()
    person = stays["person"].to_numpy()
    same = np.r_[False, person[1:] == person[:-1]]
    prev_end = np.r_[-10_000, end[:-1]]
    stays = stays[~same | (stays["begin"].to_numpy() > prev_end + 15)]

    others = v[v["cat"] != STAY]
    others = others[~during_stay(others, stays)]
    others = others.drop_duplicates(["person", "inst", "begin"])
    return pd.concat([stays, others], ignore_index=True)


def during_stay(visits: pd.DataFrame, stays: pd.DataFrame) -> np.ndarray:
    """Whether each visit falls on a day its person spends in one of ``stays``."""
    if visits.empty or stays.empty:
        return np.zeros(len(visits), dtype=bool)
    left = pd.DataFrame(
        {
            "person": visits["person"].to_numpy(),
            "day": visits["begin"].to_numpy(),
            "row": np.arange(len(visits)),
        }
    ).sort_values("day", kind="stable")
    right = pd.DataFrame(
        {
            "person": stays["person"].to_numpy(),
            "day": stays["begin"].to_numpy(),
            "end": (stays["begin"] + stays["los"] - 1).to_numpy(),
        }
    ).sort_values("day")
    merged = pd.merge_asof(left, right, on="day", by="person", direction="backward")
    inside = merged["end"].to_numpy() >= merged["day"].to_numpy()
    out = np.zeros(len(visits), dtype=bool)
    out[merged["row"].to_numpy()] = np.nan_to_num(inside, nan=0).astype(bool)
    return out


# -- fee lines ----------------------------------------------------------------------------

LINE_COLUMNS = ("visit", "day", "item", "cnt", "prd", "doctor", "sec")

_BED = {
    TIER_TERTIARY: item_ids("bed_3")[0],
    TIER_SECONDARY: item_ids("bed_2")[0],
    TIER_CLINIC: item_ids("bed_2")[0],
}
_KEEP_ON_EMPTY = item_ids("bed_3", "bed_2", "consult_ip")
_TOKEN = item_ids("vitb1")[0]
_COMPONENTS = item_ids("alt", "creat", "glucose", "lipids")


def _cnt(charge: Charge, n: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = charge.cnt
    return (
        np.full(n, float(lo)) if lo == hi else rng.integers(int(lo), int(hi) + 1, n).astype(float)
    )


def _lines(
    visit: np.ndarray,
    day: np.ndarray,
    item: np.ndarray | int,
    cnt: np.ndarray,
    prd: np.ndarray | float,
    doctor: np.ndarray,
    sec: np.ndarray,
) -> dict[str, np.ndarray]:
    n = len(visit)
    return {
        "visit": visit,
        "day": day,
        "item": np.broadcast_to(np.asarray(item, dtype=np.int64), (n,)).copy(),
        "cnt": cnt,
        "prd": np.broadcast_to(np.asarray(prd, dtype=float), (n,)).copy(),
        "doctor": doctor,
        "sec": sec,
    }


def expand_lines(visits: pd.DataFrame, region: Region, rng: np.random.Generator) -> pd.DataFrame:
    """The fee lines of every visit (row number of ``visits`` in column ``visit``)."""
    parts = [*_stay_lines(visits, region, rng), *_visit_lines(visits, region, rng)]
    parts = [p for p in parts if len(p["visit"])]
    if not parts:
        return pd.DataFrame({c: np.array([], dtype=float) for c in LINE_COLUMNS})
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in LINE_COLUMNS})


def _other_doctor(
    doctor: np.ndarray, inst: np.ndarray, region: Region, rng: np.random.Generator, share: float
) -> np.ndarray:
    return np.where(rng.random(len(doctor)) < share, region.random_doctor(inst, rng), doctor)


def _stay_lines(
    visits: pd.DataFrame, region: Region, rng: np.random.Generator
) -> list[dict[str, np.ndarray]]:
    is_drug = item_arrays()["is_drug"]
    sel = np.flatnonzero(visits["cat"].to_numpy() == STAY)
    v = visits.iloc[sel]
    los = v["los"].to_numpy()
    rep = np.repeat(np.arange(len(v)), los)
    day = np.arange(len(rep)) - np.repeat(np.cumsum(los) - los, los)
    vrow = sel[rep]
    L = los[rep]
    group = v["kind"].to_numpy()[rep]
    inst = v["inst"].to_numpy()[rep]
    doc = v["doctor"].to_numpy()[rep]
    tier = region.institutions["tier"].to_numpy()[inst]
    token_share = v["token"].to_numpy()[rep]
    token = token_share > 0
    empty = (rng.random(len(rep)) < v["empty_share"].to_numpy()[rep]) & (day >= 1) & (day < L - 1)
    out: list[dict[str, np.ndarray]] = []

    def sec(n: int) -> np.ndarray:
        return rng.integers(7 * 3600, 21 * 3600, n)

    bed_day = (day < L - 1) | (L == 1)
    bed_item = np.where(tier == TIER_TERTIARY, _BED[TIER_TERTIARY], _BED[TIER_SECONDARY])
    m = bed_day
    out.append(_lines(vrow[m], day[m], bed_item[m], np.ones(m.sum()), np.nan, doc[m], sec(m.sum())))
    double = bed_day & v["double_bed"].to_numpy()[rep] & (rng.random(len(rep)) < 0.7)
    out.append(
        _lines(
            vrow[double],
            day[double],
            bed_item[double],
            np.ones(double.sum()),
            np.nan,
            doc[double],
            sec(double.sum()),
        )
    )
    for gi, g in enumerate(STAY_GROUPS):
        in_g = group == gi
        if not in_g.any():
            continue
        op_day = np.minimum(g.op_day, L - 1)
        for charge in g.charges:
            when = {
                "daily": np.ones(len(rep), dtype=bool),
                "first": day == 0,
                "last": day == L - 1,
                "op": day == op_day,
                "after_op": day > op_day,
                "every3": day % 3 == 2,
            }[charge.when]
            item = item_ids(charge.item)[0]
            m = in_g & when & (rng.random(len(rep)) < charge.prob)
            if item not in _KEEP_ON_EMPTY:
                # empty days lose every item; token stays lose most of them
                m &= ~(empty | (token & (rng.random(len(rep)) < token_share)))
            n = int(m.sum())
            d = _other_doctor(doc[m], inst[m], region, rng, 0.15)
            out.append(
                _lines(
                    vrow[m],
                    day[m],
                    item,
                    _cnt(charge, n, rng),
                    1.0 if is_drug[item] else np.nan,
                    d,
                    sec(n),
                )
            )
    m = token
    out.append(
        _lines(
            vrow[m],
            day[m],
            _TOKEN,
            rng.integers(1, 4, m.sum()).astype(float),
            1.0,
            doc[m],
            sec(m.sum()),
        )
    )
    first = (day == 0) & v["bundle_split"].to_numpy()[rep]
    for item in _COMPONENTS:
        out.append(
            _lines(
                vrow[first],
                day[first],
                item,
                np.ones(first.sum()),
                np.nan,
                doc[first],
                sec(first.sum()),
            )
        )
    hv = v["hv_item"].to_numpy()[rep]
    m = (hv >= 0) & (day >= 1) & ~empty & ~token & (rng.random(len(rep)) < 0.7)
    out.append(_lines(vrow[m], day[m], hv[m], np.ones(m.sum()), 1.0, doc[m], sec(m.sum())))
    return out


def _visit_lines(
    visits: pd.DataFrame, region: Region, rng: np.random.Generator
) -> list[dict[str, np.ndarray]]:
    """Lines of one-day visits: outpatient and emergency, chronic, pharmacy."""
    is_drug = item_arrays()["is_drug"]
    cat = visits["cat"].to_numpy()
    kind = visits["kind"].to_numpy()
    out: list[dict[str, np.ndarray]] = []
    templates: list[tuple[np.ndarray, tuple[Charge, ...], tuple[int, int]]] = []
    for k, vk in enumerate(VISIT_KINDS):
        charges = (Charge("reg", "first"), *vk.charges)
        templates.append((np.flatnonzero((cat == OUTPATIENT) & (kind == k)), charges, vk.days))
    for c, cond in enumerate(CONDITIONS):
        charges = (
            Charge("reg", "first"),
            Charge("consult_op", "first"),
            *cond.extra,
            *(Charge(drug, "first", (dose, dose)) for drug, dose in cond.drugs),
        )
        templates.append((np.flatnonzero((cat == CHRONIC) & (kind == c)), charges, (28, 28)))
        rows = np.flatnonzero((cat == PHARMACY) & (kind == CHRONIC_BASKET + c))
        templates.append((rows, tuple(Charge(d, "first", (q, q)) for d, q in cond.drugs), (28, 28)))
    for b, (drug, _, dose, days) in enumerate(PHARMACY_BASKETS):
        rows = np.flatnonzero((cat == PHARMACY) & (kind == b))
        templates.append((rows, (Charge(drug, "first", (dose, dose)),), days))

    prd_v = visits["prd"].to_numpy()
    mult_v = visits["daily_mult"].to_numpy()
    doc_v = visits["doctor"].to_numpy()
    sec_v = visits["sec"].to_numpy()
    for rows, charges, days in templates:
        if not len(rows):
            continue
        prd = np.where(prd_v[rows] > 0, prd_v[rows], rng.integers(days[0], days[1] + 1, len(rows)))
        for charge in charges:
            item = item_ids(charge.item)[0]
            m = rng.random(len(rows)) < charge.prob
            r = rows[m]
            cnt = _cnt(charge, len(r), rng)
            if is_drug[item]:
                cnt = np.ceil(cnt * mult_v[r] * prd[m])
            out.append(
                _lines(
                    r,
                    np.zeros(len(r), dtype=np.int64),
                    item,
                    cnt,
                    np.where(is_drug[item], prd[m], np.nan),
                    doc_v[r],
                    sec_v[r] + rng.integers(0, 900, len(r)),
                )
            )
    extra = visits["extra_item"].to_numpy()
    r = np.flatnonzero((extra >= 0) & (cat != STAY))
    prd = np.where(prd_v[r] > 0, prd_v[r], 7)
    drug = is_drug[extra[r]]
    out.append(
        _lines(
            r,
            np.zeros(len(r), dtype=np.int64),
            extra[r],
            np.where(drug, prd, 1.0),
            np.where(drug, prd, np.nan),
            doc_v[r],
            sec_v[r] + rng.integers(0, 900, len(r)),
        )
    )
    hv = visits["hv_item"].to_numpy()
    r = np.flatnonzero((hv >= 0) & (cat != STAY))
    n = rng.integers(3, 7, len(r))
    out.append(
        _lines(
            r,
            np.zeros(len(r), dtype=np.int64),
            hv[r],
            n.astype(float),
            n.astype(float),
            doc_v[r],
            sec_v[r] + rng.integers(0, 900, len(r)),
        )
    )
    return out
