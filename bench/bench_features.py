"""Feature throughput: ``build_features`` on a big dataset against a floor.

    .venv/bin/python -m bench.bench_features                       # 1M settlements, 10M lines
    .venv/bin/python -m bench.bench_features --settlements 100000  # a quick run
    .venv/bin/python -m bench.bench_features --synthetic 20000     # a settlements.synthetic world

The floor is reading the same Parquet files plus one group-by of all fee lines by visit;
the measured run is reading them plus building every signal (``check=False``: the intake
boundary check is timed separately by ``bench.bench_intake``). Each runs in its own
process so that its figures are its own, and twice: once for the time, once for the
memory. The timed run gives wall-clock and CPU seconds of the process and of the worker
processes it forked (``FeatureSettings.workers``; reaped before the figures are read);
the build is repeated (``--repeat``, default 3) and the floor once more, interleaved, and
the fastest of each counts, as ``timeit`` does, since a shared machine only ever slows a
run down.
The memory run samples, every 250 ms, the sum of proportional set sizes (PSS: a page
shared by several processes counts once in all) over the process and its children, plus
the workers' result files in ``/dev/shm`` (``features.parallel``), and keeps the largest
beside the max RSS of the process itself and of its largest child.
Sampling PSS walks the page tables of the processes, which holds up their allocations:
at 300,000 settlements it slowed the build by a fifth, so no time is read off that run.
The default dataset is intake's bench world (``bench.bench_intake.build``:
10 fee lines per settlement) enriched with what the optional signals need (days supplied
on drug lines, a catalogue with limits, institution levels, locations and beds, some
death dates), built once under ``fundguard-data/bench/``.
Targets: all signals in under 5x the floor and under 8 GB peak.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import multiprocessing as mp
import os
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from settlements.dataset import Dataset

T = TypeVar("T")
TABLES = ("settlements", "fee_details", "persons", "institutions", "catalog")


def enrich(directory: Path, seed: int = 11) -> None:
    """Add the optional columns and the catalogue that intake's bench world lacks."""
    rng = np.random.default_rng(seed)
    setl = pq.read_table(directory / "settlements.parquet")
    inst_of = setl["fixmedins_code"].to_numpy(zero_copy_only=False).astype(str)
    # doctors work at one institution (intake's world draws them across all institutions)
    attending = np.char.add(
        np.char.add("D", inst_of), rng.integers(0, 20, len(inst_of)).astype(str)
    )
    setl = setl.append_column("atddr_no", pa.array(attending.astype(object)))
    pq.write_table(setl, directory / "settlements.parquet")
    fees = pq.read_table(directory / "fee_details.parquet")
    owner = np.repeat(np.arange(len(inst_of)), len(fees) // len(inst_of))
    ordering = np.char.add(
        np.char.add("D", inst_of[owner]), rng.integers(0, 20, len(owner)).astype(str)
    )
    fees = fees.set_column(
        fees.schema.get_field_index("bilg_dr_codg"),
        "bilg_dr_codg",
        pa.array(ordering.astype(object)),
    )
    del ordering, owner
    drug = pa.compute.equal(fees["list_type"], "101").to_numpy(zero_copy_only=False)
    days = rng.choice([3.0, 5.0, 7.0, 7.0, 14.0, 28.0, 30.0], len(drug))
    fees = fees.append_column("prd_days", pa.array(np.where(drug, days, np.nan)))
    pq.write_table(fees, directory / "fee_details.parquet")
    del fees
    codes = np.char.zfill(np.arange(5000).astype(str), 6).astype(object)
    n = len(codes)
    catalog = pd.DataFrame(
        {
            "hilist_code": codes,
            "hilist_name": codes,
            "list_type": rng.choice(["101", "201", "301"], n).astype(object),
            "lmt_gend": pd.Series(rng.choice(["1", "2"], n)).where(rng.random(n) < 0.02),
            "lmt_age_min": np.where(rng.random(n) < 0.02, 18.0, np.nan),
            "lmt_age_max": np.where(rng.random(n) < 0.02, 60.0, np.nan),
            "max_prd_days": np.where(rng.random(n) < 0.05, 7.0, np.nan),
            "max_daily_cnt": np.where(rng.random(n) < 0.2, 8.0, np.nan),
            "bundle_code": pd.Series(codes[rng.integers(0, n, n)]).where(rng.random(n) < 0.02),
        }
    )
    catalog.to_parquet(directory / "catalog.parquet", index=False)
    inst = pd.read_parquet(directory / "institutions.parquet")
    k = len(inst)
    inst["hosp_lv"] = rng.choice(["1", "2", "3"], k)
    inst["lat"] = 39.9 + rng.normal(0, 0.5, k)
    inst["lon"] = 116.4 + rng.normal(0, 0.5, k)
    inst["aprv_bed_cnt"] = rng.integers(20, 800, k).astype(float)
    inst.to_parquet(directory / "institutions.parquet", index=False)
    persons = pd.read_parquet(directory / "persons.parquet")
    dead = rng.random(len(persons)) < 0.01
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, len(persons)), "D")
    persons["dead_date"] = pd.Series(day).where(dead).to_numpy()
    persons.to_parquet(directory / "persons.parquet", index=False)


