"""Load benchmark of the scoring service on loopback: /check latency at a fixed request rate,
and /score throughput.

It trains a small synthetic world into a temporary MLflow, promotes it to @champion, starts
``fundguard serve`` on a free 127.0.0.1 port, then sends ``--requests`` /check calls on an
open-loop schedule of ``--rate`` per second (each call starts on time whether or not the
earlier ones have answered), each with a ``--timeout``. It prints latency percentiles,
the achieved rate and the errors (non-200 answers and timeouts), which must be zero.

    .venv/bin/python -m bench.bench_service                 # 50 rps, 500 requests
    .venv/bin/python -m bench.bench_service --rate 10 --requests 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

KEY = b"bench-pseudonym-key"


def prepare(root: Path, persons: int, seed: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Train and promote a champion on a synthetic world; return the service's environment
    and /check bodies (one per settlement of the world)."""
    from features import build_features  # type: ignore[attr-defined]
    from models.config import ModelSettings
    from serving.application import users_path
    from serving.auth import UserRegistry
    from serving.config import ServingSettings
    from settlements.config import IntakeSettings
    from settlements.intake import validate_dataset
    from settlements.synthetic.generate import generate_world
    from training.config import TrainingSettings
    from training.train import TrainingData, fingerprint, promote, train

    dataset = validate_dataset(generate_world(persons, seed).dataset, IntakeSettings(), KEY).dataset
    training = TrainingSettings(
        tracking_uri=f"sqlite:///{(root / 'mlflow.db').as_posix()}",
        artifact_root=root / "artifacts",
        plots=False,
    )
    assert dataset.labels is not None
    data = TrainingData(
        feature_set=build_features(dataset),
        labels=dataset.labels,
        source=f"synthetic world seed {seed}",
        fingerprint=fingerprint(dataset),
        tables={"labels": dataset.labels},
    )
    result = train(data, ModelSettings(n_estimators=100), training)
    promote(training, result.version)
    world = root / "world"
    dataset.with_tables(
        persons=dataset.persons.drop(columns=["certno", "psn_name"], errors="ignore"), labels=None
    ).write(world)
    token = UserRegistry(users_path(ServingSettings(), root / "data")).add("bench", "system")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNDGUARD_")}
    env.update(
        FUNDGUARD_DATA_DIR=str(root / "data"),
        FUNDGUARD_TRAINING__TRACKING_URI=training.tracking_uri,
        FUNDGUARD_TRAINING__ARTIFACT_ROOT=str(training.artifact_root),
        FUNDGUARD_SERVING__EVIDENCE_DIR=str(world),
        FUNDGUARD_BENCH_TOKEN=token,
        BENTOML_HOME=str(root / "bentoml"),
        BENTOML_DO_NOT_TRACK="true",
    )
    return env, bodies(dataset)


def bodies(dataset: Any) -> list[dict[str, Any]]:
    """One /check body per settlement (settlement, fee lines, person, institution)."""
    import pandas as pd

    def plain(row: dict[Any, Any], dates: tuple[str, ...] = ()) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in row.items():
            if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)):
                continue
            if isinstance(v, pd.Timestamp):
                v = v.strftime("%Y-%m-%d" if k in dates else "%Y-%m-%d %H:%M:%S")
            elif hasattr(v, "item"):
                v = v.item()
            out[str(k)] = v
        return out

    persons = dataset.persons.drop(columns=["certno", "psn_name"], errors="ignore")
    persons = {r["psn_no"]: plain(r, ("brdy", "dead_date")) for r in persons.to_dict("records")}
    institutions = {r["fixmedins_code"]: plain(r) for r in dataset.institutions.to_dict("records")}
    lines = {
        k: [plain(r) for r in g.to_dict("records")]
        for k, g in dataset.fee_details.groupby("setl_id", sort=False)
    }
    return [
        {
            "settlement": plain(s, ("begndate", "enddate")),
            "fee_details": lines.get(s["setl_id"], []),
            "person": persons[s["psn_no"]],
            "institution": institutions[s["fixmedins_code"]],
        }
        for s in dataset.settlements.to_dict("records")
    ]


