"""Institution network and peer signals over a small hand-built dataset."""

from __future__ import annotations

import gc

import pandas as pd
import pytest

from features import provider_network as pn
from features.provider_network import ProviderNetworkSettings, build_provider_signals
from settlements.dataset import Dataset

SETTINGS = ProviderNetworkSettings(network_peer_min_institutions=1)


def stay(setl: str, person: str, inst: str, begin: str, end: str, fee: float, doctor: str,
         dise: str = "I10", med_type: str = "21") -> dict[str, object]:  # fmt: skip
    return {
        "setl_id": setl,
        "mdtrt_id": setl,
        "psn_no": person,
        "fixmedins_code": inst,
        "med_type": med_type,
        "begndate": pd.Timestamp(begin),
        "enddate": pd.Timestamp(end),
        "setl_time": pd.Timestamp(end),
        "medfee_sumamt": fee,
        "hifp_pay": fee,
        "fund_pay_sumamt": fee,
        "acct_pay": 0.0,
        "psn_cash_pay": 0.0,
        "dise_codg": dise,
        "atddr_no": doctor,
    }


def line(setl: str, sn: str, item_type: str, code: str, doctor: str) -> dict[str, object]:
    return {
        "feedetl_sn": sn,
        "setl_id": setl,
        "mdtrt_id": setl,
        "fee_ocur_time": pd.Timestamp("2024-01-01"),
        "hilist_code": code,
        "list_type": "201",
        "med_chrgitm_type": item_type,
        "cnt": 1.0,
        "pric": 0.0,
        "det_item_fee_sumamt": 0.0,
        "bilg_dr_codg": doctor,
    }


def make_dataset() -> Dataset:
    """A, B, C in region 11; D in region 22 (alone). P1 is treated at A and at B at the same
    time (overlap elsewhere); P2 died on 2024-02-01 and is billed by C afterwards; doctor X
    works at A and C; A bills P3 twice identically and readmits P3 within 30 days."""
    settlements = pd.DataFrame(
        [
            stay("s1", "P1", "A", "2024-01-01", "2024-01-10", 1000.0, "X"),
            stay("s2", "P1", "B", "2024-01-05", "2024-01-06", 500.0, "Y"),
            stay("s3", "P3", "A", "2024-03-01", "2024-03-02", 300.0, "X", "J18"),
            stay("s4", "P3", "A", "2024-03-20", "2024-03-21", 300.0, "X", "J18"),
            stay("s5", "P2", "C", "2024-02-10", "2024-02-12", 800.0, "X"),
            stay("s6", "P4", "D", "2024-01-01", "2024-01-30", 9000.0, "Z"),
            stay("s7", "P4", "B", "2024-05-01", "2024-05-01", 50.0, "Y", med_type="11"),
        ]
    )
    fees = pd.DataFrame(
        [
            line("s1", "1", "14", "DRG1", "X"),
            line("s1", "2", "06", "3893", "W"),
            line("s1", "3", "06", "0066", "W"),
            line("s5", "1", "14", "DRG1", "X"),
            line("s6", "1", "14", "DRG2", "Z"),
        ]
    )
    persons = pd.DataFrame(
        {
            "psn_no": ["P1", "P2", "P3", "P4"],
            "gend": ["1", "2", "1", "2"],
            "brdy": pd.to_datetime(["1950-01-01", "1940-01-01", "1980-01-01", "2000-01-01"]),
            "insutype": "310",
            "insuplc_admdvs": ["110100", "110100", "110100", "330100"],
            "dead_date": pd.to_datetime([None, "2024-02-01", None, None]),
        }
    )
    institutions = pd.DataFrame(
        {
            "fixmedins_code": ["A", "B", "C", "D", "E"],
            "fixmedins_name": ["A", "B", "C", "D", "E"],
            "fixmedins_type": "1",
            "admdvs": ["110100", "110100", "110200", "220100", "110100"],
        }
    )
    frames = [settlements, fees, persons, institutions]
    for frame in frames:
        for c in frame.columns:
            if frame[c].dtype == object:
                frame[c] = frame[c].astype("string")
    return Dataset(settlements, fees, persons, institutions)


