"""Model quality on the synthetic world: per pattern, the model against the rule flags alone.

Trains a ``FraudScorer`` on one generated region (its labels: inspected subjects only) and
scores every subject of a second, independent region (another seed). The second region's
full ground truth (``World.truth``: every injected fraud, per subject and pattern) judges
the scores over the whole population: PR-AUC, ROC-AUC, and recall and precision when
inspectors can check 5% (and 1%) of the subjects of a level. The baseline ranks by the
pattern's rule flags alone (how many fired, ties at random).

Run: ``.venv/bin/python -m bench.model_quality [--persons 20000] [--train-seed 1]
[--test-seed 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from features import build_features  # type: ignore[attr-defined]
from features.contract import FeatureSet
from models.config import ModelSettings
from models.scorer import FraudScorer, rule_scores
from settlements.dataset import Dataset
from settlements.synthetic.generate import generate_world
from training.evaluation import ranking_metrics

MIN_POSITIVES = 5


def world(persons: int, seed: int) -> tuple[Dataset, pd.DataFrame, FeatureSet]:
    """A generated region; its frames are typed as intake types them, so intake is skipped."""
    generated = generate_world(persons, seed)
    dataset = generated.dataset
    return dataset, generated.truth, build_features(dataset, check=False)


def population_metrics(
    scorer: FraudScorer, feature_set: FeatureSet, truth: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """Per (level, pattern): the model and the rules over every subject, judged by truth."""
    fraud = truth[truth["fraud"].astype(bool)]
    rows = []
    for (level, pattern), scores in scorer.predict(feature_set).items():
        positives = fraud[
            (fraud["subject_type"] == level.value) & (fraud["pattern"] == pattern.value)
        ]["subject_id"]
        y = scores.score.index.isin(pd.Index(positives.astype(str))).astype(int)
        if y.sum() < MIN_POSITIVES:
            continue
        rules = rule_scores(scores, scorer.pattern_flags(level, pattern))
        for ranker, value, tie in (
            ("model", scores.score.to_numpy(), scores.margin.to_numpy()),
            ("rules", rules.to_numpy(), None),
        ):
            figures = ranking_metrics(y, value, tie, (0.01, 0.05), 100, seed)
            rows.append(
                {
                    "subject_type": level.value,
                    "pattern": pattern.value,
                    "ranker": ranker,
                    "method": scores.target.method,
                }
                | figures
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--train-seed", type=int, default=1)
    parser.add_argument("--test-seed", type=int, default=2)
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a ModelSettings field"
    )
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.set)

    started = time.perf_counter()
    train_data, _, train_features = world(args.persons, args.train_seed)
    test_data, test_truth, test_features = world(args.persons, args.test_seed)
    built = time.perf_counter() - started
    labels = train_data.labels if train_data.labels is not None else pd.DataFrame()
    started = time.perf_counter()
    scorer = FraudScorer(ModelSettings(**overrides)).fit(train_features, labels)  # type: ignore[arg-type]
    fitted = time.perf_counter() - started
    table = population_metrics(scorer, test_features, test_truth, args.test_seed)

    print(f"worlds: {args.persons:,} persons each, train seed {args.train_seed}, test seed "
          f"{args.test_seed}; {len(train_data.settlements):,} / {len(test_data.settlements):,} "
          f"settlements; {len(labels):,} training labels")  # fmt: skip
    print(f"generate + intake + features: {built:.0f} s; fit: {fitted:.0f} s")
    print(scorer.report()[["subject_type", "pattern", "method", "confirmed", "rejected"]]
          .to_string(index=False))  # fmt: skip
    print()
    wide = table.pivot_table(
        index=["subject_type", "pattern", "method"],
        columns="ranker",
        values=["pr_auc", "recall_at_5pct", "roc_auc", "confirmed", "n"],
    )
    out = pd.DataFrame(
        {
            "n": wide[("n", "model")].astype(int),
            "fraud": wide[("confirmed", "model")].astype(int),
            "PR-AUC model": wide[("pr_auc", "model")],
            "PR-AUC rules": wide[("pr_auc", "rules")],
            "recall@5% model": wide[("recall_at_5pct", "model")],
            "recall@5% rules": wide[("recall_at_5pct", "rules")],
            "ROC-AUC model": wide[("roc_auc", "model")],
            "ROC-AUC rules": wide[("roc_auc", "rules")],
        }
    )
    out["beats rules"] = (out["PR-AUC model"] > out["PR-AUC rules"]) & (
        out["recall@5% model"] >= out["recall@5% rules"]
    )
    print(out.round(3).to_string())
    print()
    print(f"model beats the rules (PR-AUC, recall@5%) on {int(out['beats rules'].sum())} of "
          f"{len(out)} pattern/level pairs; mean PR-AUC {np.nanmean(out['PR-AUC model']):.3f} "
          f"vs {np.nanmean(out['PR-AUC rules']):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
