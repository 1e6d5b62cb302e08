"""Over-prescription (超量开药 / 超量用药): supply above the limits, stockpiling, resale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import (
    COMPILED_MIN_ROWS,
    Signals,
    concat_evidence,
    day_text,
    evidence,
    first_rows,
    group_cumsum,
    group_sums,
    join_text,
    listing,
    num_text,
    robust_z,
    row_key,
    sort_order,
    stable_argsort,
    unique_ints,
)
from features.config import FeatureSettings
from features.contract import Level, Pattern
from features.frames import DAY, PersonFrames, days_between, item_code, with_limits
from features.population import Population

P = Pattern.OVER_PRESCRIPTION
_DRUG_LINE_COLUMNS = ("v", "psn_i", "day", "item_i", "cnt", "prd_days")
"""The fee-line columns the drug signals read (and the limits below of their items); the
item codes are looked up for the lines an evidence line shows (``item_code``)."""
_DRUG_LIMITS = ("max_prd_days", "max_daily_cnt")


def _drug_lines(pf: PersonFrames) -> pd.DataFrame:
    return pf.derived("drug_lines", _build_drug_lines)


def _build_drug_lines(pf: PersonFrames) -> pd.DataFrame:
    """Drug lines of outpatient and pharmacy visits that state a supply (prd_days > 0)."""
    lines = pf.lines
    stay = pf.visits["is_stay"].to_numpy()[lines["v"].to_numpy()]
    keep = lines["is_drug"].to_numpy() & ~stay & (lines["prd_days"].fillna(0).to_numpy() > 0)
    drug = lines.loc[keep, [c for c in lines.columns if c in _DRUG_LINE_COLUMNS]]
    return with_limits(pf, drug, _DRUG_LIMITS)


def supply_limits(pf: PersonFrames, s: FeatureSettings) -> tuple[np.ndarray, np.ndarray]:
    """The supply limit (days) of each visit by its kind, and the kind (why: its text in
    ``SUPPLY_KINDS``), per the national rules: ordinary 7, emergency 3, chronic 28 (84 for
    a stable chronic patient), pharmacy."""
    visits = pf.visits
    psn = visits["psn_i"].to_numpy()
    order = sort_order(psn, visits["first_setl_time"].to_numpy())
    chronic = visits["is_chronic"].to_numpy(bool)[order]
    chronic_seen = group_cumsum(psn[order], chronic.astype(np.int64))
    stable = np.zeros(len(visits), dtype=bool)
    stable[order] = chronic & (chronic_seen > 1)
    kind = np.select(
        [
            visits["is_emergency"].to_numpy(),
            stable,
            visits["is_chronic"].to_numpy(),
            visits["is_pharmacy"].to_numpy(),
        ],
        [0, 1, 2, 3],
        4,
    )
    days = [
        s.emergency_supply_days,
        s.long_prescription_max_days,
        s.chronic_supply_days,
        s.pharmacy_supply_days,
        s.ordinary_supply_days,
    ]
    return np.asarray(days, dtype="float64")[kind], kind


SUPPLY_KINDS = np.array(
    [
        "emergency prescription",
        "long prescription, stable chronic patient",
        "chronic outpatient",
        "pharmacy purchase",
        "ordinary outpatient prescription",
    ],
    dtype=object,
)
"""Why a visit has its supply limit, by the kind ``supply_limits`` gives."""


def supply_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Drug lines supplying more days than the visit's limit (or the item's max_prd_days)."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    dl = _drug_lines(pf)
    limit_v, why_v = supply_limits(pf, s)
    v = dl["v"].to_numpy()
    limit = limit_v[v]
    lower = np.zeros(len(dl), dtype=bool)
    if "max_prd_days" in dl:
        item_max = dl["max_prd_days"].to_numpy(dtype="float64")
        lower = item_max < limit
        limit = np.where(lower, item_max, limit)
    excess = dl["prd_days"].to_numpy() - limit
    over = excess > 0
    hit = dl.loc[over, ["v", "item_i", "prd_days"]]
    count = np.bincount(hit["v"].to_numpy(), minlength=len(visits)).astype("float64")
    worst = np.zeros(len(visits))
    ratio = pd.Series((dl["prd_days"].to_numpy() / limit)[over]).groupby(v[over]).max()
    worst[ratio.index.to_numpy()] = ratio.to_numpy()
    out["op_supply_over_limit_lines"] = count
    out["op_supply_limit_ratio"] = worst
    out["op_supply_over_limit_flag"] = count > 0
    ev: list[pd.DataFrame] = []
    if len(hit):
        # the text of the listed lines only (many lines can be over the limit)
        first, totals = first_rows(hit["v"].to_numpy(), s.evidence_max_items)
        shown = hit.loc[first]
        at = np.flatnonzero(over)[first]
        why = np.where(lower[at], "catalogue limit of the item", SUPPLY_KINDS[why_v[v[at]]])
        item = join_text(
            "item ",
            item_code(pf, shown),
            " ",
            num_text(shown["prd_days"]),
            " days supplied, limit ",
            num_text(pd.Series(limit[over][first], index=shown.index)),
            " (",
            pd.Series(why, index=shown.index).astype("string"),
            ")",
        )
        ev.append(
            _visit_evidence(visits, shown, item, "op_supply_over_limit_flag", s, totals[first])
        )
    return Signals(out, concat_evidence(ev))


def daily_quantity_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Drug lines giving more units per day than the item's ``max_daily_cnt``."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    dl = _drug_lines(pf)
    dl = dl.loc[dl["max_daily_cnt"].notna().to_numpy(bool)]
    per_day = dl["cnt"] / dl["prd_days"]
    over = (per_day > dl["max_daily_cnt"]).to_numpy(bool)
    hit = dl.loc[over]
    count = np.bincount(hit["v"].to_numpy(), minlength=len(visits)).astype("float64")
    out["op_daily_quantity_over_limit_lines"] = count
    out["op_daily_quantity_flag"] = count > 0
    ev: list[pd.DataFrame] = []
    if len(hit):
        item = (
            "item "
            + item_code(pf, hit)
            + " "
            + num_text(per_day[over], 1)
            + " units/day ("
            + num_text(hit["cnt"], 1)
            + " over "
            + num_text(hit["prd_days"])
            + " days), limit "
            + num_text(hit["max_daily_cnt"], 1)
        )
        ev.append(_visit_evidence(visits, hit, item, "op_daily_quantity_flag", s))
    return Signals(out, concat_evidence(ev))


def _fills(pf: PersonFrames) -> pd.DataFrame:
    return pf.derived("fills", _build_fills)


def _build_fills(pf: PersonFrames) -> pd.DataFrame:
    """One row per (person, drug, visit): the fill's day and days supplied, in time order."""
    dl = _drug_lines(pf)
    keys = ["psn_i", "item_i", "v"]
    day = dl["day"].to_numpy()
    if np.isnat(day).any():
        fills = dl.groupby(keys, sort=False).agg(day=("day", "min"), supply=("prd_days", "sum"))
        fills = fills.reset_index()
        cols = {c: fills[c].to_numpy() for c in fills.columns}
    else:
        # the group-by of (person, drug, visit) on the fill's integer code, its lines side
        # by side in row order (one stable sort); the groups' order does not matter, the
        # fills are put in time order below
        key = row_key(dl, keys)
        order = stable_argsort(key)
        ordered = key[order]
        start = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(key) else order
        at = order[start]
        cols = {c: dl[c].to_numpy()[at].astype(np.int64, copy=False) for c in keys}
        cols["day"] = np.minimum.reduceat(day[order], start) if len(key) else day[:0]
        supply = dl["prd_days"].to_numpy(dtype="float64")[order]  # > 0: drug lines state it
        cols["supply"] = np.add.reduceat(supply, start) if len(key) else supply[:0]
    # in time order, each column taken once and framed once (a frame's take and column
    # assignments copy every column)
    order = _time_order(cols)
    taken = {c: values[order] for c, values in cols.items()}
    return pd.DataFrame(taken, index=pd.RangeIndex(len(order)).take(order), copy=False)