@pytest.fixture
def dataset() -> Dataset:
    return make_dataset()


def test_every_function_returns_one_float_row_per_institution(dataset: Dataset) -> None:
    for fn in pn.SIGNAL_FUNCTIONS:
        out = fn(dataset, SETTINGS)

        assert out.index.name == "subject_id", fn.__name__
        assert list(out.index) == ["A", "B", "C", "D", "E"], fn.__name__
        assert (out.dtypes == "float64").all(), fn.__name__
        assert out.notna().all().all(), fn.__name__
        assert all(c.startswith("inst_") for c in out.columns), fn.__name__
        assert list(out.columns) == list(pn.SIGNAL_COLUMNS[fn.__name__]), fn.__name__


def test_an_institution_without_settlements_gets_zeros(dataset: Dataset) -> None:
    signals = build_provider_signals(dataset, SETTINGS)

    assert (signals.loc["E"] == 0).all()


def test_signals_do_not_change_their_input(dataset: Dataset) -> None:
    before = {name: frame.copy() for name, frame in dataset.tables()}

    build_provider_signals(dataset, SETTINGS)

    for name, frame in dataset.tables():
        pd.testing.assert_frame_equal(frame, before[name])


def test_labels_never_change_a_signal(dataset: Dataset) -> None:
    confirmed = pd.DataFrame(
        {
            "subject_type": ["institution", "institution"],
            "subject_id": ["A", "B"],
            "pattern": "other",
            "outcome": ["confirmed", "rejected"],
        }
    ).astype("string")
    flipped = confirmed.assign(outcome=["rejected", "confirmed"]).astype("string")

    with_labels = build_provider_signals(dataset.with_tables(labels=confirmed), SETTINGS)
    other_labels = build_provider_signals(dataset.with_tables(labels=flipped), SETTINGS)

    pd.testing.assert_frame_equal(with_labels, build_provider_signals(dataset, SETTINGS))
    pd.testing.assert_frame_equal(other_labels, with_labels)


def test_volume_counts_settlements_and_persons(dataset: Dataset) -> None:
    v = pn.measure_institution_volume(dataset, SETTINGS)

    assert v.loc["A", "inst_settlements"] == 3
    assert v.loc["A", "inst_persons"] == 2
    assert v.loc["A", "inst_settlements_per_person"] == 1.5
    assert v.loc["D", "inst_fund_pay_total"] == 9000.0


def test_persons_treated_elsewhere_link_institutions(dataset: Dataset) -> None:
    s = pn.count_shared_persons(dataset, SETTINGS)

    assert s.loc["A", "inst_shared_person_share"] == 0.5  # P1 of P1, P3
    assert s.loc["A", "inst_person_sharing_institutions"] == 1  # B
    assert s.loc["B", "inst_person_sharing_institutions"] == 2  # A via P1, D via P4
    assert s.loc["B", "inst_person_sharing_max_size"] == 3  # A's settlements
    assert s.loc["C", "inst_shared_person_share"] == 0


def test_a_physician_at_two_institutions_connects_them(dataset: Dataset) -> None:
    p = pn.count_shared_physicians(dataset, SETTINGS)

    assert p.loc["A", "inst_physicians"] == 2  # X attending, W surgeon
    assert p.loc["A", "inst_shared_physician_share"] == 0.5  # X also at C
    assert p.loc["A", "inst_physician_sharing_institutions"] == 1
    assert p.loc["C", "inst_physician_sharing_volume"] == 3  # A's settlements
    assert p.loc["A", "inst_physician_component_institutions"] == 2  # A, C
    assert p.loc["B", "inst_physician_component_institutions"] == 1
    assert p.loc["A", "inst_top_attending_share"] == 1.0


def test_a_stay_overlapping_a_stay_elsewhere_is_counted_at_both(dataset: Dataset) -> None:
    o = pn.count_overlapping_stays(dataset, SETTINGS)

    assert o.loc["A", "inst_stays_overlapping_elsewhere"] == 1
    assert o.loc["A", "inst_stays_overlapping_elsewhere_share"] == pytest.approx(1 / 3)
    assert o.loc["B", "inst_stays_overlapping_elsewhere"] == 1
    assert o.loc["D", "inst_stays_overlapping_elsewhere"] == 0
    assert o["inst_stays_overlapping_same"].sum() == 0


