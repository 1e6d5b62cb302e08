"""Bed-hanging (挂床住院): an inpatient on the books who is not really there or not treated."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import (
    Signals,
    concat_evidence,
    day_text,
    evidence,
    isin_ints,
    listing,
    num_text,
    peer_ratio,
)
from features.config import FeatureSettings
from features.contract import Level, Pattern
from features.frames import DAY, PersonFrames
from features.population import Population

P = Pattern.BED_HANGING


def stay_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Empty days and their longest run, exam and drug shares of each stay."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    stay = visits["is_stay"].to_numpy()
    lines = pf.lines
    on_stay = stay[lines["v"].to_numpy()]
    sl = lines.loc[on_stay, ["v", "day", "is_bed", "is_care", "is_exam", "is_drug", "amt"]]
    beg = visits["begndate"].to_numpy()[sl["v"].to_numpy()]
    end = visits["enddate"].to_numpy()[sl["v"].to_numpy()]
    day = sl["day"].to_numpy()
    in_stay = (day >= beg) & (day <= end)
    days = pd.DataFrame(
        {
            "v": sl["v"].to_numpy()[in_stay],
            "day": day[in_stay],
            "bed": sl["is_bed"].to_numpy(dtype=bool)[in_stay],
            "care": sl["is_care"].to_numpy(dtype=bool)[in_stay],
        },
        copy=False,
    )
    per_day = days.groupby(["v", "day"], sort=True).agg(bed=("bed", "max"), care=("care", "max"))
    empty = per_day.loc[per_day["bed"] & ~per_day["care"]].reset_index()[["v", "day"]]
    n_empty = np.bincount(empty["v"].to_numpy(), minlength=len(visits))
    new_run = (empty["v"].diff().ne(0)) | (empty["day"].diff() != DAY)
    empty["run"] = new_run.cumsum()
    runs = empty.groupby("run").agg(v=("v", "first"), start=("day", "min"), n=("day", "size"))
    runs = runs.sort_values(["v", "n"], ascending=[True, False]).drop_duplicates("v")
    longest = np.zeros(len(visits))
    longest[runs["v"].to_numpy()] = runs["n"].to_numpy()
    out["bh_empty_days"] = n_empty.astype("float64")
    out["bh_longest_empty_run"] = longest
    out["bh_empty_run_flag"] = longest >= s.empty_day_min_run

    amt = sl["amt"].to_numpy()
    v = sl["v"].to_numpy()
    total = np.bincount(v, weights=amt, minlength=len(visits))
    exam = np.bincount(v, weights=amt * sl["is_exam"].to_numpy(bool), minlength=len(visits))
    drug = np.bincount(v, weights=amt * sl["is_drug"].to_numpy(bool), minlength=len(visits))
    with np.errstate(invalid="ignore", divide="ignore"):
        exam_share = np.where(stay & (total > 0), exam / total, np.nan)
        drug_share = np.where(stay & (total > 0), drug / total, np.nan)
    out["bh_exam_share"] = exam_share
    out["bh_drug_share"] = drug_share
    out["bh_exam_heavy_flag"] = np.nan_to_num(exam_share) >= s.exam_share_threshold

    ev: list[pd.DataFrame] = []
    flagged = runs.loc[runs["n"] >= s.empty_day_min_run]
    if len(flagged):
        fv = flagged["v"].to_numpy()
        e = empty.loc[isin_ints(empty["v"].to_numpy(), fv)]
        dates = listing(e["v"], day_text(e["day"]), s.evidence_max_items)
        vis = visits.iloc[fv]
        run_end = flagged["start"] + (flagged["n"] - 1) * DAY
        text = (
            _stay_text(vis)
            + ": "
            + num_text(pd.Series(n_empty[fv], index=vis.index))
            + " day(s) with a bed fee and no treatment, nursing, drug or exam item ("
            + dates.reindex(fv).to_numpy()
            + "); longest run "
            + num_text(pd.Series(flagged["n"].to_numpy(), index=vis.index))
            + " days from "
            + day_text(pd.Series(flagged["start"].to_numpy(), index=vis.index))
            + " to "
            + day_text(pd.Series(run_end.to_numpy(), index=vis.index))
        )
        ids = "mdtrt_id=" + vis.index.to_series() + "; days=" + dates.reindex(fv).to_numpy()
        ev.append(evidence(Level.VISIT, "bh_empty_run_flag", P, vis.index, text, ids))
    heavy = np.flatnonzero(out["bh_exam_heavy_flag"].to_numpy())
    if len(heavy):
        vis = visits.iloc[heavy]
        text = (
            _stay_text(vis)
            + ": examinations and lab tests are "
            + num_text(pd.Series(exam_share[heavy] * 100, index=vis.index))
            + "% of the bill (threshold "
            + f"{s.exam_share_threshold:.0%})"
        )
        ids = "mdtrt_id=" + vis.index.to_series()
        ev.append(evidence(Level.VISIT, "bh_exam_heavy_flag", P, vis.index, text, ids))
    return Signals(out, concat_evidence(ev))


def elsewhere_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Settlements of the same person at another institution during a stay."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    cols = ["psn_i", "fixmedins_code", "begndate", "enddate"]
    stays = visits.loc[visits["is_stay"], cols].assign(sv=np.flatnonzero(visits["is_stay"]))
    other = visits.loc[~visits["is_stay"], ["psn_i", "fixmedins_code", "begndate"]]
    other = other.assign(ov=np.flatnonzero(~visits["is_stay"].to_numpy()))
    pairs = stays.merge(other, on="psn_i", suffixes=("", "_o"))
    hit = pairs.loc[
        (pairs["fixmedins_code_o"] != pairs["fixmedins_code"])
        & (pairs["begndate_o"] > pairs["begndate"])
        & (pairs["begndate_o"] < pairs["enddate"])
    ]
    count = np.bincount(hit["sv"].to_numpy(), minlength=len(visits)).astype("float64")
    out["bh_settlements_elsewhere"] = count
    if s.elsewhere_regular_medicine_exempt:
        hit = hit.loc[~_regular_medicine(pf, hit)]
    counted = np.bincount(hit["sv"].to_numpy(), minlength=len(visits))
    out["bh_elsewhere_flag"] = counted >= s.elsewhere_min_settlements
    ev: list[pd.DataFrame] = []
    hit = hit.loc[counted[hit["sv"].to_numpy()] >= s.elsewhere_min_settlements]
    if len(hit):
        ov = hit["ov"].to_numpy()
        o = visits[["begndate", "first_setl_id", "fixmedins_code", "med_type"]].iloc[ov]
        item = (
            "settlement "
            + o["first_setl_id"].to_numpy()
            + " (visit "
            + o.index.to_numpy()
            + ", med_type "
            + o["med_type"].to_numpy()
            + ") at "
            + o["fixmedins_code"].to_numpy()
            + " on "
            + day_text(o["begndate"]).to_numpy()
        )
        listed = listing(hit["sv"], pd.Series(item), s.evidence_max_items, sep="; ")
        id_list = listing(hit["sv"], pd.Series(o["first_setl_id"].to_numpy()), 50, sep=",")
        sv = listed.index.to_numpy()
        vis = visits.iloc[sv]
        text = _stay_text(vis) + ": the same person settled elsewhere during the stay: "
        text = text + listed.to_numpy()
        ids = "mdtrt_id=" + vis.index.to_series() + "; setl_id=" + id_list.reindex(sv).to_numpy()
        ev.append(evidence(Level.VISIT, "bh_elsewhere_flag", P, vis.index, text, ids))
    return Signals(out, concat_evidence(ev))


def _regular_medicine(pf: PersonFrames, hit: pd.DataFrame) -> np.ndarray:
    """Which (stay, other visit) pairs are pharmacy purchases of drugs the person had already
    bought before the stay: the regular medicine a relative may fetch."""
    visits = pf.visits
    pharmacy = visits["is_pharmacy"].to_numpy()[hit["ov"].to_numpy()]
    if not pharmacy.any():
        return np.zeros(len(hit), dtype=bool)
    lines = pf.lines
    # the drug lines of the persons concerned only
    concerned = hit["psn_i"].to_numpy()[pharmacy]
    psn_i = lines["psn_i"].to_numpy()
    keep = lines["is_drug"].to_numpy() & isin_ints(psn_i, concerned)
    drug = lines.loc[keep, ["v", "psn_i", "item_i", "day"]]
    first = drug.groupby(["psn_i", "item_i"])["day"].min().rename("first").reset_index()
    ph = hit.loc[pharmacy, ["sv", "ov", "begndate"]].reset_index(names="pair")
    bought = ph.merge(drug[["v", "psn_i", "item_i"]], left_on="ov", right_on="v")
    bought = bought.merge(first, on=["psn_i", "item_i"], how="left")
    bought["known"] = (bought["first"] < bought["begndate"]).fillna(False)
    regular = bought.groupby("pair")["known"].all()
    out = pd.Series(False, index=hit.index)
    out.loc[regular.index[regular.to_numpy(bool)]] = True
    return out.to_numpy(bool)


def stay_daily_costs(visits: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Daily cost of each stay and its peer group (diagnosis chapter and hospital level)."""
    st = visits[["chapter", "hosp_lv", "medfee", "stay_days"]].loc[visits["is_stay"].to_numpy()]
    daily = st["medfee"] / st["stay_days"]
    return daily, st["chapter"].astype(str) + "|" + st["hosp_lv"].astype(str)