def _time_order(fills: dict[str, np.ndarray]) -> np.ndarray:
    """The order of fills by (person, drug, day, visit). Many fills grouped in (person,
    drug) order (the usual case) are put in order within each person's drug by a
    compiled loop; others are sorted."""
    psn, item, day, v = (fills[c] for c in ("psn_i", "item_i", "day", "v"))
    ordered = len(psn) < 2 or bool(
        ((psn[1:] > psn[:-1]) | ((psn[1:] == psn[:-1]) & (item[1:] >= item[:-1]))).all()
    )
    if not ordered or len(psn) < COMPILED_MIN_ROWS or np.isnat(day).any():
        return sort_order(psn, item, day, v)
    from features import kernels

    return kernels.order_within_runs(
        psn.astype(np.int64, copy=False),
        item.astype(np.int64, copy=False),
        day.view(np.int64),
        v.astype(np.int64, copy=False),
    )


def _previous_fill(fills: pd.DataFrame) -> pd.DataFrame:
    """Day, supply and visit of the previous fill of the same person and drug (fills are
    in (person, drug, day) order): ``groupby(["psn_i", "item_i"]).shift(1)``."""
    psn, item = fills["psn_i"].to_numpy(), fills["item_i"].to_numpy()
    same = np.r_[False, (psn[1:] == psn[:-1]) & (item[1:] == item[:-1])]
    day = fills["day"].to_numpy()
    if len(day) == 0:
        return fills[["day", "supply", "v"]].copy()
    before = np.r_[day[:1], day[:-1]]
    return pd.DataFrame(
        {
            "day": np.where(same, before, np.datetime64("NaT")).astype(day.dtype),
            "supply": np.where(same, np.r_[np.nan, fills["supply"].to_numpy()[:-1]], np.nan),
            "v": np.where(same, np.r_[np.nan, fills["v"].to_numpy()[:-1]], np.nan),
        },
        index=fills.index,
        copy=False,
    )


