"""Card lending and impersonation signals on hand-built persons and visits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.build import build_features
from features.contract import Level

if TYPE_CHECKING:
    from conftest import World


def evidence_text(fs, subject: str, feature: str) -> str:
    return fs.evidence.set_index(["subject_id", "feature"]).loc[(subject, feature), "explanation"]


def test_abortion_billed_to_a_75_year_old_woman_does_not_fit_the_person(world: World) -> None:
    world.limit("ABORT1", "201", lmt_gend="2", lmt_age_min=15.0, lmt_age_max=55.0)
    world.person("OLD", gend="2", brdy="1949-01-01")
    world.person("YOUNG", gend="2", brdy="1994-01-01")
    s1 = world.visit("V1", psn_no="OLD", begin="2024-03-01")
    world.fee(s1, "2024-03-01", "ABORT1", "06", pric=800.0)
    s2 = world.visit("V2", psn_no="YOUNG", begin="2024-03-01")
    world.fee(s2, "2024-03-01", "ABORT1", "06", pric=800.0)
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["V1", "cl_restricted_item_flag"]
    assert not v.loc["V2", "cl_restricted_item_flag"]
    assert "aged 75" in evidence_text(fs, "V1", "cl_restricted_item_flag")


def test_item_only_for_women_billed_to_a_man_does_not_fit(world: World) -> None:
    world.limit("OBST1", "201", lmt_gend="2")
    world.person("M", gend="1")
    sid = world.visit("V1", psn_no="M", begin="2024-03-01")
    world.fee(sid, "2024-03-01", "OBST1", "05")
    fs = build_features(world.dataset(), check=False)
    assert fs.frames[Level.VISIT].loc["V1", "cl_restricted_item_mismatches"] == 1
    assert "only for women, billed to a man" in evidence_text(fs, "V1", "cl_restricted_item_flag")


def test_settlements_1900_km_apart_within_an_hour_are_impossible(world: World) -> None:
    world.visit("V1", inst="H1", time="2024-03-01 09:00:00")
    world.visit("V2", inst="H3", time="2024-03-01 09:40:00")
    # the look-alike: a family member at the distant hospital at the same time
    world.visit("W1", psn_no="P2", inst="H1", time="2024-03-01 09:00:00")
    world.visit("W2", psn_no="P3", inst="H3", time="2024-03-01 09:40:00")
    # and the same person at two nearby hospitals an hour apart
    world.visit("X1", psn_no="P4", inst="H1", time="2024-03-01 09:00:00")
    world.visit("X2", psn_no="P4", inst="H2", time="2024-03-01 10:00:00")
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["V2", "cl_travel_speed_kmh"] > 1000
    assert v.loc[["V1", "V2"], "cl_impossible_travel_flag"].all()
    assert not v.loc[["W1", "W2", "X1", "X2"], "cl_impossible_travel_flag"].any()
    assert "H3" in evidence_text(fs, "V2", "cl_impossible_travel_flag")


def test_overlapping_stays_at_two_institutions_are_impossible(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10", inst="H1")
    world.stay("M2", "2024-03-05", "2024-03-12", inst="H2")
    # the look-alike: a transfer, discharged and admitted elsewhere on the same day
    world.stay("N1", "2024-03-01", "2024-03-10", psn_no="P2", inst="H1")
    world.stay("N2", "2024-03-10", "2024-03-15", psn_no="P2", inst="H2")
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc[["M1", "M2"], "cl_overlapping_stay_flag"].all()
    assert not v.loc[["N1", "N2"], "cl_overlapping_stay_flag"].any()
    assert "M2" in evidence_text(fs, "M1", "cl_overlapping_stay_flag")


def test_settlement_after_death_is_flagged(world: World) -> None:
    world.person("DEAD", dead="2024-02-01")
    world.person("ALIVE")
    world.visit("V1", psn_no="DEAD", begin="2024-03-01")
    world.visit("V2", psn_no="ALIVE", begin="2024-03-01")
    fs = build_features(world.dataset(), check=False)
    v = fs.frames[Level.VISIT]
    assert v.loc["V1", "cl_days_after_death"] == 29
    assert v.loc["V1", "cl_after_death_flag"]
    assert not v.loc["V2", "cl_after_death_flag"]
    assert "2024-02-01" in evidence_text(fs, "V1", "cl_after_death_flag")


def test_sudden_rise_in_visits_breaks_the_persons_history(world: World) -> None:
    # one visit a month for six months, then twelve in one month
    for m in range(1, 7):
        world.visit(f"A{m}", begin=f"2024-{m:02d}-05")
    for d in range(1, 13):
        world.visit(f"B{d}", begin=f"2024-07-{d:02d}")
    # the look-alike: a steady frequent visitor (chronic care) with six visits every month
    for m in range(1, 8):
        for d in range(6):
            world.visit(f"C{m}-{d}", psn_no="P2", begin=f"2024-{m:02d}-{d + 1:02d}")
    fs = build_features(world.dataset(), check=False)
    p = fs.frames[Level.PERSON]
    assert p.loc["P1", "cl_frequency_jump"] >= 12
    assert p.loc["P1", "cl_frequency_jump_flag"]
    assert not p.loc["P2", "cl_frequency_jump_flag"]


def test_new_region_after_a_long_local_history_is_a_history_break(world: World) -> None:
    for m in range(1, 7):
        world.visit(f"A{m}", inst="H1", begin=f"2024-{m:02d}-05")
    world.visit("B1", inst="H3", begin="2024-07-05")
    v = build_features(world.dataset(), check=False).frames[Level.VISIT]
    assert v.loc["B1", "cl_history_break"] == 1
    assert v.loc["A6", "cl_history_break"] == 0


def test_many_cards_settled_in_minutes_flags_card_collection(world: World) -> None:
    # a pharmacy with one customer every hour for two days, then ten cards in five minutes
    # (the K visits at 10:00-10:04 share the 10:00-11:00 window with none of the U visits)
    for h in range(48):
        world.visit(f"U{h}", psn_no=f"Q{h}", inst="Y1", med_type="41",
                    time=f"2024-03-{1 + h // 24:02d} {h % 24:02d}:30:00")  # fmt: skip
    for i in range(10):
        world.visit(f"K{i}", psn_no=f"K{i}", inst="Y1", med_type="41",
                    time=f"2024-03-05 10:0{i // 2}:00")  # fmt: skip
    world.visit("Z1", psn_no="Z1", inst="Y2", med_type="41", time="2024-03-05 10:00:00")
    fs = build_features(world.dataset(), check=False)
    inst = fs.frames[Level.INSTITUTION]
    assert inst.loc["Y1", "cl_inst_card_burst_persons"] == 10
    assert inst.loc["Y1", "cl_inst_card_burst_flag"]
    assert not inst.loc["Y2", "cl_inst_card_burst_flag"]
    v = fs.frames[Level.VISIT]
    assert v.loc[[f"K{i}" for i in range(10)], "cl_card_burst_visit_flag"].all()
    assert not v.loc[["U0", "U30", "Z1"], "cl_card_burst_visit_flag"].any()


def test_identical_baskets_of_many_persons_at_one_pharmacy_are_flagged(world: World) -> None:
    for i in range(6):
        sid = world.visit(f"B{i}", psn_no=f"B{i}", inst="Y1", med_type="41", begin="2024-03-01")
        for item in ("DA", "DB", "DC"):
            world.fee(sid, "2024-03-01", item, "09", prd_days=7.0)
    # the look-alike: everybody buys the same single common drug at the other pharmacy
    for i in range(6):
        sid = world.visit(f"C{i}", psn_no=f"C{i}", inst="Y2", med_type="41", begin="2024-03-01")
        world.fee(sid, "2024-03-01", "DA", "09", prd_days=7.0)
    fs = build_features(world.dataset(), check=False)
    inst = fs.frames[Level.INSTITUTION]
    assert inst.loc["Y1", "cl_inst_same_basket_persons"] == 6
    assert inst.loc["Y1", "cl_inst_same_basket_flag"]
    assert not inst.loc["Y2", "cl_inst_same_basket_flag"]
