"""Training time and scoring throughput of the scorer on a synthetic world.

Generates a region (default 120,000 persons, about 1M settlements; the generator's frames
are typed as intake types them) and builds its signals (timed, but those are other
stages' benchmarks), then measures:

* fitting the ``FraudScorer`` on the world's labels (every pattern and level),
* scoring the whole population into the leads table (rows per second, settlements per
  second), with ``--top 100`` as inspectors would ask for it,
* the single-settlement path of the service: one settlement with its fee lines, person and
  institution, through ``build_features`` and ``score``,
* peak resident memory of the process.

Run: ``.venv/bin/python -m bench.bench_models [--persons 120000] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from features import build_features  # type: ignore[attr-defined]
from models.config import ModelSettings
from models.scorer import FraudScorer
from models.scoring import score
from settlements.dataset import Dataset
from settlements.synthetic.generate import generate_world


def one_settlement(dataset: Dataset) -> Dataset:
    """The first inpatient settlement with its fee lines, person and institution."""
    settlements = dataset.settlements
    chosen = settlements[settlements["med_type"] == "21"].head(1)
    return Dataset(
        settlements=chosen,
        fee_details=dataset.fee_details[dataset.fee_details["setl_id"].isin(chosen["setl_id"])],
        persons=dataset.persons[dataset.persons["psn_no"].isin(chosen["psn_no"])],
        institutions=dataset.institutions[
            dataset.institutions["fixmedins_code"].isin(chosen["fixmedins_code"])
        ],
        catalog=dataset.catalog,
    )


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=120_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()

    def phase(name: str) -> None:
        print(f"... {name} at {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    dataset = generate_world(args.persons, args.seed).dataset  # typed as intake types it
    t1 = time.perf_counter()
    phase("features")
    feature_set = build_features(dataset, check=False)
    t2 = time.perf_counter()
    labels = dataset.labels
    phase("fit")
    scorer = FraudScorer(ModelSettings()).fit(feature_set, labels)
    t3 = time.perf_counter()
    phase("score all")
    leads = score(feature_set, scorer)
    t4 = time.perf_counter()
    phase("score top 100")
    top = score(feature_set, scorer, top=100)
    t5 = time.perf_counter()
    phase("one settlement")
    single = one_settlement(dataset)
    score(build_features(single, check=False), scorer)
    t6 = time.perf_counter()
    runs = 5
    for _ in range(runs):
        score(build_features(single, check=False), scorer)
    t7 = time.perf_counter()

    settlements = len(dataset.settlements)
    subjects = {lv.value: len(f) for lv, f in feature_set.frames.items()}
    print(f"world: {args.persons:,} persons, {settlements:,} settlements, "
          f"{len(dataset.fee_details):,} fee lines, {len(labels) if labels is not None else 0:,} "
          f"labels; subjects {subjects}")  # fmt: skip
    print(f"generate: {t1 - t0:.0f} s; features: {t2 - t1:.0f} s (other stages)")
    report = scorer.report()
    supervised = int((report["method"] == "supervised").sum())
    print(f"fit: {t3 - t2:.1f} s for {len(report)} pattern/level models "
          f"({supervised} supervised, {len(report) - supervised} cold start)")  # fmt: skip
    print(f"score all: {t4 - t3:.1f} s for {len(leads):,} leads = {len(leads) / (t4 - t3):,.0f} "
          f"leads/s, {settlements / (t4 - t3):,.0f} settlements/s")  # fmt: skip
    print(f"score --top 100: {t5 - t4:.1f} s for {len(top):,} leads")
    print(f"one settlement (features + score): {(t7 - t6) / runs * 1000:.0f} ms "
          f"(first call {(t6 - t5) * 1000:.0f} ms)")  # fmt: skip
    print(f"peak memory: {peak_gb():.2f} GB")


if __name__ == "__main__":
    main()
