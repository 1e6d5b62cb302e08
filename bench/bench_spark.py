"""Local pandas against Spark local mode: the same leads from the 1M-settlement world.

    .venv/bin/python -m bench.bench_spark                         # fundguard-data/bench/world
    .venv/bin/python -m bench.bench_spark --persons 20000         # a smaller generated world
    .venv/bin/python -m bench.bench_spark --master local[2] --driver-memory 4g --buckets 64

Steps, each in its own process so that its peak memory is its own:

1. train: a scorer fitted on a small world of the same generator (training stays on one
   machine, on a sample), pickled;
2. local: read the Parquet tables, ``build_features``, ``score``, write the leads;
3. spark: ``models.spark.score_dataset_spark`` in local mode, write the leads.

It prints wall time, CPU, peak memory of each (the Spark figure sums the driver, its JVM
and the Python workers, sampled every 0.2 s) and checks that both wrote the same leads.
Run it rarely: the 1M world takes minutes and several GB.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import pickle
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

WORLD = Path("fundguard-data/bench/world")
KEY = ["subject_type", "subject_id", "pattern"]


class PeakMemory:
    """Peak resident memory of this process and all its descendants, sampled."""

    def __init__(self, every: float = 0.2) -> None:
        import psutil

        self._me = psutil.Process()
        self._every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except Exception:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _in_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def train(scorer_path: str, persons: int) -> dict[str, Any]:
    """Fit a scorer on a small world (the single-machine training step) and pickle it."""
    from features.build import build_features
    from models.scorer import FraudScorer
    from settlements.synthetic import generate_world

    started = time.perf_counter()
    world = generate_world(persons, seed=4)
    dataset = world.dataset
    persons_frame = dataset.persons.drop(columns=["certno", "psn_name"], errors="ignore")
    dataset = dataset.with_tables(persons=persons_frame)
    feature_set = build_features(dataset, check=False)
    scorer = FraudScorer().fit(feature_set, dataset.labels).with_version("bench/1")
    Path(scorer_path).write_bytes(pickle.dumps(scorer))
    return {"seconds": time.perf_counter() - started}


def local(location: str, scorer_path: str, out: str) -> dict[str, Any]:
    """The local path: typed tables, every signal, leads."""
    import resource

    from features.build import build_features
    from models.scoring import score
    from settlements.dataset import Dataset
    from settlements.frames import coerce_table
    from settlements.readers import read_raw_dataset
    from settlements.schema import TABLES

    warnings.filterwarnings("ignore")
    scorer = pickle.loads(Path(scorer_path).read_bytes())
    started = time.perf_counter()
    cpu = time.process_time()
    raw = read_raw_dataset(Path(location))
    typed = {}
    for name, frame in raw.tables():
        table = TABLES[name]
        identifiers = [c.name for c in table.columns if c.identifier]
        typed[name] = coerce_table(table, frame.drop(columns=identifiers, errors="ignore")).frame
    dataset = Dataset(**typed)
    read_s = time.perf_counter() - started
    feature_set = build_features(dataset, scorer.feature_settings, check=False)
    features_s = time.perf_counter() - started - read_s
    leads = score(feature_set, scorer)
    leads.to_parquet(out, index=False)
    return {
        "seconds": time.perf_counter() - started,
        "read": read_s,
        "features": features_s,
        "cpu": time.process_time() - cpu,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "leads": len(leads),
    }


def spark(location: str, scorer_path: str, out: str, options: dict[str, Any]) -> dict[str, Any]:
    """The Spark path in local mode."""
    from features.spark import SparkSettings, build_features_spark, read_spark_tables, spark_session
    from models.spark import score_spark, write_leads

    warnings.filterwarnings("ignore")
    scorer = pickle.loads(Path(scorer_path).read_bytes())
    settings = SparkSettings(
        master=options["master"],
        driver_memory=options["driver_memory"],
        shuffle_partitions=options["partitions"],
        person_buckets=options["buckets"],
    )
    with PeakMemory() as memory:
        started = time.perf_counter()
        session = spark_session(settings)
        session_s = time.perf_counter() - started
        tables = read_spark_tables(session, location)
        features = build_features_spark(tables, scorer.feature_settings, settings)
        for frame in features.frames.values():
            frame.count()  # the population stage's outputs are persisted: built once
        features_s = time.perf_counter() - started - session_s
        leads = score_spark(features, scorer, buckets=settings.shuffle_partitions)
        write_leads(leads, out)
        seconds = time.perf_counter() - started
        session.stop()
    return {
        "seconds": seconds,
        "session": session_s,
        "features": features_s,
        "peak_gb": memory.peak / 2**30,
    }


def compare(local_out: str, spark_out: str) -> dict[str, Any]:
    a = pd.read_parquet(local_out).astype({c: "str" for c in KEY}).sort_values(KEY)
    b = pd.read_parquet(spark_out).astype({c: "str" for c in KEY}).sort_values(KEY)
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    same = len(a) == len(b) and a[KEY].equals(b[KEY])
    return {
        "same_subjects": same,
        "max_score_diff": float(np.abs(a["score"] - b["score"]).max()) if same else float("nan"),
        "same_ranks": bool(same and (a["rank"] == b["rank"]).all()),
        "same_reasons": float((a["reasons"] == b["reasons"]).mean()) if same else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=0, help="Generate a world this big.")
    parser.add_argument("--train-persons", type=int, default=10_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--buckets", type=int, default=64)
    parser.add_argument(
        "--work", default="", help="Keep the scorer and both leads here (default: a temp dir)."
    )
    parser.add_argument(
        "--steps", default="train,local,spark", help="Which steps to run (e.g. spark to rerun it)."
    )
    args = parser.parse_args()

    location = WORLD
    if args.persons:
        location = Path(f"fundguard-data/bench/spark-world-{args.persons}")
        if not (location / "settlements.parquet").is_file():
            from settlements.synthetic import generate_world

            generate_world(args.persons, seed=3).dataset.write(location)
    if not (location / "settlements.parquet").is_file():
        raise SystemExit(f"{location} has no world: run `python -m bench.bench_generate` first")
    import pyarrow.parquet as pq

    rows = {
        t: pq.ParquetFile(location / f"{t}.parquet").metadata.num_rows
        for t in ("settlements", "fee_details", "persons")
    }
    print(
        f"world {location}: {rows['settlements']:,} settlements, "
        f"{rows['fee_details']:,} fee lines, {rows['persons']:,} persons"
    )
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.work or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        steps = set(args.steps.split(","))
        scorer_path = f"{tmp}/scorer.pkl"
        local_out, spark_out = f"{tmp}/local.parquet", f"{tmp}/spark-leads"
        if "train" in steps:
            trained = _in_process(train, scorer_path, args.train_persons)
            seconds = trained["seconds"]
            print(f"train on {args.train_persons:,} persons  {seconds:8.1f} s", flush=True)
        if "local" in steps:
            lo = _in_process(local, str(location), scorer_path, local_out)
            print(
                f"local pandas     {lo['seconds']:8.1f} s  (read {lo['read']:.1f}, "
                f"features {lo['features']:.1f}, cpu {lo['cpu']:.1f})  "
                f"peak {lo['peak_gb']:.2f} GB  {lo['leads']:,} leads",
                flush=True,
            )
        if "spark" in steps:
            options = {
                "master": args.master,
                "driver_memory": args.driver_memory,
                "partitions": args.partitions,
                "buckets": args.buckets,
            }
            sp = _in_process(spark, str(location), scorer_path, spark_out, options)
            print(
                f"spark {args.master:9s}  {sp['seconds']:8.1f} s  (session {sp['session']:.1f}, "
                f"features {sp['features']:.1f})  peak {sp['peak_gb']:.2f} GB "
                "(driver + JVM + workers)",
                flush=True,
            )
            if "local" in steps:
                print(f"ratio spark / local   {sp['seconds'] / lo['seconds']:.2f}x")
        if Path(local_out).exists() and Path(spark_out).exists():
            print("agreement", compare(local_out, spark_out))


if __name__ == "__main__":
    main()
