"""Split billing (分解住院 / 分解收费): one episode billed as several, one item as its parts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import (
    Signals,
    concat_evidence,
    day_text,
    evidence,
    isin_ints,
    join_text,
    listing,
    num_text,
    positions,
    unique_ints,
)
from features.config import FeatureSettings
from features.contract import Level, Pattern
from features.frames import (
    DAY,
    PersonFrames,
    days_between,
    diagnosis_chapter,
    has_limit,
    item_code,
    items,
    with_limits,
)
from settlements.schema import EMERGENCY_MED_TYPES, OUTPATIENT_MED_TYPES

P = Pattern.SPLIT_BILLING


def _readmissions(pf: PersonFrames, s: FeatureSettings) -> pd.DataFrame:
    """Every stay after an earlier stay of the same person at the same institution."""
    visits = pf.visits
    stays = visits.loc[
        visits["is_stay"],
        ["psn_i", "fixmedins_code", "begndate", "enddate", "chapter", "dise_codg", "medfee"],
    ].assign(sv=np.flatnonzero(visits["is_stay"].to_numpy()))
    stays = stays.sort_values(["psn_i", "fixmedins_code", "begndate", "enddate"])
    prev = stays.groupby(["psn_i", "fixmedins_code"], sort=False).shift(1)
    stays["prev_sv"] = prev["sv"]
    stays["prev_end"] = prev["enddate"]
    stays["prev_chapter"] = prev["chapter"]
    stays["prev_dise"] = prev["dise_codg"]
    stays["prev_medfee"] = prev["medfee"]
    stays["gap"] = days_between(stays["begndate"], stays["prev_end"])
    stays = stays.loc[stays["prev_sv"].notna()].copy()
    stays["prev_sv"] = stays["prev_sv"].astype("int64")
    dise = stays["dise_codg"].astype("string").str.upper().fillna("")
    emergency_dx = dise.str.startswith(tuple(p.upper() for p in s.emergency_diagnosis_prefixes))
    at_er = visits["med_type"].isin(EMERGENCY_MED_TYPES).to_numpy(bool)
    er = visits.loc[at_er, ["psn_i", "fixmedins_code", "begndate"]]
    er = er.rename(columns={"begndate": "er_day"})
    via_er = stays[["sv", "psn_i", "fixmedins_code", "begndate"]].merge(
        er, on=["psn_i", "fixmedins_code"]
    )
    lookback = s.emergency_admission_lookback_days * DAY
    via_er = via_er.loc[
        (via_er["er_day"] <= via_er["begndate"])
        & (via_er["er_day"] >= via_er["begndate"] - lookback)
    ]
    stays["emergency"] = emergency_dx.fillna(False).to_numpy(bool) | stays["sv"].isin(
        via_er["sv"]
    ).to_numpy(bool)
    stays["same_chapter"] = (stays["chapter"] == stays["prev_chapter"]).fillna(False)
    return stays


def readmission_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Days since the previous discharge at the same institution; split-admission flag."""
    visits = pf.visits
    stays = _readmissions(pf, s)
    out = pd.DataFrame(index=visits.index)
    gap = np.full(len(visits), np.nan)
    gap[stays["sv"].to_numpy()] = stays["gap"].to_numpy(dtype="float64")
    out["sb_readmission_gap_days"] = gap
    split = (
        (stays["gap"] >= 0)
        & (stays["gap"] <= s.readmission_window_days)
        & stays["same_chapter"]
        & ~stays["emergency"]
    )
    flag = np.zeros(len(visits), dtype=bool)
    flag[stays.loc[split, "sv"].to_numpy()] = True
    out["sb_split_admission_flag"] = flag
    ev: list[pd.DataFrame] = []
    if split.any():
        f = stays.loc[split]
        vis = visits[["begndate", "dise_codg", "fixmedins_code"]].iloc[f["sv"].to_numpy()]
        prev = visits[["dise_codg", "enddate"]].iloc[f["prev_sv"].to_numpy()]
        text = (
            "Stay "
            + vis.index.to_series()
            + " at "
            + vis["fixmedins_code"]
            + " admitted "
            + day_text(vis["begndate"])
            + ", "
            + num_text(pd.Series(f["gap"].to_numpy(), index=vis.index))
            + " day(s) after stay "
            + prev.index.to_numpy()
            + " was discharged on "
            + day_text(prev["enddate"]).to_numpy()
            + " at the same institution, same diagnosis chapter ("
            + prev["dise_codg"].to_numpy()
            + " then "
            + vis["dise_codg"]
            + "), not an emergency"
        )
        ids = "mdtrt_id=" + prev.index.to_numpy() + "," + vis.index.to_series()
        ev.append(evidence(Level.VISIT, "sb_split_admission_flag", P, vis.index, text, ids))
    return Signals(out, concat_evidence(ev))


