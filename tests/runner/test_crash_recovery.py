"""kill -9 against the real server (``python -m clusterbook.cli serve`` as a subprocess, workers on):

- the server is SIGKILLed at a seeded random moment while 50 runs are being submitted and computed,
  then restarted: every acknowledged run (202 received) ends completed, exactly once — unique run
  ids, memberships and projection written once — and nothing stays pending or processing;
- one compute process is SIGKILLed mid-run: that run is retried and completes on attempt 2;
- a run whose compute process is SIGKILLed every time it appears ends failed with "Worker lost"
  after ``max_attempts`` instead of looping.

The server runs in its own session, so its fork server and compute processes (which outlive a
SIGKILLed server and may still finish a run under the old attempt token — the token guard decides
whether that lands) are all killed with its process group at the end.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from clusterbook.api.background import free_port
from clusterbook.store.db import make_engine
from clusterbook.store.tables import execution_members, execution_projections, executions
from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents

SEED = 20240611
TERMINAL = ("completed", "failed", "canceled")
POINTS = 60


class Server:
    """``clusterbook serve`` in a new session; ``kill()`` is kill -9 of the server process alone."""

    def __init__(self, url: str, log: Path, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        settings = {
            "CLUSTERBOOK_HEARTBEAT_SECONDS": "0.2",
            "CLUSTERBOOK_LEASE_SECONDS": "5",
            "CLUSTERBOOK_POLL_SECONDS": "0.2",
            "CLUSTERBOOK_LOG_LEVEL": "warning",
            "CLUSTERBOOK_SECRET_KEY": "crash-test-key",
            **env,
        }
        self.log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "clusterbook.cli", "serve", "--workers", "2", "--database-url", url]
            + ["--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **settings},
            start_new_session=True,
        )
        self.group = self.proc.pid  # the session leader's pid is the process group id

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited with {self.proc.returncode}"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail("server did not become healthy")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def kill_everything(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.group, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(30)
        self.log.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill_everything()


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def start(servers: list[Server], url: str, tmp_path: Path, **env: str) -> Server:
    server = Server(url, tmp_path / "server.log", **env)
    servers.append(server)
    server.wait_healthy()
    return server


def rows(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(executions.c.run_id, executions.c.status, executions.c.attempts)).all())


def assert_each_run_written_once(db: Engine, points: dict[str, int]) -> None:
    """Completed runs have exactly their documents as members and one projection; others have none."""
    with db.connect() as conn:
        all_ids = conn.execute(select(executions.c.run_id)).scalars().all()
        assert len(all_ids) == len(set(all_ids)), "a run id appears twice"
        members = dict(
            conn.execute(select(execution_members.c.run_id, func.count()).group_by(execution_members.c.run_id)).all()
        )
        projections = dict(
            conn.execute(
                select(execution_projections.c.run_id, func.count()).group_by(execution_projections.c.run_id)
            ).all()
        )
        statuses = dict(conn.execute(select(executions.c.run_id, executions.c.status)).all())
    for run_id, status in statuses.items():
        if status == "completed":
            assert members.get(run_id) == points[run_id], f"{run_id}: members written {members.get(run_id)} times"
            assert projections.get(run_id) == 1
        else:
            assert run_id not in members and run_id not in projections


def wait_all_terminal(db: Engine, timeout: float = 240) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = rows(db)
        if all(r.status in TERMINAL for r in current):
            return current
        assert time.monotonic() < deadline, f"stuck: {[r for r in current if r.status not in TERMINAL]}"
        time.sleep(0.3)


@pytest.mark.slow
def test_sigkill_of_the_server_loses_and_duplicates_no_run(db_url: str, db: Engine, servers, tmp_path) -> None:
    rng = random.Random(SEED)
    server = start(servers, db_url, tmp_path)
    with httpx.Client(base_url=server.base, timeout=30) as api:
        upload_collection(api, "points", blob_documents(POINTS))
        cluster = create_cluster(
            api, "quick", "points", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}}
        )
    cluster_id = cluster["cluster_id"]
    acknowledged: list[str] = []
    # the kill lands at a seeded moment: a little after the kill_at-th acknowledgement, runs in flight
    kill_at, jitter = rng.randrange(5, 45), rng.uniform(0.0, 0.05)
    killed = threading.Event()

    def killer() -> None:
        while len(acknowledged) < kill_at:
            time.sleep(0.001)
        time.sleep(jitter)
        server.kill()
        killed.set()

    threading.Thread(target=killer, daemon=True).start()
    with httpx.Client(base_url=server.base, timeout=10) as api:
        while len(acknowledged) < 50:
            try:
                response = api.post(f"/v1/clusters/{cluster_id}/execute", json={"run_name": f"r{len(acknowledged)}"})
            except httpx.TransportError:
                break  # killed: this submission was never acknowledged
            assert response.status_code == 202, response.text
            acknowledged.append(response.json()["run_id"])
    assert killed.wait(30)
    assert server.proc.returncode == -signal.SIGKILL
    assert len(acknowledged) >= kill_at

    restarted = start(servers, db_url, tmp_path)
    with httpx.Client(base_url=restarted.base, timeout=30) as api:
        while len(acknowledged) < 50:
            acknowledged.append(execute(api, cluster_id)["run_id"])
        for run_id in acknowledged:
            run = wait_for(api, cluster_id, run_id, timeout=240)
            assert run["status"] == "completed", run
            assert 1 <= run["attempts"] <= 3
    final = wait_all_terminal(db)
    assert len(set(acknowledged)) == 50
    assert set(acknowledged) <= {r.run_id for r in final}, "an acknowledged run was lost"
    assert_each_run_written_once(db, {r.run_id: POINTS for r in final})


def compute_pid(db: Engine, run_id: str) -> int | None:
    """The compute process of a run ('host:server_pid:compute_pid' while it runs)."""
    with db.connect() as conn:
        worker = conn.execute(
            select(executions.c.worker_id).where(executions.c.run_id == run_id, executions.c.status == "processing")
        ).scalar()
    parts = (worker or "").split(":")
    return int(parts[2]) if len(parts) == 3 else None


@pytest.mark.slow
def test_sigkill_of_compute_processes(db_url: str, db: Engine, servers, tmp_path) -> None:
    rng = random.Random(SEED)
    server = start(servers, db_url, tmp_path, CLUSTERBOOK_MAX_ATTEMPTS="2", CLUSTERBOOK_LEASE_SECONDS="10")
    slow_points = 3000
    with httpx.Client(base_url=server.base, timeout=60) as api:
        upload_collection(api, "many", blob_documents(slow_points, dims=16, centres=4))
        medium = create_cluster(
            api,
            "medium",
            "many",
            vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 8, "n_init": 4}},
        )
        doomed_cluster = create_cluster(
            api,
            "doomed",
            "many",
            vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 40, "n_init": 25}},
        )
        # a run that "always kills its worker": its compute process is SIGKILLed whenever it appears
        doomed = execute(api, doomed_cluster["cluster_id"])["run_id"]
        killed: list[int] = []
        stop = threading.Event()

        def assassin() -> None:
            while not stop.is_set():
                pid = compute_pid(db, doomed)
                if pid is not None and pid not in killed:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)

        watcher = threading.Thread(target=assassin, daemon=True)
        watcher.start()
        runs = [execute(api, medium["cluster_id"])["run_id"] for _ in range(8)]
        # and one ordinary run loses its process once, at a seeded random point of the batch
        victim_run, victim_pid = None, None
        for run_id in runs[rng.randrange(len(runs)) :]:
            wait_for(api, medium["cluster_id"], run_id, lambda r: r["status"] != "pending", 120)
            pid = compute_pid(db, run_id)
            deadline = time.monotonic() + 5
            while pid is None and time.monotonic() < deadline:
                if ok(api.get(f"/v1/clusters/{medium['cluster_id']}/executions/{run_id}"))["status"] in TERMINAL:
                    break
                time.sleep(0.02)
                pid = compute_pid(db, run_id)
            if pid is not None:
                time.sleep(rng.uniform(0.0, 0.2))
                try:
                    os.kill(pid, signal.SIGKILL)
                    victim_run, victim_pid = run_id, pid
                    break
                except ProcessLookupError:
                    continue
        assert victim_run is not None, "no medium run was seen computing"
        doomed_run = wait_for(api, doomed_cluster["cluster_id"], doomed, timeout=240)
        stop.set()
        watcher.join(5)
        assert doomed_run["status"] == "failed", doomed_run
        assert doomed_run["attempts"] == 2 and len(killed) == 2
        assert doomed_run["error_message"].startswith("Worker lost") and "SIGKILL" in doomed_run["error_message"]
        for run_id in runs:
            run = wait_for(api, medium["cluster_id"], run_id, timeout=240)
            assert run["status"] == "completed", run
            assert run["attempts"] == (2 if run_id == victim_run else 1), (run_id, victim_pid, run["attempts"])
    final = wait_all_terminal(db)
    points = {r.run_id: slow_points for r in final}
    assert_each_run_written_once(db, points)
