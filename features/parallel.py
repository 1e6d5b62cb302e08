"""Independent pieces of a feature build computed side by side in forked processes.

The signal groups of a stage read the same frames and never each other's output, so
``build_features`` hands them out as tasks: ``in_turn`` runs them here one after the
other; ``Forked(workers)`` in this process and ``workers - 1`` forked ones (Linux), which
see the frames through copy-on-write memory (nothing is pickled on the way in) and send
back only their result; ``start`` sets tasks going in forked processes while this one
does other work.
Either way the results come back in the order of the tasks, and each task runs the same
function on the same input, so the build is the same whichever runs it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

Task = Callable[[], Any]


class Runner(Protocol):
    """Runs tasks and returns their results in the order of the tasks."""

    def __call__(self, tasks: Sequence[Task]) -> list[Any]: ...

    def start(self, tasks: Sequence[Task]) -> Callable[[], list[Any]]:
        """Set tasks going while this process does something else; the function returned
        waits for their results."""
        ...


class InTurn:
    """Each task in this process, one after the other."""

    def __call__(self, tasks: Sequence[Task]) -> list[Any]:
        return [task() for task in tasks]

    def start(self, tasks: Sequence[Task]) -> Callable[[], list[Any]]:
        results = self(tasks)
        return lambda: results


in_turn = InTurn()


_TASKS: Sequence[Task] = ()
"""The tasks of the pool being started: forked workers find them here by position."""


def _run(position: int) -> Any:
    return _TASKS[position]()


@dataclass(frozen=True)
class Forked:
    """Tasks in this process and ``workers - 1`` forked ones: the workers take tasks from
    the front of the list as they free up, this process takes them from the back (so put
    the tasks with large results last: they need no pickling there); in this process alone
    when fork is unavailable or one process would do."""

    workers: int

    def __call__(self, tasks: Sequence[Task]) -> list[Any]:
        global _TASKS
        workers = min(self.workers, len(tasks))
        if workers <= 1 or not _can_fork():
            return in_turn(tasks)
        _TASKS = tasks
        results: list[Any] = [None] * len(tasks)
        try:
            # the workers fork at the first submit, while _TASKS holds these tasks
            context = mp.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
                futures = [pool.submit(_run, i) for i in range(len(tasks))]
                for i in reversed(range(len(tasks))):
                    if not futures[i].cancel():  # a worker has it: the rest are theirs
                        break
                    results[i] = tasks[i]()
                for i, future in enumerate(futures):
                    if not future.cancelled():
                        results[i] = future.result()
        finally:
            _TASKS = ()
        return results

    def start(self, tasks: Sequence[Task]) -> Callable[[], list[Any]]:
        """Tasks in ``workers - 1`` forked processes (this one goes on with other work)."""
        global _TASKS
        workers = min(self.workers - 1, len(tasks))
        if workers < 1 or not _can_fork():
            return in_turn.start(tasks)
        _TASKS = tasks
        try:
            context = mp.get_context("fork")
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            futures = [pool.submit(_run, i) for i in range(len(tasks))]
        finally:
            _TASKS = ()

        def results() -> list[Any]:
            with pool:
                return [future.result() for future in futures]

        return results


def _can_fork() -> bool:
    """Whether workers may fork: on Linux (macOS' system libraries are not fork-safe)."""
    return sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods()


def usable_cpus() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def runner(workers: int, size: int, min_size: int) -> Runner:
    """``Forked`` with ``workers`` processes (0: one per usable core) for an input of
    ``size`` settlements of at least ``min_size``; ``in_turn`` otherwise."""
    n = workers or usable_cpus()
    return Forked(n) if n > 1 and size >= min_size else in_turn
