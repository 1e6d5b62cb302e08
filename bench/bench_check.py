"""The stages of one /check in process, as CPU time, on both paths of
``serving.application.Application.check``: the values path of one settlement (intake's
rules on the parsed values, ``CheckSignals.build_settlement``, scoring) and the frames path
of a batch (``validate_dataset`` on the request's frames, ``CheckSignals.build``, scoring).

Trains a champion-like scorer on a synthetic world (no MLflow, no server), then times each
stage on single settlements of that world and prints the median milliseconds of CPU time
(``time.process_time``: steadier than wall time on a shared machine). Run it on two commits
back to back to compare them.

    .venv/bin/python -m bench.bench_check --persons 500 --settlements 40
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=500, help="persons of the world")
    parser.add_argument("--settlements", type=int, default=40, help="settlements timed")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    from bench.bench_service import KEY, bodies
    from features import build_features  # type: ignore[attr-defined]
    from features.check import CheckSignals
    from models.config import ModelSettings
    from models.scorer import FraudScorer
    from models.scoring import score
    from serving.application import CHECK_LEVELS, _levels_view
    from serving.schemas import SettlementIn, to_frames, to_lone
    from settlements.config import IntakeSettings
    from settlements.dataset import Dataset
    from settlements.intake import validate_dataset
    from settlements.lone import judge_lone
    from settlements.synthetic.generate import generate_world

    world = generate_world(args.persons, args.seed).dataset
    dataset = validate_dataset(world, IntakeSettings(), KEY).dataset
    fitted = FraudScorer(ModelSettings(n_estimators=100)).fit(
        build_features(dataset), dataset.labels
    )
    scorer = _levels_view(fitted, CHECK_LEVELS)
    signals = CheckSignals(scorer.feature_settings)
    items = [SettlementIn.model_validate(b) for b in bodies(dataset)[: args.settlements]]
    logging.disable(logging.WARNING)
    intake = IntakeSettings()
    clock = time.process_time
    stages: dict[str, list[float]] = {
        k: [] for k in ("values_judge", "values_features", "values_score", "frames_validate")
    }
    stages |= {"frames_features": [], "frames_score": []}
    for rep in range(2):  # the first pass warms caches and lazy imports
        for item in items:
            lone = to_lone(item)
            t0 = clock()
            judge_lone(lone, intake)
            t1 = clock()
            built = signals.build_settlement(lone)
            t2 = clock()
            assert built is not None
            score(built, scorer)
            t3 = clock()
            frames = to_frames([item])
            t4 = clock()
            accepted = validate_dataset(Dataset(**frames), intake).dataset
            t5 = clock()
            feature_set = signals.build(accepted)
            t6 = clock()
            score(feature_set, scorer)
            t7 = clock()
            if rep:
                took = (t1 - t0, t2 - t1, t3 - t2, t5 - t4, t6 - t5, t7 - t6)
                for name, t in zip(stages, took, strict=True):
                    stages[name].append(t)
    for name, took in stages.items():
        print(f"{f'{name}_cpu_median_ms':>30}: {float(np.median(took)) * 1000:.2f}")


if __name__ == "__main__":
    main()