def quota_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Readmission after a stay that ended near the region's per-stay cost quota."""
    visits = pf.visits
    stays = _readmissions(pf, s)
    quota = float(s.stay_cost_quota or np.inf)
    out = pd.DataFrame(index=visits.index)
    ratio = np.full(len(visits), np.nan)
    ratio[stays["sv"].to_numpy()] = stays["prev_medfee"].to_numpy(dtype="float64") / quota
    out["sb_prev_stay_quota_share"] = ratio
    hit = stays.loc[
        (stays["gap"] <= s.readmission_window_days)
        & (stays["prev_medfee"] >= s.stay_cost_quota_near_share * quota)
        & (stays["prev_medfee"] <= quota)
        & ~stays["emergency"]
    ]
    flag = np.zeros(len(visits), dtype=bool)
    flag[hit["sv"].to_numpy()] = True
    out["sb_quota_discharge_flag"] = flag
    ev: list[pd.DataFrame] = []
    if len(hit):
        vis = visits[[]].iloc[hit["sv"].to_numpy()]
        prev = visits[["enddate", "medfee"]].iloc[hit["prev_sv"].to_numpy()]
        text = (
            "Stay "
            + vis.index.to_series()
            + " follows stay "
            + prev.index.to_numpy()
            + " (discharged "
            + day_text(prev["enddate"]).to_numpy()
            + ") whose cost "
            + num_text(prev["medfee"], 2).to_numpy()
            + " yuan was just under the quota of "
            + f"{quota:.2f}"
        )
        ids = "mdtrt_id=" + prev.index.to_numpy() + "," + vis.index.to_series()
        ev.append(evidence(Level.VISIT, "sb_quota_discharge_flag", P, vis.index, text, ids))
    return Signals(out, concat_evidence(ev))


