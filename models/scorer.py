"""``FraudScorer``: every pattern at every subject level, fitted on a FeatureSet and labels.

For each (subject level, pattern) the scorer holds one ``Target``: a calibrated LightGBM
classifier when the labels hold enough confirmed and rejected subjects, else a
cold-start scorer (peer-group IsolationForest + the pattern's rule flags). The switch is
automatic; ``report()`` says which was used and why. Which pairs are scored: every
pattern with a signal at the level (directly or aggregated to institutions), plus every
labelled pair.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from features.config import FeatureSettings
from features.contract import FeatureSet, Level, Pattern
from models.config import ModelSettings
from models.design import (
    Column,
    level_columns,
    level_matrix,
    member,
    peer_groups,
    subject_groups,
    target_labels,
)
from models.estimators import CalibratedBooster, ColdStartScorer
from settlements.progress import Track, no_track

log = logging.getLogger(__name__)

SUPERVISED = "supervised"
COLD_START = "cold_start"


@dataclass
class Target:
    """The fitted model of one subject level and pattern."""

    level: Level
    pattern: Pattern
    method: str
    """``supervised`` (calibrated LightGBM) or ``cold_start`` (unsupervised ranking)."""
    estimator: CalibratedBooster | ColdStartScorer
    n_confirmed: int
    n_rejected: int
    why: str
    """Why this method: label counts against the thresholds."""


@dataclass(frozen=True)
class TargetScores:
    """Scores of every subject of a level for one pattern, and how to explain them."""

    target: Target
    matrix: pd.DataFrame
    score: pd.Series
    """Calibrated probability (supervised) or cold-start score, indexed by subject_id."""
    margin: pd.Series
    """Raw score for breaking ties of equal calibrated scores."""


class FraudScorer(BaseEstimator):
    """The whole scorer: settings, per-level input columns, boosters and calibrators.

    ``fit(feature_set, labels)`` with labels in the contract's labels shape (or ``None``
    for cold start everywhere); ``predict(feature_set)`` gives ``TargetScores`` per
    (level, pattern); ``models.scoring.score`` turns them into leads.
    """

    def __init__(
        self,
        settings: ModelSettings | None = None,
        feature_settings: FeatureSettings | None = None,
    ) -> None:
        self.settings = settings
        self.feature_settings = feature_settings

    @property
    def _settings(self) -> ModelSettings:
        return self.settings or ModelSettings()

    def fit(
        self,
        feature_set: FeatureSet,
        labels: pd.DataFrame | None = None,
        track: Track = no_track,
        forests: dict[tuple[Level, Pattern], ColdStartScorer] | None = None,
    ) -> FraudScorer:
        """Fit every (level, pattern); ``forests`` reuses cold-start forests already fitted
        on the same ``feature_set`` (they never see labels, so cross-validation folds share
        them)."""
        s = self._settings
        self._forests: dict[tuple[Level, Pattern], ColdStartScorer] = dict(forests or {})
        self.columns_: dict[Level, list[Column]] = {}
        self.targets_: dict[tuple[Level, Pattern], Target] = {}
        self.specs_ = feature_set.specs
        self.skipped_ = feature_set.skipped
        self.model_version_ = "unregistered"
        pairs = scored_pairs(feature_set, labels, s.aggregate_to_institution)
        matrices: dict[Level, pd.DataFrame] = {}
        for level, pattern in track(pairs, "fitting pattern models"):
            if level not in self.columns_:
                self.columns_[level] = level_columns(feature_set, level, s.aggregate_to_institution)
                matrices[level] = level_matrix(feature_set, level, self.columns_[level])
            columns = self.columns_[level]
            matrix = matrices[level]
            y = target_labels(labels, level, pattern)
            y = y[member(y.index, matrix.index)]
            n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
            if n_pos >= s.min_confirmed and n_neg >= s.min_rejected and columns:
                y, weight, inspected = self._anchored(y, matrix.index)
                rows = matrix.loc[y.index]
                estimator: CalibratedBooster | ColdStartScorer = self._booster().fit(
                    rows.to_numpy(),
                    y.to_numpy(),
                    groups=subject_groups(feature_set, level, rows.index),
                    sample_weight=weight,
                    calibrate_on=inspected,
                )
                method = SUPERVISED
                why = f"{n_pos} confirmed, {n_neg} rejected labels"
                if (~inspected).any():
                    why += f", {int((~inspected).sum())} uninspected anchors"
            else:
                estimator = self._cold_start(feature_set, level, matrix, pattern)
                method = COLD_START
                why = (
                    f"only {n_pos} confirmed / {n_neg} rejected labels "
                    f"(need {s.min_confirmed} / {s.min_rejected})"
                )
            self.targets_[(level, pattern)] = Target(
                level, pattern, method, estimator, n_pos, n_neg, why
            )
            log.info(
                "fitted pattern model",
                extra={
                    "level": level.value,
                    "pattern": pattern.value,
                    "method": method,
                    "confirmed": n_pos,
                    "rejected": n_neg,
                },
            )
        return self

    def _anchored(
        self, y: pd.Series, subjects: pd.Index
    ) -> tuple[pd.Series, np.ndarray, np.ndarray]:
        """Labels plus uninspected subjects drawn as weighted rejected ones (see settings)."""
        s = self._settings
        inspected = np.ones(len(y), bool)
        weight = np.ones(len(y))
        if s.population_anchor <= 0 or len(y) >= s.population_anchor_max_share * len(subjects):
            return y, weight, inspected
        others = subjects[~member(subjects, y.index)]
        count = min(len(others), round(s.population_anchor * len(y)))
        if count == 0:
            return y, weight, inspected
        rng = np.random.default_rng(s.seed)
        drawn = others[np.sort(rng.choice(len(others), size=count, replace=False))]
        anchors = pd.Series(0.0, index=drawn)
        return (
            pd.concat([y, anchors]),
            np.concatenate([weight, np.full(count, s.population_anchor_weight)]),
            np.concatenate([inspected, np.zeros(count, bool)]),
        )

    def _booster(self) -> CalibratedBooster:
        s = self._settings
        return CalibratedBooster(
            n_estimators=s.n_estimators,
            learning_rate=s.learning_rate,
            num_leaves=s.num_leaves,
            min_child_samples=s.min_child_samples,
            subsample=s.subsample,
            colsample_bytree=s.colsample_bytree,
            reg_lambda=s.reg_lambda,
            balance_classes=s.balance_classes,
            calibration=s.calibration,
            isotonic_min_confirmed=s.isotonic_min_confirmed,
            calibration_folds=s.calibration_folds,
            n_jobs=s.n_jobs,
            random_state=s.seed,
        )

    def _cold_start(
        self, feature_set: FeatureSet, level: Level, matrix: pd.DataFrame, pattern: Pattern
    ) -> ColdStartScorer:
        """A forest set per (level, pattern) on the pattern's own signals and flags; it never
        sees labels, so cross-validation folds reuse it (``forests``)."""
        key = (level, pattern)
        if key not in self._forests:
            s = self._settings
            own = self.pattern_columns(level, pattern)
            flags = set(self.pattern_flags(level, pattern))
            names = [c.name for c in self.columns_[level]]
            values = matrix.to_numpy() if matrix.shape[1] else np.zeros((len(matrix), 1))
            self._forests[key] = ColdStartScorer(
                columns=tuple(i for i, n in enumerate(names) if n in own),
                flag_columns=tuple(i for i, n in enumerate(names) if n in flags),
                n_estimators=s.cold_start_trees,
                min_peers=s.cold_start_min_peers,
                max_groups=s.cold_start_max_groups,
                flag_weight=s.cold_start_flag_weight,
                random_state=s.seed,
            ).fit(values, groups=peer_groups(feature_set, level, matrix.index))
        return self._forests[key]

    def pattern_columns(self, level: Level, pattern: Pattern) -> list[str]:
        """Input columns that speak of the pattern (its signals and their aggregates)."""
        return [c.name for c in self.columns_.get(level, []) if c.pattern == pattern]

    def pattern_flags(self, level: Level, pattern: Pattern) -> list[str]:
        """Input columns that are the pattern's rule flags (or shares of subjects flagged)."""
        return [
            c.name
            for c in self.columns_.get(level, [])
            if c.pattern == pattern and (c.kind == "flag" or c.how == "share")
        ]

    def predict(
        self, feature_set: FeatureSet, only: Mapping[Level, pd.Index] | None = None
    ) -> dict[tuple[Level, Pattern], TargetScores]:
        """Scores of every subject (or of ``only`` these per level) for every fitted pair."""
        check_is_fitted(self, "targets_")
        matrices = {
            level: level_matrix(feature_set, level, columns)
            for level, columns in self.columns_.items()
            if feature_set.frames.get(level) is not None
        }
        if only is not None:
            matrices = {
                level: m[member(m.index, only.get(level, pd.Index([], dtype="string")))]
                for level, m in matrices.items()
            }
        out = {}
        groups: dict[Level, np.ndarray | None] = {}
        for key, target in self.targets_.items():
            matrix = matrices.get(target.level)
            if matrix is None or matrix.empty:
                continue
            values = matrix.to_numpy() if matrix.shape[1] else np.zeros((len(matrix), 1))
            if not isinstance(target.estimator, CalibratedBooster) and target.level not in groups:
                groups[target.level] = peer_groups(feature_set, target.level, matrix.index)
            score, margin = self.target_scores(target, values, groups.get(target.level))
            out[key] = TargetScores(
                target,
                matrix,
                pd.Series(score, index=matrix.index, name="score"),
                pd.Series(margin, index=matrix.index, name="margin"),
            )
        return out

    @staticmethod
    def target_scores(
        target: Target, values: np.ndarray, groups: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Score and tie-breaking margin of each row of ``values`` (the level's float64
        matrix; ``groups`` its peer groups, for cold start): the booster is asked once."""
        if isinstance(target.estimator, CalibratedBooster):
            margin = target.estimator.decision_function(values)
            return target.estimator.calibrated(margin), margin
        score = target.estimator.score_samples(values, groups)
        return score, score

    def contributions(
        self, feature_set: FeatureSet, scores: TargetScores, index: pd.Index
    ) -> np.ndarray:
        """Per-column contributions of the chosen subjects (booster: log-odds, no base)."""
        values = scores.matrix.loc[index].to_numpy()
        if not scores.matrix.shape[1]:
            return np.zeros((len(index), 0))
        groups = None
        if not isinstance(scores.target.estimator, CalibratedBooster):
            groups = peer_groups(feature_set, scores.target.level, index)
        return self.target_contributions(scores.target, values, groups)

    @staticmethod
    def target_contributions(
        target: Target, values: np.ndarray, groups: np.ndarray | None
    ) -> np.ndarray:
        """Per-column contributions of the rows of ``values`` (a non-empty matrix)."""
        if isinstance(target.estimator, CalibratedBooster):
            return target.estimator.contributions(values)[:, :-1]
        return target.estimator.contributions(values, groups)

    def flag_contributions(self, scores: TargetScores, index: pd.Index) -> np.ndarray:
        """A cheap stand-in for contributions: the pattern's fired flags (shares as values)."""
        return self.target_flag_contributions(scores.target, scores.matrix.loc[index].to_numpy())

    def target_flag_contributions(self, target: Target, values: np.ndarray) -> np.ndarray:
        """``flag_contributions`` of the rows of ``values`` (the level's matrix)."""
        flags = set(self.pattern_flags(target.level, target.pattern))
        keep = np.array([c.name in flags for c in self.columns_[target.level]], dtype=bool)
        return np.where(keep, np.clip(np.nan_to_num(values), 0.0, 1.0), 0.0)

    def report(self) -> pd.DataFrame:
        """Which method each (level, pattern) uses and why: the training report's table."""
        check_is_fitted(self, "targets_")
        return pd.DataFrame(
            [
                {
                    "subject_type": t.level.value,
                    "pattern": t.pattern.value,
                    "method": t.method,
                    "calibration": getattr(t.estimator, "calibration_method_", ""),
                    "confirmed": t.n_confirmed,
                    "rejected": t.n_rejected,
                    "inputs": len(self.columns_[t.level]),
                    "why": t.why,
                }
                for t in self.targets_.values()
            ]
        )

    @property
    def model_version(self) -> str:
        return getattr(self, "model_version_", "unregistered")

    def with_version(self, version: str) -> FraudScorer:
        """The same fitted scorer, stamping ``version`` on the leads it writes."""
        check_is_fitted(self, "targets_")
        stamped = copy.copy(self)
        stamped.model_version_ = version
        return stamped

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "targets_")

    def cold_start_forests(self) -> dict[tuple[Level, Pattern], ColdStartScorer]:
        """The label-free forests fitted so far (to share across cross-validation folds)."""
        return dict(getattr(self, "_forests", {}))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_forests", None)
        return state