def test_a_settlement_after_death_flags_its_institution(dataset: Dataset) -> None:
    d = pn.count_claims_after_death(dataset, SETTINGS)

    assert d.loc["C", "inst_settlements_after_death"] == 1
    assert d.loc["C", "inst_settlements_after_death_share"] == 1.0
    assert d["inst_settlements_after_death"].sum() == 1


def test_stay_cost_is_judged_against_the_same_region(dataset: Dataset) -> None:
    p = pn.profile_stays(dataset, SETTINGS)

    # region 11: A mean 533.3, B 500, C 800 -> C above the median; D alone in region 22
    assert p.loc["C", "inst_stay_cost_peer_z"] > 0
    assert p.loc["B", "inst_stay_cost_peer_z"] < 0
    assert p.loc["D", "inst_stay_cost_peer_z"] == 0
    assert p.loc["D", "inst_stay_length_max"] == 30
    assert p.loc["B", "inst_stay_cost_mean"] == 500.0  # the outpatient s7 is not a stay


def test_small_peer_regions_are_compared_with_everyone() -> None:
    data = make_dataset()
    settings = ProviderNetworkSettings(network_peer_min_institutions=5)

    p = pn.profile_stays(data, settings)

    assert p.loc["D", "inst_stay_cost_peer_z"] > 0


def test_identical_claims_and_quick_readmissions_are_counted(dataset: Dataset) -> None:
    r = pn.count_repeated_claims(dataset, SETTINGS)

    assert r.loc["A", "inst_repeated_claims"] == 2
    assert r.loc["A", "inst_quick_readmissions"] == 1
    assert r.loc["A", "inst_quick_readmission_share"] == pytest.approx(1 / 3)
    assert r.loc["B", "inst_repeated_claims"] == 0


def test_a_short_readmission_window_leaves_the_readmission_out(dataset: Dataset) -> None:
    r = pn.count_repeated_claims(dataset, ProviderNetworkSettings(repeat_window_days=10))

    assert r.loc["A", "inst_quick_readmissions"] == 0


def test_code_diversity_counts_diagnoses_and_surgery_lines(dataset: Dataset) -> None:
    c = pn.measure_code_diversity(dataset, SETTINGS)

    assert c.loc["A", "inst_diagnoses_per_settlement"] == pytest.approx(2 / 3)
    assert c.loc["A", "inst_surgery_items"] == 2
    assert c.loc["A", "inst_surgery_lines_max"] == 2
    assert c.loc["A", "inst_surgery_settlement_share"] == pytest.approx(1 / 3)


def test_patients_from_another_region_and_deceased_are_profiled(dataset: Dataset) -> None:
    p = pn.profile_patients(dataset, SETTINGS)

    assert p.loc["D", "inst_patient_other_region_share"] == 1.0  # P4 insured in 33
    assert p.loc["A", "inst_patient_other_region_share"] == 0.0
    assert p.loc["C", "inst_patient_deceased_share"] == 1.0
    assert p.loc["A", "inst_patient_male_share"] == 1.0


def test_no_settlements_gives_zeros_for_every_institution(dataset: Dataset) -> None:
    empty = dataset.with_tables(
        settlements=dataset.settlements.iloc[:0], fee_details=dataset.fee_details.iloc[:0]
    )

    signals = build_provider_signals(empty, SETTINGS)

    assert signals.shape == (5, sum(len(c) for c in pn.SIGNAL_COLUMNS.values()))
    assert (signals == 0).all().all()


def test_optional_columns_may_be_absent(dataset: Dataset) -> None:
    bare = dataset.with_tables(
        settlements=dataset.settlements.drop(columns=["atddr_no"]),
        persons=dataset.persons.drop(columns=["dead_date"]),
    )

    signals = build_provider_signals(bare, SETTINGS)

    assert signals["inst_settlements_after_death"].sum() == 0
    assert signals["inst_top_attending_share"].sum() == 0
    assert signals.loc["A", "inst_physicians"] == 2  # X and W from the fee lines