def prepare_dataset(args: argparse.Namespace) -> Path:
    root = Path("fundguard-data/bench")
    if args.synthetic:
        directory = root / f"features-synthetic-{args.synthetic}"
        if not (directory / "settlements.parquet").is_file():
            from settlements.synthetic.generate import generate_world

            print(f"generating a synthetic world of {args.synthetic:,} persons in {directory}")
            world = generate_world(args.synthetic, seed=3)
            world.dataset.write(directory)
        return directory
    directory = root / f"features-{args.settlements}"
    if not (directory / "catalog.parquet").is_file():
        from bench.bench_intake import build

        print(f"building {args.settlements:,} settlements in {directory}")
        build(directory, args.settlements)
        enrich(directory)
    return directory


def _read(directory: Path) -> dict[str, pd.DataFrame]:
    return {
        t: pd.read_parquet(directory / f"{t}.parquet")
        for t in TABLES
        if (directory / f"{t}.parquet").is_file()
    }


def read_dataset(directory: Path) -> Dataset:
    """The bench dataset as intake hands it over (typed dates and times)."""
    from settlements.dataset import Dataset

    frames = _typed(_read(directory))
    return Dataset(
        settlements=frames["settlements"],
        fee_details=frames["fee_details"],
        persons=frames["persons"],
        institutions=frames["institutions"],
        catalog=frames.get("catalog"),
    )


