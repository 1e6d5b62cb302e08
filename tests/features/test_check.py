"""The /check fast path: one settlement's visit and person signals equal build_features'."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from features.build import build_features
from features.check import CHECK_LEVELS, CheckSignals
from features.config import FeatureSettings
from features.contract import FeatureSet, Level
from settlements.config import IntakeSettings
from settlements.dataset import Dataset
from settlements.intake import validate_dataset
from settlements.lone import LoneSettlement
from settlements.schema import MED_TYPES
from settlements.synthetic import WorldConfig, generate_world

if TYPE_CHECKING:
    from conftest import World

KEY = b"test-pseudonym-key"
CHUNKS = 6


def assert_same_frame(got: pd.DataFrame, want: pd.DataFrame, what: str) -> None:
    """Same columns in the same order, same dtypes, same values (NaN where NaN), same
    index (values, dtype, name and type)."""
    assert list(got.columns) == list(want.columns), what
    assert list(got.dtypes) == list(want.dtypes), what
    pd.testing.assert_frame_equal(
        got,
        want,
        check_dtype=True,
        check_index_type=True,
        check_column_type=True,
        check_exact=True,
        obj=what,
    )


def assert_same_feature_set(got: FeatureSet, want: FeatureSet, what: str = "") -> None:
    assert list(got.frames) == list(want.frames), what
    for level in want.frames:
        assert_same_frame(got.frames[level], want.frames[level], f"{what} {level.value}")
    assert_same_frame(got.evidence, want.evidence, f"{what} evidence")
    assert got.specs == want.specs, what
    assert got.skipped == want.skipped, what


def reference(dataset: Dataset, settings: FeatureSettings | None = None) -> FeatureSet:
    return build_features(dataset, settings, check=False, levels=CHECK_LEVELS)


def assert_fast_path_equals_build_features(
    signals: CheckSignals, dataset: Dataset, what: str = ""
) -> FeatureSet:
    got = signals.build_lone(dataset)
    assert got is not None, f"{what}: the fast path did not cover a lone settlement"
    assert_same_feature_set(got, reference(dataset, signals.settings), what)
    return got


# -- a small synthetic world, every settlement taken alone -----------------------------------


@cache
def synthetic() -> Dataset:
    """A small synthetic world (every fraud variant and look-alike), read through intake."""
    world = generate_world(200, seed=5, config=WorldConfig(days=120))
    return validate_dataset(world.dataset, IntakeSettings(), KEY).dataset


@cache
def truth() -> pd.DataFrame:
    return generate_world(200, seed=5, config=WorldConfig(days=120)).truth


def alone(data: Dataset, setl_id: str, catalog: pd.DataFrame | None) -> Dataset:
    """One settlement with its fee lines, its person and its institution, as /check sends."""
    setl = data.settlements.loc[data.settlements["setl_id"] == setl_id]
    fees = data.fee_details.loc[data.fee_details["setl_id"] == setl_id]
    persons = data.persons.loc[data.persons["psn_no"].isin(setl["psn_no"])]
    inst = data.institutions.loc[data.institutions["fixmedins_code"].isin(setl["fixmedins_code"])]
    return Dataset(setl, fees, persons, inst, catalog=catalog)


def sample() -> list[str]:
    """A few settlements that cover the kinds of visit and the lone-settlement flags: a
    stay with empty days, a check-up admission, a wrong-person restricted item, a visit
    after death, days supplied and daily count over the limits, a refund, a pharmacy."""
    data = synthetic()
    setl = data.settlements
    t = truth()
    visits = t.loc[t["subject_type"] == "visit"].drop_duplicates("variant")
    wanted = [
        "empty_days",
        "checkup_admission",
        "after_death",
        "days_supply_over_limit",
        "daily_count_over_limit",
    ]
    by_visit = setl.drop_duplicates("mdtrt_id").set_index("mdtrt_id")["setl_id"]
    ids = [by_visit[m] for m in visits.set_index("variant").loc[wanted, "subject_id"]]
    persons = t.loc[t["variant"] == "restricted_item_wrong_person", "subject_id"]
    assert data.catalog is not None
    limited = data.catalog.loc[data.catalog["lmt_gend"].notna(), "hilist_code"]
    fees = data.fee_details.loc[data.fee_details["hilist_code"].isin(limited)]
    theirs = setl.loc[setl["psn_no"] == persons.iloc[0], "setl_id"]
    ids.append(fees.loc[fees["setl_id"].isin(theirs), "setl_id"].iloc[0])
    ids.append(setl.loc[setl["refd_setl_flag"] == "1", "setl_id"].iloc[0])
    ids.append(setl.loc[setl["med_type"] == "41", "setl_id"].iloc[0])
    return ids


def test_fast_path_equals_build_features_on_sampled_lone_settlements() -> None:
    # given a few settlements of a synthetic world, each alone, with and without catalogue
    data = synthetic()
    with_catalog = CheckSignals(catalog=data.catalog)
    without = CheckSignals()
    fired: set[str] = set()
    for setl_id in sample():
        # when / then
        got = assert_fast_path_equals_build_features(
            with_catalog, alone(data, setl_id, data.catalog), setl_id
        )
        fired |= set(got.evidence["feature"])
    for setl_id in sample()[:2]:
        assert_fast_path_equals_build_features(without, alone(data, setl_id, None), setl_id)
    # the sample exercises the flags that a lone settlement can raise
    assert {
        "bh_empty_run_flag",
        "bh_exam_heavy_flag",
        "cl_after_death_flag",
        "cl_restricted_item_flag",
        "op_supply_over_limit_flag",
        "op_daily_quantity_flag",
    } <= fired


def as_values(one: Dataset) -> LoneSettlement:
    """The rows of a one-settlement dataset as Python values, as the service reads a
    request: ``str``, ``datetime.date`` for dates, naive ``datetime`` for times, ``float``,
    ``None`` for missing."""
    dates = {"begndate", "enddate", "brdy", "dead_date"}

    def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
        out = []
        for record in frame.to_dict("records"):
            row: dict[str, Any] = {}
            for name, value in record.items():
                if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
                    row[str(name)] = None
                elif isinstance(value, pd.Timestamp):
                    row[str(name)] = value.date() if name in dates else value.to_pydatetime()
                else:
                    row[str(name)] = value.item() if hasattr(value, "item") else value
            out.append(row)
        return out

    persons = one.persons.drop(columns=["certno", "psn_name"], errors="ignore")
    return LoneSettlement(
        settlement=rows(one.settlements)[0],
        fee_lines=rows(one.fee_details),
        person=rows(persons)[0],
        institution=rows(one.institutions)[0],
        columns={
            "settlements": frozenset(one.settlements.columns),
            "fee_details": frozenset(one.fee_details.columns),
            "persons": frozenset(persons.columns),
            "institutions": frozenset(one.institutions.columns),
        },
    )


def test_the_fast_path_on_values_equals_it_on_frames_for_every_settlement() -> None:
    # given every settlement of a synthetic world alone, as frames and as Python values
    data = synthetic()
    for signals, catalog in (
        (CheckSignals(catalog=data.catalog), data.catalog),
        (CheckSignals(), None),
    ):
        for setl_id in list(data.settlements["setl_id"])[:: 2 if catalog is not None else 6]:
            one = alone(data, setl_id, catalog)
            # when the fast path builds both
            want = signals.build_lone(one)
            got = signals.build_settlement(as_values(one))
            # then it covers both and builds the same frames, evidence, specs and skips
            assert want is not None and got is not None, setl_id
            assert_same_feature_set(got, want, f"{setl_id} catalogue={catalog is not None}")


SPREAD = 4
"""Every SPREAD-th settlement of the world is compared (all of them cost ~10 CPU minutes)."""


def chunk(i: int) -> list[str]:
    ids = list(synthetic().settlements["setl_id"])[::SPREAD]
    return ids[i::CHUNKS]


@pytest.mark.slow
@pytest.mark.parametrize("part", range(CHUNKS))
def test_fast_path_equals_build_features_on_a_spread_of_lone_settlements(part: int) -> None:
    # every SPREAD-th settlement of the world (in CHUNKS parts, for xdist), with and
    # without catalogue
    data = synthetic()
    with_catalog = CheckSignals(catalog=data.catalog)
    without = CheckSignals()
    for setl_id in chunk(part):
        for signals, catalog in ((with_catalog, data.catalog), (without, None)):
            what = f"{setl_id} catalogue={catalog is not None}"
            assert_fast_path_equals_build_features(signals, alone(data, setl_id, catalog), what)


def variants(
    data: Dataset, setl_id: str, few: bool = False
) -> Iterator[tuple[str, Dataset, FeatureSettings]]:
    """The settlement with each med_type, and without each optional column or table
    (``few``: a stay, an outpatient and a pharmacy med_type, and three of the rest)."""
    if few:
        yield from list(variants(data, setl_id))[::6]
        return
    one = alone(data, setl_id, data.catalog)
    plain = FeatureSettings()
    for med in sorted(MED_TYPES):
        setl = one.settlements.assign(med_type=pd.array([med], dtype="string"))
        yield f"med_type {med}", one.with_tables(settlements=setl), plain
    drops = {
        "settlements": ("atddr_no", "refd_setl_flag", "mdtrt_cert_type"),
        "fee_details": ("prd_days", "hilist_name"),
        "persons": ("dead_date",),
        "institutions": ("lat", "lon", "hosp_lv", "aprv_bed_cnt"),
    }
    for table, columns in drops.items():
        for column in columns:
            frame = getattr(one, table).drop(columns=column)
            yield f"no {table}.{column}", one.with_tables(**{table: frame}), plain
    assert one.catalog is not None
    for column in ("bundle_code", "max_daily_cnt", "max_prd_days", "lmt_gend", "lmt_age_min"):
        catalog = one.catalog.drop(columns=column)
        yield f"no catalog.{column}", one.with_tables(catalog=catalog), plain
    yield "no catalog", one.with_tables(catalog=None), plain
    yield "stay cost quota", one, FeatureSettings(stay_cost_quota=5_000.0)
    cheap = FeatureSettings(cheap_stay_cost_ratio=1.5, long_stay_min_days=1)
    yield "cheap stays flagged", one, cheap
    yield "three items listed", one, FeatureSettings(evidence_max_items=3, empty_day_min_run=1)


def interesting() -> list[str]:
    """Settlements whose variants matter: a stay with empty days, a drug prescription over
    the supply limit, a visit after death, a wrong-person item, a refund."""
    ids = sample()
    return [ids[0], ids[3], ids[2], ids[5], ids[6]]


def test_other_med_types_and_missing_optional_columns_give_the_same_signals() -> None:
    # given a stay with empty days with a few other med_types and optional columns dropped
    data = synthetic()
    for what, dataset, settings in variants(data, interesting()[0], few=True):
        # when / then
        signals = CheckSignals(settings, dataset.catalog)
        assert_fast_path_equals_build_features(signals, dataset, what)


@pytest.mark.slow
@pytest.mark.parametrize("which", range(5))
def test_every_med_type_and_missing_optional_column_gives_the_same_signals(which: int) -> None:
    # stays, prescriptions, visits after death, restricted items and refunds with every
    # med_type and without each optional column or table
    data = synthetic()
    setl_id = interesting()[which]
    for what, dataset, settings in variants(data, setl_id):
        signals = CheckSignals(settings, dataset.catalog)
        assert_fast_path_equals_build_features(signals, dataset, f"{setl_id} {what}")


# -- hand-built settlements ------------------------------------------------------------------


def lone(world: World, settings: FeatureSettings | None = None) -> tuple[Dataset, FeatureSet]:
    data = world.dataset()
    return data, assert_fast_path_equals_build_features(CheckSignals(settings, data.catalog), data)


def explanation(fs: FeatureSet, feature: str) -> str:
    rows = fs.evidence.loc[fs.evidence["feature"] == feature, "explanation"]
    assert len(rows) == 1, feature
    return str(rows.iloc[0])


def test_empty_bed_days_of_a_lone_stay_give_the_same_evidence(world: World) -> None:
    # given a lone stay with two runs of empty days, the second longer
    world.stay("M1", "2024-03-01", "2024-03-12",
               empty=("2024-03-02", "2024-03-05", "2024-03-06", "2024-03-07"))  # fmt: skip
    # when
    _, fs = lone(world)
    # then
    text = explanation(fs, "bh_empty_run_flag")
    assert "longest run 3 days from 2024-03-05 to 2024-03-07" in text
    assert fs.frames[Level.PERSON].loc["P1", "bh_person_flagged_visits"] == 1.0


def test_two_equal_runs_of_empty_days_name_the_first(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-12",
               empty=("2024-03-02", "2024-03-03", "2024-03-08", "2024-03-09"))  # fmt: skip
    _, fs = lone(world)
    assert "longest run 2 days from 2024-03-02 to 2024-03-03" in explanation(
        fs, "bh_empty_run_flag"
    )


def test_many_empty_days_are_listed_up_to_the_limit_then_counted(world: World) -> None:
    days = tuple(f"2024-03-{d:02d}" for d in range(2, 15))
    world.stay("M1", "2024-03-01", "2024-03-15", empty=days)
    _, fs = lone(world, FeatureSettings(evidence_max_items=4))
    assert "… and 9 more" in explanation(fs, "bh_empty_run_flag")


def test_supply_over_the_limit_of_a_lone_prescription_gives_the_same_evidence(
    world: World,
) -> None:
    # given an ordinary outpatient prescription of 30 days and a catalogue cap of 3 days
    world.limit("MORPH", "101", max_prd_days=3.0)
    sid = world.visit("V1", begin="2024-04-01")
    world.fee(sid, "2024-04-01", "DRUGX", "09", cnt=30.0, prd_days=30.0)
    world.fee(sid, "2024-04-01", "MORPH", "09", cnt=5.0, prd_days=5.0)
    # when
    _, fs = lone(world)
    # then
    text = explanation(fs, "op_supply_over_limit_flag")
    assert "item DRUGX 30 days supplied, limit 7 (ordinary outpatient prescription)" in text
    assert "item MORPH 5 days supplied, limit 3 (catalogue limit of the item)" in text
    assert fs.frames[Level.VISIT].loc["V1", "op_supply_limit_ratio"] == pytest.approx(30 / 7)


def test_items_over_their_daily_limit_and_bundles_join_in_one_evidence_line(
    world: World,
) -> None:
    # given a bed charged twice a day, a lab component with its panel, and the component
    # charged twice: three findings of the split-charging flag on one visit
    world.limit("BED01", "201", max_daily_cnt=1.0)
    world.limit("LAB01", "201", bundle_code="PANEL")
    sid = world.visit("V1", med_type="21", begin="2024-03-01", end="2024-03-02")
    world.fee(sid, "2024-03-01", "BED01", "01", cnt=1.0)
    world.fee(sid, "2024-03-01", "BED01", "01", cnt=1.0)
    world.fee(sid, "2024-03-01", "LAB01", "04")
    world.fee(sid, "2024-03-01", "LAB01", "04")
    world.fee(sid, "2024-03-01", "PANEL", "04")
    # when
    _, fs = lone(world)
    # then
    text = explanation(fs, "sb_split_charging_flag")
    assert text.count(" | ") == 2
    assert "item BED01 charged 2.0 units on 2024-03-01 (daily limit 1.0)" in text
    assert "component LAB01 charged with its bundle PANEL" in text
    assert "component LAB01 charged 2 times" in text


def test_restricted_item_and_visit_after_death_give_the_same_evidence(world: World) -> None:
    world.limit("GYN01", "201", lmt_gend="2")
    world.limit("PED01", "201", lmt_age_max=14.0)
    world.person("P1", gend="1", brdy="1950-01-01", dead="2024-01-31")
    sid = world.visit("V1", begin="2024-03-01")
    world.fee(sid, "2024-03-01", "GYN01", "05")
    world.fee(sid, "2024-03-01", "PED01", "05")
    _, fs = lone(world)
    text = explanation(fs, "cl_restricted_item_flag")
    assert "item GYN01 on 2024-03-01 (only for women, billed to a man)" in text
    assert "for ages 0–14, billed to a person aged 74" in text
    assert "30 day(s) after the person's death on 2024-01-31" in explanation(
        fs, "cl_after_death_flag"
    )


def test_a_lone_settlement_without_fee_lines_is_covered(world: World) -> None:
    world.visit("V1", med_type="41", begin="2024-03-01")
    data, fs = lone(world)
    assert len(data.fee_details) == 0 and len(fs.evidence) == 0


def test_the_fast_path_does_not_log_the_skipped_signals(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.visit("V1", begin="2024-03-01")
    data = world.dataset(with_catalog=False)
    with caplog.at_level(logging.WARNING):
        fs = CheckSignals().build(data)
    assert "signals skipped" not in caplog.text
    assert ("sb_bundle_conflicts", "table catalog is absent") in fs.skipped
    with caplog.at_level(logging.WARNING):
        reference(data)
    assert "signals skipped" in caplog.text


def _unknown_person(world: World) -> Dataset:
    world.visit("V1", psn_no="P1", begin="2024-03-01")
    world.person("P2")
    data = world.dataset()
    return data.with_tables(persons=data.persons.loc[data.persons["psn_no"] == "P2"])


def _icd9_diagnosis(world: World) -> Dataset:
    world.limit("DRUGX", "101", lmt_age_min=80.0)
    sid = world.visit("V1", begin="2024-03-01", dise="4280", med_type="14")
    world.fee(sid, "2024-03-01", "DRUGX", "09", cnt=90.0, prd_days=30.0)
    return world.dataset()


def _lines_of_another_visit(world: World) -> Dataset:
    sid = world.visit("V1", begin="2024-03-01")
    world.fee(sid, "2024-03-01", "DRUGX", "09", cnt=30.0, prd_days=30.0)
    other = world.visit("V2", begin="2024-03-02")
    world.fee(other, "2024-03-02", "DRUGY", "09", cnt=30.0, prd_days=30.0)
    data = world.dataset()
    return data.with_tables(settlements=data.settlements.iloc[:1])


def _duplicated_catalogue_code(world: World) -> Dataset:
    world.limit("DRUGX", "101", max_prd_days=3.0)
    sid = world.visit("V1", begin="2024-03-01", med_type="13")
    world.fee(sid, "2024-03-01", "DRUGX", "09", cnt=5.0, prd_days=5.0)
    data = world.dataset()
    assert data.catalog is not None
    later = data.catalog.iloc[-1:].assign(max_prd_days=30.0)
    return data.with_tables(catalog=pd.concat([data.catalog, later], ignore_index=True))


def _refund_with_negative_lines(world: World) -> Dataset:
    sid = world.stay("M1", "2024-03-01", "2024-03-04", empty=("2024-03-02", "2024-03-03"))
    world.settlements[-1]["refd_setl_flag"] = "1"
    world.fee(sid, "2024-03-02", "DRG01", "09", cnt=-1.0, pric=20.0, doctor="D8")
    return world.dataset()


@pytest.mark.parametrize(
    "build",
    [
        _unknown_person,
        _icd9_diagnosis,
        _lines_of_another_visit,
        _duplicated_catalogue_code,
        _refund_with_negative_lines,
    ],
)
def test_unusual_but_valid_rows_give_the_same_signals(
    world: World, build: Callable[[World], Dataset]
) -> None:
    # a person missing from the persons table, an ICD-9 diagnosis and an age limit, fee
    # lines of another visit in the table, a catalogue code listed twice, a refund
    data = build(world)
    assert_fast_path_equals_build_features(CheckSignals(catalog=data.catalog), data)


# -- what the fast path hands to build_features ----------------------------------------------


def test_two_settlements_go_to_build_features(world: World) -> None:
    # given a stay and a readmission: the readmission signals compare the two
    world.stay("M1", "2024-03-01", "2024-03-05")
    world.stay("M2", "2024-03-10", "2024-03-12")
    data = world.dataset()
    signals = CheckSignals(catalog=data.catalog)
    # when
    assert signals.build_lone(data) is None
    fs = signals.build(data)
    # then
    assert_same_feature_set(fs, reference(data))
    assert fs.frames[Level.VISIT].loc["M2", "sb_split_admission_flag"]


def test_another_catalogue_than_the_services_goes_to_build_features(world: World) -> None:
    world.limit("DRUGX", "101", max_prd_days=3.0)
    sid = world.visit("V1", begin="2024-04-01")
    world.fee(sid, "2024-04-01", "DRUGX", "09", cnt=10.0, prd_days=10.0)
    data = world.dataset()
    assert data.catalog is not None
    service = CheckSignals(catalog=data.catalog.iloc[:1])
    assert service.build_lone(data) is None
    assert_same_feature_set(service.build(data), reference(data))
    # an equal copy of the service's catalogue is the service's
    assert CheckSignals(catalog=data.catalog.copy()).build_lone(data) is not None


def test_untyped_codes_and_unknown_settings_go_to_build_features(world: World) -> None:
    world.visit("V1", begin="2024-04-01")
    data = world.dataset()
    raw = data.settlements.assign(med_type=np.array([11]))
    untyped = data.with_tables(settlements=raw)
    signals = CheckSignals(catalog=data.catalog)
    assert signals.build_lone(untyped) is None
    assert_same_feature_set(signals.build(untyped), reference(untyped))
    # settings under which a lone visit could be a split outpatient visit are not covered
    loose = FeatureSettings.model_construct(split_outpatient_min_settlements=1)
    assert not CheckSignals(loose).covered
