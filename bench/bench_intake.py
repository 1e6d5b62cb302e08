"""Intake throughput: ``read_dataset`` against a bare ``pyarrow.parquet.read_table`` +
``to_pandas`` of the same files.

    .venv/bin/python -m bench.bench_intake                      # 1M settlements, 10M fee lines
    .venv/bin/python -m bench.bench_intake --settlements 100000  # a quick run
    .venv/bin/python -m bench.bench_intake --synthetic 20000     # a settlements.synthetic world
    .venv/bin/python -m bench.bench_intake --settlements 100000 --csv  # the same as CSV

The dataset is built once under ``fundguard-data/bench/`` and reused: by default with
vectorised numpy (10 fee lines per settlement as the target asks; valid rows, 0.2 % of fee
lines broken on purpose so quarantine is exercised), or with the synthetic world generator
(about 8 settlements and 4 fee lines per person a year).
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from settlements.config import IntakeSettings
from settlements.intake import TableReconciliation, read_dataset
from settlements.readers import read_raw_dataset
from settlements.schema import CHARGE_ITEM_TYPES

LINES_PER_SETTLEMENT = 10
PERSONS_PER_SETTLEMENT = 0.2
INSTITUTIONS = 500
BROKEN_SHARE = 0.002


def _codes(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)).astype(object)


def _certnos(rng: np.random.Generator, births: np.ndarray) -> np.ndarray:
    """Valid resident ID numbers (region 110105, the birth date, a serial, the check digit)."""
    n = len(births)
    digits = np.empty((n, 17), dtype=np.int64)
    digits[:, :6] = [1, 1, 0, 1, 0, 5]
    ymd = pd.DatetimeIndex(births).strftime("%Y%m%d").to_numpy().astype("U8")
    digits[:, 6:14] = np.frombuffer(ymd.tobytes(), dtype=np.uint32).reshape(n, 8) - ord("0")
    digits[:, 14:17] = rng.integers(0, 10, size=(n, 3))
    check = (1 - 2 * (digits * (2 ** np.arange(16, -1, -1) % 11)).sum(axis=1)) % 11
    letters = np.where(check == 10, "X", check.astype(str))
    text = np.full(n, "", dtype="U17")
    for i in range(17):
        text = np.char.add(text, digits[:, i].astype("U1"))
    return np.char.add(text, letters).astype(object)


def build(directory: Path, settlements: int, seed: int = 7) -> None:
    """Write persons, institutions, settlements and fee_details Parquet files."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    n_persons = max(1, int(settlements * PERSONS_PER_SETTLEMENT))

    births = np.datetime64("1940-01-01") + rng.integers(0, 60 * 365, n_persons).astype(
        "timedelta64[D]"
    )
    persons = pa.table(
        {
            "psn_no": _codes("P", n_persons, 9),
            "gend": rng.choice(["1", "2"], n_persons).astype(object),
            "brdy": pa.array(births, pa.date32()),
            "insutype": rng.choice(["310", "390"], n_persons).astype(object),
            "insuplc_admdvs": np.full(n_persons, "110105", dtype=object),
            "certno": _certnos(rng, births),
        }
    )
    pq.write_table(persons, directory / "persons.parquet")

    institutions = pa.table(
        {
            "fixmedins_code": _codes("H", INSTITUTIONS, 11),
            "fixmedins_name": _codes("医院", INSTITUTIONS, 4),
            "fixmedins_type": rng.choice(["1", "2"], INSTITUTIONS).astype(object),
            "admdvs": np.full(INSTITUTIONS, "110105", dtype=object),
        }
    )
    pq.write_table(institutions, directory / "institutions.parquet")

    n = settlements
    inpatient = rng.random(n) < 0.15
    begin = np.datetime64("2024-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    stay = np.where(inpatient, rng.integers(1, 15, n), 1).astype("timedelta64[D]")
    end = begin + stay - np.timedelta64(1, "D")
    setl_ids = _codes("S", n, 10)
    visit_ids = _codes("V", n, 10)
    pric = np.round(rng.lognormal(3, 1, n * LINES_PER_SETTLEMENT), 2)
    cnt = rng.integers(1, 10, n * LINES_PER_SETTLEMENT).astype(float)
    total = np.round(cnt * pric, 2)
    medfee = total.reshape(n, LINES_PER_SETTLEMENT).sum(axis=1).round(2)
    fund = np.round(medfee * 0.7, 2)
    settlement_table = pa.table(
        {
            "setl_id": setl_ids,
            "mdtrt_id": visit_ids,
            "psn_no": _codes("P", n_persons, 9)[rng.integers(0, n_persons, n)],
            "fixmedins_code": _codes("H", INSTITUTIONS, 11)[rng.integers(0, INSTITUTIONS, n)],
            "med_type": np.where(inpatient, "21", rng.choice(["11", "13", "14", "41"], n)).astype(
                object
            ),
            "begndate": pa.array(begin, pa.date32()),
            "enddate": pa.array(end, pa.date32()),
            "setl_time": pa.array(
                end.astype("datetime64[s]") + rng.integers(28_800, 64_800, n), pa.timestamp("us")
            ),
            "medfee_sumamt": medfee,
            "hifp_pay": fund,
            "fund_pay_sumamt": fund,
            "acct_pay": np.zeros(n),
            "psn_cash_pay": np.round(medfee - fund, 2),
            "dise_codg": rng.choice(["I10", "E11.9", "J18.9", "K29.7"], n).astype(object),
            "refd_setl_flag": np.full(n, "0", dtype=object),
        }
    )
    pq.write_table(settlement_table, directory / "settlements.parquet")
    del settlement_table

    lines = n * LINES_PER_SETTLEMENT
    owner = np.repeat(np.arange(n), LINES_PER_SETTLEMENT)
    day = rng.integers(0, stay.astype(int).repeat(LINES_PER_SETTLEMENT))
    when = (begin[owner] + day.astype("timedelta64[D]")).astype("datetime64[s]") + rng.integers(
        28_800, 64_800, lines
    )
    broken = rng.random(lines) < BROKEN_SHARE
    total = np.where(broken, total + 10.0, total)  # line_total_mismatch, on purpose
    fees = pa.table(
        {
            "feedetl_sn": np.tile(_codes("", LINES_PER_SETTLEMENT, 3), n),
            "setl_id": setl_ids[owner],
            "mdtrt_id": visit_ids[owner],
            "fee_ocur_time": pa.array(when, pa.timestamp("us")),
            "hilist_code": _codes("", 5000, 6)[rng.integers(0, 5000, lines)],
            "list_type": rng.choice(["101", "201", "301"], lines).astype(object),
            "med_chrgitm_type": rng.choice(sorted(CHARGE_ITEM_TYPES), lines).astype(object),
            "cnt": cnt,
            "pric": pric,
            "det_item_fee_sumamt": total,
            "bilg_dr_codg": _codes("D", 3000, 5)[rng.integers(0, 3000, lines)],
        }
    )
    pq.write_table(fees, directory / "fee_details.parquet")


def _bare_parquet(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def _bare_csv(path: Path) -> pd.DataFrame:
    return pacsv.read_csv(path).to_pandas()


def _as_csv(
    files: list[Path], directory: Path
) -> tuple[list[Path], Path, Callable[[Path], pd.DataFrame]]:
    """CSV copies of the Parquet tables (written once), and the bare CSV reader."""
    directory.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in files:
        copy = directory / f"{path.stem}.csv"
        if not copy.is_file():
            pacsv.write_csv(pq.read_table(path), copy)
        copies.append(copy)
    return copies, directory, _bare_csv


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settlements", type=int, default=1_000_000)
    parser.add_argument(
        "--synthetic",
        type=int,
        default=None,
        metavar="PERSONS",
        help="bench on a settlements.synthetic world of PERSONS persons instead",
    )
    parser.add_argument(
        "--csv", action="store_true", help="bench the same tables written as CSV instead"
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of each, best kept")
    parser.add_argument("--dir", type=Path, default=None, help="dataset directory to (re)use")
    args = parser.parse_args()
    name = f"synthetic-{args.synthetic}" if args.synthetic else f"intake-{args.settlements}"
    directory = args.dir or Path("fundguard-data/bench") / name
    if not (directory / "fee_details.parquet").is_file():
        started = time.perf_counter()
        if args.synthetic:
            from settlements.synthetic import generate_world, write_world

            write_world(generate_world(args.synthetic, seed=1), directory)
        else:
            build(directory, args.settlements)
        print(f"built {directory} in {time.perf_counter() - started:.1f} s")
    files = [p for p in sorted(directory.glob("*.parquet")) if p.stem != "truth"]
    bare_read: Callable[[Path], pd.DataFrame] = _bare_parquet
    if args.csv:
        files, directory, bare_read = _as_csv(files, directory.with_name(directory.name + "-csv"))

    best: dict[str, tuple[float, float]] = {}

    def timed(name: str, started: tuple[float, float]) -> None:
        wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
        previous = best.get(name, (float("inf"), float("inf")))
        best[name] = (min(previous[0], wall), min(previous[1], cpu))

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    reconciliation: dict[str, TableReconciliation] = {}
    rows: dict[str, int] = {}
    for _ in range(args.repeat):  # alternate and keep the best: the machine is shared
        clock = now()
        frames = [bare_read(path) for path in files]
        timed("bare", clock)
        rows = {path.stem: len(frame) for path, frame in zip(files, frames, strict=True)}
        del frames
        gc.collect()

        clock = now()
        raw = read_raw_dataset(directory)
        timed("read", clock)
        del raw
        gc.collect()

        clock = now()
        result = read_dataset(directory, IntakeSettings(), b"bench-key-0123456789abcdef0123456")
        timed("intake", clock)
        reconciliation = result.reconciliation
        del result
        gc.collect()

    print("rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))
    for name, r in reconciliation.items():
        print(
            f"  {name}: read {r.read:,} = accepted {r.accepted:,} + quarantined {r.quarantined:,}"
        )
    print(f"best of {args.repeat}, alternating          wall      CPU (user+sys)")
    for name, label in (
        (
            "bare",
            "bare pyarrow read_csv + to_pandas"
            if args.csv
            else "bare pyarrow read_table + to_pandas",
        ),
        ("read", "intake reading only"),
        ("intake", "read_dataset (read + validate)"),
    ):
        print(f"{label:36s} {best[name][0]:6.1f} s  {best[name][1]:6.1f} s")
    wall_ratio = best["intake"][0] / best["bare"][0]
    cpu_ratio = best["intake"][1] / best["bare"][1]
    print(f"ratio read_dataset / bare read:      {wall_ratio:6.2f}x  {cpu_ratio:6.2f}x")
    print(f"peak RSS {_peak_gb():.1f} GB")


if __name__ == "__main__":
    main()
