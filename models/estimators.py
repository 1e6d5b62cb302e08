"""The two scikit-learn estimators a pattern is scored with.

``CalibratedBooster`` — a LightGBM classifier whose raw scores are calibrated on held-out
folds (isotonic or sigmoid), so that ``predict_proba`` is the probability that an
inspector confirms the subject. ``ColdStartScorer`` — for patterns without enough
confirmed labels: an IsolationForest per peer group, blended with the pattern's rule
flags, ranking subjects without any label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import IsolationForest
from sklearn.ensemble._iforest import _average_path_length
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
        return self._booster_predict(self._checked(X), raw_score=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self.calibrated(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def calibrated(self, raw: np.ndarray) -> np.ndarray:
        """The calibrated probability of raw scores from ``decision_function``."""
        check_is_fitted(self, "calibrator_")
        return _apply_calibrator(self.calibrator_, raw)

    def _checked(self, X: Any) -> np.ndarray:
        """``X`` as validated float64; a float64 matrix of the fitted width is taken as it
        is (what ``validate_data`` would return), sparing its cost on one-row calls."""
        if _fitted_matrix(self, X):
            return X  # type: ignore[no-any-return]
        return validate_data(  # type: ignore[no-any-return]
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False
        )

    def _booster_predict(self, X: np.ndarray, **kind: bool) -> np.ndarray:
        """The fitted LightGBM model's prediction, asked of its ``Booster`` directly: what
        ``LGBMClassifier.predict`` computes, without its per-call input validation and
        parameter processing (most of the cost of predicting one row)."""
        threads = self.booster_._process_n_jobs(self.n_jobs)
        out = self.booster_.booster_.predict(X, num_threads=threads, **kind)
        return np.asarray(out, dtype=np.float64)

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: Any) -> np.ndarray:
        """Per-signal log-odds contributions (``pred_contrib``); the last column is the base."""
        check_is_fitted(self, "booster_")
        return self._booster_predict(self._checked(X), pred_contrib=True)

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
    """The calibrator's probability of ``raw``, computed as its ``predict_proba`` (Platt)
    or ``predict`` (isotonic) does, without their per-call validation."""
    raw = np.asarray(raw, dtype=np.float64)
    if isinstance(calibrator, LogisticRegression):
        decision = raw.reshape(-1, 1) @ calibrator.coef_.T + calibrator.intercept_
        return np.asarray(expit(decision.reshape(-1)), dtype=np.float64)
    clipped = np.clip(raw.reshape(-1), calibrator.X_min_, calibrator.X_max_)
    return np.asarray(calibrator.f_(clipped), dtype=np.float64)


def _fitted_matrix(estimator: BaseEstimator, X: Any) -> bool:
    """Whether ``X`` is already a non-empty float64 matrix of the estimator's fitted width."""
    return (
        isinstance(X, np.ndarray)
        and X.dtype == np.float64
        and X.ndim == 2
        and len(X) > 0
        and X.shape[1] == getattr(estimator, "n_features_in_", -1)
    )


_FOREST_CHUNK = 4_096
"""Rows scored together by a compiled forest (its arrays are trees x rows)."""


