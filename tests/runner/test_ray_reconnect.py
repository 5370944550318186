"""A worker that loses its Ray cluster, as a user runs it: ``clusterbook worker --runner ray
--ray-address <head>`` against a Ray head this test starts itself (its own ports and temp dir, ended
by its own process group, never ``ray stop``). The head is killed while a run computes: the run goes
back to pending with no attempt charged, the worker keeps trying to reconnect (and logs it) instead of
dying or leaving the run ``processing``, and once a new head is up the run completes there."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from tests.runner.conftest import execute, ok, wait_for
from tests.runner.test_runs_over_http import compute_pid, slow_cluster

GCS_PORT = 8155
"""This suite's own ports (8155-8157): the GCS, the node manager, the object manager."""
RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
"""Head and worker agree on no token authentication (a token Ray once saved in ~/.ray must not split them)."""


class RayHead:
    """A one-node Ray cluster in a process group of its own (``ray start --head --block``)."""

    def __init__(self, log: Path) -> None:
        self.temp_dir = tempfile.mkdtemp(prefix="cb-ray-")  # short: Ray's unix sockets live under it
        ray = Path(sys.executable).with_name("ray")
        command = [str(ray), "start", "--head", "--block", "--port", str(GCS_PORT), "--temp-dir", self.temp_dir]
        command += ["--node-manager-port", "8156", "--object-manager-port", "8157", "--num-cpus", "2"]
        command += ["--dashboard-port", "8158", "--dashboard-agent-listen-port", "8159"]
        command += ["--include-dashboard=false", "--disable-usage-stats"]
        self.log = log.open("w")
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, env=RAY_ENV
        )
        deadline = time.monotonic() + 120
        while not _answers():
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the Ray head did not come up"
            time.sleep(0.5)

    def kill(self) -> None:
        """SIGKILL the head's whole process group: GCS, raylet and the workers computing on it."""
        if self.log.closed:  # killed already
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.log.close()
        deadline = time.monotonic() + 30
        while _answers():
            assert time.monotonic() < deadline, "the killed head still answers"
            time.sleep(0.2)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", GCS_PORT), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def heads(tmp_path: Path) -> Iterator[list[RayHead]]:
    pytest.importorskip("ray", reason="the Ray runner's tests need the extra clusterbook[ray]")
    started: list[RayHead] = []
    yield started
    for head in reversed(started):
        head.kill()


def node_of(run: dict[str, object]) -> object:
    config = run["config"]
    assert isinstance(config, dict)
    return config.get("ray_node_id")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_lost_ray_cluster_puts_the_run_back_unpaid_and_the_worker_reconnects(
    db_url: str, heads: list[RayHead], tmp_path: Path
) -> None:
    heads.append(RayHead(tmp_path / "head-1.log"))
    settings = Settings(database_url=db_url, secret_key="k")
    log = tmp_path / "worker.log"
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        cluster_id = slow_cluster(api)["cluster_id"]
        run_id = execute(api, cluster_id)["run_id"]
        out = log.open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "clusterbook.cli", "worker", "--runner", "ray"]
            + ["--ray-address", f"127.0.0.1:{GCS_PORT}", "--workers", "1", "--database-url", db_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**RAY_ENV, "CLUSTERBOOK_POLL_SECONDS": "0.2", "CLUSTERBOOK_HEARTBEAT_SECONDS": "0.2"},
        )
        try:
            # computing on the first head (the task recorded 'ray:<node>:<pid>')
            wait_for(api, cluster_id, run_id, lambda r: compute_pid(server, run_id) is not None, 120)
            first_node = _node(server, run_id)
            heads[0].kill()
            killed = time.monotonic()
            back = wait_for(api, cluster_id, run_id, lambda r: r["status"] != "processing", 30)
            assert back["status"] == "pending", back
            assert not back["attempts"], "losing the cluster must not cost the run an attempt"
            # the worker survives the dead cluster (Ray's driver would end it after 60 s) and keeps trying
            while log.read_text().count("retrying in") < 3 or time.monotonic() < killed + 65:  # past Ray's 60 s
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < killed + 120, log.read_text()
                time.sleep(0.5)
            still = ok(api.get(f"/v1/clusters/{cluster_id}/executions/{run_id}"))
            assert still["status"] == "pending" and not still["attempts"]

            heads.append(RayHead(tmp_path / "head-2.log"))
            run = wait_for(api, cluster_id, run_id, timeout=300)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(60)
            out.close()
    output = log.read_text()
    assert run["status"] == "completed", (run.get("error_message"), output)
    assert run["attempts"] == 1, "the lost attempt was refunded: the completing attempt is the first paid one"
    assert run["config"]["runner"] == "ray" and node_of(run) not in (None, first_node), "computed on the new head"
    assert "lost the Ray cluster while running " + run_id in output
    assert "reconnected to Ray" in output and code == 0, output


def _node(server: BackgroundServer, run_id: str) -> str | None:
    """The node computing the run, from its ``worker_id`` ('ray:<node>:<pid>')."""
    from sqlalchemy import select

    from clusterbook.store.tables import executions

    with server.engine.connect() as conn:
        worker = conn.execute(select(executions.c.worker_id).where(executions.c.run_id == run_id)).scalar()
    parts = (worker or "").split(":")
    return parts[1] if len(parts) == 3 else None