def daily_cost_signals(pop: Population, s: FeatureSettings) -> Signals:
    """Daily cost of a stay against peer stays of the same diagnosis chapter and level."""
    visits = pop.visits
    out = pd.DataFrame(index=visits.index)
    stay = visits["is_stay"].to_numpy()
    st = visits.loc[stay]
    daily, group = stay_daily_costs(visits)
    ratio = peer_ratio(daily, group, s.peer_min_group_size, pop.stay_cost_peers)
    peer = np.full(len(visits), np.nan)
    peer[stay] = ratio.to_numpy(dtype="float64")  # st: the stays, in visit order
    out["bh_daily_cost_peer_ratio"] = peer
    cheap = (ratio <= s.cheap_stay_cost_ratio) & (st["stay_days"] >= s.long_stay_min_days)
    cheap_stay = np.zeros(len(visits), dtype=bool)
    cheap_stay[stay] = cheap.to_numpy(dtype=bool)
    out["bh_cheap_long_stay_flag"] = cheap_stay
    ev: list[pd.DataFrame] = []
    if cheap.any():
        vis = st.loc[cheap]
        text = (
            _stay_text(vis)
            + ": "
            + num_text(vis["stay_days"])
            + " days at "
            + num_text(daily[cheap], 2)
            + " yuan/day, "
            + num_text(ratio[cheap], 2)
            + "× the median of peer stays (diagnosis chapter "
            + vis["chapter"]
            + ", hospital level "
            + vis["hosp_lv"]
            + ")"
        )
        ids = "mdtrt_id=" + vis.index.to_series()
        ev.append(evidence(Level.VISIT, "bh_cheap_long_stay_flag", P, vis.index, text, ids))
    return Signals(out, concat_evidence(ev))


