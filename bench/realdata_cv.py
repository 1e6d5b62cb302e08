"""Institution-level cross-validation on the real CMS provider-fraud data.

Imports the shared Medicare files with ``settlements.importers.cms`` (in memory), builds the
label-free institution signals of ``features.provider_network`` and runs stratified k-fold
cross-validation of a deterministic LightGBM over the labelled providers that have
inpatient claims. Prints ROC-AUC and PR-AUC (mean ± sd over folds) for:

* claim count alone (size),
* plain per-provider aggregates (claims, persons, fund total and mean, mean stay length,
  distinct diagnoses, distinct attending physicians),
* all provider-network signals,
* the signals without the volume group (what the signals add beyond size),
* the signals with in-fold feature selection (top k by gain, chosen on the training fold
  only, so the held-out fold never informs the choice).

Run: ``.venv/bin/python -m bench.realdata_cv [--seeds 42 1 2] [--folds 5] [--top-k 15]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from features.provider_network import (
    SIGNAL_COLUMNS,
    ProviderNetworkSettings,
    build_provider_signals,
)
from settlements.dataset import Dataset
from settlements.importers.cms import import_cms

SRC = Path(__file__).resolve().parents[2] / "shared" / "data" / "medicare-provider-fraud"
MODEL_PARAMS: dict[str, object] = {
    "n_estimators": 400,
    "learning_rate": 0.02,
    "num_leaves": 7,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.5,
    "reg_lambda": 5.0,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 1,
    "random_state": 7,
    "verbose": -1,
}
"""One small, regularised LightGBM for every row (1,667 labelled providers). ``n_jobs=1``
keeps it deterministic and fast on a shared 2-core machine."""


def plain_aggregates(dataset: Dataset) -> pd.DataFrame:
    """The usual per-provider aggregates a first model would use."""
    s = dataset.settlements
    length = (s["enddate"] - s["begndate"]).dt.days + 1
    g = s.assign(length=length).groupby(s["fixmedins_code"].astype("string"))
    frame = pd.DataFrame(
        {
            "claims": g.size(),
            "persons": g["psn_no"].nunique(),
            "fund_total": g["fund_pay_sumamt"].sum(),
            "fund_mean": g["fund_pay_sumamt"].mean(),
            "length_mean": g["length"].mean(),
            "diagnoses": g["dise_codg"].nunique(),
            "attending": g["atddr_no"].nunique(),
        }
    )
    frame.index.name = "subject_id"
    return frame.astype("float64")


def _model() -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(**MODEL_PARAMS)  # type: ignore[arg-type]


def _fit_all(x: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> np.ndarray:
    return np.asarray(_model().fit(x, y).predict_proba(test))[:, 1]


def _fit_selected(k: int) -> Callable[[pd.DataFrame, np.ndarray, pd.DataFrame], np.ndarray]:
    """Fit on all columns, keep the top ``k`` by gain on this training fold, refit."""

    def fit(x: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> np.ndarray:
        first = lgb.LGBMClassifier(**MODEL_PARAMS, importance_type="gain").fit(x, y)  # type: ignore[arg-type]
        gain = pd.Series(first.feature_importances_, index=x.columns)
        keep = list(gain.sort_values(ascending=False, kind="stable").index[:k])
        return np.asarray(_model().fit(x[keep], y).predict_proba(test[keep]))[:, 1]

    return fit


def cross_validate(
    x: pd.DataFrame,
    y: np.ndarray,
    seeds: list[int],
    folds: int,
    fit: Callable[[pd.DataFrame, np.ndarray, pd.DataFrame], np.ndarray] = _fit_all,
) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUC and PR-AUC of every fold of every seed's stratified split."""
    roc, pr = [], []
    for seed in seeds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train, test in splitter.split(x, y):
            score = fit(x.iloc[train], y[train], x.iloc[test])
            roc.append(roc_auc_score(y[test], score))
            pr.append(average_precision_score(y[test], score))
    return np.array(roc), np.array(pr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=SRC, help="CMS data folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42], help="split seeds")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=15, help="in-fold selected signals")
    args = parser.parse_args()

    started = time.perf_counter()
    dataset = import_cms(args.src).dataset
    imported = time.perf_counter()
    signals = build_provider_signals(dataset, ProviderNetworkSettings())
    built = time.perf_counter()
    labels = dataset.labels
    if labels is None:
        raise SystemExit(f"{args.src} has no provider labels")
    labels = labels.loc[labels["subject_type"] == "institution"].set_index("subject_id")
    y = (labels["outcome"] == "confirmed").to_numpy().astype(int)
    ids = pd.Index(labels.index, dtype="string")
    print(
        f"import {imported - started:.1f} s, signals {built - imported:.1f} s "
        f"({signals.shape[1]} signals x {len(signals):,} institutions); "
        f"{len(y):,} labelled providers with inpatient claims, {y.sum()} confirmed "
        f"({y.mean():.1%}); {args.folds}-fold stratified CV, seeds {args.seeds}"
    )
    plain = plain_aggregates(dataset).reindex(ids).fillna(0.0)
    x = signals.reindex(ids)
    volume = list(SIGNAL_COLUMNS["measure_institution_volume"])
    rows = [
        ("claim count alone", plain[["claims"]], _fit_all),
        ("plain aggregates", plain, _fit_all),
        ("provider-network signals", x, _fit_all),
        ("signals without volume", x.drop(columns=volume), _fit_all),
        (f"signals, in-fold top {args.top_k}", x, _fit_selected(args.top_k)),
    ]
    print(f"{'features':34s} {'n':>3s}  {'ROC-AUC':>13s}  {'PR-AUC':>13s}")
    baseline = None
    for name, frame, fit in rows:
        roc, pr = cross_validate(frame, y, args.seeds, args.folds, fit)
        baseline = baseline or (roc.mean(), pr.mean())
        print(
            f"{name:34s} {frame.shape[1]:3d}  {roc.mean():.3f} ± {roc.std():.3f}  "
            f"{pr.mean():.3f} ± {pr.std():.3f}  "
            f"(x{roc.mean() / baseline[0]:.2f} ROC, x{pr.mean() / baseline[1]:.2f} PR vs count)",
            flush=True,
        )


if __name__ == "__main__":
    main()