def test_institutions_reached_through_physicians_match_a_self_join_of_their_links() -> None:
    """The sparse institution × institution product gives what the plain self-join of
    (physician, institution) links gives, on a world where physicians roam widely."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 400
    insts = [f"H{i}" for i in rng.integers(0, 12, n)]
    rows = [
        stay(
            f"s{i}",
            f"P{i % 50}",
            insts[i],
            "2024-01-01",
            "2024-01-03",
            100.0 + i,
            f"D{rng.integers(0, 30)}",
        )
        for i in range(n)
    ]
    lines = [line(f"s{i}", f"l{i}", "09", "DRUG", f"D{rng.integers(0, 30)}") for i in range(n)]
    institutions = pd.DataFrame(
        {
            "fixmedins_code": [f"H{i}" for i in range(13)],
            "fixmedins_type": "1",
            "hosp_lv": "3",
            "admdvs": "110105",
        }
    )
    dataset = Dataset(
        settlements=pd.DataFrame(rows),
        fee_details=pd.DataFrame(lines),
        persons=pd.DataFrame({"psn_no": [f"P{i}" for i in range(50)]}),
        institutions=institutions,
    )

    p = pn.count_shared_physicians(dataset, SETTINGS)

    links = pn._physician_links(dataset)
    edges = links.merge(links, on="doctor", suffixes=("", "_other"))
    edges = edges.loc[edges["inst"] != edges["inst_other"]].drop_duplicates(["inst", "inst_other"])
    size = dataset.settlements.groupby("fixmedins_code").size()
    edges["other_size"] = edges["inst_other"].map(size).astype("float64")
    expected = edges.groupby("inst").agg(n=("inst_other", "size"), volume=("other_size", "sum"))
    expected = expected.reindex(p.index).fillna(0.0)
    assert (p["inst_physician_sharing_institutions"] > 0).sum() >= 10
    assert p["inst_physician_sharing_institutions"].tolist() == expected["n"].tolist()
    np.testing.assert_allclose(p["inst_physician_sharing_volume"], expected["volume"])
    assert p.loc["H12", "inst_physician_sharing_institutions"] == 0  # no settlements


def test_another_dataset_with_the_same_settlements_gets_its_own_signals(
    dataset: Dataset,
) -> None:
    # given signals of a dataset (its integer keys are kept while it lives)
    before = pn.measure_code_diversity(dataset, SETTINGS)
    fees = dataset.fee_details
    # when the same settlements come with other fee lines (no surgery)
    other = dataset.with_tables(fee_details=fees.loc[fees["med_chrgitm_type"] != "06"])

    after = pn.measure_code_diversity(other, SETTINGS)

    # then the other dataset's fee lines count, not those of the first
    assert before.loc["A", "inst_surgery_items"] == 2
    assert after["inst_surgery_items"].sum() == 0
    assert pn.measure_code_diversity(dataset, SETTINGS).equals(before)


def test_the_keys_of_a_dataset_are_forgotten_with_it(dataset: Dataset) -> None:
    # given a dataset whose signals were computed
    copy = dataset.with_tables()
    pn.count_shared_persons(copy, SETTINGS)
    held = id(copy)
    assert held in pn._KEYS

    # when the dataset is gone
    del copy
    gc.collect()

    # then so are its keys
    assert held not in pn._KEYS


def test_missing_institution_and_person_codes_are_left_out_as_pandas_groups_leave_them(
    dataset: Dataset,
) -> None:
    # given a settlement without an institution code and one without a person
    s = dataset.settlements.astype({"fixmedins_code": "string", "psn_no": "string"})
    s.loc[s.index[0], "fixmedins_code"] = pd.NA
    s.loc[s.index[1], "psn_no"] = pd.NA
    gaps = dataset.with_tables(settlements=s)

    v = pn.measure_institution_volume(gaps, SETTINGS)
    r = pn.count_repeated_claims(gaps, SETTINGS)

    # then neither counts for an institution (nor for a person) and nothing breaks
    assert v["inst_settlements"].sum() == len(s) - 1
    assert v.loc["A", "inst_settlements"] == 2  # s1 lost its institution
    assert v.loc["B", "inst_persons"] == 1  # P4; s2 lost its person (P1)
    assert r.notna().all().all()
