"""Where the wall clock of one feature build goes: each stage and each task, with the
process that ran it, its start and end (seconds from the start of the build).

    .venv/bin/python -m bench.timeline_features                       # 300k bench world
    .venv/bin/python -m bench.timeline_features --settlements 1000000
    .venv/bin/python -m bench.timeline_features --workers 1           # all in one process

It reads the dataset of ``bench.bench_features`` (built there on first use), then wraps
the stage functions of ``features.build`` and the tasks that ``features.parallel`` hands
to the workers, so a line is printed as each ends. Two cores run at most two tasks at
once: a task that takes longer here than alone shares a core (with the dataset-stage
groups, say). For the time of a build and its ratio to the floor use
``bench.bench_features``; this one is for finding the long pole. Each line also gives the
task's user and system CPU seconds and minor page faults (in its own process): system
time is mostly the kernel zeroing the pages that fresh allocations touch.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import features.build as build
import features.person as person
from bench.bench_features import prepare_dataset, read_dataset

_T0 = [time.perf_counter()]
STAGES = (
    "prepare",
    "population",
    "population_parts",
    "visit_frame",
    "level_frame",
    "main_institution",
    "combine_evidence",
    "assemble",
)


def _usage() -> tuple[float, float, int]:
    """This process's user and system CPU seconds and minor page faults so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime, usage.ru_minflt


def _line(label: str, start: float, end: float, used: tuple[float, float, int]) -> None:
    origin = _T0[0]
    user, system, faults = (now - then for now, then in zip(_usage(), used, strict=True))
    print(
        f"{label:44s} {start - origin:7.2f} -> {end - origin:7.2f}  ({end - start:6.2f} s)"
        f"  user {user:5.2f} sys {system:5.2f} faults {faults:7,d}  pid {os.getpid()}",
        flush=True,
    )


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        used = _usage()
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _line(label, start, time.perf_counter(), used)

    return run


def _task_name(task: Any) -> str:
    function = getattr(task, "func", task)
    if function.__name__ == "_compute_groups":
        batch = task.args[0]
        module = batch[0].compute.__module__.removeprefix("features.")
        return f"module {module}" if len(batch) > 1 else f"{module} {batch[0].specs[0].name}"
    return function.__name__


def instrument() -> None:
    """Wrap the stages of ``features.build`` and the tasks of both stages."""
    for name in STAGES:
        setattr(build, name, _timed(name, getattr(build, name)))
    group_task = build.group_task

    def timed_group_task(group: Any, given: Any, s: Any) -> Any:
        return _timed("  group " + group.specs[0].name, group_task(group, given, s))

    build.group_task = timed_group_task
    tasks = person.PersonStage.tasks

    def timed_tasks(self: person.PersonStage) -> list[Any]:
        return [_timed("  task " + _task_name(t), t) for t in tasks(self)]

    person.PersonStage.tasks = timed_tasks  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settlements", type=int, default=300_000)
    parser.add_argument("--synthetic", type=int, default=0, help="persons of a synthetic world")
    parser.add_argument("--workers", type=int, default=None, help="FeatureSettings.workers")
    args = parser.parse_args()
    directory: Path = prepare_dataset(args)

    from features.config import FeatureSettings

    start = time.perf_counter()
    dataset = read_dataset(directory)
    print(f"read {time.perf_counter() - start:.2f} s ({directory})")
    settings = FeatureSettings() if args.workers is None else FeatureSettings(workers=args.workers)
    instrument()
    _T0[0] = time.perf_counter()
    build.build_features(dataset, settings, check=False)
    print(f"build {time.perf_counter() - _T0[0]:.2f} s")


if __name__ == "__main__":
    main()