@dataclass(frozen=True)
class _CompiledForest:
    """A fitted IsolationForest's trees as flat node arrays, walked all at once.

    ``scores`` equals ``-forest.score_samples(X)`` bit for bit (the same float32 view of
    ``X``, the same comparisons and missing-value directions, the per-tree path lengths
    summed in tree order) but costs a few numpy operations per tree level instead of
    scikit-learn's per-call validation, joblib dispatch and one ``apply`` per tree —
    which dominate scoring a single subject. Leaves point to themselves, so every walk
    takes the depth of the deepest tree.
    """

    roots: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    path: np.ndarray
    """Per node: its depth plus the average path length of its samples, minus one."""
    depth: int
    denominator: np.ndarray

    @classmethod
    def of(cls, forest: IsolationForest) -> _CompiledForest:
        trees = [e.tree_ for e in forest.estimators_]
        subsample = forest._max_features != forest.n_features_in_
        roots, left, right, feature, threshold, missing, path = [], [], [], [], [], [], []
        offset = 0
        for i, (tree, features) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
            nodes = np.arange(tree.node_count) + offset
            leaf = tree.children_left < 0
            roots.append(offset)
            left.append(np.where(leaf, nodes, tree.children_left + offset))
            right.append(np.where(leaf, nodes, tree.children_right + offset))
            own = np.maximum(tree.feature, 0)
            feature.append(np.asarray(features)[own] if subsample else own)
            threshold.append(np.asarray(tree.threshold, dtype=np.float64))
            go_left = getattr(tree, "missing_go_to_left", np.zeros(tree.node_count))
            missing.append(np.asarray(go_left, dtype=bool))
            path.append(
                forest._decision_path_lengths[i] + forest._average_path_length_per_tree[i] - 1.0
            )
            offset += tree.node_count
        return cls(
            roots=np.array(roots, dtype=np.int64),
            left=np.concatenate(left).astype(np.int64),
            right=np.concatenate(right).astype(np.int64),
            feature=np.concatenate(feature).astype(np.int64),
            threshold=np.concatenate(threshold),
            missing_left=np.concatenate(missing),
            path=np.concatenate(path).astype(np.float64),
            depth=max(t.max_depth for t in trees),
            denominator=len(trees) * _average_path_length([forest._max_samples]),
        )

    def scores(self, X: np.ndarray) -> np.ndarray:
        """The forest's anomaly score per row of ``X`` (higher is more anomalous)."""
        out = np.empty(len(X), dtype=np.float64)
        for start in range(0, len(X), _FOREST_CHUNK):
            out[start : start + _FOREST_CHUNK] = self._scores(X[start : start + _FOREST_CHUNK])
        return out

    def _scores(self, X: np.ndarray) -> np.ndarray:
        seen = np.asarray(X, dtype=np.float32).astype(np.float64)  # as the trees see it
        n, width = seen.shape
        flat = seen.reshape(-1)
        missing = bool(np.isnan(flat).any())
        node = np.repeat(self.roots, n)  # tree by tree, each over all rows
        base = np.tile(np.arange(n) * width, len(self.roots))
        for _ in range(self.depth):
            value = flat[base + self.feature[node]]
            go_left = value <= self.threshold[node]
            if missing:
                go_left = np.where(np.isnan(value), self.missing_left[node], go_left)
            node = np.where(go_left, self.left[node], self.right[node])
        lengths = self.path[node].reshape(len(self.roots), n)
        depths = np.cumsum(lengths, axis=0)[-1]  # tree by tree, as scikit-learn sums them
        ratio = np.divide(
            depths, self.denominator, out=np.ones_like(depths), where=self.denominator != 0
        )
        return np.asarray(2**-ratio, dtype=np.float64)


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
        if reset or not _fitted_matrix(self, X):
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
        own = np.fromiter((k in self.forests_ for k in keys), dtype=bool, count=len(keys))
        forest_of = np.where(own, keys, "")
        for key in dict.fromkeys(forest_of):
            rows = forest_of == key
            forest, reference = self.forests_[str(key)]
            raw = self._compiled(str(key), forest).scores(relative[rows])
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

    def _compiled(self, key: str, forest: IsolationForest) -> _CompiledForest:
        """The peer group's forest compiled for fast scoring (once per loaded scorer)."""
        compiled: dict[str, _CompiledForest] = self.__dict__.setdefault("_fast_forests", {})
        if key not in compiled:
            compiled[key] = _CompiledForest.of(forest)
        return compiled[key]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_fast_forests", None)
        return state

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
    if (
        isinstance(groups, np.ndarray)
        and groups.dtype == object
        and all(isinstance(g, str) for g in groups)
    ):  # already what the conversion gives
        return groups
    return pd.Series(groups, dtype="string").fillna("").to_numpy(dtype=object)


def _robust_center(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    median = np.median(X, axis=0)
    q75, q25 = np.percentile(X, [75, 25], axis=0)
    spread = np.where(q75 - q25 > 0, q75 - q25, np.maximum(np.abs(median), 1.0))
    return median, spread
