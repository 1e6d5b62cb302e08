"""Card lending and impersonation (出借、冒用医保凭证 / 冒名就医)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import (
    Signals,
    concat_evidence,
    day_text,
    evidence,
    first_occurrence,
    group_cumsum,
    join_text,
    listing,
    num_text,
    rank_ints,
    sort_order,
    unique_ints,
)
from features.config import FeatureSettings
from features.contract import Level, Pattern
from features.frames import PersonFrames, days_between, has_limit, with_limits
from features.population import Population

P = Pattern.CARD_LENDING
_EARTH_KM = 6371.0


def restricted_item_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Sex- or age-restricted catalogue items billed to a person outside the restriction."""
    visits = pf.visits
    lines = pf.lines
    out = pd.DataFrame(index=visits.index)
    cols = [c for c in ("lmt_gend", "lmt_age_min", "lmt_age_max") if c in pf.item_limits]
    if not cols:
        out["cl_restricted_item_mismatches"] = 0.0
        out["cl_restricted_item_flag"] = False
        return Signals(out, concat_evidence([]))
    restricted = np.zeros(len(lines), dtype=bool)
    for c in cols:
        restricted |= has_limit(pf, c)
    at = np.flatnonzero(restricted)
    rl = lines[["v", "day", "item_i"]].iloc[at].assign(line=at)
    rl = with_limits(pf, rl, tuple(cols))
    v = rl["v"].to_numpy()
    gend = visits["gend"].astype("string").to_numpy(dtype=object)[v]
    brdy = visits["brdy"].to_numpy()[v]
    age = ((rl["day"].to_numpy() - brdy) / np.timedelta64(1, "D")) / 365.25
    gend_s = pd.Series(gend, index=rl.index, dtype="string")
    sex_bad = pd.Series(False, index=rl.index)
    if "lmt_gend" in rl:
        lg = rl["lmt_gend"].astype("string")
        sex_bad = (lg.isin({"1", "2"}) & gend_s.isin({"1", "2"}) & (lg != gend_s)).fillna(False)
    age_s = pd.Series(age, index=rl.index)
    lo = rl["lmt_age_min"] if "lmt_age_min" in rl else pd.Series(np.nan, index=rl.index)
    hi = rl["lmt_age_max"] if "lmt_age_max" in rl else pd.Series(np.nan, index=rl.index)
    age_bad = ((age_s < lo) | (age_s >= hi + 1)).fillna(False)
    bad = (sex_bad | age_bad).to_numpy(bool)
    shown = lines[["item", "setl_id", "feedetl_sn"]]  # the lines' codes, for the hits only
    hit = rl.loc[bad]
    hit = hit.assign(**{c: shown[c].array.take(hit["line"].to_numpy()) for c in shown.columns})
    count = np.bincount(hit["v"].to_numpy(), minlength=len(visits)).astype("float64")
    out["cl_restricted_item_mismatches"] = count
    out["cl_restricted_item_flag"] = count > 0
    ev: list[pd.DataFrame] = []
    if len(hit):
        sex_word = {"1": "men", "2": "women"}
        person_sex = {"1": "a man", "2": "a woman"}
        g = gend_s[bad]
        lg = (
            hit["lmt_gend"].astype("string")
            if "lmt_gend" in hit
            else pd.Series(pd.NA, index=hit.index, dtype="string")
        )
        why_sex = ("only for " + lg.map(sex_word) + ", billed to " + g.map(person_sex)).fillna("")
        rng = (
            "for ages "
            + num_text(lo[bad].fillna(0))
            + "–"
            + num_text(hi[bad].fillna(150))
            + ", billed to a person aged "
            + num_text(age_s[bad])
        )
        why = why_sex.where(sex_bad[bad], rng)
        item = join_text("item ", hit["item"], " on ", day_text(hit["day"]), " (", why, ")")
        listed = listing(hit["v"], item, s.evidence_max_items, sep="; ")
        ids = listing(hit["v"], hit["setl_id"] + "/" + hit["feedetl_sn"], 50, sep=",")
        vv = listed.index.to_numpy()
        vis = visits[["fixmedins_code"]].iloc[vv]
        visit_ids = vis.index.to_series()
        text = join_text("Visit ", visit_ids, " at ", vis["fixmedins_code"], ": ", listed)
        idt = join_text("mdtrt_id=", visit_ids, "; fee lines=", ids.reindex(vv))
        ev.append(evidence(Level.VISIT, "cl_restricted_item_flag", P, vis.index, text, idt))
    return Signals(out, concat_evidence(ev))


