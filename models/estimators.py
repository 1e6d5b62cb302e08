"""The two scikit-learn estimators a pattern is scored with.

``CalibratedBooster`` — a LightGBM classifier whose raw scores are calibrated on held-out
folds (isotonic or sigmoid), so that ``predict_proba`` is the probability that an
inspector confirms the subject. ``ColdStartScorer`` — for patterns without enough
confirmed labels: an IsolationForest per peer group, blended with the pattern's rule
flags, ranking subjects without any label.
"""

from __future__ import annotations

from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import IsolationForest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted, validate_data

Calibration = Literal["auto", "isotonic", "sigmoid"]


class CalibratedBooster(ClassifierMixin, BaseEstimator):
    """LightGBM on the signals, calibrated on out-of-fold raw scores.

    Fitting predicts every subject with a booster that did not see it (stratified folds,
    grouped when ``groups`` is given so that a person or institution never sits on both
    sides), fits a monotone calibrator of those held-out raw scores against the labels,
    then fits the final booster on all subjects. Deterministic for a ``random_state``.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 10,
        subsample: float = 0.9,
        colsample_bytree: float = 0.9,
        reg_lambda: float = 1.0,
        balance_classes: bool = True,
        calibration: Calibration = "auto",
        isotonic_min_confirmed: int = 500,
        calibration_folds: int = 5,
        n_jobs: int = 1,
        random_state: int = 7,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.balance_classes = balance_classes
        self.calibration = calibration
        self.isotonic_min_confirmed = isotonic_min_confirmed
        self.calibration_folds = calibration_folds
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _booster(self, n: int) -> lgb.LGBMClassifier:
        """A LightGBM classifier for ``n`` training subjects: a leaf holds at least
        ``min_child_samples`` of them, but never more than 5% (small label sets still split)."""
        return lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=max(2, min(self.min_child_samples, n // 20)),
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            class_weight="balanced" if self.balance_classes else None,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def fit(
        self,
        X: Any,
        y: Any,
        groups: Any = None,
        sample_weight: Any = None,
        calibrate_on: Any = None,
    ) -> CalibratedBooster:
        """Fit; ``calibrate_on`` (a boolean mask) limits the calibrator to those rows, e.g.
        to the inspected subjects when unlabelled ones were added as weighted negatives."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        y = np.asarray(y).astype(int)
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        mask = np.ones(len(y), bool) if calibrate_on is None else np.asarray(calibrate_on, bool)
        self.classes_ = np.array([0, 1])
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        if n_pos < 2 or n_neg < 2:
            raise ValueError(
                f"a calibrated booster needs at least 2 confirmed and 2 rejected subjects, "
                f"got {n_pos} and {n_neg}"
            )
        n_splits = max(2, min(self.calibration_folds, n_pos, n_neg))
        if groups is not None:
            groups = np.asarray(groups)
            n_splits = max(2, min(n_splits, len(np.unique(groups))))
            folds: Any = StratifiedGroupKFold(
                n_splits=n_splits, shuffle=True, random_state=self.random_state
            ).split(X, y, groups)
        else:
            folds = StratifiedKFold(
                n_splits=n_splits, shuffle=True, random_state=self.random_state
            ).split(X, y)
        held_out = np.full(len(y), np.nan)
        for train, test in folds:
            if len(np.unique(y[train])) < 2:
                continue
            booster = self._booster(len(train)).fit(
                X[train], y[train], sample_weight=None if weight is None else weight[train]
            )
            held_out[test] = booster.predict(X[test], raw_score=True)
        seen = ~np.isnan(held_out) & mask
        self.calibration_method_ = self._method(n_pos)
        self.calibrator_ = _fit_calibrator(held_out[seen], y[seen], self.calibration_method_)
        self.booster_ = self._booster(len(y)).fit(X, y, sample_weight=weight)
        return self

    def _method(self, n_pos: int) -> str:
        if self.calibration == "auto":
            return "isotonic" if n_pos >= self.isotonic_min_confirmed else "sigmoid"
        return self.calibration

    def decision_function(self, X: Any) -> np.ndarray:
        """The booster's raw score (log-odds, before calibration)."""
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return np.asarray(self.booster_.predict(X, raw_score=True), dtype=np.float64)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibrator_")
        p = _apply_calibrator(self.calibrator_, self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: Any) -> np.ndarray:
        """Per-signal log-odds contributions (``pred_contrib``); the last column is the base."""
        check_is_fitted(self, "booster_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return np.asarray(self.booster_.predict(X, pred_contrib=True), dtype=np.float64)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _fit_calibrator(raw: np.ndarray, y: np.ndarray, method: str) -> Any:
    """A monotone non-decreasing map from raw score to probability."""
    if method == "sigmoid":
        platt = LogisticRegression(C=1e4).fit(raw.reshape(-1, 1), y)
        if platt.coef_[0, 0] > 0:
            return platt
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    return iso.fit(raw, y)


def _apply_calibrator(calibrator: Any, raw: np.ndarray) -> np.ndarray:
    if isinstance(calibrator, LogisticRegression):
        return np.asarray(calibrator.predict_proba(raw.reshape(-1, 1))[:, 1], dtype=np.float64)
    return np.asarray(calibrator.predict(raw), dtype=np.float64)


class ColdStartScorer(BaseEstimator):
    """Ranks subjects without labels: peer-group anomaly blended with the pattern's rule flags.

    ``score = (w × flags fired + (1 - w) × anomaly percentile) / (w × flags + 1 - w)`` with
    ``w = flag_weight``: each rule flag of the pattern (or share of subjects flagged, at the
    institution level) counts as much as the whole anomaly when ``w = 0.5``, so subjects
    that fire more rules come first and the anomaly orders the rest. The anomaly looks
    only at the pattern's own signals (``columns``; all when empty), each first put
    relative to the subject's peer group (robust z: minus the group median, over the
    group's interquartile range; groups under ``min_peers`` use the whole population),
    then scored by an IsolationForest fitted per peer group — the ``max_groups`` largest
    with at least ``min_peers`` subjects get one of their own, the others share one fitted
    on everyone. The score orders subjects; it is not a probability. Indices in
    ``columns`` and ``flag_columns`` refer to columns of ``X``.
    """

    def __init__(
        self,
        columns: tuple[int, ...] = (),
        flag_columns: tuple[int, ...] = (),
        n_estimators: int = 50,
        min_peers: int = 200,
        max_groups: int = 4,
        flag_weight: float = 0.5,
        random_state: int = 7,
    ) -> None:
        self.columns = columns
        self.flag_columns = flag_columns
        self.n_estimators = n_estimators
        self.min_peers = min_peers
        self.max_groups = max_groups
        self.flag_weight = flag_weight
        self.random_state = random_state

    def _validate(self, X: Any, reset: bool) -> np.ndarray:
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=reset)
        return np.nan_to_num(X, nan=0.0)

    def _chosen(self, n_features: int) -> list[int]:
        return list(self.columns) if self.columns else list(range(n_features))

    def fit(self, X: Any, y: Any = None, groups: Any = None) -> ColdStartScorer:
        X = self._validate(X, reset=True)
        keys = _group_keys(groups, len(X))
        chosen = X[:, self._chosen(X.shape[1])]
        sizes = pd.Series(keys).value_counts(sort=True)
        peers = sizes[(sizes.index != "") & (sizes >= self.min_peers)]
        self.centers_: dict[str, tuple[np.ndarray, np.ndarray]] = {"": _robust_center(chosen)}
        in_peers = pd.Series(keys).isin(peers.index).to_numpy()
        if in_peers.any():
            grouped = pd.DataFrame(chosen[in_peers]).groupby(keys[in_peers], sort=False)
            median, q25, q75 = grouped.median(), grouped.quantile(0.25), grouped.quantile(0.75)
            for key in median.index:
                m = median.loc[key].to_numpy()
                iqr = (q75.loc[key] - q25.loc[key]).to_numpy()
                self.centers_[str(key)] = (m, np.where(iqr > 0, iqr, np.maximum(np.abs(m), 1.0)))
        relative = self._relative(chosen, keys)
        self.forests_: dict[str, tuple[IsolationForest, np.ndarray]] = {"": self._forest(relative)}
        for key in peers.index[: self.max_groups]:
            self.forests_[str(key)] = self._forest(relative[keys == key])
        return self

    def _relative(self, chosen: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Each signal as a robust z against the subject's peer group (one pass, no loop
        over subjects or groups' rows)."""
        codes, uniques = pd.factorize(keys)
        pairs = [self.centers_.get(str(u), self.centers_[""]) for u in uniques]
        if not pairs:
            return np.empty_like(chosen)
        centers = np.stack([c for c, _ in pairs])
        spreads = np.stack([sp for _, sp in pairs])
        return np.asarray((chosen - centers[codes]) / spreads[codes], dtype=np.float64)

    def _forest(self, X: np.ndarray) -> tuple[IsolationForest, np.ndarray]:
        forest = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state, n_jobs=1
        ).fit(X)
        return forest, np.sort(-forest.score_samples(X))

    def score_samples(self, X: Any, groups: Any = None) -> np.ndarray:
        """Cold-start scores in [0, 1]: higher is more suspicious."""
        check_is_fitted(self, "forests_")
        X = self._validate(X, reset=False)
        keys = _group_keys(groups, len(X))
        relative = self._relative(X[:, self._chosen(X.shape[1])], keys)
        anomaly = np.zeros(len(X))
        own = pd.Series(keys).isin(list(self.forests_)).to_numpy()
        forest_of = np.where(own, keys, "")
        for key in pd.unique(forest_of):
            rows = forest_of == key
            forest, reference = self.forests_[str(key)]
            raw = -forest.score_samples(relative[rows])
            anomaly[rows] = np.searchsorted(reference, raw, side="right") / len(reference)
        if not self.flag_columns:
            return anomaly
        fired = np.clip(X[:, list(self.flag_columns)], 0.0, 1.0).sum(axis=1)
        weight = self.flag_weight
        flags = fired / len(self.flag_columns)
        return np.asarray(
            (weight * len(self.flag_columns) * flags + (1 - weight) * anomaly)
            / (weight * len(self.flag_columns) + (1 - weight)),
            dtype=np.float64,
        )

    def contributions(self, X: Any, groups: Any = None) -> np.ndarray:
        """Why a subject stands out: its fired flags (1 each) and how far above its peers
        each of the pattern's signals lies (robust z / 10, only above the median)."""
        check_is_fitted(self, "forests_")
        X = self._validate(X, reset=False)
        chosen = self._chosen(X.shape[1])
        out = np.zeros_like(X)
        out[:, chosen] = np.clip(self._relative(X[:, chosen], _group_keys(groups, len(X))), 0, None)
        out[:, chosen] /= 10.0
        if self.flag_columns:
            flags = list(self.flag_columns)
            out[:, flags] = (X[:, flags] > 0) * (1.0 + out[:, flags])
        return out

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _group_keys(groups: Any, n: int) -> np.ndarray:
    if groups is None:
        return np.full(n, "", dtype=object)
    return pd.Series(groups, dtype="string").fillna("").to_numpy(dtype=object)


def _robust_center(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    median = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75, 25], axis=0)
    spread = np.where(q75 - q25 > 0, q75 - q25, np.maximum(np.abs(median), 1.0))
    return median, spread
