"""The command line as a user runs it: real subprocesses, a real server, a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from clusterbook.api.background import free_port
from clusterbook.store.db import make_engine, make_sessionmaker
from clusterbook.store.seed import count_executions

CLI = [sys.executable, "-m", "clusterbook.cli"]


def _count(url: str) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        total = count_executions(session)
    engine.dispose()
    return total


def test_seed_command_writes_the_requested_number_of_runs(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    done = subprocess.run(
        [*CLI, "seed", "--executions", "250", "--clusters", "2", "--namespace", "team-a", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    cluster_ids = done.stdout.split()
    assert len(cluster_ids) == 2 and all(c.startswith("clust_") for c in cluster_ids)
    assert "wrote 250 executions" in done.stderr
    assert _count(url) == 250


def test_seed_command_rejects_a_zero_count(tmp_path: Path):
    done = subprocess.run(
        [*CLI, "seed", "--executions", "0", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--executions" in done.stderr


def _serve(url: str, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CLUSTERBOOK_LOG_LEVEL": "warning"}
    return subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--database-url", url, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.communicate(timeout=30)


def _wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("server did not become healthy")


@pytest.mark.slow
def test_serve_demo_builds_its_history_from_real_runs_once(tmp_path: Path):
    from clusterbook.demo.corpus import DEMO_TOPICS
    from clusterbook.runner.demo import DEMO_CLUSTERS
    from clusterbook.runner.demo_history import HISTORY_CLUSTER, HISTORY_NIGHTS

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    queued = sum(len(c.runs) for c in DEMO_CLUSTERS) + HISTORY_NIGHTS
    for start in range(2):  # the second start must not add demo data again
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _serve(url, port, "--demo", "--workers", "2")
        try:
            _wait_healthy(base, proc)
            clusters = {
                c["cluster_name"]: c["cluster_id"]
                for c in httpx.post(f"{base}/v1/clusters/list", json={}, params={"page_size": 50}).json()["results"]
            }
            assert len(clusters) == len(DEMO_CLUSTERS) + 1
            if start == 0:
                scratch = _wait_history(base, clusters["Scratch notes"], lambda s: s.get("failed") == 2)
                assert all("Insufficient documents" in r["error_message"] for r in scratch["results"])
                topics = _wait_history(base, clusters["Article topics - k-means"], lambda s: s.get("completed", 0) >= 1)
                run = next(r for r in topics["results"] if r["status"] == "completed")
                keywords = {k for c in run["centroids"] for k in c["keywords"]}
                topic_words = {w for words in DEMO_TOPICS.values() for w in words}
                assert len(keywords & topic_words) >= 10, keywords
                nightly = clusters[HISTORY_CLUSTER["cluster_name"]]
                _wait_history(base, nightly, lambda s: s.get("completed", 0) == HISTORY_NIGHTS)
                _wait_backdated(base, nightly)
        finally:
            _stop(proc)
        assert _count(url) == queued


def _wait_history(base: str, cluster_id: str, done, timeout: float = 240):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        history = httpx.post(
            f"{base}/v1/clusters/{cluster_id}/executions/list", json={"stats_scope": "all"}, params={"page_size": 50}
        ).json()
        if done(history["stats"]["executions_by_status"]):
            return history
        assert time.monotonic() < deadline, history["stats"]
        time.sleep(0.5)


def _wait_backdated(base: str, cluster_id: str, timeout: float = 60) -> None:
    """The serve process moves the nightly runs back to their nights: the trends span weeks."""
    deadline = time.monotonic() + timeout
    while True:
        trends = httpx.post(f"{base}/v1/clusters/{cluster_id}/executions/trends", json={"bucket": "day"}).json()
        filled = [b for b in trends["buckets"] if b["total"]]
        if len(filled) >= 5:
            starts = [datetime.fromisoformat(b["start"]) for b in filled]
            assert max(starts) - min(starts) >= timedelta(days=14), starts
            return
        assert time.monotonic() < deadline, trends
        time.sleep(0.5)


def test_serve_creates_the_schema_on_a_fresh_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    port = free_port()
    proc = _serve(url, port)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)
        body = httpx.post(f"http://127.0.0.1:{port}/v1/clusters/list", json={}).json()
        assert body["total_count"] == 0 and body["results"] == []
    finally:
        _stop(proc)


def test_cli_errors_are_one_line_without_a_traceback(tmp_path: Path):
    cases = [
        ([*CLI, "migrate", "--database-url", "mysql://somewhere/db"], "unsupported database"),
        ([*CLI, "migrate", "--database-url", "postgresql://nobody@127.0.0.1:1/none"], "database error"),
        ([*CLI, "seed", "--executions", "5", "--namespace", "Bad Name!", "--database-url", f"sqlite:///{tmp_path / 'a.db'}"],
         "--namespace"),
    ]  # fmt: skip
    for command, expected in cases:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0, command
        assert expected in done.stderr, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
    env = {**os.environ, "CLUSTERBOOK_DEFAULT_PAGE_SIZE": "500"}
    done = subprocess.run(
        [*CLI, "migrate", "--database-url", f"sqlite:///{tmp_path / 'b.db'}"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1 and "CLUSTERBOOK_DEFAULT_PAGE_SIZE" in done.stderr and "Traceback" not in done.stderr
