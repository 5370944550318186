"""``ProcessMap``: a run's tasks really run in parallel processes within the run's thread budget,
give the serial results in order, and never outlive the run: a failing map ends its pool, and the
worker's kill of a canceled run takes the whole process group (and a run killed alone takes its
pool along)."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from clusterbook.engine import SerialMap
from clusterbook.runner.parallel import ProcessMap, become_group_leader
from clusterbook.runner.worker import WorkerPool


def _timed(shared: np.ndarray, item: int) -> tuple[int, int, float, float, float, int]:
    start = time.monotonic()
    time.sleep(0.4)
    threads = max(int(lib["num_threads"]) for lib in threadpool_info())
    return item, os.getpid(), start, time.monotonic(), float(shared.sum()), threads


def _square(shared: int, item: int) -> int:
    return shared * item * item


def _fail_on_three(shared: Any, item: int) -> int:
    if item == 3:
        raise ValueError("task 3 failed")
    return os.getpid()


def _sleep_forever(shared: str, item: int) -> None:
    Path(shared, f"{os.getpid()}").write_text(str(item))
    time.sleep(600)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_tasks_run_at_once_in_other_processes_and_come_back_in_order() -> None:
    shared = np.arange(1000, dtype=np.float32)
    tasks = ProcessMap(threads=2)
    results = tasks.map(_timed, list(range(4)), shared=shared)
    assert [r[0] for r in results] == [0, 1, 2, 3]
    pids = {r[1] for r in results}
    assert len(pids) == 2 and os.getpid() not in pids and tasks.last_processes == 2
    assert all(r[4] == float(shared.sum()) for r in results), "every task sees the shared value"
    first, second = results[0], results[1]
    assert first[2] < second[3] and second[2] < first[3], "the first two tasks overlapped in time"
    assert all(r[5] == 1 for r in results), "two processes on a 2-thread budget: one thread each"
    assert tasks.map(_square, [1, 2, 3], shared=2) == SerialMap().map(_square, [1, 2, 3], shared=2) == [2, 8, 18]


def test_the_budget_is_split_never_exceeded() -> None:
    assert ProcessMap(4).plan(2) == (2, 2)
    assert ProcessMap(4).plan(5) == (4, 1)
    assert ProcessMap(2).plan(5) == (2, 1)
    assert ProcessMap(5).plan(2) == (2, 2)  # 2 × 2 ≤ 5
    one = ProcessMap(1)
    results = one.map(_timed, [0, 1], shared=np.ones(3, dtype=np.float32))
    assert {r[1] for r in results} == {os.getpid()} and one.last_processes == 0, "one thread: no processes"


def test_a_failing_task_raises_and_ends_the_pool() -> None:
    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(ValueError, match="task 3 failed"):
        ProcessMap(2).map(_fail_on_three, [1, 2, 3, 4])
    assert {p.pid for p in multiprocessing.active_children()} <= before


def _run_like(directory: str) -> None:
    """What a run's process does: lead its group, then map long tasks over a pool."""
    become_group_leader()
    ProcessMap(threads=2).map(_sleep_forever, [0, 1], shared=directory)


def _pool_of(tmp_path: Path) -> tuple[Any, list[int]]:
    process = multiprocessing.get_context("fork").Process(target=_run_like, args=(str(tmp_path),), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while len(list(tmp_path.iterdir())) < 2:
        assert time.monotonic() < deadline, "the pool never started"
        time.sleep(0.05)
    pids = [int(p.name) for p in tmp_path.iterdir()]
    assert all(alive(pid) for pid in pids) and process.pid not in pids
    assert {os.getpgid(pid) for pid in pids} == {process.pid}, "the pool is in the run's process group"
    return process, pids


def wait_dead(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, [pid for pid in pids if alive(pid)]
        time.sleep(0.05)


def test_ending_a_canceled_run_kills_its_task_processes(tmp_path: Path) -> None:
    process, pids = _pool_of(tmp_path)
    assert os.getpgid(process.pid) == process.pid != os.getpgrp()
    WorkerPool._end(process)  # what the worker does on cancel, lost lease or time-out
    assert process.exitcode is not None
    wait_dead(pids)


def test_task_processes_die_with_a_run_killed_alone(tmp_path: Path) -> None:
    process, pids = _pool_of(tmp_path)
    process.kill()  # e.g. the OOM killer: no group kill, the pool processes must still go
    process.join(10)
    wait_dead(pids)
