"""Supervision store throughput: opening cases from leads, deciding cases, grading, drawing a plan,
verifying the audit chain — on SQLite (default) or the URL given.

    .venv/bin/python -m bench.bench_supervision                    # 5,000 leads, SQLite
    .venv/bin/python -m bench.bench_supervision --leads 20000
    .venv/bin/python -m bench.bench_supervision --url postgresql+psycopg://postgres@127.0.0.1:5432/test

With a PostgreSQL URL the bench works in a fresh schema that it drops at the end.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

from supervision import cases, ledger, planner, registry
from supervision.config import SupervisionSettings
from supervision.store import open_store, verify_audit


def _leads(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_type": "person",
            "subject_id": [f"P{i:07d}" for i in range(n)],
            "pattern": rng.choice(["bed_hanging", "card_lending", "over_prescription"], n),
            "score": rng.random(n),
            "rank": np.arange(1, n + 1),
            "amount_at_risk": rng.gamma(2.0, 800.0, n).round(2),
            "reasons": "signal a (+0.3); signal b (+0.1)",
            "evidence": "setl S1, S2",
            "model_version": "fraud-person:1",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--decide", type=int, default=300)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    settings = SupervisionSettings()
    rng = np.random.default_rng(0)
    schema = None
    if args.url:
        schema = f"fg_bench_{uuid.uuid4().hex[:8]}"
        with create_engine(args.url).begin() as conn:
            conn.execute(text(f"create schema {schema}"))
        url = f"{args.url}{'&' if '?' in args.url else '?'}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    try:
        store = open_store(url)
        print(f"store: {store.engine.dialect.name}")
        frame = _leads(args.leads, rng)
        t = time.perf_counter()
        result = cases.open_cases(store, frame, actor="bench")
        took = time.perf_counter() - t
        print(
            f"open_cases: {result.opened} cases in {took:.2f}s "
            f"({result.opened / took:,.0f} cases/s, one transaction)"
        )
        t = time.perf_counter()
        again = cases.open_cases(store, frame, actor="bench")
        print(f"re-open (all existing): {again.existing} in {time.perf_counter() - t:.2f}s")
        t = time.perf_counter()
        for case_id in range(1, args.decide + 1):
            cases.assign(store, case_id, "INS", actor="chief")
            cases.start_investigation(store, case_id, actor="INS")
            cases.decide_case(
                store,
                case_id,
                "confirmed" if case_id % 3 else "rejected",
                actor="INS",
                reason="bench",
                settings=settings,
                pattern="bed_hanging",
                confirmed_amount="100",
            )
        took = time.perf_counter() - t
        print(
            f"assign+investigate+decide: {args.decide} cases in {took:.2f}s "
            f"({3 * args.decide / took:,.0f} transactions/s)"
        )
        t = time.perf_counter()
        grades = ledger.grade_subjects(
            store, year=2026, on=date(2026, 12, 31), actor="bench", settings=settings
        )
        print(f"grade: {len(grades)} subjects in {time.perf_counter() - t:.2f}s")
        for code in range(40):
            registry.register_inspector(store, f"I{code:02d}", name=f"I{code}", actor="chief")
        t = time.perf_counter()
        plan = planner.draw_plan(
            store,
            plan_date=date(2027, 1, 4),
            base_ratio=0.05,
            seed=1,
            settings=settings.model_copy(
                update={"plan_subject_kinds": ("individual",), "max_targets_per_inspector": 100}
            ),
            actor="chief",
        )
        print(
            f"draw_plan: {len(plan.targets)} targets of {len(grades)} subjects in "
            f"{time.perf_counter() - t:.2f}s"
        )
        t = time.perf_counter()
        report = verify_audit(store)
        print(
            f"verify_audit: {report.entries} entries, {report.rows} rows in "
            f"{time.perf_counter() - t:.2f}s, ok={report.ok}"
        )
        population = pd.DataFrame(
            {
                "grade": rng.choice(
                    ["excellent", "good", "medium", "poor", "bad"],
                    100_000,
                    p=[0.3, 0.3, 0.3, 0.08, 0.02],
                ),
                "risk_score": rng.random(100_000),
            }
        )
        t = time.perf_counter()
        picked = planner.select_targets(population, 0.05, np.random.default_rng(1), settings)
        print(
            f"select_targets on 100,000 subjects: {len(picked)} targets in "
            f"{(time.perf_counter() - t) * 1000:.0f} ms"
        )
        store.close()
    finally:
        if schema:
            with create_engine(args.url).begin() as conn:
                conn.execute(text(f"drop schema {schema} cascade"))


if __name__ == "__main__":
    main()
