"""Over-prescription signals on hand-built prescriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.build import build_features
from features.contract import Level

if TYPE_CHECKING:
    from conftest import World


def test_thirty_days_on_an_ordinary_prescription_is_over_the_limit(world: World) -> None:
    sid = world.visit("V1", med_type="11", begin="2024-03-01")
    world.fee(sid, "2024-03-01", "AMLO", "09", cnt=30.0, prd_days=30.0)
    sid = world.visit("V2", psn_no="P2", med_type="11", begin="2024-03-01")
    world.fee(sid, "2024-03-01", "AMLO", "09", cnt=7.0, prd_days=7.0)
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["V1", "op_supply_over_limit_flag"]
    assert v.loc["V1", "op_supply_limit_ratio"] > 4
    assert not v.loc["V2", "op_supply_over_limit_flag"]
    text = fs.evidence.set_index(["subject_id", "feature"]).loc[
        ("V1", "op_supply_over_limit_flag"), "explanation"
    ]
    assert "AMLO" in text and "30 days" in text and "limit 7" in text


def test_emergency_prescription_is_limited_to_three_days(world: World) -> None:
    sid = world.visit("V1", med_type="13", begin="2024-03-01")
    world.fee(sid, "2024-03-01", "IBU", "09", cnt=5.0, prd_days=5.0)
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert v.loc["V1", "op_supply_over_limit_flag"]


def test_long_prescription_for_a_stable_chronic_patient_is_legitimate(world: World) -> None:
    # the look-alike: a known chronic patient (earlier chronic visit) given 12 weeks
    sid = world.visit("C1", med_type="14", begin="2024-01-02", dise="I10")
    world.fee(sid, "2024-01-02", "AMLO", "09", cnt=28.0, prd_days=28.0)
    sid = world.visit("C2", med_type="14", begin="2024-01-30", dise="I10")
    world.fee(sid, "2024-01-30", "AMLO", "09", cnt=84.0, prd_days=84.0)
    # but a first chronic visit is limited to 4 weeks
    sid = world.visit("N1", psn_no="P2", med_type="14", begin="2024-01-02", dise="I10")
    world.fee(sid, "2024-01-02", "AMLO", "09", cnt=84.0, prd_days=84.0)
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert not v.loc["C1", "op_supply_over_limit_flag"]
    assert not v.loc["C2", "op_supply_over_limit_flag"]
    assert not v.loc["C2", "op_early_refill_flag"]
    assert v.loc["N1", "op_supply_over_limit_flag"]
    assert not fs.frames[Level.PERSON].loc["P1", "op_stockpile_flag"]


def test_narcotic_above_its_catalogue_limit_is_over_the_limit(world: World) -> None:
    world.limit("MORPH", "101", max_prd_days=3.0, max_daily_cnt=4.0)
    sid = world.visit("V1", med_type="14", begin="2024-03-01")
    world.fee(sid, "2024-03-01", "MORPH", "09", cnt=40.0, prd_days=7.0)
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["V1", "op_supply_over_limit_flag"]
    assert v.loc["V1", "op_daily_quantity_flag"]
    text = fs.evidence.set_index(["subject_id", "feature"]).loc[
        ("V1", "op_daily_quantity_flag"), "explanation"
    ]
    assert "MORPH" in text and "limit 4.0" in text


def test_stockpiling_one_drug_across_institutions_is_flagged(world: World) -> None:
    # four 7-day supplies of one drug at three institutions within six days
    for i, (day, inst) in enumerate(
        [("01", "H1"), ("02", "H2"), ("04", "Y1"), ("07", "H1")], start=1
    ):
        sid = world.visit(f"V{i}", inst=inst, med_type="41" if inst[0] == "Y" else "11",
                          begin=f"2024-03-{day}")  # fmt: skip
        world.fee(sid, f"2024-03-{day}", "ZOLP", "09", cnt=7.0, prd_days=7.0)
    # the look-alike: regular weekly refills
    for i, day in enumerate(("01", "08", "15", "22"), start=1):
        sid = world.visit(f"W{i}", psn_no="P2", begin=f"2024-03-{day}")
        world.fee(sid, f"2024-03-{day}", "ZOLP", "09", cnt=7.0, prd_days=7.0)
    fs = build_features(world.dataset(), check=False)
    p = fs.frames[Level.PERSON]
    v = fs.frames[Level.VISIT]
    assert p.loc["P1", "op_stockpile_ratio"] > 3
    assert p.loc["P1", "op_stockpile_flag"]
    assert not p.loc["P2", "op_stockpile_flag"]
    assert v.loc["V2", "op_early_refill_flag"] and v.loc["V2", "op_early_refills"] == 1
    assert not v.loc[["W2", "W3", "W4"], "op_early_refill_flag"].any()
    text = fs.evidence.set_index(["subject_id", "feature"]).loc[
        ("V2", "op_early_refill_flag"), "explanation"
    ]
    assert "2024-03-01" in text and "7-day supply" in text


def test_doctor_prescribing_far_more_high_value_drugs_than_peers_is_flagged(world: World) -> None:
    # eight doctors of the same specialty prescribe one high-value drug once; one prescribes
    # it fifty times
    for d in range(8):
        sid = world.visit(f"V{d}", psn_no=f"P{d}", begin="2024-03-01", doctor=f"D{d}")
        world.fee(sid, "2024-03-01", "BIO", "09", pric=500.0, prd_days=7.0, doctor=f"D{d}")
    for i in range(50):
        sid = world.visit(f"X{i}", psn_no=f"X{i}", begin="2024-03-02", doctor="DX")
        world.fee(sid, "2024-03-02", "BIO", "09", pric=500.0, prd_days=7.0, doctor="DX")
    fs = build_features(world.dataset(), check=False)
    d = fs.frames[Level.DOCTOR]
    assert d.loc["DX", "op_doc_high_value_drug_flag"]
    assert not d.loc["D1", "op_doc_high_value_drug_flag"]
    assert d.loc["DX", "ctx_peer_group"] == "K|3"


def test_one_drug_basket_for_many_persons_flags_the_doctor(world: World) -> None:
    for i in range(5):
        sid = world.visit(f"V{i}", psn_no=f"P{i}", begin="2024-03-01", doctor="DR")
        for item in ("DA", "DB", "DC"):
            world.fee(sid, "2024-03-01", item, "09", prd_days=7.0, doctor="DR")
    d = build_features(world.dataset(), check=False).frames[Level.DOCTOR]
    assert d.loc["DR", "op_doc_same_basket_persons"] == 5
    assert d.loc["DR", "op_doc_same_basket_flag"]
