"""The population stage run per group of institutions, persons and doctors, given the
statistics over everyone, gives the whole-population frames (what Spark runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features import card_lending, other, over_prescription
from features.bed_hanging import stay_daily_costs
from features.build import (
    _compute_batch,
    _shared_batches,
    assemble,
    level_frame,
    population,
    population_parts,
    rollup_flags,
    rollup_members,
    visit_frame,
)
from features.common import empty_evidence, peer_medians
from features.config import FeatureSettings
from features.contract import Level
from features.person import PersonSignals, person_signals
from features.registry import registry
from settlements.synthetic import generate_world

DEFERRED = (other.peer_outlier_signals, over_prescription.doctor_signals)


@pytest.fixture(scope="module")
def whole() -> tuple[object, ...]:
    ds = generate_world(200, seed=5).dataset
    s = FeatureSettings()
    ps = person_signals(ds.settlements, ds.fee_details, ds.persons, ds.institutions, ds.catalog, s)
    return ds, s, ps, population(ps, ds, s), assemble(ps, ds, s)


def test_groups_of_institutions_with_everyones_statistics_build_the_whole_frames(
    whole: tuple[object, ...],
) -> None:
    ds, s, ps, pop, fs = whole  # type: ignore[misc]
    # given the statistics over everyone: peer stay costs and institution peer groups
    peers = peer_medians(*stay_daily_costs(pop.visits))
    wanted = {Level.VISIT, Level.INSTITUTION}
    codes = pop.institution_index
    visit_frames, institution_frames, billing = [], [], []
    # when the institutions are split into two groups, each built on its own visits
    for part in (codes[::2], codes[1::2]):
        visits = ps.visits.loc[ps.visits["fixmedins_code"].isin(part)]
        dv = ps.doctor_visits.loc[ps.doctor_visits["mdtrt_id"].isin(visits.index)]
        group = PersonSignals(visits, pd.DataFrame(), dv, empty_evidence(), ps.skipped)
        gpop = population(group, ds, s, wanted, pop.institution_peer_group, peers)
        made = population_parts(
            gpop, ds, s, wanted, ps.skipped, lambda g: g.compute not in DEFERRED
        )
        visit_frames.append(visit_frame(made.visits, made.specs))
        index, at, rows = rollup_members(Level.INSTITUTION, made.visits, gpop)
        flags = rollup_flags(made.visits, made.built)
        own = made.level_parts[Level.INSTITUTION]
        peer = gpop.institution_peer_group
        frame = level_frame(
            Level.INSTITUTION, made.visits, flags, index, at, rows, own, peer, made.specs
        )
        institution_frames.append(frame)
        billing.append(other.institution_billing(gpop))

    # then the visit level is the whole one, and so are the institutions' own signals
    visits = pd.concat(visit_frames).loc[fs.frames[Level.VISIT].index]
    pd.testing.assert_frame_equal(visits, fs.frames[Level.VISIT])
    institutions = pd.concat(institution_frames).sort_index()
    expected = fs.frames[Level.INSTITUTION]
    population_signals = [
        sp.name
        for g in registry.groups
        if g.stage == "population" and g.compute not in DEFERRED
        for sp in g.specs
        if sp.level == Level.INSTITUTION
    ]
    assert population_signals
    pd.testing.assert_frame_equal(institutions[population_signals], expected[population_signals])
    # and the peer judgement over every institution's billing is the whole one
    groups = institutions["ctx_peer_group"]
    judged = other.judge_billing(pd.concat(billing).sort_index(), groups, s)
    names = list(judged.values.columns)
    pd.testing.assert_frame_equal(judged.values[names], expected[names], check_names=False)
    assert np.isfinite(expected["ot_cost_per_visit_peer_z"]).all()


def test_groups_of_doctors_with_their_visits_judged_together_build_the_whole_doctors(
    whole: tuple[object, ...],
) -> None:
    ds, s, ps, pop, fs = whole  # type: ignore[misc]
    doctors = pop.doctor_index
    volumes, groups, baskets = [], [], []
    for part in (doctors[::2], doctors[1::2]):
        dv = ps.doctor_visits.loc[ps.doctor_visits["doctor"].isin(part)]
        visits = ps.visits.loc[ps.visits.index.isin(dv["mdtrt_id"])]
        group = PersonSignals(visits, pd.DataFrame(), dv, empty_evidence(), ps.skipped)
        gpop = population(group, ds, s, {Level.DOCTOR}, pd.Series(dtype="string"))
        volumes.append(over_prescription.doctor_drug_volume(gpop))
        groups.append(gpop.doctor_peer_group.reindex(gpop.doctor_index).fillna("?"))
        baskets.append(over_prescription.doctor_basket_signals(gpop, s).values)
    hv = pd.concat(volumes).sort_index()
    judged = over_prescription.judge_drug_volume(hv, pd.concat(groups).reindex(hv.index), s)
    got = pd.concat([judged.values, pd.concat(baskets).reindex(hv.index)], axis=1)
    expected = fs.frames[Level.DOCTOR][list(got.columns)]
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_dtype=False)


def test_groups_sharing_card_bursts_run_as_one_task_that_counts_them_once(
    whole: tuple[object, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the population groups and a count of how often card bursts are counted
    ds, s, ps, _, _ = whole
    pop = population(ps, ds, s)  # type: ignore[arg-type]
    groups = [g for g in registry.groups if g.stage == "population" and g.compute is not None]
    counted = []
    real = card_lending._count_bursts
    monkeypatch.setattr(
        card_lending, "_count_bursts", lambda p, st: counted.append(1) or real(p, st)
    )
    # when they are batched into tasks and the burst task runs
    batches = _shared_batches(groups)
    bursts = [b for b in batches if card_lending.card_burst_signals in [g.compute for g in b]]
    results = _compute_batch(bursts[0], pop, s)  # type: ignore[arg-type]
    # then both burst groups are one task, the others one each, and bursts are counted once
    assert [g.compute for g in bursts[0]] == [
        card_lending.card_burst_signals,
        card_lending.card_burst_visit_signals,
    ]
    assert sum(len(b) for b in batches) == len(groups) == len(batches) + 1
    assert len(results) == 2 and counted == [1]