def refill_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Refills of the same drug long before the previous supply runs out."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    fills = _fills(pf)
    prev = _previous_fill(fills)
    due = prev["day"] + prev["supply"] * (1 - s.refill_tolerance_share) * DAY
    early = (fills["day"] < due).fillna(False).to_numpy(bool)
    hit = fills.loc[early].assign(
        prev_day=prev.loc[early, "day"],
        prev_supply=prev.loc[early, "supply"],
        prev_v=prev.loc[early, "v"].astype("int64"),
    )
    count = np.bincount(hit["v"].to_numpy(), minlength=len(visits)).astype("float64")
    out["op_early_refills"] = count
    out["op_early_refill_flag"] = count > 0
    ev: list[pd.DataFrame] = []
    if len(hit):
        pv = visits[["fixmedins_code"]].iloc[hit["prev_v"].to_numpy()]
        elapsed = days_between(hit["day"], hit["prev_day"])
        item = (
            "item "
            + item_code(pf, hit)
            + " refilled on "
            + day_text(hit["day"])
            + ", "
            + num_text(elapsed)
            + " day(s) after a "
            + num_text(hit["prev_supply"])
            + "-day supply on "
            + day_text(hit["prev_day"])
            + " at "
            + pv["fixmedins_code"].to_numpy()
            + " (visit "
            + pv.index.to_numpy()
            + ")"
        )
        ev.append(_visit_evidence(visits, hit, item, "op_early_refill_flag", s))
    return Signals(out, concat_evidence(ev))