def presence_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Overlapping stays at two institutions; new region or kind of care in a long history."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    nv = len(visits)
    stays = visits.loc[visits["is_stay"], ["psn_i", "fixmedins_code", "begndate", "enddate"]]
    stays = stays.assign(sv=np.flatnonzero(visits["is_stay"].to_numpy()))
    pairs = stays.merge(stays, on="psn_i", suffixes=("", "_o"))
    overlap = pairs.loc[
        (pairs["fixmedins_code"] != pairs["fixmedins_code_o"])
        & (pairs["begndate_o"] < pairs["enddate"])
        & (pairs["begndate"] < pairs["enddate_o"])
    ]
    count = np.bincount(overlap["sv"].to_numpy(), minlength=nv).astype("float64")
    out["cl_overlapping_stays"] = count
    out["cl_overlapping_stay_flag"] = count > 0
    ev: list[pd.DataFrame] = []
    if len(overlap):
        o = visits[["begndate", "enddate", "fixmedins_code"]].iloc[overlap["sv_o"].to_numpy()]
        item = (
            "stay "
            + o.index.to_series()
            + " at "
            + o["fixmedins_code"]
            + " ("
            + day_text(o["begndate"])
            + " to "
            + day_text(o["enddate"])
            + ")"
        )
        listed = listing(overlap["sv"], item.reset_index(drop=True), s.evidence_max_items, "; ")
        vv = listed.index.to_numpy()
        vis = visits[["begndate", "enddate", "fixmedins_code"]].iloc[vv]
        text = (
            "Stay "
            + vis.index.to_series()
            + " at "
            + vis["fixmedins_code"]
            + " ("
            + day_text(vis["begndate"])
            + " to "
            + day_text(vis["enddate"])
            + ") overlaps "
            + listed.to_numpy()
        )
        ids = listing(overlap["sv"], pd.Series(o.index.to_numpy()), 50, ",")
        idt = "mdtrt_id=" + vis.index.to_series() + "," + ids.reindex(vv).to_numpy()
        ev.append(evidence(Level.VISIT, "cl_overlapping_stay_flag", P, vis.index, text, idt))

    # a break with the person's own history
    psn = visits["psn_i"].to_numpy()
    order = sort_order(psn, visits["first_setl_time"].to_numpy())
    p = psn[order]
    prior = group_cumsum(p, np.ones(len(p), dtype=np.int64)) - 1
    city, _ = pd.factorize(visits["admdvs"].astype("string").str[:4].fillna("?"))
    kind = np.select(
        [visits["is_stay"], visits["is_pharmacy"], visits["is_emergency"]], [0, 1, 2], 3
    )
    new_city = _first_of_pair(p, city[order])
    new_kind = _first_of_pair(p, kind[order])
    enough = prior >= s.history_min_prior_visits
    brk = np.zeros(nv)
    brk[order] = (new_city.astype(float) + new_kind.astype(float)) * enough
    out["cl_history_break"] = brk
    return Signals(out, concat_evidence(ev))


