"""The two estimators follow the scikit-learn contract and behave as scores should."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from models.estimators import CalibratedBooster, ColdStartScorer


def _data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 1.0).astype(int)
    return X, y


@pytest.mark.parametrize(
    "estimator",
    [CalibratedBooster(n_estimators=10, calibration="isotonic"), ColdStartScorer(n_estimators=10)],
)
def test_estimators_clone_and_round_trip_their_params(estimator: object) -> None:
    # given an estimator with non-default params
    params = estimator.get_params()  # type: ignore[attr-defined]
    # when cloned and its params set back
    copy = clone(estimator)
    copy.set_params(**params)
    # then the params survive unchanged
    assert copy.get_params() == params
    assert copy is not estimator


def test_calibrated_booster_before_fit_raises_not_fitted() -> None:
    X, _ = _data(20)
    booster = CalibratedBooster()
    for method in (booster.predict_proba, booster.decision_function, booster.contributions):
        with pytest.raises(NotFittedError):
            method(X)


def test_cold_start_scorer_before_fit_raises_not_fitted() -> None:
    X, _ = _data(20)
    with pytest.raises(NotFittedError):
        ColdStartScorer().score_samples(X)


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_calibrated_score_is_monotone_in_the_raw_score(calibration: str) -> None:
    # given a booster fitted with either calibration
    X, y = _data()
    booster = CalibratedBooster(n_estimators=20, calibration=calibration).fit(X, y)  # type: ignore[arg-type]
    # when subjects are ordered by raw score
    raw = booster.decision_function(X)
    proba = booster.predict_proba(X)[:, 1]
    order = np.argsort(raw, kind="stable")
    # then the calibrated probability never decreases, and stays within [0, 1]
    assert np.all(np.diff(proba[order]) >= -1e-12)
    assert proba.min() >= 0.0 and proba.max() <= 1.0
    assert booster.calibration_method_ == calibration


def test_calibrated_booster_is_deterministic_for_a_seed() -> None:
    X, y = _data()
    first = CalibratedBooster(n_estimators=20, subsample=0.8, random_state=3).fit(X, y)
    second = CalibratedBooster(n_estimators=20, subsample=0.8, random_state=3).fit(X, y)
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))


def test_calibrated_booster_learns_the_signal_and_contributions_sum_to_the_raw_score() -> None:
    X, y = _data()
    booster = CalibratedBooster(n_estimators=30).fit(X[:300], y[:300])
    proba = booster.predict_proba(X[300:])[:, 1]
    assert proba[y[300:] == 1].mean() > proba[y[300:] == 0].mean() + 0.3
    contributions = booster.contributions(X[300:])
    assert contributions.shape == (100, 5)
    assert np.allclose(contributions.sum(axis=1), booster.decision_function(X[300:]))
    assert np.argmax(np.abs(contributions[:, :-1]).mean(axis=0)) == 0


def test_calibrated_booster_with_groups_keeps_working() -> None:
    X, y = _data()
    groups = np.arange(len(y)) // 4
    booster = CalibratedBooster(n_estimators=10).fit(X, y, groups=groups)
    assert booster.predict(X).shape == (len(y),)


def test_calibrated_booster_refuses_labels_of_one_class() -> None:
    X, _ = _data(50)
    with pytest.raises(ValueError, match="confirmed"):
        CalibratedBooster().fit(X, np.zeros(50, dtype=int))


def test_cold_start_ranks_flagged_and_outlying_subjects_first() -> None:
    # given ordinary subjects and a few that fire the pattern's flag and stand out
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=300), np.zeros(300)])
    X[:10, 0] += 6.0
    X[:10, 1] = 1.0
    groups = np.where(np.arange(300) % 2 == 0, "a", "b")
    # when the cold-start scorer ranks them without any label
    scorer = ColdStartScorer(flag_columns=(1,), n_estimators=50, min_peers=50).fit(X, groups=groups)
    score = scorer.score_samples(X, groups)
    # then the suspicious ten are the top ten, and scores lie in [0, 1]
    assert set(np.argsort(-score)[:10]) == set(range(10))
    assert score.min() >= 0 and score.max() <= 1
    assert scorer.contributions(X, groups)[:10, 1].min() > 0


@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_compiled_forest_scores_equal_the_isolation_forests_bit_for_bit(
    max_features: float,
) -> None:
    # given an IsolationForest (all or half of the features per tree) and rows with
    # missing values, far outliers and ties at split thresholds
    from sklearn.ensemble import IsolationForest

    from models.estimators import _CompiledForest

    X, _ = _data(300, seed=3)
    forest = IsolationForest(n_estimators=25, max_features=max_features, random_state=1).fit(X)
    rows = np.vstack([_data(200, seed=4)[0], X[:20], 1e6 * np.ones((1, 4))])
    rows[::7, 1] = np.nan
    # when scored by the compiled forest, one row and all rows at a time
    compiled = _CompiledForest.of(forest)
    one_by_one = np.array([compiled.scores(row[None, :])[0] for row in rows])
    # then the scores are exactly scikit-learn's
    expected = -forest.score_samples(rows)
    assert np.array_equal(compiled.scores(rows), expected)
    assert np.array_equal(one_by_one, expected)


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_calibrated_booster_predicts_exactly_as_lightgbm_and_its_calibrator(
    calibration: str,
) -> None:
    # given a fitted booster
    X, y = _data()
    booster = CalibratedBooster(n_estimators=20, calibration=calibration).fit(X, y)  # type: ignore[arg-type]
    rows = X[:50].copy()
    rows[::5, 2] = np.nan
    # when it predicts raw scores, probabilities and contributions (also one row at a time)
    raw = booster.decision_function(rows)
    # then they are LightGBM's and the calibrator's own answers
    assert np.array_equal(raw, booster.booster_.predict(rows, raw_score=True))
    if calibration == "sigmoid":
        expected = booster.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]
    else:
        expected = booster.calibrator_.predict(raw)
    assert np.array_equal(booster.predict_proba(rows)[:, 1], expected)
    assert np.array_equal(
        booster.contributions(rows), booster.booster_.predict(rows, pred_contrib=True)
    )
    assert np.array_equal(
        np.concatenate([booster.decision_function(r[None, :]) for r in rows]), raw
    )
