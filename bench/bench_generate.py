"""Synthetic world generation: settlements/s, fee lines/s, peak memory, write time.

    .venv/bin/python -m bench.bench_generate                    # the demo world (4,000 persons)
    .venv/bin/python -m bench.bench_generate --persons 25000    # one chunk
    .venv/bin/python -m bench.bench_generate --settlements 1000000   # ~1M settlements

``--settlements`` sizes the world from the settlements per person measured on a small
world first. Peak memory is the process's maximum resident set size (``ru_maxrss``),
so run one size per process. The world is written as Parquet under
``fundguard-data/bench/world`` (replaced each run) to time ``write_world`` too.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from settlements.synthetic import WorldConfig, generate_world, write_world


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=4_000)
    parser.add_argument("--settlements", type=int, default=0, help="target settlements")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=WorldConfig().chunk_persons)
    parser.add_argument("--out", type=Path, default=Path("fundguard-data/bench/world"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    persons = args.persons
    if args.settlements:
        probe = generate_world(2_000, args.seed)
        per_person = len(probe.dataset.settlements) / 2_000
        persons = int(args.settlements / per_person)
        del probe
    config = WorldConfig(chunk_persons=args.chunk)
    base = _rss_mb()
    started = time.perf_counter()
    world = generate_world(persons, args.seed, config)
    took = time.perf_counter() - started
    settlements = len(world.dataset.settlements)
    lines = len(world.dataset.fee_details)
    print(f"persons            {persons:>12,}   (chunks of {args.chunk:,})")
    print(f"settlements        {settlements:>12,}")
    print(f"fee lines          {lines:>12,}   ({lines / settlements:.1f} per settlement)")
    labels = world.dataset.labels
    print(f"labels             {0 if labels is None else len(labels):>12,}")
    print(f"truth rows         {len(world.truth):>12,}")
    print(f"generate           {took:>12.1f} s")
    print(f"settlements/s      {settlements / took:>12,.0f}")
    print(f"fee lines/s        {lines / took:>12,.0f}")
    print(f"peak RSS           {_rss_mb():>12,.0f} MB   (before generating: {base:,.0f} MB)")
    if not args.no_write:
        shutil.rmtree(args.out, ignore_errors=True)
        started = time.perf_counter()
        write_world(world, args.out, "parquet")
        wrote = time.perf_counter() - started
        size = sum(p.stat().st_size for p in args.out.iterdir()) / 2**20
        print(f"write parquet      {wrote:>12.1f} s   ({size:,.0f} MB on disk)")
        print(f"peak RSS (+write)  {_rss_mb():>12,.0f} MB")


if __name__ == "__main__":
    main()
