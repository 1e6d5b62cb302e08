"""Evaluation: how well scores find confirmed subjects, per pattern and subject level.

Metrics are those an inspection team cares about: ROC-AUC, PR-AUC (average precision),
precision and recall at its capacity (a share of the population or a number of
subjects), and lift in the top decile — for the model and for the rule flags alone.
``cross_validate`` gives every labelled subject a score from a scorer that never saw
it, with folds grouped so that no person or institution sits on both sides (or ordered
in time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from features.contract import FeatureSet, Level
from models.config import ModelSettings
from models.design import context, member, subject_groups, target_labels
from models.scorer import FraudScorer, rule_scores
from settlements.progress import Track, no_track
from training.config import TrainingSettings

SCORE_COLUMNS = ("subject_type", "subject_id", "pattern", "y", "score", "margin", "rules", "method")


def ranking_metrics(
    y: np.ndarray,
    score: np.ndarray,
    tie: np.ndarray | None,
    shares: tuple[float, ...],
    top_k: int,
    seed: int = 0,
) -> dict[str, float]:
    """ROC-AUC, PR-AUC, precision/recall at each capacity and top-k, lift in the top decile.

    Ties in ``score`` are broken by ``tie`` (the model's raw margin), else at random with
    ``seed``, so that a capacity takes exactly its number of subjects.
    """
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    n, n_pos = len(y), int(y.sum())
    out: dict[str, float] = {"n": float(n), "confirmed": float(n_pos)}
    if tie is None:
        tie = np.random.default_rng(seed).random(n)
    order = np.lexsort((-np.asarray(tie, dtype=float), -score))
    strict = np.empty(n)
    strict[order] = np.arange(n, 0, -1)
    both = 0 < n_pos < n
    out["roc_auc"] = float(roc_auc_score(y, strict)) if both else float("nan")
    out["pr_auc"] = float(average_precision_score(y, strict)) if both else float("nan")
    hits = np.cumsum(y[order])
    base = n_pos / n if n else float("nan")
    for share in shares:
        k = max(1, int(np.ceil(n * share)))
        out.update(_at(f"{share * 100:g}pct", k, hits, n_pos))
    out.update(_at(f"top{top_k}", min(top_k, n), hits, n_pos))
    decile = max(1, int(np.ceil(n * 0.1)))
    out["lift_top_decile"] = (
        float(hits[decile - 1] / decile / base) if n and base > 0 else float("nan")
    )
    return out


def _at(name: str, k: int, hits: np.ndarray, n_pos: int) -> dict[str, float]:
    if k <= 0 or not len(hits):
        return {f"precision_at_{name}": float("nan"), f"recall_at_{name}": float("nan")}
    found = float(hits[k - 1])
    return {
        f"precision_at_{name}": found / k,
        f"recall_at_{name}": found / n_pos if n_pos else float("nan"),
    }


def labelled_scores(
    feature_set: FeatureSet, labels: pd.DataFrame, scorer: FraudScorer
) -> pd.DataFrame:
    """Model and rule scores of every labelled subject the scorer scores."""
    parts = []
    ids = labels["subject_id"].astype("string")
    only = {
        level: pd.Index(ids[labels["subject_type"].astype("string") == level.value].unique())
        for level in Level
    }
    for (level, pattern), scores in scorer.predict(feature_set, only).items():
        y = target_labels(labels, level, pattern)
        y = y[member(y.index, scores.score.index)]
        if y.empty:
            continue
        rules = rule_scores(scores, scorer.pattern_flags(level, pattern))
        parts.append(
            pd.DataFrame(
                {
                    "subject_type": level.value,
                    "subject_id": y.index.astype("string"),
                    "pattern": pattern.value,
                    "y": y.to_numpy().astype(int),
                    "score": scores.score.reindex(y.index).to_numpy(),
                    "margin": scores.margin.reindex(y.index).to_numpy(),
                    "rules": rules.reindex(y.index).to_numpy(),
                    "method": scores.target.method,
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SCORE_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def split_labels(
    feature_set: FeatureSet,
    labels: pd.DataFrame,
    folds: int,
    split: str,
    seed: int,
) -> pd.Series:
    """A fold number per label row: grouped and stratified per level, or ordered in time.

    Under ``grouped`` a subject's group (visits: the person; doctors: the institution;
    persons and institutions: themselves) lies in one fold only. Under ``time`` folds are
    consecutive by the subject's first settlement date.
    """
    fold = pd.Series(-1, index=labels.index, dtype="int64")
    for level in Level:
        rows = labels["subject_type"].astype("string") == level.value
        if not rows.any() or feature_set.frames.get(level) is None:
            continue
        chosen = labels[rows]
        ids = chosen["subject_id"].astype("string")
        confirmed = (
            (chosen["outcome"].astype("string") == "confirmed").groupby(ids.to_numpy()).max()
        )
        subjects = pd.Index(confirmed.index, dtype="string")
        if split == "time":
            first = pd.to_datetime(
                context(feature_set, level, subjects, "first_date"), errors="coerce"
            )
            order = first.rank(method="first", na_option="bottom").to_numpy() - 1
            assigned = np.minimum((order * folds // max(len(subjects), 1)).astype(int), folds - 1)
        else:
            groups = subject_groups(feature_set, level, subjects)
            n_splits = max(2, min(folds, len(np.unique(groups))))
            y = confirmed.to_numpy().astype(int)
            if min(y.sum(), len(y) - y.sum()) >= n_splits:
                splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
                pieces = splitter.split(np.zeros(len(y)), y, groups)
            else:
                from sklearn.model_selection import GroupKFold

                pieces = GroupKFold(n_splits=min(n_splits, len(y))).split(
                    np.zeros(len(y)), y, groups
                )
            assigned = np.zeros(len(subjects), dtype=int)
            for i, (_, test) in enumerate(pieces):
                assigned[test] = i
        by_subject = pd.Series(assigned, index=subjects)
        fold[rows] = by_subject.reindex(ids.to_numpy()).to_numpy()
    return fold


@dataclass(frozen=True)
class Evaluation:
    """Held-out scores of labelled subjects and their metrics per pattern and level."""

    scores: pd.DataFrame
    metrics: pd.DataFrame
    how: str
    """How the scores were held out (e.g. ``5-fold grouped cross-validation``)."""


def cross_validate(
    feature_set: FeatureSet,
    labels: pd.DataFrame,
    model_settings: ModelSettings,
    settings: TrainingSettings,
    track: Track = no_track,
) -> Evaluation:
    """Score every labelled subject with a scorer fitted on the other folds."""
    folds = split_labels(
        feature_set, labels, settings.cv_folds, settings.split, model_settings.seed
    )
    parts = []
    forests = FraudScorer(model_settings).fit(feature_set, None).cold_start_forests()
    for fold in track(range(settings.cv_folds), "cross-validation folds"):
        held_out = folds == fold
        if not held_out.any():
            continue
        if settings.split == "time" and fold == 0:
            continue
        train = labels[(folds < fold) if settings.split == "time" else (~held_out & (folds >= 0))]
        scorer = FraudScorer(model_settings).fit(feature_set, train, forests=forests)
        scores = labelled_scores(feature_set, labels[held_out], scorer)
        parts.append(scores.assign(fold=fold))
    scores = (
        pd.concat(parts, ignore_index=True)
        if parts
        else labelled_scores(
            feature_set, labels.iloc[:0], FraudScorer(model_settings).fit(feature_set, None)
        )
    )
    how = (
        f"{settings.cv_folds}-fold grouped cross-validation (visits grouped by person, "
        "doctors by institution)"
        if settings.split == "grouped"
        else f"forward-in-time validation over {settings.cv_folds} periods"
    )
    return Evaluation(scores, metrics_table(scores, settings, model_settings.seed), how)


def evaluate_scorer(
    feature_set: FeatureSet,
    labels: pd.DataFrame,
    scorer: FraudScorer,
    settings: TrainingSettings,
    how: str,
) -> Evaluation:
    """Metrics of a fitted scorer on labels it was not trained on."""
    scores = labelled_scores(feature_set, labels, scorer)
    return Evaluation(scores, metrics_table(scores, settings, scorer._settings.seed), how)


def metrics_table(scores: pd.DataFrame, settings: TrainingSettings, seed: int) -> pd.DataFrame:
    """One row per (subject level, pattern, ranker): the model and the rule flags alone."""
    rows = []
    if scores.empty:
        return pd.DataFrame(columns=["subject_type", "pattern", "ranker", "method"])
    for (level, pattern), part in scores.groupby(["subject_type", "pattern"], sort=True):
        y = part["y"].to_numpy()
        method = str(part["method"].iloc[-1])
        for ranker, value, tie in (
            ("model", part["score"].to_numpy(), part["margin"].to_numpy()),
            ("rules", part["rules"].to_numpy(), None),
        ):
            figures = ranking_metrics(
                y, value, tie, settings.capacity_shares, settings.capacity_top_k, seed
            )
            rows.append(
                {"subject_type": level, "pattern": pattern, "ranker": ranker, "method": method}
                | figures
            )
    return pd.DataFrame(rows)


def headline(metrics: pd.DataFrame, metric: str) -> float:
    """Mean of ``metric`` over the model rows with both outcomes (what promotion compares)."""
    model = metrics[metrics["ranker"] == "model"] if len(metrics) else metrics
    if model.empty or metric not in model.columns:
        return float("nan")
    return float(np.nanmean(model[metric].to_numpy(dtype=float)))
