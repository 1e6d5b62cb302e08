"""Each injected variant carries the signal it stands for; honest care and look-alikes do
what the truth says they do (so that models and rules can be judged on this world)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from settlements.schema import SUBSTANTIVE_CHARGE_ITEMS
from settlements.synthetic import World, generate_world
from settlements.synthetic.catalog import HIGH_VALUE_DRUGS, ITEMS

ITEM_CODE = {i.key: i.code for i in ITEMS}


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(1_000, seed=21)


def subjects(world: World, variant: str, subject_type: str = "visit") -> list[str]:
    t = world.truth
    ids = t.loc[(t["variant"] == variant) & (t["subject_type"] == subject_type), "subject_id"]
    assert len(ids) > 0, variant
    return ids.tolist()


def stays(world: World) -> pd.DataFrame:
    """One row per stay: person, institution, diagnosis, first and last day, fees."""
    s = world.dataset.settlements
    s = s[(s["med_type"] == "21") & (s["refd_setl_flag"] == "0")]
    return s.groupby("mdtrt_id").agg(
        psn_no=("psn_no", "first"),
        fixmedins_code=("fixmedins_code", "first"),
        dise_codg=("dise_codg", "first"),
        begndate=("begndate", "min"),
        enddate=("enddate", "max"),
        medfee=("medfee_sumamt", "sum"),
        settlements=("setl_id", "count"),
    )


def empty_days(world: World) -> pd.Series:
    """Days with a bed fee and no substantive item, per stay."""
    f = world.dataset.fee_details
    s = world.dataset.settlements
    f = f[f["mdtrt_id"].isin(s.loc[s["med_type"] == "21", "mdtrt_id"])]
    day = f["fee_ocur_time"].dt.floor("D")
    per_day = (
        pd.DataFrame(
            {
                "mdtrt_id": f["mdtrt_id"],
                "day": day,
                "bed": f["med_chrgitm_type"] == "01",
                "care": f["med_chrgitm_type"].isin(SUBSTANTIVE_CHARGE_ITEMS),
            }
        )
        .groupby(["mdtrt_id", "day"])
        .agg(bed=("bed", "any"), care=("care", "any"))
    )
    empty = per_day["bed"] & ~per_day["care"]
    return empty.groupby(level="mdtrt_id").sum()


def honest_visits(world: World) -> set[str]:
    t = world.truth
    touched = set(t.loc[t["subject_type"] == "visit", "subject_id"])
    suspicious_people = set(t.loc[t["severity"] != "honest", "person"].dropna())
    s = world.dataset.settlements
    return set(s.loc[~s["psn_no"].isin(suspicious_people), "mdtrt_id"]) - touched


def km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 6371 * 2 * np.arcsin(np.sqrt(a))


# -- bed-hanging ----------------------------------------------------------------------


def test_empty_days_stays_have_several_empty_days_and_honest_stays_none(world: World) -> None:
    empty = empty_days(world)
    assert (empty.reindex(subjects(world, "empty_days")) >= 2).all()
    honest = [m for m in empty.index if m in honest_visits(world)]
    assert len(honest) >= 5
    assert (empty.loc[honest] == 0).all()


def test_token_item_stays_have_no_empty_day_but_cost_below_peers(world: World) -> None:
    empty = empty_days(world)
    token = subjects(world, "token_item_days")
    assert (empty.reindex(token).fillna(0) == 0).all()
    st = stays(world)
    daily = st["medfee"] / ((st["enddate"] - st["begndate"]).dt.days + 1)
    honest = daily[daily.index.isin(honest_visits(world))]
    assert daily.loc[token].max() < honest.median()
    assert daily.loc[token].mean() < 0.7 * honest.median()


def test_patient_settles_elsewhere_during_a_hung_stay(world: World) -> None:
    st = stays(world)
    s = world.dataset.settlements
    for m in subjects(world, "settled_elsewhere_during_stay"):
        stay = st.loc[m]
        other = s[(s["psn_no"] == stay["psn_no"]) & (s["fixmedins_code"] != stay["fixmedins_code"])]
        inside = (other["begndate"] > stay["begndate"]) & (other["begndate"] < stay["enddate"])
        assert inside.any(), m


def test_checkup_admissions_are_mostly_examinations(world: World) -> None:
    f = world.dataset.fee_details
    for m in subjects(world, "checkup_admission"):
        lines = f[f["mdtrt_id"] == m]
        exams = lines.loc[lines["med_chrgitm_type"].isin(["03", "04"]), "det_item_fee_sumamt"].sum()
        assert exams / lines["det_item_fee_sumamt"].sum() >= 0.75, m


def census_peak(world: World) -> pd.Series:
    st = stays(world)
    days = pd.date_range(st["begndate"].min(), st["enddate"].max())
    peaks = {}
    for code, group in st.groupby("fixmedins_code"):
        inside = (group["begndate"].to_numpy()[:, None] <= days.to_numpy()[None, :]) & (
            group["enddate"].to_numpy()[:, None] >= days.to_numpy()[None, :]
        )
        peaks[code] = inside.sum(axis=0).max()
    return pd.Series(peaks)


def test_only_the_over_bed_hospital_exceeds_its_approved_beds(world: World) -> None:
    beds = world.dataset.institutions.set_index("fixmedins_code")["aprv_bed_cnt"]
    peak = census_peak(world)
    over = subjects(world, "over_approved_beds", "institution")
    assert (peak.loc[over] > beds.loc[over]).all()
    busy = subjects(world, "busy_hospital", "institution")
    assert (peak.loc[busy] == beds.loc[busy]).all()
    others = peak.index.difference(over)
    assert (peak.loc[others] <= beds.loc[others]).all()


# -- split billing --------------------------------------------------------------------


def previous_stay(world: World, m: str) -> tuple[pd.Series, pd.Series]:
    st = stays(world)
    stay = st.loc[m]
    before = st[(st["psn_no"] == stay["psn_no"]) & (st["enddate"] < stay["begndate"])]
    assert len(before), m
    return stay, before.sort_values("enddate").iloc[-1]


@pytest.mark.parametrize(
    ("variant", "gap", "same_code"),
    [
        ("readmission_within_days", (1, 5), True),
        ("readmission_same_chapter", (12, 20), False),
    ],
)
def test_split_admissions_readmit_for_the_same_illness(
    world: World, variant: str, gap: tuple[int, int], same_code: bool
) -> None:
    for m in subjects(world, variant):
        stay, before = previous_stay(world, m)
        days = (stay["begndate"] - before["enddate"]).days
        assert gap[0] <= days <= gap[1], m
        assert stay["fixmedins_code"] == before["fixmedins_code"]
        assert stay["dise_codg"][0] == before["dise_codg"][0]
        assert (stay["dise_codg"] == before["dise_codg"]) == same_code


def test_same_day_outpatient_splits_each_stay_under_the_cap(world: World) -> None:
    s = world.dataset.settlements.set_index("mdtrt_id")
    parts = s.loc[subjects(world, "same_day_outpatient_split")]
    per_day = parts.groupby(["psn_no", "fixmedins_code", "begndate"]).size()
    assert (per_day >= 2).all()
    assert (parts["hifp_pay"] <= world.config.outpatient_fund_cap).all()


def test_bundle_and_its_components_are_charged_the_same_day(world: World) -> None:
    f = world.dataset.fee_details
    catalog = world.dataset.catalog
    assert catalog is not None
    components = set(catalog.loc[catalog["bundle_code"] == ITEM_CODE["biochem"], "hilist_code"])
    for m in subjects(world, "bundle_and_components"):
        lines = f[f["mdtrt_id"] == m]
        day = lines["fee_ocur_time"].dt.floor("D")
        bundle_days = set(day[lines["hilist_code"] == ITEM_CODE["biochem"]])
        part_days = set(day[lines["hilist_code"].isin(components)])
        assert bundle_days & part_days, m


def test_double_daily_item_charges_two_bed_fees_a_day(world: World) -> None:
    f = world.dataset.fee_details
    beds = f[f["med_chrgitm_type"] == "01"]
    per_day = beds.groupby([beds["mdtrt_id"], beds["fee_ocur_time"].dt.floor("D")]).size()
    worst = per_day.groupby(level=0).max()
    assert (worst.loc[subjects(world, "double_daily_item")] >= 2).all()
    honest = [m for m in worst.index if m in honest_visits(world)]
    assert (worst.loc[honest] == 1).all()


# -- card lending ---------------------------------------------------------------------


def test_restricted_items_are_billed_to_a_person_they_cannot_fit(world: World) -> None:
    d = world.dataset
    assert d.catalog is not None
    f = d.fee_details.merge(
        d.catalog[["hilist_code", "lmt_gend", "lmt_age_min", "lmt_age_max"]], on="hilist_code"
    )
    s = d.settlements[["mdtrt_id", "psn_no", "begndate"]].drop_duplicates("mdtrt_id")
    f = f.merge(s, on="mdtrt_id").merge(d.persons[["psn_no", "gend", "brdy"]], on="psn_no")
    age = (f["begndate"] - f["brdy"]).dt.days / 365.25
    misfit = (
        (f["lmt_gend"].notna() & (f["lmt_gend"] != f["gend"]))
        | (age < f["lmt_age_min"])
        | (age > f["lmt_age_max"])
    )
    wrong = set(f.loc[misfit, "mdtrt_id"])
    assert set(subjects(world, "restricted_item_wrong_person")) <= wrong
    assert not (wrong & honest_visits(world))


def test_impossible_presence_puts_a_person_far_away_within_the_hour(world: World) -> None:
    d = world.dataset
    where = d.institutions.set_index("fixmedins_code")[["lat", "lon"]]
    s = d.settlements.join(where, on="fixmedins_code")
    for psn in subjects(world, "impossible_presence", "person"):
        mine = s[s["psn_no"] == psn]
        t = mine["setl_time"].to_numpy()
        close = np.abs(t[:, None] - t[None, :]) < np.timedelta64(60, "m")
        dist = km(
            mine["lat"].to_numpy()[:, None],
            mine["lon"].to_numpy()[:, None],
            mine["lat"].to_numpy()[None, :],
            mine["lon"].to_numpy()[None, :],
        )
        assert (close & (dist > 80)).any(), psn


def test_after_death_visits_start_after_the_death_date(world: World) -> None:
    d = world.dataset
    dead = d.persons.set_index("psn_no")["dead_date"]
    s = d.settlements.set_index("mdtrt_id")
    visits = s.loc[subjects(world, "after_death")]
    assert (visits["begndate"] > dead.loc[visits["psn_no"]].to_numpy()).all()
    flagged = set(t for t in subjects(world, "after_death", "person"))
    after = d.settlements.join(dead, on="psn_no")
    after = after[after["begndate"] > after["dead_date"]]
    assert set(after["psn_no"]) == flagged


def test_history_break_is_frequent_care_in_a_new_far_region(world: World) -> None:
    d = world.dataset
    s = d.settlements.join(
        d.institutions.set_index("fixmedins_code")["admdvs"], on="fixmedins_code"
    )
    home = d.persons.set_index("psn_no")["insuplc_admdvs"]
    recent = s["begndate"] > s["begndate"].max() - pd.Timedelta(days=130)
    for psn in subjects(world, "history_break", "person"):
        mine = s[s["psn_no"] == psn]
        away = mine[mine["admdvs"] != home.loc[psn]]
        late = recent.loc[away.index]
        counts = pd.DataFrame({"recent": late, "before": ~late}).groupby(away["admdvs"]).sum()
        new_region = counts[(counts["recent"] >= 5) & (counts["before"] <= 2)]
        assert len(new_region), psn


def test_card_collection_settles_many_cards_within_two_hours(world: World) -> None:
    s = world.dataset.settlements.set_index("mdtrt_id").loc[
        subjects(world, "card_collection_burst")
    ]
    for _code, burst in s.groupby("fixmedins_code"):
        assert burst["psn_no"].nunique() >= 5
        assert burst["setl_time"].max() - burst["setl_time"].min() <= pd.Timedelta(hours=2.2)
        assert (burst["mdtrt_cert_type"] == "03").all()


# -- over-prescription ----------------------------------------------------------------


def drug_lines(world: World) -> pd.DataFrame:
    d = world.dataset
    assert d.catalog is not None
    f = d.fee_details[d.fee_details["prd_days"].notna()]
    return f.merge(d.catalog[["hilist_code", "max_prd_days", "max_daily_cnt"]], on="hilist_code")


def test_days_supplied_above_the_limit(world: World) -> None:
    f = drug_lines(world)
    over = set(f.loc[f["prd_days"] > f["max_prd_days"], "mdtrt_id"])
    assert set(subjects(world, "days_supply_over_limit")) <= over
    assert not (over & honest_visits(world))


def test_daily_count_above_the_limit(world: World) -> None:
    f = drug_lines(world)
    over = set(f.loc[f["cnt"] / f["prd_days"] > f["max_daily_cnt"], "mdtrt_id"])
    assert set(subjects(world, "daily_count_over_limit")) <= over
    assert not (over & honest_visits(world))


def test_over_limit_prescribers_wrote_the_over_limit_prescriptions(world: World) -> None:
    s = world.dataset.settlements.set_index("mdtrt_id")
    writers = set(s.loc[subjects(world, "days_supply_over_limit"), "atddr_no"])
    writers |= set(s.loc[subjects(world, "daily_count_over_limit"), "atddr_no"])
    assert writers == set(subjects(world, "over_limit_prescriber", "doctor"))


def test_doctor_shoppers_hold_more_supply_than_days_elapsed(world: World) -> None:
    f = drug_lines(world).merge(
        world.dataset.settlements[["setl_id", "psn_no", "fixmedins_code", "begndate"]], on="setl_id"
    )
    f = f[f["hilist_code"] == ITEM_CODE["diazepam"]]
    for psn in subjects(world, "doctor_shopping", "person"):
        mine = f[f["psn_no"] == psn].sort_values("begndate")
        days = mine["begndate"].to_numpy()
        window = (days[None, :] >= days[:, None]) & (
            days[None, :] < days[:, None] + np.timedelta64(30, "D")
        )
        supplied_in_30_days = (window * mine["prd_days"].to_numpy()[None, :]).sum(axis=1)
        assert supplied_in_30_days.max() > 30, psn
        assert mine["fixmedins_code"].nunique() >= 2


def test_early_refills_come_before_half_the_supply_is_used(world: World) -> None:
    f = drug_lines(world).merge(
        world.dataset.settlements[["setl_id", "psn_no", "begndate"]], on="setl_id"
    )
    for psn in subjects(world, "early_refill", "person"):
        mine = f[f["psn_no"] == psn].sort_values("begndate")
        for _code, g in mine.groupby("hilist_code"):
            gaps = g["begndate"].diff().dt.days.to_numpy()[1:]
            supply = g["prd_days"].to_numpy()[:-1]
            if (gaps < 0.85 * supply).any():
                break
        else:
            pytest.fail(f"no early refill for {psn}")


def test_high_value_prescribers_far_above_peers_and_oncologists_legitimately(world: World) -> None:
    d = world.dataset
    hv = {ITEM_CODE[k] for k in HIGH_VALUE_DRUGS}
    f = d.fee_details
    share = f.assign(hv=f["hilist_code"].isin(hv)).groupby("bilg_dr_codg")["hv"].mean()
    prescribers = subjects(world, "high_value_prescriber", "doctor")
    peers = share.drop(prescribers, errors="ignore")
    active = [p for p in prescribers if p in share.index]
    assert active
    assert share.loc[active].min() > 5 * max(peers.quantile(0.95), 0.001)
    spend = f.groupby("bilg_dr_codg")["det_item_fee_sumamt"].sum()
    oncologists = [o for o in subjects(world, "oncologist_high_value", "doctor") if o in spend]
    assert oncologists
    assert spend.loc[oncologists].max() > spend.median() * 3


# -- look-alikes ----------------------------------------------------------------------


def test_emergency_readmission_follows_an_emergency_visit_for_another_illness(world: World) -> None:
    s = world.dataset.settlements
    for m in subjects(world, "emergency_readmission"):
        stay, before = previous_stay(world, m)
        assert (stay["begndate"] - before["enddate"]).days <= 15
        assert stay["dise_codg"][0] != before["dise_codg"][0] or before["dise_codg"][0] == "I"
        emergency = s[
            (s["psn_no"] == stay["psn_no"])
            & (s["med_type"] == "13")
            & (s["begndate"] == stay["begndate"])
        ]
        assert len(emergency), m


def test_long_serious_stays_are_fully_cared_for_and_settled_monthly(world: World) -> None:
    empty = empty_days(world)
    st = stays(world)
    long = subjects(world, "long_serious_stay")
    assert (empty.reindex(long).fillna(0) == 0).all()
    los = (st.loc[long, "enddate"] - st.loc[long, "begndate"]).dt.days + 1
    assert (los >= 28).all()
    assert (st.loc[long, "settlements"] == np.ceil(los / 30)).all()


def test_long_chronic_prescriptions_stay_within_the_catalogue_limit(world: World) -> None:
    f = drug_lines(world)
    lines = f[f["mdtrt_id"].isin(subjects(world, "long_chronic_prescription"))]
    assert (lines["prd_days"] >= 56).all()
    assert (lines["prd_days"] <= lines["max_prd_days"].fillna(np.inf)).all()


def test_nearby_pharmacy_within_the_hour_is_close(world: World) -> None:
    d = world.dataset
    where = d.institutions.set_index("fixmedins_code")[["lat", "lon"]]
    s = d.settlements.join(where, on="fixmedins_code").sort_values("setl_time")
    for psn in subjects(world, "nearby_within_hour", "person"):
        mine = s[s["psn_no"] == psn]
        t = mine["setl_time"].to_numpy()
        close = (np.abs(t[:, None] - t[None, :]) < np.timedelta64(60, "m")) & (
            mine["fixmedins_code"].to_numpy()[:, None] != mine["fixmedins_code"].to_numpy()[None, :]
        )
        dist = km(
            mine["lat"].to_numpy()[:, None],
            mine["lon"].to_numpy()[:, None],
            mine["lat"].to_numpy()[None, :],
            mine["lon"].to_numpy()[None, :],
        )
        assert (close & (dist < 15)).any(), psn
        assert not (close & (dist > 80)).any(), psn


def test_in_hospital_death_is_settled_after_the_death_date(world: World) -> None:
    d = world.dataset
    dead = d.persons.set_index("psn_no")["dead_date"]
    s = d.settlements
    for psn in subjects(world, "settled_after_in_hospital_death", "person"):
        mine = s[(s["psn_no"] == psn) & (s["med_type"] == "21")]
        last = mine.loc[mine["enddate"].idxmax()]
        assert last["enddate"] == dead.loc[psn]
        assert last["setl_time"].normalize() > dead.loc[psn]


def test_family_purchase_falls_inside_the_patients_stay(world: World) -> None:
    st = stays(world)
    s = world.dataset.settlements
    for m in subjects(world, "family_purchase_during_stay"):
        stay = st.loc[m]
        buys = s[
            (s["psn_no"] == stay["psn_no"])
            & (s["med_type"] == "41")
            & (s["begndate"] > stay["begndate"])
            & (s["begndate"] < stay["enddate"])
        ]
        assert len(buys), m


def test_overlapping_stays_put_one_card_in_two_hospitals_at_once(world: World) -> None:
    st = stays(world)
    for m in subjects(world, "overlapping_stays"):
        stay = st.loc[m]
        others = st[(st["psn_no"] == stay["psn_no"]) & (st.index != m)]
        overlap = others[
            (others["begndate"] <= stay["enddate"]) & (others["enddate"] >= stay["begndate"])
        ]
        assert len(overlap), m
        assert (overlap["fixmedins_code"] != stay["fixmedins_code"]).all(), m
    honest = st[st.index.isin(honest_visits(world))].sort_values(["psn_no", "begndate"])
    same = honest["psn_no"].eq(honest["psn_no"].shift())
    assert not (same & (honest["begndate"] <= honest["enddate"].shift())).any()