def breakdown(env: dict[str, str], items: list[dict[str, Any]], n: int) -> dict[str, float]:
    """Median milliseconds of each stage of one /check, in process, on the service's path
    (one settlement from its values): intake's rules (``judge_lone``), signals
    (``build_settlement``), scoring of the visit and person targets; and the whole check
    through frames (``check_frames``: validate_dataset, build, score) for comparison."""
    from features.check import CheckSignals
    from models.scoring import score
    from serving.application import CHECK_LEVELS, _levels_view
    from serving.schemas import SettlementIn, to_lone
    from settlements.config import IntakeSettings
    from settlements.lone import judge_lone
    from training.config import TrainingSettings
    from training.registry import champion_uri, load_scorer

    training = TrainingSettings(
        tracking_uri=env["FUNDGUARD_TRAINING__TRACKING_URI"],
        artifact_root=Path(env["FUNDGUARD_TRAINING__ARTIFACT_ROOT"]),
    )
    scorer = _levels_view(load_scorer(champion_uri(training), training), CHECK_LEVELS)
    signals = CheckSignals(scorer.feature_settings)
    stages: dict[str, list[float]] = {"judge": [], "features": [], "score": []}
    for body in items[: 2 * n]:
        lone = to_lone(SettlementIn.model_validate(body))
        t0 = time.perf_counter()
        judge_lone(lone, IntakeSettings())
        t1 = time.perf_counter()
        feature_set = signals.build_settlement(lone)
        t2 = time.perf_counter()
        assert feature_set is not None
        score(feature_set, scorer)
        t3 = time.perf_counter()
        for name, took in zip(stages, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            stages[name].append(took)
    figures = {
        f"stage_{k}_median_ms": round(float(np.median(v[n:])) * 1000, 2) for k, v in stages.items()
    }
    figures["frames_path_median_ms"] = round(float(np.median(_frames_path(env, items, n))), 1)
    return figures


def _frames_path(env: dict[str, str], items: list[dict[str, Any]], n: int) -> list[float]:
    """Milliseconds of ``Application.check_frames`` (the path of several settlements)."""
    from fundguard.settings import load_settings
    from serving.application import build_application
    from serving.schemas import SettlementIn

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        app = build_application(load_settings())
    finally:
        os.environ.clear()
        os.environ.update(saved)
    app.warm()
    took = []
    for body in items[: 2 * n]:
        item = SettlementIn.model_validate(body)
        started = time.perf_counter()
        app.check_frames([item])
        took.append((time.perf_counter() - started) * 1000)
    return took[n:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    fundguard = Path(sys.executable).with_name("fundguard")
    server = subprocess.Popen(
        [str(fundguard), "serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"the service did not become ready; see {log}")


async def load(
    url: str, token: str, items: list[dict[str, Any]], rate: float, n: int, timeout: float
) -> tuple[list[float], list[str], float]:
    """``n`` /check calls started at ``rate`` per second; latencies (s), errors, elapsed."""
    latencies: list[float] = []
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as client:

        async def one(i: int, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            started = time.perf_counter()
            try:
                r = await client.post("/check", json=items[i % len(items)], timeout=timeout)
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {r.text[:120]}")
                    return
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}")
                return
            latencies.append(time.perf_counter() - started)

        t0 = time.perf_counter() + 0.2
        await asyncio.gather(*(one(i, t0 + i / rate) for i in range(n)))
        return latencies, errors, time.perf_counter() - t0


async def batches(
    url: str, token: str, items: list[dict[str, Any]], size: int, n: int, timeout: float
) -> tuple[float, int, list[str]]:
    """``n`` concurrent /score calls of up to ``size`` settlements each, every body within
    the service's default request limit (a client splits what the service would refuse
    with 413); elapsed, settlements, errors."""
    from serving.config import ServingSettings

    limit = ServingSettings().max_request_bytes
    headers = {"Authorization": f"Bearer {token}"}
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:

        async def one(i: int) -> int:
            chunk: list[dict[str, Any]] = []
            used = len('{"settlements": []}')
            for j in range(size):
                item = items[(i * size + j) % len(items)]
                more = len(json.dumps(item).encode()) + 2
                if chunk and used + more > limit:
                    break
                chunk.append(item)
                used += more
            try:
                r = await client.post("/score", json={"settlements": chunk}, timeout=timeout)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                return 0
            if r.status_code != 200:
                errors.append(f"{r.status_code}: {r.text[:120]}")
                return 0
            return len(r.json())

        started = time.perf_counter()
        done = await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - started, sum(done), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="/check calls per second")
    parser.add_argument("--requests", type=int, default=500, help="/check calls in all")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
    parser.add_argument("--persons", type=int, default=600, help="persons of the world")
    parser.add_argument("--batch", type=int, default=100, help="settlements per /score call")
    parser.add_argument("--batches", type=int, default=10, help="concurrent /score calls")
    parser.add_argument(
        "--profile", type=int, default=10, help="settlements timed stage by stage in process"
    )
    parser.add_argument(
        "--sequential", type=int, default=10, help="/check calls one at a time, before the load"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        env, items = prepare(root, args.persons, seed=5)
        print(
            f"prepared a champion on {len(items)} settlements in "
            f"{time.perf_counter() - started:.0f} s"
        )
        stages = breakdown(env, items, args.profile)
        port = free_port()
        server = start(env, port, root / "serve.log")
        url = f"http://127.0.0.1:{port}"
        token = env["FUNDGUARD_BENCH_TOKEN"]
        try:
            asyncio.run(load(url, token, items, rate=2, n=4, timeout=60))  # warm-up
            took, scored, batch_errors = asyncio.run(
                batches(url, token, items, args.batch, args.batches, timeout=300)
            )
            single = [
                asyncio.run(load(url, token, items[i:], rate=1, n=1, timeout=60))[0]
                for i in range(args.sequential)
            ]
            one_ms = np.array([x for lat in single for x in lat]) * 1000
            lat, errors, elapsed = asyncio.run(
                load(url, token, items, args.rate, args.requests, args.timeout)
            )
            ms = np.array(lat) * 1000 if lat else np.array([np.nan])
            figures: dict[str, object] = {
                **stages,
                "score_calls": args.batches,
                "score_settlements": scored,
                "score_seconds": round(took, 2),
                "score_settlements_per_s": round(scored / took, 1) if took else 0.0,
                "score_errors": len(batch_errors),
                "check_one_at_a_time_median_ms": round(float(np.median(one_ms)), 1)
                if len(one_ms)
                else None,
                "check_requests": args.requests,
                "check_target_rate_per_s": args.rate,
                "check_achieved_rate_per_s": round(len(lat) / elapsed, 1),
                "check_ok": len(lat),
                "check_errors": len(errors),
                "check_p50_ms": round(float(np.percentile(ms, 50)), 1),
                "check_p95_ms": round(float(np.percentile(ms, 95)), 1),
                "check_p99_ms": round(float(np.percentile(ms, 99)), 1),
                "check_max_ms": round(float(ms.max()), 1),
                "p99_under_50ms": bool(np.percentile(ms, 99) < 50 and not errors),
            }
            for key, value in figures.items():
                print(f"{key:>28}: {value}")
            if errors or batch_errors:
                first = sorted(set(errors))[:5] + sorted(set(batch_errors))[:5]
                print("first errors:", json.dumps(first, ensure_ascii=False))
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