def scored_pairs(
    feature_set: FeatureSet, labels: pd.DataFrame | None, aggregate: bool
) -> list[tuple[Level, Pattern]]:
    """(level, pattern) pairs to score: patterns with a signal at a present level, and labels."""
    present = [
        level
        for level in Level
        if (frame := feature_set.frames.get(level)) is not None and len(frame)
    ]
    pairs: set[tuple[Level, Pattern]] = set()
    for spec in feature_set.specs:
        if spec.level in present:
            pairs.add((spec.level, spec.pattern))
        if aggregate and Level.INSTITUTION in present and spec.level in (Level.VISIT, Level.PERSON):
            pairs.add((Level.INSTITUTION, spec.pattern))
    if labels is not None and not labels.empty:
        for subject_type, pattern in (
            labels[["subject_type", "pattern"]]
            .astype("string")
            .drop_duplicates()
            .itertuples(index=False)
        ):
            if subject_type in {lv.value for lv in present} and pattern in set(Pattern):
                pairs.add((Level(subject_type), Pattern(pattern)))
    order = {lv: i for i, lv in enumerate(Level)}
    porder = {p: i for i, p in enumerate(Pattern)}
    return sorted(pairs, key=lambda p: (order[p[0]], porder[p[1]]))


def rule_scores(scores: TargetScores, flags: list[str]) -> pd.Series:
    """The rule flags alone, as a baseline ranking: how many of the pattern's flags fired."""
    present = [f for f in flags if f in scores.matrix.columns]
    return scores.matrix[present].fillna(0).clip(lower=0).sum(axis=1).astype("float64")
