"""FraudScorer and leads: per pattern and level, reasons from real signals, cold start."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from features.contract import FeatureSet, Level, Pattern
from models import scoring
from models.config import ModelSettings
from models.examples import example_feature_set
from models.scorer import COLD_START, SUPERVISED, FraudScorer
from models.scoring import LEAD_COLUMNS, capacity, score

FAST = ModelSettings(n_estimators=20, calibration_folds=3, cold_start_trees=20)


@pytest.fixture(scope="module")
def world() -> tuple[FeatureSet, pd.DataFrame]:
    return example_feature_set(600, seed=2)


@pytest.fixture(scope="module")
def fitted(world: tuple[FeatureSet, pd.DataFrame]) -> FraudScorer:
    feature_set, labels = world
    return FraudScorer(FAST).fit(feature_set, labels)


def test_fraud_scorer_follows_the_estimator_contract(
    world: tuple[FeatureSet, pd.DataFrame],
) -> None:
    scorer = FraudScorer(FAST)
    assert clone(scorer).get_params()["settings"] == FAST
    with pytest.raises(NotFittedError):
        scorer.predict(world[0])


def test_patterns_with_enough_labels_are_supervised_and_the_rest_cold_start(
    fitted: FraudScorer,
) -> None:
    report = fitted.report().set_index(["subject_type", "pattern"])
    assert report.loc[("visit", "bed_hanging"), "method"] == SUPERVISED
    assert report.loc[("person", "card_lending"), "method"] == SUPERVISED
    # only a handful of institutions are labelled: too few for a supervised model
    assert report.loc[("institution", "other"), "method"] == COLD_START
    assert "need 20" in report.loc[("institution", "other"), "why"]


def test_leads_have_a_row_per_subject_and_pattern_in_the_contract_shape(
    world: tuple[FeatureSet, pd.DataFrame], fitted: FraudScorer
) -> None:
    feature_set, _ = world
    leads = score(feature_set, fitted)
    assert tuple(leads.columns) == LEAD_COLUMNS
    visits = leads[(leads["subject_type"] == "visit") & (leads["pattern"] == "bed_hanging")]
    assert set(visits["subject_id"]) == set(feature_set.frames[Level.VISIT].index)
    for _, part in leads.groupby("subject_type"):
        assert sorted(part["rank"]) == list(range(1, len(part) + 1))
    assert leads["score"].between(0, 1).all()
    assert (leads["model_version"] == "unregistered").all()


def test_top_keeps_the_first_n_per_subject_type_and_pattern(
    world: tuple[FeatureSet, pd.DataFrame], fitted: FraudScorer
) -> None:
    full = score(world[0], fitted)
    top = score(world[0], fitted, top=5)
    assert (top.groupby(["subject_type", "pattern"]).size() == 5).all()
    best = full.sort_values("rank").groupby(["subject_type", "pattern"]).head(5)
    assert set(zip(top["subject_id"], top["pattern"], strict=True)) == set(
        zip(best["subject_id"], best["pattern"], strict=True)
    )


def test_expected_recovery_orders_by_score_times_amount_at_risk(
    world: tuple[FeatureSet, pd.DataFrame], fitted: FraudScorer
) -> None:
    leads = score(world[0], fitted, order="expected_recovery")
    visits = leads[leads["subject_type"] == "visit"].sort_values("rank")
    recovery = (visits["score"] * visits["amount_at_risk"]).to_numpy()
    assert np.all(np.diff(recovery) <= 1e-9)


def test_capacity_takes_the_first_share_of_each_subject_type(
    world: tuple[FeatureSet, pd.DataFrame], fitted: FraudScorer
) -> None:
    leads = score(world[0], fitted)
    taken = capacity(leads, share=0.05)
    sizes = leads.groupby("subject_type").size()
    assert (taken.groupby("subject_type").size() == np.ceil(sizes * 0.05)).all()
    assert (
        taken.groupby("subject_type")["rank"]
        .max()
        .equals(np.ceil(sizes * 0.05).astype("int64").rename("rank"))
    )


def test_reasons_name_real_signals_and_evidence_ids_that_exist_in_the_input(
    world: tuple[FeatureSet, pd.DataFrame], fitted: FraudScorer
) -> None:
    feature_set, _ = world
    leads = score(feature_set, fitted, top=20)
    signals = {s.name for s in feature_set.specs}
    evidence_ids = set(feature_set.evidence["evidence"])
    named = leads["reasons"].str.findall(r"(?:^|\| |; )([a-z_0-9]+) = ").explode().dropna()
    assert len(named) > 0
    # every named column is a signal, or an aggregate of one (visits_share__<signal>)
    for column in named:
        base = column.split("__")[-1]
        assert base in signals or column in {"visits_count", "persons_count"}, column
    cited = leads["evidence"].str.findall(r"S-[VP]\d+").explode().dropna()
    assert len(cited) > 0 and set(cited) <= evidence_ids
    # a visit's own evidence cites that visit
    visits = leads[(leads["subject_type"] == "visit") & (leads["evidence"] != "")]
    assert all(
        re.search(f"S-{sid}", ev)
        for sid, ev in zip(visits["subject_id"], visits["evidence"], strict=True)
    )


def test_cold_start_path_ranks_when_labels_are_absent(
    world: tuple[FeatureSet, pd.DataFrame],
) -> None:
    # given no labels at all
    feature_set, _ = world
    scorer = FraudScorer(FAST).fit(feature_set, None)
    # when scoring
    leads = score(feature_set, scorer)
    # then every pattern is ranked by the cold-start scorer, and the leads say so
    assert set(scorer.report()["method"]) == {COLD_START}
    assert leads["reasons"].str.startswith("cold start").all()
    bed = leads[(leads["subject_type"] == "visit") & (leads["pattern"] == "bed_hanging")]
    flagged = feature_set.frames[Level.VISIT]["empty_day_flag"]
    mean_rank = bed.set_index("subject_id")["rank"].groupby(flagged).mean()
    assert mean_rank[True] < mean_rank[False]


def test_institution_labels_alone_train_an_institution_model() -> None:
    # given many institutions, labelled only at institution level with pattern other
    feature_set, labels = example_feature_set(6000, seed=4)
    only = labels[labels["subject_type"] == "institution"]
    assert set(only["pattern"]) == {"other"}
    settings = FAST.model_copy(update={"min_confirmed": 5, "min_rejected": 5})
    # when fitting
    scorer = FraudScorer(settings).fit(feature_set, only)
    # then the institution model is supervised on institution signals and aggregates
    report = scorer.report().set_index(["subject_type", "pattern"])
    assert report.loc[("institution", "other"), "method"] == SUPERVISED
    assert report.loc[("visit", "bed_hanging"), "method"] == COLD_START
    leads = score(feature_set, scorer)
    other = leads[leads["pattern"] == "other"]
    assert set(other["subject_id"]) == set(feature_set.frames[Level.INSTITUTION].index)
    columns = [c.name for c in scorer.columns_[Level.INSTITUTION]]
    assert "visits_share__empty_day_flag" in columns and "persons_count" in columns


def test_few_labels_in_a_large_population_are_anchored_by_uninspected_subjects() -> None:
    # given a large population of which only a few visits were inspected
    feature_set, labels = example_feature_set(3000, seed=5)
    visits = labels[(labels["subject_type"] == "visit") & (labels["pattern"] == "bed_hanging")]
    few = visits.groupby("outcome").head(40)
    # when fitting
    scorer = FraudScorer(FAST).fit(feature_set, few)
    target = scorer.targets_[(Level.VISIT, Pattern.BED_HANGING)]
    # then as many uninspected visits joined as rejected, and the model still learns the signal
    assert target.method == SUPERVISED
    assert "240 uninspected anchors" in target.why
    scores = scorer.predict(feature_set)[(Level.VISIT, Pattern.BED_HANGING)].score
    flagged = feature_set.frames[Level.VISIT]["empty_day_flag"]
    assert scores[flagged].mean() > scores[~flagged].mean() + 0.2


def test_beyond_the_explained_share_reasons_name_the_fired_rule_flags(
    world: tuple[FeatureSet, pd.DataFrame], fitted: FraudScorer
) -> None:
    feature_set, _ = world
    cheap = copy.copy(fitted).set_params(settings=FAST.model_copy(update={"explain_top": 10}))
    leads = score(feature_set, cheap)
    bed = leads[(leads["subject_type"] == "visit") & (leads["pattern"] == "bed_hanging")]
    bed = bed.sort_values("rank")
    assert not bed["reasons"].head(10).str.contains("rule flags only").any()
    later = bed["reasons"].iloc[10:]
    assert later.str.contains("rule flags only").all()
    named = later[later.str.contains(" = ")]
    assert named.str.contains("empty_day_flag").all()


def _visits_with_their_subjects(feature_set: FeatureSet, visits: pd.Index) -> FeatureSet:
    """The signals of ``visits``, their persons and institutions, and their evidence."""
    frame = feature_set.frames[Level.VISIT].loc[visits]
    wanted = {
        Level.VISIT: visits,
        Level.PERSON: pd.Index(frame["ctx_person"].unique()),
        Level.INSTITUTION: pd.Index(frame["ctx_institution"].unique()),
    }
    frames = {level: feature_set.frames[level].loc[ids] for level, ids in wanted.items()}
    ev = feature_set.evidence
    keep = np.zeros(len(ev), dtype=bool)
    for level, ids in wanted.items():
        keep |= ((ev["subject_type"] == level.value) & ev["subject_id"].isin(ids)).to_numpy()
    return FeatureSet(frames, ev[keep].reset_index(drop=True), feature_set.specs)


def _through_the_general_path(
    monkeypatch: pytest.MonkeyPatch, feature_set: FeatureSet, scorer: FraudScorer, **kw: object
) -> pd.DataFrame:
    with monkeypatch.context() as patched:
        patched.setattr(scoring, "FEW_SUBJECTS", -1)
        return score(feature_set, scorer, **kw)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "explain_top"),
    [({}, None), ({"order": "expected_recovery"}, None), ({"top": 2}, None), ({}, 5)],
    ids=["score", "recovery", "top", "flags-beyond-explain-top"],
)
def test_a_few_subjects_at_a_time_score_exactly_as_the_general_path(
    world: tuple[FeatureSet, pd.DataFrame],
    fitted: FraudScorer,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, object],
    explain_top: int | None,
) -> None:
    # given every visit of a trained world, a few at a time with their persons and
    # institutions (supervised and cold-start targets, institution aggregates)
    feature_set, _ = world
    if explain_top is not None:
        update = {"explain_top": explain_top}
        fitted = copy.copy(fitted).set_params(settings=FAST.model_copy(update=update))
    visits = feature_set.frames[Level.VISIT].index
    few_subjects = scoring.FEW_SUBJECTS
    for start in range(0, len(visits), few_subjects):
        part = _visits_with_their_subjects(feature_set, visits[start : start + few_subjects])
        # when scored subject by subject and through the per-target pandas path
        few = score(part, fitted, **options)  # type: ignore[arg-type]
        general = _through_the_general_path(monkeypatch, part, fitted, **options)
        # then the leads are the same rows, columns, scores, ranks, reasons and evidence
        pd.testing.assert_frame_equal(few, general, check_exact=True)


def test_one_visit_and_its_person_score_as_the_general_path(
    world: tuple[FeatureSet, pd.DataFrame], fitted: FraudScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given single visits with their person only (the shape of a /check), scored by the
    # visit and person targets
    feature_set, _ = world
    checked = copy.copy(fitted)
    checked.targets_ = {k: t for k, t in fitted.targets_.items() if k[0] != Level.INSTITUTION}
    visits = feature_set.frames[Level.VISIT].index
    for visit in visits[:: max(1, len(visits) // 12)]:
        part = _visits_with_their_subjects(feature_set, pd.Index([visit]))
        part = FeatureSet(
            {lv: f for lv, f in part.frames.items() if lv != Level.INSTITUTION},
            part.evidence[part.evidence["subject_type"] != "institution"],
            part.specs,
        )
        # when scored subject by subject and through the general path
        few = score(part, checked)
        general = _through_the_general_path(monkeypatch, part, checked)
        # then both give the same leads
        pd.testing.assert_frame_equal(few, general, check_exact=True)
