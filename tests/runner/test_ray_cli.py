"""``clusterbook serve|worker --runner ray`` as a user starts them: without Ray installed they fail
at start in one line naming the extra; a worker joining an existing cluster (``--ray-address``)
computes queued runs as Ray tasks and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from tests.runner.conftest import create_cluster, execute, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents

WITHOUT_RAY = (
    "import sys; sys.modules['ray'] = None; from clusterbook.cli.main import main; sys.argv[0] = 'clusterbook'; main()"
)
"""The CLI in an environment where ``import ray`` fails, as it does without the extra."""


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_choosing_ray_without_the_extra_fails_at_start_naming_it(command: str, tmp_path: Path) -> None:
    database = tmp_path / "never-created.db"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY, command, "--runner", "ray", "--database-url", f"sqlite:///{database}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: --runner ray needs Ray, which is not installed: pip install 'clusterbook[ray]'"
    ]
    assert not database.exists(), "nothing started before the check"


def test_an_unknown_runner_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clusterbook.cli", "worker", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CLUSTERBOOK_RUNNER": "spark"},
    )
    assert result.returncode == 2 and "--runner must be local or ray" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_worker_joining_a_ray_cluster_computes_queued_runs(db_url: str, ray_cluster: Any, tmp_path: Path) -> None:
    address = ray_cluster.get_runtime_context().gcs_address
    settings = Settings(database_url=db_url, secret_key="k")
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        upload_collection(api, "blobs", blob_documents(90, centres=3, seed=4))
        cluster_id = create_cluster(api, "blobs", "blobs")["cluster_id"]
        run_id = execute(api, cluster_id)["run_id"]  # queued: this server has no workers
        log = tmp_path / "worker.log"
        out = log.open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "clusterbook.cli", "worker", "--runner", "ray", "--ray-address", address]
            + ["--workers", "1", "--database-url", db_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CLUSTERBOOK_POLL_SECONDS": "0.2", "CLUSTERBOOK_HEARTBEAT_SECONDS": "0.2"},
        )
        try:
            run = wait_for(api, cluster_id, run_id, timeout=120)
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(60)
            out.close()
    output = log.read_text()
    assert run["status"] == "completed", (run.get("error_message"), output)
    assert run["config"]["runner"] == "ray" and run["num_points"] == 90
    assert "1 workers (ray runner)" in output and code == 0, output
