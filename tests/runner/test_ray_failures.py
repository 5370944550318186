"""The Ray runner when things go wrong, against the shared local Ray: a canceled run's task is
force-cancelled within seconds and writes nothing; a Ray worker process killed mid-run costs one
attempt and the run completes on attempt 2; killed on every attempt it fails "Worker lost"; past the
time limit it is stopped and failed. (SQLite: the transitions are the database-neutral queue's,
tested on both databases in ``tests/store``; PostgreSQL is covered in ``test_ray_runs.py``.)"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from tests.runner.conftest import execute, ok, wait_for
from tests.runner.test_runs_over_http import SLOW_POINTS, _alive, compute_pid, slow_cluster

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
SLOWER = {"algorithm_params": {"n_init": 100}}
"""4x the slow run, for runs that are cut short anyway: well past a few seconds on a quick machine."""


@pytest.fixture
def ray_server(ray_settings: Settings) -> Iterator[BackgroundServer]:
    with BackgroundServer(ray_settings.model_copy(update={"max_attempts": 2}), workers=1) as server:
        yield server


@pytest.fixture
def api(ray_server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ray_server.url, timeout=60) as client:
        yield client


def started_on_ray(api: httpx.Client, server: BackgroundServer, cluster_id: str, run_id: str) -> int:
    """The pid of the Ray worker process computing the run (the task records 'ray:<node>:<pid>')."""
    wait_for(api, cluster_id, run_id, lambda r: compute_pid(server, run_id) is not None, 90)
    pid = compute_pid(server, run_id)
    assert pid is not None and pid != os.getpid()
    return pid


def test_canceling_a_running_ray_task_ends_it_within_seconds(api: httpx.Client, ray_server: BackgroundServer) -> None:
    cluster = slow_cluster(api)
    run_id = execute(api, cluster["cluster_id"], SLOWER)["run_id"]
    pid = started_on_ray(api, ray_server, cluster["cluster_id"], run_id)
    canceled = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/{run_id}/cancel"))
    assert canceled["status"] == "canceled" and canceled["completed_at"] is not None
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "the canceled run's Ray worker is still computing"
        time.sleep(0.1)
    time.sleep(0.5)
    after = ok(api.get(f"/v1/clusters/{cluster['cluster_id']}/executions/{run_id}"))
    assert after["status"] == "canceled" and after["metrics"] is None


def test_a_killed_ray_worker_costs_one_attempt_and_the_run_completes(
    api: httpx.Client, ray_server: BackgroundServer
) -> None:
    cluster = slow_cluster(api)
    run_id = execute(api, cluster["cluster_id"])["run_id"]
    pid = started_on_ray(api, ray_server, cluster["cluster_id"], run_id)
    os.kill(pid, signal.SIGKILL)  # ProcessLookupError here would mean the "slow" run already ended
    run = wait_for(api, cluster["cluster_id"], run_id, timeout=180)
    assert run["status"] == "completed", run.get("error_message")
    assert run["attempts"] == 2 and run["num_points"] == SLOW_POINTS and run["config"]["runner"] == "ray"


def test_a_ray_worker_killed_on_every_attempt_fails_worker_lost(
    api: httpx.Client, ray_server: BackgroundServer
) -> None:
    cluster = slow_cluster(api)
    run_id = execute(api, cluster["cluster_id"], SLOWER)["run_id"]
    killed: list[int] = []
    done = threading.Event()

    def assassin() -> None:
        while not done.is_set():
            pid = compute_pid(ray_server, run_id)
            if pid is not None and pid not in killed:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    threading.Thread(target=assassin, daemon=True).start()
    try:
        run = wait_for(api, cluster["cluster_id"], run_id, timeout=180)
    finally:
        done.set()
    assert run["status"] == "failed" and run["attempts"] == 2 and len(killed) == 2
    assert run["error_message"].startswith("Worker lost: the process computing this run died (Ray task failed: ")
    assert "on attempt 2 of 2" in run["error_message"]


def test_a_ray_run_over_the_time_limit_is_stopped_and_failed(ray_settings: Settings) -> None:
    settings = ray_settings.model_copy(update={"run_timeout_seconds": 6.0})
    with BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        cluster = slow_cluster(api)
        run_id = execute(api, cluster["cluster_id"], SLOWER)["run_id"]
        run = wait_for(api, cluster["cluster_id"], run_id, timeout=120)
        pid = compute_pid(server, run_id)  # None when the limit struck while Ray was still starting the task
        deadline = time.monotonic() + 10
        while pid is not None and _alive(pid):
            assert time.monotonic() < deadline, "the timed-out run's Ray worker is still computing"
            time.sleep(0.1)
    assert run["status"] == "failed" and run["attempts"] == 1, run
    assert "exceeded the time limit of 6 s" in run["error_message"]
