"""Stability on request, end to end over HTTP: real runs computed by a real worker whose resamples
run in the run's own task processes; the metric, each centroid's score, the timing and the recorded
request; the listing filters and sorts by it; the SDK and the CLI ask for it and the CLI shows it.
(Bad requests: ``tests/api/test_stability_requests.py``.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.client import Client
from tests.cli.test_remote_cli import cli
from tests.cli.test_remote_cli import ok as cli_ok
from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents

DOCUMENTS = 240


def completed(api: httpx.Client, cluster_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    run = wait_for(api, cluster_id, execute(api, cluster_id, body)["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    return run


def listed(api: httpx.Client, cluster_id: str, body: dict[str, Any]) -> list[str]:
    page = ok(api.post(f"/v1/clusters/{cluster_id}/executions/list", json=body))
    return [r["run_id"] for r in page["results"]]


@pytest.fixture
def blobs(api: httpx.Client) -> str:
    """kmeans with k=4 over four well separated blobs."""
    upload_collection(api, "blobs", blob_documents(DOCUMENTS, centres=4, seed=11))
    cluster = create_cluster(
        api, "blobs-k4", "blobs", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 4}}
    )
    return str(cluster["cluster_id"])


@pytest.mark.slow
def test_stability_of_real_runs_over_http(api: httpx.Client, runner_server: BackgroundServer, blobs: str) -> None:
    stable = completed(api, blobs, {"stability": {"resamples": 4, "fraction": 0.8}})
    assert stable["metrics"]["stability"] >= 0.9
    scores = [c["stability"] for c in stable["centroids"]]
    assert len(scores) == 4 and all(s >= 0.9 for s in scores), scores
    assert stable["metrics"]["stability"] == pytest.approx(sum(scores) / 4)
    assert stable["timings_ms"]["stability"] > 0
    assert stable["config"]["stability"] == {"resamples": 4, "fraction": 0.8}
    budget = stable["config"]["compute_threads"]
    assert stable["config"]["stability_processes"] == (min(budget, 4) if budget > 1 else 0)

    # k larger than the true number of groups: the split clusters come back poorly
    split = completed(api, blobs, {"algorithm_params": {"n_clusters": 7}, "stability": {"resamples": 6}})
    assert split["config"]["stability"] == {"resamples": 6, "fraction": 0.8}, "fraction defaults to 0.8"
    assert split["metrics"]["stability"] < stable["metrics"]["stability"] - 0.1
    assert min(c["stability"] for c in split["centroids"]) < 0.8

    plain = completed(api, blobs)
    assert plain["metrics"]["stability"] is None and "stability" not in (plain["metrics"]["notes"] or {})
    assert all(c["stability"] is None for c in plain["centroids"])
    assert plain["config"]["stability"] is None and "stability" not in plain["timings_ms"]

    # filterable and sortable like every declared metric (nulls last both ways)
    assert listed(api, blobs, {"filters": {"metrics.stability": {"gte": 0.9}}}) == [stable["run_id"]]
    assert listed(api, blobs, {"filters": {"metrics.stability": {"is_null": True}}}) == [plain["run_id"]]
    down = listed(api, blobs, {"sort": {"field": "metrics.stability", "direction": "desc"}})
    up = listed(api, blobs, {"sort": {"field": "metrics.stability", "direction": "asc"}})
    assert down == [stable["run_id"], split["run_id"], plain["run_id"]]
    assert up == [split["run_id"], stable["run_id"], plain["run_id"]]

    # the SDK and the CLI ask for it too, and the CLI shows it
    with Client(runner_server.url) as client:
        run = client.clusters.execute(blobs, stability={"resamples": 2, "fraction": 0.9}, wait=True, timeout=120)
    assert run.status == "completed" and run.metrics is not None and (run.metrics.stability or 0) >= 0.9
    assert run.config is not None and run.config["stability"] == {"resamples": 2, "fraction": 0.9}
    shown = cli_ok(
        cli(runner_server, "execute", "blobs-k4", "--wait", "--stability-resamples", "3",
            "--stability-fraction", "0.7")
    )  # fmt: skip
    assert "stability" in shown.lower()
    latest = ok(api.post(f"/v1/clusters/{blobs}/executions/list", json={}))["results"][0]
    assert latest["config"]["stability"] == {"resamples": 3, "fraction": 0.7}
    assert all(c["stability"] >= 0.9 for c in latest["centroids"])