def outpatient_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Several settlements of one person at one institution on one day for the same diagnosis
    chapter (one complaint), each under the cap; visits to two departments for two
    complaints are not split."""
    visits = pf.visits
    setl = pf.settlements
    op = setl.loc[
        setl["med_type"].isin(OUTPATIENT_MED_TYPES - EMERGENCY_MED_TYPES).to_numpy(bool),
        [
            "setl_id",
            "mdtrt_id",
            "psn_no",
            "fixmedins_code",
            "begndate",
            "medfee_sumamt",
            "is_refund",
        ],
    ]
    sign = np.where(op["is_refund"].to_numpy(), -1, 1)
    chapter = diagnosis_chapter(setl.loc[op.index, "dise_codg"])
    op = op.assign(sign=sign, amount=op["medfee_sumamt"].where(~op["is_refund"]), chapter=chapter)
    key = ["psn_no", "fixmedins_code", "begndate", "chapter"]
    grp = op.groupby(key, sort=False)
    op["n_same_day"] = grp["sign"].transform("sum")
    op["max_amount"] = grp["amount"].transform("max")
    per_visit = op.groupby("mdtrt_id")["n_same_day"].max()
    out = pd.DataFrame(index=visits.index)
    at = positions(per_visit.index, visits.index)
    most = per_visit.to_numpy(dtype="float64")
    n = np.where(at >= 0, most[at] if len(most) else 0.0, 0.0).clip(min=0)
    out["sb_same_day_outpatient_settlements"] = n
    hit = op.loc[
        (op["n_same_day"] >= s.split_outpatient_min_settlements)
        & (op["max_amount"] <= s.outpatient_visit_cap)
        & ~op["is_refund"]
    ]
    flag = np.zeros(len(visits), dtype=bool)
    flag[visits.index.get_indexer(pd.Index(hit["mdtrt_id"].unique()))] = True
    out["sb_split_outpatient_flag"] = flag
    ev: list[pd.DataFrame] = []
    if len(hit):
        item = hit["setl_id"] + " (" + num_text(hit["medfee_sumamt"], 2) + " yuan)"
        gkey = hit["psn_no"] + "|" + hit["fixmedins_code"] + "|" + day_text(hit["begndate"])
        listed = listing(gkey, item, s.evidence_max_items)
        ids = listing(gkey, hit["setl_id"], 50, sep=",")
        h = hit.assign(gkey=gkey.to_numpy())
        h = h.drop_duplicates("mdtrt_id")
        text = (
            "Visit "
            + h["mdtrt_id"]
            + ": "
            + num_text(h["n_same_day"])
            + " outpatient settlements of the same person for diagnosis chapter "
            + h["chapter"]
            + " at "
            + h["fixmedins_code"]
            + " on "
            + day_text(h["begndate"])
            + ", each under the per-visit cap of "
            + f"{s.outpatient_visit_cap:.0f} yuan: "
            + listed.reindex(h["gkey"]).to_numpy()
        )
        idt = "setl_id=" + ids.reindex(h["gkey"]).to_numpy()
        ev.append(
            evidence(
                Level.VISIT, "sb_split_outpatient_flag", P, h["mdtrt_id"], text, pd.Series(idt)
            )
        )
    return Signals(out, concat_evidence(ev))


def charging_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Component charged with its bundle, duplicate components, items above their daily limit."""
    visits = pf.visits
    lines = pf.lines
    out = pd.DataFrame(index=visits.index)
    nv = len(visits)
    ev: list[pd.DataFrame] = []

    # component and bundle on the same visit and day
    is_comp = has_limit(pf, "bundle_code")
    conflicts = np.zeros(nv)
    dups = np.zeros(nv)
    if is_comp.any():
        comp = lines.loc[is_comp, ["v", "psn_i", "day", "item", "item_i"]]
        comp = with_limits(pf, comp, ("bundle_code",))
        # integer keys (visit, day, item): is the component's bundle charged that day too?
        day = lines["day"].to_numpy()
        if np.isnat(day).any():
            day = day.astype("datetime64[D]").astype(np.int64)
        else:  # midnights: whole days of nanoseconds
            day = day.astype("datetime64[ns]").view(np.int64) // 86_400_000_000_000
        day = day - (day.min() if len(day) else 0)
        n_items = int(lines["item_i"].max()) + 2 if len(lines) else 2
        n_days = int(day.max()) + 1 if len(day) else 1
        base = (lines["v"].to_numpy().astype(np.int64) * n_days + day) * n_items
        # the (visit, day, item) keys of the visits with a component: only they are asked
        v = lines["v"].to_numpy()
        with_component = np.zeros(nv, dtype=bool)
        with_component[v[is_comp]] = True
        theirs = with_component[v]
        present = unique_ints(base[theirs] + lines["item_i"].to_numpy()[theirs])
        # item_i numbers items in order of appearance, as pd.unique lists them
        bundle_pos = pd.Index(items(pf)).get_indexer(pd.Index(comp["bundle_code"].astype("string")))
        bundle_i = np.where(bundle_pos >= 0, bundle_pos, n_items - 1)
        charged = isin_ints(base[is_comp] + bundle_i, present)
        both = comp.loc[charged, ["v", "day", "item", "item_i", "bundle_code"]]
        both = both.drop_duplicates(["v", "day", "item_i"])
        conflicts = np.bincount(both["v"].to_numpy(), minlength=nv).astype("float64")
        if len(both):
            item = join_text(
                "component ",
                both["item"],
                " charged with its bundle ",
                both["bundle_code"].astype("string"),
                " on ",
                day_text(both["day"]),
            )
            ev.append(_visit_listing(visits, both, item, "sb_bundle_conflicts", s))
        # the same component more than once for the same person on the same day
        n = comp.groupby(["psn_i", "day", "item_i"])["v"].transform("size")
        dup = comp.loc[n.to_numpy() > 1]
        dup_first = dup.drop_duplicates(["psn_i", "day", "item_i", "v"])
        dups = np.bincount(dup_first["v"].to_numpy(), minlength=nv).astype("float64")
        if len(dup_first):
            cnt = n[n > 1].groupby([dup["psn_i"], dup["day"], dup["item_i"]]).first()
            times = cnt.reindex(
                pd.MultiIndex.from_frame(dup_first[["psn_i", "day", "item_i"]])
            ).to_numpy()
            item = join_text(
                "component ",
                dup_first["item"],
                " charged ",
                num_text(pd.Series(times, index=dup_first.index)),
                " times on ",
                day_text(dup_first["day"]),
            )
            ev.append(_visit_listing(visits, dup_first, item, "sb_duplicate_components", s))
    out["sb_bundle_conflicts"] = conflicts
    out["sb_duplicate_components"] = dups

    over = np.zeros(nv)
    daily_limit = has_limit(pf, "max_daily_cnt")
    if daily_limit.any():
        limited = daily_limit & ~lines["is_drug"].to_numpy()
        svc = lines.loc[limited, ["v", "day", "item_i", "cnt"]]
        svc = with_limits(pf, svc, ("max_daily_cnt",))
        per = svc.groupby(["v", "day", "item_i"], sort=False).agg(
            cnt=("cnt", "sum"),
            limit=("max_daily_cnt", "first"),
        )
        per = per.loc[per["cnt"] > per["limit"]].reset_index()
        per["item"] = item_code(pf, per)  # the group's item: one code per item_i
        over = np.bincount(per["v"].to_numpy(), minlength=nv).astype("float64")
        if len(per):
            item = join_text(
                "item ",
                per["item"],
                " charged ",
                num_text(per["cnt"], 1),
                " units on ",
                day_text(per["day"]),
                " (daily limit ",
                num_text(per["limit"], 1),
                ")",
            )
            ev.append(_visit_listing(visits, per, item, "sb_over_daily_limit", s))
    out["sb_over_daily_limit"] = over
    out["sb_split_charging_flag"] = (conflicts + dups + over) > 0
    evid = concat_evidence(ev)
    return Signals(out, evid)


def _visit_listing(
    visits: pd.DataFrame, rows: pd.DataFrame, item: pd.Series, detail: str, s: FeatureSettings
) -> pd.DataFrame:
    """One evidence line per visit for ``sb_split_charging_flag``, listing its charged items."""
    listed = listing(rows["v"], item, s.evidence_max_items, sep="; ")
    vv = listed.index.to_numpy()
    vis = visits[["fixmedins_code"]].iloc[vv]
    visit_ids = vis.index.to_series()
    text = join_text("Visit ", visit_ids, " at ", vis["fixmedins_code"], ": ", listed)
    ids = join_text("mdtrt_id=", visit_ids, "; check=" + detail)
    return evidence(Level.VISIT, "sb_split_charging_flag", P, vis.index, text, ids)
