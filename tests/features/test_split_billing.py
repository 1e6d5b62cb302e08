"""Split billing signals on hand-built stays, outpatient settlements and charges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.build import build_features
from features.config import FeatureSettings
from features.contract import Level

if TYPE_CHECKING:
    from conftest import World


def test_readmission_within_15_days_flags_split_admission(world: World) -> None:
    # given a discharge on 03-10 and a readmission for the same chapter on 03-20
    world.stay("M1", "2024-03-01", "2024-03-10", dise="K29.1")
    world.stay("M2", "2024-03-20", "2024-03-25", dise="K30")
    # when
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    # then
    assert v.loc["M2", "sb_readmission_gap_days"] == 10
    assert v.loc["M2", "sb_split_admission_flag"]
    assert not v.loc["M1", "sb_split_admission_flag"]
    text = fs.evidence.set_index(["subject_id", "feature"]).loc[
        ("M2", "sb_split_admission_flag"), "explanation"
    ]
    assert "M1" in text and "2024-03-10" in text and "2024-03-20" in text


def test_emergency_readmission_is_not_split(world: World) -> None:
    # the look-alike: readmitted through the emergency room the day before, and a
    # readmission for a myocardial infarction
    world.stay("M1", "2024-03-01", "2024-03-10")
    world.visit("E1", med_type="13", begin="2024-03-19")
    world.stay("M2", "2024-03-20", "2024-03-25")
    world.stay("N1", "2024-03-01", "2024-03-10", psn_no="P2", dise="I21.0")
    world.stay("N2", "2024-03-15", "2024-03-25", psn_no="P2", dise="I21.4")
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert not v.loc["M2", "sb_split_admission_flag"]
    assert not v.loc["N2", "sb_split_admission_flag"]


def test_readmission_after_the_window_or_for_another_chapter_is_quiet(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10")
    world.stay("M2", "2024-03-30", "2024-04-02")
    world.stay("N1", "2024-03-01", "2024-03-10", psn_no="P2", dise="K29")
    world.stay("N2", "2024-03-12", "2024-03-15", psn_no="P2", dise="N20")
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert not v.loc["M2", "sb_split_admission_flag"]
    assert not v.loc["N2", "sb_split_admission_flag"]


def test_region_overrides_the_readmission_window(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10")
    world.stay("M2", "2024-03-20", "2024-03-25")
    s = FeatureSettings(readmission_window_days=7)
    v = build_features(world.dataset(), s, check=False).frames[Level.VISIT]
    assert not v.loc["M2", "sb_split_admission_flag"]


def test_discharge_at_the_cost_quota_then_readmission_is_flagged(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10", medfee=9_800.0)
    world.stay("M2", "2024-03-12", "2024-03-20", medfee=3_000.0)
    world.stay("N1", "2024-03-01", "2024-03-10", psn_no="P2", medfee=4_000.0)
    world.stay("N2", "2024-03-12", "2024-03-20", psn_no="P2", medfee=3_000.0)
    s = FeatureSettings(stay_cost_quota=10_000.0)
    fs = build_features(world.dataset(), s, check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["M2", "sb_quota_discharge_flag"]
    assert not v.loc["N2", "sb_quota_discharge_flag"]


def test_quota_signal_is_skipped_without_a_quota(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10")
    fs = build_features(world.dataset(), check=False)
    skipped = dict(fs.skipped)
    assert "stay_cost_quota" in skipped["sb_quota_discharge_flag"]
    assert "sb_quota_discharge_flag" not in fs.frames[Level.VISIT]


def test_several_small_outpatient_settlements_on_one_day_are_split(world: World) -> None:
    for i in range(3):
        world.visit(f"V{i}", begin="2024-03-01", medfee=150.0)
    # the look-alike: two visits on one day, one of them above the per-visit cap
    world.visit("W1", psn_no="P2", begin="2024-03-01", medfee=150.0)
    world.visit("W2", psn_no="P2", begin="2024-03-01", medfee=900.0)
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["V0", "sb_same_day_outpatient_settlements"] == 3
    assert v.loc[["V0", "V1", "V2"], "sb_split_outpatient_flag"].all()
    assert not v.loc[["W1", "W2"], "sb_split_outpatient_flag"].any()
    text = fs.evidence.set_index(["subject_id", "feature"]).loc[
        ("V1", "sb_split_outpatient_flag"), "explanation"
    ]
    assert "S1" in text and "S3" in text


def test_refunded_and_resettled_visit_is_not_split(world: World) -> None:
    world.visit("V1", begin="2024-03-01", medfee=150.0)
    world.visit("V1", begin="2024-03-01", medfee=-150.0, refund="1")
    world.visit("V2", begin="2024-03-01", medfee=140.0)
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert not v["sb_split_outpatient_flag"].any()


def test_component_charged_with_its_bundle_is_split_charging(world: World) -> None:
    world.limit("LAB01", "201", bundle_code="PANEL")
    world.limit("PANEL", "201")
    s1 = world.visit("V1", begin="2024-03-01")
    world.fee(s1, "2024-03-01", "PANEL", "04", pric=80.0)
    world.fee(s1, "2024-03-01", "LAB01", "04", pric=20.0)
    s2 = world.visit("V2", psn_no="P2", begin="2024-03-01")
    world.fee(s2, "2024-03-01", "PANEL", "04", pric=80.0)
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["V1", "sb_bundle_conflicts"] == 1
    assert v.loc["V1", "sb_split_charging_flag"]
    assert not v.loc["V2", "sb_split_charging_flag"]
    text = fs.evidence.set_index(["subject_id", "feature"]).loc[
        ("V1", "sb_split_charging_flag"), "explanation"
    ]
    assert "LAB01" in text and "PANEL" in text


def test_two_bed_fees_on_one_day_break_the_daily_limit(world: World) -> None:
    world.limit("BED01", "201", max_daily_cnt=1.0)
    sid = world.stay("M1", "2024-03-01", "2024-03-03")
    world.fee(sid, "2024-03-02", "BED01", "01", pric=50.0, doctor="D9")
    world.stay("M2", "2024-03-01", "2024-03-03", psn_no="P2")
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert v.loc["M1", "sb_over_daily_limit"] == 1
    assert v.loc["M1", "sb_split_charging_flag"]
    assert not v.loc["M2", "sb_split_charging_flag"]


def test_same_component_twice_on_one_day_is_a_duplicate(world: World) -> None:
    world.limit("LAB01", "201", bundle_code="PANEL")
    s1 = world.visit("V1", begin="2024-03-01")
    world.fee(s1, "2024-03-01", "LAB01", "04")
    s2 = world.visit("V2", begin="2024-03-01", inst="H2")
    world.fee(s2, "2024-03-01", "LAB01", "04")
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert v.loc["V1", "sb_duplicate_components"] == 1
    assert v.loc["V2", "sb_split_charging_flag"]


def test_charging_signals_are_skipped_without_a_catalog(world: World) -> None:
    world.visit("V1", begin="2024-03-01")
    fs = build_features(world.dataset(with_catalog=False), check=False)
    skipped = dict(fs.skipped)
    assert "catalog" in skipped["sb_split_charging_flag"]
    assert "catalog" in skipped["cl_restricted_item_flag"]
    assert "sb_split_charging_flag" not in fs.frames[Level.VISIT]


def test_two_departments_for_two_complaints_on_one_day_are_not_split(world: World) -> None:
    world.visit("V1", begin="2024-03-01", medfee=90.0, dise="M54.5", doctor="D1")
    world.visit("V2", begin="2024-03-01", medfee=80.0, dise="K29.7", doctor="D2")
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert not v[["sb_split_outpatient_flag"]].any().any()
