"""``ProcessMap``: a run's independent tasks (``engine.parallel.TaskMap``) in local processes.

The run's process forks a pool for each ``map`` — forked, so the pool inherits the run's vectors
(the ``shared`` value) without a copy or a pickle — and ends it when the map returns or fails.
The pool never takes more than the run's thread budget: ``threads`` BLAS/OpenMP threads in all,
split across at most ``threads`` processes (two resamples on a 4-thread budget: two processes of
two threads; five on a 2-thread budget: two processes of one thread). With a budget of one thread
there is nothing to gain from processes and the tasks run in the run's own process.

Stopping: the run's process leads its own process group (``become_group_leader``, called when the
run starts), and the worker ends a canceled or timed-out run by killing that whole group, pool
included (``kill_group``). Should the run's process die some other way (the OOM killer), each pool
process asks Linux to kill it when its parent dies, so no resample outlives its run.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from threadpoolctl import threadpool_limits

from clusterbook.engine import SerialMap

logger = logging.getLogger(__name__)
R = TypeVar("R")
_PR_SET_PDEATHSIG = 1

_shared: Any = None
"""The current map's shared value: set before the pool forks, so every pool process inherits it."""


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        # not glibc/musl: the process-group kill still applies
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _start(threads: int) -> None:
    """Pool process initializer: die with the run, and keep to this process's share of the budget."""
    _die_with_parent()
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    threadpool_limits(limits=threads)  # process-wide from here on (this process only runs tasks)


def _call(job: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    fn, item = job
    return fn(_shared, item)


class ProcessMap:
    """``TaskMap`` over a forked process pool limited to ``threads`` threads in all."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, int(threads))
        self.last_processes = 0
        """Pool processes the last ``map`` used (0: it ran in this process)."""

    def plan(self, tasks: int) -> tuple[int, int]:
        """(processes, threads per process) for ``tasks`` tasks within the budget."""
        processes = max(1, min(self.threads, tasks))
        return processes, max(1, self.threads // processes)

    def map(self, fn: Callable[[Any, Any], R], items: Sequence[Any], *, shared: Any = None) -> list[R]:
        processes, per_process = self.plan(len(items))
        if processes < 2:
            self.last_processes = 0
            return SerialMap().map(fn, items, shared=shared)
        global _shared
        _shared = shared
        context = multiprocessing.get_context("fork")
        pool = context.Pool(processes, initializer=_start, initargs=(per_process,))
        self.last_processes = processes
        try:
            return list(pool.imap(_call, [(fn, item) for item in items]))
        finally:
            pool.terminate()  # ends the pool processes at once, on success and on failure alike
            pool.join()
            _shared = None


def become_group_leader() -> None:
    """Make the calling process (a run's) the leader of a new process group, so ``kill_group`` ends
    it together with every process it started; and let it start processes at all (the worker starts
    runs as daemonic processes, which multiprocessing forbids to have children)."""
    multiprocessing.current_process().daemon = False
    try:
        os.setpgid(0, 0)
    except OSError as exc:  # already a group or session leader: then kill_group falls back to the process
        logger.debug("could not start a process group: %s", exc)


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (a run and its pool); only the process when it leads
    none (it died, or has not yet made its group), never the caller's own group."""
    try:
        if os.getpgid(pid) == pid and pid != os.getpgrp():
            os.killpg(pid, signal.SIGKILL)
            return
    except (ProcessLookupError, PermissionError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