def _per_drug(fills: pd.DataFrame) -> pd.DataFrame:
    """Fills, supply and institutions per (person, drug) from the fills in (person, drug,
    day) order: the group-by below, on the runs of each (person, drug)."""
    day = fills["day"].to_numpy()
    supply = fills["supply"].to_numpy(dtype="float64")
    inst = fills["inst"].to_numpy()
    if len(fills) == 0 or np.isnat(day).any() or np.isnan(supply).any() or (inst < 0).any():
        return fills.groupby(["psn_i", "item_i"], sort=False).agg(
            n=("v", "size"),
            first=("day", "min"),
            last=("day", "max"),
            supply=("supply", "sum"),
            last_supply=("supply", "last"),
            n_inst=("inst", "nunique"),
            v=("v", "first"),
        )
    psn, item = fills["psn_i"].to_numpy(), fills["item_i"].to_numpy()
    start = np.flatnonzero(np.r_[True, (psn[1:] != psn[:-1]) | (item[1:] != item[:-1])])
    counts = np.diff(np.r_[start, len(fills)])
    group = np.repeat(np.arange(len(start)), counts)
    width = int(inst.max()) + 1
    places = unique_ints(group.astype(np.int64) * width + inst)
    index = pd.MultiIndex.from_arrays([psn[start], item[start]], names=["psn_i", "item_i"])
    return pd.DataFrame(
        {
            "n": counts.astype(np.int64),
            "first": np.minimum.reduceat(day, start),
            "last": np.maximum.reduceat(day, start),
            "supply": group_sums(group, [supply], len(start))[0],
            "last_supply": supply[start + counts - 1],
            "n_inst": np.bincount(places // width, minlength=len(start)).astype(np.int64),
            "v": fills["v"].to_numpy()[start].astype(np.int64),
        },
        index=index,
        copy=False,
    )


def stockpile_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Days of one drug supplied across institutions against the days elapsed (person)."""
    visits = pf.visits
    fills = _fills(pf)
    institution, _ = pd.factorize(visits["fixmedins_code"])
    fills = fills[["psn_i", "item_i", "v", "day", "supply"]].assign(
        inst=institution[fills["v"].to_numpy()]
    )
    per = _per_drug(fills)
    per = per.loc[per["n"] >= 2].reset_index()
    elapsed = days_between(per["last"], per["first"]).clip(lower=1)
    per["ratio"] = (per["supply"] - per["last_supply"]) / elapsed
    top = per.sort_values("ratio", ascending=False).drop_duplicates("psn_i")
    top = top.set_index(pd.Index(visits["psn_no"].array.take(top["v"].to_numpy()), name="psn_no"))
    top["item"] = item_code(pf, top)
    persons = pd.Index(visits["psn_no"].unique(), dtype="string", name="subject_id")
    out = pd.DataFrame(index=persons)
    out["op_stockpile_ratio"] = top["ratio"].reindex(persons).fillna(0).astype("float64")
    flag = top["ratio"] > s.stockpile_supply_ratio
    out["op_stockpile_flag"] = flag.reindex(persons, fill_value=False).astype(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        f = top.loc[flag]
        text = (
            "Person "
            + f.index.to_series().astype("string")
            + ": item "
            + f["item"]
            + " filled "
            + num_text(f["n"])
            + " times at "
            + num_text(f["n_inst"])
            + " institution(s) between "
            + day_text(f["first"])
            + " and "
            + day_text(f["last"])
            + ", "
            + num_text(f["supply"] - f["last_supply"])
            + " days supplied before the last fill for "
            + num_text(days_between(f["last"], f["first"]).clip(lower=1))
            + " days elapsed"
        )
        ids = "psn_no=" + f.index.to_series().astype("string") + "; hilist_code=" + f["item"]
        ev.append(evidence(Level.PERSON, "op_stockpile_flag", P, f.index, text, ids))
    return Signals(out, concat_evidence(ev))


def doctor_signals(pop: Population, s: FeatureSettings) -> Signals:
    """High-value drug volume against specialty peers; one drug basket for many persons."""
    groups = pop.doctor_peer_group.reindex(pop.doctor_index).fillna("?")
    volume = judge_drug_volume(doctor_drug_volume(pop), groups, s)
    basket = doctor_basket_signals(pop, s)
    return Signals(
        pd.concat([volume.values, basket.values], axis=1),
        concat_evidence([volume.evidence, basket.evidence]),
    )


def doctor_drug_volume(pop: Population) -> pd.Series:
    """Each doctor's amount of high-value drugs (a sum over the doctor's visits)."""
    codes = pop.doctor_codes
    hv = pd.Series(pop.doctor_visits["aux_hv_drug_amt"].to_numpy()).groupby(codes).sum()
    hv = hv[hv.index >= 0]
    total = np.zeros(len(pop.doctor_index))
    total[hv.index.to_numpy()] = hv.to_numpy()
    return pd.Series(total, index=pop.doctor_index, name="hv")


def judge_drug_volume(hv: pd.Series, groups: pd.Series, s: FeatureSettings) -> Signals:
    """The high-value drug signals of ``doctor_signals`` from every doctor's volume and
    peer group (the statistics over all doctors)."""
    docs = hv.index
    out = pd.DataFrame(index=docs)
    z, pct = robust_z(hv, groups, s.peer_min_group_size)
    out["op_doc_high_value_drug_peer_z"] = z.to_numpy()
    flag = (z >= s.peer_robust_z) & (pct >= s.peer_percentile) & (hv > 0)
    out["op_doc_high_value_drug_flag"] = flag.to_numpy(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        med = hv.groupby(groups).transform("median")
        who = docs[flag.to_numpy()]
        text = (
            "Doctor "
            + who.to_series()
            + ": "
            + num_text(hv[who], 2)
            + " yuan of high-value drugs (unit price ≥ "
            + f"{s.high_value_drug_unit_price:.0f}"
            + "), peer median "
            + num_text(med[who], 2)
            + " (peer group "
            + groups[who].astype("string")
            + ")"
        )
        ev.append(
            evidence(
                Level.DOCTOR,
                "op_doc_high_value_drug_flag",
                P,
                who,
                text,
                "doctor=" + who.to_series(),
            )
        )
    return Signals(out, concat_evidence(ev))


def doctor_basket_signals(pop: Population, s: FeatureSettings) -> Signals:
    """One identical drug basket given by a doctor to many persons (per doctor)."""
    dv = pop.doctor_visits
    docs = pop.doctor_index
    out = pd.DataFrame(index=docs)
    ev: list[pd.DataFrame] = []
    b = dv.loc[dv["aux_drug_items"] >= s.same_basket_min_items]
    n = (
        b.groupby(["doctor", "aux_drug_basket_key"], observed=True)["psn_no"]
        .nunique()
        .rename("n")
        .reset_index()
        .astype({"doctor": "string"})  # the doctor-visit rows may hold it as a categorical
    )
    top = n.sort_values("n", ascending=False).drop_duplicates("doctor").set_index("doctor")
    out["op_doc_same_basket_persons"] = top["n"].reindex(docs).fillna(0).astype("float64")
    bflag = (top["n"] >= s.same_basket_min_persons).reindex(docs, fill_value=False)
    out["op_doc_same_basket_flag"] = bflag.astype(bool).to_numpy()
    if bflag.any():
        f = top.loc[bflag[bflag].index]
        key = pd.MultiIndex.from_arrays([f.index, f["aux_drug_basket_key"]])
        theirs = b.loc[b["doctor"].isin(f.index).to_numpy(bool)]
        theirs = theirs.astype({"doctor": "string", "mdtrt_id": "string"})
        pair = pd.MultiIndex.from_frame(theirs[["doctor", "aux_drug_basket_key"]])
        members = theirs.loc[pair.isin(key)]
        listed = listing(members["doctor"], members["mdtrt_id"], s.evidence_max_items)
        text = (
            "Doctor "
            + f.index.to_series()
            + ": the identical drug basket prescribed to "
            + num_text(f["n"])
            + " different persons (visits "
            + listed.reindex(f.index)
            + ")"
        )
        ids = "doctor=" + f.index.to_series() + "; mdtrt_id=" + listed.reindex(f.index)
        ev.append(evidence(Level.DOCTOR, "op_doc_same_basket_flag", P, f.index, text, ids))
    return Signals(out, concat_evidence(ev))


def _visit_evidence(
    visits: pd.DataFrame,
    rows: pd.DataFrame,
    item: pd.Series,
    feature: str,
    s: FeatureSettings,
    totals: np.ndarray | None = None,
) -> pd.DataFrame:
    listed = listing(rows["v"], item, s.evidence_max_items, sep="; ", totals=totals)
    vv = listed.index.to_numpy()
    vis = visits[["begndate", "first_setl_id", "fixmedins_code"]].iloc[vv]
    visit_ids = vis.index.to_series()
    text = join_text(
        "Visit ",
        visit_ids,
        " at ",
        vis["fixmedins_code"],
        " on ",
        day_text(vis["begndate"]),
        ": ",
        listed,
    )
    ids = join_text("mdtrt_id=", visit_ids, "; setl_id=", vis["first_setl_id"])
    return evidence(Level.VISIT, feature, P, vis.index, text, ids)
