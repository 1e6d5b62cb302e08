"""The /check feature fast path in process: ``CheckSignals.build`` against ``build_features``
on lone settlements of a synthetic world, with and without a 5,000-item catalogue.

It generates a synthetic world, reads it through intake, and takes ``--settlements``
settlements with 1 to 60 fee lines, each alone with its fee lines, person and institution
(what /check builds). For each catalogue case it times ``CheckSignals.build`` on every one
(after one warm-up call) and ``build_features(..., check=False, levels=(VISIT, PERSON))`` on
the first ``--reference`` of them, checks that both give equal feature sets, and prints the
medians, the 90th percentiles and their ratio. The catalogue cases: none; the world's
catalogue grown to 5,000 items, passed as the service's own frame; and the same catalogue
as an equal copy (what a per-call re-validated catalogue costs: a frame comparison).

    .venv/bin/python -m bench.bench_check_signals
    .venv/bin/python -m bench.bench_check_signals --settlements 500 --reference 50
"""

from __future__ import annotations

import argparse
import functools
import logging
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

KEY = b"bench-pseudonym-key"
T = TypeVar("T")


def grow_catalogue(catalog: pd.DataFrame, items: int, seed: int) -> pd.DataFrame:
    """The catalogue with extra items (random limits and bundles) up to ``items`` rows."""
    rng = np.random.default_rng(seed)
    n = max(items - len(catalog), 0)
    extra = pd.DataFrame(
        {
            "hilist_code": [f"X{i:06d}" for i in range(n)],
            "hilist_name": [f"extra item {i}" for i in range(n)],
            "list_type": rng.choice(["101", "102", "201", "301"], n),
            "lmt_gend": pd.Series(rng.choice(["1", "2"], n)).where(rng.random(n) < 0.05),
            "lmt_age_min": np.where(rng.random(n) < 0.05, 18.0, np.nan),
            "lmt_age_max": np.where(rng.random(n) < 0.05, 14.0, np.nan),
            "max_prd_days": np.where(rng.random(n) < 0.2, rng.integers(3, 30, n), np.nan),
            "max_daily_cnt": np.where(rng.random(n) < 0.3, rng.integers(1, 10, n), np.nan),
            "bundle_code": pd.Series("X000001", index=range(n)).where(rng.random(n) < 0.05),
        }
    )
    for c in ("hilist_code", "hilist_name", "list_type", "lmt_gend", "bundle_code"):
        extra[c] = extra[c].astype(catalog[c].dtype)
    for c in ("lmt_age_min", "lmt_age_max", "max_prd_days", "max_daily_cnt"):
        extra[c] = extra[c].astype("float64")
    return pd.concat([catalog, extra[catalog.columns]], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--settlements", type=int, default=300)
    parser.add_argument("--reference", type=int, default=30)
    parser.add_argument("--catalogue-items", type=int, default=5_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # build_features warns of skipped signals per call

    from features.build import build_features
    from features.check import CHECK_LEVELS, CheckSignals
    from settlements.config import IntakeSettings
    from settlements.dataset import Dataset
    from settlements.intake import validate_dataset
    from settlements.synthetic import generate_world

    world = generate_world(args.persons, args.seed)
    data = validate_dataset(world.dataset, IntakeSettings(), KEY).dataset
    assert data.catalog is not None
    fees = data.fee_details
    per_setl = {k: v for k, v in fees.groupby("setl_id", sort=False)}
    counts = fees["setl_id"].value_counts()
    typical = counts.index[(counts >= 1) & (counts <= 60)]
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(np.asarray(typical, dtype=object), args.settlements, replace=False)
    setl = data.settlements.set_index("setl_id", drop=False)
    persons = data.persons.set_index("psn_no", drop=False)
    inst = data.institutions.set_index("fixmedins_code", drop=False)

    def alone(setl_id: str, catalog: pd.DataFrame | None) -> Dataset:
        row = setl.loc[[setl_id]].reset_index(drop=True)
        return Dataset(
            settlements=row,
            fee_details=per_setl[setl_id],
            persons=persons.loc[[row["psn_no"].iloc[0]]].reset_index(drop=True),
            institutions=inst.loc[[row["fixmedins_code"].iloc[0]]].reset_index(drop=True),
            catalog=catalog,
        )

    big = grow_catalogue(data.catalog, args.catalogue_items, args.seed)
    cases = {
        "no catalogue": (None, None),
        f"{len(big):,}-item catalogue (the service's frame)": (big, big),
        f"{len(big):,}-item catalogue (an equal copy)": (big, "copy"),
    }
    lines = [len(per_setl[s]) for s in chosen]
    print(
        f"world: {args.persons} persons, seed {args.seed}; {len(chosen)} settlements of 1-60 "
        f"fee lines (median {statistics.median(lines):.0f}, max {max(lines)})"
    )
    for label, (service_catalog, given) in cases.items():
        t = time.perf_counter()
        signals = CheckSignals(catalog=service_catalog)
        setup = time.perf_counter() - t
        datasets = [alone(s, big.copy() if isinstance(given, str) else given) for s in chosen]
        signals.build(datasets[0])  # warm-up: the layout of this input shape
        fast = [_timed(functools.partial(signals.build_lone, ds)) for ds in datasets]
        covered = sum(got is not None for _, _, got in fast)
        slow = [
            _timed(functools.partial(build_features, ds, None, check=False, levels=CHECK_LEVELS))
            for ds in datasets[: args.reference]
        ]
        for ds, (_, _, want) in zip(datasets, slow, strict=False):
            got = signals.build(ds)
            for level in CHECK_LEVELS:
                pd.testing.assert_frame_equal(got.frames[level], want.frames[level])
            pd.testing.assert_frame_equal(got.evidence, want.evidence)
        print(f"{label}: set up in {setup * 1e3:.1f} ms, fast path on {covered}/{len(fast)}")
        for name, runs in (("CheckSignals.build", fast), ("build_features", slow)):
            wall = [w for w, _, _ in runs]
            cpu = [c for _, c, _ in runs]
            print(
                f"  {name:<19} median {statistics.median(wall) * 1e3:8.2f} ms wall"
                f" {statistics.median(cpu) * 1e3:8.2f} ms CPU;"
                f" p90 {np.percentile(wall, 90) * 1e3:8.2f} ms wall"
                f" {np.percentile(cpu, 90) * 1e3:8.2f} ms CPU ({len(runs)} calls)"
            )
        walls = [statistics.median(w for w, _, _ in runs) for runs in (slow, fast)]
        cpus = [statistics.median(c for _, c, _ in runs) for runs in (slow, fast)]
        ratios = (walls[0] / walls[1], cpus[0] / cpus[1])
        print(
            f"  ratio of the medians {ratios[0]:.0f}x wall, {ratios[1]:.0f}x CPU;"
            f" equal results on {len(slow)} settlements"
        )


def _timed(call: Callable[[], T]) -> tuple[float, float, T]:
    """Wall and CPU seconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = call()
    return time.perf_counter() - wall, time.process_time() - cpu, out


if __name__ == "__main__":
    main()
