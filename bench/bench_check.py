"""The stages of one /check in process, as CPU time: intake validation, signals, scoring.

Trains a champion-like scorer on a synthetic world (no MLflow, no server), then times each
stage of ``serving.application.Application.check`` on single settlements of that world and
prints the median milliseconds of CPU time (``time.process_time``: steadier than wall time
on a shared machine). Run it on two commits back to back to compare them.

    .venv/bin/python -m bench.bench_check --persons 500 --settlements 20
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=500, help="persons of the world")
    parser.add_argument("--settlements", type=int, default=20, help="settlements timed")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    from bench.bench_service import KEY, bodies
    from features import build_features  # type: ignore[attr-defined]
    from features.check import CheckSignals
    from models.config import ModelSettings
    from models.scorer import FraudScorer
    from models.scoring import score
    from serving.application import CHECK_LEVELS, _levels_view
    from serving.schemas import SettlementIn, to_frames
    from settlements.config import IntakeSettings
    from settlements.dataset import Dataset
    from settlements.intake import validate_dataset
    from settlements.synthetic.generate import generate_world

    world = generate_world(args.persons, args.seed).dataset
    dataset = validate_dataset(world, IntakeSettings(), KEY).dataset
    fitted = FraudScorer(ModelSettings(n_estimators=100)).fit(
        build_features(dataset), dataset.labels
    )
    scorer = _levels_view(fitted, CHECK_LEVELS)
    signals = CheckSignals(scorer.feature_settings)
    items = [SettlementIn.model_validate(b) for b in bodies(dataset)[: args.settlements]]
    logging.disable(logging.WARNING)  # the per-call "signals skipped" (no catalogue)
    stages: dict[str, list[float]] = {"validate": [], "features": [], "score": []}
    clock = time.process_time
    for rep in range(2):  # the first pass warms caches and lazy imports
        for item in items:
            frames = to_frames([item])
            t0 = clock()
            accepted = validate_dataset(Dataset(**frames), IntakeSettings()).dataset
            t1 = clock()
            feature_set = signals.build(accepted)
            t2 = clock()
            score(feature_set, scorer)
            t3 = clock()
            if rep:
                for name, took in zip(stages, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                    stages[name].append(took)
    for name, took in stages.items():
        print(f"{f'stage_{name}_cpu_median_ms':>28}: {float(np.median(took)) * 1000:.1f}")


if __name__ == "__main__":
    main()