def _first_of_pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each row is the first with its (a, b) pair of non-negative integer codes."""
    width = int(b.max()) + 1 if len(b) else 1
    return first_occurrence(a.astype(np.int64) * width + b)


def death_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Settlements that begin after the person's registered death date."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    after = days_between(visits["begndate"], visits["dead_date"]).where(
        visits["begndate"] > visits["dead_date"]
    )
    out["cl_days_after_death"] = after.fillna(0).astype("float64")
    flag = after.fillna(0) > 0
    out["cl_after_death_flag"] = flag.to_numpy(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        vis = visits[["begndate", "dead_date", "first_setl_id", "fixmedins_code"]].loc[flag]
        text = (
            "Visit "
            + vis.index.to_series()
            + " at "
            + vis["fixmedins_code"]
            + " on "
            + day_text(vis["begndate"])
            + " (settlement "
            + vis["first_setl_id"]
            + "), "
            + num_text(after[flag])
            + " day(s) after the person's death on "
            + day_text(vis["dead_date"])
        )
        ids = "mdtrt_id=" + vis.index.to_series() + "; setl_id=" + vis["first_setl_id"]
        ev.append(evidence(Level.VISIT, "cl_after_death_flag", P, vis.index, text, ids))
    return Signals(out, concat_evidence(ev))


def travel_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """Consecutive settlements of one person too far apart for the time between them."""
    visits = pf.visits
    out = pd.DataFrame(index=visits.index)
    located = (~visits["is_stay"] & visits["lat"].notna() & visits["lon"].notna()).to_numpy()
    pv = np.flatnonzero(located)
    pv = pv[sort_order(visits["psn_i"].to_numpy()[pv], visits["first_setl_time"].to_numpy()[pv])]
    pts = visits[["psn_i", "fixmedins_code", "first_setl_time", "lat", "lon"]].take(pv)
    pts = pts.assign(pv=pv)
    prev = pts.groupby("psn_i", sort=False).shift(1)
    lat1, lon1 = np.radians(prev["lat"].to_numpy(float)), np.radians(prev["lon"].to_numpy(float))
    lat2, lon2 = np.radians(pts["lat"].to_numpy(float)), np.radians(pts["lon"].to_numpy(float))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    hours = (days_between(pts["first_setl_time"], prev["first_setl_time"]) * 24).to_numpy(float)
    speed = km / np.maximum(hours, 1 / 60)
    valid = (prev["fixmedins_code"] != pts["fixmedins_code"]).fillna(False).to_numpy(bool)
    valid = valid & (km >= s.min_travel_distance_km)
    speed = np.where(valid, np.minimum(speed, 10_000.0), 0.0)
    pairs = pd.DataFrame(
        {
            "v": pts["pv"].to_numpy(),
            "pv": prev["pv"].to_numpy(),
            "speed": speed,
            "km": km,
            "hours": hours,
        },
        copy=False,
    )
    both = pd.concat([pairs, pairs.rename(columns={"v": "pv", "pv": "v"})], ignore_index=True)
    both = both.loc[both["v"].notna() & both["pv"].notna()]
    fastest = both["speed"].groupby(both["v"].astype("int64").to_numpy()).max()
    value = np.zeros(len(visits))
    value[fastest.index.to_numpy()] = fastest.to_numpy()
    out["cl_travel_speed_kmh"] = value
    out["cl_impossible_travel_flag"] = value > s.max_travel_speed_kmh
    ev: list[pd.DataFrame] = []
    imp = pairs.loc[pairs["speed"] > s.max_travel_speed_kmh].dropna(subset=["pv"])
    if len(imp):
        shown = visits[["first_setl_id", "fixmedins_code", "first_setl_time"]]
        a_vis = shown.iloc[imp["pv"].astype("int64").to_numpy()]
        b_vis = shown.iloc[imp["v"].astype("int64").to_numpy()]
        text = (
            "Settlement "
            + b_vis["first_setl_id"].to_numpy()
            + " at "
            + b_vis["fixmedins_code"].to_numpy()
            + " ("
            + b_vis["first_setl_time"].dt.strftime("%Y-%m-%d %H:%M").to_numpy()
            + ") is "
            + num_text(imp["km"]).to_numpy()
            + " km from settlement "
            + a_vis["first_setl_id"].to_numpy()
            + " at "
            + a_vis["fixmedins_code"].to_numpy()
            + " ("
            + a_vis["first_setl_time"].dt.strftime("%Y-%m-%d %H:%M").to_numpy()
            + ") only "
            + num_text(imp["hours"] * 60).to_numpy()
            + " minutes earlier"
        )
        ids = (
            "setl_id=" + a_vis["first_setl_id"].to_numpy() + "," + b_vis["first_setl_id"].to_numpy()
        )
        for vis in (b_vis, a_vis):
            ev.append(
                evidence(
                    Level.VISIT,
                    "cl_impossible_travel_flag",
                    P,
                    vis.index,
                    pd.Series(text),
                    pd.Series(ids),
                )
            )
    return Signals(out, concat_evidence(ev))


def frequency_signals(pf: PersonFrames, s: FeatureSettings) -> Signals:
    """The person's busiest month against the person's usual monthly visits."""
    visits = pf.visits
    month = _month_number(visits["first_setl_time"])
    per = pd.DataFrame({"p": visits["psn_no"].array, "m": month})
    counts = per.groupby(["p", "m"]).size().rename("n").reset_index()
    g = counts.groupby("p")
    span = (g["m"].max() - g["m"].min() + 1).astype(float)
    total = g["n"].sum().astype(float)
    top = counts.sort_values("n", ascending=False).drop_duplicates("p").set_index("p")
    peak = top["n"].reindex(span.index).astype(float)
    usual = ((total - peak) / (span - 1).where(span > 1)).fillna(0).clip(lower=1)
    ratio = peak / usual
    idx = pd.Index(span.index, dtype="string", name="subject_id")
    out = pd.DataFrame(index=idx)
    out["cl_frequency_jump"] = ratio.to_numpy(dtype="float64")
    flag = (ratio >= s.frequency_jump_ratio) & (peak >= s.frequency_jump_min_visits)
    out["cl_frequency_jump_flag"] = flag.to_numpy(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        f = top.loc[flag[flag].index]
        m = f["m"] - 1
        month_txt = (m // 12).astype(str) + "-" + (m % 12 + 1).astype(str).str.zfill(2)
        text = (
            "Person "
            + f.index.to_series().astype("string")
            + ": "
            + num_text(f["n"])
            + " visits in "
            + month_txt
            + " against about "
            + num_text(usual[flag], 1)
            + " in a usual month"
        )
        ids = "psn_no=" + f.index.to_series().astype("string") + "; month=" + month_txt
        ev.append(evidence(Level.PERSON, "cl_frequency_jump_flag", P, f.index, text, ids))
    return Signals(out, concat_evidence(ev))


def _month_number(times: pd.Series) -> np.ndarray:
    """``year * 12 + month`` of each time (int32, as ``dt.year`` and ``dt.month`` give)."""
    stamps = times.to_numpy()
    if np.isnat(stamps).any():
        return (times.dt.year * 12 + times.dt.month).to_numpy()
    months = stamps.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return (months + 1970 * 12 + 1).astype(np.int32)


def _bursts(pop: Population, s: FeatureSettings) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct persons per (institution, time window), with the institution's usual
    window, in institution and window order; and each visit's row of it (-1: none).
    Worked out once for the institution and the visit signals."""
    name = f"bursts:{s.card_burst_window_minutes}:{s.card_burst_min_persons}:{s.card_burst_ratio}"
    return pop.derived(name, lambda: _count_bursts(pop, s))  # type: ignore[no-any-return]