def institution_signals(pop: Population, s: FeatureSettings) -> Signals:
    """Share of stays with empty days or mainly check-ups/drugs; same-day admission clusters."""
    visits = pop.visits
    inst = pop.institution_index
    st = visits.loc[visits["is_stay"]]
    by = st.groupby("fixmedins_code")
    n_stays = by.size().reindex(inst, fill_value=0)
    out = pd.DataFrame(index=inst)
    empty = st["bh_empty_run_flag"].astype(float).groupby(st["fixmedins_code"]).sum()
    out["bh_inst_empty_day_stay_share"] = (empty.reindex(inst) / n_stays.where(n_stays > 0)).astype(
        "float64"
    )
    checkup = (st["bh_exam_share"].fillna(0) >= s.exam_share_threshold) | (
        st["bh_drug_share"].fillna(0) >= s.drug_share_threshold
    )
    ck = checkup.astype(float).groupby(st["fixmedins_code"]).sum()
    out["bh_inst_checkup_stay_share"] = (ck.reindex(inst) / n_stays.where(n_stays > 0)).astype(
        "float64"
    )

    daily = st.groupby(["fixmedins_code", "begndate"]).size().rename("n").reset_index()
    usual = daily.groupby("fixmedins_code")["n"].median()
    counts = st.groupby(["fixmedins_code", "begndate", "insuplc_admdvs"]).size()
    region = counts.rename("n").reset_index().sort_values("n", ascending=False)
    peak = region.drop_duplicates("fixmedins_code").set_index("fixmedins_code")
    peak_ratio = peak["n"] / usual.reindex(peak.index).clip(lower=1)
    out["bh_inst_admission_cluster"] = peak_ratio.reindex(inst).fillna(0).astype("float64")
    flag = (peak["n"] >= s.admission_cluster_min) & (peak_ratio >= s.admission_cluster_ratio)
    out["bh_inst_admission_cluster_flag"] = flag.reindex(inst, fill_value=False).astype(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        f = peak.loc[flag]
        text = (
            "Institution "
            + f.index.to_series()
            + ": "
            + num_text(f["n"])
            + " admissions on "
            + day_text(f["begndate"])
            + " of persons insured in region "
            + f["insuplc_admdvs"].astype("string")
            + ", "
            + num_text(peak_ratio[flag], 1)
            + "× its usual daily admissions"
        )
        ids = "fixmedins_code=" + f.index.to_series() + "; date=" + day_text(f["begndate"])
        ev.append(
            evidence(Level.INSTITUTION, "bh_inst_admission_cluster_flag", P, f.index, text, ids)
        )
    return Signals(out, concat_evidence(ev))


def bed_occupancy_signals(pop: Population, s: FeatureSettings) -> Signals:
    """Peak concurrent inpatients of an institution against its approved beds."""
    inst = pop.institution_index
    st = pop.visits.loc[pop.visits["is_stay"], ["fixmedins_code", "begndate", "enddate"]]
    events = pd.concat(
        [
            pd.DataFrame({"i": st["fixmedins_code"], "d": st["begndate"], "x": 1}),
            pd.DataFrame({"i": st["fixmedins_code"], "d": st["enddate"] + DAY, "x": -1}),
        ],
        ignore_index=True,
    )
    per_day = events.groupby(["i", "d"], sort=True)["x"].sum().reset_index()
    per_day["occupied"] = per_day.groupby("i")["x"].cumsum()
    peak = per_day.sort_values("occupied", ascending=False).drop_duplicates("i").set_index("i")
    table = pop.institutions.drop_duplicates("fixmedins_code").set_index("fixmedins_code")
    beds = pd.to_numeric(table["aprv_bed_cnt"]).reindex(inst)
    ratio = peak["occupied"].reindex(inst).fillna(0) / beds.where(beds > 0)
    out = pd.DataFrame(index=inst)
    out["bh_inst_peak_bed_occupancy"] = ratio.astype("float64")
    flag = ratio.fillna(0) > s.beds_occupancy_limit
    out["bh_inst_over_beds_flag"] = flag.astype(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        f = peak.reindex(inst[flag.to_numpy()])
        text = (
            "Institution "
            + f.index.to_series()
            + ": "
            + num_text(f["occupied"])
            + " concurrent inpatients on "
            + day_text(f["d"])
            + " against "
            + num_text(beds[flag])
            + " approved beds"
        )
        ids = "fixmedins_code=" + f.index.to_series() + "; date=" + day_text(f["d"])
        ev.append(evidence(Level.INSTITUTION, "bh_inst_over_beds_flag", P, f.index, text, ids))
    return Signals(out, concat_evidence(ev))


def _stay_text(vis: pd.DataFrame) -> pd.Series:
    return (
        "Stay "
        + vis.index.to_series().astype("string")
        + " at "
        + vis["fixmedins_code"].astype("string")
        + " ("
        + day_text(vis["begndate"])
        + " to "
        + day_text(vis["enddate"])
        + ")"
    )
