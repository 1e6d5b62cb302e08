"""The registry, its catalogue, settings, reasons, and the contract every signal keeps."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from features import parallel
from features.build import build_features, population
from features.catalogue import render_catalogue
from features.config import FeatureSettings
from features.contract import FeatureSet, Level, Pattern
from features.frames import prepare
from features.parallel import Forked, in_turn, runner
from features.person import combine, missing_needs, person_signals
from features.reasons import reason_line, worst_visits
from features.registry import PREFIX, registry
from settlements.config import IntakeSettings
from settlements.intake import validate_dataset
from settlements.synthetic import WorldConfig, generate_world

if TYPE_CHECKING:
    from conftest import World

    from settlements.dataset import Dataset

ROOT = Path(__file__).resolve().parents[2]


def rich_world(world: World) -> Dataset:
    """A small dataset on which every signal group can run (catalog, death dates, quota)."""
    world.limit("LAB01", "201", bundle_code="PANEL", lmt_gend="2", max_daily_cnt=1.0)
    world.limit("MORPH", "101", max_prd_days=3.0, max_daily_cnt=4.0, lmt_age_min=18.0)
    world.person("P1", dead="2024-06-01")
    world.stay("M1", "2024-03-01", "2024-03-10", empty=("2024-03-04", "2024-03-05"))
    world.stay("M2", "2024-03-15", "2024-03-20", inst="H1")
    world.stay("M3", "2024-03-02", "2024-03-05", psn_no="P2", inst="H2")
    for i, inst in enumerate(("H1", "H2", "H3", "Y1")):
        sid = world.visit(f"V{i}", inst=inst, med_type="41" if inst == "Y1" else "11",
                          begin=f"2024-04-0{i + 1}", doctor=f"D{i}")  # fmt: skip
        world.fee(sid, f"2024-04-0{i + 1}", "MORPH", "09", cnt=30.0, prd_days=10.0,
                  doctor=f"D{i}")  # fmt: skip
        world.fee(sid, f"2024-04-0{i + 1}", "LAB01", "04", cnt=2.0, doctor=f"E{i}")
        world.fee(sid, f"2024-04-0{i + 1}", "PANEL", "04", doctor=f"E{i}")
    world.visit("V9", psn_no="P3", begin="2024-07-01", doctor="DONLY")
    return world.dataset()


def test_every_spec_is_documented_and_reads_declared_settings() -> None:
    fields = set(FeatureSettings.model_fields)
    for spec in registry:
        assert spec.description and spec.rule and spec.reason, spec.name
        prefixes = (PREFIX[spec.pattern] + "_", *(("inst_",) if spec.pattern == "other" else ()))
        assert spec.name.startswith(prefixes), spec.name
        assert set(spec.settings) <= fields, spec.name
    for pattern in Pattern:
        assert registry.specs(pattern=pattern), pattern


def test_registry_looks_up_by_name_and_rejects_unknown_names() -> None:
    assert registry.get("sb_split_admission_flag").pattern == Pattern.SPLIT_BILLING
    with pytest.raises(KeyError, match="no feature named"):
        registry.get("nope")


def test_every_signal_group_leaves_its_inputs_unmodified_and_returns_one_row_per_subject(
    world: World,
) -> None:
    ds = rich_world(world)
    s = FeatureSettings(stay_cost_quota=10_000.0)
    copies = {name: frame.copy() for name, frame in ds.tables()}
    pf = prepare(ds.settlements, ds.fee_details, ds.persons, ds.institutions, ds.catalog)
    pf_copies = (pf.visits.copy(), pf.lines.copy())
    ps = person_signals(ds.settlements, ds.fee_details, ds.persons, ds.institutions, ds.catalog, s)
    pop = population(ps, ds, s)
    pop_copies = (pop.visits.copy(), pop.doctor_visits.copy())
    expected = {
        Level.VISIT: pd.Index(ds.settlements["mdtrt_id"].unique()),
        Level.PERSON: pd.Index(ds.settlements["psn_no"].unique()),
        Level.INSTITUTION: pd.Index(ds.settlements["fixmedins_code"].unique()),
        Level.DOCTOR: pd.Index(
            pd.concat([ds.settlements["atddr_no"], ds.fee_details["bilg_dr_codg"]]).unique()
        ),
    }
    ran = 0
    for group in registry.groups:
        if group.compute is None:
            continue
        has = pf.has if group.stage == "person" else pop.has
        assert not missing_needs(group, has, s), group.compute.__name__
        given = {"person": pf, "population": pop, "dataset": ds}[group.stage]
        result = group.compute(given, s)
        level = group.specs[0].level
        values = result.values
        assert values.index.is_unique, group.compute.__name__
        if group.stage == "dataset":  # provider network: every institution of the table
            assert set(expected[level]) <= set(values.index), group.compute.__name__
        else:
            assert set(values.index) == set(expected[level]), group.compute.__name__
        assert {sp.name for sp in group.specs} <= set(values.columns)
        ran += 1
    assert ran == sum(1 for g in registry.groups if g.compute is not None)
    for name, frame in ds.tables():
        pd.testing.assert_frame_equal(frame, copies[name])
    pd.testing.assert_frame_equal(pf.visits, pf_copies[0])
    pd.testing.assert_frame_equal(pf.lines, pf_copies[1])
    pd.testing.assert_frame_equal(pop.visits, pop_copies[0])
    pd.testing.assert_frame_equal(pop.doctor_visits, pop_copies[1])


def test_feature_set_covers_every_subject_with_typed_columns(world: World) -> None:
    ds = rich_world(world)
    fs = build_features(ds, FeatureSettings(stay_cost_quota=10_000.0), check=False)
    assert fs.skipped == ()
    assert set(fs.frames[Level.VISIT].index) == set(ds.settlements["mdtrt_id"])
    assert set(fs.frames[Level.PERSON].index) == set(ds.settlements["psn_no"])
    assert set(fs.frames[Level.INSTITUTION].index) == set(ds.settlements["fixmedins_code"])
    doctors = set(ds.settlements["atddr_no"]) | set(ds.fee_details["bilg_dr_codg"])
    assert set(fs.frames[Level.DOCTOR].index) == doctors
    for level, frame in fs.frames.items():
        assert frame.index.is_unique and frame.index.name == "subject_id"
        for spec in fs.specs:
            if spec.level == level:
                want = "bool" if spec.kind == "flag" else "float64"
                assert str(frame[spec.name].dtype) == want, spec.name
        for p in Pattern:
            assert frame[f"ctx_amount_{p.value}"].dtype == "float64"
        assert {"ctx_fund_pay", "ctx_peer_group", "ctx_first_date", "ctx_last_date"} <= set(
            frame.columns
        )
        assert list(frame.columns[: len(fs.feature_columns(level))]) == fs.feature_columns(level)
    assert {"ctx_person", "ctx_institution"} <= set(fs.frames[Level.VISIT].columns)
    assert "ctx_institution" in fs.frames[Level.DOCTOR].columns
    ev = fs.evidence
    assert not ev.duplicated(["subject_type", "subject_id", "feature"]).any()
    assert set(ev["feature"]) <= {s.name for s in fs.specs if s.kind == "flag"}


def test_per_partition_output_equals_the_whole(world: World) -> None:
    # the Spark path: the per-person function on two disjoint partitions of persons
    ds = rich_world(world)
    whole = build_features(ds, check=False)
    parts = []
    for persons in (["P1"], ["P2", "P3"]):
        setl = ds.settlements.loc[ds.settlements["psn_no"].isin(persons)]
        fees = ds.fee_details.loc[ds.fee_details["setl_id"].isin(setl["setl_id"])]
        parts.append(person_signals(setl, fees, ds.persons, ds.institutions, ds.catalog))
    from features.build import assemble

    split = assemble(combine(parts), ds, FeatureSettings())
    for level in Level:
        a = whole.frames[level].sort_index()
        b = split.frames[level].sort_index()
        pd.testing.assert_frame_equal(a, b, check_like=True)


def assert_same_build(got: FeatureSet, want: FeatureSet) -> None:
    """Same frames (columns, dtypes, index, values and their order), the same evidence
    lines in the same order, specs and skipped signals."""
    assert list(got.frames) == list(want.frames)
    for level, frame in want.frames.items():
        pd.testing.assert_frame_equal(got.frames[level], frame, check_exact=True, obj=level.value)
    pd.testing.assert_frame_equal(got.evidence, want.evidence, check_exact=True, obj="evidence")
    assert got.specs == want.specs
    assert got.skipped == want.skipped


def in_workers(workers: int) -> FeatureSettings:
    return FeatureSettings(workers=workers, parallel_min_settlements=0)


def synthetic_world() -> Dataset:
    world = generate_world(200, seed=5, config=WorldConfig(days=120))
    return validate_dataset(world.dataset, IntakeSettings(), b"test-pseudonym-key").dataset


def test_a_build_in_two_workers_equals_the_build_in_one_process(world: World) -> None:
    # given a synthetic world (every fraud variant) and a small world where every group runs
    for dataset in (synthetic_world(), rich_world(world)):
        # when it is built in one process and in two forked workers
        one = build_features(dataset, in_workers(1), check=False)
        two = build_features(dataset, in_workers(2), check=False)
        # then the feature sets are the same, row for row
        assert_same_build(two, one)
        assert len(one.evidence)


def test_workers_build_only_the_levels_asked_for(world: World) -> None:
    dataset = rich_world(world)
    levels = (Level.VISIT, Level.PERSON)
    one = build_features(dataset, in_workers(1), check=False, levels=levels)
    two = build_features(dataset, in_workers(2), check=False, levels=levels)
    assert_same_build(two, one)
    assert set(two.frames) == set(levels)


def test_forked_tasks_return_in_their_order_and_raise_their_errors() -> None:
    def task(i: int) -> tuple[int, int]:
        time.sleep(0.3)  # long enough for the worker to start and take the first
        return i, os.getpid()

    tasks = [functools.partial(task, i) for i in range(6)]
    results = Forked(2)(tasks)
    assert [i for i, _ in results] == list(range(6))
    # the worker takes tasks from the front, this process from the back
    assert results[0][1] != os.getpid()
    started = Forked(2).start(tasks)  # in a worker while this process goes on
    assert [i for i, _ in started()] == list(range(6))

    def fails() -> None:
        raise ValueError("a task failed")

    with pytest.raises(ValueError, match="a task failed"):
        Forked(2)([fails, fails])


def test_a_workers_results_come_back_through_the_spool_and_leave_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given tasks with large results and a spool folder of the test's own
    monkeypatch.setattr(parallel, "_memory_folder", lambda: str(tmp_path))

    def task(i: int) -> tuple[int, pd.DataFrame]:
        time.sleep(0.2)
        return os.getpid(), pd.DataFrame({"x": np.arange(200_000) * i, "s": f"line {i}"})

    tasks = [functools.partial(task, i) for i in range(4)]
    # when they run in this process and a forked worker
    results = Forked(2)(tasks)
    # then every result is whole, the worker's among them, and the spool is gone
    assert any(pid != os.getpid() for pid, _ in results)
    for i, (_, frame) in enumerate(results):
        assert frame["x"].iloc[-1] == 199_999 * i
        assert frame["s"].iloc[0] == f"line {i}"
    assert list(tmp_path.iterdir()) == []


def test_a_result_that_cannot_be_spooled_comes_back_through_the_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a spool folder that vanishes before the worker writes to it
    monkeypatch.setattr(parallel, "_memory_folder", lambda: str(tmp_path))

    def task(i: int) -> tuple[int, int]:
        if parallel._SPOOL:
            with contextlib.suppress(OSError):  # both processes may try
                os.rmdir(parallel._SPOOL)
        time.sleep(0.2)
        return i, os.getpid()

    # when the tasks run in two processes
    results = Forked(2)([functools.partial(task, i) for i in range(4)])
    # then the worker's results still arrive, in order
    assert [i for i, _ in results] == [0, 1, 2, 3]
    assert any(pid != os.getpid() for _, pid in results)


def test_doctor_visit_codes_are_categoricals_in_the_order_of_their_strings(
    world: World,
) -> None:
    # given a world built by the per-person stage
    dataset = rich_world(world)
    ps = person_signals(
        dataset.settlements,
        dataset.fee_details,
        dataset.persons,
        dataset.institutions,
        dataset.catalog,
    )
    dv = ps.doctor_visits
    for column in ("mdtrt_id", "doctor", "psn_no", "fixmedins_code"):
        # then each code column is a categorical whose categories are sorted strings
        categories = dv[column].cat.categories
        assert list(categories) == sorted(categories)
        # and combining outputs gives the same codes as strings
        combined = combine([ps]).doctor_visits[column]
        assert combined.dtype == "string"
        assert combined.tolist() == dv[column].astype("string").tolist()


def test_small_inputs_and_one_worker_run_in_the_building_process() -> None:
    assert runner(workers=2, size=10, min_size=50_000) is in_turn
    assert runner(workers=1, size=10**6, min_size=50_000) is in_turn
    assert runner(workers=2, size=10**6, min_size=50_000) == Forked(2)


def test_committed_catalogue_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "signals.md").read_text(encoding="utf-8")
    assert committed == render_catalogue(registry), (
        "docs/signals.md is stale: run `fundguard features catalogue --out docs/signals.md`"
    )


def test_region_overrides_a_threshold_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fundguard.settings import load_settings

    monkeypatch.setenv("FUNDGUARD_FEATURES__READMISSION_WINDOW_DAYS", "10")
    monkeypatch.setenv("FUNDGUARD_FEATURES__ORDINARY_SUPPLY_DAYS", "5")
    features = load_settings().features
    assert features.readmission_window_days == 10
    assert features.ordinary_supply_days == 5


def test_reason_line_reads_a_value_in_plain_words() -> None:
    assert reason_line("bh_empty_days", 3.0, 0.213) == (
        "3 stay day(s) with a bed fee and no care (+0.21)"
    )
    assert reason_line("sb_split_admission_flag", True) == (
        "split admission (readmitted within the window)"
    )
    assert reason_line("unknown_signal", 2.5) == "unknown_signal = 2.5"


def test_worst_visits_explain_an_institution_by_its_flagged_stays(world: World) -> None:
    world.stay("M1", "2024-03-01", "2024-03-10", empty=("2024-03-04", "2024-03-05"))
    world.stay("M2", "2024-03-01", "2024-03-20", psn_no="P2",
               empty=("2024-03-04", "2024-03-05"))  # fmt: skip
    world.stay("M3", "2024-03-01", "2024-03-10", psn_no="P3")
    fs = build_features(world.dataset(), check=False)
    worst = worst_visits(fs, Level.INSTITUTION, "H1", Pattern.BED_HANGING)
    assert list(worst["subject_id"]) == ["M2", "M1"]


def test_visit_and_person_levels_alone_equal_the_full_build(world: World) -> None:
    # a real-time check asks for the visit and person levels only, for the whole data or
    # for one settlement with its fee lines; its values are those of the full build
    ds = rich_world(world)
    wanted = (Level.VISIT, Level.PERSON)
    subsets = [ds] + [
        ds.with_tables(
            settlements=ds.settlements.loc[ds.settlements["setl_id"] == setl_id],
            fee_details=ds.fee_details.loc[ds.fee_details["setl_id"] == setl_id],
        )
        for setl_id in ds.settlements["setl_id"].iloc[:4]
    ]
    for data in subsets:
        full = build_features(data, check=False)
        quick = build_features(data, check=False, levels=wanted)

        assert set(quick.frames) == set(wanted)
        for level in wanted:
            pd.testing.assert_frame_equal(quick.frames[level], full.frames[level])
        kept = full.evidence["subject_type"].isin([lv.value for lv in wanted])
        pd.testing.assert_frame_equal(
            quick.evidence, full.evidence.loc[kept].reset_index(drop=True)
        )
        assert {s.level for s in quick.specs} == set(wanted)
        assert len(quick.evidence) > 0 or data is not ds


def test_sort_based_set_operations_agree_with_numpy() -> None:
    import numpy as np

    from features.common import isin_ints, unique_ints

    rng = np.random.default_rng(3)
    values = rng.integers(-(10**12), 10**12, 5000)
    keys = np.concatenate([values[::7], rng.integers(-(10**12), 10**12, 300)])

    assert np.array_equal(unique_ints(np.concatenate([values, values[:50]])), np.unique(values))
    assert np.array_equal(isin_ints(values, keys), np.isin(values, keys))
    assert not isin_ints(values, np.array([], dtype=np.int64)).any()
    assert len(unique_ints(np.array([], dtype=np.int64))) == 0


def test_listing_of_the_first_rows_with_totals_equals_listing_of_all_rows() -> None:
    import numpy as np

    from features.common import first_rows, listing

    rng = np.random.default_rng(5)
    keys = pd.Series(rng.integers(0, 40, 600))
    text = pd.Series([f"line {i}" for i in range(600)], dtype="string")

    first, totals = first_rows(keys.to_numpy(), 3)
    cut = listing(keys[first], text[first], 3, sep="; ", totals=totals[first])

    pd.testing.assert_series_equal(cut, listing(keys, text, 3, sep="; "))
    assert cut.str.contains("more").any()