def _typed(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Dates and times as datetime64[ns], as intake hands them over."""
    out = {}
    for name, frame in frames.items():
        dates = {
            c: pd.to_datetime(frame[c]).astype("datetime64[ns]")
            for c in ("begndate", "enddate", "setl_time", "fee_ocur_time", "brdy", "dead_date")
            if c in frame
        }
        out[name] = frame.assign(**dates) if dates else frame
    return out


def _floor(directory: Path, sample: bool = False) -> tuple[float, Memory, int, int, float]:
    with MemorySampler(sample) as memory:
        start = time.perf_counter()
        frames = _read(directory)
        fees = frames["fee_details"]
        fees.groupby("mdtrt_id", sort=False)["det_item_fee_sumamt"].sum()
        elapsed = time.perf_counter() - start
    return (
        elapsed,
        memory.peak(),
        len(frames["settlements"]),
        len(fees),
        _cpu_s() - memory.cpu_s,
    )


def _features(
    directory: Path, workers: int | None = None, sample: bool = False
) -> tuple[float, Memory, float, dict[str, int], int, int, int, float]:
    from features.build import build_features
    from features.config import FeatureSettings

    with MemorySampler(sample) as memory:
        start = time.perf_counter()
        dataset = read_dataset(directory)
        read = time.perf_counter() - start
        settings = FeatureSettings() if workers is None else FeatureSettings(workers=workers)
        fs = build_features(dataset, settings, check=False)
        elapsed = time.perf_counter() - start
    rows = {lv.value: len(f) for lv, f in fs.frames.items()}
    return (
        elapsed,
        memory.peak(),
        read,
        rows,
        len(fs.specs),
        len(fs.skipped),
        len(fs.evidence),
        _cpu_s() - memory.cpu_s,
    )


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and of its reaped children: the fair
    figure on a shared machine, whatever the number of workers."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass(frozen=True)
class Memory:
    """Peak memory in GB: of the process tree (PSS sum), and max RSS of the process itself
    and of its largest child."""

    tree: float
    own_rss: float
    child_rss: float

    def __str__(self) -> str:
        children = f", largest child {self.child_rss:.2f}" if self.child_rss else ""
        return f"{self.tree:5.2f} GB  (max RSS {self.own_rss:.2f}{children})"


class MemorySampler:
    """Samples the summed PSS of this process and its descendants in a thread (when
    ``sample``; otherwise only the max RSS figures are read, at the end)."""

    def __init__(self, sample: bool = True, every_s: float = 0.25) -> None:
        self._sample_pss = sample
        self._every = every_s
        self._stop = threading.Event()
        self._peak = 0
        self.cpu_s = 0.0
        """CPU seconds the sampling took (reading PSS walks the page tables)."""
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> MemorySampler:
        if self._sample_pss:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sample_pss:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, _tree_pss())

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._peak = max(self._peak, _tree_pss() + _spooled())
            self.cpu_s = time.thread_time()
            self._stop.wait(self._every)

    def peak(self) -> Memory:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        tree = self._peak / 1024**3 if self._peak else own  # no /proc: max RSS
        return Memory(tree=max(tree, 0.0), own_rss=own, child_rss=child)


def _spooled() -> int:
    """Bytes of the files that forked workers leave their results in (``/dev/shm`` is
    memory, but no process's PSS)."""
    total = 0
    for folder in glob.glob("/dev/shm/fundguard-*"):
        for name in os.listdir(folder) if os.path.isdir(folder) else ():
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(folder, name))
    return total


def _tree_pss(pid: int | None = None) -> int:
    """Bytes of PSS of a process (default this one) and of its descendants (0 without
    /proc; processes that end meanwhile count 0)."""
    pid = pid or os.getpid()
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            own = next((int(ln.split()[1]) * 1024 for ln in fh if ln.startswith("Pss:")), 0)
        children: list[int] = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                children += [int(c) for c in fh.read().split()]
    except (OSError, ValueError):
        return 0
    return own + sum(_tree_pss(child) for child in children)


def _run(target: Callable[[Path], T], directory: Path) -> T:
    """``target(directory)`` in a fresh process (its own peak memory); errors propagate."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(target, directory).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settlements", type=int, default=1_000_000)
    parser.add_argument("--synthetic", type=int, default=0, help="persons of a synthetic world")
    parser.add_argument(
        "--workers", type=int, default=None, help="FeatureSettings.workers (default: its own)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the best counts")
    args = parser.parse_args()
    directory = prepare_dataset(args)

    # interleaved, so that both see the same spells of a slow machine; the floor (short,
    # and the noisier: 0.4-1.9 s at 300k on this machine) once more than the build
    floors = [_run(_floor, directory)]
    builds = []
    for _ in range(args.repeat):
        builds.append(_run(functools.partial(_features, workers=args.workers), directory))
        floors.append(_run(_floor, directory))
    floor_s, _, n_setl, n_lines, floor_cpu = min(floors, key=lambda run: run[0])
    floor_gb = _run(functools.partial(_floor, sample=True), directory)[1]
    feat_s, _, read_s, rows, built, skipped, evidence, feat_cpu = min(builds, key=lambda r: r[0])
    feat_gb = _run(functools.partial(_features, workers=args.workers, sample=True), directory)[1]
    spread = (
        f"  (best of {len(floors)} floors, up to {max(r[0] for r in floors):.2f} s; of "
        f"{len(builds)} builds, "
        f"up to {max(r[0] for r in builds):.2f} s)"
        if args.repeat > 1
        else ""
    )
    print(f"dataset            {directory} ({n_setl:,} settlements, {n_lines:,} fee lines)")
    print(f"floor              {floor_s:8.2f} s   peak {floor_gb}  (read + group-by)")
    print(f"all signals        {feat_s:8.2f} s   peak {feat_gb}  (read {read_s:.1f} s)")
    print(f"settlements/s      {n_setl / feat_s:10,.0f}")
    print(f"ratio to floor     {feat_s / floor_s:8.2f}x  (target < 5x; wall clock){spread}")
    print(f"CPU seconds        floor {floor_cpu:.1f}, all signals {feat_cpu:.1f}: "
          f"{feat_cpu / floor_cpu:.2f}x")  # fmt: skip
    workers = "the default" if args.workers is None else args.workers
    print(f"workers            {workers} (FeatureSettings.workers; 0: one per core)")
    print(f"signals            {built} built, {skipped} skipped, {evidence:,} evidence lines")
    print("rows               " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))


if __name__ == "__main__":
    main()
