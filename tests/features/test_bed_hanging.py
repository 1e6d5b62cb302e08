"""Bed-hanging signals on hand-built stays."""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.build import build_features
from features.contract import Level

if TYPE_CHECKING:
    from conftest import World


def visit_frame(world: World):
    return build_features(world.dataset(), check=False).frames[Level.VISIT]


def test_run_of_empty_days_flags_bed_hanging_and_names_the_days(world: World) -> None:
    # given a stay with three days of bed fees and no care, and an honest stay
    world.stay("M1", "2024-03-01", "2024-03-10", empty=("2024-03-04", "2024-03-05", "2024-03-06"))
    world.stay("M2", "2024-03-01", "2024-03-10", psn_no="P2")
    # when
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    # then
    assert v.loc["M1", "bh_empty_days"] == 3
    assert v.loc["M1", "bh_longest_empty_run"] == 3
    assert v.loc["M1", "bh_empty_run_flag"]
    assert not v.loc["M2", "bh_empty_run_flag"]
    ev = fs.evidence.set_index(["subject_id", "feature"])
    text = ev.loc[("M1", "bh_empty_run_flag"), "explanation"]
    assert "2024-03-04" in text and "2024-03-06" in text and "M1" in text


def test_isolated_empty_days_stay_below_the_run_minimum(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10", empty=("2024-03-03", "2024-03-06"))
    v = visit_frame(world)
    assert v.loc["M1", "bh_empty_days"] == 2
    assert v.loc["M1", "bh_longest_empty_run"] == 1
    assert not v.loc["M1", "bh_empty_run_flag"]


def test_pharmacy_purchase_elsewhere_during_the_stay_flags_absence(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10")
    world.visit("Y9", inst="Y1", med_type="41", begin="2024-03-05")
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["M1", "bh_settlements_elsewhere"] == 1
    assert v.loc["M1", "bh_elsewhere_flag"]
    text = fs.evidence.set_index(["subject_id", "feature"]).loc[
        ("M1", "bh_elsewhere_flag"), "explanation"
    ]
    assert "Y1" in text and "2024-03-05" in text


def test_family_member_at_another_institution_during_the_stay_is_quiet(world: World) -> None:
    # the look-alike: another person (a family member) settles elsewhere; and the patient's
    # own outpatient visit on the admission day (before admission) is not inside the stay
    world.stay("M1", "2024-03-01", "2024-03-10")
    world.visit("V2", psn_no="P2", inst="H2", begin="2024-03-05")
    world.visit("V3", psn_no="P1", inst="H2", begin="2024-03-01")
    v = visit_frame(world)
    assert v.loc["M1", "bh_settlements_elsewhere"] == 0
    assert not v.loc["M1", "bh_elsewhere_flag"]


def test_stay_billed_mainly_for_examinations_is_flagged(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-03", exam_only=True)
    world.stay("M2", "2024-03-01", "2024-03-03", psn_no="P2")
    v = visit_frame(world)
    assert v.loc["M1", "bh_exam_share"] > 0.8
    assert v.loc["M1", "bh_exam_heavy_flag"]
    assert not v.loc["M2", "bh_exam_heavy_flag"]


def test_long_stay_far_cheaper_than_peers_is_flagged(world: World) -> None:
    # given five ordinary stays of chapter K at level-3 hospitals and one long cheap stay
    for i in range(5):
        world.stay(f"M{i}", "2024-03-01", "2024-03-05", psn_no=f"P{i}", medfee=5 * 800.0)
    world.stay("MC", "2024-03-01", "2024-03-20", psn_no="PC", medfee=20 * 100.0)
    world.stay("ML", "2024-03-01", "2024-03-20", psn_no="PL", medfee=20 * 780.0)
    v = visit_frame(world)
    assert v.loc["MC", "bh_daily_cost_peer_ratio"] < 0.2
    assert v.loc["MC", "bh_cheap_long_stay_flag"]
    # a long stay at the peers' daily cost is not
    assert not v.loc["ML", "bh_cheap_long_stay_flag"]
    assert v.loc["MC", "ctx_peer_group"] == "K|3"


def test_more_concurrent_inpatients_than_beds_flags_the_institution(world: World) -> None:
    # H3 has 50 approved beds: 51 concurrent inpatients exceed them
    for i in range(51):
        world.stay(f"M{i}", "2024-03-01", "2024-03-03", psn_no=f"P{i}", inst="H3")
    world.stay("MX", "2024-03-01", "2024-03-03", psn_no="PX", inst="H1")
    fs = build_features(world.dataset(), check=False)
    inst = fs.frames[Level.INSTITUTION]
    assert inst.loc["H3", "bh_inst_peak_bed_occupancy"] > 1
    assert inst.loc["H3", "bh_inst_over_beds_flag"]
    assert not inst.loc["H1", "bh_inst_over_beds_flag"]


def test_empty_day_share_rolls_up_to_the_institution_and_its_worst_stay(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10", empty=("2024-03-04", "2024-03-05"))
    world.stay("M2", "2024-03-01", "2024-03-10", psn_no="P2")
    fs = build_features(world.dataset(), check=False)
    inst = fs.frames[Level.INSTITUTION]
    assert inst.loc["H1", "bh_inst_empty_day_stay_share"] == 0.5
    assert inst.loc["H1", "bh_inst_flagged_visits"] == 1
    assert (
        inst.loc["H1", "bh_inst_amount_at_risk"] == fs.frames[Level.VISIT].loc["M1", "ctx_fund_pay"]
    )
    assert inst.loc["H1", "ctx_amount_bed_hanging"] == inst.loc["H1", "bh_inst_amount_at_risk"]


def test_relative_fetching_the_regular_medicine_during_the_stay_is_quiet(world: World) -> None:
    # given a chronic patient who bought drug AMLO before, and buys it again mid-stay; and a
    # patient buying a new drug mid-stay
    for psn, item, before in (("P1", "AMLO", True), ("P2", "COLD", False)):
        if before:
            sid = world.visit(f"B{psn}", psn_no=psn, inst="Y1", med_type="41", begin="2024-02-01")
            world.fee(sid, "2024-02-01", item, "09", prd_days=28.0)
        world.stay(f"M{psn}", "2024-03-01", "2024-03-10", psn_no=psn)
        sid = world.visit(f"D{psn}", psn_no=psn, inst="Y1", med_type="41", begin="2024-03-05")
        world.fee(sid, "2024-03-05", item, "09", prd_days=28.0)
    v = visit_frame(world)
    # then both count as settlements elsewhere, only the new drug flags the stay
    assert v.loc["MP1", "bh_settlements_elsewhere"] == 1
    assert not v.loc["MP1", "bh_elsewhere_flag"]
    assert v.loc["MP2", "bh_elsewhere_flag"]