def _count_bursts(pop: Population, s: FeatureSettings) -> tuple[pd.DataFrame, np.ndarray]:
    """``_bursts``, counted on integer codes of institution, window and person (distinct
    triples by a sort) rather than by a group-by on strings."""
    visits = pop.visits
    window = pd.Timedelta(minutes=s.card_burst_window_minutes)
    bucket = visits["first_setl_time"].dt.floor(window)
    inst, inst_names = pd.factorize(visits["fixmedins_code"], sort=True)
    when, windows = pd.factorize(bucket, sort=True)
    person, persons = pd.factorize(visits["psn_no"])
    width, depth = max(len(windows), 1), max(len(persons), 1)
    ok = (inst >= 0) & (when >= 0)
    group = inst.astype(np.int64) * width + when
    groups, rank = rank_ints(group[ok])  # sorted: the order of a group-by on (i, b)
    seen = ok & (person >= 0)
    triples = unique_ints(group[seen] * depth + person[seen])
    n = np.bincount(np.searchsorted(groups, triples // depth), minlength=len(groups))
    frame = pd.DataFrame(
        {
            "i": np.asarray(inst_names, dtype=object)[groups // width],
            "b": np.asarray(windows)[groups % width],
            "n": n.astype(np.int64),
        },
        copy=False,
    )
    # the median window of each institution, grouped on its code rather than its name
    usual = frame["n"].groupby(groups // width).transform("median")
    frame["usual"] = usual.clip(lower=1).to_numpy()
    frame["burst"] = (frame["n"] >= s.card_burst_min_persons) & (
        frame["n"] / frame["usual"] >= s.card_burst_ratio
    )
    row = np.full(len(group), -1, dtype=np.int64)
    row[ok] = rank
    return frame, row


def card_burst_signals(pop: Population, s: FeatureSettings) -> Signals:
    """Many different persons settled at one institution within a short window."""
    inst = pop.institution_index
    n, _ = _bursts(pop, s)
    top = n.sort_values("n", ascending=False).drop_duplicates("i").set_index("i")
    out = pd.DataFrame(index=inst)
    out["cl_inst_card_burst_persons"] = top["n"].reindex(inst).fillna(0).astype("float64")
    flag = top["burst"]
    out["cl_inst_card_burst_flag"] = flag.reindex(inst, fill_value=False).astype(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        f = top.loc[flag]
        text = (
            "Institution "
            + f.index.to_series()
            + ": "
            + num_text(f["n"])
            + " different persons' cards settled within "
            + f"{s.card_burst_window_minutes} minutes from "
            + f["b"].dt.strftime("%Y-%m-%d %H:%M")
            + " (usually "
            + num_text(f["usual"], 0)
            + ")"
        )
        ids = (
            "fixmedins_code="
            + f.index.to_series()
            + "; from="
            + f["b"].dt.strftime("%Y-%m-%d %H:%M")
        )
        ev.append(evidence(Level.INSTITUTION, "cl_inst_card_burst_flag", P, f.index, text, ids))
    return Signals(out, concat_evidence(ev))


def card_burst_visit_signals(pop: Population, s: FeatureSettings) -> Signals:
    """Visits settled inside a burst of many persons' cards at their institution."""
    visits = pop.visits
    n, row = _bursts(pop, s)
    found = row >= 0
    at = np.where(found, row, 0)
    size = np.full(len(visits), np.nan)
    burst = np.zeros(len(visits), dtype=bool)
    if len(n):
        size = np.where(found, n["n"].to_numpy(dtype="float64")[at], np.nan)
        burst = found & n["burst"].to_numpy(bool)[at]
    out = pd.DataFrame(index=visits.index)
    out["cl_burst_window_persons"] = size
    out["cl_card_burst_visit_flag"] = burst
    ev: list[pd.DataFrame] = []
    if burst.any():
        vis = visits[["first_setl_id", "first_setl_time", "fixmedins_code"]].loc[burst]
        text = (
            "Visit "
            + vis.index.to_series()
            + " at "
            + vis["fixmedins_code"]
            + " settled "
            + vis["first_setl_time"].dt.strftime("%Y-%m-%d %H:%M")
            + " among "
            + num_text(pd.Series(size[burst], index=vis.index))
            + " different persons' cards within "
            + f"{s.card_burst_window_minutes} minutes"
        )
        ids = "mdtrt_id=" + vis.index.to_series() + "; setl_id=" + vis["first_setl_id"]
        ev.append(evidence(Level.VISIT, "cl_card_burst_visit_flag", P, vis.index, text, ids))
    return Signals(out, concat_evidence(ev))


def same_basket_signals(pop: Population, s: FeatureSettings) -> Signals:
    """Many different persons buying the identical basket of items at one pharmacy."""
    visits = pop.visits
    inst = pop.institution_index
    b = visits.loc[
        visits["is_pharmacy"] & (visits["aux_basket_items"] >= s.same_basket_min_items),
        ["fixmedins_code", "aux_basket_key", "psn_no"],
    ]
    n = b.groupby(["fixmedins_code", "aux_basket_key"])["psn_no"].nunique().rename("n")
    top = n.reset_index().sort_values("n", ascending=False).drop_duplicates("fixmedins_code")
    top = top.set_index("fixmedins_code")
    out = pd.DataFrame(index=inst)
    out["cl_inst_same_basket_persons"] = top["n"].reindex(inst).fillna(0).astype("float64")
    flag = top["n"] >= s.same_basket_min_persons
    out["cl_inst_same_basket_flag"] = flag.reindex(inst, fill_value=False).astype(bool)
    ev: list[pd.DataFrame] = []
    if flag.any():
        f = top.loc[flag]
        key = pd.MultiIndex.from_arrays([f.index, f["aux_basket_key"]])
        member = pd.MultiIndex.from_frame(b[["fixmedins_code", "aux_basket_key"]]).isin(key)
        members = b.loc[member]
        listed = listing(members["fixmedins_code"], members.index.to_series(), s.evidence_max_items)
        size = visits.loc[members.index, "aux_basket_items"].groupby(members["fixmedins_code"])
        text = (
            "Pharmacy "
            + f.index.to_series()
            + ": "
            + num_text(f["n"])
            + " different persons bought the identical basket of "
            + num_text(size.first().reindex(f.index))
            + " items (visits "
            + listed.reindex(f.index)
            + ")"
        )
        ids = "fixmedins_code=" + f.index.to_series() + "; mdtrt_id=" + listed.reindex(f.index)
        ev.append(evidence(Level.INSTITUTION, "cl_inst_same_basket_flag", P, f.index, text, ids))
    return Signals(out, concat_evidence(ev))
