"""Over-prescription (超量开药 / 超量用药): supply above the limits, stockpiling, resale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import (
    Signals,
    concat_evidence,
    day_text,
    evidence,
    first_rows,
    listing,
    num_text,
    robust_z,
)
from features.config import FeatureSettings
from features.contract import Level, Pattern
from features.frames import DAY, PersonFrames, days_between
from features.population import Population

P = Pattern.OVER_PRESCRIPTION


def _drug_lines(pf: PersonFrames) -> pd.DataFrame:
    return pf.derived("drug_lines", _build_drug_lines)


def _build_drug_lines(pf: PersonFrames) -> pd.DataFrame:
    """Drug lines of outpatient and pharmacy visits that state a supply (prd_days > 0)."""
    lines = pf.lines
    stay = pf.visits["is_stay"].to_numpy()[lines["v"].to_numpy()]
    keep = lines["is_drug"].to_numpy() & ~stay & (lines["prd_days"].fillna(0).to_numpy() > 0)
    return lines.loc[keep]


def supply_limits(pf: PersonFrames, s: FeatureSettings) -> tuple[np.ndarray, np.ndarray]:
    """The supply limit (days) of each visit by its kind, and why, per the national rules:
    ordinary 7, emergency 3, chronic 28 (84 for a stable chronic patient), pharmacy."""
    visits = pf.visits
    order = visits.sort_values(["psn_i", "first_setl_time"])
    chronic_seen = order["is_chronic"].astype(int).groupby(order["psn_i"]).cumsum()
    stable = (order["is_chronic"] & (chronic_seen > 1)).reindex(visits.index).to_numpy(bool)
    limit = np.select(
        [
            visits["is_emergency"].to_numpy(),
            stable,
            visits["is_chronic"].to_numpy(),
            visits["is_pharmacy"].to_numpy(),
        ],
        [
            s.emergency_supply_days,
            s.long_prescription_max_days,
            s.chronic_supply_days,
            s.pharmacy_supply_days,
        ],
        s.ordinary_supply_days,
    ).astype("float64")
    why = np.select(
        [
            visits["is_emergency"].to_numpy(),
            stable,
            visits["is_chronic"].to_numpy(),
            visits["is_pharmacy"].to_numpy(),
        ],
        [
            "emergency prescription",
            "long prescription, stable chronic patient",
            "chronic outpatient",
            "pharmacy purchase",
        ],
        "ordinary outpatient prescription",
    )
    return limit, why


def supply_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Drug lines supplying more days than the visit's limit (or the item's max_prd_days)."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    dl = _drug_lines(pf)
    limit_v, why_v = supply_limits(pf, s)
    v = dl["v"].to_numpy()
    limit = limit_v[v]
    why = why_v[v].astype(object)
    if "max_prd_days" in dl:
        item_max = dl["max_prd_days"].to_numpy(dtype="float64")
        lower = item_max < limit
        limit = np.where(lower, item_max, limit)
        why = np.where(lower, "catalogue limit of the item", why)
    excess = dl["prd_days"].to_numpy() - limit
    over = excess > 0
    hit = dl.loc[over]
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
        item = (
            "item "
            + shown["item"]
            + " "
            + num_text(shown["prd_days"])
            + " days supplied, limit "
            + num_text(pd.Series(limit[over][first], index=shown.index))
            + " ("
            + pd.Series(why[over][first], index=shown.index).astype("string")
            + ")"
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
            + hit["item"]
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
    fills = dl.groupby(["psn_i", "item_i", "v"], sort=False).agg(
        day=("day", "min"), supply=("prd_days", "sum"), item=("item", "first")
    )
    fills = fills.reset_index().sort_values(["psn_i", "item_i", "day", "v"])
    return fills


def refill_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Refills of the same drug long before the previous supply runs out."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    fills = _fills(pf)
    prev = fills.groupby(["psn_i", "item_i"], sort=False)[["day", "supply", "v"]].shift(1)
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
        pv = visits.iloc[hit["prev_v"].to_numpy()]
        elapsed = days_between(hit["day"], hit["prev_day"])
        item = (
            "item "
            + hit["item"]
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


def stockpile_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Days of one drug supplied across institutions against the days elapsed (person)."""
    visits = pf.visits
    fills = _fills(pf)
    fills = fills.assign(inst=visits["fixmedins_code"].to_numpy()[fills["v"].to_numpy()])
    g = fills.groupby(["psn_i", "item_i"], sort=False)
    per = g.agg(
        n=("v", "size"),
        first=("day", "min"),
        last=("day", "max"),
        supply=("supply", "sum"),
        last_supply=("supply", "last"),
        n_inst=("inst", "nunique"),
        item=("item", "first"),
        v=("v", "first"),
    )
    per = per.loc[per["n"] >= 2].reset_index()
    elapsed = days_between(per["last"], per["first"]).clip(lower=1)
    per["ratio"] = (per["supply"] - per["last_supply"]) / elapsed
    per["psn_no"] = visits["psn_no"].to_numpy()[per["v"].to_numpy()]
    top = per.sort_values("ratio", ascending=False).drop_duplicates("psn_no").set_index("psn_no")
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
    per = pop.doctor_visits.groupby("doctor").agg(hv=("aux_hv_drug_amt", "sum"))
    return per["hv"].reindex(pop.doctor_index).fillna(0)


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
    n = b.groupby(["doctor", "aux_drug_basket_key"])["psn_no"].nunique().rename("n").reset_index()
    top = n.sort_values("n", ascending=False).drop_duplicates("doctor").set_index("doctor")
    out["op_doc_same_basket_persons"] = top["n"].reindex(docs).fillna(0).astype("float64")
    bflag = (top["n"] >= s.same_basket_min_persons).reindex(docs, fill_value=False)
    out["op_doc_same_basket_flag"] = bflag.astype(bool).to_numpy()
    if bflag.any():
        f = top.loc[bflag[bflag].index]
        key = pd.MultiIndex.from_arrays([f.index, f["aux_drug_basket_key"]])
        members = b.loc[pd.MultiIndex.from_frame(b[["doctor", "aux_drug_basket_key"]]).isin(key)]
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
    vis = visits.iloc[vv]
    text = (
        "Visit "
        + vis.index.to_series()
        + " at "
        + vis["fixmedins_code"]
        + " on "
        + day_text(vis["begndate"])
        + ": "
        + listed.to_numpy()
    )
    ids = "mdtrt_id=" + vis.index.to_series() + "; setl_id=" + vis["first_setl_id"]
    return evidence(Level.VISIT, feature, P, vis.index, text, ids)
