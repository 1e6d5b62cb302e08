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

import contextlib
import multiprocessing as mp
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
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
_ENDS: Any = None
"""The first and the last position not yet taken, shared with the forked workers."""
_SPOOL: str | None = None
"""The folder where forked workers leave their results (``None``: in this process)."""


def _take(front: bool) -> int | None:
    """The next task's position, from the front or the back; ``None`` when all are taken."""
    with _ENDS.get_lock():
        first, last = _ENDS[0], _ENDS[1]
        if first > last:
            return None
        if front:
            _ENDS[0] = first + 1
            return int(first)
        _ENDS[1] = last - 1
        return int(last)


def _drain(front: bool = True) -> list[tuple[int, Any]]:
    """Run tasks, each taken as this process frees up, until none is left. A forked worker
    leaves each result in a file of the spool and returns ``Spooled`` in its place."""
    done = []
    while (position := _take(front)) is not None:
        result = _TASKS[position]()
        done.append((position, _spool(position, result) if _SPOOL and front else result))
    return done


@dataclass(frozen=True)
class Spooled:
    """A worker's result left in a file: the pool's result pipe reads a message of a
    hundred MB 64 KB at a time, allocating a buffer of the whole rest at each read (about
    a second for the per-person stage's results), where a file in memory takes a tenth."""

    path: str

    def load(self) -> Any:
        with open(self.path, "rb") as fh:
            result = pickle.load(fh)
        os.unlink(self.path)
        return result


def _spool(position: int, result: Any) -> Any:
    """``result`` written to the spool as ``Spooled``; itself when it cannot be written."""
    assert _SPOOL is not None
    path = os.path.join(_SPOOL, f"{os.getpid()}-{position}.pickle")
    try:
        with open(path, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return result
    return Spooled(path)


def _unspooled(pairs: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    return [(p, r.load() if isinstance(r, Spooled) else r) for p, r in pairs]


@dataclass(frozen=True)
class Forked:
    """Tasks in this process and ``workers - 1`` forked ones, each taking the next task as
    it frees up: the workers from the front of the list, this process from the back (so
    put the tasks with large results last: they need no pickling there); in this process
    alone when fork is unavailable or one process would do."""

    workers: int

    def __call__(self, tasks: Sequence[Task]) -> list[Any]:
        workers = min(self.workers, len(tasks))
        if workers <= 1 or not _can_fork():
            return in_turn(tasks)
        with _pool(tasks, workers - 1) as futures:
            mine = _drain(front=False)
            theirs = _unspooled([pair for future in futures for pair in future.result()])
        results: list[Any] = [None] * len(tasks)
        for position, result in [*mine, *theirs]:
            results[position] = result
        return results

    def start(self, tasks: Sequence[Task]) -> Callable[[], list[Any]]:
        """Tasks in ``workers - 1`` forked processes (this one goes on with other work)."""
        workers = min(self.workers - 1, len(tasks))
        if workers < 1 or not _can_fork():
            return in_turn.start(tasks)
        stack = contextlib.ExitStack()
        futures = stack.enter_context(_pool(tasks, workers))

        def results() -> list[Any]:
            with stack:
                done = _unspooled([pair for future in futures for pair in future.result()])
            return [result for _, result in sorted(done, key=lambda pair: pair[0])]

        return results


@contextlib.contextmanager
def _pool(tasks: Sequence[Task], workers: int) -> Iterator[list[Future[list[tuple[int, Any]]]]]:
    """``workers`` forked processes draining ``tasks`` from the front; shut down on exit."""
    global _TASKS, _ENDS, _SPOOL
    context = mp.get_context("fork")
    _TASKS, _ENDS = tasks, context.Array("l", [0, len(tasks) - 1])
    spool = tempfile.TemporaryDirectory(
        prefix="fundguard-", dir=_memory_folder(), ignore_cleanup_errors=True
    )
    _SPOOL = spool.name
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        # the workers fork at the first submit and inherit _TASKS, _ENDS and _SPOOL; this
        # process keeps them for a call that drains from the back too
        futures = [pool.submit(_drain) for _ in range(workers)]
        with pool:
            yield futures
    finally:
        _TASKS, _SPOOL = (), None
        spool.cleanup()


def _memory_folder() -> str | None:
    """``/dev/shm`` (files kept in memory) when writable, else the default temporary folder."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


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
